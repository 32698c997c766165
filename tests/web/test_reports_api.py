"""Reports from the web API on SQLite and PostgreSQL: the kinds, an issue's editorial fields
(问题与建议 by the bureau's staff, 审核 and 签发 by a leader, with their status rules and
version checks), the download as Word and Excel with the Chinese file name, the bound on
concurrent generations, and Chinese messages for a bad period and a month without stored
figures."""

from __future__ import annotations

import io
from datetime import timedelta
from typing import Any
from urllib.parse import quote

import docx
import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import func, select

from qingshan.storage.db import make_engine, session_scope
from qingshan.storage.models_figures import AirDayFigure, AirPeriodFigure
from qingshan.storage.models_web import AuditEntry
from web.conftest import login

ADVICE = "一是城区PM₂.₅浓度同比上升，建议加强扬尘管控。\n\n二是泾河八里桥断面需持续监测。"


def stored_month(url: str) -> str:
    """The latest month whose region figures the seeded district has stored (its data are of
    the last two days: this month, or also the last one on the first of a month)."""
    engine = make_engine(url)
    with session_scope(engine) as s:
        months = s.scalars(
            select(AirPeriodFigure.period).where(
                AirPeriodFigure.scope == "region", func.length(AirPeriodFigure.period) == 7
            )
        ).all()
    engine.dispose()
    assert months, "no stored month figures"
    return max(months)


@pytest.fixture(scope="module")
def month(web_db: tuple[str, dict[str, int]]) -> str:
    return stored_month(web_db[0])


@pytest.fixture(scope="module")
def clients(app: Any) -> dict[str, TestClient]:
    return {r: login(app, r) for r in ("staff", "leader", "admin", "unit", "grid", "ent1")}


def _q(month: str, kind: str = "monthly") -> str:
    return f"kind={kind}&period={month}"


def test_kinds_and_who_may_see_them(app: Any, clients: dict[str, TestClient]) -> None:
    r = clients["staff"].get("/api/v1/reports/kinds")
    assert r.status_code == 200
    kinds = {k["code"]: k for k in r.json()}
    assert (
        kinds["monthly"]["name"] == "环境质量月报" and kinds["monthly"]["period_hint"] == "YYYY-MM"
    )
    assert kinds["annual"]["name"] == "环境质量年报" and kinds["annual"]["period_hint"] == "YYYY"
    for role in ("unit", "grid", "ent1"):
        assert clients[role].get("/api/v1/reports/kinds").status_code == 403, role
        assert clients[role].get("/api/v1/reports/download?" + _q("2026-02")).status_code == 403
    assert TestClient(app).get("/api/v1/reports/issue?" + _q("2026-02")).status_code == 401


def test_bad_periods_and_kinds_are_explained(clients: dict[str, TestClient]) -> None:
    c = clients["staff"]
    cases = [
        ("monthly", "2026-13", "YYYY-MM"),
        ("monthly", "202602", "YYYY-MM"),
        ("monthly", "1999-02", "超出范围"),
        ("annual", "26", "YYYY"),
        ("hourly", "2026-02-02", "没有“hourly”这种报告"),
        ("weekly", "2026-02-04", "周一：2026-02-04 所在周的周一是 2026-02-02"),
        ("daily", "2026-02-30", "YYYY-MM-DD"),
    ]
    for kind, period, words in cases:
        for path in ("issue", "download"):
            r = c.get(f"/api/v1/reports/{path}?kind={kind}&period={period}")
            assert r.status_code == 422, (kind, period, r.text)
            assert words in r.json()["detail"], r.json()
    r = c.get("/api/v1/reports/issue?kind=monthly&period=2026-02&region=999999")
    assert r.status_code == 404 and "没有代码为 999999 的地区" in r.json()["detail"]


def test_month_without_stored_figures_is_a_clear_message(clients: dict[str, TestClient]) -> None:
    r = clients["staff"].get("/api/v1/reports/download?kind=monthly&period=2019-02")
    assert r.status_code == 422
    assert r.json()["detail"].startswith("2019年2月没有已存储的空气质量计算结果")
    r = clients["leader"].get("/api/v1/reports/download?kind=annual&period=2019&format=xlsx")
    assert r.status_code == 422 and "2019年没有已存储的空气质量计算结果" in r.json()["detail"]


