"""Environmental-quality reports (月报, 年报) from the stored figures: .docx, .xlsx, .pdf.

:func:`monthly_report` / :func:`annual_report` build the content from the figure tables only
(:mod:`qingshan.services.reports.content`); :func:`write_report` renders it by the output's
extension (:mod:`qingshan.services.reports.writers`). See docs/reports.md.
"""

from __future__ import annotations

from pathlib import Path

from qingshan.services.reports.content import annual as annual_report
from qingshan.services.reports.content import monthly as monthly_report
from qingshan.services.reports.model import Report, ReportError
from qingshan.services.reports.writers import docx_to_pdf, libreoffice, to_docx, to_xlsx, write

__all__ = [
    "Report",
    "ReportError",
    "annual_report",
    "docx_to_pdf",
    "libreoffice",
    "monthly_report",
    "to_docx",
    "to_xlsx",
    "write_report",
]


def write_report(rep: Report, out: Path) -> Path:
    return write(rep, out)
