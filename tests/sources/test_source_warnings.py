"""Heavy-pollution warnings and the 应急减排清单: the warning board against hand-computed loads
(``warning_world``), the Excel 清单 import (row-numbered problems, nothing half-imported,
re-import updates), the CLI, and the enterprise user's scope — on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import Engine, func, select
from typer.testing import CliRunner

from qingshan.cli.main import app as cli_app
from qingshan.roles import CLI, Principal, Role
from qingshan.services.sources import warnings
from qingshan.storage.db import session_scope
from qingshan.storage.models_sources import SourceGrade, SourceMeasure

from . import warning_world as ww


@pytest.fixture
def world(engine: Engine) -> dict[str, Any]:
    return ww.build(engine)


def _warning(engine: Engine, end: datetime | None = ww.END) -> int:
    with session_scope(engine) as s:
        w = warnings.add_warning(
            s,
            CLI,
            level="橙色",
            region="620800",  # the city: its counties too
            start=ww.START,
            end=end,
            document="平重污染指〔2026〕7号",
        )
        return w.id


def test_board_against_hand_computed_loads(engine: Engine, world: dict[str, Any]) -> None:
    wid = _warning(engine)
    with session_scope(engine) as s:
        b = warnings.board(s, CLI, wid, cutoff=ww.CUTOFF)
    assert b["warning"]["level_label"] == "橙色" and not b["warning"]["active"]
    assert b["warning_hours"] == 4 and b["baseline"]["hours"] == 28
    assert b["baseline"]["from"] == "2026-11-13T08:00+08:00"
    rows = {r["name"]: r for r in b["enterprises"]}
    # 己厂 has a yellow measure only; 戊厂 is in the city (the warning covers it)
    assert set(rows) == {"甲厂", "乙厂", "丙厂", "丁厂", "戊厂"}
    a = rows["甲厂"]
    (so2,) = a["indicators"]
    assert (so2["baseline"], so2["baseline_hours"]) == ("3.600", 27)  # the C hour left out
    assert (so2["during"], so2["during_hours"]) == ("1.350", 4)  # the F hour counts as 0
    assert a["reduction_pct"] == "62.5" and a["verdict_label"] == "已落实"
    assert a["grade_label"] == "B级" and a["measure"] == "限产30%" and a["expected_pct"] == "30"
    b2 = rows["乙厂"]
    assert b2["indicators"][0]["during"] == "3.420"
    assert b2["reduction_pct"] == "5.0" and b2["verdict"] == "no_drop"
    c = rows["丙厂"]
    assert c["verdict_label"] == "无数据" and c["reduction_pct"] is None
    assert c["indicators"][0]["during_hours"] == 0
    d = rows["丁厂"]
    assert d["basis"] == "flow" and d["verdict_label"] == "未见下降"
    (flow,) = d["indicators"]
    assert (flow["code"], flow["baseline"], flow["during"]) == ("a00000", "36000.000", "7200.000")
    assert d["reduction_pct"] == "80.0"
    assert rows["戊厂"]["verdict"] == "no_data"
    assert b["counts"] == {"done": 1, "no_drop": 2, "no_data": 2}


def test_region_active_warning_and_enterprise_scope(engine: Engine, world: dict[str, Any]) -> None:
    with session_scope(engine) as s:
        w = warnings.add_warning(
            s,
            CLI,
            level="orange",
            region="620802",
            start=ww.START,
            end=None,
            document="区指〔2026〕1号",
        )
        wid = w.id
    with session_scope(engine) as s:
        # still in force at the cut-off: its hours so far (08–11 of the 20th … 23:00)
        b = warnings.board(s, CLI, wid, cutoff=datetime(2026, 11, 20, 10, 30))
        assert b["warning"]["active"] and b["warning_hours"] == 2
        assert {r["name"] for r in b["enterprises"]} == {"甲厂", "乙厂", "丙厂", "丁厂"}
        a = next(r for r in b["enterprises"] if r["name"] == "甲厂")
        # 08, 09 at 1.8 kg; the baseline: the clock hours 08 and 09 only (14 hours, one C)
        assert (
            a["indicators"][0]["during"] == "1.800" and a["indicators"][0]["baseline_hours"] == 13
        )
        own = Principal(role=Role.ENTERPRISE, user_id=1, enterprise_id=world["ids"]["乙厂"])
        mine = warnings.board(s, own, wid, cutoff=ww.CUTOFF)
        assert [r["name"] for r in mine["enterprises"]] == ["乙厂"]
        assert [r["name"] for r in warnings.measures_json(s, own)] == ["乙厂"]
        ended = warnings.end_warning(s, CLI, wid, ww.END)
        assert ended.ends_at == ww.END
        with pytest.raises(warnings.WarningError, match="已于"):
            warnings.end_warning(s, CLI, wid, ww.END)
        with pytest.raises(warnings.WarningError, match="工作人员"):
            warnings.add_warning(
                s, own, level="红色", region="620802", start=ww.START, end=None, document="x"
            )
        with pytest.raises(warnings.WarningError, match="预警级别"):
            warnings.add_warning(
                s, CLI, level="紫色", region="620802", start=ww.START, end=None, document="x"
            )
        with pytest.raises(warnings.WarningError, match="不晚于"):
            warnings.add_warning(
                s, CLI, level="红色", region="620802", start=ww.START, end=ww.START, document="x"
            )


def _book(rows: list[dict[str, Any]]) -> bytes:
    return warnings.measures_workbook(rows)


def _row(i: int, level: str, measure: str, red: str, grade: str = "B级") -> dict[str, Any]:
    return {
        "credit_code": ww.code(i),
        "name": ww.NAMES[i],
        "grade": grade,
        "level": level,
        "measure": measure,
        "reduction": red,
    }


def test_import_validates_every_row_and_updates(engine: Engine) -> None:
    ww.build(engine, with_measures=False)
    bad = _book(
        [
            _row(0, "黄色", "限产20%", "20"),
            _row(0, "橙色预警", "限产30%", "30%", grade="C级"),  # row 4: grade differs
            _row(1, "红", "停产", "120"),  # row 5: over 100
            {**_row(2, "红色", "停产", "100"), "credit_code": "91620802MA99999999"},  # row 6
            _row(3, "紫色", "限产", "10"),  # row 7
            _row(0, "黄色", "限产25%", "25"),  # row 8: repeats row 3's key
        ]
    )
    report = warnings.import_measures(engine, CLI, bad)
    got = {(p.row, p.column) for p in report.problems}
    assert got == {
        (4, "绩效分级"),
        (5, "预期减排比例(%)"),
        (6, "统一社会信用代码"),
        (7, "预警级别"),
        (8, "统一社会信用代码"),
    }, report.problems
    assert not report.committed
    with session_scope(engine) as s:
        assert s.scalar(select(func.count()).select_from(SourceMeasure)) == 0
        assert s.scalar(select(func.count()).select_from(SourceGrade)) == 0
    good = [
        _row(0, "黄色", "限产20%", "20"),
        _row(0, "橙色", "限产30%", "30%"),
        _row(1, "红色", "停产", "100", "引领性"),
    ]
    report = warnings.import_measures(engine, CLI, _book(good))
    assert report.ok and report.committed
    assert report.counts["应急减排清单"].created == 3
    good[1] = _row(0, "橙色", "限产40%、错峰运输", "40")
    report = warnings.import_measures(engine, CLI, _book(good))
    c = report.counts["应急减排清单"]
    assert (c.created, c.updated, c.unchanged) == (0, 1, 2)
    with session_scope(engine) as s:
        listing = warnings.measures_json(s, CLI)
    assert [(r["name"], r["level_label"], r["measure"], r["reduction"]) for r in listing] == [
        ("乙厂", "红色", "停产", "100"),
        ("甲厂", "黄色", "限产20%", "20"),
        ("甲厂", "橙色", "限产40%、错峰运输", "40"),
    ]
    assert listing[0]["grade_label"] == "引领性"


def test_cli(db_url: str, engine: Engine, tmp_path: Any) -> None:
    ww.build(engine, with_measures=False)
    runner = CliRunner()
    book = tmp_path / "清单.xlsx"
    book.write_bytes(_book([_row(0, "橙色", "限产30%", "30"), _row(1, "橙色", "限产30%", "30")]))
    r = runner.invoke(cli_app, ["source", "measures", "import", str(book), "--db", db_url])
    assert r.exit_code == 0, r.output
    r = runner.invoke(
        cli_app,
        ["source", "warning", "add", "--level", "橙色", "--region", "620802",
         "--start", "2026-11-20T08:00", "--document", "区指〔2026〕2号", "--db", db_url],
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    wid = json.loads(r.stdout.splitlines()[0])["id"]
    r = runner.invoke(
        cli_app, ["source", "warning", "end", str(wid), "--at", "2026-11-20T12:00", "--db", db_url]
    )
    assert r.exit_code == 0, r.output
    r = runner.invoke(cli_app, ["source", "warning", "list", "--json", "--db", db_url])
    (w,) = json.loads(r.stdout)
    assert w["end"] == "2026-11-20T12:00+08:00" and w["document"] == "区指〔2026〕2号"
    r = runner.invoke(
        cli_app,
        [
            "source",
            "warning",
            "board",
            str(wid),
            "--cutoff",
            "2026-11-21T00:00",
            "--json",
            "--db",
            db_url,
        ],
    )
    out = json.loads(r.stdout)
    assert [(e["name"], e["verdict_label"]) for e in out["enterprises"]] == [
        ("乙厂", "未见下降"),
        ("甲厂", "已落实"),
    ]
    r = runner.invoke(
        cli_app, ["source", "warning", "end", str(wid), "--at", "2026-11-20T13:00", "--db", db_url]
    )
    assert r.exit_code == 2 and "已于" in r.output