def test_editorial_flow_and_download(
    clients: dict[str, TestClient], month: str, web_db: tuple[str, dict[str, int]]
) -> None:
    staff, leader, admin = clients["staff"], clients["leader"], clients["admin"]
    base = "/api/v1/reports/issue?" + _q(month)
    new = staff.get(base).json()
    assert (new["status"], new["status_label"], new["version"]) == ("draft", "草稿", 0)
    assert new["signoff"] == ["审核：（待审核）", "签发：（待签发）"]
    assert new["may_edit"] and not new["may_approve"]
    # staff write; leaders and administrators approve or write only as granted
    assert leader.put(base, json={"advice": "x"}).status_code == 403
    assert staff.post(base.replace("issue?", "issue/review?"), json={}).status_code == 403
    assert admin.post(base.replace("issue?", "issue/sign?"), json={}).status_code == 403
    r = staff.put(base, json={"advice": ADVICE, "version": 0})
    assert r.status_code == 200, r.text
    saved = r.json()
    assert saved["advice"] == ADVICE and saved["version"] == 1
    # a stale version is refused, not silently overwritten
    r = admin.put(base, json={"advice": "覆盖", "version": 0})
    assert r.status_code == 409 and "已被他人修改" in r.json()["detail"]
    # 签发 needs 审核 first
    r = leader.post(base.replace("issue?", "issue/sign?"), json={"name": "王五"})
    assert r.status_code == 409 and "须先审核再签发" in r.json()["detail"]
    r = leader.post(base.replace("issue?", "issue/review?"), json={"name": "李四", "version": 1})
    assert r.status_code == 200 and r.json()["status_label"] == "已审核"
    assert r.json()["signoff"][0].startswith("审核：李四（")
    # a change after 审核 takes the issue back to 草稿
    r = staff.put(base, json={"advice": ADVICE + "\n三是补充。"})
    assert r.json()["status"] == "draft" and r.json()["reviewer_name"] is None
    r = staff.put(base, json={"advice": ADVICE})
    leader.post(base.replace("issue?", "issue/review?"), json={"name": "李四"})
    r = leader.post(base.replace("issue?", "issue/sign?"), json={})  # the account's name
    assert r.status_code == 200, r.text
    issued = r.json()
    assert issued["status_label"] == "已签发" and issued["signer_name"] == "leader"
    assert issued["signoff"][1].startswith("签发：leader（")
    # an issued report is frozen
    r = staff.put(base, json={"advice": "改"})
    assert r.status_code == 409 and "已签发" in r.json()["detail"]
    r = leader.post(base.replace("issue?", "issue/review?"), json={})
    assert r.status_code == 409
    # every step is in the audit log
    engine = make_engine(web_db[0])
    with session_scope(engine) as s:
        actions = list(
            s.scalars(
                select(AuditEntry.action)
                .where(AuditEntry.entity == "report_issue")
                .order_by(AuditEntry.id)
            )
        )
    engine.dispose()
    assert actions.count("report_issue.sign") == 1 and actions.count("report_issue.review") == 2

    # the Word file: title, 问题与建议 before the appendix, the 审核/签发 lines at the end
    r = leader.get("/api/v1/reports/download?" + _q(month) + "&format=docx")
    assert r.status_code == 200, r.text
    y, m = (int(x) for x in month.split("-"))
    name = f"崆峒区{y}年{m}月环境质量月报.docx"
    assert r.headers["content-disposition"].endswith(f"filename*=UTF-8''{quote(name)}")
    assert r.headers["content-type"].startswith("application/vnd.openxmlformats")
    text = [p.text for p in docx.Document(io.BytesIO(r.content)).paragraphs]
    assert "崆峒区环境质量月报" in text
    head = next(i for i, t in enumerate(text) if t.endswith("、问题与建议"))
    assert text[head + 1] == "一是城区PM₂.₅浓度同比上升，建议加强扬尘管控。"
    assert text[head + 2] == "二是泾河八里桥断面需持续监测。"
    assert head < next(i for i, t in enumerate(text) if t.startswith("附"))
    assert text[-2].startswith("审核：李四（") and text[-1].startswith("签发：leader（")
    # the Excel file carries them in its 说明 sheet
    r = staff.get("/api/v1/reports/download?" + _q(month) + "&format=xlsx")
    assert r.status_code == 200
    assert quote(name.replace(".docx", ".xlsx")) in r.headers["content-disposition"]
    ws = load_workbook(io.BytesIO(r.content))["说明"]
    cells = [c.value for c in ws["A"]]
    assert "二是泾河八里桥断面需持续监测。" in cells and cells[-1].startswith("签发：leader（")
    assert staff.get("/api/v1/reports/download?" + _q(month) + "&format=pdf").status_code == 422


def test_generations_are_bounded(app: Any, clients: dict[str, TestClient], month: str) -> None:
    gate = app.state.qingshan.exports
    held = 0
    while gate.try_enter():  # every slot busy (as with long generations running)
        held += 1
    try:
        r = clients["staff"].get("/api/v1/reports/download?" + _q(month))
        assert r.status_code == 503 and "报告生成任务繁忙" in r.json()["detail"]
        assert r.headers["retry-after"] == "10"
        # a bad period is still answered at once, without a slot
        assert clients["staff"].get("/api/v1/reports/download?" + _q("2026-13")).status_code == 422
    finally:
        for _ in range(held):
            gate.leave()
    assert held >= 1
    r = clients["staff"].get("/api/v1/reports/download?" + _q(month) + "&format=xlsx")
    assert r.status_code == 200


def test_daily_and_weekly_reports_download(
    web_db: tuple[str, dict[str, int]], clients: dict[str, TestClient]
) -> None:
    """The 日报 and 周报 kinds: a stored day's report and its week's, read back from Word."""
    engine = make_engine(web_db[0])
    with session_scope(engine) as s:
        day = s.scalar(
            select(func.max(AirDayFigure.day)).where(
                AirDayFigure.scope == "region", AirDayFigure.valid.is_(True)
            )
        )
    engine.dispose()
    assert day is not None, "no stored valid day"
    r = clients["staff"].get(f"/api/v1/reports/download?kind=daily&period={day.isoformat()}")
    assert r.status_code == 200, r.text
    name = f"{day.year}年{day.month}月{day.day}日"
    assert quote(name) in r.headers["content-disposition"]
    text = "\n".join(p.text for p in docx.Document(io.BytesIO(r.content)).paragraphs)
    assert "日报" in text and "首要污染物" in text
    monday = day - timedelta(days=day.weekday())
    r = clients["leader"].get(f"/api/v1/reports/download?kind=weekly&period={monday}")
    assert r.status_code == 200, r.text
    text = "\n".join(p.text for p in docx.Document(io.BytesIO(r.content)).paragraphs)
    assert "周报" in text
    if day.weekday():  # another day of the week is refused with its Monday
        r = clients["staff"].get(f"/api/v1/reports/download?kind=weekly&period={day}")
        assert r.status_code == 422 and monday.isoformat() in r.text
    r = clients["staff"].get("/api/v1/reports/download?kind=daily&period=2019-02-03")
    assert r.status_code == 422 and "日报" in r.text
