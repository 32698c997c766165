"""Monthly bulletin (环境质量月报) and annual report (年报) content, from stored figures only.

Every number is read from the figure tables (through :func:`qingshan.services.figures.
air_quality` and :func:`~qingshan.services.figures.water_quality` with ``stored_only``); the
report never recomputes a figure, so the same stored figures always give the same report. The
provenance section lists the rule versions and the data counts behind the figures.
"""

from __future__ import annotations

import calendar
import hashlib
import json
import re
from datetime import date, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from qingshan.services import deployment
from qingshan.services.figures import (
    AirDay,
    AirQuality,
    FiguresError,
    StatisticFigure,
    WaterQuality,
    air_quality,
    water_quality,
)
from qingshan.services.reports.common import POL_NAMES, rel_change
from qingshan.services.reports.model import Report, ReportError, TableBlock
from qingshan.standards.air.tables import aqi_table
from qingshan.standards.versions import all_versions
from qingshan.storage.models import Site, SiteKind

POL_ROWS = (  # (pollutant, statistic, display name, unit)
    ("SO2", "mean", "二氧化硫（SO₂）", "μg/m³"),
    ("NO2", "mean", "二氧化氮（NO₂）", "μg/m³"),
    ("PM10", "mean", "可吸入颗粒物（PM₁₀）", "μg/m³"),
    ("PM2_5", "mean", "细颗粒物（PM₂.₅）", "μg/m³"),
    ("CO", "p95", "一氧化碳（CO）", "mg/m³"),
    ("O3", "p90", "臭氧（O₃）", "μg/m³"),
)
STAT_NAMES = {"mean": "平均浓度", "p95": "日均值第95百分位数", "p90": "日最大8小时平均第90百分位数"}
# Colours of the 2011 method's status words (优 蓝, 良好 绿, 轻度 黄, 中度 橙, 重度 红).
WATER_COLOURS = {
    "Ⅰ": "#3C8CE7",
    "Ⅱ": "#3C8CE7",
    "Ⅲ": "#2EAD4B",
    "Ⅳ": "#F5E400",
    "Ⅴ": "#FF9A00",
    "劣Ⅴ": "#E52B2B",
}
YES = {True: "达标", False: "超标", None: "数据不足"}
# The daily indicator behind each row of the pollutant table (超标天数 and 达标率).
DAILY_OF = {"SO2": "SO2", "NO2": "NO2", "PM10": "PM10", "PM2_5": "PM2_5", "CO": "CO", "O3": "O3_8H"}


def _fmt(x: object, nd: int | None = None) -> str:
    if x is None:
        return "—"
    if nd is not None and isinstance(x, int | float):
        return f"{x:.{nd}f}"
    return str(x)


def _stat(aq: AirQuality, pol: str, stat: str) -> StatisticFigure | None:
    return aq.statistic(pol, stat)


def simulated_notice(session: Session) -> str | None:
    """The notice the deployment records for its reports (the demo records its 模拟数据
    notice), None when it records none."""
    return deployment.data_notice(session)


def default_region(session: Session) -> str:
    """The deployment's own region (:func:`qingshan.services.deployment.region_code`)."""
    code = deployment.region_code(session)
    if code is None:
        raise ReportError(
            "the database records no deployment region and no single county-level region "
            "stands for it; choose one with --region"
        )
    return code


def issuer(name: str) -> str:
    return f"{name}生态环境局"


def aqi_colour(standard: str | None, aqi: int | None) -> str | None:
    if aqi is None or standard is None:
        return None
    r, g, b = aqi_table(standard).category_of(aqi).rgb
    return f"#{r:02X}{g:02X}{b:02X}"


def _air(session: Session, region: str, start: date, end: date) -> AirQuality:
    try:
        return air_quality(
            session, region_code=region, start=start, end=end, include_micro=True, stored_only=True
        )
    except FiguresError as exc:
        raise ReportError(str(exc)) from None


def _air_prev(session: Session, region: str, start: date, end: date) -> AirQuality | None:
    try:
        s0 = start.replace(year=start.year - 1)
        e0 = date(end.year - 1, end.month, calendar.monthrange(end.year - 1, end.month)[1])
        return air_quality(session, region_code=region, start=s0, end=e0, stored_only=True)
    except (FiguresError, ValueError):
        return None


def _air_month(session: Session, region: str, year: int, month: int) -> AirQuality | None:
    """A month's stored air figures, None when not stored (环比 then says so)."""
    try:
        return air_quality(
            session,
            region_code=region,
            start=date(year, month, 1),
            end=date(year, month, calendar.monthrange(year, month)[1]),
            stored_only=True,
        )
    except FiguresError:
        return None


