"""The demo loader writes the district's deployment data into the database (SQLite and
PostgreSQL): 崆峒区 as the deployment's own region, the county outlines, the plan target and a
demo permit per enterprise with its outlets' limits as exact text; the overview API then
serves them from there."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from importlib import resources

from sqlalchemy import Engine, select

from qingshan.clock import utcnow
from qingshan.demo import loader as dl
from qingshan.demo.district import load_district
from qingshan.roles import CLI
from qingshan.services import deployment, map_layers, permits
from qingshan.services.accounts import create_user
from qingshan.services.permits import Basis
from qingshan.settings import get_settings
from qingshan.storage.db import session_factory, session_scope
from qingshan.storage.models import Site
from qingshan.storage.models_registry import Permit, PermitLimit
from qingshan.web import create_app
from support.web_seed import PASSWORD
from web.conftest import login


def _expected_limits() -> int:
    d = load_district()
    return sum(
        len(o.category.limits) + (o.category.ph_range is not None and "w01001" in o.pollutants)
        for _e, o in d.outlets()
    )


def _snapshot(engine: Engine) -> tuple[object, ...]:
    with session_scope(engine) as s:
        return (
            deployment.own_region(s),
            deployment.data_notice(s),
            deployment.boundaries(s),
            deployment.targets(s, "620802", 2026),
            permits.limits_by_site(s, utcnow().date()),
            sorted(
                (p.number, p.management_class, p.valid_from, p.valid_to, p.note)
                for p in s.scalars(select(Permit))
            ),
            [(f["properties"], f["geometry"]) for f in map_layers.layers(s)["features"]],
        )


def test_loader_writes_region_outlines_target_and_permits(engine: Engine) -> None:
    d = load_district()
    dl.load_registry(engine, d)
    c = dl.counts(engine)
    assert (c["permits"], c["boundaries"], c["targets"]) == (24, 7, 1)
    assert c["permit_limits"] == _expected_limits()
    # the schematic reference layers, imported like any deployment's files
    assert c["map_features"] == 27
    with session_scope(engine) as s:
        assert map_layers.summary(s) == {"place": 21, "river": 2, "road": 4}
        places = map_layers.layers(s, ["place"])["features"]
    assert all(d.contains(*f["geometry"]["coordinates"]) for f in places)
    assert {f["properties"]["name"] for f in places} >= {"东关街道", "崆峒镇", "峡门乡"}
    raw = resources.files("qingshan.demo").joinpath("data/boundaries.geojson").read_text("utf-8")
    shipped = {f["properties"]["code"]: f["geometry"] for f in json.loads(raw)["features"]}
    with session_scope(engine) as s:
        own = deployment.own_region(s)
        assert own is not None and (own.code, own.name, own.recorded) == ("620802", "崆峒区", True)
        notice = deployment.data_notice(s)
        assert notice is not None and notice.startswith("【模拟数据】")
        fc = deployment.boundaries(s)
        assert fc["features"][0]["id"] == "620802" and fc["features"][0]["properties"]["own"]
        assert {f["id"]: f["geometry"] for f in fc["features"]} == shipped  # coordinates exact
        target = deployment.targets(s, "620802", 2026)["good_day_ratio"]
        assert (target.value, target.unit, target.comparison) == (Decimal("96.7"), "%", "at_least")
        assert "崆峒区“十四五”生态环境保护规划" in target.source
        permits_ = {p.number: p for p in s.scalars(select(Permit))}
        assert all(n.startswith("示例-620802-E") for n in permits_)
        assert all(p.note and "虚构" in p.note for p in permits_.values())
        today = utcnow().date()
        assert all(p.valid_from <= today <= (p.valid_to or date.max) for p in permits_.values())
        classes = {n[-7:-4]: p.management_class for n, p in permits_.items()}
        assert classes["E01"] == "重点管理"  # 国控 cement plant
        district_level = {e.id for e in d.enterprises if e.control_level == "区控"}
        assert {classes[k] for k in district_level} == {"简化管理"}
        sites = {code: sid for code, sid in s.execute(select(Site.code, Site.id))}
        limits = permits.limits_by_site(s, today)
        kiln = {x.pollutant: x for x in limits[sites["E01/DA001"]]}
        nox = kiln["a21002"]
        assert (nox.upper, nox.o2_ref, nox.basis, nox.unit) == (
            Decimal("400.0"),
            Decimal("10.0"),
            Basis.HOUR,
            "mg/m³",
        )
        assert nox.standard.startswith("GB 4915-2013") and nox.source_table
        assert any(o.medium == "water" for _e, o in d.outlets())
        for e, o in d.outlets():
            if o.medium != "water":
                continue
            lim = {x.pollutant: x for x in limits[sites[f"{e.id}/{o.code}"]]}
            assert lim["w01018"].basis == Basis.DAY and lim["w01018"].unit == "mg/L"
            assert lim["w01018"].o2_ref is None
            ph = lim["w01001"]
            assert (ph.lower, ph.upper, ph.unit) == (Decimal("6.0"), Decimal("9.0"), "无量纲")
        # the texts are the data file's digits, not a float's
        texts = set(s.scalars(select(PermitLimit.limit_value)))
        assert "50.0" in texts and "0.5" in texts
    before = _snapshot(engine)
    dl.load_registry(engine, d)  # a second run changes nothing
    assert dl.counts(engine) == c
    assert _snapshot(engine) == before


def test_overview_serves_the_loaded_demo_from_the_database(engine: Engine) -> None:
    dl.load_registry(engine, load_district())
    with session_scope(engine) as s:
        create_user(s, CLI, username="leader", password=PASSWORD, role="leader")
    app = create_app(
        get_settings(db_url=engine.url.render_as_string(False), web_cookie_secure=False),
        session_factory(engine),
    )
    c = login(app, "leader")
    body = c.get("/api/v1/cockpit").json()
    assert (body["region_code"], body["region_name"]) == ("620802", "崆峒区")
    assert body["air"]["target_ratio"] == 96.7
    assert body["outlets"]["total"] == 29
    fc = c.get("/api/v1/map/boundaries").json()
    assert len(fc["features"]) == 7 and fc["features"][0]["properties"]["name"] == "崆峒区"
    assert [f["properties"]["own"] for f in fc["features"]].count(True) == 1
    c.close()
