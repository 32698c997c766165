"""Registry detail and edit through the web API (SQLite and PostgreSQL): every record's detail
with its related records, timeline and attachments; edits through the registry services with
one audit entry and one timeline event each; refusals naming the field with nothing written;
the outline upload's checks; who may see and edit what."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from reghelpers import CHEM, OUTLINE, STEEL
from sqlalchemy import Engine, func, select
from test_registry_jiayuguan import _fill

from qingshan.roles import CLI
from qingshan.services.accounts import create_user
from qingshan.services.registry import enterprises, permits, workbook
from qingshan.settings import get_settings
from qingshan.storage.db import session_factory, session_scope
from qingshan.storage.models import Enterprise, Site
from qingshan.storage.models_casework import AttachmentLink, TimelineEvent
from qingshan.storage.models_registry import IndicatorTarget, Permit, PermitLimit, RegionBoundary
from qingshan.storage.models_web import AuditEntry
from qingshan.web import create_app
from support.web_seed import PASSWORD
from web.conftest import login

API = "/api/v1/registry"
OUTLET = "JYG-E01/DA001"
PERMIT = "91620200MA71ABCD1X001P"
MN = "620200110001AAAAAAAAAAAA"


@pytest.fixture
def clients(engine: Engine, db_url: str, tmp_path: Path) -> Iterator[dict[str, TestClient]]:
    """嘉峪关市 from the filled-in template, a second enterprise, a permit with one limit and
    an annual amount; one user of each role (the enterprise user is the steel works', the
    unit user the bureau's)."""
    report = workbook.apply(engine, _fill(workbook.template()), CLI)
    assert report.ok, report.problems
    with session_scope(engine) as s:
        enterprises.create_enterprise(
            s, CLI, enterprises.EnterpriseRecord(CHEM, "嘉峪关某化工有限公司", "620200")
        )
        permits.save_permit(
            s, CLI, permits.PermitRecord(PERMIT, STEEL, "重点管理", date(2023, 1, 1))
        )
        permits.save_limits(s, CLI, PERMIT, [_limit()])
        permits.save_annual_amounts(s, CLI, PERMIT, [permits.AmountRecord("a21026", 2024, "120")])
        steel = enterprises.by_credit_code(s, STEEL)
        assert steel is not None
        users = (
            ("admin1", "admin", None, None),
            ("staff1", "staff", None, None),
            ("leader1", "leader", None, None),
            ("steel1", "enterprise", None, steel.id),
            ("unit1", "unit", "JYG-SHJJ", None),
        )
        for name, role, unit, ent in users:
            create_user(
                s, CLI, username=name, password=PASSWORD, role=role, unit=unit, enterprise_id=ent
            )
    settings = get_settings(
        db_url=db_url, web_cookie_secure=False, attachments_dir=str(tmp_path / "files")
    )
    app = create_app(settings, session_factory(engine))
    out = {name: login(app, name) for name, *_ in users}
    out["anonymous"] = TestClient(app)
    yield out
    for c in out.values():
        c.close()


def _limit(**kw: Any) -> permits.LimitRecord:
    fields: dict[str, Any] = dict(
        outlet=OUTLET,
        pollutant="a21026",
        limit="50",
        unit="mg/m³",
        basis="小时均值",
        standard="GB 28662-2012",
        source_table="表 2",
    )
    fields.update(kw)
    return permits.LimitRecord(**fields)


def _enterprise_body(**kw: Any) -> dict[str, Any]:
    body: dict[str, Any] = dict(
        name="嘉峪关某钢铁有限公司",
        region_code="620200",
        industry_code="C3120",
        industry="炼钢",
        control_level="国控",
        permit_class="重点管理",
        key_discharger=True,
        longitude="98.3",
        latitude="39.8",
    )
    body.update(kw)
    return body


def _counts(engine: Engine) -> dict[str, int]:
    with session_scope(engine) as s:
        return {
            m.__name__: s.scalar(select(func.count()).select_from(m)) or 0
            for m in (AuditEntry, TimelineEvent, AttachmentLink, PermitLimit, IndicatorTarget)
        }


def test_every_detail_shows_its_record_related_records_and_timeline(
    clients: dict[str, TestClient],
) -> None:
    staff = clients["staff1"]
    region = staff.get(f"{API}/regions/620200").json()
    assert region["record"]["name"] == "嘉峪关市" and region["record"]["own"] is True
    assert region["record"]["has_boundary"] and region["record"]["level_label"] == "地级"
    assert [c["code"] for c in region["related"]["children"]] == ["620201100"]
    assert [(t["indicator"], t["value"]) for t in region["related"]["targets"]] == [
        ("good_day_ratio", "85.0")
    ]
    assert region["timeline"][0]["summary"] == "新建登记行政区划「620200」"
    assert region["editable"] is True
    outline = staff.get(f"{API}/regions/620200/boundary")
    assert outline.headers["content-type"] == "application/geo+json"
    assert outline.json()["type"] == "Polygon"

    ent = staff.get(f"{API}/enterprises/{STEEL}").json()
    assert ent["record"]["industry_code"] == "C3120" and ent["record"]["control_level"] == "国控"
    assert [o["code"] for o in ent["related"]["outlets"]] == [OUTLET]
    assert [p["number"] for p in ent["related"]["permits"]] == [PERMIT]

    site = staff.get(f"{API}/sites/{OUTLET}").json()  # a code with a slash
    assert site["record"]["enterprise"] == STEEL and site["record"]["kind_label"] == "排放口"
    assert [d["mn"] for d in site["related"]["devices"]] == [MN]

    permit = staff.get(f"{API}/permits/{PERMIT}").json()
    assert permit["record"]["enterprise"] == STEEL
    assert permit["related"]["limits"][0]["standard"] == "GB 28662-2012"
    assert permit["related"]["amounts"] == [
        {"pollutant": "a21026", "year": 2024, "amount": "120", "unit": "t/a"}
    ]

    unit = staff.get(f"{API}/units/JYG-SHJJ").json()
    assert unit["record"]["kind_label"] == "部门"

    device = staff.get(f"{API}/devices/{MN}").json()
    assert device["record"]["site"] == OUTLET and "pw" not in device["record"]
    assert "123456" not in json.dumps(device, ensure_ascii=False)
    assert device["editable"] is False  # devices are the administrators' (devices page)
    assert clients["admin1"].get(f"{API}/devices/{MN}").json()["editable"] is True

    assert staff.get(f"{API}/enterprises/{CHEM[:-1]}0").status_code == 404
    assert staff.get(f"{API}/sites/NOPE").status_code == 404


def test_an_edit_is_recorded_once_and_an_unchanged_edit_not_at_all(
    engine: Engine, clients: dict[str, TestClient]
) -> None:
    staff = clients["staff1"]
    before = _counts(engine)
    r = staff.put(f"{API}/enterprises/{STEEL}", json=_enterprise_body(name="嘉峪关钢铁集团"))
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["outcome"] == "updated"
    last = out["detail"]["timeline"][-1]
    assert last["summary"] == f"修改登记企业「{STEEL}」" and last["actor"] == "staff1"
    assert last["before"]["name"] == "嘉峪关某钢铁有限公司"
    assert last["after"]["name"] == "嘉峪关钢铁集团"
    after = _counts(engine)
    assert after["AuditEntry"] == before["AuditEntry"] + 1
    assert after["TimelineEvent"] == before["TimelineEvent"] + 1
    again = staff.put(f"{API}/enterprises/{STEEL}", json=_enterprise_body(name="嘉峪关钢铁集团"))
    assert again.json()["outcome"] == "unchanged"
    assert _counts(engine) == after

    # a site, a unit, a region, a target and a permit through their services alike
    r = staff.put(
        f"{API}/sites/JYG-W01",
        json=dict(
            name="讨赖河断面",
            kind="surface_water_section",
            region_code="620201100",
            longitude="98.25",
            latitude="39.75",
            water_body="河流",
            water_body_name="讨赖河",
            target_class="Ⅲ",
        ),
    )
    assert r.status_code == 200, r.text
    assert r.json()["detail"]["record"]["target_class"] == "III"
    r = staff.put(
        f"{API}/units/JYG-SHJJ",
        json=dict(name="嘉峪关市生态环境局", kind="部门", region_code="620200", contact="王五"),
    )
    assert r.json()["detail"]["record"]["contact"] == "王五"
    r = staff.put(f"{API}/regions/620201100", json=dict(name="新城镇（新）", parent_code="620200"))
    assert r.json()["detail"]["record"]["name"] == "新城镇（新）"
    r = staff.put(
        f"{API}/regions/620200/targets",
        json=dict(
            indicator="good_day_ratio",
            year_from=2021,
            value="86.5",
            unit="%",
            source="嘉峪关市“十四五”生态环境保护规划",
        ),
    )
    assert r.status_code == 200, r.text
    assert r.json()["detail"]["related"]["targets"][0]["value"] == "86.5"
    # the region's page shows its targets' changes on its timeline
    shown = [e["summary"] for e in r.json()["detail"]["timeline"]]
    assert shown[-1] == "修改登记考核目标「620200/good_day_ratio/2021」"
    r = staff.put(
        f"{API}/permits/{PERMIT}",
        json=dict(
            management_class="重点管理",
            valid_from="2023-01-01",
            valid_to="2027-12-31",
            limits=[
                _limit_json(),
                _limit_json(pollutant="a21002", limit="100", o2_ref="16"),
            ],
            amounts=[dict(pollutant="a21026", year=2024, amount="110")],
        ),
    )
    assert r.status_code == 200, r.text
    detail = r.json()["detail"]
    assert detail["record"]["valid_to"] == "2027-12-31"
    assert [(x["pollutant"], x["o2_ref"]) for x in detail["related"]["limits"]] == [
        ("a21002", "16"),
        ("a21026", None),
    ]
    # one edit, three parts of the permit, each on the permit's timeline
    summaries = [e["summary"] for e in detail["timeline"]]
    assert summaries[-3:] == [
        f"修改登记排污许可证「{PERMIT}」",
        f"修改登记许可限值「{PERMIT}」",
        f"修改登记许可排放量「{PERMIT}」",
    ]


def _limit_json(**kw: Any) -> dict[str, Any]:
    body: dict[str, Any] = dict(
        outlet=OUTLET,
        pollutant="a21026",
        limit="50",
        unit="mg/m³",
        basis="小时均值",
        standard="GB 28662-2012",
        source_table="表 2",
    )
    body.update(kw)
    return body


@pytest.mark.parametrize(
    ("path", "body", "field", "message"),
    [
        (
            f"enterprises/{STEEL}",
            _enterprise_body(control_level="特控"),
            "control_level",
            "重点源级别 '特控' 不是",
        ),
        (
            f"enterprises/{STEEL}",
            _enterprise_body(longitude="8.3"),
            "longitude",
            "不在中国境内",
        ),
        (
            f"enterprises/{STEEL}",
            _enterprise_body(industry_code="Z99"),
            "industry_code",
            "行业代码",
        ),
        (
            f"enterprises/{STEEL}",
            _enterprise_body(region_code="629900"),
            "region_code",
            "所在区划 629900 不存在",
        ),
        (
            "sites/JYG-A01",
            dict(
                name="嘉峪关市监测站",
                kind="air_station",
                region_code="620200",
                longitude="98.29",
                latitude="39.77",
                noise_zone="2",
            ),
            "noise_zone",
            "声环境功能区只适用于声环境质量监测点，不适用于环境空气质量监测站",
        ),
        (
            "units/JYG-SHJJ",
            dict(name="嘉峪关市生态环境局", kind="部门", parent_code="JYG-SHJJ"),
            "parent_code",
            "不能是自己的上级",
        ),
        ("regions/620201100", dict(name="新城镇", parent_code="629900"), "parent_code", "不存在"),
        (
            "regions/620200/targets",
            dict(indicator="good_day_ratio", year_from=2021, value="86", unit="", source="x"),
            "unit",
            "考核目标须填写单位",
        ),
        (
            f"permits/{PERMIT}",
            dict(
                management_class="简化管理",  # would change, but the limit below is refused
                valid_from="2023-01-01",
                limits=[_limit_json(unit="")],
                amounts=[],
            ),
            "unit",
            "许可限值须填写单位",
        ),
        (
            f"permits/{PERMIT}",
            dict(
                management_class="重点管理",
                valid_from="2023-01-01",
                limits=[_limit_json(basis="")],
                amounts=[],
            ),
            "basis",
            "许可限值须填写均值类型",
        ),
        (
            f"permits/{PERMIT}",
            dict(
                management_class="重点管理",
                valid_from="2023-01-01",
                limits=[_limit_json()],
                amounts=[dict(pollutant="a21026", year=None, amount="110")],
            ),
            "year",
            "须填写年度",
        ),
        (
            "regions/620200/targets",
            dict(indicator="good_day_ratio", year_from=0, value="86", unit="%", source="规划"),
            "year_from",
            "起始年度 0 不是有效年份",
        ),
    ],
)
def test_a_bad_edit_is_refused_naming_the_field_and_nothing_is_written(
    engine: Engine,
    clients: dict[str, TestClient],
    path: str,
    body: dict[str, Any],
    field: str,
    message: str,
) -> None:
    staff = clients["staff1"]
    shown = staff.get(f"{API}/{path.removesuffix('/targets')}").json()
    before = _counts(engine)
    r = staff.put(f"{API}/{path}", json=body)
    assert r.status_code == 422, r.text
    assert r.json()["detail"]["field"] == field
    assert message in r.json()["detail"]["message"]
    assert _counts(engine) == before
    assert staff.get(f"{API}/{path.removesuffix('/targets')}").json() == shown
    with session_scope(engine) as s:
        permit = s.scalar(select(Permit).where(Permit.number == PERMIT))
        assert permit is not None and permit.management_class == "重点管理"


def _outline(geometry: Any, **extra: Any) -> bytes:
    return json.dumps({"type": "Feature", "geometry": geometry, **extra}).encode()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"{not json", "不是有效的 GeoJSON"),
        (_outline({"type": "LineString", "coordinates": [[98, 39], [98.5, 39.5]]}), "Polygon"),
        (
            _outline({"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 0]]]}),
            "不在中国境内",
        ),
        (
            _outline(
                {
                    "type": "Polygon",
                    "coordinates": [
                        [
                            [10900000, 4800000],
                            [10950000, 4800000],
                            [10950000, 4850000],
                            [10900000, 4800000],
                        ]
                    ],
                }
            ),
            "投影坐标",
        ),
        (
            json.dumps(
                {"crs": {"type": "name", "properties": {"name": "EPSG:3857"}}, **OUTLINE}
            ).encode(),
            "WGS-84",
        ),
        (
            json.dumps({"type": "FeatureCollection", "features": []}).encode(),
            "含 0 个要素",
        ),
    ],
)
def test_a_bad_outline_file_is_refused_and_the_old_one_kept(
    engine: Engine, clients: dict[str, TestClient], data: bytes, message: str
) -> None:
    before = _counts(engine)
    with session_scope(engine) as s:
        old = s.get(RegionBoundary, "620200")
        assert old is not None
        old_geometry = old.geometry
    r = clients["staff1"].put(
        f"{API}/regions/620200/boundary",
        params={"file_name": "嘉峪关市.geojson"},
        content=data,
        headers={"Content-Type": "application/geo+json"},
    )
    assert r.status_code == 422, r.text
    assert message in r.json()["detail"]["message"] and r.json()["detail"]["field"] == "geometry"
    assert _counts(engine) == before
    with session_scope(engine) as s:
        row = s.get(RegionBoundary, "620200")
        assert row is not None and row.geometry == old_geometry


