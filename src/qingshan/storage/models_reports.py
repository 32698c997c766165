"""The editorial fields of one report issue (issue 17; migration 0850).

``report_issue`` — per report kind (``monthly``, ``annual`` …), region and period key
(``2026-02``, ``2026`` …): the 问题与建议 text the bureau's staff write, and who recorded
审核 (review) and 签发 (sign-off), with the names printed in the document and when. The figures
themselves are never stored here: a report is always built from the stored figures.
Times are UTC without a zone.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    CheckConstraint,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from qingshan.storage import models_web  # noqa: F401  (web_user, which the *_by columns refer to)
from qingshan.storage.models import Base

ISSUE_STATUSES = ("draft", "reviewed", "issued")  # 草稿 / 已审核 / 已签发


class ReportIssue(Base):
    __tablename__ = "report_issue"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    region_code: Mapped[str] = mapped_column(ForeignKey("region.code"), index=True)
    period: Mapped[str] = mapped_column(String(10))
    advice: Mapped[str] = mapped_column(Text, default="")  # 问题与建议
    status: Mapped[str] = mapped_column(String(10), default="draft")
    version: Mapped[int] = mapped_column(Integer, default=1)  # optimistic concurrency
    updated_by: Mapped[int | None] = mapped_column(ForeignKey("web_user.id"))
    updated_at: Mapped[datetime] = mapped_column(DateTime)
    reviewer_name: Mapped[str | None] = mapped_column(String(100))
    reviewed_by: Mapped[int | None] = mapped_column(ForeignKey("web_user.id"))
    reviewed_at: Mapped[datetime | None] = mapped_column(DateTime)
    signer_name: Mapped[str | None] = mapped_column(String(100))
    signed_by: Mapped[int | None] = mapped_column(ForeignKey("web_user.id"))
    signed_at: Mapped[datetime | None] = mapped_column(DateTime)
    __table_args__ = (
        UniqueConstraint("kind", "region_code", "period"),
        CheckConstraint(
            "status IN (" + ",".join(f"'{v}'" for v in ISSUE_STATUSES) + ")", name="status"
        ),
    )
