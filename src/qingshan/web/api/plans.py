"""Plans: the loaded plans, a plan's indicator status, and values reported by units with
evidence and reviewed by the bureau (thin: the work is in :mod:`qingshan.services.plans`)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Path, Query, Response
from sqlalchemy.orm import Session

from qingshan.roles import Principal
from qingshan.services import plans
from qingshan.services.permissions import (
    PLAN_EDITORS,
    PLAN_READERS,
    PLAN_REPORTERS,
    PLAN_REVIEWERS,
)
from qingshan.services.plans import assess, assigned, progress, reports, tasks
from qingshan.services.plans import assessment as plan_assessment
from qingshan.services.plans import export as plan_export
from qingshan.services.reports import writers
from qingshan.web.deps import PathId, read_db, require, write_db
from qingshan.web.schemas.plans import (
    AssignedIn,
    AssignedOut,
    CompleteIn,
    PlanOut,
    ProgressIn,
    ProgressReviewIn,
    ProgressSubmitIn,
    ReportIn,
    ReportOut,
    ReviewIn,
    SchemeIn,
    SubmitIn,
)

router = APIRouter(tags=["plans"])
PLAN_REF = r"^[A-Za-z0-9-]{1,40}$"
# The transaction commits before the response is sent (scope="function"): the page re-reads
# the board and the lists right after a step, and must see it (a request-scoped dependency
# would commit only after the response has gone out).
COMMITTED = Depends(write_db, scope="function")


def _out(v: reports.ReportView) -> ReportOut:
    return ReportOut(**v.to_dict())


@router.get("/plans", response_model=list[PlanOut])
def list_plans(
    p: Principal = Depends(require(*PLAN_READERS)), s: Session = Depends(read_db)
) -> list[PlanOut]:
    """The loaded plans."""
    return [
        PlanOut(
            id=x.id,
            template_id=x.template_id,
            title=x.title,
            region=x.region_code,
            period=f"{x.period_start}–{x.period_end}",
        )
        for x in plans.list_plans(s, p)
    ]


@router.get("/plans/{plan}/status")
def plan_status(
    plan: str = Path(..., pattern=PLAN_REF, description="plan id or template id"),
    year: int | None = Query(None, ge=1949, le=2200),
    p: Principal = Depends(require(*PLAN_READERS)),
    s: Session = Depends(read_db),
) -> dict[str, Any]:
    """Every indicator of the plan in the year: targets, actual value, status and reason, the
    projection to the year's end (the same JSON as ``qingshan plan status --json``)."""
    return assess.plan_status(s, p, plan, year=year).to_dict()


@router.get("/plans/{plan}/tasks")
def plan_tasks(
    plan: str = Path(..., pattern=PLAN_REF),
    unit: str | None = Query(None, max_length=100, description="only this unit's tasks"),
    p: Principal = Depends(require(*PLAN_READERS)),
    s: Session = Depends(read_db),
) -> list[dict[str, Any]]:
    """The plan's tasks with their units and roles, overdue first (a unit user: its own
    unit's unless ``unit`` is given)."""
    if unit is None and p.unit:
        unit = p.unit
    return [v.to_dict() for v in tasks.task_list(s, p, plan, unit=unit)]


@router.get("/plans/{plan}/tasks.ics", response_class=Response)
def plan_tasks_ics(
    plan: str = Path(..., pattern=PLAN_REF),
    unit: str | None = Query(None, max_length=100),
    p: Principal = Depends(require(*PLAN_READERS)),
    s: Session = Depends(read_db),
) -> Response:
    """The tasks with deadlines as an iCalendar file (任务单、行事历) for one's calendar."""
    text = tasks.ics(s, p, plan, unit=unit if unit is not None else p.unit)
    return Response(
        text.encode("utf-8"),
        media_type="text/calendar; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="plan-tasks.ics"'},
    )


