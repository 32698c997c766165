"""Done when: a new county, 嘉峪关市 (620200, not in the demo), is set up from the command line
and, separately, from a filled-in template; it then serves (the FastAPI app) and shows only its
own boundary, sites and enterprises on the map and the cockpit. SQLite and PostgreSQL."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from openpyxl import load_workbook
from reghelpers import OUTLINE, STEEL
from sqlalchemy import func, select
from typer.testing import CliRunner

from qingshan.cli.main import app as cli
from qingshan.roles import CLI
from qingshan.services.accounts import create_user
from qingshan.settings import get_settings
from qingshan.storage.db import make_engine, session_factory, session_scope
from qingshan.storage.models import Enterprise, Region, Site
from qingshan.storage.models_web import AuditEntry
from qingshan.web import create_app
from support.web_seed import PASSWORD
from web.conftest import login

runner = CliRunner()
DEMO_MARKS = ("崆峒", "620802", "96.7", "平凉", "模拟数据")
SITES = {"JYG-A01", "JYG-W01", "JYG-E01/DA001"}


def q(*args: str) -> Any:
    r = runner.invoke(cli, list(args))
    assert r.exit_code == 0, (args, r.output)
    return r


def refused(*args: str, message: str) -> None:
    r = runner.invoke(cli, list(args))
    assert r.exit_code == 2, (args, r.output)
    assert message in r.output, (args, r.output)


def _serves_only_jiayuguan(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        with session_scope(engine) as s:
            create_user(s, CLI, username="leader", password=PASSWORD, role="leader")
        settings = get_settings(db_url=db_url, web_cookie_secure=False)
        c: TestClient = login(create_app(settings, session_factory(engine)), "leader")
        body = c.get("/api/v1/cockpit").json()
        assert (body["region_code"], body["region_name"]) == ("620200", "嘉峪关市")
        assert body["air"]["target_ratio"] == 85.0
        fc = c.get("/api/v1/map/boundaries").json()
        assert [f["id"] for f in fc["features"]] == ["620200"]
        assert fc["features"][0]["properties"]["own"] is True
        assert fc["features"][0]["geometry"] == OUTLINE
        features = c.get("/api/v1/map/sites").json()["features"]
        assert {f["properties"]["code"] for f in features} == SITES
        outlet = next(f for f in features if f["properties"]["code"] == "JYG-E01/DA001")
        assert "嘉峪关某钢铁有限公司" in json.dumps(outlet, ensure_ascii=False)
        assert outlet["geometry"]["coordinates"] == [98.301, 39.801]
        for page in ("/api/v1/cockpit", "/api/v1/map/boundaries", "/api/v1/map/sites"):
            text = c.get(page).text
            for mark in DEMO_MARKS:
                assert mark not in text, (page, mark)
        c.close()
        with session_scope(engine) as s:
            assert set(s.scalars(select(Enterprise.credit_code))) == {STEEL}
    finally:
        engine.dispose()


def test_a_new_county_from_the_command_line(db_url: str, tmp_path: Path) -> None:
    outline = tmp_path / "jiayuguan.geojson"
    outline.write_text(
        json.dumps({"type": "Feature", "properties": {}, "geometry": OUTLINE}), "utf-8"
    )
    db = ("--db", db_url)
    q("region", "add", "--code", "620000", "--name", "甘肃省", *db)
    q(
        "region",
        "add",
        "--code",
        "620200",
        "--name",
        "嘉峪关市",
        "--parent",
        "620000",
        "--boundary",
        str(outline),
        "--source",
        "测试轮廓",
        *db,
    )
    q("region", "add", "--code", "620201100", "--name", "新城镇", "--parent", "620200", *db)
    q("deployment", "set", "--region", "620200", *db)
    q(
        "unit",
        "add",
        "--code",
        "JYG-SHJJ",
        "--name",
        "嘉峪关市生态环境局",
        "--kind",
        "department",
        "--region",
        "620200",
        *db,
    )
    q(
        "enterprise",
        "add",
        "--name",
        "嘉峪关某钢铁有限公司",
        "--credit-code",
        STEEL,
        "--region",
        "620200",
        "--industry",
        "炼钢",
        "--industry-code",
        "C3120",
        "--control-level",
        "国控",
        "--permit-class",
        "重点管理",
        "--key-discharger",
        "--lon",
        "98.3",
        "--lat",
        "39.8",
        *db,
    )
    q(
        "site",
        "add",
        "--code",
        "JYG-A01",
        "--name",
        "嘉峪关市监测站",
        "--kind",
        "air_station",
        "--region",
        "620200",
        "--lon",
        "98.29",
        "--lat",
        "39.77",
        "--control-level",
        "国控",
        *db,
    )
    q(
        "site",
        "add",
        "--code",
        "JYG-W01",
        "--name",
        "讨赖河断面",
        "--kind",
        "surface_water_section",
        "--region",
        "620201100",
        "--lon",
        "98.25",
        "--lat",
        "39.75",
        "--water-body",
        "river",
        "--water-body-name",
        "讨赖河",
        "--target-class",
        "II",
        *db,
    )
    q(
        "site",
        "add",
        "--code",
        "JYG-E01/DA001",
        "--name",
        "烧结机头排放口",
        "--kind",
        "enterprise_outlet",
        "--region",
        "620200",
        "--lon",
        "98.301",
        "--lat",
        "39.801",
        "--enterprise",
        STEEL,
        "--medium",
        "gas",
        *db,
    )
    q(
        "device",
        "add",
        "--mn",
        "620200110001AAAAAAAAAAAA",
        "--pw",
        "123456",
        "--st",
        "31",
        "--site",
        "JYG-E01/DA001",
        *db,
    )
    # bad input: exit 2, a clear message, nothing written
    refused(
        "region",
        "add",
        "--code",
        "620281",
        "--name",
        "X",
        "--parent",
        "629900",
        *db,
        message="上级区划 629900 不存在",
    )
    refused(
        "site",
        "add",
        "--code",
        "JYG-A01",
        "--name",
        "重复",
        "--kind",
        "air_station",
        "--region",
        "620200",
        "--lon",
        "98.2",
        "--lat",
        "39.7",
        *db,
        message="已存在",
    )
    refused(
        "site",
        "add",
        "--code",
        "JYG-X",
        "--name",
        "境外",
        "--kind",
        "air_station",
        "--region",
        "620200",
        "--lon",
        "8.2",
        "--lat",
        "39.7",
        *db,
        message="不在中国境内",
    )
    refused(
        "site",
        "add",
        "--code",
        "JYG-X",
        "--name",
        "错类",
        "--kind",
        "air_station",
        "--region",
        "620200",
        "--lon",
        "98.2",
        "--lat",
        "39.7",
        "--noise-zone",
        "2",
        *db,
        message="声环境功能区只适用于",
    )
    refused(
        "enterprise",
        "add",
        "--name",
        "错码",
        "--credit-code",
        STEEL[:-1] + "Y" if STEEL[-1] != "Y" else STEEL[:-1] + "X",
        "--region",
        "620200",
        *db,
        message="校验码错误",
    )
    refused("deployment", "set", "--region", "620299", *db, message="不存在")
    listed = json.loads(q("site", "list", "--json", *db).stdout)
    assert {x["code"] for x in listed} == SITES
    assert json.loads(q("enterprise", "list", "--json", *db).stdout)[0]["credit_code"] == STEEL
    assert [u["code"] for u in json.loads(q("unit", "list", "--json", *db).stdout)] == ["JYG-SHJJ"]
    assert "嘉峪关市" in q("region", "list", *db).stdout
    # the plan target through the workbook (the command line has no target command)
    exported = tmp_path / "export.xlsx"
    q("registry", "export", str(exported), *db)
    wb = load_workbook(exported)
    wb["考核目标"].append(
        ["620200", "good_day_ratio", 2021, None, "85.0", "%", "不低于", "测试目标"]
    )
    wb.save(exported)
    q("registry", "import", str(exported), *db)
    _serves_only_jiayuguan(db_url)
    engine = make_engine(db_url)
    with session_scope(engine) as s:
        assert (
            s.scalar(
                select(func.count()).select_from(AuditEntry).where(AuditEntry.entity == "site")
            )
            == 3
        )
    engine.dispose()


def _fill(template: bytes) -> bytes:
    wb = load_workbook(io.BytesIO(template))
    rows: dict[str, list[list[Any]]] = {
        "行政区划": [
            ["620000", "甘肃省", None, None],
            ["620200", "嘉峪关市", "地级", "620000"],
            ["620201100", "新城镇", None, "620200"],
        ],
        "区划边界": [["620200", 1, json.dumps(OUTLINE), "测试轮廓"]],
        "本级区划": [["620200", None]],
        "责任单位": [["JYG-SHJJ", "嘉峪关市生态环境局", "部门", "620200", None, None, None]],
        "企业": [
            [
                STEEL,
                "嘉峪关某钢铁有限公司",
                "620200",
                "C3120",
                "炼钢",
                "国控",
                "重点管理",
                "是",
                98.3,
                39.8,
                None,
                None,
                None,
                None,
            ]
        ],
        "点位": [
            ["JYG-A01", "嘉峪关市监测站", "环境空气质量监测站", "620200", 98.29, 39.77, "国控"],
            [
                "JYG-W01",
                "讨赖河断面",
                "地表水监测断面",
                "620201100",
                98.25,
                39.75,
                None,
                "河流",
                "讨赖河",
                "Ⅱ",
            ],
            [
                "JYG-E01/DA001",
                "烧结机头排放口",
                "排放口",
                "620200",
                98.301,
                39.801,
                None,
                None,
                None,
                None,
                None,
                None,
                None,
                STEEL,
                "废气",
            ],
        ],
        "设备": [
            [
                "620200110001AAAAAAAAAAAA",
                "123456",
                "31",
                "2017",
                "gbk",
                "JYG-E01/DA001",
                None,
                None,
                None,
                "a21026,a21002,a34013",
                "在用",
            ]
        ],
        "考核目标": [["620200", "good_day_ratio", 2021, None, "85.0", "%", "不低于", "测试目标"]],
    }
    for name, data in rows.items():
        for r in data:
            wb[name].append(r)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def test_a_new_county_from_a_filled_in_template(db_url: str, tmp_path: Path) -> None:
    template = tmp_path / "template.xlsx"
    q("registry", "template", str(template))
    filled = tmp_path / "jiayuguan.xlsx"
    filled.write_bytes(_fill(template.read_bytes()))
    r = q("registry", "import", str(filled), "--dry-run", "--json", "--db", db_url)
    report = json.loads(r.stdout)
    assert report["ok"] and not report["committed"]
    assert report["counts"]["点位"]["created"] == 3
    engine = make_engine(db_url)
    with session_scope(engine) as s:
        assert s.scalar(select(func.count()).select_from(Region)) == 0  # the dry run wrote nothing
    engine.dispose()
    r = q("registry", "import", str(filled), "--json", "--db", db_url)
    assert json.loads(r.stdout)["committed"]
    _serves_only_jiayuguan(db_url)
    # the same workbook again: nothing new
    r = q("registry", "import", str(filled), "--json", "--db", db_url)
    counts = json.loads(r.stdout)["counts"]
    assert all(c["created"] == 0 and c["updated"] == 0 for c in counts.values()), counts


def test_a_bad_template_is_refused_from_the_command_line(db_url: str, tmp_path: Path) -> None:
    template = tmp_path / "template.xlsx"
    q("registry", "template", str(template))
    wb = load_workbook(io.BytesIO(_fill(template.read_bytes())))
    wb["点位"].cell(row=4, column=5).value = 9.825  # the second site's longitude: outside China
    bad = tmp_path / "bad.xlsx"
    wb.save(bad)
    r = runner.invoke(cli, ["registry", "import", str(bad), "--db", db_url])
    assert r.exit_code == 2
    assert "未写入任何数据" in r.output and "不在中国境内" in r.output
    engine = make_engine(db_url)
    with session_scope(engine) as s:
        assert s.scalar(select(func.count()).select_from(Site)) == 0
        assert s.scalar(select(func.count()).select_from(Region)) == 0
    engine.dispose()
    r = runner.invoke(cli, ["registry", "import", str(tmp_path / "missing.xlsx"), "--db", db_url])
    assert r.exit_code == 2 and "无法读取" in r.output
