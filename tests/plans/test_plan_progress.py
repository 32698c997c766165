"""Progress on plan tasks reported by a responsible unit with evidence and reviewed by the
bureau (workflow ``plan_task_progress``); accepted progress is shown with the task, over the
API as in the service. SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from qingshan.roles import CLI, Principal
from qingshan.services import attachments
from qingshan.services.accounts import create_user, get_user, principal_of
from qingshan.services.errors import NotFound
from qingshan.services.plans import PlanError, progress, tasks
from qingshan.services.workflows import WorkflowRefused
from qingshan.settings import get_settings
from qingshan.storage.db import session_factory, session_scope
from qingshan.storage.models_casework import TimelineEvent
from qingshan.storage.models_registry import OrgUnit
from qingshan.web import create_app
from support.web_seed import PASSWORD
from web.conftest import login

LIMITS = attachments.Limits(max_bytes=1 << 20, max_pixels=1_000_000, max_unpacked=1 << 22)
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PLAN = "jiayuguan-2020"


def test_a_unit_reports_progress_with_evidence_and_staff_review(
    engine: Engine, db_url: str, tmp_path: Path
) -> None:
    store = attachments.AttachmentStore(tmp_path / "att", LIMITS)
    with session_scope(engine) as s:
        tasks.load(s, CLI, PLAN)
        hw = s.scalar(select(OrgUnit.code).where(OrgUnit.name == "市环卫局"))
        assert hw is not None
        s.add(OrgUnit(code="OTHER", name="某无关单位", kind="department", region_code="620200"))
        s.flush()
        create_user(s, CLI, username="staff", password=PASSWORD, role="staff")
        create_user(s, CLI, username="huanwei", password=PASSWORD, role="unit", unit=hw)
        create_user(s, CLI, username="other", password=PASSWORD, role="unit", unit="OTHER")
    settings = get_settings(db_url=db_url, web_cookie_secure=False)
    clients = {u: login(create_app(settings, session_factory(engine)), u) for u in
               ("staff", "huanwei", "other")}  # fmt: skip
    staff, unit, other = clients["staff"], clients["huanwei"], clients["other"]
    base = f"/api/v1/plans/{PLAN}"
    try:
        # 市环卫局 carries task 15; an unrelated unit may not report on it
        bad = other.post(base + "/tasks/15/progress", json={"percent": 50, "text": "x"})
        assert bad.status_code == 422 and "不是您单位的任务" in bad.json()["detail"]
        assert (
            unit.post(base + "/tasks/15/progress", json={"percent": 101, "text": "x"}).status_code
            == 422
        )
        assert (
            unit.post(base + "/tasks/99/progress", json={"percent": 5, "text": "x"}).status_code
            == 422
        )
        r = unit.post(
            base + "/tasks/15/progress", json={"percent": 60, "text": "已建成垃圾转运站2座"}
        )
        assert r.status_code == 201, r.text
        rid = r.json()["id"]
        assert (r.json()["state"], r.json()["percent"], r.json()["unit_code"]) == (
            "draft",
            60,
            hw,
        )
        # no evidence yet: refused with the specific reason
        with session_scope(engine) as s, pytest.raises(WorkflowRefused, match="佐证材料"):
            progress.submit(s, _principal(s, "huanwei"), rid)
        with session_scope(engine) as s:
            with pytest.raises(NotFound):  # another unit neither sees nor attaches to it
                attachments.add(
                    s, store, _principal(s, "other"), PDF, file_name="x.pdf",
                    entity_type=progress.ENTITY, entity_id=rid, evidence="evidence",
                )  # fmt: skip
            attachments.add(
                s, store, _principal(s, "huanwei"), PDF, file_name="转运站验收.pdf",
                entity_type=progress.ENTITY, entity_id=rid, evidence="evidence",
            )  # fmt: skip
        assert other.get("/api/v1/plans/progress").json() == []
        sub = unit.post(f"/api/v1/plans/progress/{rid}/submit", json={})
        assert sub.status_code == 200 and sub.json()["state_label"] == "已报送"
        queue = staff.get("/api/v1/plans/progress", params={"state": "submitted"}).json()
        assert [(q["id"], q["task_no"], q["evidence"]) for q in queue] == [(rid, "15", 1)]
        assert (
            unit.post(f"/api/v1/plans/progress/{rid}/review", json={"accept": True}).status_code
            == 403
        )
        back = staff.post(
            f"/api/v1/plans/progress/{rid}/review",
            json={"accept": False, "reason": "请附验收单"},
        )
        assert back.json()["state"] == "returned" and back.json()["reason"] == "请附验收单"
        again = unit.post(f"/api/v1/plans/progress/{rid}/submit", json={"percent": 80})
        assert again.json()["state"] == "submitted" and again.json()["percent"] == 80
        staff.post(f"/api/v1/plans/progress/{rid}/review", json={"accept": True})
        listed = {t["no"]: t for t in unit.get(base + "/tasks").json()}
        (p,) = listed["15"]["progress"]
        assert (p["unit_code"], p["percent"], p["text"], p["report_id"]) == (
            hw,
            80,
            "已建成垃圾转运站2座",
            rid,
        )
        assert listed["7"]["progress"] == []
        with session_scope(engine) as s:
            actions = s.scalars(
                select(TimelineEvent.action)
                .where(TimelineEvent.entity_type == progress.ENTITY)
                .order_by(TimelineEvent.id)
            ).all()
            assert len(actions) >= 5  # start, attach, submit, return, resubmit, accept
            with pytest.raises(PlanError, match="没有权限"):
                progress.review(s, _principal(s, "huanwei"), rid, accept=True)
    finally:
        for c in clients.values():
            c.close()


def _principal(s: Session, username: str) -> Principal:
    return principal_of(get_user(s, username), "web")
