"""日报, 周报 and the monthly report's additions on real seeded figures (SQLite and PostgreSQL):
every number checked against the stored figures read straight from the figure tables, the
Word file's structure (Heading styles, continuous numbering, one notice, the fingerprint
only in the appendix, tables within the page), and the two new CLI commands."""

from __future__ import annotations

import io
import math
import re
from collections.abc import Iterator
from datetime import date, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path
from typing import Any

import docx
import pytest
from report_world import SIBLING, seed
from sqlalchemy import Engine, func, select
from typer.testing import CliRunner

from conftest import migrated_sqlite_url, truncate_all
from qingshan.cli.main import app
from qingshan.services.figures import air_quality, water_quality
from qingshan.services.reports import (
    Report,
    ReportError,
    daily_report,
    monthly_report,
    to_docx,
    to_xlsx,
    weekly_report,
)
from qingshan.services.reports.content import boundary_rings
from qingshan.services.reports.writers import CELL_PAD_PT, _text_pt, fit_table
from qingshan.standards.versions import AUTO
from qingshan.storage import partitions
from qingshan.storage.db import make_engine, session_factory
from qingshan.storage.models_figures import AirDayFigure, WaterSampleFigure

DAY = date(2026, 2, 10)
WEEK = date(2026, 2, 9)  # a Monday
TEXT_WIDTH_TWIPS = round(16.0 / 2.54 * 1440)


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def world(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Engine, dict[str, Any]]]:
    if request.param == "sqlite":
        url = migrated_sqlite_url(tmp_path_factory.mktemp("periodic") / "q.db")
    else:
        url = request.getfixturevalue("pg_module_url")
        e = make_engine(url)
        truncate_all(e)
        partitions.forget(e)
        e.dispose()
    engine = make_engine(url)
    info = seed(engine)
    yield engine, info
    engine.dispose()


@pytest.fixture(scope="module")
def february(world: tuple[Engine, dict[str, Any]]) -> Report:
    with session_factory(world[0])() as s:
        return monthly_report(s, year=2026, month=2)


def _stored_days(engine: Engine, first: date, last: date, scope_code: str = "620802") -> Any:
    d = AirDayFigure.__table__.c
    with engine.connect() as conn:
        return {
            r.day: r
            for r in conn.execute(
                select(AirDayFigure.__table__).where(
                    d.scope_code == scope_code,
                    d.standard == AUTO,
                    d.day >= first,
                    d.day <= last,
                )
            )
        }


def _round(x: Any, places: int) -> str:
    q = Decimal(1).scaleb(-places)
    return str(Decimal(x).quantize(q, rounding=ROUND_HALF_EVEN))


def _doc(rep: Report) -> Any:
    return docx.Document(io.BytesIO(to_docx(rep)))


def _table(doc: Any, first_header: str) -> Any:
    return next(t for t in doc.tables if t.rows[0].cells[0].text == first_header)


def _rows(t: Any) -> list[list[str]]:
    return [[c.text for c in r.cells] for r in t.rows[1:]]


# ------------------------------------------------------------------------------ 日报


