"""Deadlines and escalation of cases: "蓝、黄、红"三单预警, 挂牌督办, and the accountability
steps 通报 → 约谈 → 问责.

Warnings run through the scheduler (:mod:`qingshan.services.scheduler`). Whenever a case's due
day is set or moves, :func:`schedule` queues one ``case_warning`` job per colour at 09:00 China
Standard Time on its day, counted on the deployment's working-day calendar:

* 蓝单 (blue, approaching): ``blue_before_working_days`` working days before the due day;
* 黄单 (yellow, overdue): ``yellow_after_days`` days after the due day;
* 红单 (red, seriously overdue): ``red_after_days`` days after it — 挂牌督办 is proposed.

(``limits.toml``.) A job finding the case closed, voided or with another due day does nothing;
a warning only ever rises. Each warning is on the case's timeline and in the inbox of the lead
unit's users and the bureau's staff (red also administrators and leaders, and by SMS).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from qingshan.clock import cst_today, utcnow
from qingshan.roles import Principal
from qingshan.services import notifications, scheduler, timeline
from qingshan.services import workflows as wfs
from qingshan.services.cases import core, vocab
from qingshan.services.cases.deadlines import JOB_KIND, LEVELS, schedule, warning_days
from qingshan.storage.models_cases import ACCOUNTABILITY_STEPS, CaseAccountability, CaseItem

LEVEL_LABELS = {"blue": "蓝单", "yellow": "黄单", "red": "红单"}


def warning_job(s: Session, ctx: scheduler.JobContext, payload: dict[str, Any]) -> None:
    """The ``case_warning`` job: raise the case's warning, tell who must act."""
    case = s.scalar(select(CaseItem).where(CaseItem.code == payload["case"]))
    if case is None or case.due_on is None or case.due_on.isoformat() != payload["due"]:
        return None
    tags = core.state_tags(case)
    if "closed" in tags or "excluded" in tags:
        return None
    level = str(payload["level"])
    if case.warning is not None and LEVELS.index(case.warning) >= LEVELS.index(level):
        return None
    before = case.warning
    case.warning = level
    roles = ["staff", "unit"] + (["admin", "leader"] if level == "red" else [])
    users = notifications.users_with_roles(s, roles, unit=case.lead_unit)
    what = f"案件 {case.code}「{case.title}」"
    if level == "blue":
        text = f"【{LEVEL_LABELS[level]}·临期预警】{what}将于 {case.due_on} 到期"
    elif level == "yellow":
        text = f"【{LEVEL_LABELS[level]}·逾期预警】{what}已超过时限 {case.due_on}"
    else:
        text = (
            f"【{LEVEL_LABELS[level]}·严重逾期】{what}超过时限 {case.due_on} 已 "
            f"{vocab.limits().red_after} 日以上，建议挂牌督办"
        )
    notifications.notify(
        s,
        users,
        kind="case_warning",
        subject=text,
        body=f"{text}。牵头单位：{case.lead_unit or '未指定'}；"
        f"当前状态：{core.state_label(case)}。",
        entity_type=core.ENTITY,
        entity_id=case.code,
        sms=level == "red",
    )
    timeline.record(
        s,
        timeline.SYSTEM,
        entity_type=core.ENTITY,
        entity_id=case.code,
        action="case.warning",
        summary=f"{text}（通知 {len(users)} 人）",
        before={"warning": before},
        after={"warning": level, "due": payload["due"]},
    )
    return None


JOB_HANDLERS: dict[str, scheduler.Handler] = {**wfs.JOB_HANDLERS, JOB_KIND: warning_job}


# ---------------------------------------------------------------------------- 挂牌督办


def supervise(s: Session, actor: Principal, code: str, reason: str) -> CaseItem:
    """挂牌督办: the bureau puts the case under listed supervision (once)."""
    if actor.role not in core.CASE_MANAGERS:
        raise core.CaseError(f"角色「{actor.role_label}」无权挂牌督办")
    case = core.get(s, actor, code)
    tags = core.state_tags(case)
    if "closed" in tags or "excluded" in tags:
        raise core.CaseError(f"案件已{core.state_label(case)}，不能挂牌督办")
    if case.supervised_on is not None:
        raise core.CaseError(f"案件已于 {case.supervised_on} 挂牌督办")
    if not reason.strip():
        raise core.CaseError("须说明挂牌督办的理由", "reason")
    case.supervised_on = cst_today()
    case.updated_at = utcnow()
    s.flush()
    timeline.record_change(
        s,
        actor,
        entity_type=core.ENTITY,
        entity_id=code,
        action="case.supervise",
        summary=f"挂牌督办：{reason.strip()}",
        before={"supervised_on": None},
        after={"supervised_on": case.supervised_on.isoformat(), "reason": reason.strip()},
    )
    users = notifications.users_with_roles(s, ["unit", "leader"], unit=case.lead_unit)
    notifications.notify(
        s,
        users,
        kind="case_supervise",
        subject=f"【挂牌督办】案件 {case.code}「{case.title}」",
        body=f"案件 {case.code} 已挂牌督办：{reason.strip()}",
        entity_type=core.ENTITY,
        entity_id=case.code,
        sms=True,
    )
    return case


