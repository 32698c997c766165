"""Workflows as data (pure rules: no storage, no clock, no project imports).

A workflow definition is a TOML file: its states (with labels, final states, deadlines), its
fields and evidence kinds, and its transitions (from which states, to which state, which roles
may fire it, which fields and which evidence it needs). :func:`load` reads and validates one;
:func:`can` answers whether a role may fire a transition on a record and, when not, says
exactly why. Storing instances, checking who the user is and scheduling deadline reminders is
the service's work (:mod:`qingshan.services.workflows`).

Why our own small engine and not ``transitions`` or ``python-statemachine``: both bind a
machine to a live Python object and answer "may I?" with a boolean condition callback, while
here the state lives in a database row, the question is asked by a service for a user who
needs to be told *why not* (wrong state, role, which field or evidence is missing), and the
definitions are plain data that must be checked as a whole before use (reachability, dead
ends, unknown roles, fields and states). That is the whole of the engine below; see
``docs/dependencies.md``.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from importlib import resources
from typing import Any, Literal

FIELD_TYPES = ("text", "int", "date", "choice", "bool")
UNITS = ("calendar", "working")
# A record's units a ``unit`` user must belong to for a transition that names ``units``
# (牵头单位, 配合单位, 验收单位): which unit's user may act is part of the definition.
UNIT_RELATIONS = ("lead", "supporting", "acceptance")

DecisionCode = Literal[
    "ok",
    "unknown_transition",
    "final_state",
    "wrong_state",
    "role",
    "missing_fields",
    "invalid_field",
    "missing_evidence",
]


class WorkflowError(ValueError):
    """A definition that cannot be used; ``problems`` lists every fault found."""

    def __init__(self, name: str, problems: list[str]) -> None:
        self.problems = problems
        super().__init__(f"流程定义 {name} 有误：" + "；".join(problems))


@dataclass(frozen=True, slots=True)
class FieldDef:
    name: str
    label: str
    type: str = "text"
    choices: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class EvidenceDef:
    name: str
    label: str
    media: tuple[str, ...] = ()  # allowed attachment kinds (empty: any allowed attachment)


@dataclass(frozen=True, slots=True)
class DeadlineDef:
    """A time limit for leaving a state: ``amount`` days of ``unit``, counted from entering the
    state ``since`` (default: this state), reminders ``remind_before`` working days before."""

    amount: int
    unit: str
    since: str
    remind_before: int = 1
    notify: tuple[str, ...] = ()  # roles told when it approaches or passes


@dataclass(frozen=True, slots=True)
class StateDef:
    name: str
    label: str
    final: bool = False
    deadline: DeadlineDef | None = None
    # what a record in this state counts as in statistics (e.g. ``rectified``, ``closed``):
    # counting words are data, so a county's other 销号 steps still count right
    tags: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class TransitionDef:
    name: str
    label: str
    sources: tuple[str, ...]
    target: str
    roles: tuple[str, ...]
    requires: tuple[str, ...] = ()
    evidence: tuple[str, ...] = ()
    # for ``unit`` users: the record's units (UNIT_RELATIONS) one of which must be theirs
    units: tuple[str, ...] = ()


@dataclass(frozen=True)
class Workflow:
    name: str
    title: str
    version: int
    initial: str
    states: Mapping[str, StateDef]
    transitions: Mapping[str, TransitionDef]
    fields: Mapping[str, FieldDef] = field(default_factory=dict)
    evidence: Mapping[str, EvidenceDef] = field(default_factory=dict)
    description: str = ""
    start_roles: tuple[str, ...] = ()  # who may open an instance

    def state(self, name: str) -> StateDef:
        return self.states[name]

    def outgoing(self, state: str) -> list[TransitionDef]:
        return [t for t in self.transitions.values() if state in t.sources]


@dataclass(frozen=True, slots=True)
class Record:
    """What a decision looks at: the current state, the field values, the evidence attached
    (kind → number of files)."""

    state: str
    fields: Mapping[str, Any] = field(default_factory=dict)
    evidence: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    code: DecisionCode
    message: str
    missing: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return self.allowed


# ---------------------------------------------------------------------------- values


def _empty(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def field_problem(f: FieldDef, value: Any) -> str | None:
    """Why ``value`` is not a valid value of field ``f`` (None: it is)."""
    if _empty(value):
        return f"「{f.label}」未填写"
    if f.type == "int":
        if isinstance(value, bool) or not isinstance(value, (int, str)):
            return f"「{f.label}」应为整数"
        try:
            int(value)
        except ValueError:
            return f"「{f.label}」应为整数，而不是 {value!r}"
    elif f.type == "date":
        if not isinstance(value, date):
            try:
                date.fromisoformat(str(value))
            except ValueError:
                return f"「{f.label}」应为日期（YYYY-MM-DD），而不是 {value!r}"
    elif f.type == "choice":
        if value not in f.choices:
            return f"「{f.label}」应为 {'、'.join(f.choices)} 之一，而不是 {value!r}"
    elif f.type == "bool":
        if not isinstance(value, bool):
            return f"「{f.label}」应为是或否"
    elif not isinstance(value, str):
        return f"「{f.label}」应为文字"
    return None


# ---------------------------------------------------------------------------- decisions


def can(
    wf: Workflow, transition: str, role: str, record: Record, *, role_label: str | None = None
) -> Decision:
    """Whether ``role`` may fire ``transition`` on ``record``; when not, the first reason in
    this order: unknown transition, final state, wrong state, role, fields, evidence."""
    t = wf.transitions.get(transition)
    if t is None:
        return Decision(False, "unknown_transition", f"流程「{wf.title}」没有操作 {transition!r}")
    here = wf.states.get(record.state)
    here_label = here.label if here else record.state
    if here is not None and here.final:
        return Decision(False, "final_state", f"已处于终态「{here_label}」，不能再{t.label}")
    if record.state not in t.sources:
        allowed = "、".join(f"「{wf.states[s].label}」" for s in t.sources)
        return Decision(
            False,
            "wrong_state",
            f"当前状态「{here_label}」不能{t.label}（只能在{allowed}时{t.label}）",
        )
    if role not in t.roles:
        who = role_label or role
        return Decision(False, "role", f"角色「{who}」无权{t.label}")
    missing: list[str] = []
    for name in t.requires:
        problem = field_problem(wf.fields[name], record.fields.get(name))
        if problem is not None:
            code: DecisionCode = (
                "missing_fields" if _empty(record.fields.get(name)) else "invalid_field"
            )
            missing.append(name)
            if code == "invalid_field":
                return Decision(False, code, f"{t.label}：{problem}", (name,))
    if missing:
        labels = "、".join(f"「{wf.fields[n].label}」" for n in missing)
        return Decision(False, "missing_fields", f"{t.label}前须填写{labels}", tuple(missing))
    absent = tuple(e for e in t.evidence if record.evidence.get(e, 0) < 1)
    if absent:
        labels = "、".join(f"「{wf.evidence[e].label}」" for e in absent)
        return Decision(False, "missing_evidence", f"{t.label}前须上传{labels}", absent)
    return Decision(True, "ok", f"可以{t.label}")


def may_start(wf: Workflow, role: str, *, role_label: str | None = None) -> Decision:
    """Whether ``role`` may open an instance of the workflow."""
    if role in wf.start_roles:
        return Decision(True, "ok", f"可以发起{wf.title}")
    return Decision(False, "role", f"角色「{role_label or role}」无权发起{wf.title}")


def available(wf: Workflow, role: str, record: Record) -> list[tuple[TransitionDef, Decision]]:
    """The transitions out of the record's state with the role's decision for each."""
    return [(t, can(wf, t.name, role, record)) for t in wf.outgoing(record.state)]


# ---------------------------------------------------------------------------- loading


def _strs(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(value)
    return ()


def parse(text: str, *, roles: Iterable[str] | None = None) -> Workflow:
    """A definition from TOML text, validated (:func:`validate`); WorkflowError otherwise."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise WorkflowError("?", [f"不是有效的 TOML：{exc}"]) from None
    head = data.get("workflow", {})
    name = str(head.get("name", "?"))
    problems: list[str] = []
    fields_: dict[str, FieldDef] = {}
    for fname, f in data.get("fields", {}).items():
        fields_[fname] = FieldDef(
            fname, str(f.get("label", fname)), str(f.get("type", "text")), _strs(f.get("choices"))
        )
    evidence: dict[str, EvidenceDef] = {}
    for ename, e in data.get("evidence", {}).items():
        evidence[ename] = EvidenceDef(ename, str(e.get("label", ename)), _strs(e.get("media")))
    states: dict[str, StateDef] = {}
    for sname, st in data.get("states", {}).items():
        dl = st.get("deadline")
        deadline = None
        if dl is not None:
            amount = dl.get("amount")
            remind = dl.get("remind_before", 1)
            if not isinstance(amount, int) or isinstance(amount, bool) or amount < 1:
                problems.append(f"状态 {sname} 的期限 amount 应为正整数")
                amount = 1
            if not isinstance(remind, int) or isinstance(remind, bool) or remind < 0:
                problems.append(f"状态 {sname} 的 remind_before 应为非负整数")
                remind = 1
            deadline = DeadlineDef(
                amount,
                str(dl.get("unit", "")),
                str(dl.get("since", sname)),
                remind,
                _strs(dl.get("notify")),
            )
        states[sname] = StateDef(
            sname,
            str(st.get("label", sname)),
            bool(st.get("final", False)),
            deadline,
            _strs(st.get("tags")),
        )
    transitions: dict[str, TransitionDef] = {}
    for t in data.get("transitions", []):
        tname = str(t.get("name", ""))
        if tname in transitions:
            problems.append(f"操作 {tname} 重复定义")
        transitions[tname] = TransitionDef(
            tname,
            str(t.get("label", tname)),
            _strs(t.get("from")),
            str(t.get("to", "")),
            _strs(t.get("roles")),
            _strs(t.get("requires")),
            _strs(t.get("evidence")),
            _strs(t.get("units")),
        )
    version = head.get("version", 1)
    wf = Workflow(
        name=name,
        title=str(head.get("title", name)),
        version=version if isinstance(version, int) else 0,
        initial=str(head.get("initial", "")),
        states=states,
        transitions=transitions,
        fields=fields_,
        evidence=evidence,
        description=str(head.get("description", "")),
        start_roles=_strs(head.get("start_roles")),
    )
    problems += validate(wf, roles=roles)
    if problems:
        raise WorkflowError(name, problems)
    return wf