@router.post("/plans/{plan}/tasks/{task_no}/complete")
def complete_task(
    body: CompleteIn,
    plan: str = Path(..., pattern=PLAN_REF),
    task_no: str = Path(..., pattern=r"^[0-9A-Za-z.-]{1,20}$"),
    p: Principal = Depends(require(*PLAN_EDITORS)),
    s: Session = COMMITTED,
) -> dict[str, Any]:
    """Record a task complete (no more reminders; no longer overdue)."""
    t = tasks.complete(s, p, plan, task_no, body.on)
    return {"no": t.no, "completed_on": body.on.isoformat()}


@router.get("/plans/{plan}/export.xlsx", response_class=Response)
def export_xlsx(
    plan: str = Path(..., pattern=PLAN_REF),
    year: int | None = Query(None, ge=1949, le=2200),
    p: Principal = Depends(require(*PLAN_READERS)),
    s: Session = Depends(read_db),
) -> Response:
    """The indicator table in the plan's own layout with the year's values and status, and
    the tasks (.xlsx, the report writers')."""
    data = writers.to_xlsx(plan_export.progress_report(s, p, plan, year=year))
    return Response(
        data,
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": 'attachment; filename="plan-indicators.xlsx"'},
    )


@router.post("/plans/{plan}/assessment/scheme", status_code=201)
def save_assessment_scheme(
    body: SchemeIn,
    plan: str = Path(..., pattern=PLAN_REF),
    p: Principal = Depends(require(*PLAN_EDITORS)),
    s: Session = COMMITTED,
) -> dict[str, Any]:
    """Keep a year's assessment (考核) scheme (TOML, docs/plans.md); the latest applies."""
    row = plan_assessment.save_scheme(s, p, plan, body.text)
    return {"id": row.id, "year": row.year}


@router.get("/plans/{plan}/assessment")
def assessment(
    plan: str = Path(..., pattern=PLAN_REF),
    year: int = Query(..., ge=1949, le=2200),
    p: Principal = Depends(require(*PLAN_EDITORS)),
    s: Session = Depends(read_db),
) -> dict[str, Any]:
    """The year's stored scheme (text, who, when) and the assessment computed from it."""
    info, result = plan_assessment.stored(s, p, plan, year)
    return {"scheme": info, "result": result.to_dict()}


@router.get("/plans/{plan}/assessment.xlsx", response_class=Response)
def assessment_xlsx(
    plan: str = Path(..., pattern=PLAN_REF),
    year: int = Query(..., ge=1949, le=2200),
    p: Principal = Depends(require(*PLAN_EDITORS)),
    s: Session = Depends(read_db),
) -> Response:
    """The year's assessment as .xlsx (考核结果, 评分明细) — the command line's workbook."""
    _info, result = plan_assessment.stored(s, p, plan, year)
    return Response(
        plan_assessment.workbook(result),
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": f'attachment; filename="assessment-{year}.xlsx"'},
    )


@router.get("/plans/progress")
def list_progress(
    state: str | None = Query(None, pattern=r"^(draft|submitted|returned|accepted)$"),
    p: Principal = Depends(require(*PLAN_REPORTERS)),
    s: Session = Depends(read_db),
) -> list[dict[str, object]]:
    """Task progress reports the user may see (a unit user: its unit's); ``state=submitted``
    is the bureau's review queue."""
    return [v.to_dict() for v in progress.reports(s, p, state=state)]


@router.post("/plans/{plan}/tasks/{task_no}/progress", status_code=201)
def report_progress(
    body: ProgressIn,
    plan: str = Path(..., pattern=PLAN_REF),
    task_no: str = Path(..., min_length=1, max_length=20),
    p: Principal = Depends(require(*PLAN_REPORTERS)),
    s: Session = COMMITTED,
) -> dict[str, object]:
    """Enter progress on a task (a draft): attach evidence
    (``POST /attachments?entity_type=plan_task_progress&entity_id=ID&evidence=evidence``),
    then submit it."""
    r = progress.report(s, p, plan, task_no, body.percent, body.text)
    return next(v for v in progress.reports(s, p) if v.id == r.id).to_dict()


