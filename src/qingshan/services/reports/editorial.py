"""The editorial fields of a report issue (问题与建议, 审核, 签发) and how they enter the report.

One ``report_issue`` row per kind, region and period. The bureau's staff write 问题与建议
(:data:`~qingshan.services.permissions.REPORT_EDITORS`); a leader records 审核 and then 签发
(:data:`~qingshan.services.permissions.REPORT_APPROVERS`). Status: 草稿 → 已审核 → 已签发.
Changing 问题与建议 after 审核 takes the issue back to 草稿 (what was reviewed is no longer the
text); an issued report is frozen. Every change is checked against the version the editor
loaded (two editors cannot overwrite each other unseen) and written to the audit log.

:func:`apply` adds a numbered 问题与建议 section before the appendix (附) and the 审核/签发
lines at the end of a built report.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from qingshan.clock import to_cst, utcnow
from qingshan.roles import Principal
from qingshan.services import audit
from qingshan.services.errors import Conflict, ServiceError
from qingshan.services.reports import kinds
from qingshan.services.reports.kinds import ReportRef
from qingshan.services.reports.model import Block, Report
from qingshan.services.reports.writers import to_docx, to_xlsx
from qingshan.storage.models_reports import ReportIssue
from qingshan.storage.models_web import WebUser

STATUS_LABELS = {"draft": "草稿", "reviewed": "已审核", "issued": "已签发"}
MAX_ADVICE = 20_000
MAX_NAME = 100
NUMERALS = "一二三四五六七八九十"
SECTION = "问题与建议"
AUDITED = ("advice", "status", "reviewer_name", "signer_name", "version")


def find(s: Session, key: ReportRef) -> ReportIssue | None:
    return s.scalar(
        select(ReportIssue).where(
            ReportIssue.kind == key.kind.code,
            ReportIssue.region_code == key.region,
            ReportIssue.period == key.period.key,
        )
    )


def _day(t: datetime | None) -> str:
    if t is None:
        return ""
    d = to_cst(t).date()
    return f"{d.year}年{d.month}月{d.day}日"


def signoff_lines(row: ReportIssue | None) -> list[str]:
    """The 审核 and 签发 lines as printed (pending ones say so)."""
    if row is not None and row.reviewer_name:
        review = f"审核：{row.reviewer_name}（{_day(row.reviewed_at)}）"
    else:
        review = "审核：（待审核）"
    if row is not None and row.signer_name:
        sign = f"签发：{row.signer_name}（{_day(row.signed_at)}）"
    else:
        sign = "签发：（待签发）"
    return [review, sign]


def to_dict(key: ReportRef, row: ReportIssue | None) -> dict[str, Any]:
    status = row.status if row is not None else "draft"

    def t(x: datetime | None) -> str | None:
        return None if x is None else to_cst(x).isoformat(timespec="seconds") + "+08:00"

    return {
        "kind": key.kind.code,
        "kind_name": key.kind.name,
        "region": key.region,
        "period": key.period.key,
        "period_label": key.period.label,
        "advice": row.advice if row is not None else "",
        "status": status,
        "status_label": STATUS_LABELS[status],
        "version": row.version if row is not None else 0,
        "updated_at": t(row.updated_at) if row is not None else None,
        "reviewer_name": row.reviewer_name if row is not None else None,
        "reviewed_at": t(row.reviewed_at) if row is not None else None,
        "signer_name": row.signer_name if row is not None else None,
        "signed_at": t(row.signed_at) if row is not None else None,
        "signoff": signoff_lines(row),
    }


def _snapshot(row: ReportIssue | None) -> dict[str, Any] | None:
    return None if row is None else audit.snapshot(row, AUDITED)


def _row(s: Session, p: Principal, key: ReportRef, version: int | None) -> ReportIssue:
    """The issue's row (a new draft when there is none), after the version check."""
    row = find(s, key)
    have = row.version if row is not None else 0
    if version is not None and version != have:
        raise Conflict("该期报告已被他人修改，请刷新后再操作")
    if row is None:
        row = ReportIssue(
            kind=key.kind.code,
            region_code=key.region,
            period=key.period.key,
            advice="",
            status="draft",
            version=0,
            updated_by=p.user_id,
            updated_at=utcnow(),
        )
    return row