def test_daily_report(world: tuple[Engine, dict[str, Any]]) -> None:
    engine, _ = world
    with session_factory(engine)() as s:
        rep = daily_report(s, DAY)
    days = _stored_days(engine, DAY - timedelta(days=1), DAY)
    today, before = days[DAY], days[DAY - timedelta(days=1)]
    last_year = _stored_days(engine, date(2025, 2, 10), date(2025, 2, 10))[date(2025, 2, 10)]
    assert today.aqi is not None and before.aqi is not None and last_year.aqi is not None
    assert rep.title == "环境空气质量日报" and rep.period_label == "2026年2月10日"
    doc = _doc(rep)
    text = "\n".join(p.text for p in doc.paragraphs)
    assert (
        f"环境空气质量指数（AQI）为 {today.aqi}，空气质量{today.level}（{today.category}）" in text
    )
    way = "上升" if today.aqi > before.aqi else "下降"
    assert (
        f"较前一日（AQI {before.aqi}，{before.category}）{way} {abs(today.aqi - before.aqi)}"
        in (text)
    )
    assert f"去年同日（AQI {last_year.aqi}，{last_year.category}）" in text
    pol = {r[0]: r for r in _rows(_table(doc, "污染物"))}
    pm = pol["细颗粒物（PM₂.₅）"]
    assert pm[2:5] == [
        _round(today.pm2_5, 0),
        _round(before.pm2_5, 0),
        _round(last_year.pm2_5, 0),
    ]
    assert pm[5] == "75" and pm[6] == ("超标" if today.pm2_5 > 75 else "达标")
    co = pol["一氧化碳（CO）"]
    assert co[2] == _round(today.co, 1) and co[5] == "4.0"
    o3 = pol["臭氧（O₃，日最大8小时平均）"]
    assert o3[2] == _round(today.o3_8h, 0) and o3[5] == "160"
    # official stations and the 对照点, each with its own stored day; no micro-station
    st = {r[0]: r for r in _rows(_table(doc, "点位"))}
    aq1 = _stored_days(engine, DAY, DAY, "AQ01")[DAY]
    assert st["市监测站（示意名称）"][1:3] == ["评价点位", str(aq1.aqi)]
    assert [r[1] for r in st.values()].count("评价点位") == 4
    assert [r[1] for r in st.values()].count("对照点") == 1
    assert not any("微站" in name for name in st)
    assert re.search(r"另有微站 \d+ 个，不参与官方评价", text)
    # sections with samples that day: their sample counts and worst class, from the figures
    w = WaterSampleFigure.__table__.c
    lo = date(2026, 2, 10)
    with engine.connect() as conn:
        n = conn.execute(
            select(func.count())
            .select_from(WaterSampleFigure.__table__)
            .where(w.data_time >= lo, w.data_time < lo + timedelta(days=1))
        ).scalar_one()
    sec = _rows(_table(doc, "断面名称"))
    assert len(sec) == 3 and sum(int(r[2]) for r in sec) == n
    assert {r[1] for r in sec} == {"Ⅲ"}  # the registry's "III" in the standard's numerals


def test_daily_report_without_stored_day(world: tuple[Engine, dict[str, Any]]) -> None:
    engine, _ = world
    with session_factory(engine)() as s, pytest.raises(ReportError, match="没有已存储"):
        daily_report(s, date(2024, 2, 10))


# ------------------------------------------------------------------------------ 周报


def test_weekly_report(world: tuple[Engine, dict[str, Any]]) -> None:
    engine, _ = world
    with session_factory(engine)() as s:
        rep = weekly_report(s, WEEK)
        with pytest.raises(ReportError, match="周一"):
            weekly_report(s, WEEK + timedelta(days=1))
    this = _stored_days(engine, WEEK, WEEK + timedelta(days=6))
    prev = _stored_days(engine, WEEK - timedelta(days=7), WEEK - timedelta(days=1))
    assert len(this) == 7 and len(prev) == 7
    doc = _doc(rep)
    daily = _rows(_table(doc, "日期"))
    assert [r[0] for r in daily] == [f"2月{9 + i}日" for i in range(7)]
    assert [r[1] for r in daily] == [f"星期{c}" for c in "一二三四五六日"]
    assert [r[2] for r in daily] == [str(this[d].aqi) for d in sorted(this)]

    def good(days: Any) -> tuple[int, int]:
        valid = [r for r in days.values() if r.valid and r.aqi is not None]
        return len(valid), sum(1 for r in valid if r.aqi <= 100)

    n, g = good(this)
    pn, pg = good(prev)
    ratio = Decimal(g * 100) / Decimal(n)
    text = "\n".join(p.text for p in doc.paragraphs)
    assert f"有效监测天数 {n} 天，优良天数 {g} 天，优良天数比率 {_round(ratio, 1)}%" in text
    pratio = Decimal(pg * 100) / Decimal(pn)
    diff = Decimal(_round(ratio, 1)) - Decimal(_round(pratio, 1))
    if diff:
        way = "上升" if diff > 0 else "下降"
        assert f"较上周（{_round(pratio, 1)}%）{way} {abs(diff)} 个百分点" in text
    means = {r[0]: r for r in _rows(_table(doc, "污染物"))}

    def mean(days: Any, col: str, places: int) -> Decimal:
        vals = [Decimal(str(getattr(r, col))) for r in days.values() if getattr(r, col) is not None]
        return Decimal(_round(sum(vals) / len(vals), places))

    m, pm = mean(this, "pm2_5", 0), mean(prev, "pm2_5", 0)
    row = means["细颗粒物（PM₂.₅）"]
    assert row[2:4] == [str(m), str(pm)]
    change = _round((m - pm) / pm * 100, 1)
    assert row[4] == ("+" if not change.startswith("-") else "") + change + "%"
    assert means["一氧化碳（CO）"][2] == str(mean(this, "co", 1))
    assert means["臭氧（O₃，日最大8小时平均）"][2] == str(mean(this, "o3_8h", 0))