def validate(wf: Workflow, *, roles: Iterable[str] | None = None) -> list[str]:
    """Every fault of a definition (empty: usable)."""
    known_roles = None if roles is None else set(roles)
    p: list[str] = []
    if not wf.name or wf.name == "?":
        p.append("缺少 workflow.name")
    if wf.version < 1:
        p.append("workflow.version 应为正整数")
    if not wf.states:
        p.append("没有任何状态")
    if wf.initial not in wf.states:
        p.append(f"初始状态 {wf.initial!r} 未定义")
    if not wf.start_roles:
        p.append("workflow.start_roles 为空：没有人能发起")
    if known_roles is not None:
        for r in wf.start_roles:
            if r not in known_roles:
                p.append(f"发起角色 {r!r} 不存在")
    for f in wf.fields.values():
        if f.type not in FIELD_TYPES:
            p.append(f"字段 {f.name} 的类型 {f.type!r} 无效（{', '.join(FIELD_TYPES)}）")
        if f.type == "choice" and not f.choices:
            p.append(f"字段 {f.name} 是选项类型但没有 choices")
    for s in wf.states.values():
        if s.deadline is None:
            continue
        if s.final:
            p.append(f"终态 {s.name} 不能有期限")
        if s.deadline.unit not in UNITS:
            p.append(f"状态 {s.name} 的期限单位 {s.deadline.unit!r} 无效（calendar 或 working）")
        if s.deadline.since not in wf.states:
            p.append(f"状态 {s.name} 的期限起算状态 {s.deadline.since!r} 未定义")
        if known_roles is not None:
            for r in s.deadline.notify:
                if r not in known_roles:
                    p.append(f"状态 {s.name} 的期限提醒角色 {r!r} 不存在")
    for t in wf.transitions.values():
        if not t.name:
            p.append("有操作缺少 name")
        if not t.sources:
            p.append(f"操作 {t.name} 缺少 from")
        for src in t.sources:
            if src not in wf.states:
                p.append(f"操作 {t.name} 的起始状态 {src!r} 未定义")
            elif wf.states[src].final:
                p.append(f"操作 {t.name} 从终态 {src} 出发")
        if t.target not in wf.states:
            p.append(f"操作 {t.name} 的目标状态 {t.target!r} 未定义")
        if not t.roles:
            p.append(f"操作 {t.name} 没有允许的角色")
        if known_roles is not None:
            for r in t.roles:
                if r not in known_roles:
                    p.append(f"操作 {t.name} 的角色 {r!r} 不存在")
        for fname in t.requires:
            if fname not in wf.fields:
                p.append(f"操作 {t.name} 需要的字段 {fname!r} 未定义")
        for e in t.evidence:
            if e not in wf.evidence:
                p.append(f"操作 {t.name} 需要的材料 {e!r} 未定义")
        for u in t.units:
            if u not in UNIT_RELATIONS:
                p.append(f"操作 {t.name} 的单位关系 {u!r} 无效（{', '.join(UNIT_RELATIONS)}）")
    if wf.initial in wf.states:
        reached = {wf.initial}
        frontier = [wf.initial]
        while frontier:
            here = frontier.pop()
            for t in wf.outgoing(here):
                if t.target in wf.states and t.target not in reached:
                    reached.add(t.target)
                    frontier.append(t.target)
        for sname in wf.states:
            if sname not in reached:
                p.append(f"状态 {sname} 从初始状态不可达")
        for s in wf.states.values():
            if not s.final and not wf.outgoing(s.name):
                p.append(f"非终态 {s.name} 没有任何出口")
        if not any(s.final for s in wf.states.values()):
            p.append("没有终态")
    return p


def shipped_names() -> list[str]:
    """The names of the definitions shipped in ``definitions/``."""
    root = resources.files(__name__).joinpath("definitions")
    return sorted(f.name.removesuffix(".toml") for f in root.iterdir() if f.name.endswith(".toml"))


def load(name: str, *, roles: Iterable[str] | None = None) -> Workflow:
    """A shipped definition by name (``registry_import``, ``inspection_rectification``,
    ``complaint``), validated."""
    if name not in shipped_names():
        raise WorkflowError(name, [f"没有名为 {name} 的流程定义"])
    text = resources.files(__name__).joinpath("definitions", f"{name}.toml").read_text("utf-8")
    wf = parse(text, roles=roles)
    if wf.name != name:
        raise WorkflowError(name, [f"文件 {name}.toml 中的 workflow.name 是 {wf.name!r}"])
    return wf


__all__ = [
    "UNIT_RELATIONS",
    "DeadlineDef",
    "Decision",
    "EvidenceDef",
    "FieldDef",
    "Record",
    "StateDef",
    "TransitionDef",
    "Workflow",
    "WorkflowError",
    "available",
    "can",
    "field_problem",
    "load",
    "may_start",
    "parse",
    "shipped_names",
    "validate",
]
