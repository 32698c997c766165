"""Database fixtures: every storage test runs on SQLite (a temp file) and on a real PostgreSQL.

PostgreSQL comes from ``QINGSHAN_TEST_PG_URL`` (default: local server, user postgres, trust).
Each test module gets its own freshly created database ``qingshan_test_<random>``, migrated with
the shipped Alembic scripts and dropped afterwards; each test starts from empty tables. When the
server is unreachable the PostgreSQL variants fail if ``CI`` is set and are skipped otherwise.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import Engine, make_url, text

from qingshan.storage import partitions
from qingshan.storage.db import init_db, make_engine
from qingshan.storage.models import Base

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


def create_pg_database(server_url: str) -> str:
    name = f"qingshan_test_{secrets.token_hex(6)}"
    with psycopg.connect(_libpq(server_url), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return make_url(server_url).set(database=name).render_as_string(hide_password=False)


def drop_pg_database(server_url: str, url: str) -> None:
    name = make_url(url).database
    with psycopg.connect(_libpq(server_url), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="module")
def pg_module_url(pg_server: str) -> Iterator[str]:
    url = create_pg_database(pg_server)
    engine = init_db(url)
    engine.dispose()
    yield url
    drop_pg_database(pg_server, url)


def truncate_all(engine: Engine) -> None:
    names = ", ".join(t.name for t in Base.metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A migrated, empty database of each backend."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'qingshan.db'}"
        init_db(url).dispose()
        return url
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
