"""The steps a unit's report goes through, shared by the two kinds of report: an indicator's
value (:mod:`.reports`, workflow ``plan_report``) and a task's progress (:mod:`.progress`,
workflow ``plan_task_progress``). Each report row is the entity of its workflow instance,
started with the report; the row's ``state`` mirrors the instance's, for listing."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from sqlalchemy.orm import Session

from qingshan.roles import Principal, Role
from qingshan.services import attachments, workflows
from qingshan.services.errors import NotFound
from qingshan.services.permissions import PLAN_REPORTERS, PLAN_REVIEWERS
from qingshan.services.plans import PlanError


class Reviewed(Protocol):
    id: Any
    state: Any
    unit_code: Any


R = TypeVar("R", bound=Reviewed)


def visible(s: Session, actor: Principal, model: type[R], report_id: int, missing: str) -> R:
    """A report the actor may see: the bureau any, a unit user only its own unit's; anything
    else is ``NotFound`` (``missing`` names the kind: 没有填报记录 …)."""
    r = s.get(model, report_id)
    if r is None or actor.role not in PLAN_REPORTERS:
        raise NotFound(f"{missing} {report_id}")
    if actor.role == Role.UNIT and r.unit_code != actor.unit:
        raise NotFound(f"{missing} {report_id}")
    return r


def register_evidence(entity: str, model: type[Reviewed], missing: str) -> None:
    """Evidence may be attached to a report still open to its unit (draft or returned)."""

    def may_attach(s: Session, p: Principal, entity_id: str) -> bool:
        if not entity_id.isdigit():
            return False
        try:
            r = visible(s, p, model, int(entity_id), missing)
        except NotFound:
            return False
        return r.state in ("draft", "returned")

    attachments.register_attach_check(entity, may_attach)


def submit_step(
    s: Session, actor: Principal, workflow: str, row: Reviewed, fields: dict[str, Any]
) -> None:
    """Submit a draft, or resubmit a returned report (the workflow requires its evidence)."""
    inst = workflows.find(s, workflow, workflow, row.id)
    assert inst is not None  # started with the report
    step = "resubmit" if row.state == "returned" else "submit"
    workflows.fire(s, actor, inst.id, step, fields=fields)
    row.state = "submitted"
    s.flush()


def review_step(
    s: Session,
    actor: Principal,
    workflow: str,
    row: Reviewed,
    *,
    accept: bool,
    reason: str | None,
    denied: str,
) -> None:
    """Accept a submitted report, or return it with the reason (the bureau's staff only;
    ``denied`` says so to anyone else)."""
    if actor.role not in PLAN_REVIEWERS:
        raise PlanError(denied)
    inst = workflows.find(s, workflow, workflow, row.id)
    assert inst is not None  # started with the report
    if accept:
        workflows.fire(s, actor, inst.id, "accept")
        row.state = "accepted"
    else:
        workflows.fire(s, actor, inst.id, "return", fields={"reason": (reason or "").strip()})
        row.state = "returned"
    s.flush()


@dataclass(frozen=True, slots=True)
class ReviewState:
    """How a report stands in its workflow, as its views show it."""

    state_label: str
    reason: str | None  # why it was returned (only while it is)
    evidence: int  # evidence files attached


def review_state(s: Session, workflow: str, row: Reviewed) -> ReviewState:
    inst = workflows.find(s, workflow, workflow, row.id)
    rec = workflows.record_of(s, inst) if inst is not None else None
    fields = dict(rec.fields) if rec is not None else {}
    ev = rec.evidence.get("evidence", 0) if rec is not None else 0
    return ReviewState(
        state_label=workflows.definition(workflow).states[row.state].label,
        reason=str(fields.get("reason")) if row.state == "returned" else None,
        evidence=int(ev),
    )