def _water_prev(session: Session, region: str, year: int, month: int) -> WaterQuality | None:
    """The same month's stored water figures of another year (同比), None when not stored."""
    try:
        wq = water_quality(
            session, region_code=region, month=f"{year:04d}-{month:02d}", stored_only=True
        )
    except FiguresError:
        return None
    return wq if any(s.means for s in wq.sections) else None


def _change(now: float | None, before: float | None, unit: str, than: str = "去年同期") -> str:
    if now is None or before is None:
        return f"{than}无存储数据，不作比较"
    d = round(now - before, 1)
    if d == 0:
        return f"与{than}（{before}{unit}）持平"
    return f"较{than}（{before}{unit}）{'上升' if d > 0 else '下降'} {abs(d)} 个百分点"


def _air_summary(
    rep: Report,
    aq: AirQuality,
    prev: AirQuality | None,
    label: str,
    *,
    month_on_month: bool = False,
    last_month: AirQuality | None = None,
) -> None:
    """Summary and pollutant table; ``month_on_month`` adds 环比 (against ``last_month``)
    beside 同比."""
    prim = "、".join(POL_NAMES.get(p, p) for p in aq.primary_pollutants) or "无"
    ratio = _fmt(aq.good_day_ratio)
    mom = ""
    if month_on_month:
        mom = "，" + _change(
            aq.good_day_ratio, last_month.good_day_ratio if last_month else None, "%", "上月"
        )
    rep.p(
        f"{label}，{aq.region_name}环境空气质量有效监测天数 {aq.valid_days} 天，优良天数 "
        f"{aq.good_days} 天，优良天数比率 {ratio}%，"
        f"{_change(aq.good_day_ratio, prev.good_day_ratio if prev else None, '%')}{mom}；"
        f"重污染天数 {aq.heavy_days} 天。环境空气质量综合指数 {_fmt(aq.composite_index)}，"
        f"首要污染物为 {prim}。" + _verdict_text(aq) + _incomplete_text(aq.incomplete_reasons)
    )
    rows: list[list[str]] = []
    fills: list[list[str | None]] = []
    for pol, stat, name, unit in POL_ROWS:
        s = _stat(aq, pol, stat)
        ps = _stat(prev, pol, stat) if prev else None
        if s is None:
            continue
        changes = [rel_change(s.value, ps.value if ps else None)]
        if month_on_month:
            ms = _stat(last_month, pol, stat) if last_month else None
            changes.append(rel_change(s.value, ms.value if ms else None))
        daily = aq.exceedance_days.get(DAILY_OF[pol])
        rows.append(
            [
                name,
                STAT_NAMES[stat],
                unit,
                _fmt(s.value),
                _fmt(s.limit),
                *changes,
                YES[s.attained],
                _fmt(s.exceedance_multiple),
                str(s.valid_days),
                _fmt(None if daily is None else daily.exceedance_days),
                _fmt(None if daily is None else daily.compliance_rate),
            ]
        )
        fill: list[str | None] = [None] * (10 + len(changes))
        fill[5 + len(changes)] = {False: "#F4CCCC", None: "#EEEEEE"}.get(s.attained)
        fills.append(fill)
    rep.table(
        TableBlock(
            "主要污染物浓度统计",
            [
                "污染物",
                "统计指标",
                "单位",
                "浓度",
                "二级标准限值",
                "同比",
                *(["环比"] if month_on_month else []),
                "达标情况",
                "超标倍数",
                "有效天数",
                "超标天数",
                "日达标率%",
            ],
            rows,
            "污染物统计",
            fills=fills,
            font_size=9,
            note=(
                f"评价依据 {aq.standard}、{_limits_of(aq)}；SO₂、NO₂、PM₁₀、PM₂.₅ 为期间平均浓度；"
                "同比、环比为浓度较去年同期、上月的变化率；"
                "超标天数、日达标率按日均值（O₃ 为日最大8小时平均）与 24 小时（8 小时）限值比较；"
                "不满足 GB 3095 表4 数据有效性的项目不作达标评价（数据不足）。"
            ),
        )
    )


def _verdict_text(aq: AirQuality) -> str:
    """The period's GB 3095 verdict in words; without one (数据不足), the reason instead."""
    if aq.attained is True:
        return "按 GB 3095 评价，各项污染物均达标。"
    if aq.attained is False:
        bad = [POL_NAMES.get(p, p) for p, v in aq.pollutants.items() if v.attained is False]
        return f"按 GB 3095 评价，{'、'.join(bad)} 未达标。"
    return f"按 GB 3095 不作达标评价：{aq.verdict_reason or '数据不足'}。"


