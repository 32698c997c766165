from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, select

from qingshan.services.registry import add_device
from qingshan.services.rollups import Record, aggregate, default_rules, infer_interval, run_rollups
from qingshan.storage import partitions
from qingshan.storage.models import Observation, Resolution, RollupDirty
from qingshan.storage.writes import dirty_marks, mark_dirty, upsert_observations

RULES = default_rules()
H0 = datetime(2026, 5, 1, 8, 0)


def rec(v: str | None, flag: str | None = "N", minute: int = 0, **kw: Any) -> Record:
    return Record(
        H0 + timedelta(minutes=minute),
        v,
        kw.get("vmin"),
        kw.get("vmax"),
        kw.get("cou"),
        kw.get("zs"),
        flag,
    )


def test_rules_come_from_the_data_file() -> None:
    assert RULES.valid_flags == frozenset({"N"})
    assert (RULES.hour_min_minutes, RULES.day_min_hours) == (45, 20)


def test_mean_is_exact_and_rounded_half_even() -> None:
    # (1.00 + 1.01 + 1.00 + 1.01) / 4 = 1.005 -> 1.00 (half to even at 2 decimals)
    out = aggregate(
        [rec("1.00"), rec("1.01"), rec("1.00"), rec("1.01")], needed=4, unit=1, rules=RULES
    )
    assert out["value"] == "1.00" and out["flag"] == "N" and out["samples"] == 4
    out = aggregate([rec("0.1"), rec("0.2")], needed=2, unit=1, rules=RULES)
    assert out["value"] == "0.2"  # 0.15 -> 0.2 (half to even), no binary round-off


def test_flagged_records_are_not_averaged() -> None:
    records = [rec("10", minute=i) for i in range(45)]
    records += [rec("9999", flag=f, minute=45 + i) for i, f in enumerate("MCDFTBS")]
    out = aggregate(records, needed=45, unit=1, rules=RULES)
    assert out["value"] == "10" and out["samples"] == 45 and out["vmax"] == "10"


def test_too_few_valid_minutes_gives_invalid_hour_with_dominant_flag() -> None:
    records = [rec("10", minute=i) for i in range(40)] + [rec("5", "M", 40 + i) for i in range(20)]
    out = aggregate(records, needed=45, unit=1, rules=RULES)
    assert out["value"] is None and out["flag"] == "M" and out["samples"] == 40
    out = aggregate([rec("1", minute=i) for i in range(10)], needed=45, unit=1, rules=RULES)
    assert out["value"] is None and out["flag"] == "B"


def test_missing_flag_counts_as_normal_and_cou_is_summed() -> None:
    out = aggregate(
        [rec("2.0", None, cou="1.5"), rec("4.0", None, cou="2.25")], needed=2, unit=1, rules=RULES
    )
    assert (out["value"], out["cou"], out["flag"]) == ("3.0", "3.75", "N")


def test_interval_inference() -> None:
    t = [H0 + timedelta(minutes=m) for m in (0, 10, 20, 30)]
    assert infer_interval(t, None, 1) == 10
    assert infer_interval(t, 5, 1) == 5
    assert infer_interval(t[:1], None, 1) == 1


@settings(max_examples=50, deadline=None)
@given(
    st.lists(
        st.decimals(min_value=-1000, max_value=1000, places=3, allow_nan=False),
        min_size=1,
        max_size=60,
    )
)
def test_mean_property(values: list[Decimal]) -> None:
    texts = [f"{v:.3f}" for v in values]
    out = aggregate([rec(t) for t in texts], needed=1, unit=1, rules=RULES)
    exact = sum(Decimal(t) for t in texts) / len(texts)
    assert abs(Decimal(out["value"]) - exact) <= Decimal("0.0005")
    assert Decimal(out["vmin"]) == min(values) and Decimal(out["vmax"]) == max(values)


def _minute_rows(
    device_id: int,
    start: datetime,
    n: int,
    step: int,
    value: str,
    flag: str = "N",
    code: str = "a21026",
) -> list[dict[str, Any]]:
    return [
        {
            "device_id": device_id,
            "resolution": int(Resolution.MINUTE),
            "data_time": start + timedelta(minutes=i * step),
            "code": code,
            "value": value,
            "vmin": None,
            "vmax": None,
            "cou": None,
            "zs": None,
            "flag": flag,
            "derived": False,
            "samples": None,
        }
        for i in range(n)
    ]


def _store(engine: Engine, rows: list[dict[str, Any]]) -> None:
    partitions.ensure_months(engine, {partitions.month_of(r["data_time"]) for r in rows})
    with engine.begin() as conn:
        upsert_observations(conn, rows, derived=False)
        mark_dirty(conn, dirty_marks(rows))


