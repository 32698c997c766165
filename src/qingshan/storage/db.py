"""The one place where engines and sessions are made.

``make_engine(url)`` configures each backend for durable, concurrent use:

* SQLite: WAL journal (readers never block the writer), ``synchronous=FULL`` so that a
  committed transaction survives a power cut (an acknowledgement to a device is a promise),
  a busy timeout instead of immediate "database is locked", foreign keys on.
* PostgreSQL (psycopg 3): a pool sized for the gateway's writer plus readers, pre-ping so a
  restarted server is reconnected to transparently.

``init_db(url)`` creates or upgrades the schema with the Alembic migrations shipped inside the
package; it is what ``qingshan init`` runs and it is safe to run on every upgrade.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.orm import Session, sessionmaker


class DatabaseURLError(ValueError):
    """A database URL Qingshan cannot use."""


def normalise_url(url: str) -> str:
    """Accept ``postgresql://`` (meaning psycopg 3) and check the backend is supported."""
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise DatabaseURLError(f"not a database URL: {url!r}") from exc
    backend = parsed.get_backend_name()
    if backend == "postgresql":
        if parsed.drivername in ("postgresql", "postgres"):
            parsed = parsed.set(drivername="postgresql+psycopg")
        elif parsed.drivername != "postgresql+psycopg":
            raise DatabaseURLError(
                f"use the psycopg 3 driver (postgresql+psycopg://…), not {parsed.drivername}"
            )
    elif backend != "sqlite":
        raise DatabaseURLError(f"unsupported database {backend!r}: use sqlite or postgresql")
    return parsed.render_as_string(hide_password=False)


def is_sqlite(engine_or_url: Engine | str) -> bool:
    url = engine_or_url if isinstance(engine_or_url, str) else str(engine_or_url.url)
    return make_url(url).get_backend_name() == "sqlite"


def _sqlite_pragmas(busy_timeout_ms: int) -> Any:
    def on_connect(dbapi_conn: Any, _record: Any) -> None:
        # The driver's own transaction handling would issue BEGIN lazily and make
        # "BEGIN IMMEDIATE" impossible; we let SQLAlchemy's events below do it.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=FULL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cur.close()

    return on_connect


READONLY = {"qingshan_readonly": True}


def _sqlite_begin(conn: Any) -> None:
    # Writers take the write lock at BEGIN: a deferred transaction that later upgrades to a
    # writer can fail with SQLITE_BUSY without waiting for the busy timeout. Readers
    # (``engine.execution_options(**READONLY)``) begin deferred and never block the writer.
    if conn.get_execution_options().get("qingshan_readonly"):
        conn.exec_driver_sql("BEGIN")
    else:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def make_engine(
    url: str, *, pool_size: int = 5, echo: bool = False, sqlite_busy_timeout_ms: int = 5000
) -> Engine:
    """An engine configured for the backend of ``url`` (see the module docstring)."""
    url = normalise_url(url)
    if is_sqlite(url):
        path = make_url(url).database
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, echo=echo, connect_args={"check_same_thread": False})
        event.listen(engine, "connect", _sqlite_pragmas(sqlite_busy_timeout_ms))
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    return create_engine(
        url,
        echo=echo,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_pre_ping=True,
        connect_args={"connect_timeout": 5},
    )


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """One transaction: commit on success, roll back on any error."""
    with session_factory(engine)() as session, session.begin():
        yield session


@cache
def _migrations_dir() -> str:
    return str(resources.files("qingshan.storage").joinpath("migrations"))


def alembic_config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", _migrations_dir())
    return cfg


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:
        raise RuntimeError("the package ships no migrations")
    return head


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def migrate(engine: Engine, target: str = "head") -> None:
    """Upgrade (or downgrade) the schema to the Alembic revision ``target`` in one transaction.

    SQLite alters tables by copying them ("batch" migrations), which foreign keys would block;
    they are switched off for the migration (outside the transaction, where SQLite honours the
    pragma) and every reference is checked before the transaction commits.
    """
    cfg = alembic_config()
    current = current_revision(engine)
    with engine.connect() as conn:
        dbapi: Any = conn.connection.dbapi_connection
        sqlite = conn.dialect.name == "sqlite"
        if sqlite:
            dbapi.execute("PRAGMA foreign_keys=OFF")
        try:
            with conn.begin():
                cfg.attributes["connection"] = conn
                if target == "head" or current is None or _is_newer(target, current):
                    command.upgrade(cfg, target)
                else:
                    command.downgrade(cfg, target)
                if sqlite:
                    broken = conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                    if broken:
                        raise RuntimeError(f"migration broke foreign keys: {broken[:5]}")
        finally:
            if sqlite:
                dbapi.execute("PRAGMA foreign_keys=ON")


def _is_newer(a: str, b: str) -> bool:
    script = ScriptDirectory.from_config(alembic_config())
    return any(rev.revision == b for rev in script.iterate_revisions(a, "base"))


def init_db(url_or_engine: str | Engine) -> Engine:
    """Create or upgrade the schema to the newest revision; returns the engine."""
    engine = make_engine(url_or_engine) if isinstance(url_or_engine, str) else url_or_engine
    migrate(engine, "head")
    return engine


class SchemaNotReadyError(RuntimeError):
    """The database has no schema or an older one: run ``qingshan init``."""


def check_schema(engine: Engine) -> None:
    current = current_revision(engine)
    head = head_revision()
    if current != head:
        state = "no schema" if current is None else f"schema revision {current}"
        raise SchemaNotReadyError(
            f"database {engine.url.render_as_string(hide_password=True)} has {state}; "
            f"this version needs {head}: run `qingshan init`"
        )