@router.post("/plans/progress/{report_id}/submit")
def submit_progress(
    report_id: PathId,
    body: ProgressSubmitIn,
    p: Principal = Depends(require(*PLAN_REPORTERS)),
    s: Session = COMMITTED,
) -> dict[str, object]:
    """Submit a progress report (its evidence attached) for review."""
    r = progress.submit(s, p, report_id, percent=body.percent, text=body.text)
    return next(v for v in progress.reports(s, p) if v.id == r.id).to_dict()


@router.post("/plans/progress/{report_id}/review")
def review_progress(
    report_id: PathId,
    body: ProgressReviewIn,
    p: Principal = Depends(require(*PLAN_REVIEWERS)),
    s: Session = COMMITTED,
) -> dict[str, object]:
    """Accept a submitted progress report, or return it with the reason."""
    r = progress.review(s, p, report_id, accept=body.accept, reason=body.reason)
    return next(v for v in progress.reports(s, p) if v.id == r.id).to_dict()


@router.get("/plans/reports", response_model=list[ReportOut])
def list_reports(
    state: str | None = Query(None, pattern=r"^(draft|submitted|returned|accepted)$"),
    p: Principal = Depends(require(*PLAN_REPORTERS)),
    s: Session = Depends(read_db),
) -> list[ReportOut]:
    """Reported values, newest first (a unit user: its own unit's); ``state=submitted`` is
    the bureau's review queue."""
    return [_out(v) for v in reports.reports(s, p, state=state)]


@router.post("/plans/{plan}/reports", response_model=ReportOut, status_code=201)
def create_report(
    body: ReportIn,
    plan: str = Path(..., pattern=PLAN_REF),
    p: Principal = Depends(require(*PLAN_REPORTERS)),
    s: Session = COMMITTED,
) -> ReportOut:
    """Enter an indicator's value for a year (a draft): attach evidence to it
    (``POST /attachments?entity_type=plan_report&entity_id=ID&evidence=evidence``), then
    submit it."""
    r = reports.report_value(s, p, plan, body.indicator_no, body.year, body.value, note=body.note)
    return _out(next(v for v in reports.reports(s, p) if v.id == r.id))


@router.post("/plans/{plan}/assigned", response_model=AssignedOut, status_code=201)
def enter_assigned(
    body: AssignedIn,
    plan: str = Path(..., pattern=PLAN_REF),
    p: Principal = Depends(require(*PLAN_EDITORS)),
    s: Session = COMMITTED,
) -> AssignedOut:
    """Enter the value the higher level assigned to a 完成上级下达目标 target; attach the
    letter (``POST /attachments?entity_type=plan_assigned_target&entity_id=ID&
    evidence=evidence``): the latest entry with evidence is the target applied."""
    r = assigned.enter(s, p, plan, body.indicator_no, body.year, body.text, note=body.note)
    _applied, last = assigned.latest(s, [r.target_id])[r.target_id]
    return AssignedOut(**last.to_dict())


@router.post("/plans/reports/{report_id}/submit", response_model=ReportOut)
def submit_report(
    report_id: PathId,
    body: SubmitIn,
    p: Principal = Depends(require(*PLAN_REPORTERS)),
    s: Session = COMMITTED,
) -> ReportOut:
    """Submit a draft or a corrected returned report for review (its evidence is required)."""
    r = reports.submit(s, p, report_id, value=body.value)
    return _out(next(v for v in reports.reports(s, p) if v.id == r.id))


@router.post("/plans/reports/{report_id}/review", response_model=ReportOut)
def review_report(
    report_id: PathId,
    body: ReviewIn,
    p: Principal = Depends(require(*PLAN_REVIEWERS)),
    s: Session = COMMITTED,
) -> ReportOut:
    """Accept a submitted value, or return it with the reason."""
    r = reports.review(s, p, report_id, accept=body.accept, reason=body.reason)
    return _out(next(v for v in reports.reports(s, p) if v.id == r.id))
