"""The package's layers, checked on its source text (parsed, never imported or run).

Rules (docs/architecture.md, "Layers"):

* **pure rules**: ``qingshan.protocol``, ``qingshan.standards``, ``qingshan.workflow`` and
  ``qingshan.workdays`` import nothing else of the
  project (not even ``qingshan.clock``: rules take times as arguments), and no database,
  network or web library;
* **demo**: nothing outside ``qingshan.demo``, ``qingshan.cli`` and ``qingshan.simulator``
  imports ``qingshan.demo`` or names its package or data files in a string
  (``resources.files("qingshan.demo")``, ``"demo/data/…"``, ``… / "demo" / …``);
* **adapters**: ``qingshan.gateway`` does not import ``qingshan.simulator``; ``qingshan.storage``
  imports no services, web, gateway, CLI, simulator or demo; ``qingshan.services`` imports no
  web, gateway or CLI;
* **no cycles** between the project's modules, counting imports inside functions and under
  ``TYPE_CHECKING`` (a lazy import hides a cycle, it does not remove it).

Every import statement counts wherever it is. ``from p import x`` imports the module ``p.x``
when it exists, else ``p``.
"""

from __future__ import annotations

import ast
import shutil
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"

PURE = ("protocol", "standards", "workflow", "workdays", "plans")
# Libraries that mean storage, network or web I/O; pure rule packages use none of them.
IO_LIBRARIES = frozenset(
    {
        "alembic",
        "asyncio",
        "fastapi",
        "http",
        "httpx",
        "psycopg",
        "requests",
        "selectors",
        "smtplib",
        "socket",
        "socketserver",
        "sqlalchemy",
        "ssl",
        "starlette",
        "urllib",
        "uvicorn",
    }
)
DEMO_USERS = ("demo", "cli", "simulator")
# (package, packages it must not import), relative to the project package.
FORBIDDEN: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("gateway", ("simulator",)),
    ("storage", ("services", "web", "gateway", "cli", "simulator", "demo")),
    ("services", ("web", "gateway", "cli")),
)
DEMO_STRINGS = ("{pkg}.demo", "{pkg}/demo", "demo/data")


@dataclass(frozen=True, order=True)
class Violation:
    rule: str
    module: str
    line: int
    detail: str


@dataclass(frozen=True)
class Import:
    module: str  # the importing module
    target: str  # dotted name as imported (resolved to a project module where it is one)
    line: int


def _module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules(root: Path, package: str) -> dict[str, Path]:
    return {_module_name(p, root): p for p in sorted((root / package).rglob("*.py"))}


def _within(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


def _resolve(name: str, known: dict[str, Path]) -> str:
    """The longest prefix of ``name`` that is a module of the project (or ``name``)."""
    parts = name.split(".")
    for n in range(len(parts), 0, -1):
        candidate = ".".join(parts[:n])
        if candidate in known:
            return candidate
    return name


def _imports(module: str, path: Path, known: dict[str, Path]) -> Iterator[Import]:
    tree = ast.parse(path.read_text("utf-8"), str(path))
    is_package = path.name == "__init__.py"
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield Import(module, _resolve(alias.name, known), node.lineno)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base_parts = module.split(".")
                drop = node.level - 1 if is_package else node.level
                base_parts = base_parts[: len(base_parts) - drop]
                base = ".".join(base_parts + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                target = sub if sub in known else _resolve(base, known)
                yield Import(module, target, node.lineno)


def _docstrings(tree: ast.AST) -> set[int]:
    ids = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                ids.add(id(body[0].value))
    return ids


def _demo_strings(path: Path, package: str) -> Iterator[tuple[int, str]]:
    """Strings that name the demo package or its data files (docstrings excepted)."""
    tree = ast.parse(path.read_text("utf-8"), str(path))
    skip = _docstrings(tree)
    needles = [s.format(pkg=package) for s in DEMO_STRINGS]
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and id(node) not in skip
            and any(n in node.value for n in needles)
        ):
            yield node.lineno, node.value
        # Path(...) / "demo" / …  and  x.joinpath("demo", …)
        operands: list[ast.expr] = []
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div):
            operands = [node.left, node.right]
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "joinpath"
        ):
            operands = list(node.args)
        for op in operands:
            if isinstance(op, ast.Constant) and op.value == "demo":
                yield op.lineno, "demo"


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    out: list[list[str]] = []
    counter = 0
    for start in sorted(graph):
        if start in index:
            continue
        work: list[tuple[str, Iterator[str]]] = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    out.append(sorted(component))
    return sorted(out)


