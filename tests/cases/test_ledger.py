"""Case ledgers: import with a validation report, nothing half-imported, re-import updates,
export that round-trips; the command line (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select
from typer.testing import CliRunner

from qingshan.cli.main import app
from qingshan.roles import CLI
from qingshan.services import excel_import as xi
from qingshan.services.cases import core, ledger
from qingshan.storage.db import session_scope
from qingshan.storage.models_cases import CaseItem
from qingshan.storage.models_casework import TimelineEvent

from .conftest import make_county


def _rows() -> list[dict[str, Any]]:
    return [
        {
            "code": "SJ2-W01",
            "kind": "问题",
            "title": "（示例数据）燃煤锅炉未淘汰",
            "category": "大气",
            "region": "620802",
            "lead_unit": "水务局",
            "supporting_units": "住建局、自然资源局",
            "acceptance_unit": "SHJ",
            "received_on": date(2020, 9, 15),
            "due_on": date(2021, 9, 15),
            "state": "已销号",
            "rectified_on": date(2021, 3, 1),
            "signed_off_on": date(2021, 5, 1),
            "closed_on": date(2021, 3, 1),
        },
        {
            "code": "SJ2-W02",
            "kind": "问题",
            "title": "（示例数据）污水管网滞后",
            "category": "水",
            "region": "620802",
            "lead_unit": "SWJ",
            "received_on": date(2020, 9, 15),
            "due_on": date(2027, 12, 31),
            "state": "整改中",
            "longitude": "106.665432",
            "latitude": "35.543210",
        },
        {
            "code": "SJ2-X001",
            "kind": "信访件",
            "title": "（示例数据）反映料场扬尘",
            "region": "620802",
            "lead_unit": "ZJJ",
            "received_on": date(2020, 7, 20),
            "state": "已办结",
            "closed_on": date(2020, 8, 10),
            "finding": "属实",
        },
        {
            "code": "SJ2-X002",
            "kind": "信访件",
            "title": "（示例数据）再次反映料场扬尘",
            "region": "620802",
            "lead_unit": "ZJJ",
            "received_on": date(2020, 8, 20),
            "state": "已转办",
            "repeat_of": "SJ2-X001",
            "national_id": "D3SX202008200002",
        },
    ]


def _book(rows: list[dict[str, Any]]) -> bytes:
    return xi.write_workbook([(ledger.SHEET, rows)])


def _count(engine: Engine, model: Any = CaseItem) -> int:
    with session_scope(engine) as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


def test_import_export_round_trip_and_re_import(engine: Engine) -> None:
    make_county(engine)
    report = ledger.import_ledger(
        engine, _book(_rows()), CLI, origin="provincial_inspection", round=2
    )
    assert report.ok, report.problems
    assert report.counts["案件台账"].created == 4
    with session_scope(engine) as s:
        c = core.get(s, CLI, "SJ2-W01")
        assert (c.state, c.round, c.origin) == ("closed", 2, "provincial_inspection")
        assert core.supporting(s, c) == ["ZJJ", "ZRZY"] and c.lead_unit == "SWJ"
        first = ledger.export(s, CLI)
        x2 = core.get(s, CLI, "SJ2-X002")
        assert x2.repeat_of == core.get(s, CLI, "SJ2-X001").id and x2.channel == "督察转办"
    # the same ledger again changes nothing; the export reads back as it was written
    again = ledger.import_ledger(engine, first, CLI)
    assert again.ok and again.counts["案件台账"].unchanged == 4
    with session_scope(engine) as s:
        assert xi.sheet_values(ledger.export(s, CLI)) == xi.sheet_values(first)
    events = _count(engine, TimelineEvent)
    # a changed row updates its case, on its timeline
    rows = _rows()
    rows[1].update(state="已完成整改", rectified_on=date(2026, 1, 5), closed_on=date(2026, 1, 5))
    upd = ledger.import_ledger(engine, _book(rows), CLI, origin="省级督察", round=2)
    assert upd.ok and (upd.counts["案件台账"].updated, upd.counts["案件台账"].unchanged) == (1, 3)
    assert _count(engine, TimelineEvent) > events
    with session_scope(engine) as s:
        c = core.get(s, CLI, "SJ2-W02")
        assert (c.state, c.rectified_on) == ("rectified", date(2026, 1, 5))
        ev = s.scalars(
            select(TimelineEvent)
            .where(TimelineEvent.entity_id == "SJ2-W02")
            .order_by(TimelineEvent.id.desc())
        ).first()
        assert ev is not None and ev.summary == "台账导入：「整改中」→「已完成整改」"


def test_a_bad_ledger_is_refused_row_by_row_and_nothing_is_written(engine: Engine) -> None:
    make_county(engine)
    rows = _rows()
    rows[0]["lead_unit"] = "财政局"  # not registered
    rows[1]["state"] = "差不多了"  # not a state
    rows[2]["finding"] = "大概属实"
    rows[3]["repeat_of"] = None
    rows.append(_rows()[2])  # the same code as row 5
    rows[3]["received_on"] = "2020-13-45"
    report = ledger.import_ledger(engine, _book(rows), CLI, origin="provincial_inspection", round=2)
    assert not report.ok and not report.committed
    found = {(p.row, p.column): p.message for p in report.problems}
    assert "牵头单位「财政局」未登记" in found[(3, "牵头单位")]
    assert "状态 '差不多了' 不是督察整改的状态" in found[(4, "状态")]
    assert "核查结论应为 属实、基本属实、部分属实、不属实 之一" in found[(5, "核查结论")]
    assert "不是日期" in found[(6, "交办日期")]
    assert found[(7, "案件编号")] == "与第 5 行重复（案件编号 相同）"
    assert _count(engine) == 0 and _count(engine, TimelineEvent) == 0
    # an origin that contradicts the command, a round on a non-inspection ledger
    ok = _rows()[:1]
    rep = ledger.import_ledger(
        engine,
        _book([{**ok[0], "origin": "中央督察"}]),
        CLI,
        origin="provincial_inspection",
        round=2,
    )
    assert "与导入时指定的来源「省级生态环境保护督察」不同" in rep.problems[0].message
    rep = ledger.import_ledger(
        engine, _book([{**ok[0], "round": 2}]), CLI, origin="provincial_inspection", round=3
    )
    assert rep.problems[0].message == "本行轮次 2 与导入时指定的第 3 轮不同"
    with pytest.raises(core.CaseError, match="只有中央或省级督察的台账可以指定轮次"):
        ledger.import_ledger(engine, _book(ok), CLI, origin="hotline", round=1)
    assert _count(engine) == 0


def _run(*args: str) -> tuple[int, str, str]:
    r = CliRunner().invoke(app, list(args))
    return r.exit_code, r.stdout, r.stderr


def test_command_line_import_dry_run_stats_and_export(
    db_url: str, engine: Engine, tmp_path: Path
) -> None:
    make_county(engine)
    book = tmp_path / "台账.xlsx"
    book.write_bytes(_book(_rows()))
    code, _out, err = _run(
        "case",
        "import",
        str(book),
        "--origin",
        "provincial_inspection",
        "--round",
        "2",
        "--dry-run",
        "--db",
        db_url,
    )
    assert code == 0 and "校验通过（试运行，未写入）" in err
    assert _count(engine) == 0
    bad = tmp_path / "bad.xlsx"
    bad.write_bytes(_book([{**_rows()[0], "state": "?"}]))
    code, out, err = _run(
        "case",
        "import",
        str(bad),
        "--origin",
        "provincial_inspection",
        "--round",
        "2",
        "--json",
        "--db",
        db_url,
    )
    assert code == 2 and "发现 1 个问题，未写入任何数据" in err
    assert json.loads(out)["problems"][0]["row"] == 3
    code, _out, err = _run(
        "case",
        "import",
        str(book),
        "--origin",
        "provincial_inspection",
        "--round",
        "2",
        "--db",
        db_url,
    )
    assert code == 0, err
    code, out, _ = _run("case", "stats", "--json", "--region", "620800", "--db", db_url)
    assert code == 0
    rows = {(r["kind"]): r for r in json.loads(out)}
    p, c = rows["problem"], rows["complaint"]
    assert (p["total"], p["rectified"], p["signed_off"], p["closed"], p["in_progress"]) == (
        2,
        1,
        1,
        1,
        1,
    )
    assert (p["closure_rate"], p["on_time_rate"], p["average_handling_days"]) == (
        50.0,
        100.0,
        167.0,
    )
    assert (c["total"], c["closed"], c["in_progress"], c["overdue"], c["repeat"]) == (2, 1, 1, 1, 1)
    code, out, _ = _run("case", "stats", "--json", "--region", "620821", "--db", db_url)
    assert json.loads(out) == []
    out_file = tmp_path / "导出.xlsx"
    assert _run("case", "export", str(out_file), "--db", db_url)[0] == 0
    with session_scope(engine) as s:
        assert xi.sheet_values(out_file.read_bytes()) == xi.sheet_values(ledger.export(s, CLI))
    code, out, _ = _run("case", "list", "--overdue", "--json", "--db", db_url)
    assert [r["code"] for r in json.loads(out)] == ["SJ2-X002"]
    code, _out, err = _run(
        "case", "fire", "SJ2-X002", "handle", "--field", "finding=属实", "--db", db_url
    )
    assert code == 2 and "办理前须填写「处理措施」" in err
    letter = tmp_path / "销号审批表.docx"
    code, _out, err = _run(
        "case", "letter", "SJ2-W01", "sign_off", "--out", str(letter), "--db", db_url
    )
    assert code == 0, err
    assert letter.read_bytes().startswith(b"PK")  # a Word file (its text: test_cases_web)
    code, _out, err = _run("case", "letter", "SJ2-W01", "memo", "--db", db_url)
    assert code == 2 and "文书类型 'memo' 无效" in err
