"""What issue 14's second round added, through the services and the API on SQLite and
PostgreSQL: enterprise users read their own enterprise's cases (others answer 404) and change
nothing; the bureau edits a case over the API (on its timeline, the reason for a due day kept);
year-on-year statistics (同比) in the service, the API and ``case stats --year --json``; where
a case is on the map; a ledger import leaves no idle reminder jobs and re-import adds none;
every imported row has its 台账导入 timeline entry."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select
from typer.testing import CliRunner

from qingshan.cli.main import app
from qingshan.roles import CLI
from qingshan.services import excel_import as xi
from qingshan.services.cases import core, ledger, stats
from qingshan.services.errors import NotFound
from qingshan.settings import get_settings
from qingshan.storage.db import session_factory, session_scope
from qingshan.storage.models import SITE_KINDS, Enterprise, Site
from qingshan.storage.models_casework import ScheduledJob, TimelineEvent, WorkflowInstance
from qingshan.web import create_app
from web.conftest import login

from .conftest import CREDIT, complaint, make_county, problem
from .test_ledger import _rows


def _jobs(engine: Engine) -> list[tuple[str, str]]:
    with session_scope(engine) as s:
        return sorted((j.kind, j.dedup_key or "") for j in s.scalars(select(ScheduledJob)))


def test_enterprise_users_read_their_own_enterprise_cases_only(
    db_url: str, engine: Engine, tmp_path: Path
) -> None:
    u = make_county(engine)
    with session_scope(engine) as s:
        core.open_case(s, CLI, complaint(code="XF-ENT", enterprise=CREDIT, lead_unit="SWJ"))
        core.open_case(s, CLI, problem(code="ZY1-01"))
    with session_scope(engine) as s:
        assert [c.code for c in core.listing(s, u["ent"], core.Filters())] == ["XF-ENT"]
        assert core.get(s, u["ent"], "XF-ENT").code == "XF-ENT"
        with pytest.raises(NotFound):
            core.get(s, u["ent"], "ZY1-01")
        with pytest.raises(core.CaseError, match="只能查看案件，不能办理"):
            core.fire(s, u["ent"], "XF-ENT", "accept")
        with pytest.raises(core.CaseError, match="不能发表意见"):
            core.comment(s, u["ent"], "XF-ENT", "我们已整改")
        with pytest.raises(NotFound):  # another enterprise's (here: none's) case: not there
            core.fire(s, u["ent"], "ZY1-01", "begin", fields={"measures": "x"})
        assert [r.total for r in stats.compute(s, u["ent"])] == [1]
    settings = get_settings(
        db_url=db_url, web_cookie_secure=False, attachments_dir=str(tmp_path / "att")
    )
    web = create_app(settings, session_factory(engine))
    ent = login(web, "ent")
    assert [c["code"] for c in ent.get("/api/v1/cases").json()] == ["XF-ENT"]
    d = ent.get("/api/v1/cases/XF-ENT").json()
    assert d["enterprise"] == CREDIT and d["actions"] == [] and d["timeline"] == []
    assert not (d["may_edit"] or d["may_extend"] or d["may_confirm"])
    assert ent.get("/api/v1/cases/ZY1-01").status_code == 404
    assert ent.get("/api/v1/cases/NONE").status_code == 404
    assert ent.get("/api/v1/cases/XF-ENT/letters/assignment").status_code == 403
    assert ent.post("/api/v1/cases/XF-ENT/comments", json={"text": "x"}).status_code == 403
    r = ent.post("/api/v1/cases/XF-ENT/actions/accept", json={"fields": {}})
    assert r.status_code == 403
    r = ent.post(
        "/api/v1/attachments?entity_type=case&entity_id=XF-ENT&file_name=a.pdf",
        content=b"%PDF-1.4\n%%EOF\n",
        headers={"Content-Type": "application/octet-stream"},
    )
    assert r.status_code in (403, 404, 422), r.text
    with session_scope(engine) as s:
        assert core.get(s, CLI, "XF-ENT").state == "registered"


def test_bureau_edits_a_case_over_the_api_on_its_timeline(
    db_url: str, engine: Engine, tmp_path: Path
) -> None:
    make_county(engine)
    with session_scope(engine) as s:
        core.open_case(s, CLI, complaint(code="XF-1", lead_unit="SWJ"))
    settings = get_settings(
        db_url=db_url, web_cookie_secure=False, attachments_dir=str(tmp_path / "att")
    )
    web = create_app(settings, session_factory(engine))
    c = {n: login(web, n) for n in ("staff", "lead", "leader")}
    d = c["staff"].get("/api/v1/cases/XF-1").json()
    assert d["may_edit"] and d["may_extend"] and not d["may_confirm"]
    assert c["lead"].get("/api/v1/cases/XF-1").json()["may_edit"] is False
    assert "60个自然日" in d["due_basis"]
    body = {
        "origin": "hotline",
        "kind": "complaint",
        "channel": "12369",
        "title": "反映某料场扬尘和噪声",
        "received_on": "2026-03-02",
        "region": "620802",
        "category": "噪声",
        "lead_unit": "ZJJ",
        "supporting_units": ["SWJ"],
        "due_on": d["due_on"],
        "longitude": 106.6651,
        "latitude": 35.5432,
    }
    assert c["lead"].put("/api/v1/cases/XF-1", json=body).status_code == 403
    r = c["staff"].put("/api/v1/cases/XF-1", json=body)
    assert r.status_code == 200, r.text
    d2 = r.json()
    assert (d2["title"], d2["lead_unit"], d2["supporting_units"]) == (
        "反映某料场扬尘和噪声",
        "ZJJ",
        ["SWJ"],
    )
    assert d2["due_basis"] == d["due_basis"]  # the same day: why it is that day is kept
    assert d2["point"] == [106.6651, 35.5432]
    assert any(e["action"] == "case.update" for e in d2["timeline"])
    # refused with the reason, nothing changed
    r = c["staff"].put("/api/v1/cases/XF-1", json={**body, "acceptance_unit": "ZJJ"})
    assert r.status_code == 422 and "验收单位须与整改牵头单位不同" in r.json()["detail"]
    r = c["staff"].put("/api/v1/cases/XF-1", json={**body, "kind": "problem"})
    assert r.status_code == 422
    # 延期 with its reason, then voiding with a reason through the workflow's step
    r = c["staff"].post("/api/v1/cases/XF-1/extend", json={"days": 30, "reason": "需补充监测"})
    assert r.status_code == 200 and r.json()["may_extend"] is False
    r = c["staff"].post(
        "/api/v1/cases/XF-1/actions/void", json={"fields": {"void_reason": "重复登记"}}
    )
    assert r.status_code == 200 and r.json()["may_edit"] is False
    summaries = [e["summary"] for e in r.json()["timeline"]]
    assert any("延期办理30日" in x and "需补充监测" in x for x in summaries)
    assert any("作废" in x for x in summaries)


def test_year_on_year_in_service_api_and_command_line(
    db_url: str, engine: Engine, tmp_path: Path
) -> None:
    facts = [  # origin, round, kind, tags, received, due, closed, repeat
        stats.Fact("hotline", None, "complaint", ("closed",), date(2025, 3, 1), None,
                   date(2025, 4, 1), False),
        stats.Fact("hotline", None, "complaint", ("closed",), date(2025, 12, 1), None,
                   date(2026, 1, 10), False),
        stats.Fact("hotline", None, "complaint", (), date(2026, 2, 1), None, None, False),
        stats.Fact("hotline", None, "complaint", (), date(2026, 2, 2), None, None, False),
        stats.Fact("hotline", None, "complaint", (), date(2026, 2, 3), None, None, False),
        stats.Fact("hotline", None, "complaint", ("excluded",), date(2026, 2, 4), None, None,
                   False),
        stats.Fact("grid_patrol", None, "patrol", (), date(2024, 5, 1), None, None, False),
    ]  # fmt: skip
    (row,) = stats.year_on_year(facts, 2026)
    assert (row.origin, row.kind, row.year, row.previous_year) == (
        "hotline",
        "complaint",
        2026,
        2025,
    )
    assert (row.received, row.received_previous, row.received_change) == (3, 2, 1)
    assert row.received_change_rate == 50.0
    assert (row.closed, row.closed_previous, row.closed_change_rate) == (1, 1, 0.0)
    assert stats.change_rate(2, 3) == -33.3 and stats.change_rate(1, 0) is None
    assert stats.change_rate(1, 8) == -87.5 and stats.change_rate(3, 16) == -81.3  # half up
    # the same from the database: the ledger's cases by the years they were received/closed
    make_county(engine)
    rep = ledger.import_ledger(
        engine, xi.write_workbook([(ledger.SHEET, _rows())]), CLI, origin="省级督察", round=2
    )
    assert rep.ok, rep.problems
    code = CliRunner().invoke(app, ["case", "stats", "--year", "2021", "--json", "--db", db_url])
    assert code.exit_code == 0, code.stderr
    rows = json.loads(code.stdout)
    assert [
        (r["origin"], r["kind"], r["received"], r["received_previous"], r["closed"],
         r["closed_previous"])
        for r in rows
    ] == [
        ("provincial_inspection", "problem", 0, 2, 1, 0),
        ("provincial_inspection", "complaint", 0, 2, 0, 1),
    ]  # fmt: skip
    assert rows[0]["closed_change_rate"] is None and rows[0]["received_change_rate"] == -100.0
    settings = get_settings(
        db_url=db_url, web_cookie_secure=False, attachments_dir=str(tmp_path / "att")
    )
    web = create_app(settings, session_factory(engine))
    staff = login(web, "staff")
    assert staff.get("/api/v1/cases/stats/yoy?year=2021").json() == rows
    assert login(web, "grid").get("/api/v1/cases/stats/yoy?year=2021").json() == []  # scope


def test_ledger_import_leaves_no_idle_reminders_and_re_import_adds_none(
    engine: Engine,
) -> None:
    make_county(engine)
    book = xi.write_workbook([(ledger.SHEET, _rows())])
    rep = ledger.import_ledger(engine, book, CLI, origin="provincial_inspection", round=2)
    assert rep.ok, rep.problems
    jobs = _jobs(engine)
    with session_scope(engine) as s:
        w02 = core.get(s, CLI, "SJ2-W02").id
        x002 = core.get(s, CLI, "SJ2-X002").id
        # no state reminders for a state taken from a ledger
        assert all(i.due_on is None for i in s.scalars(select(WorkflowInstance)))
    # the closed and signed-off rows (W01 已销号, X001 已办结) schedule nothing; the two open
    # ones their three deadline warnings each; no workflow_deadline job at all
    assert [k for k, _ in jobs] == ["case_warning"] * 6
    assert {key.split(":")[1] for _, key in jobs} == {str(w02), str(x002)}
    again = ledger.import_ledger(engine, book, CLI, origin="provincial_inspection", round=2)
    assert again.ok and again.counts["案件台账"].unchanged == 4
    assert _jobs(engine) == jobs
    # a changed row (closed now) adds nothing either
    rows = _rows()
    rows[1].update(state="已完成整改", rectified_on=date(2026, 1, 5), closed_on=date(2026, 1, 5))
    upd = ledger.import_ledger(
        engine, xi.write_workbook([(ledger.SHEET, rows)]), CLI, origin="省级督察", round=2
    )
    assert upd.ok and upd.counts["案件台账"].updated == 1
    assert _jobs(engine) == jobs
    # every imported row says on its timeline that its state came from the ledger
    with session_scope(engine) as s:
        imported = dict(
            s.execute(
                select(TimelineEvent.entity_id, TimelineEvent.summary)
                .where(TimelineEvent.action == "case.ledger_state")
                .order_by(TimelineEvent.id)
            ).all()
        )
    assert set(imported) == {"SJ2-W01", "SJ2-W02", "SJ2-X001", "SJ2-X002"}
    assert imported["SJ2-W01"] == "台账导入：「已交办」→「已销号」"
    assert imported["SJ2-W02"] == "台账导入：「整改中」→「已完成整改」"  # the latest
    # a state that is not the workflow's is refused before anything is written
    bad = [{**_rows()[0], "code": "SJ2-W09", "state": "已验收完毕"}]
    rep = ledger.import_ledger(
        engine, xi.write_workbook([(ledger.SHEET, bad)]), CLI, origin="省级督察", round=2
    )
    assert not rep.ok and "不是督察整改的状态" in rep.problems[0].message
    with session_scope(engine) as s:
        assert s.scalar(select(func.count()).where(TimelineEvent.entity_id == "SJ2-W09")) == 0


def test_a_case_is_on_the_map_at_its_point_site_or_enterprise(engine: Engine) -> None:
    make_county(engine)
    with session_scope(engine) as s:
        ent = s.scalar(select(Enterprise).where(Enterprise.credit_code == CREDIT))
        assert ent is not None
        ent.longitude, ent.latitude = Decimal("106.6"), Decimal("35.5")
        s.add(Site(code="S-1", name="泾河断面", kind=SITE_KINDS[0], region_code="620802",
                   longitude=Decimal("106.7"), latitude=Decimal("35.6")))  # fmt: skip
        s.flush()
        a = core.open_case(s, CLI, complaint(code="A", enterprise=CREDIT))
        b = core.open_case(s, CLI, complaint(code="B", site="S-1", enterprise=CREDIT))
        c = core.open_case(s, CLI, complaint(code="C", longitude="106.1", latitude="35.1"))
        d = core.open_case(s, CLI, complaint(code="D"))
        where: dict[int, Any] = core.points(s, [a, b, c, d])
        assert where == {a.id: (106.6, 35.5), b.id: (106.7, 35.6), c.id: (106.1, 35.1)}