def _cycle_path(graph: dict[str, set[str]], component: list[str]) -> list[str]:
    """One shortest import path from the component's first module back to itself."""
    members = set(component)
    start = component[0]
    previous: dict[str, str] = {}
    frontier = [start]
    while frontier:
        nxt = []
        for node in frontier:
            for child in sorted(graph[node] & members):
                if child == start:
                    path = [node]
                    while path[-1] != start:
                        path.append(previous[path[-1]])
                    return [*reversed(path), start]
                if child not in previous:
                    previous[child] = node
                    nxt.append(child)
        frontier = nxt
    raise AssertionError(f"{component} is not a cycle")


def check(root: Path, package: str = "qingshan") -> list[Violation]:
    """Every violation of the layer rules in ``root/package`` (a source tree)."""
    known = _modules(root, package)
    found: list[Violation] = []
    graph: dict[str, set[str]] = {m: set() for m in known}

    def sub(name: str) -> str:
        return f"{package}.{name}"

    for module, path in known.items():
        for imp in _imports(module, path, known):
            target = imp.target
            in_project = _within(target, package)
            if in_project and target in known and target != module:
                graph[module].add(target)
            for pure in PURE:
                if not _within(module, sub(pure)):
                    continue
                if in_project and not _within(target, sub(pure)):
                    found.append(Violation("pure", module, imp.line, f"imports {target}"))
                elif target.split(".")[0] in IO_LIBRARIES:
                    found.append(Violation("pure-io", module, imp.line, f"imports {target}"))
            for source, banned in FORBIDDEN:
                if _within(module, sub(source)):
                    for b in banned:
                        if _within(target, sub(b)):
                            found.append(
                                Violation(f"{source}-layer", module, imp.line, f"imports {target}")
                            )
            user = any(_within(module, sub(u)) for u in DEMO_USERS)
            if not user and _within(target, sub("demo")):
                found.append(Violation("demo", module, imp.line, f"imports {target}"))
        if not any(_within(module, sub(u)) for u in DEMO_USERS):
            for line, text in _demo_strings(path, package):
                found.append(Violation("demo", module, line, f"names {text!r}"))
    for component in _cycles(graph):
        path = _cycle_path(graph, component)
        found.append(Violation("cycle", path[0], 0, " → ".join(path)))
    return sorted(set(found))


def _by_rule(violations: list[Violation], rule: str) -> list[Violation]:
    return [v for v in violations if v.rule == rule]


@pytest.fixture(scope="module")
def violations() -> list[Violation]:
    return check(SRC)


# ------------------------------------------------------------------------------ the package


def test_pure_rule_packages_import_nothing_else_of_the_project(
    violations: list[Violation],
) -> None:
    assert _by_rule(violations, "pure") == []
    assert _by_rule(violations, "pure-io") == []


def test_adapters_respect_their_layers(violations: list[Violation]) -> None:
    for source, _ in FORBIDDEN:
        assert _by_rule(violations, f"{source}-layer") == []


def test_no_import_cycles(violations: list[Violation]) -> None:
    assert _by_rule(violations, "cycle") == []


def test_only_demo_cli_and_simulator_use_the_demo(violations: list[Violation]) -> None:
    assert _by_rule(violations, "demo") == []


# ------------------------------------------------------------------------------ the checker


