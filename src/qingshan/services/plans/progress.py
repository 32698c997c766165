"""Progress on plan tasks reported by their responsible units, with evidence, reviewed by the
bureau (workflow ``plan_task_progress``, data in
``qingshan/workflow/definitions/plan_task_progress.toml``) — the sibling of the indicator
values' :mod:`qingshan.services.plans.reports`.

A unit user reports on a task its unit carries (牵头, 配合, 负责 or 分别负责); bureau staff may
report on any. A report is the percent done (an integer 0–100) and what was done, then an
evidence file (attachment of entity ``plan_task_progress``, evidence kind ``evidence``), then
submitted; staff accept it or return it with the reason, and a returned report is corrected
and submitted again. A task's progress (:func:`accepted_progress`) is its latest accepted
report of each unit. Every step is on the report's timeline and in the audit log (through
the workflow service). Completion itself stays the bureau's record
(:func:`qingshan.services.plans.tasks.complete`).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from qingshan.clock import to_cst, utcnow
from qingshan.roles import Principal, Role
from qingshan.services import workflows
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
from qingshan.storage.models_plans import Plan, PlanTask, PlanTaskProgress, PlanTaskUnit

WORKFLOW = "plan_task_progress"
ENTITY = "plan_task_progress"

__all__ = ["ProgressView", "accepted_progress", "report", "reports", "review", "submit"]


@dataclass(frozen=True, slots=True)
class ProgressView:
    id: int
    plan_id: int
    plan_title: str
    task_no: str
    task: str
    percent: int
    text: str
    unit_code: str | None
    reported_at: str
    state: str
    state_label: str
    reason: str | None
    evidence: int

    def to_dict(self) -> dict[str, object]:
        return {k: getattr(self, k) for k in self.__slots__}


def _percent(value: int | str) -> int:
    try:
        p = int(str(value).strip().rstrip("%"))
    except ValueError:
        raise PlanError(f"完成进度“{value}”不是0–100的整数") from None
    if not 0 <= p <= 100:
        raise PlanError(f"完成进度 {p} 不在0–100之间")
    return p


def _text(value: str) -> str:
    t = (value or "").strip()
    if not t or len(t) > 2000:
        raise PlanError("请填写进展情况（不超过2000字）")
    return t


def _row(s: Session, actor: Principal, report_id: int) -> PlanTaskProgress:
    return visible(s, actor, PlanTaskProgress, report_id, "没有进展报送")


register_evidence(ENTITY, PlanTaskProgress, "没有进展报送")


def report(
    s: Session,
    actor: Principal,
    plan_ref: str | int,
    task_no: str,
    percent: int | str,
    text: str,
) -> PlanTaskProgress:
    """Enter progress on a task (a draft: attach evidence, then :func:`submit`)."""
    if actor.role not in PLAN_REPORTERS:
        raise PlanError("没有权限：只有责任单位和局工作人员可以报送任务进展")
    if actor.role == Role.UNIT and not actor.unit:
        raise PlanError("您的账号没有所属责任单位，不能报送")
    plan = find_plan(s, actor, plan_ref)
    t = s.scalar(select(PlanTask).where(PlanTask.plan_id == plan.id, PlanTask.no == str(task_no)))
    if t is None:
        raise PlanError(f"规划“{plan.title}”没有序号为 {task_no} 的任务")
    if actor.role == Role.UNIT:
        carries = s.scalar(
            select(PlanTaskUnit).where(
                PlanTaskUnit.task_id == t.id, PlanTaskUnit.unit_code == actor.unit
            )
        )
        if carries is None:
            raise PlanError(f"任务 {t.no}“{t.text}”不是您单位的任务")
    row = PlanTaskProgress(
        task_id=t.id,
        unit_code=actor.unit,
        percent=_percent(percent),
        text=_text(text),
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
        fields={"progress": f"{row.percent}%：{row.text}"},
        assignee_unit=actor.unit,
    )
    return row


def submit(
    s: Session,
    actor: Principal,
    report_id: int,
    *,
    percent: int | str | None = None,
    text: str | None = None,
) -> PlanTaskProgress:
    """Submit a draft (or a corrected returned report) for review; its evidence is required."""
    r = _row(s, actor, report_id)
    if percent is not None:
        r.percent = _percent(percent)
    if text is not None:
        r.text = _text(text)
    submit_step(s, actor, WORKFLOW, r, {"progress": f"{r.percent}%：{r.text}"})
    return r


def review(
    s: Session, actor: Principal, report_id: int, *, accept: bool, reason: str | None = None
) -> PlanTaskProgress:
    """Accept submitted progress, or return it with the reason."""
    r = _row(s, actor, report_id)
    denied = "没有权限：只有局工作人员可以审核进展报送"
    review_step(s, actor, WORKFLOW, r, accept=accept, reason=reason, denied=denied)
    return r


def _view(s: Session, r: PlanTaskProgress, t: PlanTask, plan: Plan) -> ProgressView:
    st = review_state(s, WORKFLOW, r)
    return ProgressView(
        id=r.id,
        plan_id=plan.id,
        plan_title=plan.title,
        task_no=t.no,
        task=t.text,
        percent=r.percent,
        text=r.text,
        unit_code=r.unit_code,
        reported_at=to_cst(r.reported_at).strftime("%Y-%m-%d %H:%M"),
        state=r.state,
        state_label=st.state_label,
        reason=st.reason,
        evidence=st.evidence,
    )


def reports(s: Session, actor: Principal, *, state: str | None = None) -> list[ProgressView]:
    """Progress reports the actor may see (a unit user: its unit's), newest first."""
    if actor.role not in PLAN_REPORTERS:
        raise NotFound("没有进展报送")
    q = (
        select(PlanTaskProgress, PlanTask, Plan)
        .join(PlanTask, PlanTask.id == PlanTaskProgress.task_id)
        .join(Plan, Plan.id == PlanTask.plan_id)
        .order_by(PlanTaskProgress.id.desc())
    )
    if actor.role == Role.UNIT:
        q = q.where(PlanTaskProgress.unit_code == actor.unit)
    if state is not None:
        q = q.where(PlanTaskProgress.state == state)
    return [_view(s, r, t, plan) for r, t, plan in s.execute(q).all()]


def accepted_progress(s: Session, task_ids: list[int]) -> dict[int, list[dict[str, object]]]:
    """Task id → the latest accepted report of each unit (unit, percent, text, when)."""
    latest: dict[tuple[int, str | None], PlanTaskProgress] = {}
    if task_ids:
        for r in s.scalars(
            select(PlanTaskProgress)
            .where(PlanTaskProgress.task_id.in_(task_ids), PlanTaskProgress.state == "accepted")
            .order_by(PlanTaskProgress.id)
        ):
            latest[(r.task_id, r.unit_code)] = r  # later acceptances replace earlier ones
    out: dict[int, list[dict[str, object]]] = {i: [] for i in task_ids}
    for (tid, unit), r in sorted(latest.items(), key=lambda kv: (kv[0][0], kv[0][1] or "")):
        out[tid].append(
            {
                "unit_code": unit,
                "percent": r.percent,
                "text": r.text,
                "reported_at": to_cst(r.reported_at).strftime("%Y-%m-%d %H:%M"),
                "report_id": r.id,
            }
        )
    return out