# ---------------------------------------------------------------------------- 问责


@dataclass(frozen=True, slots=True)
class StepInput:
    step: str  # 通报 / 约谈 / 问责
    decided_on: date
    unit: str | None = None
    person: str | None = None
    position: str | None = None
    note: str | None = None


def record_step(s: Session, actor: Principal, code: str, inp: StepInput) -> CaseAccountability:
    """Record an accountability step against a unit and/or a person. The ladder is climbed in
    order for the same target: 约谈 after a 通报, 问责 after a 约谈 (seed 004's
    约谈 → … → 问责; a county that skips steps records each one it took)."""
    if actor.role not in core.CASE_MANAGERS:
        raise core.CaseError(f"角色「{actor.role_label}」无权记录问责")
    case = core.get(s, actor, code)
    if inp.step not in ACCOUNTABILITY_STEPS:
        raise core.CaseError(f"问责措施应为 {'、'.join(ACCOUNTABILITY_STEPS)} 之一", "step")
    unit = core.find_unit(s, inp.unit, "unit", "被问责单位") if inp.unit else None
    person = (inp.person or "").strip() or None
    if unit is None and person is None:
        raise core.CaseError("须填写被通报（约谈、问责）的单位或个人", "unit")
    if inp.decided_on > cst_today():
        raise core.CaseError(f"决定日期 {inp.decided_on} 晚于今天", "decided_on")
    index = ACCOUNTABILITY_STEPS.index(inp.step)
    if index > 0:
        earlier = ACCOUNTABILITY_STEPS[index - 1]
        q = select(CaseAccountability.id).where(
            CaseAccountability.case_id == case.id, CaseAccountability.step == earlier
        )
        q = q.where(CaseAccountability.unit_code == unit) if unit else q
        q = q.where(CaseAccountability.person == person) if person else q
        if s.scalar(q.limit(1)) is None:
            who = "、".join(x for x in (unit, person) if x)
            raise core.CaseError(f"对{who}{inp.step}之前须先记录{earlier}", "step")
    row = CaseAccountability(
        case_id=case.id,
        step=inp.step,
        unit_code=unit,
        person=person,
        position=(inp.position or "").strip() or None,
        decided_on=inp.decided_on,
        note=(inp.note or "").strip() or None,
        recorded_by=actor.user_id,
        recorded_at=utcnow(),
    )
    s.add(row)
    s.flush()
    who = "、".join(x for x in (unit, person) if x)
    timeline.record_change(
        s,
        actor,
        entity_type=core.ENTITY,
        entity_id=code,
        action="case.accountability",
        summary=f"{inp.step}：{who}",
        after={
            "step": inp.step,
            "unit": unit,
            "person": person,
            "position": row.position,
            "decided_on": inp.decided_on.isoformat(),
            "note": row.note,
        },
    )
    return row


def steps(s: Session, p: Principal, code: str) -> list[CaseAccountability]:
    case = core.get(s, p, code)
    return list(
        s.scalars(
            select(CaseAccountability)
            .where(CaseAccountability.case_id == case.id)
            .order_by(CaseAccountability.id)
        )
    )


def accountability_counts(s: Session) -> dict[str, int]:
    """Steps taken, per step (问责人次 and the like)."""
    out = dict.fromkeys(ACCOUNTABILITY_STEPS, 0)
    for step in s.scalars(select(CaseAccountability.step)):
        out[step] += 1
    return out


__all__ = [
    "JOB_HANDLERS",
    "JOB_KIND",
    "LEVELS",
    "StepInput",
    "accountability_counts",
    "record_step",
    "schedule",
    "steps",
    "supervise",
    "warning_days",
    "warning_job",
]
