"""Environmental-quality reports (日报, 周报, 月报, 年报) from the stored figures: .docx,
.xlsx, .pdf.

:func:`daily_report` / :func:`weekly_report` (:mod:`~qingshan.services.reports.periodic`) and
:func:`monthly_report` / :func:`annual_report` (:mod:`~qingshan.services.reports.content`)
build the content from the figure tables only; :func:`write_report` renders it by the
output's extension (:mod:`qingshan.services.reports.writers`). See docs/reports.md.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from sqlalchemy.orm import Session

from qingshan.services.reports.content import annual as annual_report
from qingshan.services.reports.content import monthly as monthly_report
from qingshan.services.reports.model import Report, ReportError
from qingshan.services.reports.periodic import daily, weekly
from qingshan.services.reports.writers import docx_to_pdf, libreoffice, to_docx, to_xlsx, write

__all__ = [
    "Report",
    "ReportError",
    "annual_report",
    "daily_report",
    "docx_to_pdf",
    "libreoffice",
    "monthly_report",
    "to_docx",
    "to_xlsx",
    "weekly_report",
    "write_report",
]


def daily_report(session: Session, day: date, region: str | None = None) -> Report:
    """The 环境空气质量日报 of ``region`` (default: the deployment's own) for ``day``."""
    return daily(session, day, region)


def weekly_report(session: Session, week_start: date, region: str | None = None) -> Report:
    """The 环境空气质量周报 of the week from Monday ``week_start``; another weekday is a
    :class:`ReportError`."""
    return weekly(session, week_start, region)


def write_report(rep: Report, out: Path) -> Path:
    return write(rep, out)
