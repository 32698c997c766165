"""The indicator table in the plan's own layout and the progress report, through the report
writers (.xlsx and .docx read back); the CLI refuses other file types."""

from __future__ import annotations

import io
from pathlib import Path

import docx
from openpyxl import load_workbook
from typer.testing import CliRunner

from qingshan.cli.main import app


def test_export_xlsx_and_docx(db_url: str, tmp_path: Path) -> None:
    runner = CliRunner()
    assert runner.invoke(app, ["plan", "load", "kongtong-14th", "--db", db_url]).exit_code == 0
    xlsx, word = tmp_path / "指标.xlsx", tmp_path / "进展.docx"
    for f in (xlsx, word):
        out = runner.invoke(
            app, ["plan", "export", "kongtong-14th", str(f), "--year", "2025", "--db", db_url]
        )
        assert out.exit_code == 0, out.output
    wb = load_workbook(io.BytesIO(xlsx.read_bytes()))
    rows = list(wb["规划指标"].iter_rows(values_only=True))
    header = rows[1]
    assert header == (
        *("指标类别", "序号", "指标", "属性", "2022年(现状)"),
        *("2025年目标", "2025年实际", "状态", "说明"),
    )
    first = rows[2]
    assert first[:6] == ("环境质量改善", 1, "中心城区空气质量优良天数比率(%", "约束性", 96.7, 96.7)
    assert len(rows) == 2 + 21
    assert "规划任务" not in wb.sheetnames  # kongtong publishes no tasks
    text = "\n".join(p.text for p in docx.Document(io.BytesIO(word.read_bytes())).paragraphs)
    assert "指标完成情况" in text and "原文不一致之处" in text and "互换" in text
    out = runner.invoke(
        app, ["plan", "export", "kongtong-14th", str(tmp_path / "x.csv"), "--db", db_url]
    )
    assert out.exit_code == 2 and ".xlsx、.docx 或 .pdf" in out.stderr