# ------------------------------------------------------------------------------ 月报 additions


def test_monthly_additions(world: tuple[Engine, dict[str, Any]], february: Report) -> None:
    engine, info = world
    rep = february
    with session_factory(engine)() as s:
        feb = air_quality(s, region_code="620802", start=date(2026, 2, 1), end=date(2026, 2, 28))
        jan = air_quality(s, region_code="620802", start=date(2026, 1, 1), end=date(2026, 1, 31))
        sib = air_quality(s, region_code=SIBLING, start=date(2026, 2, 1), end=date(2026, 2, 28))
        wq = water_quality(s, region_code="620802", month="2026-02", stored_only=True)
        wq0 = water_quality(s, region_code="620802", month="2025-02", stored_only=True)
        assert boundary_rings(s, "620802")  # the demo records the district's outline
    doc = _doc(rep)
    paras = [p for p in doc.paragraphs if p.text.strip()]
    text = "\n".join(p.text for p in paras)

    # 1–2月累计: the stored days of January and February against the seeded targets
    days = _stored_days(engine, date(2026, 1, 1), date(2026, 2, 28))
    valid = [r for r in days.values() if r.valid and r.aqi is not None]
    good = sum(1 for r in valid if r.aqi <= 100)
    remaining = (date(2026, 12, 31) - date(2026, 2, 28)).days
    n = len(valid) + remaining
    allowed = n - math.ceil(Decimal("96.7") * n / 100) - (len(valid) - good)
    ratio = _round(Decimal(good * 100) / len(valid), 1)
    assert (
        f"2026年1—2月累计，有效监测天数 {len(valid)} 天，优良天数 {good} 天，"
        f"优良天数比率 {ratio}%，年度目标 ≥96.7%" in text
    )
    if allowed > 0:
        assert f"全年剩余 {remaining} 天内还可出现非优良天 {allowed} 天" in text
    pm = [Decimal(str(r.pm2_5)) for r in days.values() if r.valid and r.pm2_5 is not None]
    pm_mean = _round(sum(pm) / len(pm), 1)
    ytd = {r[0]: r for r in _rows(_table(doc, "指标"))}
    assert ytd["优良天数比率"][2:4] == [ratio, "≥96.7"]
    assert ytd["PM₂.₅ 平均浓度"][2:4] == [pm_mean, "≤40"]
    assert ytd["PM₂.₅ 平均浓度"][5] == "测试用 PM2.5 年均浓度目标"

    # 环比 beside 同比: February's stored means against January's
    pol = _table(doc, "污染物")
    header = [c.text for c in pol.rows[0].cells]
    assert header[5:7] == ["同比", "环比"]
    row = next(r for r in _rows(pol) if r[0].startswith("细颗粒物"))
    f_pm = Decimal(str(feb.statistic("PM2_5", "mean").value))  # type: ignore[union-attr]
    j_pm = Decimal(str(jan.statistic("PM2_5", "mean").value))  # type: ignore[union-attr]
    mom = _round((f_pm - j_pm) / j_pm * 100, 1)
    assert row[6] == ("" if mom.startswith("-") else "+") + mom + "%"
    assert f"较上月（{jan.good_day_ratio}%）" in text

    # ranking among the city's counties: 泾川县's station copies AQ03, so its figures are AQ03's
    counties = next(t for t in doc.tables if t.rows[0].cells[1].text == "县（市、区）")
    rank = {r[1]: r for r in _rows(counties)}
    assert set(rank) == {"崆峒区", "泾川县"}
    assert rank["泾川县"][3:5] == [str(sib.good_day_ratio), str(sib.composite_index)]
    assert rank["崆峒区"][3:5] == [str(feb.good_day_ratio), str(feb.composite_index)]
    first = "崆峒区" if (feb.composite_index or 0) <= (sib.composite_index or 0) else "泾川县"
    assert rank[first][0] == "1"

    # section concentrations with 同比 against February 2025
    conc = next(
        t for t in doc.tables if [c.text for c in t.rows[0].cells][1:3] == ["溶解氧", "同比"]
    )
    sec = wq.sections[0]
    sec0 = next(x for x in wq0.sections if x.code == sec.code)
    row = next(r for r in _rows(conc) if r[0] == sec.name)
    nh3 = Decimal(str(sec.means["nh3n"]))
    nh3_0 = Decimal(str(sec0.means["nh3n"]))
    assert row[5] == _round(nh3, 2)
    yoy = _round((nh3 - nh3_0) / nh3_0 * 100, 1)
    assert row[6] == ("" if yoy.startswith("-") else "+") + yoy + "%"

    # online monitoring: the seeded three hours above the SO2 limit, one episode
    out = info["outlet"]
    ent = {r[0]: r for r in _rows(_table(doc, "企业名称"))}
    assert ent[out["enterprise"]][3] == "3" and ent[out["enterprise"]][5] == "1"
    ep = _rows(_table(doc, "企业"))
    assert ep == [
        [
            out["enterprise"],
            ep[0][1],
            "二氧化硫",
            "小时均值",
            "02-12 10:00—13:00",
            f"{_round(out['peak'], 1)} mg/m³",
            f"{out['limit']} mg/m³",
        ]
    ]
    assert "1 家企业出现超标时段 1 段" in text
    # the stored alarm episodes overlapping February (not the one that ended in January)
    assert "本月自动监控报警事件 2 起（超标 1 起，离线 1 起）" in text
    alarms = _rows(
        next(
            t
            for t in doc.tables
            if [c.text for c in t.rows[0].cells][:3] == ["企业", "排放口", "类型"]
        )
    )
    assert [r[2:] for r in alarms] == [
        ["离线", "—", "01-25 08:00—", "持续中", "—"],
        [
            "超标",
            "二氧化硫",
            "02-12 10:00—02-12 13:00",
            "已确认关闭",
            "张三；窑尾脱硫检修，已复测达标",
        ],
    ]
    assert {r[0] for r in alarms} == {out["enterprise"]}


