"""Plan tasks: overdue first, reminders and overdue warnings through the scheduler (run for
real), completion, the .ics calendar; SQLite and PostgreSQL. The iCalendar writer's folding
and escaping are property-tested."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import Engine, func, select
from typer.testing import CliRunner

from qingshan.cli.main import app
from qingshan.plans import ical
from qingshan.roles import CLI
from qingshan.services import plans, scheduler
from qingshan.services.accounts import create_user
from qingshan.services.plans import PlanError, tasks
from qingshan.storage.db import session_scope
from qingshan.storage.models_casework import InboxMessage, ScheduledJob
from qingshan.storage.models_plans import Plan
from qingshan.storage.models_registry import OrgUnit
from support.web_seed import PASSWORD


def test_overdue_first_and_completion(engine: Engine) -> None:
    with session_scope(engine) as s:
        plans.load_template(s, CLI, "jiayuguan-2020")
        rows = tasks.task_list(s, CLI, "jiayuguan-2020", today=date(2020, 6, 1))
        assert len(rows) == 31
        overdue = [r for r in rows if r.overdue]
        # 2019年6月底前 (task 15) is the longest overdue, then the 2019年底前 tasks
        assert overdue[0].no == "15" and overdue[0].days_overdue == 337
        assert {r.no for r in overdue} == {"15", "4", "6", "11"}
        assert all(r.deadline == "2019-12-31" for r in overdue[1:])
        assert rows[len(overdue)].deadline == "2020-12-31"  # then by deadline
        assert rows[-1].deadline is None
        tasks.complete(s, CLI, "jiayuguan-2020", "4", date(2019, 12, 30))
        with pytest.raises(PlanError, match="没有序号为 99"):
            tasks.complete(s, CLI, "jiayuguan-2020", "99", date(2020, 1, 1))
    with session_scope(engine) as s:
        rows = tasks.task_list(s, CLI, "jiayuguan-2020", today=date(2020, 6, 1))
        four = next(r for r in rows if r.no == "4")
        assert (four.overdue, four.completed_on) == (False, "2019-12-30")
        code = s.scalar(select(OrgUnit.code).where(OrgUnit.name == "市环卫局"))
        assert code is not None
        mine = tasks.task_list(s, CLI, "jiayuguan-2020", unit=code, today=date(2020, 6, 1))
        assert [r.no for r in mine] == ["15", "7"]  # 全域无垃圾 (2019年6月底前), 大气综合管控
        assert mine[0].units[0]["role_label"] == "分别负责"


def test_reminders_before_and_warnings_after(engine: Engine) -> None:
    with session_scope(engine) as s:
        plans.load_template(s, CLI, "jiayuguan-2020")
        plan = s.scalars(select(Plan)).one()
        now = datetime(2019, 12, 20)  # naive UTC, as the scheduler's clock
        added = tasks.schedule_notices(s, plan, now=now)
        assert tasks.schedule_notices(s, plan, now=now) == 0  # idempotent
        jobs = list(s.scalars(select(ScheduledJob).where(ScheduledJob.kind == "plan_task_notice")))
        assert len(jobs) == added
        by_key = {j.dedup_key: j for j in jobs}
        t15 = next(r for r in tasks.task_list(s, CLI, plan.id) if r.no == "15")
        t4 = next(r for r in tasks.task_list(s, CLI, plan.id) if r.no == "4")
        # 15 is past its deadline (2019-06-30): a warning at once, no reminder
        assert by_key[f"plan_task:{t15.id}:overdue:staff"].run_at == now
        assert f"plan_task:{t15.id}:remind:staff" not in by_key
        # 4 is due 2019-12-31: reminder 7 days before, warning the day after, 09:00 CST
        assert by_key[f"plan_task:{t4.id}:remind:staff"].run_at == datetime(2019, 12, 24, 1)
        assert by_key[f"plan_task:{t4.id}:overdue:staff"].run_at == datetime(2020, 1, 1, 1)
        unit_keys = [k for k in by_key if k.startswith(f"plan_task:{t4.id}:overdue:")]
        assert len(unit_keys) == 1 + len(t4.units)  # the staff and each responsible unit


def test_overdue_warnings_reach_staff_and_unit_users(engine: Engine) -> None:
    with session_scope(engine) as s:
        tasks.load(s, CLI, "jiayuguan-2020")  # deadlines all past: warnings due at once
        hw = s.scalar(select(OrgUnit.code).where(OrgUnit.name == "市环卫局"))
        staff = create_user(s, CLI, username="staff", password=PASSWORD, role="staff")
        unit = create_user(s, CLI, username="huanwei", password=PASSWORD, role="unit", unit=hw)
        ids = (staff.id, unit.id)
        tasks.complete(s, CLI, "jiayuguan-2020", "7", date(2020, 12, 1))  # done: no warning
        rows = tasks.task_list(s, CLI, "jiayuguan-2020")
        open_due = {r.no for r in rows if r.deadline and not r.completed_on}
        of_hw = {r.no for r in rows if any(u["code"] == hw for u in r.units)} & open_due
    assert len(open_due) == 14 and of_hw == {"15"}
    summary = scheduler.run_due(engine, scheduler.JobContext("t"), tasks.JOB_HANDLERS)
    assert summary.failed == 0 and summary.done > 0
    with session_scope(engine) as s:
        msgs = s.execute(select(InboxMessage.user_id, InboxMessage.subject)).all()
        to_staff = [m for u, m in msgs if u == ids[0]]
        to_unit = [m for u, m in msgs if u == ids[1]]
        assert len(to_staff) == len(open_due) and all(m.startswith("任务已逾期") for m in to_staff)
        assert to_unit == ["任务已逾期：(二)扎实推进全域无垃圾专项治理行动（2019年6月底前）"]
        assert not any("实施大气污染综合管控" in m for m in to_staff)  # completed before
    with session_scope(engine) as s:  # loading again schedules nothing new
        tasks.load(s, CLI, "jiayuguan-2020")
        assert (
            s.scalar(
                select(func.count())
                .select_from(ScheduledJob)
                .where(ScheduledJob.kind == "plan_task_notice", ScheduledJob.status == "pending")
            )
            == 0
        )


def test_cli_tasks_done_and_ics(db_url: str, tmp_path: object) -> None:
    runner = CliRunner()
    assert runner.invoke(app, ["plan", "load", "jiayuguan-2020", "--db", db_url]).exit_code == 0
    out = runner.invoke(app, ["plan", "tasks", "jiayuguan-2020", "--json", "--db", db_url])
    assert out.exit_code == 0, out.output
    rows = json.loads(out.stdout)
    assert rows[0]["no"] == "15" and rows[0]["overdue"] is True
    out = runner.invoke(
        app, ["plan", "task-done", "jiayuguan-2020", "15", "--on", "2019-06-28", "--db", db_url]
    )
    assert out.exit_code == 0 and "已记录任务完成" in out.stderr
    out = runner.invoke(
        app, ["plan", "task-done", "jiayuguan-2020", "15", "--on", "6月", "--db", db_url]
    )
    assert out.exit_code == 2 and "不是 YYYY-MM-DD" in out.stderr
    path = f"{tmp_path}/j.ics"
    out = runner.invoke(app, ["plan", "ics", "jiayuguan-2020", path, "--db", db_url])
    assert out.exit_code == 0 and "15 项任务" in out.stderr
    text = Path(path).read_bytes().decode("utf-8")
    assert text.startswith("BEGIN:VCALENDAR\r\n") and text.endswith("END:VCALENDAR\r\n")
    assert all(len(line.encode()) <= 75 for line in text.split("\r\n"))
    unfolded = text.replace("\r\n ", "")
    assert "DTSTART;VALUE=DATE:20190630" in unfolded
    assert "SUMMARY:15 (二)扎实推进全域无垃圾专项治理行动" in unfolded
    assert unfolded.count("BEGIN:VEVENT") == 15
    assert "期限：2019年6月底前" in unfolded


@given(st.text(min_size=0, max_size=300))
def test_fold_keeps_every_line_short_and_unfolds_back(text: str) -> None:
    line = "DESCRIPTION:" + ical.escape(text)
    folded = ical.fold(line)
    parts = folded.split("\r\n")
    assert all(len(p.encode("utf-8")) <= 75 for p in parts)
    assert all(p.startswith(" ") for p in parts[1:])
    assert folded.replace("\r\n ", "") == line
    assert not re.search(r"(?<!\\)[,;]", ical.escape(text).replace("\\\\", ""))


def test_calendar_escapes_text() -> None:
    ev = ical.Event("u1@q", date(2026, 1, 2), "甲,乙;丙", "一\n二")
    text = ical.calendar("日历", [ev], stamp=datetime(2026, 1, 1, tzinfo=UTC))
    assert "SUMMARY:甲\\,乙\\;丙\r\n" in text and "DESCRIPTION:一\\n二\r\n" in text
    assert "DTEND;VALUE=DATE:20260103" in text