def _incomplete_text(reasons: dict[str, list[str]]) -> str:
    """GB 3095 表4 completeness caveat in words (the engine gives English reasons)."""
    if not reasons:
        return ""
    pols = "、".join(POL_NAMES.get(p, p) for p in reasons)
    first = next(iter(reasons.values()))
    parts: list[str] = []
    for r in first:
        m = re.fullmatch(r"(\d+) valid days < (\d+)", r)
        if m:
            parts.append(f"有效天数 {m.group(1)} 天，少于要求的 {m.group(2)} 天")
    short = sum(1 for r in first if r.startswith("month"))
    if short:
        parts.append(f"{short} 个月的有效天数少于月度要求")
    return (
        f"（注：{pols} 数据有效性不满足 GB 3095 表4 要求（{'；'.join(parts)}），"
        "统计结果仅供参考。）"
    )


def _limits_of(aq: AirQuality) -> str:
    rules = aq.provenance.get("rules", {})
    std, phase = rules.get("GB3095", ""), rules.get("GB3095_phase", "")
    return std if not phase or phase == std else f"{std}（{phase}）"


def _category_table(rep: Report, aq: AirQuality, title: str) -> None:
    cats = ("优", "良", "轻度污染", "中度污染", "重度污染", "严重污染")
    n = max(aq.valid_days, 1)
    rows = [
        [c, str(aq.category_days.get(c, 0)), f"{100 * aq.category_days.get(c, 0) / n:.1f}%"]
        for c in cats
    ]
    std = (aq.daily[0].aqi_standard if aq.daily else None) or "HJ633-2012"
    tab = aqi_table(std)
    fills: list[list[str | None]] = []
    for c in cats:
        cat = next(x for x in tab.categories if x.category == c)
        fills.append([f"#{cat.rgb[0]:02X}{cat.rgb[1]:02X}{cat.rgb[2]:02X}", None, None])
    rep.table(
        TableBlock(
            title,
            ["空气质量级别", "天数", "占有效天数比例"],
            rows,
            "级别分布",
            fills=fills,
        )
    )


def _pollution_days(rep: Report, aq: AirQuality, title: str) -> None:
    bad = [d for d in aq.daily if d.aqi is not None and d.aqi > 100]
    by: dict[str, int] = {}
    for d in bad:
        for p in d.primary_pollutants or ["—"]:
            by[POL_NAMES.get(p, p)] = by.get(POL_NAMES.get(p, p), 0) + 1
    heavy = [d for d in bad if (d.aqi or 0) > 200]
    if not bad:
        rep.p("本期无超标天（AQI > 100）。")
    else:
        causes = "、".join(f"{k} {v} 天" for k, v in sorted(by.items(), key=lambda kv: -kv[1]))
        rep.p(
            f"本期超标天（AQI > 100）共 {len(bad)} 天，其中重污染天（AQI > 200）{len(heavy)} "
            f"天；按首要污染物分：{causes}。"
        )
        rows = [
            [
                d.date,
                str(d.aqi),
                d.category or "—",
                "、".join(POL_NAMES.get(p, p) for p in d.primary_pollutants) or "—",
            ]
            for d in bad
        ]
        fills: list[list[str | None]] = [
            [None, aqi_colour(d.aqi_standard, d.aqi), None, None] for d in bad
        ]
        rep.table(
            TableBlock(
                title,
                ["日期", "AQI", "级别", "首要污染物"],
                rows,
                "超标天",
                fills=fills,
            )
        )

    def no_data(d: AirDay) -> bool:
        return not any((d.provenance or {}).get("valid_hours", {}).values())

    invalid = [d for d in aq.daily if not d.valid and not no_data(d)]
    missing = sum(1 for d in aq.daily if no_data(d))
    if invalid:
        rep.p(
            f"有监测数据但未计入有效天的共 {len(invalid)} 天，原因如下："
            + "；".join(f"{d.date}（{d.reason}）" for d in invalid[:10])
            + ("等。" if len(invalid) > 10 else "。")
        )
    if missing:
        rep.p(f"另有 {missing} 天无监测数据（未到期或未上报），不计入有效天。")


