"""Workflow instances through the service: the registry import flow end to end with its
workbook as evidence, refusals with their reasons, the timeline and audit of every step, and
deadlines on the working-day calendar with reminders and overdue notices (SQLite and
PostgreSQL)."""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, select, update

from qingshan.clock import cst_today, from_cst, utcnow
from qingshan.roles import Principal
from qingshan.services import attachments, notifications, scheduler, timeline, workcalendar
from qingshan.services import workflows as wfs
from qingshan.services.attachments import AttachmentStore, Limits
from qingshan.services.errors import Conflict
from qingshan.services.notifications import OutboxSms, Senders
from qingshan.storage.db import session_scope
from qingshan.storage.models_casework import InboxMessage, ScheduledJob, WorkflowInstance
from qingshan.storage.models_web import AuditEntry
from qingshan.workdays import add_working_days

from . import files
from .conftest import make_users

LIMITS = Limits(5 * 1024 * 1024, 4_000_000, 20 * 1024 * 1024)


class _refused:
    def __init__(self, code: str) -> None:
        self.code = code
        self.message = ""

    def __enter__(self) -> _refused:
        return self

    def __exit__(self, kind: object, exc: BaseException | None, _tb: object) -> bool:
        assert isinstance(exc, wfs.WorkflowRefused), f"expected a refusal, got {exc!r}"
        assert exc.decision.code == self.code, exc.decision
        self.message = str(exc)
        return True


def test_registry_import_flow_end_to_end(engine: Engine, tmp_path: Path) -> None:
    users = make_users(engine)
    admin, staff, grid = users["admin"], users["staff"], users["grid"]
    store = AttachmentStore(tmp_path / "att", LIMITS)
    with session_scope(engine) as s:
        with _refused("role") as r:
            wfs.start(s, grid, "registry_import", entity_type="registry_import", entity_id="1")
        assert r.message == "角色「网格员」无权发起登记表导入"
        inst = wfs.start(s, staff, "registry_import", entity_type="registry_import", entity_id=1)
        iid = inst.id
        assert inst.state == "uploaded" and inst.due_on is None
        with pytest.raises(Conflict):
            wfs.start(s, staff, "registry_import", entity_type="registry_import", entity_id=1)
    with session_scope(engine) as s:
        with _refused("missing_evidence") as r:
            wfs.fire(s, staff, iid, "validate", fields={"rows_total": 2, "report": "2 行，无错误"})
        assert r.message == "校验通过前须上传「登记表工作簿」"
    with session_scope(engine) as s:
        attachments.add(
            s,
            store,
            staff,
            files.xlsx(),
            file_name="登记表.xlsx",
            entity_type="registry_import",
            entity_id="1",
            evidence="workbook",
        )
        with _refused("missing_fields") as r:
            wfs.fire(s, staff, iid, "validate", fields={"rows_total": 2})
        assert "「校验报告」" in r.message
        inst = wfs.fire(
            s, staff, iid, "validate", fields={"rows_total": 2, "report": "2 行，无错误"}
        )
        assert inst.state == "validated"
        with _refused("role") as r:
            wfs.fire(s, staff, iid, "import", fields={"rows_written": 2})
        assert r.message == "角色「生态环境局工作人员」无权导入"
        inst = wfs.fire(s, admin, iid, "import", fields={"rows_written": 2}, note="一次性写入")
        assert inst.state == "imported" and inst.due_on is None
        with _refused("final_state"):
            wfs.fire(s, admin, iid, "reject", fields={"reason": "晚了"})
    with session_scope(engine) as s:
        events = timeline.events(s, admin, "registry_import", "1")
        assert [e.action for e in events] == [
            "registry_import.start",
            "attachment.add",
            "registry_import.validate",
            "registry_import.import",
        ]
        last = events[-1]
        assert last.summary == "导入：「已校验」→「已导入」（一次性写入）"
        assert timeline.decode(last.before)["state"] == "validated"  # type: ignore[index]
        after = timeline.decode(last.after)
        assert after is not None and after["fields"]["rows_written"] == 2
        audited = s.scalars(select(AuditEntry.action).where(AuditEntry.entity == "registry_import"))
        assert list(audited) == [
            "registry_import.start",
            "registry_import.validate",
            "registry_import.import",
        ]
        stored = s.get(WorkflowInstance, iid)
        assert stored is not None and json.loads(stored.fields) == {
            "rows_total": 2,
            "report": "2 行，无错误",
            "rows_written": 2,
        }


