"""A plan's tasks by unit: overdue first, completion, reminders and warnings, the calendar.

* :func:`task_list` — tasks with their units and roles, each flagged ``overdue`` when its
  deadline (as published, e.g. "2019年底前" → 2019-12-31) has passed and the bureau has not
  recorded it complete; overdue tasks first (longest overdue first), then by deadline.
* :func:`schedule_notices` — per task with a deadline and not complete, a reminder 7 days
  before (if still ahead) and a warning the day after the deadline (09:00 China Standard
  Time; at once for a deadline already past when the plan is entered), to the bureau's staff
  and to the users of each responsible unit. Jobs of kind ``plan_task_notice`` (dedup key per
  task, kind and recipient group, so scheduling again adds nothing); the job does nothing
  when the task has been completed meanwhile. Loading a plan schedules them.
* :func:`complete` — the bureau records a task complete (timeline and audit).
* :func:`ics` — the tasks with deadlines as an iCalendar file (:mod:`qingshan.plans.ical`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from qingshan.clock import CST, cst_today, utcnow
from qingshan.plans import ical
from qingshan.roles import Principal
from qingshan.services import notifications, scheduler, timeline, workflows
from qingshan.services.permissions import PLAN_EDITORS
from qingshan.services.plans import LoadResult, PlanError, find_plan, load_template
from qingshan.services.plans import progress as task_progress
from qingshan.storage.models_casework import ScheduledJob
from qingshan.storage.models_plans import Plan, PlanTask, PlanTaskUnit
from qingshan.storage.models_registry import OrgUnit

JOB_KIND = "plan_task_notice"
REMIND_DAYS = 7
ROLE_LABELS = {"lead": "牵头", "support": "配合", "joint": "负责", "each": "分别负责"}

__all__ = [
    "JOB_HANDLERS",
    "TaskView",
    "complete",
    "ics",
    "load",
    "schedule_notices",
    "task_list",
]


@dataclass(slots=True)
class TaskView:
    id: int
    no: str
    group: str
    text: str
    deadline: str | None
    deadline_text: str | None
    recurrence: str | None
    completed_on: str | None
    overdue: bool
    days_overdue: int
    units: list[dict[str, str]] = field(default_factory=list)
    # the latest accepted progress report of each unit (qingshan.services.plans.progress)
    progress: list[dict[str, object]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__slots__}


def _units(s: Session, task_ids: list[int]) -> dict[int, list[dict[str, str]]]:
    out: dict[int, list[dict[str, str]]] = {i: [] for i in task_ids}
    for tu, name in s.execute(
        select(PlanTaskUnit, OrgUnit.name)
        .join(OrgUnit, OrgUnit.code == PlanTaskUnit.unit_code)
        .where(PlanTaskUnit.task_id.in_(task_ids))
    ):
        out[tu.task_id].append(
            {
                "code": tu.unit_code,
                "name": name,
                "role": tu.role,
                "role_label": ROLE_LABELS[tu.role],
            }
        )
    return out


def task_list(
    s: Session,
    actor: Principal,
    plan_ref: str | int,
    *,
    unit: str | None = None,
    today: date | None = None,
) -> list[TaskView]:
    """The plan's tasks (of one unit with ``unit``), overdue first (see the module docstring)."""
    plan = find_plan(s, actor, plan_ref)
    today = today or cst_today()
    rows = list(s.scalars(select(PlanTask).where(PlanTask.plan_id == plan.id)))
    units = _units(s, [t.id for t in rows])
    prog = task_progress.accepted_progress(s, [t.id for t in rows])
    out: list[TaskView] = []
    for t in rows:
        if unit is not None and not any(u["code"] == unit for u in units[t.id]):
            continue
        overdue = t.deadline is not None and t.completed_on is None and t.deadline < today
        out.append(
            TaskView(
                id=t.id,
                no=t.no,
                group=t.group,
                text=t.text,
                deadline=t.deadline.isoformat() if t.deadline else None,
                deadline_text=t.deadline_text,
                recurrence=t.recurrence,
                completed_on=t.completed_on.isoformat() if t.completed_on else None,
                overdue=overdue,
                days_overdue=(today - t.deadline).days if overdue and t.deadline else 0,
                units=units[t.id],
                progress=prog[t.id],
            )
        )
    positions = {t.id: t.position for t in rows}
    out.sort(
        key=lambda v: (
            not v.overdue,
            -v.days_overdue,
            v.deadline or "9999-12-31",
            positions[v.id],
        )
    )
    return out


def _at_9(day: date) -> datetime:
    """09:00 China Standard Time of ``day`` as naive UTC (the scheduler's clock)."""
    return datetime.combine(day, time(9), tzinfo=CST).astimezone(UTC).replace(tzinfo=None)


