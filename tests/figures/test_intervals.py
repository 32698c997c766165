"""Interval-aware data (issue 17), on SQLite and PostgreSQL with hand-computed expectations:
a water section sampling every 4 hours owes 6 records a day (completeness 100 %, not 24.9 %),
gets daily values from its samples under the roll-up's coverage rule (5 of 6 needed), and its
page shows the section's class and each factor's class from the exact means; a device silent
for 9 days says when it last reported, never 从未上报."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import select

from qingshan.clock import utcnow
from qingshan.roles import CLI
from qingshan.services import intervals, registry
from qingshan.services import observations as obs
from qingshan.services.figures.section import section_status
from qingshan.services.rollups import run_rollups
from qingshan.storage import writes
from qingshan.storage.db import make_engine, session_scope
from qingshan.storage.models import Device, Observation, Region, Resolution, Site
from qingshan.storage.partitions import ensure_months, month_of

D1, D2, D3 = date(2026, 3, 1), date(2026, 3, 2), date(2026, 3, 3)
# NH3-N (w21003) by sample, mg/L. Day 1: all six, Σ 3.15 → mean 0.525 → 0.52 half-even (GB/T
# 8170; binary rounding of 0.525 would not be reliable). Day 2: 08:00 and 16:00 missing, 4 of 6
# → 16 h of 20 needed: no daily value. Day 3: 08:00 flagged C (校准), 5 valid, Σ 5.50 → 1.10.
# Month: (3.15 + 6.35 + 5.50) / 15 = 1 exactly, at the Class Ⅲ limit 1.0: Class Ⅲ.
NH3N = {
    D1: {0: "0.50", 4: "0.60", 8: "0.40", 12: "0.55", 16: "0.71", 20: "0.39"},
    D2: {0: "1.55", 4: "1.60", 12: "1.70", 20: "1.50"},
    D3: {0: "1.05", 4: "1.10", 8: "0.95", 12: "1.20", 16: "1.00", 20: "1.15"},
}
CALIBRATION = datetime(2026, 3, 3, 8)


def _seed(url: str) -> tuple[int, int, int, int]:
    engine = make_engine(url)
    now = utcnow()
    ensure_months(
        engine, {month_of(datetime(2026, 3, 1)), month_of(now), month_of(now - timedelta(days=9))}
    )
    with session_scope(engine) as s:
        s.add(Region(code="620802", name="崆峒区", level="county"))
        s.flush()
        w = Site(
            code="W1",
            name="断面一",
            kind="surface_water_section",
            region_code="620802",
            target_class="Ⅲ",
        )
        o = Site(code="G1", name="地下水井一", kind="groundwater_point", region_code="620802")
        s.add_all([w, o])
        s.flush()
        devs = [
            Device(
                mn=f"MN{i:022d}",
                pw="123456",
                st="21" if i == 0 else "32",
                site_id=sid,
                created_at=now - timedelta(days=30),
                last_seen_at=seen,
            )
            for i, (sid, seen) in enumerate(
                [(w.id, None), (o.id, now - timedelta(days=9)), (o.id, None)]
            )
        ]
        s.add_all(devs)
        s.flush()
        section, silent, never = (d.id for d in devs)
        for day, values in NH3N.items():
            for hour, value in values.items():
                t = datetime.combine(day, datetime.min.time()) + timedelta(hours=hour)
                for code, v in (("w21003", value), ("w01009", "8.0"), ("w01001", "7.80")):
                    s.add(
                        Observation(
                            device_id=section,
                            resolution=int(Resolution.HOUR),
                            data_time=t,
                            code=code,
                            value=v,
                            flag="C" if t == CALIBRATION and code == "w21003" else "N",
                            derived=False,
                        )
                    )
        last = (now + timedelta(hours=8) - timedelta(days=9)).replace(
            minute=0, second=0, microsecond=0
        )
        s.add(
            Observation(
                device_id=silent,
                resolution=int(Resolution.HOUR),
                data_time=last,
                code="w01018",
                value="12",
                flag="N",
                derived=False,
            )
        )
        site_id = w.id
    with engine.begin() as conn:
        writes.mark_dirty(
            conn,
            [
                (section, int(Resolution.DAY), datetime.combine(d, datetime.min.time()))
                for d in NH3N
            ],
        )
    engine.dispose()
    return site_id, section, silent, never


def test_four_hourly_section_completeness_daily_values_and_class(db_url: str) -> None:
    site_id, section, _silent, _never = _seed(db_url)
    engine = make_engine(db_url)
    run_rollups(engine)
    after = datetime(2026, 3, 5)
    with session_scope(engine) as s:
        grid = intervals.device_intervals(s, [section], datetime(2026, 3, 3, 23))
        day1 = obs.completeness(
            s,
            [section],
            obs.time_range("hour", datetime(2026, 3, 1), datetime(2026, 3, 1, 23, 59)),
            now=after,
        )
        three = obs.completeness(
            s,
            [section],
            obs.time_range("hour", datetime(2026, 3, 1), datetime(2026, 3, 3, 23, 59)),
            now=after,
        )
        # the day still running owes only the samples whose 4 hours have closed
        running = obs.completeness(
            s,
            [section],
            obs.time_range("hour", datetime(2026, 3, 3), datetime(2026, 3, 3, 23, 59)),
            now=datetime(2026, 3, 3, 13),
        )
        days = {
            (r.data_time.date(), r.code): (r.value, r.flag, r.samples)
            for r in s.scalars(
                select(Observation).where(
                    Observation.device_id == section, Observation.resolution == int(Resolution.DAY)
                )
            )
        }
        status = section_status(s, site_id, D3)
    engine.dispose()
    x = grid[section]
    assert (x.step, x.phase, x.source) == (timedelta(hours=4), datetime(2026, 3, 3, 20), "data")
    # one day: 6 expected, 6 received, 100 % (an hourly expectation would say 6 / 24 = 25 %)
    assert day1[0] == 6
    f = {c.code: c for c in day1[1]}
    assert (f["w21003"].expected, f["w21003"].received, f["w21003"].valid) == (6, 6, 6)
    assert f["w21003"].ratio == 1.0 and f["w21003"].interval_minutes == 240
    # three days: 18 due, 16 received (two missing on day 2), NH3-N 15 valid (one C)
    f = {c.code: c for c in three[1]}
    assert (f["w21003"].expected, f["w21003"].received, f["w21003"].valid) == (18, 16, 15)
    assert f["w21003"].ratio == round(16 / 18, 4) and f["w01009"].valid == 16
    # 00:00, 04:00 and 08:00 have closed at 13:00 (12:00 closes at 16:00)
    assert {c.code: c.expected for c in running[1]}["w21003"] == 3
    # daily values: 5 of 6 valid samples cover 20 h; 4 do not
    assert days[(D1, "w21003")] == ("0.52", "N", 6)
    assert days[(D2, "w21003")] == (None, "B", 4)
    assert days[(D3, "w21003")] == ("1.10", "N", 5)
    assert days[(D3, "w01009")] == ("8.0", "N", 6)
    # the section's class: day 3 NH3-N 1.10 > 1.0 → Ⅳ, 超标 against Ⅲ; the month's exact
    # mean is 1 → Ⅲ, 达标 (exact: at the limit is within the class)
    assert status is not None and status.day is not None and status.month is not None
    day, month = status.day, status.month
    assert (day.label, day.samples, day.water_class, day.target_class, day.meets_target) == (
        "2026-03-03",
        6,
        "Ⅳ",
        "Ⅲ",
        False,
    )
    by = {x.code: x for x in day.factors}
    assert (by["w21003"].mean, by["w21003"].samples, by["w21003"].water_class) == ("1.10", 5, "Ⅳ")
    assert (by["w01009"].mean, by["w01009"].water_class) == ("8.0", "Ⅰ")
    assert by["w21003"].name == "氨氮" and by["w21003"].unit == "mg/L"
    assert day.main_pollutants == ["氨氮"]
    assert (month.label, month.first, month.last, month.samples) == ("2026-03", D1, D3, 16)
    mby = {x.code: x for x in month.factors}
    assert (mby["w21003"].mean, mby["w21003"].samples, mby["w21003"].water_class) == (
        "1.00",
        15,
        "Ⅲ",
    )
    assert (month.water_class, month.meets_target) == ("Ⅲ", True)


def test_silent_device_says_when_it_last_reported(db_url: str) -> None:
    _site_id, section, silent, never = _seed(db_url)
    engine = make_engine(db_url)
    now = utcnow()
    with session_scope(engine) as s:
        last = intervals.last_reports(s, [section, silent, never])
        states = {
            x.device.id: x
            for x in registry.device_states(s, CLI, offline_after=timedelta(minutes=30), now=now)
        }
        other = section_status(s, states[silent].device.site_id or 0, D3)
        # the registry's interval wins over the data's (none here): 4 hours, 6 records a day
        registry.update_device(s, CLI, states[never].device.mn, report_interval=240)
        s.flush()
        recorded = intervals.device_intervals(s, [never], datetime(2026, 3, 3))[never]
    engine.dispose()
    nine = (now + timedelta(hours=8) - timedelta(days=9)).replace(minute=0, second=0, microsecond=0)
    assert last == {section: datetime(2026, 3, 3, 20), silent: nine}  # never: no stored data
    assert states[silent].last_report == nine and states[silent].online is False
    assert states[never].last_report is None and states[never].online is False
    assert states[section].interval.step == timedelta(hours=4)
    assert other is None  # a groundwater point is not a section
    assert (recorded.step, recorded.phase, recorded.source) == (
        timedelta(hours=4),
        None,
        "registry",
    )
    day = (datetime(2026, 3, 1), datetime(2026, 3, 1, 23))
    assert intervals.expected_slots(recorded, *day) == 6