def test_field_values_are_checked_against_the_definition(engine: Engine) -> None:
    users = make_users(engine)
    with session_scope(engine) as s:
        inst = wfs.start(
            s,
            users["staff"],
            "complaint",
            entity_type="complaint",
            entity_id="C1",
            fields={"channel": "12369"},
        )
        with pytest.raises(wfs.ServiceError, match="没有字段 'colour'"):
            wfs.fire(s, users["staff"], inst.id, "accept", fields={"colour": "red"})
        with pytest.raises(wfs.ServiceError, match="应为 12369、来信"):
            wfs.fire(s, users["staff"], inst.id, "accept", fields={"channel": "微信"})


def _jobs(engine: Engine) -> list[ScheduledJob]:
    with session_scope(engine) as s:
        return list(s.scalars(select(ScheduledJob).order_by(ScheduledJob.id)))


def test_deadlines_are_scheduled_on_working_days_and_remind(engine: Engine, tmp_path: Path) -> None:
    users = make_users(engine)
    admin, staff = users["admin"], users["staff"]
    store = AttachmentStore(tmp_path / "att", LIMITS)
    with session_scope(engine) as s:
        notifications.set_contact(
            s, admin.user_id or 0, email=None, mobile="13800000000", sms_enabled=True
        )
        # a county holiday three working days ahead moves the deadline one more day
        inst = wfs.start(s, staff, "registry_import", entity_type="registry_import", entity_id=9)
        attachments.add(
            s,
            store,
            staff,
            files.xlsx(),
            file_name="a.xlsx",
            entity_type="registry_import",
            entity_id="9",
            evidence="workbook",
        )
        iid = inst.id
    today = cst_today()
    with session_scope(engine) as s:
        cal = workcalendar.calendar(s)
        plain = add_working_days(cal, today, 3).due
        workcalendar.set_day(s, admin, add_working_days(cal, today, 2).due, "holiday", "县庆放假")
    with session_scope(engine) as s:
        inst = wfs.fire(s, staff, iid, "validate", fields={"rows_total": 1, "report": "ok"})
        expected = add_working_days(workcalendar.calendar(s), today, 3).due
        assert expected > plain
        assert inst.due_on == expected
    jobs = _jobs(engine)
    assert [json.loads(j.payload)["stage"] for j in jobs] == ["remind", "overdue"]
    remind, overdue = jobs
    assert json.loads(remind.payload)["due"] == expected.isoformat()
    assert overdue.run_at == from_cst(
        datetime.combine(date.fromordinal(expected.toordinal() + 1), wfs.REMIND_AT)
    )
    # time passes: the reminder is due
    with session_scope(engine) as s:
        s.execute(update(ScheduledJob).where(ScheduledJob.id == remind.id).values(run_at=utcnow()))
    outbox = OutboxSms(tmp_path / "sms.jsonl")
    ctx = scheduler.JobContext(scheduler.worker_id(), {"senders": Senders(sms=outbox)})
    assert scheduler.run_due(engine, ctx, wfs.JOB_HANDLERS).done == 1
    with session_scope(engine) as s:
        msgs = notifications.inbox(s, admin)
        assert [m.kind for m in msgs] == ["reminder"]
        assert msgs[0].subject == (
            f"【期限提醒】登记表导入（registry_import 9）「已校验」将于 {expected.isoformat()} 到期"
        )
        assert "工作日" in msgs[0].body
        assert notifications.inbox(s, staff) == []  # the definition notifies administrators
        assert outbox.sent() == []  # reminders go to the inbox (and e-mail), not SMS
        events = timeline.events(s, admin, "registry_import", "9")
        assert events[-1].action == "registry_import.reminder"
    # overdue: an SMS too
    with session_scope(engine) as s:
        s.execute(update(ScheduledJob).where(ScheduledJob.id == overdue.id).values(run_at=utcnow()))
    summary = scheduler.run_due(engine, ctx, wfs.JOB_HANDLERS)
    assert summary.done == 2  # the overdue notice and its SMS delivery
    sms = outbox.sent()
    assert [(m["mobile"], m["text"][:5]) for m in sms] == [("13800000000", "【已逾期】")]


