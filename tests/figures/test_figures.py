"""Figures on real databases (SQLite and PostgreSQL): equal to the standards engine on the same
data, incremental after new and corrected data, with provenance; the quality CLI."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sqlalchemy import Engine, select
from typer.testing import CliRunner

from conftest import migrated_sqlite_url, truncate_all
from qingshan.cli.main import app
from qingshan.demo import loader as demo_loader
from qingshan.demo.district import load_district
from qingshan.demo.synth import generate
from qingshan.services.figures import (
    FiguresError,
    air_quality,
    recompute_all,
    station_aqi_now,
    update_dirty,
    water_quality,
)
from qingshan.standards import drinking_water, water
from qingshan.standards.air.aqi import hourly_aqi, iaqi
from qingshan.standards.air.evaluation import HourlyData, city_hourly, evaluate
from qingshan.standards.air.tables import POLLUTANTS
from qingshan.storage import partitions
from qingshan.storage.db import make_engine, session_factory
from qingshan.storage.models import Device, Observation, Resolution, Site
from qingshan.storage.models_figures import AirDayFigure, AirHourFigure, FigureDirty

START = datetime(2026, 1, 20)
END = datetime(2026, 3, 2)  # exclusive: 41 days, the whole of February, HJ 633 switch 03-01
AIR_SITES = ("AQ01", "AQ02", "AQ03", "AQ04", "AQ05", "WZ01", "WZ02")
CODES = {
    "a21026": "SO2",
    "a21004": "NO2",
    "a21005": "CO",
    "a05024": "O3",
    "a34002": "PM10",
    "a34004": "PM2_5",
}
FEB = (date(2026, 2, 1), date(2026, 2, 28))


def _seed(url: str) -> None:
    engine = make_engine(url)
    d = load_district()
    ids = demo_loader.load_registry(engine, d)
    res = generate(d, START, END, kinds=("air", "micro", "section", "source", "noise"))
    keep = (
        set(AIR_SITES)
        | {s.id for s in d.sections}
        | {s.id for s in d.water_sources}
        | {s.id for s in d.noise_stations}
    )
    demo_loader.ingest_rows(engine, demo_loader.result_rows(res, ids, keep))
    recompute_all(session_factory(engine))
    engine.dispose()


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def seeded(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Engine]:
    if request.param == "sqlite":
        url = migrated_sqlite_url(tmp_path_factory.mktemp("fig") / "q.db")
    else:
        url = request.getfixturevalue("pg_module_url")
        e = make_engine(url)
        truncate_all(e)
        partitions.forget(e)
        e.dispose()
    _seed(url)
    engine = make_engine(url)
    yield engine
    engine.dispose()


# ------------------------------------------------------------------------------ engine side


def _station_hours(engine: Engine, code: str, first: date, last: date) -> HourlyData:
    """The station's valid hourly values read straight from the observation table."""
    o = Observation.__table__.c
    lo = datetime.combine(first, datetime.min.time())
    hi = datetime.combine(last + timedelta(days=1), datetime.min.time())
    with engine.connect() as conn:
        dev = conn.execute(
            select(Device.id).join(Site, Site.id == Device.site_id).where(Site.code == code)
        ).scalar_one()
        rows = conn.execute(
            select(o.data_time, o.code, o.value, o.flag).where(
                o.device_id == dev,
                o.resolution == int(Resolution.HOUR),
                o.data_time >= lo,
                o.data_time < hi,
                o.code.in_(list(CODES)),
            )
        ).all()
    n = (last - first).days + 1
    arrays = {p: np.full((n, 24), np.nan) for p in POLLUTANTS}
    for t, c, v, flag in rows:
        if v is not None and (flag or "N") == "N":
            arrays[CODES[c]][(t.date() - first).days, t.hour] = float(v)
    return HourlyData(first, arrays)


def _num(x: Decimal | None) -> float | None:
    return None if x is None else float(x)


# ------------------------------------------------------------------------------ air


