"""Exports are bounded in rows (web_export_max_rows): a larger one is refused with a clear
Chinese message before anything is streamed, its slot given back; one within the bound is
streamed whole, in every format (issue 18: year-long exports starved the gateway)."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from openpyxl import load_workbook

from qingshan.web.exports import ExportGate
from web.conftest import login


def rows_of(fmt: str, body: bytes) -> int:
    if fmt == "csv":
        return len(list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))) - 1
    if fmt == "json":
        return len(json.loads(body))
    ws = load_workbook(io.BytesIO(body), read_only=True).worksheets[0]
    return sum(1 for _ in ws.iter_rows()) - 1


@pytest.mark.parametrize("fmt", ["csv", "json", "xlsx"])
def test_an_export_above_the_row_bound_is_refused_and_one_below_streamed(
    app: Any, ids: dict[str, int], fmt: str
) -> None:
    c = login(app, "staff")
    now = datetime.now(UTC)
    params = {
        "site_id": ids["site_air"],
        "start": (now - timedelta(days=2)).isoformat(),
        "end": now.isoformat(),
        "format": fmt,
    }
    gate: ExportGate = app.state.qingshan.exports
    assert gate.max_rows == 500_000  # the default web_export_max_rows
    r = c.get("/api/v1/export", params=params)
    assert r.status_code == 200
    total = rows_of(fmt, r.content)
    assert total > 2
    try:
        gate.max_rows = total - 1
        r = c.get("/api/v1/export", params=params)
        assert r.status_code == 422
        assert r.json()["detail"] == (
            f"导出记录超过上限 {total - 1} 条：请缩小时间范围或只选部分因子后再导出"
        )
        gate.max_rows = total  # exactly at the bound: all of it
        r = c.get("/api/v1/export", params=params)
        assert r.status_code == 200 and rows_of(fmt, r.content) == total
    finally:
        gate.max_rows = 500_000
    # Every refused export gave its slot back.
    taken = 0
    while gate.try_enter():
        taken += 1
    assert taken == 2
    for _ in range(taken):
        gate.leave()