def _stations(rep: Report, aq: AirQuality, title: str) -> None:
    micro = [x for x in aq.stations if x.kind == "micro"]
    st = sorted(
        (x for x in aq.stations if x.kind != "micro"),
        key=lambda x: (not x.official, x.rank or 999),
    )
    rows = [
        [
            _fmt(x.rank),
            x.name,
            "评价点位" if x.official else ("对照点" if x.kind == "background" else "微站（参考）"),
            str(x.valid_days),
            _fmt(x.good_day_ratio),
            _fmt(x.composite_index),
            _fmt(x.pm2_5),
            _fmt(x.pm10),
            "、".join(POL_NAMES.get(p, p) for p in x.primary_pollutants) or "—",
        ]
        for x in st
    ]
    rep.table(
        TableBlock(
            title,
            [
                "排名",
                "点位",
                "类型",
                "有效天",
                "优良率%",
                "综合指数",
                "PM₂.₅",
                "PM₁₀",
                "首要污染物",
            ],
            rows,
            "点位排名",
            font_size=9,
            note="评价点位按综合指数由低到高排名（越低越好）；对照点单独排名，仅供参考，"
            "不参与区域官方评价。",
        )
    )
    if micro:
        ranked = [x for x in micro if x.composite_index is not None]
        rep.p(
            f"另有空气质量微站 {len(micro)} 个（其中 {len(ranked)} 个数据满足统计要求），"
            "其数据用于网格化管理参考（见乡镇排名），不参与官方评价。"
        )


def _townships(rep: Report, aq: AirQuality, title: str) -> None:
    if not aq.townships:
        return
    rows = [
        [
            str(t.rank),
            t.name,
            str(t.stations),
            _fmt(t.composite_index, 2),
            _fmt(t.pm2_5),
        ]
        for t in aq.townships
    ]
    rep.table(
        TableBlock(
            title,
            ["排名", "乡镇（街道）", "点位数", "综合指数（均值）", "PM₂.₅"],
            rows,
            "乡镇排名",
            note="含微站数据，为管理参考排名，非官方评价结果。",
        )
    )


def _water(
    rep: Report,
    wq: WaterQuality,
    label: str,
    with_map: bool,
    coords: dict[str, tuple[float, float]],
    rings: list[list[tuple[float, float]]] | None = None,
) -> None:
    from qingshan.services.reports import charts  # matplotlib only when a report is made

    rep.h1("二、地表水环境质量")
    n = len(wq.sections)
    classed = [s for s in wq.sections if s.water_class]
    if not classed:
        rep.p(f"{label}无地表水断面监测结果。")
    else:
        rep.p(
            f"{label}，{wq.region_name}监测地表水断面 {n} 个，Ⅰ～Ⅲ类水质断面比例 "
            f"{_fmt(wq.share_i_iii)}%，劣Ⅴ类断面比例 {_fmt(wq.share_worse_than_v)}%；"
            f"{wq.sections_with_target} 个有目标断面中 {wq.sections_meeting_target} 个达到"
            "水质目标。"
        )
    rows, fills = [], []
    for s in wq.sections:
        mp = (
            "、".join(
                f"{m.name}（{m.water_class}类，超Ⅲ类 {_fmt(m.multiple)} 倍）"
                if m.multiple is not None
                else f"{m.name}（{m.water_class}类）"
                for m in s.main_pollutants
            )
            or "—"
        )
        rows.append(
            [
                s.name,
                _fmt(s.target_class),
                _fmt(s.water_class),
                s.status or "—",
                {True: "达标", False: "未达标", None: "—"}[s.meets_target],
                mp,
                str(s.samples),
            ]
        )
        fills.append(
            [
                None,
                None,
                WATER_COLOURS.get(s.water_class or ""),
                None,
                "#F4CCCC" if s.meets_target is False else None,
                None,
                None,
            ]
        )
    if rows:
        rep.table(
            TableBlock(
                "地表水断面水质状况",
                [
                    "断面名称",
                    "目标类别",
                    "本期类别",
                    "水质状况",
                    "是否达标",
                    "主要污染指标",
                    "样品数",
                ],
                rows,
                "地表水断面",
                fills=fills,
                note="评价依据 GB 3838-2002 及《地表水环境质量评价办法（试行）》，"
                "水温、总氮、粪大肠菌群不参与评价。",
            )
        )
    if with_map and classed:
        pts = [
            (
                coords[s.code][0],
                coords[s.code][1],
                s.name,
                WATER_COLOURS.get(s.water_class or "", "#cccccc"),
            )
            for s in wq.sections
            if s.code in coords
        ]
        if pts:
            legend = [
                ("Ⅰ～Ⅱ类", WATER_COLOURS["Ⅰ"]),
                ("Ⅲ类", WATER_COLOURS["Ⅲ"]),
                ("Ⅳ类", WATER_COLOURS["Ⅳ"]),
                ("Ⅴ类", WATER_COLOURS["Ⅴ"]),
                ("劣Ⅴ类", WATER_COLOURS["劣Ⅴ"]),
            ]
            rep.image(
                charts.site_map(pts, f"{label}地表水断面水质类别示意图", legend, rings or ()),
                "地表水断面水质类别示意图"
                + ("（底图为区界）" if rings else "（无区界数据，仅示点位）"),
                width_cm=12.5,
            )


