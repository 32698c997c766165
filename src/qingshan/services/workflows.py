"""Workflow instances: the service around the pure rules of :mod:`qingshan.workflow`.

An instance ties one entity (``entity_type``, ``entity_id``: a workbook import, a case) to a
definition and keeps its state and field values. :func:`start` opens one, :func:`fire` moves it
along a transition once :func:`qingshan.workflow.can` allows the principal's role on the
record (its fields and the evidence attached to the entity — :mod:`.attachments`). Each step
is written to the entity's timeline and the audit log in the same transaction.

Deadlines: entering a state whose definition has a deadline computes the due date on the
deployment's working-day calendar (:mod:`.workcalendar`) and schedules two jobs — a reminder
``remind_before`` working days ahead and an overdue notice the day after — which notify the
assignee and the roles the definition names, if the instance is still waiting then.
"""

from __future__ import annotations

import json
from datetime import date, datetime, time, timedelta
from functools import cache
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from qingshan.clock import from_cst, to_cst, utcnow
from qingshan.roles import ROLE_LABELS, ROLE_NAMES, Principal
from qingshan.services import attachments, notifications, scheduler, timeline, workcalendar
from qingshan.services.errors import Conflict, NotFound, ServiceError
from qingshan.storage.models_casework import WorkflowInstance
from qingshan.workdays import Deadline, Unit, WorkCalendar, add_period
from qingshan.workflow import (
    Decision,
    Record,
    TransitionDef,
    Workflow,
    available,
    can,
    field_problem,
    load,
    may_start,
)

REMIND_AT = time(9, 0)  # reminders go out at 09:00 China Standard Time


class WorkflowRefused(ServiceError):
    """A start or transition the rules refuse; ``decision`` says why."""

    def __init__(self, decision: Decision) -> None:
        self.decision = decision
        super().__init__(decision.message)


@cache
def definition(name: str) -> Workflow:
    """A shipped definition, validated against the platform's roles."""
    return load(name, roles=ROLE_NAMES)


def _label(p: Principal) -> str:
    return ROLE_LABELS.get(str(p.role), str(p.role))


def _fields(inst: WorkflowInstance) -> dict[str, Any]:
    value = json.loads(inst.fields)
    return value if isinstance(value, dict) else {}


def _entered(inst: WorkflowInstance) -> dict[str, str]:
    value = json.loads(inst.entered)
    return value if isinstance(value, dict) else {}


def _snapshot(inst: WorkflowInstance) -> dict[str, Any]:
    return {
        "workflow": inst.workflow,
        "state": inst.state,
        "fields": _fields(inst),
        "due_on": inst.due_on.isoformat() if inst.due_on else None,
        "assignee_user_id": inst.assignee_user_id,
        "assignee_unit": inst.assignee_unit,
    }


def _clean_values(wf: Workflow, values: dict[str, Any]) -> dict[str, Any]:
    """Field values as stored: only declared fields, each valid (dates as ISO text)."""
    out: dict[str, Any] = {}
    for name, value in values.items():
        f = wf.fields.get(name)
        if f is None:
            raise ServiceError(f"流程「{wf.title}」没有字段 {name!r}")
        if value is None:
            continue
        problem = field_problem(f, value)
        if problem is not None:
            raise ServiceError(problem)
        if f.type == "int":
            value = int(value)
        elif f.type == "date":
            value = value.isoformat() if isinstance(value, date) else str(value)
        out[name] = value
    return out


def record_of(s: Session, inst: WorkflowInstance, fields: dict[str, Any] | None = None) -> Record:
    """What the rules look at: state, fields and the evidence attached to the entity."""
    return Record(
        inst.state,
        fields if fields is not None else _fields(inst),
        attachments.evidence_counts(s, inst.entity_type, inst.entity_id),
    )


def get(s: Session, instance_id: int) -> WorkflowInstance:
    inst = s.get(WorkflowInstance, instance_id)
    if inst is None:
        raise NotFound(f"no workflow instance {instance_id}")
    return inst


def find(
    s: Session, workflow: str, entity_type: str, entity_id: str | int
) -> WorkflowInstance | None:
    return s.scalar(
        select(WorkflowInstance).where(
            WorkflowInstance.workflow == workflow,
            WorkflowInstance.entity_type == entity_type,
            WorkflowInstance.entity_id == str(entity_id),
        )
    )


