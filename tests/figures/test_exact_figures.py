"""Stored value → published figure, exactly, on SQLite and PostgreSQL: decimal text read
exactly (bad text refused, counted, never a float), ties rounded once, no verdict without
GB 3095 表4 completeness, 超标天数, GB 3096 nights, and ingestion refusing NaN / inf / text."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import Engine, select
from typer.testing import CliRunner

from qingshan.cli.main import app
from qingshan.demo import loader as demo_loader
from qingshan.demo.district import load_district
from qingshan.protocol.hj212 import ProtocolError, parse_packet
from qingshan.services.figures import air_quality, recompute_all, update_dirty, water_quality
from qingshan.services.ingest import Accepted, Ingestor
from qingshan.simulator.client import data_packet, make_qn
from qingshan.standards.noise import energy_mean
from qingshan.storage.db import session_factory
from qingshan.storage.models import Device, Observation, Resolution, Site
from qingshan.storage.models_figures import AirDayFigure, AirPeriodFigure, NoiseDayFigure

AIR = {"SO2": "a21026", "NO2": "a21004", "CO": "a21005", "O3": "a05024", "PM10": "a34002"}
PM25 = "a34004"


def _obs(dev: int, t: datetime, code: str, value: str) -> dict[str, Any]:
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
        "flag": "N",
        "derived": False,
        "samples": None,
    }


def _device(engine: Engine, site: str) -> int:
    with engine.connect() as conn:
        return int(
            conn.execute(
                select(Device.id).join(Site, Site.id == Device.site_id).where(Site.code == site)
            ).scalar_one()
        )


def _registry(engine: Engine) -> None:
    demo_loader.load_registry(engine, load_district())


def _air_rows(dev: int, first: date, n_days: int, co: list[str], pm25: list[str]) -> list[Any]:
    """n days of hourly data (hours labelled by their start) of one air station."""
    rows = []
    for i in range(n_days):
        for h in range(24):
            t = datetime.combine(first + timedelta(days=i), datetime.min.time()) + timedelta(
                hours=h
            )
            for p, code in AIR.items():
                value = co[h] if p == "CO" else {"O3": "60"}.get(p, "10")
                rows.append(_obs(dev, t, code, value))
            rows.append(_obs(dev, t, PM25, pm25[h]))
    return rows


def test_air_ties_and_an_incomplete_month(engine: Engine) -> None:
    """Three days of February at one station: CO 12 × 3.7 and 12 × 4.4 each day (mean 4.05 →
    4.0, IAQI 100: good days), PM2.5 12 × 75 and 12 × 76 (75.5 → 76 > 75: exceedance days);
    the month has 3 valid days of 25 needed, so it gets no verdict, only the reason."""
    _registry(engine)
    dev = _device(engine, "AQ01")
    co = ["3.7"] * 12 + ["4.4"] * 12
    pm = ["75"] * 12 + ["76"] * 12
    demo_loader.ingest_rows(engine, _air_rows(dev, date(2026, 2, 1), 3, co, pm))
    recompute_all(session_factory(engine), start=date(2026, 2, 1), end=date(2026, 2, 28))
    sf = session_factory(engine)
    with sf() as s:
        d = s.scalars(
            select(AirDayFigure).where(
                AirDayFigure.scope_code == "AQ01", AirDayFigure.day == date(2026, 2, 1)
            )
        ).one()
        assert (d.co, d.pm2_5) == (4.0, 76)  # rounded once from the exact means
        aq = air_quality(s, region_code="620802", start=date(2026, 2, 1), end=date(2026, 2, 28))
        period = s.scalars(
            select(AirPeriodFigure).where(
                AirPeriodFigure.scope_code == "620802", AirPeriodFigure.period == "2026-02"
            )
        ).one()
    assert period.attained is None
    assert aq.attained is None and aq.complete is False
    assert aq.verdict_reason is not None and "有效日数据 3 天，少于 25 天" in aq.verdict_reason
    assert aq.exceedance_days["PM2_5"].exceedance_days == 3
    assert aq.exceedance_days["CO"].exceedance_days == 0  # 4.0 = the limit
    assert aq.exceedance_days["PM2_5"].compliance_rate == 0.0
    pm_stats = aq.pollutants["PM2_5"].statistics
    assert all(x.attained is None for x in pm_stats) and pm_stats[0].value == 76
    assert json.loads(period.provenance)["verdict_reason"] == aq.verdict_reason
    # The CLI shows the reason where the verdict would be, and the JSON carries it.
    url = engine.url.render_as_string(hide_password=False)
    args = ["quality", "air", "--region", "620802", "--from", "2026-02-01", "--to", "2026-02-28"]
    r = CliRunner().invoke(app, [*args, "--db", url])
    assert r.exit_code == 0, r.output
    assert "数据不足" in r.stdout and "超标天数" in r.stdout
    r = CliRunner().invoke(app, [*args, "--json", "--db", url])
    out = json.loads(r.stdout)
    assert out["attained"] is None and out["verdict_reason"] == aq.verdict_reason
    assert out["exceedance_days"]["PM2_5"]["exceedance_days"] == 3
    # The monthly report shows 数据不足 and the reason instead of a verdict.
    from qingshan.services.reports import monthly_report

    with sf() as s:
        rep = monthly_report(s, year=2026, month=2)
    paragraphs = [b.text for b in rep.blocks if b.kind == "p"]
    assert any("不作达标评价" in p and "有效日数据 3 天" in p for p in paragraphs)
    pollutants = next(t for t in rep.tables() if t.header[0] == "污染物")
    pm25 = next(r for r in pollutants.rows if r[0].startswith("细颗粒物"))
    col = pollutants.header.index  # 环比 stands beside 同比 when last month is stored
    assert pm25[col("达标情况")] == "数据不足"
    assert [pm25[col("超标天数")], pm25[col("日达标率%")]] == ["3", "0.0"]


def test_stored_text_that_is_not_an_exact_decimal_is_refused(engine: Engine) -> None:
    _registry(engine)
    dev = _device(engine, "AQ01")
    rows = _air_rows(dev, date(2026, 2, 1), 1, ["1.0"] * 24, ["30"] * 24)
    t = datetime(2026, 2, 1, 5)
    bad = {"NaN", "Infinity", "1e999", "12.3456789012345678", "abc"}
    for i, text in enumerate(sorted(bad)):  # one bad PM2.5 hour each: 19 valid hours left
        rows = [
            r for r in rows if not (r["code"] == PM25 and r["data_time"] == t + timedelta(hours=i))
        ]
        rows.append(_obs(dev, t + timedelta(hours=i), PM25, text))
    demo_loader.ingest_rows(engine, rows)
    recompute_all(session_factory(engine), start=date(2026, 2, 1), end=date(2026, 2, 28))
    with session_factory(engine)() as s:
        day = s.scalars(
            select(AirDayFigure).where(
                AirDayFigure.scope_code == "AQ01", AirDayFigure.day == date(2026, 2, 1)
            )
        ).one()
        period = s.scalars(
            select(AirPeriodFigure).where(
                AirPeriodFigure.scope_code == "AQ01", AirPeriodFigure.period == "2026-02"
            )
        ).one()
    assert day.pm2_5 is None and day.reason is not None and "19" in day.reason
    assert json.loads(period.provenance)["rejected_values"] == len(bad)


def test_water_means_are_exact(engine: Engine) -> None:
    """TP 0.1, 0.2, 0.3 mg/L at a section and at a surface drinking-water source: the monthly
    mean is exactly 0.2 → Class Ⅲ (the engine used to say Ⅳ) and the source complies."""
    _registry(engine)
    rows = []
    for site in ("WS01", "DW05"):  # a river section and a surface source
        dev = _device(engine, site)
        for i, tp in enumerate(("0.1", "0.2", "0.3", "NaN")):
            rows.append(_obs(dev, datetime(2026, 2, 3 + i, 8), "w21011", tp))
    demo_loader.ingest_rows(engine, rows)
    recompute_all(session_factory(engine), start=date(2026, 2, 1), end=date(2026, 2, 28))
    with session_factory(engine)() as s:
        wq = water_quality(s, region_code="620802", month="2026-02")
    sec = next(x for x in wq.sections if x.code == "WS01")
    assert sec.water_class == "Ⅲ" and sec.means == {"tp": 0.2} and sec.samples == 3
    src = next(x for x in wq.drinking_sources if x.code == "DW05")
    assert src.complies is True and src.means == {"tp": 0.2}
    assert wq.to_dict()["sections"][0]["class"] == "Ⅲ"  # JSON key "class"


def test_noise_night_of_day_d_runs_to_six_next_morning(engine: Engine) -> None:
    _registry(engine)
    dev = _device(engine, "NS01")  # zone 1: 55 / 45 dB(A)
    d = date(2026, 2, 10)
    start = datetime.combine(d, datetime.min.time())
    rows = [_obs(dev, start + timedelta(hours=h), "LAeq", "50.0") for h in range(6, 22)]
    night = {22: "44.0", 23: "44.0", 24: "46.0", 25: "46.0", 26: "44.0", 27: "44.0", 28: "44.0"}
    rows += [_obs(dev, start + timedelta(hours=h), "LAeq", v) for h, v in night.items()]
    demo_loader.ingest_rows(engine, rows)
    sf = session_factory(engine)
    recompute_all(sf, start=date(2026, 2, 1), end=date(2026, 2, 28))

    def noise_days() -> dict[date, NoiseDayFigure]:
        with sf() as s:
            return {r.day: r for r in s.scalars(select(NoiseDayFigure))}

    got = noise_days()
    assert set(got) == {d}  # the hours after midnight belong to the night of the 10th
    levels = [Decimal(v) for v in night.values()]
    ln = energy_mean(levels)  # 44.7 dB(A): 10·lg((5 × 10^4.4 + 2 × 10^4.6) / 7)
    assert got[d].ln == float(ln) == 44.7 and got[d].ld == 50.0
    assert got[d].night_ok is True and got[d].day_ok is True
    prov = json.loads(got[d].provenance)
    assert prov["night_hours"] == 7 and prov["night"] == "2026-02-10 22:00 – 2026-02-11 06:00"
    # A late value at 05:00 on the 11th recomputes the night of the 10th.
    demo_loader.ingest_rows(engine, [_obs(dev, start + timedelta(hours=29), "LAeq", "30.0")])
    update_dirty(sf)
    after = noise_days()[d]
    levels.append(Decimal("30.0"))
    assert after.ln == float(energy_mean(levels))
    assert json.loads(after.provenance)["night_hours"] == 8


def test_ingest_refuses_values_that_are_not_finite_decimals(engine: Engine) -> None:
    """HJ 212 values NaN, inf and text: the strict parser refuses them; the lenient one lets
    them through as quirks and ingestion rejects the packet (reason bad_value) — nothing is
    stored, so no figure ever sees them."""
    district = load_district()
    demo_loader.load_registry(engine, district)
    device = next(dev for lab, dev in district.devices() if lab == "AQ01")  # ST 22
    ing = Ingestor(engine)
    when = datetime(2026, 2, 1, 8)
    for i, text in enumerate(("NaN", "inf", "Infinity", "abc")):
        raw = data_packet(
            mn=device.mn,
            pw=device.password,
            st="22",
            cn="2061",
            when=when,
            reply=True,
            qn=make_qn(when, i),
            values={"a34004": {"Avg": text, "Flag": "N"}},
        )
        with pytest.raises(ProtocolError) as err:
            parse_packet(raw)
        assert err.value.reason == "bad_value"
        outs = ing.write([Accepted(parse_packet(raw, lenient=True), raw, peer="test", parts=())])
        assert outs[0].status == "rejected" and outs[0].reason == "bad_value", text
    with engine.connect() as conn:
        assert conn.execute(select(Observation.value)).first() is None
