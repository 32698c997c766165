"""Reports (环境质量月报, 年报 …) from the web app: the kinds, an issue's editorial fields
(问题与建议, 审核, 签发) and the download (thin: the work is in
:mod:`qingshan.services.reports.kinds` and :mod:`~qingshan.services.reports.editorial`)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response
from sqlalchemy.orm import Session

from qingshan.roles import Principal
from qingshan.services.permissions import REPORT_APPROVERS, REPORT_EDITORS, REPORT_READERS
from qingshan.services.reports import editorial, kinds
from qingshan.storage.models_reports import ReportIssue
from qingshan.web.deps import ctx, read_db, require, write_db
from qingshan.web.exports import attachment_disposition
from qingshan.web.schemas.reports import AdviceIn, ApprovalIn, IssueOut, KindOut, ReportFormat

router = APIRouter(tags=["reports"])
# Committed before the response is sent: the page re-reads the issue right after a step.
COMMITTED = Depends(write_db, scope="function")
RETRY_SECONDS = 10
KIND = Query(..., max_length=16, description="report kind: monthly, annual (GET /reports/kinds)")
PERIOD = Query(..., max_length=10, description="2026-02 (月报), 2026 (年报)")
REGION = Query(None, pattern=r"^[0-9]{6,12}$", description="default: the deployment's own region")


def _out(p: Principal, key: kinds.ReportRef, row: ReportIssue | None) -> IssueOut:
    return IssueOut(
        **editorial.to_dict(key, row),
        may_edit=p.role in REPORT_EDITORS,
        may_approve=p.role in REPORT_APPROVERS,
    )


@router.get("/reports/kinds", response_model=list[KindOut])
def list_kinds(p: Principal = Depends(require(*REPORT_READERS))) -> list[KindOut]:
    """The kinds of report and how each names its period."""
    return [
        KindOut(
            code=k.code,
            name=k.name,
            short=k.short,
            period_name=k.period_name,
            period_hint=k.period_hint,
        )
        for k in kinds.KINDS.values()
    ]


@router.get("/reports/issue", response_model=IssueOut)
def get_issue(
    kind: str = KIND,
    period: str = PERIOD,
    region: str | None = REGION,
    p: Principal = Depends(require(*REPORT_READERS)),
    s: Session = Depends(read_db),
) -> IssueOut:
    """One issue's editorial fields (a new issue: an empty 草稿)."""
    key = kinds.resolve(s, kind, period, region)
    return _out(p, key, editorial.find(s, key))


@router.put("/reports/issue", response_model=IssueOut)
def save_advice(
    body: AdviceIn,
    kind: str = KIND,
    period: str = PERIOD,
    region: str | None = REGION,
    p: Principal = Depends(require(*REPORT_EDITORS)),
    s: Session = COMMITTED,
) -> IssueOut:
    """Write 问题与建议 (an issue already 已审核 goes back to 草稿; 已签发: 409)."""
    key = kinds.resolve(s, kind, period, region)
    return _out(p, key, editorial.save_advice(s, p, key, body.advice, body.version))


@router.post("/reports/issue/review", response_model=IssueOut)
def review(
    body: ApprovalIn,
    kind: str = KIND,
    period: str = PERIOD,
    region: str | None = REGION,
    p: Principal = Depends(require(*REPORT_APPROVERS)),
    s: Session = COMMITTED,
) -> IssueOut:
    """Record 审核 of a 草稿."""
    key = kinds.resolve(s, kind, period, region)
    return _out(p, key, editorial.review(s, p, key, body.name, body.version))


@router.post("/reports/issue/sign", response_model=IssueOut)
def sign(
    body: ApprovalIn,
    kind: str = KIND,
    period: str = PERIOD,
    region: str | None = REGION,
    p: Principal = Depends(require(*REPORT_APPROVERS)),
    s: Session = COMMITTED,
) -> IssueOut:
    """Record 签发 of an issue 已审核."""
    key = kinds.resolve(s, kind, period, region)
    return _out(p, key, editorial.sign(s, p, key, body.name, body.version))


@router.get(
    "/reports/download",
    response_class=Response,
    responses={
        200: {"content": {m: {} for m in editorial.FORMATS.values()}},
        503: {"description": "all report slots busy (Retry-After)"},
    },
)
def download(
    request: Request,
    kind: str = KIND,
    period: str = PERIOD,
    format: ReportFormat = "docx",
    region: str | None = REGION,
    p: Principal = Depends(require(*REPORT_READERS)),
) -> Response:
    """The issue as Word or Excel, built from the stored figures with its 问题与建议 and
    审核/签发 lines. A plain ``def``: the build runs in a worker thread, never on the event
    loop; it takes one of the web's export slots (``web_export_concurrency``, shared with the
    data exports), 503 with Retry-After when all are busy."""
    c = ctx(request)
    with c.read() as s:  # bad kind, period or region: answered before taking a slot
        key = kinds.resolve(s, kind, period, region)
    if not c.exports.try_enter():
        raise HTTPException(
            503,
            "报告生成任务繁忙（同时生成的报告和导出已达上限），请稍后再试",
            headers={"Retry-After": str(RETRY_SECONDS)},
        )
    try:
        with c.read() as s:
            name, data = editorial.document(s, key, format)
    finally:
        c.exports.leave()
    return Response(
        data,
        media_type=editorial.FORMATS[format],
        headers={"Content-Disposition": attachment_disposition(name)},
    )