def schedule_notices(s: Session, plan: Plan, *, now: datetime | None = None) -> int:
    """Schedule the reminders and warnings of the plan's open tasks; returns the jobs added."""
    now = now or utcnow()
    added = 0
    tasks = list(
        s.scalars(
            select(PlanTask).where(
                PlanTask.plan_id == plan.id,
                PlanTask.deadline.is_not(None),
                PlanTask.completed_on.is_(None),
            )
        )
    )
    units = _units(s, [t.id for t in tasks])
    for t in tasks:
        assert t.deadline is not None
        groups: list[str | None] = [None, *sorted({u["code"] for u in units[t.id]})]
        plan_of = {"remind": t.deadline - timedelta(days=REMIND_DAYS), "overdue": t.deadline}
        for kind, day in plan_of.items():
            at = _at_9(day + timedelta(days=1)) if kind == "overdue" else _at_9(day)
            if kind == "remind" and at <= now:
                continue  # a reminder for a deadline already near or past is no use
            for g in groups:
                key = f"plan_task:{t.id}:{kind}:{g or 'staff'}"
                before = s.scalar(select(ScheduledJob.id).where(ScheduledJob.dedup_key == key))
                if before is not None:
                    continue
                scheduler.enqueue(
                    s,
                    JOB_KIND,
                    {"task_id": t.id, "kind": kind, "unit": g},
                    run_at=max(at, now),
                    dedup_key=key,
                )
                added += 1
    return added


def notice_job(s: Session, ctx: scheduler.JobContext, payload: dict[str, Any]) -> None:
    """The ``plan_task_notice`` job: a reminder or an overdue warning, unless the task has
    been completed since it was scheduled."""
    t = s.get(PlanTask, int(payload["task_id"]))
    if t is None or t.completed_on is not None or t.deadline is None:
        return None
    plan = s.get(Plan, t.plan_id)
    assert plan is not None
    unit = payload.get("unit")
    users = notifications.users_with_roles(s, ["unit"] if unit else ["staff"], unit=unit)
    when = t.deadline_text or t.deadline.isoformat()
    if payload["kind"] == "remind":
        subject = f"任务将到期：{t.text}（{when}）"
        body = f"《{plan.title}》任务 {t.no}「{t.text}」期限为 {t.deadline.isoformat()}（{when}）。"
        sms = False
    else:
        subject = f"任务已逾期：{t.text}（{when}）"
        body = (
            f"《{plan.title}》任务 {t.no}「{t.text}」期限 {t.deadline.isoformat()}（{when}）"
            "已过，尚未记录完成。"
        )
        sms = True
    notifications.notify(
        s,
        users,
        kind="plan_task",
        subject=subject,
        body=body,
        entity_type="plan_task",
        entity_id=str(t.id),
        email=True,
        sms=sms,
    )
    return None


JOB_HANDLERS: dict[str, scheduler.Handler] = {**workflows.JOB_HANDLERS, JOB_KIND: notice_job}


def complete(s: Session, actor: Principal, plan_ref: str | int, task_no: str, on: date) -> PlanTask:
    """Record a task complete on ``on`` (the bureau's staff)."""
    if actor.role not in PLAN_EDITORS:
        raise PlanError("没有权限：只有管理员和局工作人员可以记录任务完成")
    plan = find_plan(s, actor, plan_ref)
    t = s.scalar(select(PlanTask).where(PlanTask.plan_id == plan.id, PlanTask.no == task_no))
    if t is None:
        raise PlanError(f"规划“{plan.title}”没有序号为 {task_no} 的任务")
    before = {"completed_on": t.completed_on.isoformat() if t.completed_on else None}
    t.completed_on = on
    s.flush()
    timeline.record_change(
        s,
        actor,
        entity_type="plan_task",
        entity_id=t.id,
        action="plan_task.complete",
        summary=f"记录任务完成：{t.text}（{on.isoformat()}）",
        before=before,
        after={"completed_on": on.isoformat()},
    )
    return t


def ics(s: Session, actor: Principal, plan_ref: str | int, *, unit: str | None = None) -> str:
    """The plan's tasks with deadlines (of one unit with ``unit``) as iCalendar text."""
    plan = find_plan(s, actor, plan_ref)
    events = [
        ical.Event(
            uid=f"plan-{plan.id}-task-{v.id}@qingshan",
            day=date.fromisoformat(v.deadline),
            summary=f"{v.no} {v.text}",
            description="；".join(
                x
                for x in (
                    f"期限：{v.deadline_text}" if v.deadline_text else None,
                    "责任单位：" + "、".join(f"{u['name']}（{u['role_label']}）" for u in v.units),
                    f"《{plan.title}》",
                )
                if x
            ),
        )
        for v in task_list(s, actor, plan.id, unit=unit)
        if v.deadline is not None
    ]
    return ical.calendar(plan.title, events, stamp=utcnow())


def load(
    s: Session, actor: Principal, template_id: str, *, region: str | None = None
) -> LoadResult:
    """Load a template (:func:`qingshan.services.plans.load_template`) and schedule the
    reminders and warnings of its tasks (nothing new when it was loaded before)."""
    r = load_template(s, actor, template_id, region=region)
    plan = s.get(Plan, r.plan_id)
    assert plan is not None
    schedule_notices(s, plan)
    return r
