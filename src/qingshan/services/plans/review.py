"""The steps a unit's report goes through, shared by the two kinds of report: an indicator's
value (:mod:`.reports`, workflow ``plan_report``) and a task's progress (:mod:`.progress`,
workflow ``plan_task_progress``). Each report row is the entity of its workflow instance,
started with the report; the row's ``state`` mirrors the instance's, for listing."""

from __future__ import annotations

from typing import Any, Protocol

from sqlalchemy.orm import Session

from qingshan.roles import Principal
from qingshan.services import workflows


class Reviewed(Protocol):
    id: Any
    state: Any


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
) -> None:
    """Accept a submitted report, or return it with the reason."""
    inst = workflows.find(s, workflow, workflow, row.id)
    assert inst is not None  # started with the report
    if accept:
        workflows.fire(s, actor, inst.id, "accept")
        row.state = "accepted"
    else:
        workflows.fire(s, actor, inst.id, "return", fields={"reason": (reason or "").strip()})
        row.state = "returned"
    s.flush()