def test_region_month_equals_engine(seeded: Engine) -> None:
    with session_factory(seeded)() as s:
        aq = air_quality(s, region_code="620802", start=FEB[0], end=FEB[1])
    assert aq.source == "stored"
    stations = [_station_hours(seeded, c, *FEB) for c in ("AQ01", "AQ02", "AQ03", "AQ04")]
    ev = evaluate(city_hourly(stations), "auto")
    assert aq.standard == ev.standard == "HJ663-2013"
    assert (aq.valid_days, aq.good_days, aq.heavy_days) == (
        ev.valid_days,
        ev.good_days,
        ev.heavy_pollution_days,
    )
    assert aq.valid_days > 20
    assert aq.good_day_ratio == _num(ev.good_day_ratio)
    assert aq.composite_index == _num(ev.composite_index)
    assert aq.primary_pollutants == ev.primary_pollutants
    for st in ev.statistics:
        got = next(x for x in aq.pollutants[st.pollutant].statistics if x.statistic == st.statistic)
        assert got.value == _num(st.value), (st.pollutant, st.statistic)
        assert got.attained == st.attained
    assert [d.aqi for d in aq.daily] == [d["aqi"] for d in ev.days]
    assert [d.category for d in aq.daily] == [d["category"] for d in ev.days]
    # Official evaluation: the four urban national stations only.
    assert aq.provenance["stations"] == ["AQ01", "AQ02", "AQ03", "AQ04"]
    assert aq.provenance["rules"]["HJ663"] == "HJ663-2013"
    d = aq.to_dict()
    for key in (
        "good_days",
        "valid_days",
        "good_day_ratio",
        "heavy_days",
        "composite_index",
        "primary_pollutants",
        "pollutants",
        "stations",
        "daily",
        "standard",
        "provenance",
    ):
        assert key in d


def test_station_figures_and_micro_kept_apart(seeded: Engine) -> None:
    with session_factory(seeded)() as s:
        aq = air_quality(s, region_code="620802", start=FEB[0], end=FEB[1], include_micro=True)
    by = {x.code: x for x in aq.stations}
    assert by["WZ01"].kind == "micro" and by["WZ01"].official is False
    assert by["AQ05"].kind == "background" and by["AQ05"].official is False
    assert by["AQ01"].official is True
    assert sorted(by["AQ0" + str(i)].rank or 0 for i in range(1, 5)) == [1, 2, 3, 4]
    for code in ("AQ01", "WZ01"):
        ev = evaluate(_station_hours(seeded, code, *FEB), "auto")
        assert by[code].good_days == ev.good_days
        assert by[code].valid_days == ev.valid_days
        assert by[code].composite_index == _num(ev.composite_index)
    assert aq.townships and all(t.rank for t in aq.townships)


def test_other_standard_on_request(seeded: Engine) -> None:
    with session_factory(seeded)() as s:
        aq = air_quality(s, region_code="620802", start=FEB[0], end=FEB[1], standard="HJ663-2026")
    assert aq.source == "computed" and aq.standard == "HJ663-2026"
    stations = [_station_hours(seeded, c, *FEB) for c in ("AQ01", "AQ02", "AQ03", "AQ04")]
    ev = evaluate(city_hourly(stations), "HJ663-2026")
    assert (aq.good_days, aq.valid_days) == (ev.good_days, ev.valid_days)
    assert aq.composite_index == _num(ev.composite_index)
    assert {d.aqi_standard for d in aq.daily} == {"HJ633-2026"}


def test_latest_hourly_aqi_equals_engine(seeded: Engine) -> None:
    with session_factory(seeded)() as s:
        now = {x.site_code: x for x in station_aqi_now(s, region_code="620802")}
        official = station_aqi_now(s, include_micro=False)
    assert "WZ01" in now and all(x.kind != "micro" for x in official)
    x = now["AQ01"]
    assert x.time is not None
    h = _station_hours(seeded, "AQ01", x.time.date(), x.time.date())
    v = {
        p: (None if np.isnan(h.values[p][0, x.time.hour]) else float(h.values[p][0, x.time.hour]))
        for p in POLLUTANTS
    }
    ref = hourly_aqi(
        "HJ633-2026",
        so2=v["SO2"],
        no2=v["NO2"],
        co=v["CO"],
        o3=v["O3"],
        pm10=v["PM10"],
        pm2_5=v["PM2_5"],
        missing="platform",
    )
    assert x.standard == "HJ633-2026"  # 2026-03-01 onwards
    assert (x.aqi, x.category) == (ref.aqi, ref.category)
    # O3 8-hour moving mean beside the AQI: the 8 hours ending with this one (≥ 6 valid).
    t = datetime(2026, 3, 1, 23)
    with session_factory(seeded)() as s:
        hf = AirHourFigure.__table__.c
        row = s.scalars(
            select(AirHourFigure).where(
                hf.scope == "site", hf.scope_code == "AQ01", hf.data_time == t
            )
        ).one()
    o3 = _station_hours(seeded, "AQ01", t.date(), t.date()).values["O3"][0, 16:24]
    assert (~np.isnan(o3)).sum() >= 6
    mean8 = float(np.nanmean(o3))
    assert json.loads(row.concentrations)["O3_8H"] == round(mean8, 1)
    assert json.loads(row.iaqi)["O3_8H"] == iaqi("O3_8H", mean8, "HJ633-2026")
    assert x.colour is not None and x.colour.startswith("#")


