"""The registry workbook on SQLite and PostgreSQL: export → import into an empty database →
export gives the same cells; re-importing updates by natural key; a bad workbook is refused
with row-numbered problems and nothing written; ledgers with their header lower down, loose
headers and legacy .xls files are read."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook, load_workbook
from reghelpers import CHEM, OUTLINE, STEEL
from sqlalchemy import Engine, func, select

from conftest import migrated_sqlite_url
from qingshan.demo import loader as dl
from qingshan.demo.district import load_district
from qingshan.roles import CLI
from qingshan.services.excel_import import read_workbook, sheet_values
from qingshan.services.registry import enterprises, permits, regions, units, workbook
from qingshan.storage.db import make_engine, session_scope
from qingshan.storage.models import Base, Device, DeviceFactor, Enterprise, Region, Site
from qingshan.storage.models_registry import OrgUnit, Permit, PermitAnnualAmount, PermitLimit

TABLES = (Region, OrgUnit, Enterprise, Site, Device, DeviceFactor, Permit, PermitLimit)


@pytest.fixture
def second(db_url: str, tmp_path: Path) -> Iterator[Engine]:
    """Another empty database of the same backend."""
    if db_url.startswith("sqlite"):
        e = make_engine(migrated_sqlite_url(tmp_path / "second.db"))
        yield e
        e.dispose()
        return
    from conftest import PG_URL, create_pg_database, drop_pg_database

    url = create_pg_database(PG_URL)
    e = make_engine(url)
    try:
        yield e
    finally:
        e.dispose()
        drop_pg_database(PG_URL, url)


def _counts(engine: Engine) -> dict[str, int]:
    with session_scope(engine) as s:
        return {
            m.__tablename__: s.scalar(select(func.count()).select_from(m)) or 0
            for m in (*TABLES, PermitAnnualAmount)
        }


def _full_registry(engine: Engine) -> None:
    """The demo district plus what it leaves empty: units, annual amounts, contacts."""
    dl.load_registry(engine, load_district())
    with session_scope(engine) as s:
        units.save_unit(s, CLI, units.UnitRecord("SHJJ", "崆峒区生态环境局", "部门", "620802"))
        units.save_unit(
            s, CLI, units.UnitRecord("DGJD", "东关街道办事处", "township", "620802001", "SHJJ")
        )
        units.save_unit(
            s, CLI, units.UnitRecord("=A1", "公式样的代码", "park", None, None, "赵六", "12345")
        )
        regions.save_region(s, CLI, regions.RegionRecord("620200", "嘉峪关市", "620000"))
        regions.set_boundary(s, CLI, "620200", OUTLINE, source=None)
        enterprises.save_enterprise(
            s,
            CLI,
            enterprises.EnterpriseRecord(
                STEEL,
                "嘉峪关某钢铁有限公司",
                "620200",
                "C3120",
                "炼钢",
                "省控",
                "登记管理",
                False,
                "98.3",
                "39.8",
                "雄关东路 1 号",
                "张三",
                "李四",
                "0937-0000000",
            ),
        )
        number = s.scalars(select(Permit.number).order_by(Permit.number)).first()
        assert number is not None
        permits.save_annual_amounts(
            s,
            CLI,
            number,
            [
                permits.AmountRecord("a21026", 2025, "12.50"),
                permits.AmountRecord("a21026", 2026, "11"),
            ],
        )


def test_export_import_export_gives_the_same_workbook(engine: Engine, second: Engine) -> None:
    _full_registry(engine)
    first = workbook.export(engine)
    report = workbook.apply(second, first, CLI)
    assert report.ok and report.committed, [str(p) for p in report.problems]
    assert _counts(second) == _counts(engine)
    again = workbook.export(second)
    a, b = sheet_values(first), sheet_values(again)
    assert list(a) == [s.name for s in workbook.SHEETS]
    assert all(len(rows) > 2 for rows in a.values())  # every sheet has records
    assert a == b
    # the texts are exact: a limit written "50.0" stays "50.0", a region code stays text
    limits = a["许可限值"]
    col = limits[1].index("限值")
    assert "50.0" in {r[col] for r in limits[2:]}
    assert a["行政区划"][2][0] == "620000"
    # re-importing updates by natural key: nothing new, nothing changed
    before = _counts(second)
    report = workbook.apply(second, again, CLI)
    assert report.ok
    assert all(c.created == 0 and c.updated == 0 for c in report.counts.values()), report.counts
    assert _counts(second) == before


def test_reimport_updates_instead_of_duplicating(engine: Engine) -> None:
    _full_registry(engine)
    data = workbook.export(engine)
    wb = load_workbook(io.BytesIO(data))
    ws = wb["企业"]
    headers = [c.value for c in ws[2]]
    for row in ws.iter_rows(min_row=3):
        if row[0].value == STEEL:
            row[headers.index("环保负责人")].value = "王五"
    buf = io.BytesIO()
    wb.save(buf)
    before = _counts(engine)
    report = workbook.apply(engine, buf.getvalue(), CLI)
    assert report.ok
    assert report.counts["企业"].updated == 1 and report.counts["企业"].created == 0
    assert _counts(engine) == before
    with session_scope(engine) as s:
        e = enterprises.by_credit_code(s, STEEL)
        assert e is not None and e.env_contact == "王五"


def _bad_demo_workbook() -> bytes:
    data = dl.district_workbook(load_district())
    wb = load_workbook(io.BytesIO(data))
    sites = wb["点位"]
    head = [c.value for c in sites[2]]
    sites.cell(row=5, column=head.index("经度") + 1).value = "16.7"  # row 5: outside China
    ents = wb["企业"]
    code = ents.cell(row=4, column=1).value
    ents.cell(row=4, column=1).value = code[:-1] + ("0" if code[-1] != "0" else "1")
    limits = wb["许可限值"]
    lhead = [c.value for c in limits[2]]
    limits.cell(row=3, column=lhead.index("单位") + 1).value = None
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def test_a_bad_workbook_is_refused_with_row_numbers_and_nothing_written(engine: Engine) -> None:
    before = _counts(engine)
    report = workbook.apply(engine, _bad_demo_workbook(), CLI)
    assert not report.ok and not report.committed
    problems = {(p.sheet, p.row, p.column): p.message for p in report.problems}
    assert "不在中国境内" in problems[("点位", 5, "经度")]
    assert "校验码错误" in problems[("企业", 4, "统一社会信用代码")]
    assert "「单位」不能为空" in problems[("许可限值", 3, "单位")]
    # rows that refer to the refused enterprise say so too, by row number
    assert any(p.sheet == "点位" and "未登记" in p.message for p in report.problems)
    assert _counts(engine) == before  # nothing at all was written
    # the dry run reports the same and writes nothing either
    dry = workbook.validate(engine, _bad_demo_workbook(), CLI)
    assert [str(p) for p in dry.problems] == [str(p) for p in report.problems]
    assert _counts(engine) == before


def test_dry_run_counts_but_writes_nothing(engine: Engine) -> None:
    report = workbook.validate(engine, dl.district_workbook(load_district()), CLI)
    assert report.ok and not report.committed
    assert report.counts["点位"].created == 40 + 5 + 3 + 10 + 4 + 5 + 29
    assert report.counts["设备"].created == 92
    assert all(n == 0 for n in _counts(engine).values())


def _ledger(rows: list[list[Any]]) -> bytes:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "企业名录"  # an alias of 企业
    for r in rows:
        ws.append(r)
    regions_ws = wb.create_sheet("行政区划")
    regions_ws.append(["区划代码", "区划名称", "上级区划代码"])
    regions_ws.append([620200, "嘉峪关市", None])  # a code typed as a number
    permits_ws = wb.create_sheet(" 排污许可证 ")
    permits_ws.append(["许可证编号", "统一社会信用代码", "管理类别", "有效期起", "有效期止"])
    permits_ws.append(["P-1", STEEL, "重点管理", "2024年1月1日", date(2028, 12, 31)])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def test_a_ledger_with_title_rows_and_loose_headers(engine: Engine) -> None:
    data = _ledger(
        [
            ["嘉峪关市重点排污单位名录（2026 年）"],
            ["填报单位：嘉峪关市生态环境局", None, "日期：2026-03-01"],
            [],
            # reordered, with spaces, full-width brackets, a required mark and aliases
            [
                "序号",
                " 企业名称 ",
                "*统一社会信用代码",
                "区划代码",
                "行业（代码）",
                "行业",
                "经度",
                "纬度",
            ],
            [1, "嘉峪关某钢铁有限公司", STEEL, "620200", None, "炼钢", 98.3, 39.8],
            [2, "嘉峪关某化工有限公司", CHEM.lower(), 620200, None, None, None, None],
        ]
    )
    report = workbook.apply(engine, data, CLI)
    assert report.ok, [str(p) for p in report.problems]
    with session_scope(engine) as s:
        got = {
            e.credit_code: (e.name, e.industry, e.longitude) for e in s.scalars(select(Enterprise))
        }
        p = s.scalar(select(Permit))
        assert p is not None and (p.valid_from, p.valid_to) == (
            date(2024, 1, 1),
            date(2028, 12, 31),
        )
    assert set(got) == {STEEL, CHEM}
    assert got[STEEL][1] == "炼钢" and str(got[STEEL][2]).startswith("98.3")


def test_missing_required_column_and_duplicate_keys(engine: Engine) -> None:
    data = _ledger(
        [
            ["企业名称", "区划代码"],  # no 统一社会信用代码 column
            ["某公司", "620200"],
        ]
    )
    report = workbook.apply(engine, data, CLI)
    assert [(p.sheet, p.row) for p in report.problems][:1] == [("企业", 1)]
    assert "缺少必填列：统一社会信用代码" in report.problems[0].message
    data = _ledger(
        [
            ["统一社会信用代码", "企业名称", "所在区划代码"],
            [STEEL, "甲", "620200"],
            [STEEL, "乙", "620200"],
        ]
    )
    report = workbook.apply(engine, data, CLI)
    assert [(p.sheet, p.row, p.column) for p in report.problems] == [
        ("企业", 3, "统一社会信用代码")
    ]
    assert "与第 2 行重复" in report.problems[0].message
    assert all(n == 0 for n in _counts(engine).values())


def test_legacy_xls_is_read(engine: Engine) -> None:
    xlwt = pytest.importorskip("xlwt")
    book = xlwt.Workbook(encoding="utf-8")
    ws = book.add_sheet("行政区划")
    for j, v in enumerate(["区划代码", "区划名称", "级别", "上级区划代码"]):
        ws.write(1, j, v)  # header on row 2, a title above it
    ws.write(0, 0, "行政区划")
    ws.write(2, 0, 620000)  # a number cell
    ws.write(2, 1, "甘肃省")
    ws.write(3, 0, "620200")
    ws.write(3, 1, "嘉峪关市")
    ws.write(3, 2, "地级")
    ws.write(3, 3, "620000")
    buf = io.BytesIO()
    book.save(buf)
    data = buf.getvalue()
    assert read_workbook(data)[0].rows[2][0] == 620000  # a whole number reads as int
    report = workbook.apply(engine, data, CLI)
    assert report.ok, [str(p) for p in report.problems]
    with session_scope(engine) as s:
        got = {r.code: (r.level, r.parent_code) for r in s.scalars(select(Region))}
    assert got == {"620000": ("province", None), "620200": ("city", "620000")}


def test_not_a_workbook() -> None:
    engine = make_engine("sqlite://")
    Base.metadata.create_all(engine)
    report = workbook.apply(engine, b"region,name\n620200,x\n", CLI)
    assert not report.ok and "不是 Excel 工作簿" in report.problems[0].message


def test_template_has_every_sheet_and_header() -> None:
    data = workbook.template()
    values = sheet_values(data)
    assert list(values) == [s.name for s in workbook.SHEETS]
    for spec in workbook.SHEETS:
        assert values[spec.name][1] == [c.header for c in spec.columns]
        assert len(values[spec.name]) == 2
