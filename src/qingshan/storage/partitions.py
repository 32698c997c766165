"""Monthly partitions of ``observation`` on PostgreSQL, created on demand.

``observation`` is declared ``PARTITION BY RANGE (data_time)``; a row whose month has no
partition would be rejected, so every writer calls :func:`ensure_months` with the months of its
batch before inserting. Known partitions are cached per engine, so the check costs nothing
in the steady state. Partitions are created in their own short transaction, serialised by an
advisory lock, so concurrent writers (several gateways) do not race on the DDL.

Naming: ``observation_pYYYYMM`` holding ``[YYYY-MM-01, next month)``. Old months are dropped
or detached by the operator (see docs/operations.md); nothing here deletes data.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import Engine, text

from qingshan.storage.db import is_sqlite

_ADVISORY_KEY = 212_3001  # arbitrary constant shared by all Qingshan processes
_known: dict[str, set[tuple[int, int]]] = {}
_lock = threading.Lock()


def month_of(when: datetime) -> tuple[int, int]:
    return when.year, when.month


def partition_name(year: int, month: int) -> str:
    return f"observation_p{year:04d}{month:02d}"


def _bounds(year: int, month: int) -> tuple[str, str]:
    nxt = (year + 1, 1) if month == 12 else (year, month + 1)
    return f"{year:04d}-{month:02d}-01", f"{nxt[0]:04d}-{nxt[1]:02d}-01"


def existing_months(engine: Engine) -> set[tuple[int, int]]:
    """Months that have a partition, read from the catalogue."""
    sql = text(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = 'observation'"
    )
    out: set[tuple[int, int]] = set()
    with engine.connect() as conn:
        for (name,) in conn.execute(sql):
            if name.startswith("observation_p") and len(name) == len("observation_p000000"):
                out.add((int(name[-6:-2]), int(name[-2:])))
    return out


def ensure_months(engine: Engine, months: Iterable[tuple[int, int]]) -> list[str]:
    """Create missing monthly partitions; returns the names created (none on SQLite)."""
    if is_sqlite(engine):
        return []
    key = engine.url.render_as_string(hide_password=True)
    wanted = set(months)
    with _lock:
        known = _known.setdefault(key, set())
        missing = wanted - known
        if not missing:
            return []
        known |= existing_months(engine)
        missing = wanted - known
        created: list[str] = []
        if missing:
            with engine.begin() as conn:
                conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _ADVISORY_KEY})
                for year, month in sorted(missing):
                    lo, hi = _bounds(year, month)
                    name = partition_name(year, month)
                    conn.execute(
                        text(
                            f"CREATE TABLE IF NOT EXISTS {name} PARTITION OF observation "
                            f"FOR VALUES FROM ('{lo}') TO ('{hi}')"
                        )
                    )
                    created.append(name)
            known |= missing
        return created


def forget(engine: Engine) -> None:
    """Drop the cache (after the database was recreated, e.g. in tests)."""
    with _lock:
        _known.pop(engine.url.render_as_string(hide_password=True), None)
