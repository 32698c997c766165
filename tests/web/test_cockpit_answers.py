"""What the cockpit answers a 局长 (:mod:`qingshan.services.cockpit`), on SQLite and PostgreSQL:
the district's AQI now (and its city's), yesterday's 日报, the year to date against the plan
targets with the non-good days still allowed (exact), the named lists of what is exceeding or
offline now; the six concentrations as published. (Through the API on the seeded district:
tests/web/test_api.py.)"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from qingshan.clock import utcnow
from qingshan.services import cockpit, deployment
from qingshan.storage.db import make_engine, session_scope
from qingshan.storage.models import Device, Enterprise, Observation, Region, Resolution, Site
from qingshan.storage.models_figures import AirDayFigure, AirHourFigure
from qingshan.storage.models_sources import SourceEpisode
from qingshan.storage.partitions import ensure_months, month_of

TODAY = date(2026, 1, 12)  # 1 January … 11 January counted, 354 days of the year left
PROV = json.dumps({"HJ633": "HJ633-2012"})


def _regions(s: Session) -> None:
    s.add(Region(code="620000", name="甘肃省", level="province"))
    s.flush()
    s.add(Region(code="620800", name="平凉市", level="city", parent_code="620000"))
    s.flush()
    s.add(Region(code="620802", name="崆峒区", level="county", parent_code="620800"))
    s.flush()


def _day(day: date, aqi: int | None, pm: float | None, valid: bool = True) -> AirDayFigure:
    return AirDayFigure(
        scope="region",
        scope_code="620802",
        day=day,
        standard="auto",
        aqi_standard="HJ633-2012",
        aqi=aqi,
        level=None,
        category=None,
        primary_pollutants="PM2_5" if aqi and aqi > 50 else None,
        valid=valid,
        pm2_5=pm,
        reason=None if valid else "PM2_5有效小时数不足20",
        provenance="{}",
        computed_at=datetime(2026, 1, 12),
    )


def test_year_progress_counts_targets_and_allowance_exactly(db_url: str) -> None:
    engine = make_engine(db_url)
    with session_scope(engine) as s:
        _regions(s)
        deployment.set_target(
            s, "620802", "good_day_ratio", "80", "%", year_from=2021, source="测试目标甲"
        )
        deployment.set_target(
            s,
            "620802",
            "pm2_5",
            "35",
            "μg/m³",
            year_from=2021,
            source="测试目标乙",
            comparison="at_most",
        )
        # 10 valid days: 8 good (AQI 100 is still 良), 2 not (101, 160); one invalid day
        aqis = [40, 55, 60, 100, 80, 45, 70, 90, 101, 160]
        pms = [30.0] * 9 + [33.5]  # mean exactly 30.35: 30.4 half-even (float round: 30.3)
        for i, (a, p) in enumerate(zip(aqis, pms, strict=True)):
            s.add(_day(date(2026, 1, 1 + i), a, p))
        s.add(_day(date(2026, 1, 11), 30, 12.0, valid=False))
        s.add(_day(date(2026, 1, 12), 300, 250.0))  # today: not complete, not counted
        s.add(_day(date(2025, 12, 31), 300, 250.0))  # last year: not counted
    with session_scope(engine) as s:
        y = cockpit.year_progress(s, "620802", TODAY)
    engine.dispose()
    assert (y.first, y.through, y.remaining_days) == (date(2026, 1, 1), date(2026, 1, 11), 354)
    assert (y.valid_days, y.good_days, y.non_good_days) == (10, 8, 2)
    r = y.good_day_ratio
    assert (r.value, r.target, r.target_source, r.met) == ("80.0", "80", "测试目标甲", True)
    assert r.status == "on_track"
    # N = 10 + 354 = 364 days; ⌈80 % × 364⌉ = ⌈291.2⌉ = 292 good days needed, so 364 − 292
    # = 72 non-good days in the year, 2 already spent: 70 more allowed.
    assert y.non_good_days_allowed == 70
    assert r.projection is not None and r.projection["good_days_needed"] == 292
    pm = y.pm2_5
    assert (pm.value, pm.target, pm.comparison, pm.met) == ("30.4", "35", "at_most", True)
    assert y.pm2_5_days == 10 and pm.status == "on_track"


def test_year_progress_without_targets_and_off_track(db_url: str) -> None:
    engine = make_engine(db_url)
    with session_scope(engine) as s:
        _regions(s)
        for i in range(11):
            s.add(_day(date(2026, 1, 1 + i), 160, 120.0))
    with session_scope(engine) as s:
        y = cockpit.year_progress(s, "620802", TODAY)
        assert y.good_day_ratio.target is None and y.non_good_days_allowed is None
        assert y.good_day_ratio.status == "not_assessable" and y.good_day_ratio.value == "0.0"
        deployment.set_target(s, "620802", "good_day_ratio", "98", "%", year_from=2021, source="t")
        s.flush()
        y = cockpit.year_progress(s, "620802", TODAY)
    engine.dispose()
    # 11 non-good days of 365: at most ⌊2 % × 365⌋ = 7 allowed in the year → −4, off track
    assert y.non_good_days_allowed == 365 - 358 - 11 == -4
    assert y.good_day_ratio.status == "off_track" and y.good_day_ratio.met is False


def _hour(code: str, scope: str, t: datetime, aqi: int) -> AirHourFigure:
    return AirHourFigure(
        scope=scope,
        scope_code=code,
        data_time=t,
        standard="auto",
        aqi=aqi,
        level="二级",
        category="良",
        primary_pollutants="PM10",
        iaqi="{}",
        concentrations="{}",
        provenance=PROV,
    )


def test_aqi_now_district_then_city_and_yesterday(db_url: str) -> None:
    engine = make_engine(db_url)
    t = datetime(2026, 1, 12, 9)
    with session_scope(engine) as s:
        _regions(s)
        s.add(_hour("620802", "region", t - timedelta(hours=1), 120))
        s.add(_hour("620802", "region", t, 77))
        s.add(_hour("620800", "region", t, 66))
        s.add(_hour("X01", "site", t + timedelta(hours=1), 300))  # a station, not the region
        s.add(_day(date(2026, 1, 11), 160, 120.0))
    with session_scope(engine) as s:
        now = cockpit.aqi_now(s, "620802")
        yday = cockpit.yesterday_report(s, "620802", TODAY)
        none = cockpit.yesterday_report(s, "620802", date(2026, 2, 1))
    engine.dispose()
    assert [(x.region_name, x.aqi, x.time) for x in now] == [("崆峒区", 77, t), ("平凉市", 66, t)]
    assert now[0].colour == "#FFFF00" and now[0].primary_pollutants == ["PM10"]
    assert (yday.day, yday.aqi, yday.valid, yday.colour) == (
        date(2026, 1, 11),
        160,
        True,
        "#FF0000",
    )
    assert (none.valid, none.aqi, none.reason) == (False, None, "无日数据")


def test_exceeding_and_offline_lists_are_named(db_url: str) -> None:
    engine = make_engine(db_url)
    now = utcnow()
    cst = now + timedelta(hours=8)
    ensure_months(engine, {month_of(cst - timedelta(days=9)), month_of(cst)})
    with session_scope(engine) as s:
        _regions(s)
        e = Enterprise(
            name="丙钢铁有限公司", credit_code="91620802000000009X", region_code="620802"
        )
        s.add(e)
        s.flush()
        sites = [
            Site(
                code=f"O{i}",
                name=f"{i}#排口",
                kind="enterprise_outlet",
                region_code="620802",
                enterprise_id=e.id,
                outlet_medium="gas",
            )
            for i in range(1, 4)
        ]
        sites.append(
            Site(code="G1", name="地下水井一", kind="groundwater_point", region_code="620802")
        )
        # an automatic water station sampling every 4 hours, last sample 3 hours ago
        sites.append(
            Site(code="W1", name="断面一", kind="surface_water_section", region_code="620802")
        )
        s.add_all(sites)
        s.flush()
        seen = [now, now - timedelta(days=9), now, None, now - timedelta(hours=3)]
        devs: list[Device] = [
            Device(
                mn=f"MN{i:022d}",
                pw="123456",
                st="31",
                site_id=site.id,
                active=True,
                created_at=now - timedelta(days=30),
                last_seen_at=last,
            )
            for i, (site, last) in enumerate(zip(sites, seen, strict=True))
        ]
        s.add_all(devs)
        s.flush()
        dev_ids = [d.id for d in devs]
        # the silent outlet reported 9 days ago: its last report comes from the stored data
        s.add(
            Observation(
                device_id=devs[1].id,
                resolution=int(Resolution.HOUR),
                data_time=(cst - timedelta(days=9)).replace(minute=0, second=0, microsecond=0),
                code="a21026",
                value="10",
                flag="N",
                derived=False,
            )
        )

        sample = (cst - timedelta(hours=3)).replace(minute=0, second=0, microsecond=0)
        for k in range(8):
            s.add(
                Observation(
                    device_id=devs[4].id,
                    resolution=int(Resolution.HOUR),
                    data_time=sample - timedelta(hours=4 * k),
                    code="w01018",
                    value="12",
                    flag="N",
                    derived=False,
                )
            )

        def ep(site: Site, kind: str, status: str, pollutant: str = "") -> SourceEpisode:
            return SourceEpisode(
                site_id=site.id,
                enterprise_id=e.id,
                kind=kind,
                pollutant=pollutant,
                basis="小时均值" if pollutant else "",
                started_at=cst - timedelta(hours=3),
                last_at=cst - timedelta(hours=1),
                periods=3,
                peak_value="450",
                limit_value="300",
                unit="mg/m³",
                status=status,
                detected_at=now,
                updated_at=now,
            )

        s.add_all(
            [
                ep(sites[0], "exceedance", "open", "a21026"),
                ep(sites[2], "exceedance", "cleared", "a21026"),  # over: not exceeding now
                ep(sites[2], "offline", "open"),
                ep(sites[0], "constant", "open", "a21026"),  # a hint, not an alarm
            ]
        )
    with session_scope(engine) as s:
        ex = cockpit.exceeding_now(s)
        off = cockpit.offline_now(s, timedelta(minutes=30), now)
        last_obs = s.scalar(
            select(Observation.data_time).where(Observation.device_id == dev_ids[1])
        )
        gaps = cockpit.reporting_intervals(s, [dev_ids[1], dev_ids[4]], cst)
        silent_3h = cockpit.silent_devices(s, timedelta(minutes=30), now, [dev_ids[4]])
        silent_5h = cockpit.silent_devices(
            s, timedelta(minutes=30), now + timedelta(hours=2), [dev_ids[4]]
        )
    engine.dispose()
    assert [(x.enterprise, x.outlet, x.pollutant, x.peak, x.limit) for x in ex] == [
        ("丙钢铁有限公司", "O1", "a21026", "450", "300")
    ]
    by_code = {x.site_code: x for x in off}
    assert set(by_code) == {"O2", "O3", "G1"}  # O1 reports now; W1 reports at its interval
    assert gaps == {dev_ids[1]: timedelta(hours=1), dev_ids[4]: timedelta(hours=4)}
    assert silent_3h == set() and silent_5h == {dev_ids[4]}  # 4 h + 30 min allowed
    assert by_code["O3"].episode_id is not None and by_code["O3"].enterprise == "丙钢铁有限公司"
    assert by_code["O2"].last_report == last_obs  # silent 9 days: says when, not 从未上报
    assert by_code["G1"].last_report is None and by_code["G1"].kind == "groundwater_point"


def test_published_concentrations_round_half_even_exactly() -> None:
    out = cockpit.published_concentrations({"PM2_5": 34.5, "CO": 0.25, "SO2": 7.5, "NO2": None})
    assert out == {
        "PM2_5": "34",
        "PM10": None,
        "SO2": "8",
        "NO2": None,
        "O3": None,
        "CO": "0.2",
    }
