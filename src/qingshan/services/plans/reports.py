"""Indicator values reported by units, with evidence, reviewed by the bureau.

A unit user (or bureau staff) enters the value of an indicator the platform does not compute
(forest cover, rural sewage treatment rate, safe-use rates …) for a year, attaches its
evidence (an attachment of entity ``plan_report``, evidence kind ``evidence``) and submits it;
staff accept it or return it with the reason (workflow ``plan_report``, data in
``qingshan/workflow/definitions/plan_report.toml``). Only the latest accepted value of a year
counts as the indicator's actual value (:mod:`qingshan.services.plans.assess`). Every step is
on the report's timeline and in the audit log (through the workflow service).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from sqlalchemy import select
from sqlalchemy.orm import Session

from qingshan.clock import utcnow
from qingshan.roles import Principal, Role
from qingshan.services import timeline, workflows
from qingshan.services.errors import NotFound
from qingshan.services.permissions import PLAN_REPORTERS
from qingshan.services.plans import PlanError, find_plan
from qingshan.services.plans.review import (
    register_evidence,
    review_state,
    review_step,
    submit_step,
    visible,
)
from qingshan.storage.models_plans import Plan, PlanIndicator, PlanReport

WORKFLOW = "plan_report"
ENTITY = "plan_report"

__all__ = [
    "ReportView",
    "accepted_values",
    "history",
    "report_value",
    "reports",
    "review",
    "submit",
]


@dataclass(frozen=True, slots=True)
class ReportView:
    id: int
    plan_id: int
    plan_title: str
    indicator_no: str
    indicator: str
    unit: str
    year: int
    value: str
    note: str | None
    unit_code: str | None
    state: str
    state_label: str
    reason: str | None
    evidence: int  # attached evidence files

    def to_dict(self) -> dict[str, object]:
        return {k: getattr(self, k) for k in self.__slots__}


def _exact(text: str) -> str:
    t = (text or "").strip()
    try:
        d = Decimal(t)
    except InvalidOperation:
        raise PlanError(f"填报数值“{text}”不是数字（请填写如 24.81 的数值，不带单位）") from None
    if not d.is_finite():
        raise PlanError(f"填报数值“{text}”不是有限数值")
    return t


def _report(s: Session, actor: Principal, report_id: int) -> PlanReport:
    return visible(s, actor, PlanReport, report_id, "没有填报记录")


register_evidence(ENTITY, PlanReport, "没有填报记录")


def report_value(
    s: Session,
    actor: Principal,
    plan_ref: str | int,
    indicator_no: str,
    year: int,
    value: str,
    *,
    note: str | None = None,
) -> PlanReport:
    """Enter a value (a draft: attach evidence, then :func:`submit`)."""
    if actor.role not in PLAN_REPORTERS:
        raise PlanError("没有权限：只有责任单位和局工作人员可以填报指标数值")
    if actor.role == Role.UNIT and not actor.unit:
        raise PlanError("您的账号没有所属责任单位，不能填报")
    plan = find_plan(s, actor, plan_ref)
    ind = s.scalar(
        select(PlanIndicator).where(
            PlanIndicator.plan_id == plan.id, PlanIndicator.no == str(indicator_no)
        )
    )
    if ind is None:
        raise PlanError(f"规划“{plan.title}”没有序号为 {indicator_no} 的指标")
    if ind.binding is not None and not ind.dust_deduction:
        raise PlanError(f"指标“{ind.name}”由监测数据自动计算，无需填报")
    if not plan.period_start <= year <= 2200:
        raise PlanError(f"年份 {year} 早于规划期限（{plan.period_start}–{plan.period_end}）")
    row = PlanReport(
        indicator_id=ind.id,
        year=year,
        value=_exact(value),
        note=(note or "").strip() or None,
        unit_code=actor.unit,
        reported_by=actor.user_id,
        reported_at=utcnow(),
        state="draft",
    )
    s.add(row)
    s.flush()
    workflows.start(
        s,
        actor,
        WORKFLOW,
        entity_type=ENTITY,
        entity_id=row.id,
        fields={"value": row.value},
        assignee_unit=actor.unit,
    )
    return row


def submit(s: Session, actor: Principal, report_id: int, *, value: str | None = None) -> PlanReport:
    """Submit a draft (or a corrected returned report) for review; its evidence is required."""
    r = _report(s, actor, report_id)
    if value is not None:
        r.value = _exact(value)
    submit_step(s, actor, WORKFLOW, r, {"value": r.value})
    return r


def review(
    s: Session, actor: Principal, report_id: int, *, accept: bool, reason: str | None = None
) -> PlanReport:
    """Accept a submitted value, or return it with the reason."""
    r = _report(s, actor, report_id)
    denied = "没有权限：只有局工作人员可以审核填报"
    review_step(s, actor, WORKFLOW, r, accept=accept, reason=reason, denied=denied)
    return r


def _view(s: Session, r: PlanReport, ind: PlanIndicator, plan: Plan) -> ReportView:
    st = review_state(s, WORKFLOW, r)
    return ReportView(
        id=r.id,
        plan_id=plan.id,
        plan_title=plan.title,
        indicator_no=ind.no,
        indicator=ind.name,
        unit=ind.unit,
        year=r.year,
        value=r.value,
        note=r.note,
        unit_code=r.unit_code,
        state=r.state,
        state_label=st.state_label,
        reason=st.reason,
        evidence=st.evidence,
    )


def reports(s: Session, actor: Principal, *, state: str | None = None) -> list[ReportView]:
    """Reports the actor may see (a unit user: its unit's), newest first."""
    if actor.role not in PLAN_REPORTERS:
        raise NotFound("没有填报记录")
    q = (
        select(PlanReport, PlanIndicator, Plan)
        .join(PlanIndicator, PlanIndicator.id == PlanReport.indicator_id)
        .join(Plan, Plan.id == PlanIndicator.plan_id)
        .order_by(PlanReport.id.desc())
    )
    if actor.role == Role.UNIT:
        q = q.where(PlanReport.unit_code == actor.unit)
    if state is not None:
        q = q.where(PlanReport.state == state)
    return [_view(s, r, ind, plan) for r, ind, plan in s.execute(q).all()]


def accepted_values(s: Session, indicator_ids: list[int], year: int) -> dict[int, PlanReport]:
    """Indicator id → its latest accepted report of ``year``."""
    out: dict[int, PlanReport] = {}
    for r in s.scalars(
        select(PlanReport)
        .where(
            PlanReport.indicator_id.in_(indicator_ids),
            PlanReport.year == year,
            PlanReport.state == "accepted",
        )
        .order_by(PlanReport.id)
    ):
        out[r.indicator_id] = r  # later acceptances replace earlier ones
    return out


def history(s: Session, actor: Principal, report_id: int) -> list[dict[str, object]]:
    """The report's timeline (who reported, submitted, accepted or returned, when)."""
    _report(s, actor, report_id)
    return [
        {"at": e.at.isoformat(), "action": e.action, "summary": e.summary}
        for e in timeline.events(s, actor, ENTITY, report_id)
    ]
