"""The overview API serves the deployment's own data from the database, never the demo's:
another county's name, outline and target; nothing where nothing is recorded; outlet
exceedances from the permit limits in the database, exact at the limit. SQLite and
PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from qingshan.clock import to_cst, utcnow
from qingshan.roles import CLI
from qingshan.services import deployment, permits
from qingshan.services.accounts import create_user
from qingshan.services.permits import Basis, LimitSpec
from qingshan.settings import get_settings
from qingshan.storage.db import make_engine, session_factory, session_scope
from qingshan.storage.models import Device, Enterprise, Observation, Region, Resolution, Site
from qingshan.storage.partitions import ensure_months, month_of
from qingshan.web import create_app
from qingshan.web import figures_bridge as fb
from support.web_seed import PASSWORD
from web.conftest import login

OUTLINE = {  # roughly around 嘉峪关市, WGS-84
    "type": "Polygon",
    "coordinates": [[[97.9, 39.6], [98.6, 39.6], [98.6, 40.1], [97.9, 40.1], [97.9, 39.6]]],
}
TARGET_SOURCE = "测试用目标（非真实规划文本）：优良天数比率 88.8%"
DEMO_MARKS = ("崆峒", "620802", "96.7", "平凉")
PAGES = (
    "/api/v1/cockpit",
    "/api/v1/map/boundaries",
    "/api/v1/map/boundaries?datum=gcj02",
    "/api/v1/map/sites",
    "/api/v1/public/air",
    "/api/v1/public/water",
)


@pytest.fixture
def make_client(db_url: str) -> Iterator[Any]:
    engine = make_engine(db_url)
    clients: list[TestClient] = []

    def make(seed: Any) -> TestClient:
        with session_scope(engine) as s:
            seed(s)
            create_user(s, CLI, username="leader", password=PASSWORD, role="leader")
        settings = get_settings(db_url=db_url, web_cookie_secure=False)
        c = login(create_app(settings, session_factory(engine)), "leader")
        clients.append(c)
        return c

    yield make
    for c in clients:
        c.close()
    engine.dispose()


def _jiayuguan(s: Session, *, recorded: bool = True) -> None:
    s.add(Region(code="620000", name="甘肃省", level="province"))
    s.flush()
    s.add(Region(code="620200", name="嘉峪关市", level="city", parent_code="620000"))
    s.flush()
    site = Site(
        code="JYG-A01",
        name="嘉峪关测试站",
        kind="air_station",
        region_code="620200",
        longitude=98.29,
        latitude=39.77,
        control_level="国控",
    )
    s.add(site)
    s.flush()
    now = utcnow()
    mn = "620200010001AAAAAAAAAAAA"
    s.add(Device(mn=mn, pw="123456", st="22", site_id=site.id, created_at=now, last_seen_at=now))
    if recorded:
        deployment.set_own_region(s, "620200")


def test_another_county_serves_its_own_district_and_none_of_the_demo(make_client: Any) -> None:
    def seed(s: Session) -> None:
        _jiayuguan(s)
        deployment.set_boundary(s, "620200", OUTLINE, source="测试轮廓")
        deployment.set_target(
            s, "620200", "good_day_ratio", "88.8", "%", year_from=2021, source=TARGET_SOURCE
        )

    c = make_client(seed)
    body = c.get("/api/v1/cockpit").json()
    assert (body["region_code"], body["region_name"]) == ("620200", "嘉峪关市")
    assert body["air"]["target_ratio"] == 88.8 and body["air"]["target_source"] == TARGET_SOURCE
    assert body["air"]["meets_target"] is None  # no figures yet: no verdict
    assert any(TARGET_SOURCE in n for n in body["notes"])
    fc = c.get("/api/v1/map/boundaries").json()
    assert [f["id"] for f in fc["features"]] == ["620200"]
    assert fc["features"][0]["properties"] == {
        "code": "620200",
        "name": "嘉峪关市",
        "level": "city",
        "own": True,
    }
    assert fc["features"][0]["geometry"] == OUTLINE
    shifted = c.get("/api/v1/map/boundaries", params={"datum": "gcj02"}).json()
    lon0 = shifted["features"][0]["geometry"]["coordinates"][0][0][0]
    assert shifted["datum"] == "gcj02" and 0 < abs(lon0 - 97.9) < 0.01  # tens to hundreds of m
    sites = c.get("/api/v1/map/sites").json()["features"]
    assert [f["properties"]["code"] for f in sites] == ["JYG-A01"]
    for page in PAGES:
        r = c.get(page)
        assert r.status_code == 200, page
        for mark in DEMO_MARKS:
            assert mark not in r.text, (page, mark)


def test_nothing_recorded_shows_nothing_and_does_not_fail(make_client: Any) -> None:
    c = make_client(lambda s: _jiayuguan(s, recorded=False))
    body = c.get("/api/v1/cockpit").json()
    # a city without counties and no deployment row: no region to summarise
    assert body["region_code"] is None and body["region_name"] is None
    assert body["air"]["target_ratio"] is None and body["air"]["meets_target"] is None
    assert body["air"]["target_source"] is None and not any("目标：" in n for n in body["notes"])
    assert body["district_now"] == [] and body["year"] is None and body["yesterday"] is None
    assert body["water"]["sections"] == []  # (stations: every station, none region-wide)
    assert c.get("/api/v1/map/boundaries").json()["features"] == []
    assert len(c.get("/api/v1/map/sites").json()["features"]) == 1
    for page in PAGES:
        r = c.get(page)
        assert r.status_code == 200, page
        assert not any(mark in r.text for mark in DEMO_MARKS), page


def test_an_empty_database_answers_every_overview_page(make_client: Any) -> None:
    c = make_client(lambda s: None)
    for page in PAGES:
        assert c.get(page).status_code == 200, page
    body = c.get("/api/v1/cockpit").json()
    assert body["region_code"] is None and body["outlets"]["total"] == 0


# --------------------------------------------------------------------------- exceedance

GAS = dict(unit="mg/m³", basis=Basis.HOUR, standard="GB 13271-2014", source_table="表2")
WATER = dict(unit="mg/L", basis=Basis.DAY, standard="GB 18918-2002", source_table="表1 一级A")
# outlet code → (medium, limits, latest hour rows, latest day rows, exceeding?)
CASES: dict[str, tuple[str, list[dict[str, Any]], dict[str, Any], dict[str, str], bool]] = {
    # 折算: 28.0 at 9.8 % O₂, reference 9 %: exactly 30 = the limit (an earlier hour was high)
    "G1": ("gas", [dict(pollutant="a34013", limit="30", o2_ref="9", **GAS)],
           {"a34013": "28.0", "a19001": "9.8"}, {}, False),
    "G2": ("gas", [dict(pollutant="a34013", limit="30", o2_ref="9", **GAS)],
           {"a34013": "28.001", "a19001": "9.8"}, {}, True),
    "G3": ("gas", [dict(pollutant="a21026", limit="200", **GAS)], {"a21026": "200.000"}, {}, False),
    "G4": ("gas", [dict(pollutant="a21026", limit="200", **GAS)], {"a21026": "200.0001"}, {}, True),
    # the device's converted value (ZsAvg) is what is judged when it sends one
    "G5": ("gas", [dict(pollutant="a21002", limit="300", o2_ref="3.5", **GAS)],
           {"a21002": ("400", "300.00", "N")}, {}, False),
    # calibration (flag C) is not data that can exceed
    "G6": ("gas", [dict(pollutant="a21026", limit="200", **GAS)],
           {"a21026": ("999", None, "C")}, {}, False),
    # a daily limit is judged on the daily value, not on a high hour
    "W1": ("water", [dict(pollutant="w01018", limit="50", **WATER)], {"w01018": "80"},
           {"w01018": "50"}, False),
    "W2": ("water", [dict(pollutant="w01018", limit="50", **WATER)], {}, {"w01018": "50.01"}, True),
    "W3": ("water", [dict(pollutant="w01001", limit="9", lower="6", unit="无量纲", basis=Basis.DAY,
                          standard="GB 18918-2002")], {}, {"w01001": "5.99"}, True),
    "W4": ("water", [dict(pollutant="w01001", limit="9", lower="6", unit="无量纲", basis=Basis.DAY,
                          standard="GB 18918-2002")], {}, {"w01001": "6.0"}, False),
}  # fmt: skip


def _row(device_id: int, res: Resolution, t: datetime, code: str, v: Any) -> Observation:
    value, zs, flag = v if isinstance(v, tuple) else (v, None, "N")
    return Observation(
        device_id=device_id,
        resolution=int(res),
        data_time=t,
        code=code,
        value=value,
        zs=zs,
        flag=flag,
        derived=res == Resolution.DAY,
    )


def _outlets(s: Session, *, expired: bool = False) -> None:
    now = utcnow()
    hour = to_cst(now).replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)
    day = hour.replace(hour=0) - timedelta(days=1)
    today = hour.date()
    ent = Enterprise(name="测试企业", region_code="620200")
    s.add(ent)
    s.flush()
    specs = []
    for i, (code, (medium, limits, hourly, daily, _exceeding)) in enumerate(CASES.items()):
        site = Site(
            code=code,
            name=f"排放口{code}",
            kind="enterprise_outlet",
            region_code="620200",
            longitude=98.2 + i / 100,
            latitude=39.8,
            enterprise_id=ent.id,
            outlet_medium=medium,
        )
        s.add(site)
        s.flush()
        dev = Device(
            mn=f"620200111{i:03d}AAAAAAAAAAAA",
            pw="123456",
            st="31" if medium == "gas" else "32",
            site_id=site.id,
            created_at=now,
            last_seen_at=now,
        )
        s.add(dev)
        s.flush()
        rows = [_row(dev.id, Resolution.HOUR, hour, k, v) for k, v in hourly.items()]
        rows += [_row(dev.id, Resolution.DAY, day, k, v) for k, v in daily.items()]
        if code == "G1":  # only the latest hour counts
            rows.append(_row(dev.id, Resolution.HOUR, hour - timedelta(hours=1), "a34013", "99"))
        s.add_all(rows)
        specs += [LimitSpec(site_id=site.id, **lim) for lim in limits]
    start = today - timedelta(days=3 * 365 if expired else 30)
    p = permits.save_permit(
        s,
        enterprise_id=ent.id,
        number="91620200000000009X001P",
        management_class="重点管理",
        valid_from=start,
        valid_to=(today - timedelta(days=1)) if expired else date(today.year + 4, 12, 31),
    )
    permits.replace_limits(s, p, specs)


@pytest.mark.parametrize("expired", [False, True], ids=["in-force", "expired"])
def test_outlet_exceedance_from_database_limits_exact_at_the_limit(
    make_client: Any, db_url: str, expired: bool
) -> None:
    hour = to_cst(utcnow()).replace(minute=0, second=0, microsecond=0)
    engine = make_engine(db_url)
    ensure_months(engine, {month_of(hour - timedelta(days=d)) for d in range(3)})
    engine.dispose()

    def seed(s: Session) -> None:
        _jiayuguan(s)
        _outlets(s, expired=expired)

    c = make_client(seed)
    want = set() if expired else {code for code, case in CASES.items() if case[4]}
    features = c.get("/api/v1/map/sites").json()["features"]
    feats = {f["properties"]["code"]: f["properties"] for f in features}
    got = {code for code, p in feats.items() if p.get("status") == "exceeding"}
    assert got == want
    assert all(feats[code]["status"] == "online" for code in set(CASES) - want)
    assert feats.get("G2", {}).get("exceeding") == ([] if expired else ["a34013"])
    outlets = c.get("/api/v1/cockpit").json()["outlets"]
    n = len(CASES)
    assert outlets == {"total": n, "online": n, "offline": 0, "exceeding": len(want)}
    engine = make_engine(db_url)
    with session_scope(engine) as s:
        states = fb.outlet_states(s, timedelta(minutes=30), utcnow())
    engine.dispose()
    assert sum(1 for x in states.values() if x.exceeding) == len(want)