def test_a_new_outline_replaces_the_old_and_its_file_is_kept_as_evidence(
    engine: Engine, clients: dict[str, TestClient]
) -> None:
    bigger = {
        "type": "MultiPolygon",
        "coordinates": [
            [[[97.9, 39.6], [98.6, 39.6], [98.6, 40.1], [97.9, 40.1], [97.9, 39.6]]],
        ],
    }
    data = _outline(bigger, properties={"name": "嘉峪关市"})
    r = clients["staff1"].put(
        f"{API}/regions/620200/boundary",
        params={"file_name": "嘉峪关市.geojson", "source": "测试轮廓 v2"},
        content=data,
        headers={"Content-Type": "application/geo+json"},
    )
    assert r.status_code == 200, r.text
    d = r.json()["detail"]
    assert d["record"]["boundary_source"] == "测试轮廓 v2"
    assert [(a["file_name"], a["evidence"]) for a in d["attachments"]] == [
        ("嘉峪关市.geojson", "boundary")
    ]
    shown = clients["staff1"].get(f"{API}/regions/620200/boundary").json()
    assert shown == bigger
    # the change and its evidence file, both on the region's timeline
    assert [e["summary"] for e in d["timeline"][-2:]] == [
        "修改登记区划边界「620200」",
        "上传附件「嘉峪关市.geojson」（纯文本）",
    ]
    assert d["timeline"][-2]["after"]["source"] == "测试轮廓 v2"
    with session_scope(engine) as s:
        events = list(
            s.scalars(select(TimelineEvent).where(TimelineEvent.entity_type == "region_boundary"))
        )
        assert [e.action for e in events] == ["create", "update"]
    # the public map reads the new outline at once
    features = clients["anonymous"].get("/api/v1/map/boundaries").json()["features"]
    assert features[0]["geometry"] == bigger