def test_township_on_request(seeded: Engine) -> None:
    """A township's figures are computed on request from its evaluation stations only."""
    with session_factory(seeded)() as s:
        aq = air_quality(
            s, region_code="620802002", start=FEB[0], end=FEB[1], include_micro=True
        )  # 中街街道: AQ01 and micro-stations
        with pytest.raises(FiguresError, match="no evaluation air station"):
            air_quality(s, region_code="620802102", start=FEB[0], end=FEB[1])
    assert aq.source == "computed" and aq.provenance["stations"] == ["AQ01"]
    ev = evaluate(_station_hours(seeded, "AQ01", *FEB), "auto")
    assert (aq.good_days, aq.valid_days) == (ev.good_days, ev.valid_days)


def test_errors_are_specific(seeded: Engine) -> None:
    with session_factory(seeded)() as s:
        with pytest.raises(FiguresError, match="unknown region '999999'"):
            air_quality(s, region_code="999999", start=FEB[0], end=FEB[1])
        with pytest.raises(FiguresError, match="before start"):
            air_quality(s, region_code="620802", start=FEB[1], end=FEB[0])
        with pytest.raises(FiguresError, match="YYYY-MM"):
            water_quality(s, region_code="620802", month="2026/02")


# ------------------------------------------------------------------------------ water, noise


def _samples(engine: Engine, code: str, mapping: dict[str, str]) -> list[dict[str, float]]:
    o = Observation.__table__.c
    with engine.connect() as conn:
        dev = conn.execute(
            select(Device.id).join(Site, Site.id == Device.site_id).where(Site.code == code)
        ).scalar_one()
        rows = conn.execute(
            select(o.data_time, o.code, o.value, o.flag).where(
                o.device_id == dev,
                o.resolution == int(Resolution.HOUR),
                o.data_time >= datetime(2026, 2, 1),
                o.data_time < datetime(2026, 3, 1),
                o.code.in_(list(mapping)),
            )
        ).all()
    by: dict[datetime, dict[str, float]] = {}
    for t, c, v, flag in rows:
        if v is not None and (flag or "N") == "N":
            by.setdefault(t, {})[mapping[c]] = float(v)
    return [by[t] for t in sorted(by)]


def test_water_month_equals_engine(seeded: Engine) -> None:
    with session_factory(seeded)() as s:
        wq = water_quality(s, region_code="620802", month="2026-02")
    assert wq.provenance["computed_sites"] == 0  # all stored
    sec = {x.code: x for x in wq.sections}
    assert set(sec) == {"WS01", "WS02", "WS03"}
    m = {
        "w01001": "ph",
        "w01009": "do",
        "w01019": "codmn",
        "w21003": "nh3n",
        "w21011": "tp",
        "w21001": "tn",
    }
    classes = []
    for code, x in sec.items():
        ref = water.section_assessment(_samples(seeded, code, m), target_class=water.WaterClass.III)
        assert x.class_number == int(ref.water_class or 0)
        assert x.meets_target == ref.meets_target
        assert [p.code for p in x.main_pollutants] == [p.code for p in ref.main_pollutants]
        assert x.samples == len(_samples(seeded, code, m))
        per = [water.classify_sample(v).water_class for v in _samples(seeded, code, m)]
        assert x.sample_classes == {c.roman: per.count(c) for c in set(per) if c is not None}
        classes.append(ref.water_class)
    shares = water.class_shares(classes)
    assert wq.share_i_iii == round(100 * (shares.share_good or 0), 1)
    srcs = {x.code: x for x in wq.drinking_sources}
    gmap = {"w01001": "ph", "w01019": "codmn", "w21003": "nh3n"}
    for code, x in srcs.items():
        if x.source_type == "groundwater":
            ref_c = drinking_water.groundwater_source_compliance(_samples(seeded, code, gmap))
        else:
            ref_c = drinking_water.surface_source_compliance(_samples(seeded, code, m))
        assert x.complies == ref_c.complies, code
    assert wq.drinking_compliance_rate is not None
    assert wq.noise.point_days == 5 * 28
    assert wq.noise.day_rate is not None and wq.noise.night_rate is not None
    assert {g.code for g in wq.groundwater} >= {"GW01"}


