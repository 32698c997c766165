"""The scheduler (leases: exactly one runner does each job, also across two real processes),
the inbox, e-mail through a real SMTP server on 127.0.0.1 (aiosmtpd) and the SMS outbox.
SQLite and PostgreSQL."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import timedelta
from email import message_from_bytes
from email.header import decode_header, make_header
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import Engine, func, select, update
from sqlalchemy.orm import Session

from qingshan.clock import utcnow
from qingshan.services import notifications, scheduler, workflows
from qingshan.services.notifications import OutboxSms, Senders, SmtpSender
from qingshan.settings import get_settings
from qingshan.storage.db import session_scope
from qingshan.storage.models_casework import InboxMessage, NotificationDelivery, ScheduledJob

from .conftest import make_users

HERE = Path(__file__).parent
SRC = HERE.parents[1] / "src"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Mailbox:
    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], bytes]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp_server() -> Iterator[tuple[int, Mailbox]]:
    box = Mailbox()
    port = _free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    yield port, box
    controller.stop()


def _ctx(**services: Any) -> scheduler.JobContext:
    return scheduler.JobContext(scheduler.worker_id(), services)


def _count(s: Session, model: Any) -> int:
    return int(s.scalar(select(func.count()).select_from(model)) or 0)


# ---------------------------------------------------------------------------- the inbox


def test_inbox_is_per_user_and_read_marks_are_ones_own(engine: Engine) -> None:
    users = make_users(engine)
    admin, staff = users["admin"], users["staff"]
    with session_scope(engine) as s:
        notifications.notify(
            s,
            [admin.user_id or 0, staff.user_id or 0],
            kind="notice",
            subject="测试通知",
            body="内容",
            entity_type="complaint",
            entity_id="C1",
        )
        notifications.notify(s, [admin.user_id or 0], kind="notice", subject="第二条", body="")
    with session_scope(engine) as s:
        mine = notifications.inbox(s, admin)
        assert [m.subject for m in mine] == ["第二条", "测试通知"]
        assert notifications.unread_count(s, admin) == 2
        assert notifications.unread_count(s, staff) == 1
        staff_msg = notifications.inbox(s, staff)[0]
        with pytest.raises(notifications.NotFound):
            notifications.mark_read(s, admin, staff_msg.id)
        notifications.mark_read(s, admin, mine[1].id)
        assert notifications.unread_count(s, admin) == 1
        assert [m.subject for m in notifications.inbox(s, admin, unread_only=True)] == ["第二条"]
        assert notifications.mark_all_read(s, admin) == 1
        assert notifications.unread_count(s, admin) == 0
        assert notifications.unread_count(s, staff) == 1
        # no contact: no deliveries queued
        assert _count(s, NotificationDelivery) == 0


def test_recipients_by_role_and_unit(engine: Engine) -> None:
    users = make_users(engine)
    with session_scope(engine) as s:
        got = notifications.users_with_roles(s, ["staff", "unit"], unit="水务局")
    assert got == sorted([users["staff"].user_id, users["unit"].user_id])  # not 自然资源局


def test_contacts_are_checked(engine: Engine) -> None:
    users = make_users(engine)
    with session_scope(engine) as s:
        with pytest.raises(ValueError, match="电子邮箱"):
            notifications.set_contact(s, users["admin"].user_id or 0, email="nope", mobile=None)
        with pytest.raises(ValueError, match="手机号码"):
            notifications.set_contact(s, users["admin"].user_id or 0, email=None, mobile="123")


# ---------------------------------------------------------------------------- e-mail and SMS


def test_email_is_delivered_to_a_real_smtp_server(
    engine: Engine, smtp_server: tuple[int, Mailbox]
) -> None:
    port, box = smtp_server
    users = make_users(engine)
    uid = users["staff"].user_id or 0
    with session_scope(engine) as s:
        notifications.set_contact(s, uid, email="zhang@example.org", mobile=None)
        notifications.notify(
            s,
            [uid],
            kind="reminder",
            subject="【期限提醒】信访件即将到期",
            body="请于 2026-03-10 前办结。",
        )
    sender = SmtpSender("127.0.0.1", port, "qingshan@example.org")
    summary = scheduler.run_due(engine, _ctx(senders=Senders(email=sender)), workflows.JOB_HANDLERS)
    assert summary.done == 1
    assert len(box.messages) == 1
    mail_from, rcpt, raw = box.messages[0]
    assert (mail_from, rcpt) == ("qingshan@example.org", ["zhang@example.org"])
    msg = message_from_bytes(raw)
    assert str(make_header(decode_header(msg["Subject"]))) == "【期限提醒】信访件即将到期"
    body = msg.get_payload(decode=True)
    assert isinstance(body, bytes) and "请于 2026-03-10 前办结。" in body.decode("utf-8")
    with session_scope(engine) as s:
        d = s.scalars(select(NotificationDelivery)).one()
        assert (d.channel, d.status, d.attempts) == ("email", "sent", 1)
        assert d.provider_id == msg["Message-ID"]


def test_a_failed_delivery_is_recorded_and_retried(
    engine: Engine, smtp_server: tuple[int, Mailbox]
) -> None:
    port, box = smtp_server
    users = make_users(engine)
    uid = users["staff"].user_id or 0
    with session_scope(engine) as s:
        notifications.set_contact(s, uid, email="li@example.org", mobile=None)
        notifications.notify(s, [uid], kind="notice", subject="通知", body="正文")
    down = SmtpSender("127.0.0.1", _free_port(), "qingshan@example.org", timeout=2)
    first = scheduler.run_due(engine, _ctx(senders=Senders(email=down)), workflows.JOB_HANDLERS)
    assert (first.done, first.retried) == (0, 1)
    with session_scope(engine) as s:
        d = s.scalars(select(NotificationDelivery)).one()
        assert (d.status, d.attempts) == ("pending", 1)
        assert d.last_error and "ConnectionRefused" in d.last_error
        job = s.scalars(select(ScheduledJob)).one()
        assert job.status == "pending" and job.run_at > utcnow() + timedelta(seconds=60)
        job.run_at = utcnow()  # time passes
    up = SmtpSender("127.0.0.1", port, "qingshan@example.org")
    second = scheduler.run_due(engine, _ctx(senders=Senders(email=up)), workflows.JOB_HANDLERS)
    assert second.done == 1 and len(box.messages) == 1
    with session_scope(engine) as s:
        d = s.scalars(select(NotificationDelivery)).one()
        assert (d.status, d.attempts, d.last_error) == ("sent", 2, None)


def test_sms_goes_through_the_pluggable_sender(engine: Engine, tmp_path: Path) -> None:
    users = make_users(engine)
    uid = users["grid"].user_id or 0
    outbox = OutboxSms(tmp_path / "sms.jsonl")
    with session_scope(engine) as s:
        notifications.set_contact(s, uid, email=None, mobile="13912345678", sms_enabled=True)
        notifications.notify(
            s, [uid], kind="overdue", subject="已逾期", body="请尽快处理", sms=True
        )
    scheduler.run_due(engine, _ctx(senders=Senders(sms=outbox)), workflows.JOB_HANDLERS)
    sent = outbox.sent()
    assert [(m["mobile"], m["text"]) for m in sent] == [("13912345678", "【已逾期】请尽快处理")]
    with session_scope(engine) as s:
        d = s.scalars(select(NotificationDelivery)).one()
        assert (d.channel, d.status, d.provider_id) == ("sms", "sent", sent[0]["id"])
    # the settings choose the sender: "outbox", or a factory named by module:attribute
    settings = get_settings(sms_backend="outbox", sms_outbox=str(tmp_path / "o.jsonl"))
    assert isinstance(notifications.sms_sender(settings), OutboxSms)
    factory = get_settings(sms_backend="tests_sms_factory:make")
    sys.path.insert(0, str(tmp_path))
    (tmp_path / "tests_sms_factory.py").write_text(
        "from qingshan.services.notifications import OutboxSms\n"
        "def make(settings):\n    return OutboxSms(settings.sms_outbox)\n"
    )
    try:
        assert isinstance(notifications.sms_sender(factory), OutboxSms)
    finally:
        sys.path.remove(str(tmp_path))
    with pytest.raises(ValueError):
        notifications.sms_sender(get_settings(sms_backend="nonsense"))


# ---------------------------------------------------------------------------- leases


def _notify_jobs(engine: Engine, user_id: int, n: int) -> None:
    with session_scope(engine) as s:
        for i in range(n):
            scheduler.enqueue(s, "notify", {"user_ids": [user_id], "subject": f"job {i}"})


def _exactly_once(engine: Engine, n: int) -> None:
    with session_scope(engine) as s:
        subjects = list(s.scalars(select(InboxMessage.subject)))
        assert sorted(subjects) == sorted(f"job {i}" for i in range(n))
        jobs = list(s.scalars(select(ScheduledJob)))
        assert all((j.status, j.attempts) == ("done", 1) for j in jobs)


def test_a_lost_lease_rolls_the_slow_runner_back(engine: Engine) -> None:
    users = make_users(engine)
    _notify_jobs(engine, users["admin"].user_id or 0, 1)
    a, b = _ctx(), _ctx()
    job = scheduler.claim(engine, a.worker, lease_seconds=300)
    assert job is not None
    assert scheduler.claim(engine, b.worker) is None  # leased: nobody else takes it
    with session_scope(engine) as s:  # the lease runs out (a's runner stalled past it)
        s.execute(
            update(ScheduledJob)
            .where(ScheduledJob.id == job)
            .values(lease_expires_at=utcnow() - timedelta(seconds=1))
        )
    assert scheduler.claim(engine, b.worker) == job  # lease expired: taken over
    assert scheduler.run_one(engine, job, a, workflows.JOB_HANDLERS) == "lost"
    assert scheduler.run_one(engine, job, b, workflows.JOB_HANDLERS) == "done"
    with session_scope(engine) as s:
        assert _count(s, InboxMessage) == 1  # a's work was rolled back
        assert s.get(ScheduledJob, job).attempts == 2  # type: ignore[union-attr]


def test_failing_jobs_back_off_then_fail(engine: Engine) -> None:
    make_users(engine)
    with session_scope(engine) as s:
        scheduler.enqueue(s, "no_such_kind", {}, max_attempts=2)
    first = scheduler.run_due(engine, _ctx(), workflows.JOB_HANDLERS)
    assert first.retried == 1
    with session_scope(engine) as s:
        s.execute(update(ScheduledJob).values(run_at=utcnow()))
    second = scheduler.run_due(engine, _ctx(), workflows.JOB_HANDLERS)
    assert second.failed == 1
    with session_scope(engine) as s:
        job = s.scalars(select(ScheduledJob)).one()
        assert job.status == "failed" and "no handler" in (job.last_error or "")


def test_dedup_keys_keep_one_job(engine: Engine) -> None:
    make_users(engine)
    with session_scope(engine) as s:
        a = scheduler.enqueue(s, "notify", {"subject": "x"}, dedup_key="k")
        b = scheduler.enqueue(s, "notify", {"subject": "y"}, dedup_key="k")
        assert a.id == b.id and _count(s, ScheduledJob) == 1


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(SRC), str(HERE.parent), env.get("PYTHONPATH", "")])
    return env


@pytest.mark.slow
@pytest.mark.serial
def test_two_processes_share_the_work_and_do_each_job_once(db_url: str, engine: Engine) -> None:
    users = make_users(engine)
    n = 60
    _notify_jobs(engine, users["admin"].user_id or 0, n)
    # Both workers start together well after their (slow, under load) interpreter start-up.
    start_at = str(time.time() + 8.0)
    procs = [
        subprocess.Popen(
            [sys.executable, str(HERE / "race_worker.py"), db_url, start_at],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=_env(),
            text=True,
        )
        for _ in range(2)
    ]
    outs = []
    for p in procs:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
        outs.append(json.loads(out.strip().splitlines()[-1]))
    a, b = set(outs[0]["ids"]), set(outs[1]["ids"])
    if db_url.startswith("postgresql"):
        # SKIP LOCKED lets both claim at once. SQLite has one writer: a busy worker may starve
        # the other entirely, which is still correct (the issue asks that one does the work).
        assert a and b, outs  # both processes did work …
    assert not a & b  # … never the same job …
    assert len(a | b) == n  # … and together all of it
    _exactly_once(engine, n)


@pytest.mark.slow
@pytest.mark.serial
def test_two_cron_runs_of_the_cli_do_each_job_once(db_url: str, engine: Engine) -> None:
    users = make_users(engine)
    n = 40
    _notify_jobs(engine, users["staff"].user_id or 0, n)
    cmd = [sys.executable, "-m", "qingshan.cli.main", "jobs", "run", "--db", db_url, "--json"]
    runner = "import sys; from qingshan.cli.main import main; sys.argv[0] = 'qingshan'; main()"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", runner, *cmd[3:]],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=_env(),
            text=True,
        )
        for _ in range(2)
    ]
    done = 0
    for p in procs:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
        done += json.loads(out.strip().splitlines()[-1])["done"]
    assert done == n
    _exactly_once(engine, n)


def test_the_scheduler_thread_runs_due_jobs_until_stopped(engine: Engine) -> None:
    users = make_users(engine)
    _notify_jobs(engine, users["admin"].user_id or 0, 3)
    thread = scheduler.SchedulerThread(
        engine, lambda w: scheduler.JobContext(w), workflows.JOB_HANDLERS, interval=0.05
    )
    thread.start()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        with session_scope(engine) as s:
            if _count(s, InboxMessage) == 3:
                break
        time.sleep(0.05)
    thread.stop()
    assert not thread.is_alive()
    _exactly_once(engine, 3)
