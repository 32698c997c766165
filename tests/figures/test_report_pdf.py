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
            "测试",
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


@pytest.mark.slow
@needs_lo
def test_wide_table_keeps_changes_on_one_line(tmp_path: Path) -> None:
    """The monthly pollutant table's twelve columns, rendered by LibreOffice: every 同比 /
    环比 value and number is printed whole on one line (read back with pdftotext)."""
    rep = _report()
    header = ["污染物", "统计指标", "单位", "浓度", "二级标准限值", "同比", "环比", "达标情况",
              "超标倍数", "有效天数", "超标天数", "日达标率%"]  # fmt: skip
    rows = [
        ["可吸入颗粒物（PM₁₀）", "平均浓度", "μg/m³", "73", "70", "+10.6%", "-18.0%", "超标",
         "0.04", "28", "0", "100.0"],
        ["臭氧（O₃）", "日最大8小时平均第90百分位数", "μg/m³", "163", "160", "-11.1%", "+123.5%",
         "数据不足", "0.02", "28", "3", "89.3"],
    ]  # fmt: skip
    rep.table(TableBlock("主要污染物浓度统计", header, rows, "污染物统计", font_size=9))
    (tmp_path / "r.pdf").write_bytes(docx_to_pdf(to_docx(rep)))
    text = subprocess.run(
        ["pdftotext", "-layout", str(tmp_path / "r.pdf"), "-"], capture_output=True, check=True
    ).stdout.decode("utf-8")
    tokens = set(text.split())
    for value in ("+10.6%", "-18.0%", "-11.1%", "+123.5%", "100.0", "数据不足", "μg/m³"):
        assert value in tokens, value