def _store(
    s: Session, p: Principal, key: ReportRef, row: ReportIssue, action: str, before: Any
) -> ReportIssue:
    row.version += 1
    row.updated_by = p.user_id
    row.updated_at = utcnow()
    try:
        with s.begin_nested():  # two first saves of one issue at once: one wins, one is told
            s.add(row)
            s.flush()
    except IntegrityError:
        raise Conflict("该期报告已被他人修改，请刷新后再操作") from None
    audit.record(
        s,
        p,
        action=action,
        entity="report_issue",
        entity_id=key.ref,
        before=before,
        after=_snapshot(row),
    )
    return row


def _name(s: Session, p: Principal, given: str | None) -> str:
    name = (given or "").strip()
    if not name and p.user_id is not None:
        name = (s.scalar(select(WebUser.display_name).where(WebUser.id == p.user_id)) or "").strip()
    name = name or (p.username or "")
    if not name:
        raise ServiceError("请填写姓名")
    if len(name) > MAX_NAME:
        raise ServiceError(f"姓名过长（最多 {MAX_NAME} 个字）")
    return name


def save_advice(
    s: Session, p: Principal, key: ReportRef, text: str, version: int | None = None
) -> ReportIssue:
    """Write 问题与建议; after 审核 the issue goes back to 草稿 (the reviewed text changed)."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").strip()
    if len(text) > MAX_ADVICE:
        raise ServiceError(f"问题与建议过长（最多 {MAX_ADVICE} 字）")
    row = _row(s, p, key, version)
    if row.status == "issued":
        raise Conflict("本期报告已签发，问题与建议不能再修改")
    before = _snapshot(row) if row.id is not None else None
    if text == row.advice and row.id is not None:
        return row
    row.advice = text
    if row.status == "reviewed":
        row.status = "draft"
        row.reviewer_name = row.reviewed_at = row.reviewed_by = None
    return _store(s, p, key, row, "report_issue.advice", before)


def review(
    s: Session, p: Principal, key: ReportRef, name: str | None = None, version: int | None = None
) -> ReportIssue:
    """Record 审核 (of a draft)."""
    row = _row(s, p, key, version)
    if row.status != "draft":
        raise Conflict(f"本期报告{STATUS_LABELS[row.status]}，不能再审核")
    before = _snapshot(row) if row.id is not None else None
    row.reviewer_name = _name(s, p, name)
    row.reviewed_by = p.user_id
    row.reviewed_at = utcnow()
    row.status = "reviewed"
    return _store(s, p, key, row, "report_issue.review", before)


def sign(
    s: Session, p: Principal, key: ReportRef, name: str | None = None, version: int | None = None
) -> ReportIssue:
    """Record 签发 (of a reviewed issue)."""
    row = _row(s, p, key, version)
    if row.status == "issued":
        raise Conflict("本期报告已签发")
    if row.status != "reviewed":
        raise Conflict("本期报告尚未审核，须先审核再签发")
    before = _snapshot(row)
    row.signer_name = _name(s, p, name)
    row.signed_by = p.user_id
    row.signed_at = utcnow()
    row.status = "issued"
    return _store(s, p, key, row, "report_issue.sign", before)


def _paragraphs(text: str) -> list[str]:
    return [line.strip() for line in text.split("\n") if line.strip()]


def apply(rep: Report, row: ReportIssue | None) -> Report:
    """``rep`` with the issue's 问题与建议 (a numbered section before the appendix) and its
    审核/签发 lines at the end."""
    if row is not None and row.advice.strip():
        at = next(
            (i for i, b in enumerate(rep.blocks) if b.kind == "h1" and b.text.startswith("附")),
            len(rep.blocks),
        )
        numbered = sum(
            1 for b in rep.blocks if b.kind == "h1" and re.match(f"[{NUMERALS}]+、", b.text)
        )
        head = f"{NUMERALS[numbered]}、" if numbered < len(NUMERALS) else ""
        section = [Block("h1", head + SECTION)] + [Block("p", x) for x in _paragraphs(row.advice)]
        rep.blocks[at:at] = section
    rep.signoff = signoff_lines(row)
    return rep


FORMATS = {
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def document(s: Session, key: ReportRef, fmt: str) -> tuple[str, bytes]:
    """The issue as a file: (file name, bytes) — the report built from the stored figures
    with the issue's editorial fields, as Word (``docx``) or Excel (``xlsx``)."""
    if fmt not in FORMATS:
        raise ServiceError(f"不支持的格式“{fmt}”，可选：docx（Word）、xlsx（Excel）")
    rep = apply(kinds.build(s, key.kind, key.period, key.region), find(s, key))
    data = to_docx(rep) if fmt == "docx" else to_xlsx(rep)
    return kinds.file_name(rep, key.kind, fmt), data
