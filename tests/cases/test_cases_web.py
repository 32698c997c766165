"""The cases API: another unit's case answers 404, leaders read and cannot act, grid users
report, refusals are 422 with the reason, statistics, and the public 公示 table without log-in
(SQLite and PostgreSQL)."""

from __future__ import annotations

import io
from pathlib import Path

import docx
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from qingshan.roles import CLI
from qingshan.services.cases import core
from qingshan.settings import get_settings
from qingshan.storage.db import session_factory, session_scope
from qingshan.web import create_app
from web.conftest import login

from .conftest import complaint, make_county, problem


def test_cases_api(db_url: str, engine: Engine, tmp_path: Path) -> None:
    make_county(engine)
    with session_scope(engine) as s:
        core.open_case(s, CLI, problem(code="ZY1-01", item_no="1"))
        core.open_case(s, CLI, problem(code="ZY1-02", lead_unit="ZJJ"))
        core.open_case(
            s,
            CLI,
            complaint(
                origin="central_inspection",
                round=1,
                code="ZY1-X1",
                kind="complaint",
                channel=None,
                national_id="D3SX201612050001",
                lead_unit="SWJ",
            ),
        )
    settings = get_settings(
        db_url=db_url, web_cookie_secure=False, attachments_dir=str(tmp_path / "att")
    )
    app = create_app(settings, session_factory(engine))
    c = {u: login(app, u) for u in ("staff", "lead", "other", "grid", "leader", "ent")}

    # a unit's desk is its own cases; another unit's case is "not found"
    desk = c["lead"].get("/api/v1/cases").json()
    # overdue first, the longest overdue first: the complaint's 60 days from 2026-03-02 end
    # before the item's 2026-09-30
    assert [(x["code"], x["overdue"]) for x in desk] == [("ZY1-X1", True), ("ZY1-01", True)]
    assert desk[0]["days_left"] < desk[1]["days_left"] < 0
    assert c["other"].get("/api/v1/cases/ZY1-01").status_code == 404
    r = c["other"].post("/api/v1/cases/ZY1-01/actions/begin", json={"fields": {"measures": "x"}})
    assert r.status_code == 404
    assert c["ent"].get("/api/v1/cases").json() == []  # none is about its enterprise
    assert TestClient(app).get("/api/v1/cases").status_code == 401
    # the case page's data: actions the user may take, with fields and evidence
    d = c["lead"].get("/api/v1/cases/ZY1-01").json()
    assert d["state_label"] == "已交办" and d["supporting_units"] == ["ZRZY"]
    assert [(a["name"], a["allowed"]) for a in d["actions"]] == [("begin", False)]
    assert d["actions"][0]["requires"][0]["label"] == "整改措施"
    r = c["lead"].post("/api/v1/cases/ZY1-01/actions/begin", json={"fields": {}})
    assert r.status_code == 422 and r.json()["detail"] == "签收整改前须填写「整改措施」"
    r = c["lead"].post(
        "/api/v1/cases/ZY1-01/actions/begin",
        json={"fields": {"measures": "截污纳管"}, "note": "已签收"},
    )
    assert r.status_code == 200 and r.json()["state_label"] == "整改中"
    # leaders read everything and act on nothing
    assert c["leader"].get("/api/v1/cases/ZY1-02").json()["actions"] == []
    r = c["leader"].post("/api/v1/cases/ZY1-02/comments", json={"text": "好"})
    assert r.status_code == 403
    # grid users report patrol findings (and cannot open inspection items)
    r = c["grid"].post(
        "/api/v1/cases",
        json={
            "origin": "grid_patrol",
            "title": "露天焚烧垃圾",
            "received_on": "2026-11-30",
            "longitude": 106.68,
            "latitude": 35.55,
            "lead_unit": "住建局",
        },
    )
    assert r.status_code == 201 and r.json()["kind"] == "patrol", r.text
    r = c["grid"].post(
        "/api/v1/cases",
        json={
            "origin": "central_inspection",
            "round": 1,
            "title": "x",
            "received_on": "2026-11-30",
            "lead_unit": "SWJ",
        },
    )
    assert r.status_code == 422 and "无权发起督察整改" in r.json()["detail"]
    # statistics, within the principal's scope
    rows = c["staff"].get("/api/v1/cases/stats").json()
    assert {(x["origin"], x["kind"], x["total"]) for x in rows} == {
        ("central_inspection", "problem", 2),
        ("central_inspection", "complaint", 1),
        ("grid_patrol", "patrol", 1),
    }
    # letters as Word: 交办单, 督办通知, 销号审批表 (problems only); others' cases not found
    r = c["lead"].get("/api/v1/cases/ZY1-01/letters/assignment")
    assert r.status_code == 200 and "filename*=UTF-8''ZY1-01-" in r.headers["content-disposition"]
    text = _docx_text(r.content)
    assert "问题交办单" in text and "水务局：" in text and "泾河沿岸生活污水直排" in text
    assert "自然资源局" in text and "2026年9月30日" in text
    text = _docx_text(c["staff"].get("/api/v1/cases/ZY1-01/letters/supervision").content)
    assert "督办通知" in text and "已逾期" in text
    text = _docx_text(c["staff"].get("/api/v1/cases/ZY1-01/letters/sign_off").content)
    assert "整改问题销号审批表" in text and "截污纳管" in text and "主要领导审签" in text
    r = c["staff"].get("/api/v1/cases/ZY1-X1/letters/sign_off")
    assert r.status_code == 422 and r.json()["detail"] == "销号审批表只适用于督察整改问题"
    assert c["other"].get("/api/v1/cases/ZY1-01/letters/assignment").status_code == 404
    # the public table: no log-in; problems only once announced or signed off
    public = TestClient(app).get("/api/v1/public/cases")
    assert public.status_code == 200
    assert [x["code"] for x in public.json()] == ["ZY1-X1"]
    assert public.json()[0]["national_id"] == "D3SX201612050001"
    assert "description" not in public.json()[0]


def _docx_text(data: bytes) -> str:
    doc = docx.Document(io.BytesIO(data))
    cells = [c.text for t in doc.tables for row in t.rows for c in row.cells]
    return "\n".join([p.text for p in doc.paragraphs] + cells)