def _drinking(rep: Report, wq: WaterQuality, label: str) -> None:
    rep.h1("三、集中式饮用水水源地水质")
    src = wq.drinking_sources
    judged = [s for s in src if s.complies is not None]
    if not judged:
        rep.p(f"{label}无饮用水水源地监测结果。")
        return
    ok = sum(1 for s in judged if s.complies)
    rep.p(
        f"{label}，监测集中式饮用水水源地 {len(judged)} 个，达标 {ok} 个，"
        f"水源地达标率 {_fmt(wq.drinking_compliance_rate)}%。"
    )
    rows = [
        [
            s.name,
            "地下水" if (s.source_type or "") in ("groundwater", "地下水") else "地表水",
            _fmt(s.water_class),
            {True: "达标", False: "超标", None: "—"}[s.complies],
            "、".join(s.failing_items) or "—",
            str(s.samples),
        ]
        for s in src
    ]
    fills: list[list[str | None]] = [
        [None, None, None, "#F4CCCC" if s.complies is False else None, None, None] for s in src
    ]
    rep.table(
        TableBlock(
            "集中式饮用水水源地水质达标情况",
            ["水源地", "类型", "水质类别", "达标情况", "超标项目", "样品数"],
            rows,
            "饮用水水源地",
            fills=fills,
            note="地表水水源按 GB 3838-2002 Ⅲ类（含表2补充项目）评价，地下水水源"
            "按 GB/T 14848-2017 Ⅲ类评价。",
        )
    )


def _groundwater(rep: Report, wq: WaterQuality) -> None:
    if not wq.groundwater:
        return
    if not any(g.samples for g in wq.groundwater):
        rep.p(
            f"地下水监测点 {len(wq.groundwater)} 个（"
            + "、".join(g.name for g in wq.groundwater)
            + "）本期无监测数据。"
        )
        return
    rows = [
        [g.name, _fmt(g.water_class), "、".join(g.exceeding_iii) or "—", str(g.samples)]
        for g in wq.groundwater
    ]
    rep.table(
        TableBlock(
            "地下水监测点水质类别（GB/T 14848-2017）",
            ["监测点", "水质类别", "超Ⅲ类指标", "样品数"],
            rows,
            "地下水",
        )
    )


def _noise(rep: Report, wq: WaterQuality, label: str) -> None:
    rep.h1("四、声环境质量")
    nz = wq.noise
    if not nz.stations or nz.point_days == 0:
        rep.p(f"{label}无声环境自动监测结果。")
        return
    rep.p(
        f"{label}，功能区声环境自动监测点 {len(nz.stations)} 个，昼间达标率 "
        f"{_fmt(nz.day_rate)}%，夜间达标率 {_fmt(nz.night_rate)}%（按点次统计）。"
    )
    rows = [
        [
            s.name,
            _fmt(s.zone),
            _fmt(s.ld_mean),
            _fmt(s.ln_mean),
            f"{s.day_ok_days}/{s.days}",
            f"{s.night_ok_days}/{s.days}",
        ]
        for s in nz.stations
    ]
    rep.table(
        TableBlock(
            "功能区声环境监测结果（dB(A)）",
            ["监测点", "功能区", "昼间等效声级", "夜间等效声级", "昼间达标天数", "夜间达标天数"],
            rows,
            "声环境",
            note=f"评价依据 {nz.rules['GB3096']}；昼间 6:00—22:00，夜间 22:00—次日 6:00。",
        )
    )


def standards_text(ids: list[str]) -> str:
    """The rule versions by title and id, as the appendix lists them."""
    vers = all_versions()
    return "；".join(f"{vers[i].title}（{i}）" for i in sorted(set(ids)) if i in vers)


def _provenance(rep: Report, aq: AirQuality, wq_prov: list[dict[str, Any]]) -> None:
    rep.h1("附：数据来源与计算说明")
    std_text = standards_text(rep.standards)
    prov = aq.provenance
    rep.p(
        "1. 本报告全部数据取自青山平台已存储的环境质量计算结果（按国家标准由监测数据计算，"
        "逐项记录有效小时数、有效天数与所用规则版本），报告生成时不重新计算。"
    )
    rep.p(f"2. 所用标准及规则版本：{std_text}。")
    vh = prov.get("valid_hours", {})
    rep.p(
        f"3. 空气质量区域数据为评价点位（{len(prov.get('stations', []))} 个："
        f"{'、'.join(prov.get('stations', []))}）逐小时浓度的算术平均，微站与对照点不参与"
        f"评价；本期有效小时数："
        + "，".join(f"{POL_NAMES.get(k, k)} {v}" for k, v in sorted(vh.items()))
        + "。"
    )
    n_samples = sum(int(p.get("samples", 0)) for p in wq_prov)
    rep.p(f"4. 水环境结果依据各断面、水源地本期全部有效样品（合计 {n_samples} 个）的月均值评价。")
    rep.p(
        "5. 报告指纹（存储结果摘要，SHA-256 前 16 位）："
        + rep.provenance["fingerprint"]
        + "。相同存储结果生成的报告内容完全一致。"
    )