def test_monthly_without_neighbours_last_month_or_pm_target(
    world: tuple[Engine, dict[str, Any]],
) -> None:
    """February 2025: no sibling county has figures (no ranking at all), January 2025 is not
    stored (环比 says so), the PM2.5 target starts in 2026 (the text says there is none)."""
    engine, _ = world
    with session_factory(engine)() as s:
        rep = monthly_report(s, year=2025, month=2)
    doc = _doc(rep)
    text = "\n".join(p.text for p in doc.paragraphs)
    assert "全市各县" not in text
    assert not any(t.rows[0].cells[1].text == "县（市、区）" for t in doc.tables)
    assert "上月无存储数据，不作比较" in text
    pol = _table(doc, "污染物")
    assert {r[6] for r in _rows(pol)} == {"—"}
    days = _stored_days(engine, date(2025, 1, 1), date(2025, 2, 28))
    valid = [r for r in days.values() if r.valid and r.aqi is not None]
    assert f"2025年1—2月累计，有效监测天数 {len(valid)} 天" in text
    assert "年度目标 ≥96.7%" in text and "本年未登记 PM₂.₅ 浓度目标" in text
    assert "本月自动监控数据未发现超标时段" in text


def test_word_structure(february: Report) -> None:
    rep = february
    doc = _doc(rep)
    paras = [p for p in doc.paragraphs if p.text.strip()]
    h1 = [p.text for p in paras if p.style.name == "Heading 1"]
    h2 = [p.text for p in paras if p.style.name == "Heading 2"]
    assert h1 == [
        "一、环境空气质量",
        "二、地表水环境质量",
        "三、集中式饮用水水源地水质",
        "四、声环境质量",
        "五、重点污染源自动监控",
        "附：数据来源与计算说明",
    ]
    assert h2[:2] == ["（一）总体状况", "（二）1—2月累计与年度目标"]
    assert h2[-1] == "（六）全市各县（市、区）排名"
    heading = doc.styles["Heading 1"]
    assert heading.font.color.rgb == docx.shared.RGBColor(0, 0, 0)
    rfonts = heading.element.rPr.rFonts
    assert rfonts.get(docx.oxml.ns.qn("w:eastAsia")) == "黑体"
    # tables and figures numbered 1, 2, 3 … in document order
    tables = [p.text for p in paras if re.match(r"表\d+  ", p.text)]
    figures = [p.text for p in paras if re.match(r"图\d+  ", p.text)]
    assert [int(re.match(r"表(\d+)", t).group(1)) for t in tables] == list(  # type: ignore[union-attr]
        range(1, len(doc.tables) + 1)
    )
    assert [int(re.match(r"图(\d+)", t).group(1)) for t in figures] == list(  # type: ignore[union-attr]
        range(1, len(doc.inline_shapes) + 1)
    )
    assert any("地表水断面水质类别示意图（底图为区界）" in f for f in figures)
    # the data notice once; the fingerprint only in the appendix
    notice = rep.notice
    assert notice is not None and "（模拟数据）" not in notice
    full = "\n".join(p.text for p in paras)
    assert full.count(notice) == 1 and full.count("【模拟数据】") == 1
    fp = rep.provenance["fingerprint"]
    appendix = full.index("附：数据来源与计算说明")
    assert full.count(fp) == 1 and full.index(fp) > appendix
    assert not any(fp in c.text for t in doc.tables for r in t.rows for c in r.cells)
    # every table within the text width; 同比 / 环比 values on one line
    for t in doc.tables:
        grid = t._tbl.tblGrid.findall(docx.oxml.ns.qn("w:gridCol"))
        total = sum(int(g.get(docx.oxml.ns.qn("w:w"))) for g in grid)
        assert total <= TEXT_WIDTH_TWIPS + len(grid)
    block = next(b for b in rep.tables() if b.header[0] == "污染物")
    size, widths = fit_table(block)
    assert size >= 7.5
    for col in (block.header.index("同比"), block.header.index("环比")):
        longest = max(_text_pt(r[col], size) for r in block.rows)
        assert widths[col] >= longest + CELL_PAD_PT
    # Excel carries the new tables too
    import openpyxl

    wb = openpyxl.load_workbook(io.BytesIO(to_xlsx(rep)))
    assert {"累计与目标", "县区排名", "断面浓度", "自动监控", "超标时段"} <= set(wb.sheetnames)


