"""storage.writes, the one home of bulk writes, dirty marks and purges (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from qingshan.protocol.hj212 import Reason
from qingshan.services.registry import add_device
from qingshan.storage import partitions, writes
from qingshan.storage.models import (
    Device,
    DeviceStatus,
    Factor,
    Observation,
    Quarantine,
    RawPacket,
    ReceivedPacket,
    Resolution,
    RollupDirty,
)
from qingshan.storage.models_figures import FigureDirty

T0 = datetime(2026, 3, 1, 8, 0)
MN = "010000A8900016F000169DC0"


def _obs(code: str, value: str | None, *, derived: bool, **kw: Any) -> dict[str, Any]:
    row = {
        "device_id": 1,
        "resolution": int(Resolution.HOUR),
        "data_time": T0,
        "code": code,
        "value": value,
        "vmin": None,
        "vmax": None,
        "cou": None,
        "zs": None,
        "flag": "N",
        "derived": derived,
        "samples": 20 if derived else None,
    }
    return {**row, **kw}


def _all(engine: Engine, *cols: Any) -> list[tuple[Any, ...]]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(select(*cols).order_by(*cols))]


def _count(engine: Engine, model: Any) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(model)).scalar() or 0)


def test_upsert_rows_replaces_by_key_and_clears_left_out_columns(engine: Engine) -> None:
    row = {"code": "a21026", "edition": "2017", "name": "二氧化硫", "unit": "mg/m3"}
    with engine.begin() as conn:
        assert writes.upsert_rows(conn, Factor, [row, {**row, "code": "a21002"}]) == 2
    with engine.begin() as conn:
        # a repeated key: the last row wins; ``unit`` left out becomes NULL, not stale
        bare = {"code": "a21026", "edition": "2017"}
        n = writes.upsert_rows(conn, Factor, [{**row, "name": "x"}, {**bare, "name": "SO2"}])
        assert n == 1
        assert writes.upsert_rows(conn, Factor, []) == 0
    assert _all(engine, Factor.code, Factor.name, Factor.unit) == [
        ("a21002", "二氧化硫", "mg/m3"),
        ("a21026", "SO2", None),
    ]


def test_device_values_replace_everything_derived_only_derived(engine: Engine) -> None:
    partitions.ensure_months(engine, {(2026, 3)})
    with engine.begin() as conn:
        writes.upsert_observations(
            conn, [_obs("a", "1.0", derived=False), _obs("b", "2.0", derived=True)], derived=False
        )
    with engine.begin() as conn:  # a roll-up never overwrites what the device sent
        writes.upsert_observations(
            conn,
            [_obs("a", "9.9", derived=True), _obs("b", "2.5", derived=True, vmin="2.1")],
            derived=True,
        )
    assert _all(engine, Observation.code, Observation.value, Observation.vmin) == [
        ("a", "1.0", None),
        ("b", "2.5", "2.1"),
    ]
    with engine.begin() as conn:  # a device value replaces a derived one, every column
        writes.upsert_observations(conn, [_obs("b", "3.000", derived=False)], derived=False)
        writes.delete_derived(conn, 1, Resolution.HOUR, T0, ["a", "b"])  # none derived now
    rows = _all(engine, Observation.code, Observation.value, Observation.vmin, Observation.derived)
    assert rows == [("a", "1.0", None, False), ("b", "3.000", None, False)]
    with engine.begin() as conn:
        writes.upsert_observations(conn, [_obs("c", "4", derived=True)], derived=True)
        writes.delete_derived(conn, 1, Resolution.HOUR, T0, ["c"])
    assert [r[0] for r in _all(engine, Observation.code)] == ["a", "b"]


def test_dirty_marks_of_rows() -> None:
    rows = [
        _obs("a", "1", derived=False, resolution=int(Resolution.MINUTE), data_time=T0),
        _obs(
            "a",
            "1",
            derived=False,
            resolution=int(Resolution.MINUTE),
            data_time=T0.replace(minute=59),
        ),
        _obs("a", "1", derived=False, resolution=int(Resolution.HOUR), data_time=T0),
        _obs("a", "1", derived=False, resolution=int(Resolution.REALTIME), data_time=T0),
        _obs("a", "1", derived=False, resolution=int(Resolution.DAY), data_time=T0),
    ]
    assert writes.dirty_marks(rows) == {
        (1, int(Resolution.HOUR), T0),
        (1, int(Resolution.DAY), datetime(2026, 3, 1)),
    }


def test_marks_are_refreshed_listed_and_cleared(engine: Engine) -> None:
    day = datetime(2026, 3, 1)
    with engine.begin() as conn:
        writes.mark_dirty(
            conn,
            [(1, int(Resolution.HOUR), T0), (1, int(Resolution.HOUR), T0), (1, 3, day)],
        )
    assert _count(engine, RollupDirty) == 2
    # every day mark is a figure mark too; hour marks are not
    assert _all(engine, FigureDirty.device_id, FigureDirty.day) == [(1, day)]
    with engine.connect() as conn:
        marks = writes.dirty_buckets(conn, limit=10, marked_by=datetime(2100, 1, 1))
        assert [(m.resolution, m.bucket) for m in marks] == [(2, T0), (3, day)]  # hours first
        assert writes.dirty_buckets(conn, limit=10, marked_by=datetime(2000, 1, 1)) == []
        assert writes.dirty_buckets(conn, limit=1, marked_by=datetime(2100, 1, 1)) == marks[:1]
        only_hours = writes.dirty_buckets(
            conn,
            limit=10,
            marked_by=datetime(2100, 1, 1),
            hours_until=T0,
            days_until=day - timedelta(days=1),
        )
        assert [m.resolution for m in only_hours] == [2]
    hour = marks[0]
    with engine.begin() as conn:  # marked again after it was read: the new mark stays
        conn.execute(
            RollupDirty.__table__.update()
            .where(RollupDirty.resolution == 2)
            .values(marked_at=hour.marked_at + timedelta(seconds=1))
        )
        writes.clear_dirty(conn, hour)
        writes.clear_dirty(conn, marks[1])
    assert _all(engine, RollupDirty.resolution) == [(2,)]


def test_keys_status_packets_and_last_seen(engine: Engine) -> None:
    dev = add_device(engine, mn=MN, pw="123456", st="22")
    key = {"mn": MN, "qn": "20260301080000001", "cn": "2051", "received_at": T0}
    with engine.begin() as conn:
        new = writes.insert_received_keys(conn, [key, {**key, "qn": "20260301080000002"}])
        assert new == {(MN, "20260301080000001", "2051"), (MN, "20260301080000002", "2051")}
    with engine.begin() as conn:
        again = writes.insert_received_keys(conn, [key, {**key, "qn": "20260301080000003"}])
        assert again == {(MN, "20260301080000003", "2051")}  # only the new key
        assert writes.insert_received_keys(conn, []) == set()
        status = {"device_id": dev.id, "data_time": T0, "cn": "2021", "code": "SB1-RS"}
        writes.upsert_device_status(conn, [{**status, "value": "0"}])
        writes.upsert_device_status(conn, [{**status, "value": "1"}])
        writes.insert_rows(
            conn,
            Quarantine,
            [
                {
                    "received_at": T0,
                    "peer": "p",
                    "mn": MN,
                    "reason": Reason.WRONG_PW.value,
                    "detail": "",
                    "raw": b"##x",
                }
            ],
        )
        writes.insert_rows(
            conn,
            RawPacket,
            [
                {"received_at": T0, "mn": MN, "qn": "1", "cn": "2051", "peer": None, "raw": b"a"},
                {"received_at": T0, "mn": MN, "qn": "2", "cn": "2051", "peer": None, "raw": b"b"},
            ],
        )
        writes.touch_devices(conn, {dev.id: (T0, "10.0.0.1:5000")})
    assert _count(engine, ReceivedPacket) == 3
    assert _all(engine, DeviceStatus.code, DeviceStatus.value) == [("SB1-RS", "1")]
    assert _all(engine, Quarantine.reason) == [("wrong_pw",)]
    assert _all(engine, RawPacket.raw) == [(b"a",), (b"b",)]
    assert _all(engine, Device.last_seen_at, Device.last_peer) == [(T0, "10.0.0.1:5000")]


def test_purge_keeps_what_is_within_retention(engine: Engine) -> None:
    now = datetime(2026, 3, 31)
    old, kept = now - timedelta(days=30, seconds=1), now - timedelta(days=29)
    with engine.begin() as conn:
        for at, qn in ((old, "1"), (kept, "2")):
            writes.insert_rows(
                conn,
                RawPacket,
                [{"received_at": at, "mn": MN, "qn": qn, "cn": "2051", "peer": None, "raw": b"x"}],
            )
            writes.insert_received_keys(
                conn, [{"mn": MN, "qn": qn, "cn": "2051", "received_at": at}]
            )
            writes.insert_rows(
                conn,
                Quarantine,
                [
                    {
                        "received_at": at,
                        "peer": None,
                        "mn": None,
                        "reason": "garbage",
                        "detail": "",
                        "raw": b"x",
                    }
                ],
            )
    assert writes.purge_raw(engine, 30, now=now) == 1
    assert _all(engine, RawPacket.qn) == [("2",)]
    assert _all(engine, ReceivedPacket.qn) == [("2",)]
    assert _all(engine, Quarantine.received_at) == [(kept,)]
    with pytest.raises(ValueError, match="at least 1 day"):
        writes.purge_raw(engine, 0)