def test_a_reminder_for_a_state_left_behind_does_nothing(engine: Engine, tmp_path: Path) -> None:
    users = make_users(engine)
    admin, staff = users["admin"], users["staff"]
    store = AttachmentStore(tmp_path / "att", LIMITS)
    with session_scope(engine) as s:
        inst = wfs.start(s, staff, "registry_import", entity_type="registry_import", entity_id=5)
        attachments.add(
            s,
            store,
            staff,
            files.xlsx(),
            file_name="a.xlsx",
            entity_type="registry_import",
            entity_id="5",
            evidence="workbook",
        )
        wfs.fire(s, staff, inst.id, "validate", fields={"rows_total": 1, "report": "ok"})
        wfs.fire(s, admin, inst.id, "import", fields={"rows_written": 1})
        s.execute(update(ScheduledJob).values(run_at=utcnow()))
    summary = scheduler.run_due(engine, scheduler.JobContext("w"), wfs.JOB_HANDLERS)
    assert summary.done == 2
    with session_scope(engine) as s:
        assert list(s.scalars(select(InboxMessage))) == []


def _walk(
    s: object, actor: Principal, iid: int, steps: list[tuple[str, dict[str, object]]]
) -> WorkflowInstance:
    inst = None
    for name, values in steps:
        inst = wfs.fire(s, actor, iid, name, fields=values)  # type: ignore[arg-type]
    assert inst is not None
    return inst


def test_complaint_flow_with_reopening(engine: Engine, tmp_path: Path) -> None:
    users = make_users(engine)
    store = AttachmentStore(tmp_path / "att", LIMITS)
    staff, grid = users["staff"], users["grid"]
    with session_scope(engine) as s:
        inst = wfs.start(
            s,
            grid,
            "complaint",
            entity_type="complaint",
            entity_id="D3SX0018",
            fields={"channel": "督察转办"},
            assignee_unit="水务局",
        )
        iid = inst.id
        assert inst.due_on is not None  # 15 日 to decide acceptance
        inst = wfs.fire(s, staff, iid, "accept", fields={"accept_decision": "受理"})
        assert inst.due_on is None  # the 60-day limit is the case's own (services.cases)
        inst = wfs.fire(s, staff, iid, "transfer", fields={"handling_unit": "水务局"})
        with _refused("missing_evidence"):
            wfs.fire(s, grid, iid, "handle", fields={"finding": "属实", "measures": "责令整改"})
        attachments.add(
            s,
            store,
            grid,
            files.jpeg_with_exif(),
            file_name="现场.jpg",
            entity_type="complaint",
            entity_id="D3SX0018",
            evidence="inspection_record",
        )
        inst = wfs.fire(s, grid, iid, "handle", fields={"finding": "属实", "measures": "责令整改"})
        attachments.add(
            s,
            store,
            staff,
            files.docx_file(),
            file_name="答复意见.docx",
            entity_type="complaint",
            entity_id="D3SX0018",
            evidence="reply",
        )
        inst = _walk(
            s,
            staff,
            iid,
            [
                ("reply", {"reply_text": "已责令停产整治"}),
                ("conclude", {"handling_result": "已办结"}),
                ("reopen", {"visit_note": "举报人不满意：仍有异味"}),
            ],
        )
        assert inst.state == "accepted"  # back to handling
        inst = _walk(
            s,
            staff,
            iid,
            [
                ("handle", {"finding": "部分属实"}),
                ("reply", {}),
                ("conclude", {}),
                ("visit", {"satisfied": True, "visit_note": "满意"}),
            ],
        )
        assert inst.state == "visited" and inst.due_on is None
    periods = {
        json.loads(j.payload)["since"] for j in _jobs(engine) if j.kind == "workflow_deadline"
    }
    assert periods == {"registered"}
    with session_scope(engine) as s:
        actions = [e.action for e in timeline.events(s, staff, "complaint", "D3SX0018")]
        assert actions.count("complaint.handle") == 2 and actions[-1] == "complaint.visit"