def boundary_rings(session: Session, region: str) -> list[list[tuple[float, float]]]:
    """The rings of the region's recorded outline (WGS-84), as the web map draws it
    (:func:`qingshan.services.deployment.boundaries`); none recorded, none drawn."""
    for f in deployment.boundaries(session)["features"]:
        if f["id"] != region:
            continue
        g = f["geometry"]
        polys = g["coordinates"] if g["type"] == "MultiPolygon" else [g["coordinates"]]
        return [[(float(x), float(y)) for x, y, *_ in ring] for poly in polys for ring in poly]
    return []


def _coords(session: Session) -> dict[str, tuple[float, float]]:
    out: dict[str, tuple[float, float]] = {}
    for code, lon, lat in session.execute(
        select(Site.code, Site.longitude, Site.latitude).where(Site.kind == SiteKind.SURFACE_WATER)
    ):
        if lon is not None and lat is not None:
            out[code] = (float(lon), float(lat))
    return out


def fingerprint(*parts: Any) -> str:
    blob = json.dumps(parts, ensure_ascii=False, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:16]


def _strip_times(d: Any) -> Any:
    """Figures without their computation times (the fingerprint is of the numbers)."""
    if isinstance(d, dict):
        return {k: _strip_times(v) for k, v in d.items() if k != "computed_at"}
    if isinstance(d, list):
        return [_strip_times(v) for v in d]
    return d


def _standards(aq: AirQuality, wq: WaterQuality) -> list[str]:
    ids = {aq.standard}
    rules = aq.provenance.get("rules", {})
    if rules.get("GB3095"):
        ids.add(rules["GB3095"])
    ids |= {d.aqi_standard for d in aq.daily if d.aqi_standard}
    ids |= set(wq.provenance["rules"].values())
    return sorted(ids)


def monthly(
    session: Session, *, year: int, month: int, region: str | None = None, notice: str | None = None
) -> Report:
    """The 环境质量月报 of ``region`` (default: the one county in the database)."""
    from qingshan.services.reports import charts  # matplotlib only when a report is made
    from qingshan.services.reports import monthly_parts as parts

    if not 1 <= month <= 12:
        raise ReportError(f"month {month} is not 1–12")
    region = region or default_region(session)
    start = date(year, month, 1)
    end = date(year, month, calendar.monthrange(year, month)[1])
    aq = _air(session, region, start, end)
    prev = _air_prev(session, region, start, end)
    last = start - timedelta(days=1)
    last_month = _air_month(session, region, last.year, last.month)
    try:
        wq = water_quality(
            session, region_code=region, month=f"{year:04d}-{month:02d}", stored_only=True
        )
    except FiguresError as exc:
        raise ReportError(str(exc)) from None
    label = f"{year}年{month}月"
    nxt = end + timedelta(days=1)
    rep = Report(
        issuer=issuer(aq.region_name),
        title="环境质量月报",
        period_label=label,
        issue_label=f"{year}年第{month}期",
        date_label=f"{nxt.year}年{nxt.month}月{nxt.day}日",
        notice=notice if notice is not None else simulated_notice(session),
    )
    rep.standards = _standards(aq, wq)
    rep.provenance = {
        "fingerprint": fingerprint(_strip_times(aq.to_dict()), _strip_times(wq.to_dict())),
        "air": aq.provenance,
        "standards": rep.standards,
    }
    rep.h1("一、环境空气质量")
    rep.h2("（一）总体状况")
    _air_summary(rep, aq, prev, label, month_on_month=True, last_month=last_month)
    singles = [_stat(aq, p, s) for p, s, _n, _u in POL_ROWS]
    ratios = [
        None if (s is None or s.value is None or not s.limit) else s.value / s.limit
        for s in singles
    ]
    rep.image(
        charts.index_bars(
            [n.split("（")[0] for _p, _s, n, _u in POL_ROWS],
            ratios,
            f"{label}主要污染物浓度与二级标准限值之比",
        ),
        "主要污染物浓度占标率（虚线为标准限值）",
        width_cm=13,
    )
    parts.year_to_date(rep, session, region, end)
    rep.h2("（三）空气质量日历")
    days = [date.fromisoformat(d.date) for d in aq.daily]
    rep.image(
        charts.daily_aqi_chart(
            days,
            [d.aqi for d in aq.daily],
            [aqi_colour(d.aqi_standard, d.aqi) or "#DDDDDD" for d in aq.daily],
            f"{label}{aq.region_name}逐日空气质量指数（AQI）",
        ),
        "逐日 AQI（颜色为级别）",
    )
    _calendar_table(rep, aq, year, month)
    _category_table(rep, aq, "空气质量级别天数分布")
    rep.h2("（四）超标天与首要污染物")
    _pollution_days(rep, aq, "超标天明细")
    rep.h2("（五）点位与乡镇排名")
    _stations(rep, aq, "空气质量点位排名")
    _townships(rep, aq, "乡镇（街道）空气质量参考排名")
    parts.county_ranking(rep, session, region, start, end, "（六）全市各县（市、区）排名")
    _water(rep, wq, label, True, _coords(session), boundary_rings(session, region))
    parts.section_concentrations(rep, wq, _water_prev(session, region, year - 1, month))
    _drinking(rep, wq, label)
    _groundwater(rep, wq)
    _noise(rep, wq, label)
    parts.online_monitoring(rep, session, region, start, end, "五、重点污染源自动监控")
    _provenance(rep, aq, [s.provenance for s in wq.sections + wq.drinking_sources])
    return rep


