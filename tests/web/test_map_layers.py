"""一张图's reference layers and colours, on SQLite and PostgreSQL: the GeoJSON checks, the
``qingshan map import`` command (replace / append, clear errors), the cached layer API (ETag,
304, a new import seen at once, GCJ-02), 天地图 vec_w + cva_w through the tile proxy against a
local fake WMTS server (the key never reaches the browser), and the markers' two channels
(fill = value, outline = online) with drinking-water sources and groundwater points coloured
by their latest stored month."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from qingshan.cli.main import app as cli_app
from qingshan.geo import wgs84_to_gcj02
from qingshan.services import map_layers
from qingshan.services.map_layers import MapLayerError
from qingshan.settings import get_settings
from qingshan.storage.db import make_engine, session_factory, session_scope
from qingshan.storage.models import Site
from qingshan.storage.models_figures import WaterMonthFigure
from qingshan.storage.models_sources import SourceEpisode
from qingshan.web import create_app
from web.conftest import login
from web.test_secrets import (
    _Tiles,
    tile_server,  # noqa: F401  (the local tile server fixture)
)

RIVER = [[106.52, 35.53], [106.66, 35.545], [106.715, 35.542], [106.88, 35.49]]
ROAD = [[106.50, 35.56], [106.70, 35.55], [106.90, 35.50]]


def _fc(*features: dict[str, Any]) -> dict[str, Any]:
    return {"type": "FeatureCollection", "features": list(features)}


def _f(geom_type: str, coords: Any, **props: Any) -> dict[str, Any]:
    return {
        "type": "Feature",
        "properties": props,
        "geometry": {"type": geom_type, "coordinates": coords},
    }


# --------------------------------------------------------------------------- checks (pure)


@pytest.mark.parametrize(
    ("data", "kind", "says"),
    [
        (_fc(_f("Point", [35.54, 106.68], name="城区")), "place", "不在中国范围内"),
        (_fc(_f("Point", [12_000_000.0, 4_200_000.0], name="x")), "place", "不在中国范围内"),
        (_fc(_f("Point", [106.68, 35.54])), "place", "地名要素须有名称"),
        (_fc(_f("Point", [106.68, 35.54], name="x")), "road", "LineString/MultiLineString"),
        (_fc(_f("LineString", [[106.5, 35.5]], name="泾河")), "river", "至少有 2 个坐标点"),
        (_fc(_f("LineString", [[106.5, 35.5], [106.6, "x"]])), "river", "不是有限数值"),
        (
            _fc(_f("Polygon", [[[106.5, 35.5], [106.6, 35.5], [106.6, 35.6]]], name="水库")),
            "river",
            "at least 4 positions",
        ),
        (_fc(_f("LineString", RIVER, name="泾河", rank="一级")), "river", "不是整数"),
        (_fc(), "river", "没有要素"),
        ({"type": "Topology"}, "river", "不是 GeoJSON FeatureCollection"),
        (
            {**_fc(_f("LineString", RIVER)), "crs": {"properties": {"name": "EPSG:3857"}}},
            "river",
            "EPSG:3857",
        ),
        (_fc(_f("LineString", RIVER)), "lake", "未知的图层类型"),
    ],
)
def test_a_wrong_file_is_refused_naming_the_feature(data: Any, kind: str, says: str) -> None:
    with pytest.raises(MapLayerError, match=says):
        map_layers.parse_features(data, kind)


def test_rivers_take_lines_and_water_areas_and_a_named_field() -> None:
    lake = [[[106.55, 35.55], [106.56, 35.55], [106.56, 35.56], [106.55, 35.55]]]
    got = map_layers.parse_features(
        _fc(
            _f("MultiLineString", [RIVER, ROAD], NAME="泾河", grade=3),
            _f("Polygon", lake, NAME="崆峒水库"),
        ),
        "river",
        name_field="NAME",
        rank_field="grade",
    )
    assert [(f.name, f.rank, f.geometry["type"]) for f in got] == [
        ("泾河", 3, "MultiLineString"),
        ("崆峒水库", None, "Polygon"),
    ]
    with pytest.raises(MapLayerError, match="文件不是有效的 JSON（第1行"):
        map_layers.load_file_text("{not json")


# --------------------------------------------------------------------------- CLI + API


def _write(tmp: Path, name: str, data: dict[str, Any]) -> str:
    path = tmp / name
    path.write_text(json.dumps(data, ensure_ascii=False), "utf-8")
    return str(path)


@pytest.fixture(scope="module")
def layered(
    web_db: tuple[str, dict[str, int]], tmp_path_factory: pytest.TempPathFactory
) -> tuple[str, Path]:
    """The seeded district with a river, a road and two place names imported by the CLI."""
    url, _ = web_db
    tmp = tmp_path_factory.mktemp("layers")
    runner = CliRunner()
    files = {
        "river": _write(tmp, "rivers.geojson", _fc(_f("LineString", RIVER, name="泾河", rank=3))),
        "road": _write(tmp, "roads.geojson", _fc(_f("LineString", ROAD, name="G312 国道"))),
        "place": _write(
            tmp,
            "places.geojson",
            _fc(
                _f("Point", [106.668, 35.545], 名称="中街街道", rank=3),
                _f("Point", [106.565, 35.53], 名称="崆峒镇"),
            ),
        ),
    }
    for kind, path in files.items():
        args = ["map", "import", path, "--kind", kind, "--db", url]
        if kind == "place":
            args += ["--name-field", "名称"]
        r = runner.invoke(cli_app, args)
        assert r.exit_code == 0, r.output
    return url, tmp


def test_cli_replaces_by_default_appends_on_request_and_refuses_clearly(
    layered: tuple[str, Path],
) -> None:
    url, tmp = layered
    runner = CliRunner()
    road = _write(tmp, "road2.geojson", _fc(_f("LineString", ROAD[:2], name="县道")))
    r = runner.invoke(cli_app, ["map", "import", road, "--kind", "road", "--append", "--db", url])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout.splitlines()[0]) == {
        "kind": "road",
        "added": 1,
        "removed": 0,
        "total": 2,
    }
    r = runner.invoke(cli_app, ["map", "import", road, "--kind", "road", "--db", url])
    assert json.loads(r.stdout.splitlines()[0])["removed"] == 2  # replaced: no duplicates
    # swapped axes: refused whole, nothing written, the message names the feature
    bad = _write(tmp, "bad.geojson", _fc(_f("Point", [35.5, 106.6], name="颠倒")))
    r = runner.invoke(cli_app, ["map", "import", bad, "--kind", "place", "--db", url])
    assert r.exit_code == 2
    assert "第1个要素（颠倒）" in r.output and "不在中国范围内" in r.output
    r = runner.invoke(cli_app, ["map", "import", str(tmp / "missing.geojson"), "--kind", "road"])
    assert r.exit_code == 2 and "无法读取图层文件" in r.output
    r = runner.invoke(cli_app, ["map", "list", "--json", "--db", url])
    counts = {x["kind"]: x["features"] for x in json.loads(r.stdout)}
    assert counts == {"river": 1, "road": 1, "place": 2}
    # restore the module's road (the API tests below expect G312)
    roads = _write(tmp, "roads3.geojson", _fc(_f("LineString", ROAD, name="G312 国道")))
    r = runner.invoke(cli_app, ["map", "import", roads, "--kind", "road", "--db", url])
    assert r.exit_code == 0, r.output


def test_layers_api_is_cached_with_an_etag_and_sees_a_new_import(
    app: Any, layered: tuple[str, Path]
) -> None:
    url, _ = layered
    assert TestClient(app).get("/api/v1/map/layers").status_code == 401
    c = login(app, "grid")
    r = c.get("/api/v1/map/layers")
    assert r.status_code == 200, r.text
    feats = r.json()["features"]
    assert [(f["properties"]["kind"], f["properties"]["name"]) for f in feats] == [
        ("river", "泾河"),
        ("road", "G312 国道"),
        ("place", "中街街道"),  # rank 3 first
        ("place", "崆峒镇"),
    ]
    assert feats[0]["geometry"] == {"type": "LineString", "coordinates": RIVER}
    assert feats[0]["properties"]["kind_label"] == "河流"
    etag = r.headers["etag"]
    assert c.get("/api/v1/map/layers", headers={"If-None-Match": etag}).status_code == 304
    shifted = c.get("/api/v1/map/layers", params={"datum": "gcj02"}).json()["features"]
    lon, lat = wgs84_to_gcj02(*RIVER[0])
    assert shifted[0]["geometry"]["coordinates"][0] == [round(lon, 6), round(lat, 6)]
    engine = make_engine(url)
    with session_scope(engine) as s:
        from qingshan.roles import CLI

        extra = map_layers.parse_features(_fc(_f("Point", [106.9, 35.41], name="香莲乡")), "place")
        map_layers.import_features(s, CLI, extra, "place", append=True)
    engine.dispose()
    r2 = c.get("/api/v1/map/layers", headers={"If-None-Match": etag})
    assert r2.status_code == 200 and r2.headers["etag"] != etag  # seen at once, not after a TTL
    assert "香莲乡" in [f["properties"]["name"] for f in r2.json()["features"]]


def test_tianditu_vector_and_labels_through_the_proxy(
    web_db: tuple[str, dict[str, int]],
    tile_server: str,  # noqa: F811  (the imported fixture)
) -> None:
    engine = make_engine(web_db[0])
    key = "tdt-k3y-0f-the-county"
    settings = get_settings(
        db_url=web_db[0],
        web_cookie_secure=False,
        map_tianditu_key=key,
        map_tianditu_url=tile_server + "/{s}",
        map_tile_url="https://elsewhere.example/{z}/{x}/{y}.png",  # 天地图 wins when set
    )
    assert key not in repr(settings)
    app = create_app(settings, session_factory(engine))
    cfg = TestClient(app).get("/api/v1/map/config")
    assert key not in cfg.text
    assert cfg.json() == {
        "tile_url": "api/v1/map/tianditu/vec/{z}/{x}/{y}",
        "label_url": "api/v1/map/tianditu/cva/{z}/{x}/{y}",
        "tile_datum": "wgs84",
        "tile_source": "天地图",
    }
    assert TestClient(app).get("/api/v1/map/tianditu/vec/3/1/2").status_code == 401
    c = login(app, "grid")
    for layer in ("vec", "cva"):
        r = c.get(f"/api/v1/map/tianditu/{layer}/3/6/2")
        assert r.status_code == 200 and r.headers["content-type"] == "image/png"
        assert key not in r.text
        u = urlsplit(_Tiles.seen[-1])
        q = {k: v[0] for k, v in parse_qs(u.query).items()}
        assert u.path == f"/t0/{layer}_w/wmts"  # subdomain spread: (6 + 2) % 8 = t0
        assert q == {
            "SERVICE": "WMTS",
            "REQUEST": "GetTile",
            "VERSION": "1.0.0",
            "LAYER": layer,
            "STYLE": "default",
            "TILEMATRIXSET": "w",
            "FORMAT": "tiles",
            "TILEMATRIX": "3",
            "TILEROW": "2",
            "TILECOL": "6",
            "tk": key,
        }
    assert c.get("/api/v1/map/tianditu/img/3/1/2").status_code == 422  # only vec and cva
    assert c.get("/api/v1/map/tianditu/vec/0/0/0").status_code == 422  # 天地图 starts at 1
    assert c.get("/api/v1/map/tianditu/vec/2/4/0").status_code == 404
    plain = create_app(
        get_settings(db_url=web_db[0], web_cookie_secure=False), session_factory(engine)
    )
    assert login(plain, "grid").get("/api/v1/map/tianditu/vec/3/1/2").status_code == 404
    engine.dispose()


def test_markers_carry_value_fill_and_online_outline(
    app: Any, web_db: tuple[str, dict[str, int]]
) -> None:
    url, ids = web_db
    engine = make_engine(url)
    now = datetime(2026, 1, 1)
    with session_scope(engine) as s:
        src = Site(
            code="DW01",
            name="景家庄水源地",
            kind="drinking_water_source",
            region_code="620802",
            longitude=106.625,
            latitude=35.533,
            source_type="surface",
        )
        ground = Site(
            code="GW01",
            name="水桥沟",
            kind="groundwater_point",
            region_code="620802",
            longitude=106.675,
            latitude=35.575,
        )
        fresh = Site(
            code="GW02",
            name="米家湾",
            kind="groundwater_point",
            region_code="620802",
            longitude=106.59,
            latitude=35.545,
        )
        s.add_all([src, ground, fresh])
        s.flush()
        # the supervision board's episode of the silent outlet still holds (services/sources)
        out2 = s.get(Site, ids["site_out2"])
        assert out2 is not None and out2.enterprise_id is not None
        s.add(
            SourceEpisode(
                site_id=out2.id,
                enterprise_id=out2.enterprise_id,
                kind="exceedance",
                pollutant="w01018",
                basis="日均值",
                started_at=now,
                last_at=now,
                periods=1,
                status="open",
                detected_at=now,
                updated_at=now,
            )
        )

        def fig(site: Site, month: str, cls: int, ok: bool | None) -> WaterMonthFigure:
            return WaterMonthFigure(
                site_id=site.id,
                month=month,
                kind=site.kind,
                water_class=cls,
                target_class=3,
                meets_target=ok,
                result="{}",
                provenance="{}",
                computed_at=now,
            )

        # the latest month decides: the source was Ⅴ in September, Ⅱ in October
        s.add_all(
            [
                fig(src, "2025-09", 5, False),
                fig(src, "2025-10", 2, True),
                fig(ground, "2025-06", 4, None),
            ]
        )
    engine.dispose()
    c = login(app, "staff")
    feats = {
        f["properties"]["code"]: f["properties"]
        for f in c.get("/api/v1/map/sites?kinds=drinking_water_source,groundwater_point").json()[
            "features"
        ]
    }
    assert feats["DW01"]["status_label"] == "Ⅱ类 达标（2025-10）"
    assert feats["DW01"]["colour"] == "#3A8EE6" and feats["DW01"]["alert"] is False
    assert feats["DW01"]["online"] is None  # no online device: a dotted outline
    assert feats["GW01"]["status_label"] == "Ⅳ类（GB/T 14848，2025-06）"
    assert feats["GW01"]["colour"] == "#FFFF00" and feats["GW01"]["alert"] is True
    assert feats["GW02"]["status"] == "nodata" and feats["GW02"]["colour"] == "#BBBBBB"
    every = {
        f["properties"]["code"]: f["properties"]
        for f in c.get("/api/v1/map/sites").json()["features"]
    }
    # an outlet over its permit limit: red fill and the alert ring; online on its own channel
    assert every["E1-DA001"]["colour"] == "#E60012" and every["E1-DA001"]["alert"] is True
    assert every["E1-DA001"]["online"] is True
    assert every["E1-DA001"]["status_label"] == "超标（超标：二氧化硫）"
    # silent: grey and offline, yet its holding episode keeps the ring and names the pollutant
    out2 = every["E2-DW001"]
    assert out2["online"] is False and out2["colour"] == "#999999"
    assert out2["exceeding"] == ["w01018"] and out2["alert"] is True
    assert out2["status_label"] == "离线（超标：化学需氧量）"
    # an air station's AQI colour is never the online colour
    assert every["A01"]["status"] == "aqi" and every["A01"]["online"] is True
    assert every["A01"]["colour"] != "#1E88E5"
    # the enterprise layer's 正常 is blue, never the green of AQI 优
    ents = c.get("/api/v1/sources/map").json()["features"]
    assert {f["properties"]["colour"] for f in ents} <= {"#E60012", "#999999", "#1E88E5"}
