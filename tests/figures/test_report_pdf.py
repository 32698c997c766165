"""PDF output through LibreOffice (an optional system tool): the monthly report converts and
its pages carry the Chinese text (checked with pdftotext from poppler-utils)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from qingshan.services.reports import ReportError, docx_to_pdf, libreoffice
from qingshan.services.reports.model import Report, TableBlock
from qingshan.services.reports.writers import to_docx

needs_lo = pytest.mark.skipif(
    libreoffice() is None or shutil.which("pdftotext") is None,
    reason="PDF output is optional: LibreOffice and poppler-utils are not installed here",
)


def _report() -> Report:
    rep = Report(
        issuer="崆峒区生态环境局",
        title="环境质量月报",
        period_label="2026年2月",
        issue_label="2026年第2期",
        date_label="2026年3月1日",
        notice="【模拟数据】测试",
    )
    rep.provenance = {"fingerprint": "0123456789abcdef"}
    rep.h1("一、环境空气质量")
    rep.p("优良天数比率 96.4%。")
    rep.table(
        TableBlock(
            "表1  测试",
            ["断面名称", "本期类别"],
            [["泾河八里桥", "Ⅲ"]],
            "测试",
            fills=[[None, "#2EAD4B"]],
        )
    )
    return rep


@pytest.mark.slow
@needs_lo
def test_docx_converts_to_pdf_with_chinese_text(tmp_path: Path) -> None:
    pdf = docx_to_pdf(to_docx(_report()))
    assert pdf.startswith(b"%PDF")
    (tmp_path / "r.pdf").write_bytes(pdf)
    text = subprocess.run(
        ["pdftotext", str(tmp_path / "r.pdf"), "-"], capture_output=True, check=True
    ).stdout.decode("utf-8")
    for s in ("崆峒区环境质量月报", "崆峒区生态环境局", "泾河八里桥", "模拟数据"):
        assert s in text


def test_pdf_without_libreoffice_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shutil, "which", lambda _name: None)
    with pytest.raises(ReportError, match="needs LibreOffice"):
        docx_to_pdf(b"not used")
