"""Request and response shapes of the reports API (``/api/v1/reports``)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from qingshan.services.reports.editorial import MAX_ADVICE, MAX_NAME

ReportFormat = Literal["docx", "xlsx"]


class KindOut(BaseModel):
    code: str
    name: str
    short: str
    period_name: str
    period_hint: str


class IssueOut(BaseModel):
    kind: str
    kind_name: str
    region: str
    period: str
    period_label: str
    advice: str = Field(description="问题与建议")
    status: Literal["draft", "reviewed", "issued"]
    status_label: str = Field(description="草稿 / 已审核 / 已签发")
    version: int = Field(description="send it back with a change: 409 when someone else changed it")
    updated_at: str | None
    reviewer_name: str | None
    reviewed_at: str | None
    signer_name: str | None
    signed_at: str | None
    signoff: list[str] = Field(description="the 审核 and 签发 lines as printed")
    may_edit: bool = False
    may_approve: bool = False


class AdviceIn(BaseModel):
    advice: str = Field(max_length=MAX_ADVICE, description="问题与建议")
    version: int | None = Field(None, ge=0)


class ApprovalIn(BaseModel):
    name: str | None = Field(
        None, max_length=MAX_NAME, description="the name printed (default: the account's name)"
    )
    version: int | None = Field(None, ge=0)
