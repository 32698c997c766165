"""One station's data never stops the district's figures (issue 18: a 400-digit number made
every figures run fail, kept the other stations' dirty marks stuck, and made station series
and the anonymous /public/air answer 422). SQLite and the real PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from qingshan.demo import loader as demo_loader
from qingshan.demo.district import load_district
from qingshan.services.figures import recompute_all, update_dirty
from qingshan.settings import get_settings
from qingshan.storage.db import session_factory, session_scope
from qingshan.storage.models import Device, DeviceEvent, Observation, Resolution, Site
from qingshan.storage.models_figures import (
    AirDayFigure,
    FigureDirty,
    NoiseDayFigure,
    WaterMonthFigure,
)
from qingshan.storage.partitions import ensure_months, month_of
from support.web_seed import PASSWORD, seed

AIR = {"SO2": "a21026", "NO2": "a21004", "CO": "a21005", "O3": "a05024", "PM10": "a34002"}
DAY = date(2026, 11, 2)


def obs(dev: int, t: datetime, code: str, value: str) -> dict[str, Any]:
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


def device_of(engine: Engine, site: str) -> int:
    with engine.connect() as conn:
        return int(
            conn.execute(
                select(Device.id).join(Site, Site.id == Device.site_id).where(Site.code == site)
            ).scalar_one()
        )


def air_day(dev: int, co: str) -> list[dict[str, Any]]:
    rows = []
    for h in range(24):
        t = datetime.combine(DAY, datetime.min.time()) + timedelta(hours=h)
        for p, code in AIR.items():
            rows.append(obs(dev, t, code, co if p == "CO" else {"O3": "60"}.get(p, "10")))
        rows.append(obs(dev, t, "a34004", "20"))
    return rows


def district(engine: Engine) -> dict[str, int]:
    """AQ01 good, AQ02 with CO in µg/m³ (refused by the evaluation), NS01 with a level no
    sound has, WS01 good."""
    demo_loader.load_registry(engine, load_district())
    ensure_months(engine, {month_of(datetime.combine(DAY, datetime.min.time()))})
    devs = {s: device_of(engine, s) for s in ("AQ01", "AQ02", "NS01", "WS01")}
    rows = air_day(devs["AQ01"], "1.0") + air_day(devs["AQ02"], "800")
    start = datetime.combine(DAY, datetime.min.time())
    rows += [
        obs(devs["NS01"], start + timedelta(hours=h), "LAeq", "9" * 14 if h == 8 else "50.0")
        for h in range(6, 22)
    ]
    rows += [obs(devs["WS01"], start + timedelta(hours=8), "w21011", "0.1")]
    demo_loader.ingest_rows(engine, rows)
    return devs


def count(engine: Engine, model: type, *where: Any) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(model).where(*where)).scalar())


def failed_events(engine: Engine) -> list[tuple[str, str]]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(DeviceEvent.mn, DeviceEvent.detail).where(DeviceEvent.kind == "figures_failed")
        )
        return [(m or "", d or "") for m, d in rows]


def test_update_dirty_isolates_a_refused_station(engine: Engine) -> None:
    devs = district(engine)
    sf = session_factory(engine)
    stats = update_dirty(sf)
    failed = {(f["site"], f["what"]) for f in stats.failed}
    assert ("AQ02", "air 2026-11") in failed and ("NS01", f"noise {DAY}") in failed
    assert all(f["site"] in ("AQ02", "NS01") for f in stats.failed)
    assert any("CO" in f["reason"] for f in stats.failed if f["site"] == "AQ02")
    # The others' figures are there, the refused station's own are not.
    d = AirDayFigure.__table__.c
    assert count(engine, AirDayFigure, d.scope_code == "AQ01", d.day == DAY) == 1
    assert count(engine, AirDayFigure, d.scope_code == "AQ02") == 0
    assert count(engine, AirDayFigure, d.scope == "region", d.day == DAY) >= 1
    assert count(engine, WaterMonthFigure) >= 1
    n = NoiseDayFigure.__table__.c
    assert count(engine, NoiseDayFigure, n.day == DAY) == 0
    # No mark stays stuck; operators see why, on the devices of the refused stations.
    assert count(engine, FigureDirty) == 0
    events = failed_events(engine)
    with engine.connect() as conn:
        mns = dict(conn.execute(select(Device.id, Device.mn)).all())
    assert {m for m, _ in events} == {mns[devs["AQ02"]], mns[devs["NS01"]]}
    assert any("AQ02" in x and "未计算" in x and "CO" in x for _, x in events)
    # The job runs every few minutes: the same failure is not recorded again.
    demo_loader.ingest_rows(engine, air_day(devs["AQ02"], "800") + air_day(devs["AQ01"], "1.1"))
    again = update_dirty(sf)
    assert [f["site"] for f in again.failed] == ["AQ02", "AQ02"]  # month and year
    assert len(failed_events(engine)) == len(events)
    assert count(engine, FigureDirty) == 0
    # Corrected data: the station's figures come back.
    demo_loader.ingest_rows(engine, air_day(devs["AQ02"], "0.8"))
    assert update_dirty(sf).failed == []
    assert count(engine, AirDayFigure, d.scope_code == "AQ02", d.day == DAY) == 1


def test_recompute_all_isolates_a_refused_station(engine: Engine) -> None:
    district(engine)
    stats = recompute_all(session_factory(engine), start=DAY, end=DAY)
    assert {f["site"] for f in stats.failed} == {"AQ02", "NS01"}
    d = AirDayFigure.__table__.c
    assert count(engine, AirDayFigure, d.scope_code == "AQ01", d.day == DAY) == 1
    assert count(engine, WaterMonthFigure) >= 1


# ------------------------------------------------------------------------------ web


def test_series_and_public_air_keep_answering(db_url: str, engine: Engine) -> None:
    """A national station with CO in µg/m³ and a micro-station with a value beyond any float
    (stored before values were bounded): /public/air (anonymous) and the station's series
    answer 200, not 422."""
    from qingshan.web import create_app

    now = datetime.now(UTC).replace(tzinfo=None) + timedelta(hours=8)
    ensure_months(engine, {month_of(now - timedelta(days=d)) for d in range(4)})
    with session_scope(engine) as s:
        ids = seed(s)
    with engine.connect() as conn:
        micro, national = (
            int(conn.execute(select(Device.id).where(Device.site_id == ids[k])).scalar_one())
            for k in ("site_micro", "site_air")
        )
    hour = now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=2)
    # CO in µg/m³ at the national station: its year-to-date figures (computed on request for
    # /public/air) made the whole answer 422 on the code before issue 18.
    demo_loader.ingest_rows(
        engine,
        [obs(national, hour, "a21005", "800"), obs(micro, hour, "a21026", "9" * 400)],
    )
    update_dirty(session_factory(engine))
    app = create_app(get_settings(db_url=db_url, web_cookie_secure=False), session_factory(engine))
    anon = TestClient(app)
    r = anon.get("/api/v1/public/air")
    assert r.status_code == 200, r.text
    c = TestClient(app)
    r = c.post("/api/v1/auth/login", json={"username": "admin", "password": PASSWORD})
    assert r.status_code == 200, r.text
    start = (hour - timedelta(hours=1)).isoformat()
    end = (hour + timedelta(hours=1)).isoformat()
    r = c.get(f"/api/v1/sites/{ids['site_micro']}/series", params={"start": start, "end": end})
    assert r.status_code == 200, r.text
    so2 = next(x for x in r.json()["series"] if x["code"] == "a21026")
    assert None in so2["values"]  # beyond a float: no number for the chart, not a failure
    with engine.connect() as conn:
        assert (
            conn.execute(
                select(Observation.value).where(
                    Observation.code == "a21026",
                    Observation.device_id == micro,
                    Observation.data_time == hour,
                )
            ).scalar()
            == "9" * 400
        )
