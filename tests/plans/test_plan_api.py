"""The plans API: status, tasks by unit (overdue first) and the .ics calendar, reporting
refusals as clear messages; SQLite and PostgreSQL."""

from __future__ import annotations

import io
from typing import Any

from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import Engine, select

from qingshan.roles import CLI
from qingshan.services.accounts import create_user
from qingshan.services.plans import tasks
from qingshan.settings import get_settings
from qingshan.storage.db import session_factory, session_scope
from qingshan.storage.models_registry import OrgUnit
from qingshan.web import create_app
from support.web_seed import PASSWORD
from web.conftest import login


def _client(engine: Engine, db_url: str, user: str) -> TestClient:
    settings = get_settings(db_url=db_url, web_cookie_secure=False)
    return login(create_app(settings, session_factory(engine)), user)


def test_tasks_status_and_calendar(engine: Engine, db_url: str) -> None:
    with session_scope(engine) as s:
        tasks.load(s, CLI, "jiayuguan-2020")
        hw = s.scalar(select(OrgUnit.code).where(OrgUnit.name == "市环卫局"))
        create_user(s, CLI, username="staff", password=PASSWORD, role="staff")
        create_user(s, CLI, username="huanwei", password=PASSWORD, role="unit", unit=hw)
    staff = _client(engine, db_url, "staff")
    unit = _client(engine, db_url, "huanwei")
    try:
        rows: list[dict[str, Any]] = staff.get("/api/v1/plans/jiayuguan-2020/tasks").json()
        assert len(rows) == 31 and rows[0]["no"] == "15" and rows[0]["overdue"] is True
        mine = unit.get("/api/v1/plans/jiayuguan-2020/tasks").json()
        assert [r["no"] for r in mine] == ["15", "7"]  # a unit user sees its own unit's
        r = unit.get("/api/v1/plans/jiayuguan-2020/tasks.ics")
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/calendar")
        assert r.text.count("BEGIN:VEVENT") == 2
        st = staff.get("/api/v1/plans/jiayuguan-2020/status", params={"year": 2020}).json()
        assert len(st["indicators"]) == 14
        assert staff.get("/api/v1/plans").json()[0]["template_id"] == "jiayuguan-2020"
        bad = unit.post(
            "/api/v1/plans/jiayuguan-2020/reports",
            json={"indicator_no": "6", "year": 2020, "value": "96"},
        )
        assert bad.status_code == 422 and "自动计算" in bad.json()["detail"]
        assert staff.get("/api/v1/plans/nowhere/status").status_code == 404
        x = staff.get("/api/v1/plans/jiayuguan-2020/export.xlsx", params={"year": 2020})
        assert x.status_code == 200 and x.content[:2] == b"PK"
        sheets = load_workbook(io.BytesIO(x.content)).sheetnames
        assert sheets == ["说明", "规划指标", "规划任务"]
        done = staff.post(
            "/api/v1/plans/jiayuguan-2020/tasks/15/complete", json={"on": "2019-06-29"}
        )
        assert done.status_code == 200, done.text
        first = staff.get("/api/v1/plans/jiayuguan-2020/tasks").json()[0]
        assert first["no"] != "15"  # no longer overdue
        refused = unit.post(
            "/api/v1/plans/jiayuguan-2020/tasks/7/complete", json={"on": "2020-01-01"}
        )
        assert refused.status_code == 403
    finally:
        staff.close()
        unit.close()