def _calendar_table(rep: Report, aq: AirQuality, year: int, month: int) -> None:
    by = {d.date: d for d in aq.daily}
    weeks = calendar.Calendar(firstweekday=0).monthdatescalendar(year, month)
    rows: list[list[str]] = []
    fills: list[list[str | None]] = []
    for w in weeks:
        row: list[str] = []
        fill: list[str | None] = []
        for d in w:
            if d.month != month:
                row.append("")
                fill.append(None)
                continue
            x = by.get(d.isoformat())
            aqi = x.aqi if x else None
            row.append(f"{d.day}日\n{'—' if aqi is None else aqi}")
            fill.append(aqi_colour(x.aqi_standard, aqi) if x else None)
        rows.append(row)
        fills.append(fill)
    rep.table(
        TableBlock(
            "空气质量日历（日期/AQI，颜色表示空气质量级别）",
            ["一", "二", "三", "四", "五", "六", "日"],
            rows,
            "AQI日历",
            fills=fills,
            font_size=9,
        )
    )


def annual(
    session: Session, *, year: int, region: str | None = None, notice: str | None = None
) -> Report:
    """The 年报 of ``region``: the year's air evaluation, monthly figures, water, noise."""
    from qingshan.services.reports import charts  # matplotlib only when a report is made

    region = region or default_region(session)
    start, end = date(year, 1, 1), date(year, 12, 31)
    aq = _air(session, region, start, end)
    prev = _air_prev(session, region, start, end)
    label = f"{year}年"
    rep = Report(
        issuer=issuer(aq.region_name),
        title="环境质量年报",
        period_label=label,
        issue_label=f"{year}年度",
        date_label=f"{year + 1}年1月",
        notice=notice if notice is not None else simulated_notice(session),
    )
    months: list[AirQuality | None] = []
    prev_months: list[AirQuality | None] = []
    waters: list[WaterQuality] = []
    for m in range(1, 13):
        s, e = date(year, m, 1), date(year, m, calendar.monthrange(year, m)[1])
        try:
            months.append(
                air_quality(session, region_code=region, start=s, end=e, stored_only=True)
            )
        except FiguresError:
            months.append(None)
        prev_months.append(_air_prev(session, region, s, e))
        waters.append(
            water_quality(
                session, region_code=region, month=f"{year:04d}-{m:02d}", stored_only=True
            )
        )
    rep.standards = _standards(aq, waters[0])
    rep.provenance = {
        "fingerprint": fingerprint(
            _strip_times(aq.to_dict()), [_strip_times(w.to_dict()) for w in waters]
        ),
        "air": aq.provenance,
        "standards": rep.standards,
    }
    rep.h1("一、环境空气质量")
    rep.h2("（一）总体状况")
    _air_summary(rep, aq, prev, label)
    rep.image(
        charts.grouped_bars(
            [f"{m}月" for m in range(1, 13)],
            {
                f"{year}年": [m.good_day_ratio if m else None for m in months],
                f"{year - 1}年": [m.good_day_ratio if m else None for m in prev_months],
            },
            "逐月优良天数比率",
            "%",
        ),
        "逐月优良天数比率及同比",
    )
    rows = [
        [
            f"{i}月",
            _fmt(m.valid_days) if m else "—",
            _fmt(m.good_days) if m else "—",
            _fmt(m.good_day_ratio) if m else "—",
            _fmt(m.heavy_days) if m else "—",
            _fmt(m.composite_index) if m else "—",
            "、".join(POL_NAMES.get(p, p) for p in m.primary_pollutants) if m else "—",
        ]
        for i, m in enumerate(months, start=1)
    ]
    rep.table(
        TableBlock(
            "逐月空气质量",
            ["月份", "有效天", "优良天", "优良率%", "重污染天", "综合指数", "首要污染物"],
            rows,
            "逐月空气质量",
        )
    )
    rep.h2("（二）空气质量日历")
    by = {d.date: d for d in aq.daily}
    grid: list[list[str | None]] = []
    for m in range(1, 13):
        row: list[str | None] = []
        for dd in range(1, 32):
            if dd > calendar.monthrange(year, m)[1]:
                row.append(None)
                continue
            x = by.get(date(year, m, dd).isoformat())
            row.append((aqi_colour(x.aqi_standard, x.aqi) if x else None) or "#E6E6E6")
        grid.append(row)
    std = (aq.daily[-1].aqi_standard if aq.daily else None) or "HJ633-2026"
    legend = [
        (c.category, f"#{c.rgb[0]:02X}{c.rgb[1]:02X}{c.rgb[2]:02X}")
        for c in aqi_table(std).categories
    ] + [("无效/缺测", "#E6E6E6")]
    rep.image(
        charts.calendar_heatmap(
            grid, [f"{m}月" for m in range(1, 13)], f"{label}空气质量日历", legend
        ),
        "全年空气质量日历（每格一天）",
    )
    _category_table(rep, aq, "空气质量级别天数分布")
    rep.h2("（三）超标天与首要污染物")
    _pollution_days(rep, aq, "超标天明细")
    rep.h2("（四）点位与乡镇排名")
    _stations(rep, aq, "空气质量点位排名")
    _townships(rep, aq, "乡镇（街道）空气质量参考排名")
    # Water: monthly classes per section.
    rep.h1("二、地表水环境质量")
    names = [s.name for s in waters[0].sections] or sorted(
        {s.name for w in waters for s in w.sections}
    )
    wrows, wfills = [], []
    for nm in names:
        row_s: list[str] = [nm]
        fill_s: list[str | None] = [None]
        ok = judged = 0
        for w in waters:
            sec = next((x for x in w.sections if x.name == nm), None)
            c = sec.water_class if sec else None
            row_s.append(c or "—")
            fill_s.append(WATER_COLOURS.get(c or ""))
            if sec and sec.meets_target is not None:
                judged += 1
                ok += bool(sec.meets_target)
        row_s.append(f"{ok}/{judged}")
        fill_s.append(None)
        wrows.append(row_s)
        wfills.append(fill_s)
    if wrows:
        rep.p(f"{label}，地表水断面逐月水质类别见下表（达标月数/有监测月数）。")
        rep.table(
            TableBlock(
                "地表水断面逐月水质类别",
                ["断面", *[f"{m}月" for m in range(1, 13)], "达标月数"],
                wrows,
                "断面逐月类别",
                fills=wfills,
                font_size=8,
            )
        )
    else:
        rep.p(f"{label}无地表水断面监测结果。")
    rep.h1("三、集中式饮用水水源地水质")
    srows = []
    for m, w in enumerate(waters, start=1):
        j = [s for s in w.drinking_sources if s.complies is not None]
        srows.append(
            [
                f"{m}月",
                str(len(j)),
                str(sum(1 for s in j if s.complies)),
                _fmt(w.drinking_compliance_rate),
            ]
        )
    rep.table(
        TableBlock(
            "饮用水水源地逐月达标情况",
            ["月份", "监测水源地", "达标水源地", "达标率%"],
            srows,
            "水源地逐月",
        )
    )
    rep.h1("四、声环境质量")
    nrows = [
        [
            f"{m}月",
            _fmt(w.noise.day_rate),
            _fmt(w.noise.night_rate),
            str(w.noise.point_days),
        ]
        for m, w in enumerate(waters, start=1)
    ]
    rep.table(
        TableBlock(
            "功能区声环境逐月达标率（按点次）",
            ["月份", "昼间达标率%", "夜间达标率%", "监测点次"],
            nrows,
            "声环境逐月",
        )
    )
    _provenance(rep, aq, [s.provenance for w in waters for s in w.sections + w.drinking_sources])
    return rep