def _get(engine: Engine, res: Resolution) -> list[tuple[Any, ...]]:
    o = Observation
    with engine.connect() as conn:
        return [
            tuple(r)
            for r in conn.execute(
                select(o.data_time, o.code, o.value, o.flag, o.derived, o.samples)
                .where(o.resolution == int(res))
                .order_by(o.data_time, o.code)
            )
        ]


def test_minute_to_hour_to_day_in_the_database(engine: Engine) -> None:
    dev = add_device(engine, mn="AA01", pw="123456", st="22").id
    day = datetime(2026, 5, 1)
    rows: list[dict[str, Any]] = []
    for h in range(21):  # 21 hours of 10-minute data: 6 records x 10 min = 60 min each
        rows += _minute_rows(dev, day + timedelta(hours=h), 6, 10, str(h))
    _store(engine, rows)
    run_rollups(engine)
    hours = _get(engine, Resolution.HOUR)
    assert len(hours) == 21
    assert hours[3] == (day + timedelta(hours=3), "a21026", "3", "N", True, 6)
    days = _get(engine, Resolution.DAY)
    assert days == [(day, "a21026", "10", "N", True, 21)]  # mean of 0..20
    with engine.connect() as conn:
        assert conn.execute(select(RollupDirty)).first() is None

    # Late, corrected data: hour 3 is re-sent as calibration -> invalid hour, day recomputed
    _store(engine, _minute_rows(dev, day + timedelta(hours=3), 6, 10, "3", flag="C"))
    run_rollups(engine)
    assert _get(engine, Resolution.HOUR)[3] == (
        day + timedelta(hours=3),
        "a21026",
        None,
        "C",
        True,
        0,
    )
    # 20 valid hours remain: mean of 0..20 without 3 = 207/20 = 10.35 -> 10 (0 decimals)
    assert _get(engine, Resolution.DAY) == [(day, "a21026", "10", "N", True, 20)]
    _store(engine, _minute_rows(dev, day + timedelta(hours=4), 6, 10, "4", flag="D"))
    run_rollups(engine)
    # one C hour and one D hour tie; D (fault) comes first in invalid_flag_order
    assert _get(engine, Resolution.DAY) == [(day, "a21026", None, "D", True, 19)]


def test_native_hour_values_are_never_overwritten(engine: Engine) -> None:
    dev = add_device(engine, mn="AA02", pw="123456", st="22").id
    native = _minute_rows(dev, H0, 1, 1, "7.5")[0] | {"resolution": int(Resolution.HOUR)}
    _store(engine, [native])
    _store(engine, _minute_rows(dev, H0, 60, 1, "1"))
    run_rollups(engine)
    assert _get(engine, Resolution.HOUR) == [(H0, "a21026", "7.5", "N", False, None)]


@pytest.mark.parametrize("batch", [1, 500])
def test_rollup_batches_process_everything(engine: Engine, batch: int) -> None:
    dev = add_device(engine, mn="AA03", pw="123456", st="22").id
    _store(engine, _minute_rows(dev, H0, 180, 1, "2"))  # three hours
    run_rollups(engine, batch=batch)
    assert [r[2] for r in _get(engine, Resolution.HOUR)] == ["2", "2", "2"]
    assert _get(engine, Resolution.DAY)[0][2:4] == (None, "B")  # only 3 of 20 hours


def test_live_buckets_wait_until_they_have_closed(engine: Engine) -> None:
    from qingshan.clock import utcnow

    dev = add_device(engine, mn="AA04", pw="123456", st="22").id
    hour = (utcnow() + timedelta(hours=8)).replace(minute=0, second=0, microsecond=0)  # CST
    _store(engine, _minute_rows(dev, hour, 60, 1, "5"))  # the current hour, China time
    end_utc = hour - timedelta(hours=8) + timedelta(hours=1)
    grace = timedelta(minutes=2)
    assert run_rollups(engine, grace=grace) == 0  # still open
    assert run_rollups(engine, grace=grace, now=end_utc + timedelta(minutes=1)) == 0
    # Between 23:00 and 24:00 China time the current hour is the day's last (HJ 663's day
    # runs to 24 o'clock): the day closes with it.
    closes_day = hour.hour == 23
    rolled = run_rollups(engine, grace=grace, now=end_utc + timedelta(minutes=3))
    assert rolled == (2 if closes_day else 1)
    assert _get(engine, Resolution.HOUR)[0][2:4] == ("5", "N")
    if closes_day:
        return
    assert _get(engine, Resolution.DAY) == []  # the day has not closed yet
    with engine.connect() as conn:
        marks = conn.execute(select(RollupDirty.resolution)).scalars().all()
    assert marks == [int(Resolution.DAY)]
