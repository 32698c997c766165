"""Batch writes with the driver's executemany and statements compiled once.

SQLAlchemy's per-row parameter processing costs more than the database's own work at gateway
rates (tens of thousands of rows a second). :func:`executemany` compiles a Core statement once
per dialect and column set, converts the few value types that need it, and hands all rows to
the driver in one ``executemany`` call (psycopg 3 pipelines it; sqlite3 loops in C).

On PostgreSQL an INSERT goes further: the rows are COPied into a temporary staging table and
the statement's ``VALUES (…)`` becomes ``SELECT … FROM`` that table, so the whole batch is one
COPY plus ONE set-wise statement (no per-row round trip or parse), while ``ON CONFLICT`` and
``RETURNING`` keep working. Rows of one batch must not repeat a conflict key.

Value conversion mirrors what SQLAlchemy itself stores, so rows written here and rows written
through the ORM compare equal: on SQLite a ``datetime`` becomes ``YYYY-MM-DD HH:MM:SS.ffffff``
text and a ``bool`` an integer; PostgreSQL receives Python values unchanged.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from datetime import datetime
from operator import itemgetter
from typing import Any

from sqlalchemy import Insert
from sqlalchemy.engine import Connection
from sqlalchemy.sql.expression import Executable

_cache: dict[tuple[str, str, tuple[str, ...]], tuple[str | None, tuple[str, ...] | None]] = {}
_staged: dict[tuple[str, tuple[str, ...]], tuple[str, tuple[str, ...], str]] = {}
_lock = threading.Lock()


def _sqlite_time(v: datetime | None, memo: dict[datetime, str]) -> str | None:
    if v is None:
        return None
    text = memo.get(v)
    if text is None:
        text = memo[v] = v.isoformat(" ", "microseconds")
    return text


def _staged_sql(stmt: Any, dialect: Any, names: tuple[str, ...]) -> tuple[str, tuple[str, ...]]:
    """``INSERT … SELECT <cols> FROM {stage} …`` and the column order SQLAlchemy chose."""
    sql = str(stmt.compile(dialect=dialect, column_keys=list(names)))
    start = sql.index(" VALUES (")
    cols = tuple(c.strip() for c in sql[sql.index("(") + 1 : sql.rindex(")", 0, start)].split(","))
    depth, i = 0, start + len(" VALUES ")
    while True:  # find the closing parenthesis of the VALUES row
        if sql[i] == "(":
            depth += 1
        elif sql[i] == ")":
            depth -= 1
            if depth == 0:
                break
        i += 1
    return f"{sql[:start]} SELECT {', '.join(cols)} FROM {{stage}}{sql[i + 1 :]}", cols


def _pg_staged(
    conn: Connection, key: str, stmt: Any, rows: Sequence[dict[str, Any]], names: tuple[str, ...]
) -> list[Any]:
    table = stmt.table.name
    ck = (key, names)
    entry = _staged.get(ck)
    if entry is None:
        template, cols = _staged_sql(stmt, conn.dialect, names)
        with _lock:
            entry = _staged.setdefault(ck, (template, cols, f"_stage_{table}_{len(_staged)}"))
    template, cols, stage = entry
    col_list = ", ".join(cols)
    conn.exec_driver_sql(
        f"CREATE TEMP TABLE IF NOT EXISTS {stage} AS SELECT {col_list} FROM {table} WITH NO DATA"
    )
    dbapi: Any = conn.connection.dbapi_connection
    get = itemgetter(*cols)
    single = len(cols) == 1
    with dbapi.cursor() as cur, cur.copy(f"COPY {stage} ({col_list}) FROM STDIN") as copy:
        for r in rows:
            copy.write_row((get(r),) if single else get(r))
    result = conn.exec_driver_sql(template.replace("{stage}", stage))
    out = list(result) if result.returns_rows else []
    conn.exec_driver_sql(f"TRUNCATE {stage}")
    return out


def executemany(
    conn: Connection,
    key: str,
    stmt: Executable,
    rows: Sequence[dict[str, Any]],
    *,
    returning: bool = False,
) -> list[Any]:
    """Execute ``stmt`` for every row of ``rows`` (all with the same keys) in one driver call.

    ``key`` names the statement for the compile cache. With ``returning`` (an INSERT …
    RETURNING), the returned rows are given back.
    """
    if not rows:
        return []
    names = tuple(rows[0].keys())
    dialect = conn.dialect
    is_insert = isinstance(stmt, Insert)
    if dialect.name == "postgresql" and is_insert:
        out: list[Any] = _pg_staged(conn, key, stmt, rows, names)
        return out
    if returning:
        return list(conn.execute(stmt, list(rows)))
    ck = (key, dialect.name, names)
    entry = _cache.get(ck)
    if entry is None:
        compiled = stmt.compile(dialect=dialect, column_keys=list(names))  # type: ignore[attr-defined]
        order = tuple(compiled.positiontup) if compiled.positiontup else None
        entry = (str(compiled), order)
        with _lock:
            _cache[ck] = entry
    sql, order = entry
    assert sql is not None
    if dialect.name == "sqlite":
        # sqlite3 stores bool as int itself; only datetimes need SQLAlchemy's text format.
        assert order is not None
        get = itemgetter(*order)
        first = rows[0]
        times = [i for i, n in enumerate(order) if isinstance(first[n], datetime)]
        if not times:
            params: list[Any] = [get(r) if len(order) > 1 else (get(r),) for r in rows]
        else:
            memo: dict[datetime, str] = {}
            params = []
            for r in rows:
                row = list(get(r)) if len(order) > 1 else [get(r)]
                for i in times:
                    row[i] = _sqlite_time(row[i], memo)
                params.append(tuple(row))
    elif order is not None:
        params = [tuple(r[n] for n in order) for r in rows]
    else:
        params = list(rows)
    conn.exec_driver_sql(sql, params)
    return []
