"""Database fixtures: every storage test runs on SQLite (a temp file) and on a real PostgreSQL.

PostgreSQL comes from ``QINGSHAN_TEST_PG_URL`` (default: local server, user postgres, trust).
Each test module gets its own freshly created database ``qingshan_test_<random>``, a copy of a
template migrated once per test process with the shipped Alembic scripts, dropped afterwards; each
test starts from empty tables. SQLite databases are copies of a file migrated once per test
process, too: running the whole migration chain took seconds per test. When the server is
unreachable the PostgreSQL variants fail if ``CI`` is set and are skipped otherwise.
"""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from hypothesis import settings
from sqlalchemy import Engine, make_url, text

from qingshan.storage import (  # noqa: F401  (every table in Base.metadata, for the reset)
    models_cases,
    models_casework,
    models_figures,
    models_gateway,
    models_plans,
    models_registry,
    models_sources,
    models_web,
    partitions,
)
from qingshan.storage.db import init_db, make_engine
from qingshan.storage.models import Base

# Property tests assert behaviour, never time: hypothesis' per-example deadline (200 ms) only
# fails them on a loaded machine (CI shares two cores with servers and browsers).
settings.register_profile("qingshan", deadline=None)
settings.load_profile("qingshan")

# Argon2id at its lowest cost for the suite (one pass over 1 MiB, about 1 ms instead of
# 0.15 s): hundreds of test users and log-ins would otherwise spend minutes hashing. Servers
# the tests start inherit it; the hostile log-in storm sets the real cost explicitly.
os.environ.setdefault("QINGSHAN_PASSWORD_HASH_TIME_COST", "1")
os.environ.setdefault("QINGSHAN_PASSWORD_HASH_MEMORY_KIB", "1024")
os.environ.setdefault("QINGSHAN_PASSWORD_HASH_PARALLELISM", "1")

