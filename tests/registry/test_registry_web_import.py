"""The registry's web import through the API (SQLite and PostgreSQL): a workbook is uploaded
and checked without writing, then imported all at once (or rejected), each step on the
import's timeline; a bad workbook is refused with the row-numbered report and nothing kept."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from reghelpers import STEEL
from sqlalchemy import Engine, func, select
from test_registry_jiayuguan import _fill

from qingshan.roles import CLI
from qingshan.services import workcalendar
from qingshan.services.accounts import create_user
from qingshan.services.registry import workbook
from qingshan.settings import get_settings
from qingshan.storage.db import session_factory, session_scope
from qingshan.storage.models import Enterprise, Region, Site
from qingshan.storage.models_casework import (
    AttachmentLink,
    ScheduledJob,
    TimelineEvent,
    WorkflowInstance,
)
from qingshan.storage.models_web import AuditEntry
from qingshan.web import create_app
from support.web_seed import PASSWORD
from web.conftest import login

URL = "/api/v1/registry/imports"
SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def clients(engine: Engine, db_url: str, tmp_path: Path) -> Iterator[dict[str, TestClient]]:
    with session_scope(engine) as s:
        for name, role in (
            ("admin1", "admin"),
            ("admin2", "admin"),
            ("staff1", "staff"),
            ("leader1", "leader"),
        ):
            create_user(s, CLI, username=name, password=PASSWORD, role=role)
    settings = get_settings(
        db_url=db_url, web_cookie_secure=False, attachments_dir=str(tmp_path / "files")
    )
    app = create_app(settings, session_factory(engine))
    out = {name: login(app, name) for name in ("admin1", "admin2", "staff1", "leader1")}
    yield out
    for c in out.values():
        c.close()


def _good() -> bytes:
    return _fill(workbook.template())


def _bad() -> bytes:
    wb = load_workbook(io.BytesIO(_good()))
    wb["点位"].cell(row=4, column=5).value = 9.825  # the second site's longitude: outside China
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _upload(c: TestClient, data: bytes, name: str = "嘉峪关登记表.xlsx") -> Any:
    return c.post(
        URL,
        params={"file_name": name},
        content=data,
        headers={"Content-Type": "application/octet-stream"},
    )


def _counts(engine: Engine) -> dict[str, int]:
    with session_scope(engine) as s:
        return {
            m.__name__: s.scalar(select(func.count()).select_from(m)) or 0
            for m in (
                Region,
                Enterprise,
                Site,
                WorkflowInstance,
                AttachmentLink,
                TimelineEvent,
                AuditEntry,
            )
        }


def test_upload_validate_import(engine: Engine, clients: dict[str, TestClient]) -> None:
    staff, admin = clients["staff1"], clients["admin1"]
    data = _good()
    r = _upload(staff, data)
    assert r.status_code == 201, r.text
    up = r.json()
    assert (up["state"], up["state_label"]) == ("validated", "已校验")
    assert up["file_name"] == "嘉峪关登记表.xlsx"
    report = up["report"]
    assert report["ok"] and not report["committed"] and report["problems"] == []
    assert report["counts"]["点位"] == {"created": 3, "updated": 0, "unchanged": 0}
    assert report["counts"]["行政区划"]["created"] == 3
    total = sum(sum(c.values()) for c in report["counts"].values())
    assert up["rows_total"] == total
    # checked, nothing written to the registry
    assert _counts(engine)["Region"] == 0 and _counts(engine)["Site"] == 0
    # the workbook is the import's evidence, downloadable as uploaded
    files = staff.get(
        "/api/v1/attachments",
        params={"entity_type": "registry_import", "entity_id": up["entity_id"]},
    )
    assert [(f["id"], f["evidence"], f["kind"]) for f in files.json()] == [
        (up["attachment_id"], "workbook", "xlsx")
    ]
    assert staff.get(f"/api/v1/attachments/{up['attachment_id']}/content").content == data
    assert staff.get(f"{URL}/{up['id']}").json() == up
    assert [i["id"] for i in staff.get(URL).json()] == [up["id"]]

    # writing it is the administrators': staff and leaders are refused
    assert staff.post(f"{URL}/{up['id']}/import").status_code == 403
    assert clients["leader1"].post(f"{URL}/{up['id']}/import").status_code == 403
    assert clients["leader1"].get(URL).status_code == 403
    assert _upload(clients["leader1"], data).status_code == 403
    assert _counts(engine)["Site"] == 0

    r = admin.post(f"{URL}/{up['id']}/import")
    assert r.status_code == 200, r.text
    done = r.json()
    assert (done["state"], done["state_label"]) == ("imported", "已导入")
    assert done["rows_written"] == total  # all new
    assert done["report"]["committed"]
    with session_scope(engine) as s:
        assert set(s.scalars(select(Site.code))) == {"JYG-A01", "JYG-W01", "JYG-E01/DA001"}
        assert set(s.scalars(select(Enterprise.credit_code))) == {STEEL}
        assert s.get(Region, "620200") is not None
        # each registry change is on its entity's timeline beside its audit entry
        regions = list(
            s.scalars(select(TimelineEvent).where(TimelineEvent.entity_type == "region"))
        )
        assert sorted(e.entity_id for e in regions) == ["620000", "620200", "620201100"]
        assert {(e.action, e.actor_name) for e in regions} == {("create", "admin1")}
        audited = s.scalar(
            select(func.count()).select_from(AuditEntry).where(AuditEntry.entity == "region")
        )
        assert audited == 3
    # the registry's lists show what was imported
    listed = {
        what: staff.get(f"/api/v1/registry/{what}").json()
        for what in ("regions", "units", "enterprises", "sites")
    }
    assert [(r["code"], r["level_label"], r["has_boundary"]) for r in listed["regions"]] == [
        ("620000", "省级", False),
        ("620200", "地级", True),
        ("620201100", "乡级", False),
    ]
    assert [(u["code"], u["kind_label"]) for u in listed["units"]] == [("JYG-SHJJ", "部门")]
    assert [(e["credit_code"], e["control_level"]) for e in listed["enterprises"]] == [
        (STEEL, "国控")
    ]
    outlet = next(x for x in listed["sites"] if x["code"] == "JYG-E01/DA001")
    assert (outlet["kind_label"], outlet["enterprise_credit_code"]) == ("排放口", STEEL)
    # leaders read the registry lists (and only read: edits and imports are refused)
    assert clients["leader1"].get("/api/v1/registry/sites").status_code == 200
    # the import's own timeline: start, the workbook, validated, imported
    steps = admin.get(f"/api/v1/timeline/registry_import/{up['entity_id']}").json()
    assert [e["action"] for e in steps] == [
        "attachment.add",
        "registry_import.start",
        "registry_import.validate",
        "registry_import.import",
    ]
    assert [e["actor"] for e in steps] == ["staff1", "staff1", "staff1", "admin1"]
    # every administrator is told, staff are not
    for name in ("admin1", "admin2"):
        inbox = clients[name].get("/api/v1/inbox").json()
        assert [(m["kind"], m["entity_id"]) for m in inbox["messages"]] == [
            ("registry_import", up["entity_id"])
        ]
        assert "嘉峪关登记表.xlsx" in inbox["messages"][0]["subject"]
    assert clients["staff1"].get("/api/v1/inbox").json()["messages"] == []

    # a finished import cannot be imported or rejected again
    assert admin.post(f"{URL}/{up['id']}/import").status_code == 409
    assert admin.post(f"{URL}/{up['id']}/reject", json={"reason": "重复"}).status_code == 409

    # the same workbook again: validated as all unchanged, imported writing nothing new
    again = _upload(staff, data).json()
    assert again["id"] != up["id"] and again["entity_id"] != up["entity_id"]
    assert all(c["created"] == 0 and c["updated"] == 0 for c in again["report"]["counts"].values())
    r = admin.post(f"{URL}/{again['id']}/import")
    assert r.status_code == 200 and r.json()["rows_written"] == 0


def test_reject(engine: Engine, clients: dict[str, TestClient]) -> None:
    staff, admin = clients["staff1"], clients["admin1"]
    up = _upload(staff, _good()).json()
    assert staff.post(f"{URL}/{up['id']}/reject", json={"reason": " "}).status_code == 422
    r = staff.post(f"{URL}/{up['id']}/reject", json={"reason": "区划边界来源未核实"})
    assert r.status_code == 200, r.text
    out = r.json()
    assert (out["state"], out["state_label"], out["reason"]) == (
        "rejected",
        "已驳回",
        "区划边界来源未核实",
    )
    assert admin.post(f"{URL}/{up['id']}/import").status_code == 409
    assert _counts(engine)["Region"] == 0
    steps = admin.get(f"/api/v1/timeline/registry_import/{up['entity_id']}").json()
    assert steps[-1]["action"] == "registry_import.reject"
    assert "区划边界来源未核实" in (steps[-1]["after"]["fields"]["reason"])
    assert admin.get(f"{URL}/999999").status_code == 404
    assert admin.post(f"{URL}/999999/import").status_code == 404


def test_a_bad_workbook_is_refused_with_the_report_and_nothing_kept(
    engine: Engine, clients: dict[str, TestClient]
) -> None:
    before = _counts(engine)
    r = _upload(clients["staff1"], _bad())
    assert r.status_code == 422, r.text
    detail = r.json()["detail"]
    assert detail["message"] == "登记表有错误，未写入任何数据"
    assert not detail["report"]["ok"] and not detail["report"]["committed"]
    [problem] = detail["report"]["problems"]
    assert (problem["sheet"], problem["row"]) == ("点位", 4)
    assert "不在中国境内" in problem["message"]
    # not a file that is not a workbook either (refused by the same report)
    r = _upload(clients["staff1"], b"%PDF-1.4 not a workbook", name="登记表.xlsx")
    assert r.status_code == 422
    assert r.json()["detail"]["report"]["problems"][0]["sheet"] == "工作簿"
    # nothing at all was kept: no registry rows, no upload, no workflow, no timeline, no audit
    assert _counts(engine) == before
    assert clients["staff1"].get(URL).json() == []


def test_a_checked_workbook_is_due_in_three_working_days(
    engine: Engine, clients: dict[str, TestClient]
) -> None:
    """The workflow's deadline on the working-day calendar: a workbook waiting in 已校验 is
    due 3 working days after it was checked (weekends and holidays skipped), with a reminder
    and an overdue notice scheduled for the administrators."""
    up = _upload(clients["staff1"], _good()).json()
    with session_scope(engine) as s:
        inst = s.get(WorkflowInstance, up["id"])
        assert inst is not None and inst.due_on is not None
        entered = json.loads(inst.entered)["validated"]
        start = datetime.fromisoformat(entered).replace(tzinfo=UTC).astimezone(SHANGHAI).date()
        cal = workcalendar.calendar(s)
        assert cal.is_working_day(inst.due_on)
        days = (inst.due_on - start).days
        between = [start + timedelta(days=i) for i in range(1, days + 1)]
        assert sum(cal.is_working_day(d) for d in between) == 3
        jobs = list(
            s.scalars(
                select(ScheduledJob)
                .where(ScheduledJob.kind == "workflow_deadline")
                .order_by(ScheduledJob.id)
            )
        )
        stages = [json.loads(j.payload)["stage"] for j in jobs]
        assert stages == ["remind", "overdue"]
        assert {json.loads(j.payload)["due"] for j in jobs} == {inst.due_on.isoformat()}
