"""Every bulk write of the data backbone: upserts, appends, dirty marks and purges.

Services decide *what* to write (validation, idempotency, roll-up rules); the statements live
here, once, on top of :func:`qingshan.storage.bulk.executemany` (one driver call per batch;
COPY + one set-wise statement on PostgreSQL). All functions take an open connection inside the
caller's transaction, except the purge, which is its own transaction.

Upserts replace a row by its primary key: every non-key column takes the new row's value (a
column the rows do not carry becomes NULL), so a replaced row never keeps a stale field.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Engine,
    Table,
    and_,
    bindparam,
    delete,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from qingshan.clock import utcnow
from qingshan.storage import bulk
from qingshan.storage.models import (
    Base,
    Device,
    DeviceStatus,
    Observation,
    Quarantine,
    RawPacket,
    ReceivedPacket,
    Resolution,
    RollupDirty,
)
from qingshan.storage.models_figures import FigureDirty

# A roll-up mark: (device id, target resolution, bucket start).
Mark = tuple[int, int, datetime]


def _table(model: type[Base]) -> Table:
    table = model.__table__
    assert isinstance(table, Table)
    return table


def dialect_insert(conn: Connection, table: Table) -> Any:
    """``INSERT`` with ``ON CONFLICT`` support for the connection's dialect."""
    return (sqlite.insert if conn.dialect.name == "sqlite" else postgresql.insert)(table)


_REPLACE: dict[tuple[str, str, bool], Any] = {}


def _replace_stmt(conn: Connection, table: Table, where: ColumnElement[bool] | None = None) -> Any:
    """``INSERT … ON CONFLICT DO UPDATE`` of every non-key column. Cached per dialect and table
    (building it costs ~5 ms, more than writing a small batch: one packet per transaction is
    what the isolation of refused packets does); ``where`` must be the same for a table."""
    key = (conn.dialect.name, table.name, where is not None)
    stmt = _REPLACE.get(key)
    if stmt is None:
        keys = [c.name for c in table.primary_key.columns]
        ins = dialect_insert(conn, table)
        stmt = _REPLACE[key] = ins.on_conflict_do_update(
            index_elements=keys,
            set_={c.name: ins.excluded[c.name] for c in table.columns if c.name not in keys},
            where=where,
        )
    return stmt


def upsert_rows(conn: Connection, model: type[Base], rows: Iterable[Mapping[str, Any]]) -> int:
    """Insert or replace rows of ``model`` by primary key; returns the rows written.

    Rows may repeat a key (the last one wins) and may leave out nullable columns.
    """
    table = _table(model)
    keys = [c.name for c in table.primary_key.columns]
    cols = [c.name for c in table.columns]
    unique = {tuple(r[k] for k in keys): {c: r.get(c) for c in cols} for r in rows}
    if not unique:
        return 0
    bulk.executemany(
        conn, f"upsert-{table.name}", _replace_stmt(conn, table), list(unique.values())
    )
    return len(unique)


def insert_rows(conn: Connection, model: type[Base], rows: Sequence[dict[str, Any]]) -> None:
    """Append rows (all with the same keys) to ``model``'s table."""
    bulk.executemany(conn, f"insert-{_table(model).name}", insert(model), rows)


# ------------------------------------------------------------------------------ observations


def upsert_observations(conn: Connection, rows: Sequence[dict[str, Any]], *, derived: bool) -> None:
    """Insert or replace observations in one batch (rows with the same keys, keys unique).

    Device data (``derived=False``) replaces whatever is stored; derived data replaces only
    derived rows, never a value the device sent itself.
    """
    if not rows:
        return
    table = _table(Observation)
    stmt = _replace_stmt(conn, table, table.c.derived if derived else None)
    bulk.executemany(conn, f"observation-upsert-{derived}", stmt, rows)


def delete_derived(
    conn: Connection, device_id: int, resolution: Resolution, bucket: datetime, codes: list[str]
) -> None:
    """Delete derived observations of one bucket (the inputs for those codes are gone)."""
    o = _table(Observation).c
    conn.execute(
        delete(Observation).where(
            and_(
                o.device_id == device_id,
                o.resolution == int(resolution),
                o.data_time == bucket,
                o.code.in_(codes),
                o.derived,
            )
        )
    )


# ------------------------------------------------------------------------------ dirty marks


def hour_floor(t: datetime) -> datetime:
    return t.replace(minute=0, second=0, microsecond=0)


def day_floor(t: datetime) -> datetime:
    return t.replace(hour=0, minute=0, second=0, microsecond=0)


def dirty_marks(rows: Iterable[Mapping[str, Any]]) -> set[Mark]:
    """Roll-up buckets touched by observation rows: minute → its hour, hour → its day."""
    out: set[Mark] = set()
    for r in rows:
        if r["resolution"] == Resolution.MINUTE:
            out.add((r["device_id"], int(Resolution.HOUR), hour_floor(r["data_time"])))
        elif r["resolution"] == Resolution.HOUR:
            out.add((r["device_id"], int(Resolution.DAY), day_floor(r["data_time"])))
    return out


def mark_dirty(conn: Connection, marks: Iterable[Mark]) -> None:
    """Flag roll-up buckets for (re)computation; an existing mark gets a fresh ``marked_at``.

    Every day mark is also a figure mark (:func:`mark_figures_dirty`): a stored, late or
    corrected hour record of a device changes that day's figures.
    """
    now = utcnow()
    marks = sorted(set(marks))
    if not marks:
        return
    rows = [{"device_id": d, "resolution": r, "bucket": b, "marked_at": now} for d, r, b in marks]
    table = _table(RollupDirty)
    stmt = dialect_insert(conn, table)
    stmt = stmt.on_conflict_do_update(
        index_elements=["device_id", "resolution", "bucket"],
        set_={"marked_at": stmt.excluded.marked_at},
    )
    bulk.executemany(conn, "rollup-dirty-mark", stmt, rows)
    mark_figures_dirty(conn, [(d, b) for d, r, b in marks if r == int(Resolution.DAY)], now)