PG_URL = os.environ.get(
    "QINGSHAN_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


def _libpq(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def pg_server() -> str:
    try:
        with psycopg.connect(_libpq(PG_URL), connect_timeout=3):
            pass
    except psycopg.Error as exc:
        msg = f"PostgreSQL at {make_url(PG_URL).render_as_string()} unreachable: {exc}"
        if os.environ.get("CI"):
            pytest.fail(msg + " (CI is set: the PostgreSQL tests must run)")
        pytest.skip(msg + " (set QINGSHAN_TEST_PG_URL; CI requires it)")
    return PG_URL


def _create_database(server_url: str, template: str | None = None) -> str:
    name = f"qingshan_test_{secrets.token_hex(6)}"
    clause = f' TEMPLATE "{template}"' if template else ""
    with psycopg.connect(_libpq(server_url), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"{clause}')
    return make_url(server_url).set(database=name).render_as_string(hide_password=False)


_PG_TEMPLATES: dict[str, str] = {}


def _pg_template(server_url: str) -> str:
    """A database migrated once per test process, copied by CREATE DATABASE … TEMPLATE."""
    if server_url not in _PG_TEMPLATES:
        url = _create_database(server_url)
        init_db(url).dispose()
        _PG_TEMPLATES[server_url] = url
    name = make_url(_PG_TEMPLATES[server_url]).database
    assert name is not None
    return name


def create_pg_database(server_url: str) -> str:
    """A new, migrated, empty database (drop it with :func:`drop_pg_database`)."""
    return _create_database(server_url, _pg_template(server_url))


def drop_pg_database(server_url: str, url: str) -> None:
    name = make_url(url).database
    with psycopg.connect(_libpq(server_url), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session", autouse=True)
def _drop_pg_templates() -> Iterator[None]:
    yield
    for server_url, url in _PG_TEMPLATES.items():
        drop_pg_database(server_url, url)
    _PG_TEMPLATES.clear()


_SQLITE_TEMPLATE: list[Path] = []


def migrated_sqlite_url(dest: Path) -> str:
    """A new, migrated, empty SQLite database at ``dest``: a copy of one migrated per process."""
    if not _SQLITE_TEMPLATE:
        import tempfile

        folder = Path(tempfile.mkdtemp(prefix="qingshan-template-"))
        init_db(f"sqlite:///{folder / 'template.db'}").dispose()
        # No WAL left beside it once every connection is closed: the file is the database.
        assert not (folder / "template.db-wal").exists()
        _SQLITE_TEMPLATE.append(folder / "template.db")
    shutil.copyfile(_SQLITE_TEMPLATE[0], dest)
    return f"sqlite:///{dest}"


@pytest.fixture(scope="session", autouse=True)
def _drop_sqlite_template() -> Iterator[None]:
    yield
    for path in _SQLITE_TEMPLATE:
        shutil.rmtree(path.parent, ignore_errors=True)
    _SQLITE_TEMPLATE.clear()


@pytest.fixture(scope="module")
def pg_module_url(pg_server: str) -> Iterator[str]:
    url = create_pg_database(pg_server)
    yield url
    drop_pg_database(pg_server, url)


def truncate_all(engine: Engine) -> None:
    """Empty every table and restart every sequence, as a fresh database has them.

    Only the tables that hold rows are touched, with DELETE: TRUNCATE makes new files and
    synchronises them to disk, about 0.5 s per test on this machine even for an empty table.
    Triggers and foreign-key checks are off meanwhile (``session_replication_role``), so the
    append-only timeline can be emptied and the order does not matter."""
    names = [t.name for t in Base.metadata.sorted_tables]
    probe = " UNION ALL ".join(f"(SELECT '{n}' FROM \"{n}\" LIMIT 1)" for n in names)
    with engine.begin() as conn:
        full = [row[0] for row in conn.execute(text(probe))]
        if full:
            conn.execute(text("SET LOCAL session_replication_role = replica"))
            for name in full:
                conn.execute(text(f'DELETE FROM "{name}"'))
        used = conn.execute(
            text(
                "SELECT quote_ident(schemaname) || '.' || quote_ident(sequencename) "
                "FROM pg_sequences WHERE last_value IS NOT NULL"
            )
        ).scalars()
        for sequence in list(used):
            conn.execute(text(f"ALTER SEQUENCE {sequence} RESTART"))


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A migrated, empty database of each backend."""
    if request.param == "sqlite":
        return migrated_sqlite_url(tmp_path / "qingshan.db")
    url: str = request.getfixturevalue("pg_module_url")
    engine = make_engine(url)
    truncate_all(engine)
    partitions.forget(engine)
    engine.dispose()
    return url


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    e = make_engine(db_url)
    yield e
    e.dispose()


# Modules that take a minute or more in all (measured with --durations). With
# `--dist loadfile` a module runs on one worker; started last, one of these would run alone
# at the end while the other worker idles. So they go first, the longest first.
HEAVY_MODULES = (
    "tests/demo/test_demo_gateway.py",
    "tests/sources/test_source_demo.py",
    "tests/web/test_pages_layout.py",
    "tests/bus/test_bus_mode.py",
    "tests/web/test_web_workers.py",
    "tests/cases/test_case_forms_browser.py",
    "tests/registry/test_registry_workbook.py",
    "tests/demo/test_demo_load.py",
    "tests/figures/test_figures.py",
    "tests/web/test_fuzz.py",
    "tests/standards/test_air_exact.py",
    "tests/test_layers.py",
    "tests/figures/test_report_pdf.py",
    "tests/demo/test_demo_plan.py",
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    root = config.rootpath

    def rank(item: pytest.Item) -> int:
        path = item.path.relative_to(root).as_posix()
        return HEAVY_MODULES.index(path) if path in HEAVY_MODULES else len(HEAVY_MODULES)

    items.sort(key=rank)  # stable: the order within a module and among the rest is kept
