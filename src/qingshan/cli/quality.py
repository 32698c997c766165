"""``qingshan quality``: environmental-quality figures of a region (air, water), recompute."""

from __future__ import annotations

import json
import sys
from datetime import date
from typing import Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from qingshan.cli._db import DB_OPTION_HELP, fail, open_engine
from qingshan.services.figures import (
    FiguresError,
    air_quality,
    recompute_all,
    update_dirty,
    water_quality,
)
from qingshan.standards.versions import UnknownVersionError
from qingshan.storage.db import READONLY, session_factory

app = typer.Typer(
    help="Environmental-quality figures (AQI, good days, water classes…).", no_args_is_help=True
)


def _date(text: str, opt: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise fail(f"{opt} {text!r}: give a date as YYYY-MM-DD", 2) from None


def _out(obj: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(obj, ensure_ascii=False, indent=1, default=str) + "\n")


def _v(x: object, suffix: str = "") -> str:
    return "—" if x is None else f"{x}{suffix}"


def _verdict(attained: bool | None, reason: str | None) -> str:
    """是 / 否, or — without a verdict — 数据不足 and why (GB 3095 表4)."""
    if attained is not None:
        return "是" if attained else "否"
    return reason or "数据不足"


@app.command("air")
def air(
    region: str = typer.Option(..., "--region", help="GB/T 2260 region code, e.g. 620802"),
    start: str = typer.Option(..., "--from", help="First day, YYYY-MM-DD"),
    end: str = typer.Option(..., "--to", help="Last day (inclusive), YYYY-MM-DD"),
    standard: str = typer.Option(
        "auto",
        "--standard",
        help="HJ 663 edition: auto (in force), HJ663-2013 or HJ663-2026 (for comparison)",
    ),
    micro: bool = typer.Option(False, "--micro", help="Also list micro-stations (not official)"),
    as_json: bool = typer.Option(False, "--json", help="Print JSON (plain figure names)"),
    db: str | None = typer.Option(None, "--db", help=DB_OPTION_HELP),
) -> None:
    """Air quality of a region: good days, good-day ratio, heavy days, composite index…"""
    t0, t1 = _date(start, "--from"), _date(end, "--to")
    engine = open_engine(db)
    try:
        with session_factory(engine.execution_options(**READONLY))() as s:
            aq = air_quality(
                s, region_code=region, start=t0, end=t1, standard=standard, include_micro=micro
            )
    except (FiguresError, UnknownVersionError) as exc:
        raise fail(str(exc), 2) from None
    d = aq.to_dict()
    if as_json:
        _out(d)
        return
    con = Console()
    con.print(
        f"[bold]{aq.region_name}（{aq.region_code}）环境空气质量[/bold] "
        f"{aq.start} 至 {aq.end}  评价标准 {aq.standard}  "
        f"（{'已存储' if aq.source == 'stored' else '按需计算'}）"
    )
    t = Table("指标", "数值")
    t.add_row("有效天数", str(aq.valid_days))
    t.add_row("优良天数", str(aq.good_days))
    t.add_row("优良天数比率", _v(aq.good_day_ratio, " %"))
    t.add_row("重污染天数", str(aq.heavy_days))
    t.add_row("综合指数", _v(aq.composite_index))
    t.add_row("首要污染物", "、".join(aq.primary_pollutants) or "—")
    t.add_row("达标", _verdict(aq.attained, aq.verdict_reason))
    con.print(t)
    if aq.exceedance_days:
        e = Table("指标", "标准限值", "有效天数", "超标天数", "达标率")
        for e_ in aq.exceedance_days.values():
            e.add_row(
                e_.name,
                _v(e_.limit),
                str(e_.valid_days),
                str(e_.exceedance_days),
                _v(e_.compliance_rate, " %"),
            )
        con.print(e)
    st = Table("排名", "站点", "类型", "有效天", "优良天", "优良天数比率%", "综合指数", "PM2.5")
    for x in sorted(aq.stations, key=lambda x: (not x.official, x.rank or 999)):
        st.add_row(
            _v(x.rank),
            x.name,
            "评价点" if x.official else "参考",
            str(x.valid_days),
            str(x.good_days),
            _v(x.good_day_ratio),
            _v(x.composite_index),
            _v(x.pm2_5),
        )
    con.print(st)


@app.command("water")
def water(
    region: str = typer.Option(..., "--region", help="GB/T 2260 region code, e.g. 620802"),
    month: str = typer.Option(..., "--month", help="Month, YYYY-MM"),
    as_json: bool = typer.Option(False, "--json", help="Print JSON (plain figure names)"),
    db: str | None = typer.Option(None, "--db", help=DB_OPTION_HELP),
) -> None:
    """Water quality of a region for a month: section classes, shares, drinking water, noise."""
    engine = open_engine(db)
    try:
        with session_factory(engine.execution_options(**READONLY))() as s:
            wq = water_quality(s, region_code=region, month=month)
    except FiguresError as exc:
        raise fail(str(exc), 2) from None
    if as_json:
        _out(wq.to_dict())
        return
    con = Console()
    con.print(f"[bold]{wq.region_name}（{wq.region_code}）水环境质量[/bold] {wq.month}")
    t = Table("断面", "样品数", "水质类别", "目标", "达标", "主要污染指标")
    for sec in wq.sections:
        t.add_row(
            sec.name,
            str(sec.samples),
            _v(sec.water_class),
            _v(sec.target_class),
            {True: "是", False: "否", None: "—"}[sec.meets_target],
            "、".join(f"{m.name}({m.multiple})" for m in sec.main_pollutants) or "—",
        )
    con.print(t)
    con.print(f"Ⅰ～Ⅲ类比例 {_v(wq.share_i_iii, ' %')}  劣Ⅴ类比例 {_v(wq.share_worse_than_v, ' %')}")
    d = Table("饮用水水源地", "样品数", "类别", "达标", "超标项目")
    for src in wq.drinking_sources:
        d.add_row(
            src.name,
            str(src.samples),
            _v(src.water_class),
            {True: "是", False: "否", None: "—"}[src.complies],
            "、".join(src.failing_items) or "—",
        )
    con.print(d)
    con.print(
        f"水源地达标率 {_v(wq.drinking_compliance_rate, ' %')}；声环境 昼间达标率 "
        f"{_v(wq.noise.day_rate, ' %')} 夜间达标率 {_v(wq.noise.night_rate, ' %')}"
    )


@app.command("recompute")
def recompute(
    start: str | None = typer.Option(None, "--from", help="First day (default: all data)"),
    end: str | None = typer.Option(None, "--to", help="Last day (default: all data)"),
    db: str | None = typer.Option(None, "--db", help=DB_OPTION_HELP),
) -> None:
    """Recompute every figure of the months overlapping [--from, --to] from the observations."""
    t0 = _date(start, "--from") if start else None
    t1 = _date(end, "--to") if end else None
    engine = open_engine(db)
    with Progress(
        TextColumn("recomputing figures"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
    ) as bar:
        task = bar.add_task("figures", total=None)

        def progress(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        try:
            stats = recompute_all(session_factory(engine), start=t0, end=t1, progress=progress)
        except FiguresError as exc:
            raise fail(str(exc), 2) from None
    _out(stats.to_dict())


@app.command("update")
def update(db: str | None = typer.Option(None, "--db", help=DB_OPTION_HELP)) -> None:
    """Recompute only the figures that new, late or corrected data touched."""
    _out(update_dirty(session_factory(open_engine(db))).to_dict())
