"""Values of 完成上级下达目标 targets, entered by the bureau once the higher level assigns them.

A plan states many targets as "完成省市下达目标": the number comes later, in a letter from the
province or city. Bureau staff (or an administrator) enter it for the indicator's milestone
as the higher level states it — a number ("42", read with the indicator's direction as a
floor or a ceiling), or a form such as "≤42", "较2020年降低18%" — with an optional note, then
attach the letter as evidence (attachment of entity ``plan_assigned_target``, evidence kind
``evidence``). The latest entry of a milestone that has evidence is the target the indicator
is judged against (:mod:`qingshan.services.plans.assess`), shown with who entered it and
when; an entry still without evidence is shown as waiting for it. Entries are never
overwritten: a correction is a new entry; each is on the timeline and in the audit log.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from qingshan.clock import to_cst, utcnow
from qingshan.plans.comparators import TargetError, parse_target
from qingshan.roles import Principal
from qingshan.services import attachments, timeline
from qingshan.services.permissions import PLAN_EDITORS
from qingshan.services.plans import PlanError, find_plan
from qingshan.storage.models_plans import PlanAssignedTarget, PlanIndicator, PlanTarget

ENTITY = "plan_assigned_target"

__all__ = ["ENTITY", "Assigned", "enter", "latest"]


@dataclass(frozen=True, slots=True)
class Assigned:
    """The entry that applies to a target (or the latest one, still waiting for evidence)."""

    id: int
    text: str
    comparator: str
    value: str | None
    base_year: int | None
    note: str | None
    entered_by: str
    entered_at: datetime  # UTC
    evidence: int

    def to_dict(self) -> dict[str, object]:
        return {
            "id": self.id,
            "text": self.text,
            "comparator": self.comparator,
            "value": self.value,
            "base_year": self.base_year,
            "note": self.note,
            "entered_by": self.entered_by,
            "entered_at": to_cst(self.entered_at).strftime("%Y-%m-%d %H:%M"),
            "evidence": self.evidence,
        }


def _may_attach(s: Session, p: Principal, entity_id: str) -> bool:
    """Evidence of an entry: the bureau's staff and administrators only."""
    return (
        p.role in PLAN_EDITORS
        and entity_id.isdigit()
        and s.get(PlanAssignedTarget, int(entity_id)) is not None
    )


attachments.register_attach_check(ENTITY, _may_attach)


def enter(
    s: Session,
    actor: Principal,
    plan_ref: str | int,
    indicator_no: str,
    year: int,
    text: str,
    *,
    note: str | None = None,
) -> PlanAssignedTarget:
    """Enter the assigned value of an indicator's 完成上级下达目标 target of milestone ``year``
    (attach its evidence next)."""
    if actor.role not in PLAN_EDITORS:
        raise PlanError("没有权限：只有管理员和局工作人员可以录入上级下达的目标值")
    plan = find_plan(s, actor, plan_ref)
    ind = s.scalar(
        select(PlanIndicator).where(
            PlanIndicator.plan_id == plan.id, PlanIndicator.no == str(indicator_no)
        )
    )
    if ind is None:
        raise PlanError(f"规划“{plan.title}”没有序号为 {indicator_no} 的指标")
    t = s.scalar(
        select(PlanTarget).where(PlanTarget.indicator_id == ind.id, PlanTarget.year == year)
    )
    if t is None:
        raise PlanError(f"指标“{ind.name}”没有{year}年的目标")
    if t.comparator != "assigned":
        raise PlanError(f"指标“{ind.name}”{year}年的目标“{t.text}”不是上级下达目标，无需录入")
    raw = (text or "").strip()
    if not raw or len(raw) > 200:
        raise PlanError("请填写上级下达的目标值（如 42、≤42、较2020年降低18%），不超过200字")
    try:
        c = parse_target(raw, ind.direction)
    except TargetError as exc:
        raise PlanError(f"无法识别下达目标“{raw}”：{exc}") from None
    if c.kind in ("assigned", "qualitative") or (c.value is None and c.kind != "no_new"):
        raise PlanError(
            f"下达目标“{raw}”没有可判断的数值（请填写如 42、≤42、较2020年降低18% 的形式）"
        )
    row = PlanAssignedTarget(
        target_id=t.id,
        text=raw,
        comparator=c.kind,
        value=c.value,
        base_year=c.base_year,
        note=(note or "").strip() or None,
        entered_by=actor.user_id,
        entered_by_name=actor.username or "cli",
        entered_at=utcnow(),
    )
    s.add(row)
    s.flush()
    timeline.record_change(
        s,
        actor,
        entity_type=ENTITY,
        entity_id=row.id,
        action="plan_assigned_target.enter",
        summary=f"录入上级下达目标：{ind.name}（{year}年）{raw}",
        before=None,
        after={"indicator": ind.no, "year": year, "text": raw, "comparator": c.kind},
    )
    return row


def latest(s: Session, target_ids: list[int]) -> dict[int, tuple[Assigned | None, Assigned]]:
    """Target id → (the latest entry with evidence, or None; the latest entry of all)."""
    out: dict[int, tuple[Assigned | None, Assigned]] = {}
    if not target_ids:
        return out
    rows = s.scalars(
        select(PlanAssignedTarget)
        .where(PlanAssignedTarget.target_id.in_(target_ids))
        .order_by(PlanAssignedTarget.id)
    )
    for r in rows:
        ev = attachments.evidence_counts(s, ENTITY, r.id).get("evidence", 0)
        a = Assigned(
            r.id,
            r.text,
            r.comparator,
            r.value,
            r.base_year,
            r.note,
            r.entered_by_name,
            r.entered_at,
            ev,
        )
        applied = out.get(r.target_id, (None, a))[0]
        out[r.target_id] = (a if ev > 0 else applied, a)
    return out