# ------------------------------------------------------------------------------ incremental


def _device(engine: Engine, code: str) -> int:
    with engine.connect() as conn:
        return int(
            conn.execute(
                select(Device.id).join(Site, Site.id == Device.site_id).where(Site.code == code)
            ).scalar_one()
        )


def _obs(dev: int, t: datetime, code: str, value: str, flag: str = "N") -> dict[str, Any]:
    return {
        "device_id": dev,
        "resolution": int(Resolution.HOUR),
        "data_time": t,
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


def test_late_correction_recomputes_and_explains(seeded: Engine) -> None:
    """Seven PM2.5 hours of AQ02 on 02-10 corrected to fault (D): the day loses its AQI,
    the figure says why, and the month figures of AQ02 and the region follow."""
    day = date(2026, 2, 10)
    dev = _device(seeded, "AQ02")
    h = _station_hours(seeded, "AQ02", day, day)
    rows = [
        _obs(dev, datetime(2026, 2, 10, k), "a34004", str(h.values["PM2_5"][0, k]), "D")
        for k in range(7)
    ]
    demo_loader.ingest_rows(seeded, rows)
    sf = session_factory(seeded)
    stats = update_dirty(sf)
    assert stats.marks == 1 and stats.air_days > 0
    with sf() as s:
        d = AirDayFigure.__table__.c
        fig = s.scalars(
            select(AirDayFigure).where(d.scope == "site", d.scope_code == "AQ02", d.day == day)
        ).one()
        assert fig.valid is False and fig.aqi is None
        assert "仅 17 个有效小时值" in (fig.reason or "")
        assert json.loads(fig.provenance)["valid_hours"]["PM2_5"] == 17
        aq = air_quality(s, region_code="620802", start=FEB[0], end=FEB[1], include_micro=True)
        assert s.scalars(select(FigureDirty)).first() is None
    ev = evaluate(_station_hours(seeded, "AQ02", *FEB), "auto")
    st = next(x for x in aq.stations if x.code == "AQ02")
    assert (st.valid_days, st.good_days) == (ev.valid_days, ev.good_days)
    stations = [_station_hours(seeded, c, *FEB) for c in ("AQ01", "AQ02", "AQ03", "AQ04")]
    ev_r = evaluate(city_hourly(stations), "auto")
    assert (aq.valid_days, aq.good_days) == (ev_r.valid_days, ev_r.good_days)
    assert aq.composite_index == _num(ev_r.composite_index)


def test_one_new_hour_updates_only_what_it_touches(seeded: Engine) -> None:
    t = datetime(2026, 3, 2, 0)  # the hour after the seeded data
    rows = []
    for code in AIR_SITES:
        dev = _device(seeded, code)
        rows += [
            _obs(dev, t, c, v)
            for c, v in (
                ("a21026", "9"),
                ("a21004", "30"),
                ("a21005", "0.8"),
                ("a05024", "60"),
                ("a34002", "120"),
                ("a34004", "80"),
            )
        ]
    demo_loader.ingest_rows(seeded, rows)
    sf = session_factory(seeded)
    with sf() as s:
        d = AirDayFigure.__table__.c
        before = {
            (r.scope_code, r.day): r.computed_at
            for r in s.scalars(select(AirDayFigure).where(d.day < date(2026, 3, 2)))
        }
    stats = update_dirty(sf)
    assert stats.marks == len(AIR_SITES)
    # one day of each site and of the region chain (county, city, province)
    assert stats.air_days == len(AIR_SITES) + 3
    assert stats.air_hours == len(AIR_SITES) + 3
    with sf() as s:
        now = {x.site_code: x for x in station_aqi_now(s)}
        after = {
            (r.scope_code, r.day): r.computed_at
            for r in s.scalars(select(AirDayFigure).where(d.day < date(2026, 3, 2)))
        }
        new_day = s.scalars(
            select(AirDayFigure).where(
                d.scope == "region", d.scope_code == "620802", d.day == date(2026, 3, 2)
            )
        ).one()
    assert after == before  # earlier days untouched
    assert now["AQ01"].time == t
    ref = hourly_aqi(
        "HJ633-2026", so2=9, no2=30, co=0.8, o3=60, pm10=120, pm2_5=80, missing="platform"
    )
    assert now["AQ01"].aqi == ref.aqi and now["AQ01"].primary_pollutants == ["PM2_5"]
    assert new_day.valid is False and "仅 1 个有效小时值" in (new_day.reason or "")


# ------------------------------------------------------------------------------ CLI


def test_quality_cli(seeded: Engine) -> None:
    url = seeded.url.render_as_string(hide_password=False)
    r = CliRunner().invoke(
        app,
        [
            "quality",
            "air",
            "--region",
            "620802",
            "--from",
            "2026-02-01",
            "--to",
            "2026-02-28",
            "--json",
            "--db",
            url,
        ],
    )
    assert r.exit_code == 0, r.output
    d = json.loads(r.stdout)
    assert d["region"] == {"code": "620802", "name": "崆峒区"}
    assert d["valid_days"] >= d["good_days"] > 0
    assert d["good_day_ratio"] == round(100 * d["good_days"] / d["valid_days"], 1)
    r = CliRunner().invoke(
        app, ["quality", "water", "--region", "620802", "--month", "2026-02", "--json", "--db", url]
    )
    assert r.exit_code == 0, r.output
    w = json.loads(r.stdout)
    assert {
        "sections",
        "share_i_iii",
        "share_worse_than_v",
        "drinking_sources",
        "drinking_compliance_rate",
    } <= set(w)
    r = CliRunner().invoke(
        app,
        [
            "quality",
            "air",
            "--region",
            "12",
            "--from",
            "2026-02-01",
            "--to",
            "2026-02-28",
            "--db",
            url,
        ],
    )
    assert r.exit_code == 2 and "unknown region '12'" in r.stderr
    r = CliRunner().invoke(
        app,
        [
            "quality",
            "air",
            "--region",
            "620802",
            "--from",
            "2026-2-1",
            "--to",
            "2026-02-28",
            "--db",
            url,
        ],
    )
    assert r.exit_code == 2 and "YYYY-MM-DD" in r.stderr
    r = CliRunner().invoke(
        app,
        [
            "quality",
            "air",
            "--region",
            "620802",
            "--from",
            "2026-02-01",
            "--to",
            "2026-02-28",
            "--db",
            url,
        ],
    )
    assert r.exit_code == 0 and "优良天数比率" in r.stdout


def test_recompute_cli_is_idempotent(seeded: Engine, tmp_path: Path) -> None:
    url = seeded.url.render_as_string(hide_password=False)
    with session_factory(seeded)() as s:
        a = air_quality(s, region_code="620802", start=FEB[0], end=FEB[1]).to_dict()
    r = CliRunner().invoke(
        app, ["quality", "recompute", "--from", "2026-02-01", "--to", "2026-02-28", "--db", url]
    )
    assert r.exit_code == 0, r.output
    stats = json.loads(r.stdout)
    assert stats["air_periods"] > 0 and stats["water_months"] > 0
    with session_factory(seeded)() as s:
        b = air_quality(s, region_code="620802", start=FEB[0], end=FEB[1]).to_dict()
    assert a == b


def test_no_write_lock_held_while_computing(
    seeded: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SQLite has one writer: the gateway's commits must never wait for figure computation."""
    if seeded.dialect.name != "sqlite":
        pytest.skip("SQLite's single writer lock; PostgreSQL writers do not exclude each other")
    import sqlite3

    from qingshan.services.figures import air as fig_air
    from qingshan.services.figures import water as fig_water

    path = seeded.url.database
    assert path
    probes: list[str] = []

    def probed(name: str, fn: Any) -> Any:
        def wrapper(*args: Any, **kw: Any) -> Any:
            # Another writer with no busy timeout: "database is locked" if figures hold it.
            other = sqlite3.connect(path, timeout=0, isolation_level=None)
            try:
                other.execute("BEGIN IMMEDIATE")
                other.execute("ROLLBACK")
            finally:
                other.close()
            probes.append(name)
            return fn(*args, **kw)

        return wrapper

    for mod, name in (
        (fig_air, "day_rows"),
        (fig_air, "hour_rows"),
        (fig_air, "period_rows"),
        (fig_water, "month_row"),
        (fig_water, "sample_rows"),
    ):
        monkeypatch.setattr(mod, name, probed(name, getattr(mod, name)))
    with session_factory(seeded)() as s:
        before = air_quality(s, region_code="620802", start=FEB[0], end=FEB[1]).to_dict()
    stats = recompute_all(session_factory(seeded), start=FEB[0], end=FEB[1])
    assert stats.air_days > 0 and stats.water_months > 0
    assert {"day_rows", "hour_rows", "period_rows", "month_row", "sample_rows"} <= set(probes)
    with session_factory(seeded)() as s:
        assert air_quality(s, region_code="620802", start=FEB[0], end=FEB[1]).to_dict() == before


# ------------------------------------------------------------------------------ reports


def test_monthly_report_docx_xlsx(seeded: Engine, tmp_path: Path) -> None:
    import docx
    import openpyxl

    from qingshan.services.reports import monthly_report, to_docx, to_xlsx, write_report

    with session_factory(seeded)() as s:
        rep = monthly_report(s, year=2026, month=2)
        again = monthly_report(s, year=2026, month=2)
        aq = air_quality(s, region_code="620802", start=FEB[0], end=FEB[1])
    assert rep.notice is not None and "模拟数据" in rep.notice
    assert "HJ663-2013" in rep.standards and "GB3838-2002" in rep.standards
    data = to_docx(rep)
    assert data == to_docx(again)  # reproducible, byte for byte
    path = write_report(rep, tmp_path / "m.docx")
    doc = docx.Document(str(path))
    text = "\n".join(p.text for p in doc.paragraphs)
    assert "崆峒区环境质量月报" in text and "崆峒区生态环境局" in text and "模拟数据" in text
    assert f"优良天数 {aq.good_days} 天" in text and f"优良天数比率 {aq.good_day_ratio}%" in text
    assert rep.provenance["fingerprint"] in text
    headers = [[c.text for c in t.rows[0].cells] for t in doc.tables]
    assert [
        "断面名称",
        "目标类别",
        "本期类别",
        "水质状况",
        "是否达标",
        "主要污染指标",
        "样品数",
    ] in headers
    sec = next(t for t in doc.tables if t.rows[0].cells[0].text == "断面名称")
    assert {r.cells[0].text for r in sec.rows[1:]} == {"泾河八里桥", "泾河平镇桥", "王村大桥"}
    pol = next(t for t in doc.tables if t.rows[0].cells[0].text == "污染物")
    pm25 = next(r for r in pol.rows if r.cells[0].text.startswith("细颗粒物"))
    assert pm25.cells[3].text == str(
        next(x.value for x in aq.pollutants["PM2_5"].statistics if x.statistic == "mean")
    )
    assert len(doc.inline_shapes) >= 3  # charts embedded
    xl = tmp_path / "m.xlsx"
    xl.write_bytes(to_xlsx(rep))
    wb = openpyxl.load_workbook(xl)
    assert {"说明", "污染物统计", "AQI日历", "地表水断面", "饮用水水源地", "声环境", "图表"} <= set(
        wb.sheetnames
    )
    ws = wb["地表水断面"]
    assert ws["A2"].value == "断面名称" and ws.max_row >= 5
    assert isinstance(wb["污染物统计"]["D3"].value, int | float)


def test_annual_report_and_errors(seeded: Engine, tmp_path: Path) -> None:
    import docx

    url = seeded.url.render_as_string(hide_password=False)
    out = tmp_path / "y.docx"
    r = CliRunner().invoke(
        app, ["report", "annual", "--year", "2026", "--out", str(out), "--db", url]
    )
    assert r.exit_code == 0, r.output
    doc = docx.Document(str(out))
    months = next(t for t in doc.tables if t.rows[0].cells[0].text == "月份")
    assert len(months.rows) == 13
    # No stored figures for 2025-02: a clear message, no file, exit 2.
    r = CliRunner().invoke(
        app,
        ["report", "monthly", "--month", "2025-02", "--out", str(tmp_path / "x.docx"), "--db", url],
    )
    assert r.exit_code == 2 and "no stored air figures" in r.stderr
    assert not (tmp_path / "x.docx").exists()
    r = CliRunner().invoke(
        app,
        ["report", "monthly", "--month", "2026-02", "--out", str(tmp_path / "x.odt"), "--db", url],
    )
    assert r.exit_code == 2 and ".docx, .xlsx or .pdf" in r.stderr


def test_missing_cjk_font_is_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    from qingshan.services.reports import charts

    charts.cjk_font.cache_clear()
    monkeypatch.setenv("QINGSHAN_CJK_FONT", "/nonexistent/font.ttc")
    try:
        with pytest.raises(charts.FontMissingError, match="not a font file"):
            charts.cjk_font()
    finally:
        charts.cjk_font.cache_clear()