def start(
    s: Session,
    actor: Principal,
    workflow: str,
    *,
    entity_type: str,
    entity_id: str | int,
    fields: dict[str, Any] | None = None,
    assignee_user_id: int | None = None,
    assignee_unit: str | None = None,
    client: str | None = None,
    deadlines: bool = True,
) -> WorkflowInstance:
    """Open an instance of ``workflow`` for an entity, in its initial state (``deadlines``
    False: no state deadline and no reminder jobs — for a record whose state is about to be
    set from elsewhere, e.g. a case ledger row, so no idle reminders are left behind)."""
    wf = definition(workflow)
    decision = may_start(wf, str(actor.role), role_label=_label(actor))
    if not decision:
        raise WorkflowRefused(decision)
    if find(s, workflow, entity_type, entity_id) is not None:
        raise Conflict(f"{entity_type} {entity_id} 已有「{wf.title}」流程")
    values = _clean_values(wf, fields or {})
    now = utcnow()
    inst = WorkflowInstance(
        workflow=wf.name,
        version=wf.version,
        entity_type=entity_type,
        entity_id=str(entity_id),
        state=wf.initial,
        fields=json.dumps(values, ensure_ascii=False),
        entered=json.dumps({wf.initial: now.isoformat()}),
        assignee_user_id=assignee_user_id,
        assignee_unit=assignee_unit,
        created_at=now,
        created_by=actor.user_id,
        updated_at=now,
    )
    s.add(inst)
    s.flush()
    if deadlines:
        _enter_deadline(s, wf, inst)
    timeline.record_change(
        s,
        actor,
        entity_type=entity_type,
        entity_id=entity_id,
        action=f"{wf.name}.start",
        summary=f"发起{wf.title}，状态「{wf.states[wf.initial].label}」",
        before=None,
        after={"instance_id": inst.id, **_snapshot(inst)},
        client=client,
    )
    return inst


def fire(
    s: Session,
    actor: Principal,
    instance_id: int,
    transition: str,
    *,
    fields: dict[str, Any] | None = None,
    note: str | None = None,
    client: str | None = None,
) -> WorkflowInstance:
    """Fire ``transition`` with the given field values, if the rules allow it."""
    inst = get(s, instance_id)
    wf = definition(inst.workflow)
    merged = {**_fields(inst), **_clean_values(wf, fields or {})}
    decision = can(wf, transition, str(actor.role), record_of(s, inst, merged),
                   role_label=_label(actor))  # fmt: skip
    if not decision:
        raise WorkflowRefused(decision)
    t = wf.transitions[transition]
    before = _snapshot(inst)
    now = utcnow()
    entered = _entered(inst)
    if t.target != inst.state:
        entered[t.target] = now.isoformat()
    inst.state = t.target
    inst.fields = json.dumps(merged, ensure_ascii=False)
    inst.entered = json.dumps(entered)
    inst.updated_at = now
    _enter_deadline(s, wf, inst)
    after = _snapshot(inst)
    if note:
        after["note"] = note
    s.flush()
    timeline.record_change(
        s,
        actor,
        entity_type=inst.entity_type,
        entity_id=inst.entity_id,
        action=f"{wf.name}.{t.name}",
        summary=f"{t.label}：「{wf.states[before['state']].label}」→「{wf.states[t.target].label}」"
        + (f"（{note}）" if note else ""),
        before=before,
        after=after,
        client=client,
    )
    return inst


def options(
    s: Session, p: Principal, inst: WorkflowInstance
) -> list[tuple[TransitionDef, Decision]]:
    """The transitions out of the instance's state and whether the principal may fire each."""
    wf = definition(inst.workflow)
    return available(wf, str(p.role), record_of(s, inst))


# ---------------------------------------------------------------------------- deadlines