def test_evidence_files_attach_to_registry_records_for_the_bureau_only(
    clients: dict[str, TestClient],
) -> None:
    pdf = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"

    def upload(c: TestClient, entity_type: str, entity_id: str) -> Any:
        return c.post(
            "/api/v1/attachments",
            params={
                "file_name": "排污许可证.pdf",
                "entity_type": entity_type,
                "entity_id": entity_id,
            },
            content=pdf,
            headers={"Content-Type": "application/octet-stream"},
        )

    r = upload(clients["staff1"], "permit", PERMIT)
    assert r.status_code == 201, r.text
    shown = clients["staff1"].get(f"{API}/permits/{PERMIT}").json()["attachments"]
    assert [a["id"] for a in shown] == [r.json()["id"]]
    # served only through the permission-checked endpoint
    assert clients["leader1"].get(f"/api/v1/attachments/{r.json()['id']}/content").content == pdf
    assert (
        clients["anonymous"].get(f"/api/v1/attachments/{r.json()['id']}/content").status_code == 401
    )
    assert upload(clients["staff1"], "permit", "NO-SUCH-PERMIT").status_code == 404
    assert upload(clients["steel1"], "enterprise", STEEL).status_code == 404
    assert upload(clients["unit1"], "org_unit", "JYG-SHJJ").status_code == 404
    assert upload(clients["leader1"], "enterprise", STEEL).status_code == 403