def mark_figures_dirty(
    conn: Connection, days: Iterable[tuple[int, datetime]], now: datetime | None = None
) -> None:
    """Flag device-days whose environmental-quality figures must be recomputed."""
    rows = [{"device_id": d, "day": b, "marked_at": now or utcnow()} for d, b in sorted(set(days))]
    if not rows:
        return
    table = _table(FigureDirty)
    stmt = dialect_insert(conn, table)
    stmt = stmt.on_conflict_do_update(
        index_elements=["device_id", "day"], set_={"marked_at": stmt.excluded.marked_at}
    )
    bulk.executemany(conn, "figure-dirty-mark", stmt, rows)


@dataclass(frozen=True, slots=True)
class DirtyMark:
    """A roll-up mark as read back: which bucket, and when it was last marked."""

    device_id: int
    resolution: int
    bucket: datetime
    marked_at: datetime


def dirty_buckets(
    conn: Connection,
    *,
    limit: int,
    marked_by: datetime,
    hours_until: datetime | None = None,
    days_until: datetime | None = None,
) -> list[DirtyMark]:
    """Roll-up marks to process, hours before days, oldest bucket first.

    ``marked_by``: only marks last touched at or before it. With ``hours_until`` /
    ``days_until`` (both or neither), only hour buckets starting at or before the one and day
    buckets starting at or before the other.
    """
    d = _table(RollupDirty).c
    cond: ColumnElement[bool] = d.marked_at <= marked_by
    if hours_until is not None and days_until is not None:
        cond = and_(
            cond,
            or_(
                and_(d.resolution == int(Resolution.HOUR), d.bucket <= hours_until),
                and_(d.resolution == int(Resolution.DAY), d.bucket <= days_until),
            ),
        )
    rows = conn.execute(
        select(d.device_id, d.resolution, d.bucket, d.marked_at)
        .where(cond)
        .order_by(d.resolution, d.bucket, d.device_id)
        .limit(limit)
    )
    return [DirtyMark(*r) for r in rows]


def clear_dirty(conn: Connection, mark: DirtyMark) -> None:
    """Remove a processed mark, unless it was marked again since it was read."""
    d = _table(RollupDirty).c
    conn.execute(
        delete(RollupDirty).where(
            and_(
                d.device_id == mark.device_id,
                d.resolution == mark.resolution,
                d.bucket == mark.bucket,
                d.marked_at <= mark.marked_at,
            )
        )
    )


# ------------------------------------------------------------------------------ packets


def insert_received_keys(
    conn: Connection, rows: Sequence[dict[str, Any]]
) -> set[tuple[str, str, str]]:
    """Insert idempotency keys (mn, qn, cn, received_at); returns the keys that were new."""
    if not rows:
        return set()
    table = _table(ReceivedPacket)
    stmt = (
        dialect_insert(conn, table)
        .on_conflict_do_nothing()
        .returning(table.c.mn, table.c.qn, table.c.cn)
    )
    result = bulk.executemany(conn, "received-keys", stmt, rows, returning=True)
    return {(r[0], r[1], r[2]) for r in result}


def upsert_device_status(conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
    """Insert or replace device status rows (running state, site information, …)."""
    if rows:
        bulk.executemany(conn, "status-upsert", _replace_stmt(conn, _table(DeviceStatus)), rows)


def touch_devices(conn: Connection, last: Mapping[int, tuple[datetime, str | None]]) -> None:
    """Set ``last_seen_at`` / ``last_peer`` of devices: device id → (time, peer)."""
    if not last:
        return
    ordered = sorted(last.items())
    if conn.dialect.name == "postgresql":  # one set-wise UPDATE instead of one per device
        conn.exec_driver_sql(
            "UPDATE device SET last_seen_at = v.at, last_peer = v.peer FROM unnest("
            "%(ids)s::integer[], %(ats)s::timestamp[], %(peers)s::varchar[]) "
            "AS v(id, at, peer) WHERE device.id = v.id",
            {
                "ids": [k for k, _ in ordered],
                "ats": [at for _, (at, _p) in ordered],
                "peers": [peer for _, (_a, peer) in ordered],
            },
        )
        return
    table = _table(Device)
    stmt = (
        update(table)
        .where(table.c.id == bindparam("b_id"))
        .values(last_seen_at=bindparam("b_at"), last_peer=bindparam("b_peer"))
    )
    bulk.executemany(
        conn,
        "device-last-seen",
        stmt,
        [{"b_id": k, "b_at": at, "b_peer": peer} for k, (at, peer) in ordered],
    )


# ------------------------------------------------------------------------------ purges


def purge_raw(engine: Engine, retention_days: int, now: datetime | None = None) -> int:
    """Delete archived raw packets, idempotency keys and quarantine older than the retention
    period (observations are never purged); returns the raw packets deleted."""
    if retention_days < 1:
        raise ValueError("raw packet retention must be at least 1 day")
    cutoff = (now or utcnow()) - timedelta(days=retention_days)
    with engine.begin() as conn:
        n = conn.execute(delete(RawPacket).where(RawPacket.received_at < cutoff)).rowcount
        conn.execute(delete(ReceivedPacket).where(ReceivedPacket.received_at < cutoff))
        conn.execute(delete(Quarantine).where(Quarantine.received_at < cutoff))
    return int(n or 0)