def due_of(s: Session, wf: Workflow, inst: WorkflowInstance) -> Deadline | None:
    """The deadline of the instance's current state (None: the state has none)."""
    st = wf.states[inst.state]
    if st.deadline is None:
        return None
    since_text = _entered(inst).get(st.deadline.since)
    if since_text is None:
        return None
    since = to_cst(datetime.fromisoformat(since_text)).date()
    unit: Unit = "working" if st.deadline.unit == "working" else "calendar"
    return add_period(workcalendar.calendar(s), since, st.deadline.amount, unit)


def _at_9(day: date) -> datetime:
    return from_cst(datetime.combine(day, REMIND_AT))


def _enter_deadline(s: Session, wf: Workflow, inst: WorkflowInstance) -> None:
    deadline = due_of(s, wf, inst)
    inst.due_on = None if deadline is None else deadline.due
    if deadline is None:
        return
    st = wf.states[inst.state]
    assert st.deadline is not None
    since = st.deadline.since
    entered = _entered(inst)[since]
    cal = workcalendar.calendar(s)
    remind_day = deadline.due
    for _ in range(st.deadline.remind_before):  # n working days before the due day
        remind_day = _previous_working_day(cal, remind_day)
    base = {"instance_id": inst.id, "since": since, "entered": entered,
            "due": deadline.due.isoformat(), "explain": deadline.explain()}  # fmt: skip
    key = f"wf:{inst.id}:{since}:{entered}"
    now = utcnow()
    scheduler.enqueue(
        s,
        "workflow_deadline",
        {**base, "stage": "remind"},
        run_at=max(now, _at_9(remind_day)),
        dedup_key=f"{key}:remind",
    )
    scheduler.enqueue(
        s,
        "workflow_deadline",
        {**base, "stage": "overdue"},
        run_at=max(now, _at_9(deadline.due + timedelta(days=1))),
        dedup_key=f"{key}:overdue",
    )


def _previous_working_day(cal: WorkCalendar, d: date) -> date:
    d -= timedelta(days=1)
    while not cal.is_working_day(d):
        d -= timedelta(days=1)
    return d


def deadline_job(s: Session, ctx: scheduler.JobContext, payload: dict[str, Any]) -> None:
    """The ``workflow_deadline`` job: remind or report overdue, if the instance still waits
    under the same deadline (moved on meanwhile: nothing to do)."""
    inst = s.get(WorkflowInstance, int(payload["instance_id"]))
    if inst is None:
        return None
    wf = definition(inst.workflow)
    st = wf.states[inst.state]
    if st.deadline is None or st.deadline.since != payload["since"]:
        return None
    if _entered(inst).get(st.deadline.since) != payload["entered"]:
        return None
    users = notifications.users_with_roles(s, st.deadline.notify, unit=inst.assignee_unit)
    if inst.assignee_user_id is not None:
        users.append(inst.assignee_user_id)
    overdue = payload["stage"] == "overdue"
    what = f"{wf.title}（{inst.entity_type} {inst.entity_id}）「{st.label}」"
    subject = (
        f"【已逾期】{what}已超过期限 {payload['due']}"
        if overdue
        else f"【期限提醒】{what}将于 {payload['due']} 到期"
    )
    notifications.notify(
        s,
        users,
        kind="overdue" if overdue else "reminder",
        subject=subject,
        body=f"{subject}。{payload['explain']}。",
        entity_type=inst.entity_type,
        entity_id=inst.entity_id,
        sms=overdue,
    )
    timeline.record(
        s,
        timeline.SYSTEM,
        entity_type=inst.entity_type,
        entity_id=inst.entity_id,
        action=f"{wf.name}.{'overdue' if overdue else 'reminder'}",
        summary=f"{'逾期通知' if overdue else '期限提醒'}已发给 {len(set(users))} 人",
        after={"due": payload["due"], "state": inst.state, "recipients": sorted(set(users))},
    )
    return None


# Every job kind the casework foundation defines; the runners (``qingshan serve`` and
# ``qingshan jobs run``) use these.
JOB_HANDLERS: dict[str, scheduler.Handler] = {
    **notifications.JOB_HANDLERS,
    "workflow_deadline": deadline_job,
}

__all__ = [
    "JOB_HANDLERS",
    "WorkflowRefused",
    "deadline_job",
    "definition",
    "due_of",
    "find",
    "fire",
    "get",
    "options",
    "record_of",
    "start",
]