# ------------------------------------------------------------------------------ CLI


def test_cli_daily_and_weekly(world: tuple[Engine, dict[str, Any]], tmp_path: Path) -> None:
    engine, _ = world
    url = engine.url.render_as_string(hide_password=False)
    runner = CliRunner()
    out = tmp_path / "日报.docx"
    r = runner.invoke(
        app, ["report", "daily", "--date", "2026-02-10", "--out", str(out), "--db", url]
    )
    assert r.exit_code == 0, r.output
    assert "崆峒区环境空气质量日报" in "\n".join(p.text for p in docx.Document(str(out)).paragraphs)
    out = tmp_path / "周报.xlsx"
    r = runner.invoke(
        app, ["report", "weekly", "--week-start", "2026-02-09", "--out", str(out), "--db", url]
    )
    assert r.exit_code == 0, r.output
    assert out.stat().st_size > 0
    bad = tmp_path / "x.docx"
    r = runner.invoke(
        app, ["report", "daily", "--date", "2026-2-10", "--out", str(bad), "--db", url]
    )
    assert r.exit_code == 2 and "YYYY-MM-DD" in r.stderr
    r = runner.invoke(
        app, ["report", "weekly", "--week-start", "2026-02-10", "--out", str(bad), "--db", url]
    )
    assert r.exit_code == 2 and "Monday" in r.stderr and "周一" in r.stderr
    r = runner.invoke(
        app, ["report", "daily", "--date", "2024-02-10", "--out", str(bad), "--db", url]
    )
    assert r.exit_code == 2 and "no stored air figures" in r.stderr
    assert not bad.exists()