def _tree(tmp_path: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), "utf-8")
    return tmp_path


@pytest.fixture
def copy_of_src(tmp_path: Path) -> Path:
    shutil.copytree(
        SRC / "qingshan",
        tmp_path / "qingshan",
        ignore=shutil.ignore_patterns("data", "__pycache__"),
    )
    return tmp_path


def _add(root: Path, module: str, text: str) -> None:
    path = root / (module.replace(".", "/") + ".py")
    path.write_text(path.read_text("utf-8") + "\n" + textwrap.dedent(text), "utf-8")


def test_a_forbidden_import_added_to_the_real_tree_fails(copy_of_src: Path) -> None:
    before = set(check(copy_of_src))
    _add(copy_of_src, "qingshan.protocol.hj212.framing", "from qingshan.storage import bulk\n")
    _add(copy_of_src, "qingshan.standards.noise", "import sqlalchemy\n")
    _add(
        copy_of_src,
        "qingshan.gateway.forward",
        "def load():\n    from qingshan.simulator.client import DeviceClient\n",
    )
    _add(copy_of_src, "qingshan.storage.partitions", "from qingshan.web import labels\n")
    _add(copy_of_src, "qingshan.storage.db", "def later():\n    from . import partitions\n")
    _add(copy_of_src, "qingshan.services.observations", "import qingshan.web.labels\n")
    _add(
        copy_of_src,
        "qingshan.web.labels",
        "from importlib import resources\n"
        "BOUNDS = resources.files('qingshan').joinpath('demo/data/boundaries.geojson')\n",
    )
    new = set(check(copy_of_src)) - before
    got = {(v.rule, v.module, v.detail) for v in new}
    assert got == {
        ("pure", "qingshan.protocol.hj212.framing", "imports qingshan.storage.bulk"),
        ("pure-io", "qingshan.standards.noise", "imports sqlalchemy"),
        ("gateway-layer", "qingshan.gateway.forward", "imports qingshan.simulator.client"),
        ("storage-layer", "qingshan.storage.partitions", "imports qingshan.web.labels"),
        ("services-layer", "qingshan.services.observations", "imports qingshan.web.labels"),
        ("demo", "qingshan.web.labels", "names 'demo/data/boundaries.geojson'"),
        # partitions imports db at module level; a lazy import back closes a cycle
        (
            "cycle",
            "qingshan.storage.db",
            "qingshan.storage.db → qingshan.storage.partitions → qingshan.storage.db",
        ),
    }


def test_checker_on_a_synthetic_package(tmp_path: Path) -> None:
    root = _tree(
        tmp_path,
        {
            "pkg/__init__.py": "",
            "pkg/clock.py": "",
            "pkg/protocol/__init__.py": "from . import wire\n",
            "pkg/protocol/wire.py": '"""Uses pkg.demo in prose only."""\nimport re\n',
            "pkg/standards/__init__.py": "",
            "pkg/standards/aqi.py": "from pkg import clock\n",
            "pkg/demo/__init__.py": "",
            "pkg/demo/data.py": "",
            "pkg/cli/main.py": "import pkg.demo.data\n",
            "pkg/services/__init__.py": "",
            "pkg/services/a.py": """
                from typing import TYPE_CHECKING
                if TYPE_CHECKING:
                    from pkg.services.b import B
            """,
            "pkg/services/b.py": """
                def f():
                    from .a import A
                    from pathlib import Path
                    return Path("x") / "demo" / "sites.csv"
            """,
            "pkg/services/c.py": "from ..demo import data\n",
        },
    )
    got = {(v.rule, v.module, v.detail) for v in check(root, "pkg")}
    assert got == {
        ("pure", "pkg.standards.aqi", "imports pkg.clock"),
        ("cycle", "pkg.services.a", "pkg.services.a → pkg.services.b → pkg.services.a"),
        ("demo", "pkg.services.b", "names 'demo'"),
        ("demo", "pkg.services.c", "imports pkg.demo.data"),
    }