def test_leaders_read_only_and_others_see_only_their_own(
    engine: Engine, clients: dict[str, TestClient]
) -> None:
    leader, steel, unit = clients["leader1"], clients["steel1"], clients["unit1"]
    before = _counts(engine)
    shown = leader.get(f"{API}/enterprises/{STEEL}")
    assert shown.status_code == 200 and shown.json()["editable"] is False
    assert leader.put(f"{API}/enterprises/{STEEL}", json=_enterprise_body()).status_code == 403
    assert (
        leader.put(f"{API}/regions/620200", json=dict(name="x", parent_code="620000")).status_code
        == 403
    )
    # the enterprise user: its own enterprise, outlet, permit and device; nothing else exists
    own = steel.get(f"{API}/enterprises/{STEEL}")
    assert own.status_code == 200 and own.json()["editable"] is False
    assert own.json()["timeline"] is None  # enterprise users read no timelines
    for path in (f"sites/{OUTLET}", f"permits/{PERMIT}", f"devices/{MN}"):
        assert steel.get(f"{API}/{path}").status_code == 200, path
    for path in (
        f"enterprises/{CHEM}",
        "sites/JYG-A01",
        "regions/620200",
        "regions/620200/boundary",
        "units/JYG-SHJJ",
    ):
        r = steel.get(f"{API}/{path}")
        assert r.status_code == 404, (path, r.status_code)
    assert steel.put(f"{API}/enterprises/{STEEL}", json=_enterprise_body()).status_code == 403
    # the unit user: its own unit only
    assert unit.get(f"{API}/units/JYG-SHJJ").status_code == 200
    for path in (f"enterprises/{STEEL}", f"sites/{OUTLET}", "regions/620200", f"permits/{PERMIT}"):
        assert unit.get(f"{API}/{path}").status_code == 404, path
    assert clients["anonymous"].get(f"{API}/enterprises/{STEEL}").status_code == 401
    assert _counts(engine) == before
    with session_scope(engine) as s:
        ent = s.scalar(select(Enterprise).where(Enterprise.credit_code == STEEL))
        assert ent is not None and ent.name == "嘉峪关某钢铁有限公司"
        assert s.scalar(select(func.count()).select_from(Site)) == 3


def test_saving_a_permit_unchanged_records_nothing(
    engine: Engine, clients: dict[str, TestClient]
) -> None:
    body = dict(
        management_class="重点管理",
        valid_from="2023-01-01",
        limits=[_limit_json()],
        amounts=[dict(pollutant="a21026", year=2024, amount="120")],
    )
    before = _counts(engine)
    r = clients["staff1"].put(f"{API}/permits/{PERMIT}", json=body)
    assert r.status_code == 200, r.text
    assert r.json()["outcome"] == "unchanged"
    # a permit without limits or amounts saved with empty tables: nothing to record either
    with session_scope(engine) as s:
        permits.save_permit(
            s, CLI, permits.PermitRecord("CHEM-001", CHEM, "登记管理", date(2024, 1, 1))
        )
    middle = _counts(engine)
    r = clients["staff1"].put(
        f"{API}/permits/CHEM-001",
        json=dict(management_class="登记管理", valid_from="2024-01-01", limits=[], amounts=[]),
    )
    assert r.json()["outcome"] == "unchanged"
    assert _counts(engine) == middle
    assert middle["AuditEntry"] == before["AuditEntry"] + 1  # the new permit only
