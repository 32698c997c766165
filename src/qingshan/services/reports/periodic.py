"""环境空气质量日报 and 周报, from stored daily figures only.

* 日报: the region's stored day figure (AQI, category, 首要污染物, the six pollutants' daily
  values: 24-hour means, O₃ the daily maximum 8-hour mean) beside the day before and the same
  day last year when stored; each official station's day (对照点 marked, micro-stations left
  out: they take no part in the evaluation); the water sections that have samples that day
  (their stored sample classes).
* 周报: Monday to Sunday: the seven days' AQI, category and 首要污染物, good days and the
  优良天数比率, the week's mean concentrations, and 环比 against the week before.

A week's mean is not a stored figure: it is the exact arithmetic mean of the stored (published,
already rounded) daily values of the valid days, rounded once half-even (GB/T 8170) to the
published precision, as HJ 663 forms a period mean from daily values. GB 3095 表4 completeness
is a rule for months and years; a week carries no attainment verdict.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from fractions import Fraction
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from qingshan.services.figures import AirDay, FiguresError, air_days
from qingshan.services.figures._common import check_region, regions, sites
from qingshan.services.reports.common import POL_NAMES
from qingshan.services.reports.content import (
    WATER_COLOURS,
    aqi_colour,
    default_region,
    fingerprint,
    issuer,
    simulated_notice,
    standards_text,
)
from qingshan.services.reports.model import Report, ReportError, TableBlock
from qingshan.standards import water
from qingshan.standards.air.tables import limit_set
from qingshan.standards.rounding import round_half_even, to_fraction
from qingshan.storage.models import Site, SiteKind
from qingshan.storage.models_figures import WaterSampleFigure

# The six pollutants of a 日报 / 周报: (daily series, display name, unit, published decimals,
# GB 3095 limit period)
DAILY_ROWS = (
    ("SO2", "二氧化硫（SO₂）", "μg/m³", 0, "daily"),
    ("NO2", "二氧化氮（NO₂）", "μg/m³", 0, "daily"),
    ("PM10", "可吸入颗粒物（PM₁₀）", "μg/m³", 0, "daily"),
    ("PM2_5", "细颗粒物（PM₂.₅）", "μg/m³", 0, "daily"),
    ("CO", "一氧化碳（CO）", "mg/m³", 1, "daily"),
    ("O3_8H", "臭氧（O₃，日最大8小时平均）", "μg/m³", 0, "max8h"),
)
WEEKDAYS = "一二三四五六日"
ROMAN = {1: "Ⅰ", 2: "Ⅱ", 3: "Ⅲ", 4: "Ⅳ", 5: "Ⅴ", 6: "劣Ⅴ"}
# Target classes as a registry may write them (III) → the standard's numerals (Ⅲ).
LATIN = {"I": "Ⅰ", "II": "Ⅱ", "III": "Ⅲ", "IV": "Ⅳ", "V": "Ⅴ"}


def _cn(d: date) -> str:
    return f"{d.year}年{d.month}月{d.day}日"


def _num(v: Any, places: int) -> str:
    if v is None:
        return "—"
    return str(round_half_even(to_fraction(v), places))


def _primary(d: AirDay | None) -> str:
    if d is None or not d.primary_pollutants:
        return "—"
    return "、".join(POL_NAMES.get(p, p) for p in d.primary_pollutants)


def _region_name(session: Session, region: str) -> str:
    reg = regions(session)
    try:
        check_region(reg, region)
    except FiguresError as exc:
        raise ReportError(str(exc)) from None
    return reg.name[region]


def _day(session: Session, code: str, day: date, scope: str = "region") -> AirDay | None:
    got = air_days(session, scope_code=code, start=day, end=day, scope=scope)
    return got[0] if got else None


def _same_day_last_year(day: date) -> date:
    try:
        return day.replace(year=day.year - 1)
    except ValueError:  # 29 February
        return date(day.year - 1, 2, 28)


def _aqi_words(d: AirDay | None) -> str:
    if d is None:
        return "无存储数据"
    if d.aqi is None:
        return f"无有效 AQI（{d.reason or '数据不足'}）"
    return f"AQI {d.aqi}（{d.category}）"


def _compare(now: AirDay, before: AirDay | None, label: str) -> str:
    if before is None or before.aqi is None or now.aqi is None:
        return f"{label}无可比的存储数据"
    diff = now.aqi - before.aqi
    if diff == 0:
        return f"与{label}（AQI {before.aqi}）持平"
    way = "上升" if diff > 0 else "下降"
    return f"较{label}（AQI {before.aqi}，{before.category}）{way} {abs(diff)}"


def _limit(d: AirDay, series: str, period: str) -> Fraction | None:
    rule = (d.provenance or {}).get("rules", {}).get("GB3095")
    if not rule:
        return None
    pol = "O3" if series == "O3_8H" else series
    try:
        return Fraction(limit_set(rule, date.fromisoformat(d.date)).get(pol, period))
    except (KeyError, ValueError):
        return None


def daily(
    session: Session, day: date, region: str | None = None, notice: str | None = None
) -> Report:
    """The 环境空气质量日报 of ``region`` (default: the deployment's own) for ``day``."""
    region = region or default_region(session)
    name = _region_name(session, region)
    today = _day(session, region, day)
    if today is None:
        raise ReportError(
            f"{name}{_cn(day)}没有已存储的空气质量日数据（no stored air figures of {region} "
            f"for {day}）：请先运行 qingshan quality recompute"
        )
    before = _day(session, region, day - timedelta(days=1))
    last_year = _day(session, region, _same_day_last_year(day))
    nxt = day + timedelta(days=1)
    rep = Report(
        issuer=issuer(name),
        title="环境空气质量日报",
        period_label=_cn(day),
        issue_label=f"{day.year}年第{day.timetuple().tm_yday}期",
        date_label=_cn(nxt),
        notice=notice if notice is not None else simulated_notice(session),
    )
    rules = (today.provenance or {}).get("rules", {})
    rep.standards = sorted({v for k, v in rules.items() if k in ("HJ633", "GB3095") and v})
    rep.h1("一、环境空气质量")
    if today.aqi is not None:
        primary = _primary(today) if today.aqi > 50 else "无"
        rep.p(
            f"{_cn(day)}，{name}环境空气质量指数（AQI）为 {today.aqi}，空气质量"
            f"{today.level or ''}（{today.category}），首要污染物为 {primary}；"
            f"{_compare(today, before, '前一日')}；"
            f"{_compare(today, last_year, '去年同日')}。"
        )
    else:
        rep.p(
            f"{_cn(day)}，{name}空气质量日数据无效：{today.reason or '数据不足'}，"
            "当日不计入有效天数。"
        )
    rows: list[list[str]] = []
    fills: list[list[str | None]] = []
    for series, label, unit, places, period in DAILY_ROWS:
        v = today.values.get(series)
        lim = _limit(today, series, period)
        over = None if v is None or lim is None else to_fraction(v) > lim
        rows.append(
            [
                label,
                unit,
                _num(v, places),
                _num(before.values.get(series) if before else None, places),
                _num(last_year.values.get(series) if last_year else None, places),
                "—" if lim is None else _num(lim, places),
                {True: "超标", False: "达标", None: "—"}[over],
            ]
        )
        fill: list[str | None] = [None] * 7
        fill[6] = "#F4CCCC" if over else None
        fills.append(fill)
    rep.table(
        TableBlock(
            "主要污染物浓度（24 小时平均，O₃ 为日最大 8 小时平均）",
            ["污染物", "单位", "当日", "前一日", "去年同日", "二级标准限值", "达标情况"],
            rows,
            "污染物浓度",
            fills=fills,
            font_size=9,
            note="浓度为区域评价点位的日均值（按 HJ 633 的发布精度），标准限值为 "
            f"{rules.get('GB3095', 'GB 3095')} 二级 24 小时平均（O₃ 为 8 小时平均）限值。",
        )
    )
    _stations_of_day(session, rep, region, day)
    _sections_of_day(session, rep, region, day)
    rep.provenance = {
        "fingerprint": fingerprint(
            [_day_dict(d) for d in (today, before, last_year) if d is not None]
        ),
        "standards": rep.standards,
    }
    _appendix(
        rep,
        "本日报数据取自青山平台已存储的日空气质量计算结果（区域值由评价点位计算，微站与对照点"
        "不参与评价）及地表水样品水质类别，报告生成时不重新计算。",
    )
    return rep


def _day_dict(d: AirDay) -> dict[str, Any]:
    return {
        "date": d.date,
        "aqi": d.aqi,
        "category": d.category,
        "primary": d.primary_pollutants,
        "values": d.values,
        "valid": d.valid,
    }


def _stations_of_day(session: Session, rep: Report, region: str, day: date) -> None:
    reg = regions(session)
    stations = [
        x for x in sites(session, [SiteKind.AIR_STATION]) if reg.contains(region, x.region_code)
    ]
    shown = [x for x in stations if x.air_kind != "micro"]
    micro = len(stations) - len(shown)
    rows: list[list[str]] = []
    fills: list[list[str | None]] = []
    for x in sorted(shown, key=lambda x: (not x.evaluation, x.code)):
        d = _day(session, x.code, day, scope="site")
        rows.append(
            [
                x.name,
                "评价点位" if x.evaluation else "对照点",
                "—" if d is None or d.aqi is None else str(d.aqi),
                (d.category or "—") if d is not None and d.aqi is not None else "无效",
                _primary(d) if d is not None and (d.aqi or 0) > 50 else "—",
                _num(d.values.get("PM2_5") if d else None, 0),
                _num(d.values.get("PM10") if d else None, 0),
                _num(d.values.get("O3_8H") if d else None, 0),
            ]
        )
        fills.append([None, None, aqi_colour(d.aqi_standard, d.aqi) if d else None] + [None] * 5)
    if not rows:
        return
    rep.table(
        TableBlock(
            "各点位空气质量",
            ["点位", "类型", "AQI", "类别", "首要污染物", "PM₂.₅", "PM₁₀", "O₃-8h"],
            rows,
            "点位日报",
            fills=fills,
            font_size=9,
            note="浓度单位 μg/m³；对照点不参与区域评价"
            + (f"；另有微站 {micro} 个，不参与官方评价，日报不列出。" if micro else "。"),
        )
    )


def _sections_of_day(session: Session, rep: Report, region: str, day: date) -> None:
    """Sections with samples that day: their stored sample classes (the worst of the day)."""
    reg = regions(session)
    secs = {
        x.id: x
        for x in sites(session, [SiteKind.SURFACE_WATER])
        if reg.contains(region, x.region_code)
    }
    if not secs:
        return
    lo = datetime.combine(day, datetime.min.time())
    w = WaterSampleFigure.__table__.c
    by: dict[int, list[Any]] = {}
    for r in session.execute(
        select(w.site_id, w.data_time, w.water_class, w.failing)
        .where(w.site_id.in_(sorted(secs)), w.data_time >= lo, w.data_time < lo + timedelta(1))
        .order_by(w.site_id, w.data_time)
    ):
        by.setdefault(r.site_id, []).append(r)
    rep.h1("二、地表水")
    if not by:
        rep.p(f"{_cn(day)}各地表水断面无监测样品。")
        return
    names = {k: v.name for k, v in water.item_limits().items()}
    targets = {
        sid: t for sid, t in session.execute(select(Site.id, Site.target_class)) if sid in secs
    }
    rows: list[list[str]] = []
    fills: list[list[str | None]] = []
    for sid in sorted(by, key=lambda i: secs[i].code):
        got = by[sid]
        classed = [r for r in got if r.water_class is not None]
        worst = max(classed, key=lambda r: r.water_class) if classed else None
        roman = None if worst is None else ROMAN[worst.water_class]
        failing = sorted({f for r in got if r.failing for f in r.failing.split(",")})
        rows.append(
            [
                secs[sid].name,
                LATIN.get(targets.get(sid) or "", targets.get(sid) or "—"),
                str(len(got)),
                roman or "—",
                "、".join(names.get(f, f) for f in failing) or "—",
            ]
        )
        fills.append([None, None, None, WATER_COLOURS.get(roman or ""), None])
    rep.p(f"{_cn(day)}，{len(by)} 个地表水断面有监测样品，水质类别见下表。")
    rep.table(
        TableBlock(
            "地表水断面当日水质类别",
            ["断面名称", "目标类别", "样品数", "当日水质类别", "超Ⅲ类项目"],
            rows,
            "断面日报",
            fills=fills,
            note="当日水质类别为当日各次样品按 GB 3838-2002 评价的最差类别；"
            "月度水质以月报（月均值评价）为准。",
        )
    )


def _appendix(rep: Report, source: str) -> None:
    rep.h1("附：数据来源")
    rep.p(f"1. {source}")
    rep.p(f"2. 所用标准及规则版本：{standards_text(rep.standards)}。")
    rep.p(
        "3. 报告指纹（存储结果摘要，SHA-256 前 16 位）："
        + rep.provenance["fingerprint"]
        + "。相同存储结果生成的报告内容完全一致。"
    )


# --------------------------------------------------------------------------- weekly


def _mean(days: list[AirDay], series: str, places: int) -> Fraction | None:
    """Exact mean of the stored daily values of the valid days, rounded once."""
    vals = [to_fraction(v) for d in days if (v := d.values.get(series)) is not None]
    if not vals:
        return None
    return Fraction(round_half_even(sum(vals, Fraction(0)) / len(vals), places))


def _pct_change(now: Fraction | None, before: Fraction | None) -> str:
    if now is None or before is None or before == 0:
        return "—"
    return f"{round_half_even((now - before) / before * 100, 1):+}%"


def _good(days: list[AirDay]) -> tuple[int, int, Fraction | None]:
    valid = [d for d in days if d.valid and d.aqi is not None]
    good = sum(1 for d in valid if (d.aqi or 0) <= 100)
    return len(valid), good, (Fraction(good * 100, len(valid)) if valid else None)


def weekly(
    session: Session, week_start: date, region: str | None = None, notice: str | None = None
) -> Report:
    """The 环境空气质量周报 of the week Monday ``week_start`` … Sunday."""
    if week_start.weekday() != 0:
        raise ReportError(
            f"周报按周一至周日统计：{week_start} 是星期{WEEKDAYS[week_start.weekday()]}，"
            f"请给出周一的日期（如 {week_start - timedelta(days=week_start.weekday())}）"
        )
    region = region or default_region(session)
    name = _region_name(session, region)
    end = week_start + timedelta(days=6)
    prev_start = week_start - timedelta(days=7)
    both = air_days(session, scope_code=region, start=prev_start, end=end)
    this = [d for d in both if d.date >= week_start.isoformat()]
    prev = [d for d in both if d.date < week_start.isoformat()]
    if not this:
        raise ReportError(
            f"{name}{_cn(week_start)}—{_cn(end)}没有已存储的空气质量日数据（no stored air "
            f"figures of {region} for {week_start}…{end}）：请先运行 qingshan quality recompute"
        )
    iso = week_start.isocalendar()
    rep = Report(
        issuer=issuer(name),
        title="环境空气质量周报",
        period_label=f"{_cn(week_start)}—{end.month}月{end.day}日",
        issue_label=f"{iso.year}年第{iso.week}周",
        date_label=_cn(end + timedelta(days=1)),
        notice=notice if notice is not None else simulated_notice(session),
    )
    rules: set[str] = set()
    for d in this:
        for k, v in (d.provenance or {}).get("rules", {}).items():
            if k in ("HJ633", "GB3095") and v:
                rules.add(v)
    rep.standards = sorted(rules)
    n, good, ratio = _good(this)
    pn, pgood, pratio = _good(prev)
    ratio_text = "—" if ratio is None else str(round_half_even(ratio, 1))
    if ratio is None or pratio is None:
        change = "上周无可比的存储数据"
    else:
        diff = round_half_even(ratio, 1) - round_half_even(pratio, 1)
        change = (
            f"与上周（{round_half_even(pratio, 1)}%）持平"
            if diff == 0
            else f"较上周（{round_half_even(pratio, 1)}%）{'上升' if diff > 0 else '下降'} "
            f"{abs(diff)} 个百分点"
        )
    heavy = sum(1 for x in this if (x.aqi or 0) > 200)
    rep.h1("一、环境空气质量")
    rep.p(
        f"{rep.period_label}，{name}环境空气质量有效监测天数 {n} 天，优良天数 {good} 天，"
        f"优良天数比率 {ratio_text}%，{change}；重污染天数 {heavy} 天。"
    )
    by = {d.date: d for d in this}
    rows: list[list[str]] = []
    fills: list[list[str | None]] = []
    for i in range(7):
        day = week_start + timedelta(days=i)
        dd = by.get(day.isoformat())
        rows.append(
            [
                f"{day.month}月{day.day}日",
                f"星期{WEEKDAYS[i]}",
                "—" if dd is None or dd.aqi is None else str(dd.aqi),
                "无数据" if dd is None else (dd.category or "无效"),
                _primary(dd) if dd is not None and (dd.aqi or 0) > 50 else "—",
            ]
        )
        fills.append([None, None, aqi_colour(dd.aqi_standard, dd.aqi) if dd else None, None, None])
    rep.table(
        TableBlock(
            "逐日空气质量",
            ["日期", "星期", "AQI", "类别", "首要污染物"],
            rows,
            "逐日AQI",
            fills=fills,
            note="AQI ≤ 50 的日子无首要污染物（HJ 633）。",
        )
    )
    mrows: list[list[str]] = []
    for series, label, unit, places, _period in DAILY_ROWS:
        m = _mean(this, series, places)
        pm = _mean(prev, series, places)
        mrows.append([label, unit, _num(m, places), _num(pm, places), _pct_change(m, pm)])
    rep.table(
        TableBlock(
            "主要污染物周均浓度及环比",
            ["污染物", "单位", "本周", "上周", "环比"],
            mrows,
            "周均浓度",
            note="周均浓度为本周各有效日日均值（O₃ 为日最大 8 小时平均）的算术平均；"
            f"上周 {pn} 个有效天、优良 {pgood} 天。周均值不作 GB 3095 达标评价。",
        )
    )
    rep.provenance = {
        "fingerprint": fingerprint([_day_dict(d) for d in both]),
        "standards": rep.standards,
    }
    _appendix(
        rep,
        "本周报数据取自青山平台已存储的日空气质量计算结果（区域值由评价点位计算，微站与对照点"
        "不参与评价），报告生成时不重新计算。",
    )
    return rep
