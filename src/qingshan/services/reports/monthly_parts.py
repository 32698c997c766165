"""The parts of the 环境质量月报 a bureau sends beyond the month's own figures.

* **1–N月累计** against the year's plan targets: the cockpit's
  :func:`qingshan.services.cockpit.year_progress` counted to the month's end (stored daily
  figures; targets from the loaded plan, else the deployment's recorded ones; the non-good
  days the target still allows this year).
* **Ranking among the city's counties**: the stored month figures of the region's sibling
  county-level regions (same parent); shown only when at least one sibling has them.
* **Section concentrations**: the main factors' stored monthly means per section, with 同比
  against the same month of last year when stored.
* **重点污染源自动监控**: per enterprise of the region, the month's data rates, exceedance
  hours / days and exceedance episodes against its permits' limits
  (:func:`qingshan.services.sources.stats.source_stats` over the month's stored hourly data),
  then the stored 超标 / 离线 alarm episodes of the month and how each was handled
  (:func:`qingshan.services.sources.alarms.list_episodes`).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from qingshan.roles import Principal, Role
from qingshan.services import cockpit
from qingshan.services.figures import AirQuality, FiguresError, WaterQuality, air_quality
from qingshan.services.observations import FactorNames, factor_names
from qingshan.services.reports.common import POL_NAMES, rel_change
from qingshan.services.reports.model import Report, TableBlock
from qingshan.services.sources import alarms, shape, stats
from qingshan.standards.rounding import round_half_even, to_fraction
from qingshan.storage.models import Enterprise, Region

# The bureau's own report covers every enterprise of its region (who may make a report is the
# web app's and the CLI's concern).
REPORTER = Principal(role=Role.ADMIN, username="report", via="system")

# Main factors of a section's concentration table: (item, name, unit, decimals as published)
SECTION_FACTORS = (
    ("do", "溶解氧", "mg/L", 1),
    ("codmn", "高锰酸盐指数", "mg/L", 1),
    ("nh3n", "氨氮", "mg/L", 2),
    ("tp", "总磷", "mg/L", 3),
)
COMPARE = {"at_least": "≥", "at_most": "≤"}


def year_to_date(rep: Report, session: Session, region: str, end: date) -> None:
    """1–N月累计 good-day ratio and PM2.5 against the year's targets."""
    yp = cockpit.year_progress(session, region, end + timedelta(days=1), through=end)
    span = "1月" if end.month == 1 else f"1—{end.month}月"
    rep.h2(f"（二）{span}累计与年度目标")
    if yp.valid_days == 0:
        rep.p(f"{end.year}年{span}无已存储的有效日空气质量数据，不作累计评价。")
        return
    g, pm = yp.good_day_ratio, yp.pm2_5
    text = (
        f"{end.year}年{span}累计，有效监测天数 {yp.valid_days} 天，优良天数 {yp.good_days} 天，"
        f"优良天数比率 {g.value}%"
    )
    if g.target is not None:
        text += f"，年度目标 {COMPARE.get(g.comparison or '', '')}{g.target}%（{g.status_label}）"
        if yp.non_good_days_allowed is not None:
            text += (
                f"；按目标，全年剩余 {yp.remaining_days} 天内还可出现非优良天 "
                f"{yp.non_good_days_allowed} 天"
                if yp.non_good_days_allowed > 0
                else "；按目标，本年已无非优良天余量"
            )
    else:
        text += "，本年未登记优良天数比率目标"
    text += "。"
    if pm.value is not None:
        text += f"PM₂.₅ 累计平均浓度 {pm.value} μg/m³（{yp.pm2_5_days} 个有效日）"
        sign = COMPARE.get(pm.comparison or "", "")
        text += (
            f"，年度目标 {sign}{pm.target} μg/m³（{pm.status_label}）。"
            if pm.target is not None
            else "，本年未登记 PM₂.₅ 浓度目标。"
        )
    rep.p(text)
    rows = [
        [
            "优良天数比率",
            "%",
            g.value or "—",
            "—" if g.target is None else f"{COMPARE.get(g.comparison or '', '')}{g.target}",
            g.status_label,
            g.target_source or "—",
        ],
        [
            "PM₂.₅ 平均浓度",
            "μg/m³",
            pm.value or "—",
            "—" if pm.target is None else f"{COMPARE.get(pm.comparison or '', '')}{pm.target}",
            pm.status_label,
            pm.target_source or "—",
        ],
    ]
    rep.table(
        TableBlock(
            f"{span}累计空气质量与年度目标",
            ["指标", "单位", f"{span}累计", "年度目标", "进度判断", "目标来源"],
            rows,
            "累计与目标",
            note="累计值由已存储的区域日数据计算（优良天 = 有效日中 AQI ≤ 100）；"
            "剩余天数按有效天计，进度判断与驾驶舱一致。",
        )
    )


def county_ranking(
    rep: Report, session: Session, region: str, start: date, end: date, heading: str
) -> None:
    """The city's county-level regions with stored figures this month, by composite index."""
    own = session.get(Region, region)
    if own is None or own.parent_code is None:
        return
    siblings = list(
        session.execute(
            select(Region.code, Region.name)
            .where(Region.parent_code == own.parent_code, Region.level == own.level)
            .order_by(Region.code)
        )
    )
    got: list[AirQuality] = []
    for code, _name in siblings:
        try:
            got.append(
                air_quality(session, region_code=code, start=start, end=end, stored_only=True)
            )
        except FiguresError:
            continue
    # a region's figures are stored for every month of the data range, with 0 valid days
    # where it had no data: those are not figures to rank
    got = [a for a in got if a.valid_days > 0]
    if not any(a.region_code != region for a in got) or not any(
        a.region_code == region for a in got
    ):
        return  # no sibling with figures: nothing to rank against
    parent = session.get(Region, own.parent_code)
    got.sort(key=lambda a: (a.composite_index is None, a.composite_index or 0.0, a.region_code))
    rep.h2(heading)
    pos = next(i for i, a in enumerate(got, start=1) if a.region_code == region)
    rep.p(
        f"按环境空气质量综合指数（越低越好），{own.name}在{parent.name if parent else '本市'}"
        f"有存储数据的 {len(got)} 个县（市、区）中排第 {pos} 位。"
    )
    rows = [
        [
            str(i),
            a.region_name,
            str(a.valid_days),
            "—" if a.good_day_ratio is None else str(a.good_day_ratio),
            "—" if a.composite_index is None else str(a.composite_index),
            "—" if (s := a.statistic("PM2_5", "mean")) is None or s.value is None else str(s.value),
            "、".join(POL_NAMES.get(p, p) for p in a.primary_pollutants) or "—",
        ]
        for i, a in enumerate(got, start=1)
    ]
    fills: list[list[str | None]] = [
        ["#FFF2CC" if a.region_code == region else None] * 7 for a in got
    ]
    rep.table(
        TableBlock(
            "全市各县（市、区）空气质量排名",
            ["排名", "县（市、区）", "有效天", "优良率%", "综合指数", "PM₂.₅", "首要污染物"],
            rows,
            "县区排名",
            fills=fills,
            note="仅列本平台存有该月评价结果的县（市、区）；综合指数按 HJ 663 计算。",
        )
    )


def _mean_text(v: float | int | None, places: int) -> str:
    return "—" if v is None else str(round_half_even(to_fraction(v), places))


def section_concentrations(rep: Report, wq: WaterQuality, last_year: WaterQuality | None) -> None:
    """The main factors' monthly means per section with 同比."""
    secs = [s for s in wq.sections if s.means]
    if not secs:
        return
    before = {s.code: s.means for s in (last_year.sections if last_year else [])}
    rows: list[list[str]] = []
    for s in secs:
        row = [s.name]
        for item, _name, _unit, places in SECTION_FACTORS:
            v = s.means.get(item)
            row += [_mean_text(v, places), rel_change(v, before.get(s.code, {}).get(item))]
        rows.append(row)
    header = ["断面名称"]
    for _item, name, _unit, _places in SECTION_FACTORS:
        header += [name, "同比"]
    rep.table(
        TableBlock(
            "地表水断面主要指标月均浓度及同比（mg/L）",
            header,
            rows,
            "断面浓度",
            font_size=9,
            note="月均浓度为本月全部有效样品的算术平均；同比为较去年同月月均浓度的变化率"
            "（去年同月无存储结果为 —）。",
        )
    )


def _span(start: datetime, end: datetime) -> str:
    """An episode's hours, Beijing time, the end exclusive: ``02-12 10:00—13:00``."""
    if end.date() == start.date():
        return f"{start:%m-%d %H:%M}—{end:%H:%M}"
    if end == datetime.combine(start.date() + timedelta(days=1), datetime.min.time()):
        return f"{start:%m-%d %H:%M}—24:00"
    return f"{start:%m-%d %H:%M}—{end:%m-%d %H:%M}"


def online_monitoring(
    rep: Report, session: Session, region: str, start: date, end: date, heading: str
) -> None:
    """重点污染源自动监控: the month's statistics of the region's enterprise outlets."""
    p = stats.period(start, end, datetime.combine(end + timedelta(days=1), datetime.min.time()))
    rows_e = [e for e in stats.source_stats(session, REPORTER, p, region=region) if e.outlets]
    if not rows_e:
        return
    names = factor_names(session)
    rep.h1(heading)
    _statistics(rep, rows_e, names)
    alarm_episodes(rep, session, region, p)


def _statistics(rep: Report, rows_e: list[stats.EnterpriseStats], names: FactorNames) -> None:
    """Per enterprise the month's rates and exceedances, then every exceedance period."""
    episodes = list(stats.iter_episodes(rows_e))
    exceeding = sorted({e.name for e, _o, _ep in episodes})
    rep.p(
        f"本月纳入自动监控的企业 {len(rows_e)} 家、排放口 "
        f"{sum(len(e.outlets) for e in rows_e)} 个。"
        + (
            f"按排污许可限值，{len(exceeding)} 家企业出现超标时段 {len(episodes)} 段："
            + "、".join(exceeding)
            + "。"
            if episodes
            else "按排污许可限值，本月自动监控数据未发现超标时段。"
        )
    )
    rows: list[list[str]] = []
    for e in rows_e:
        rate = shape.share(e.counts.effective_transmission_rate)
        n_ep = sum(len(o.episodes) for o in e.outlets)
        rows.append(
            [
                e.name,
                str(len(e.outlets)),
                "—" if rate is None else f"{round_half_even(to_fraction(rate) * 100, 1)}%",
                str(e.exceedance_hours),
                str(e.exceedance_days),
                str(n_ep),
            ]
        )
    rep.table(
        TableBlock(
            "重点排污单位自动监控情况",
            ["企业名称", "排放口", "有效传输率", "废气超标小时", "废水超标天", "超标时段"],
            rows,
            "自动监控",
            note="有效传输率 = 传输率 × 有效率（按排污许可限值所列污染物考核）；"
            "超标按许可限值的小时均值（废气）或日均值（废水）判定。",
        )
    )
    if not episodes:
        return
    erows = [
        [
            e.name,
            o.name.removeprefix(e.name).strip() or o.code,
            names[ep.pollutant][0],
            ep.basis,
            _span(ep.start, ep.end),
            f"{round_half_even(ep.peak, 1)} {ep.unit}",
            f"{ep.limit} {ep.unit}",
        ]
        for e, o, ep in episodes
    ]
    rep.table(
        TableBlock(
            "超标时段明细",
            ["企业", "排放口", "污染物", "依据", "时段（北京时间）", "峰值", "限值"],
            erows,
            "超标时段",
            font_size=9,
        )
    )


def alarm_episodes(rep: Report, session: Session, region: str, p: stats.Period) -> None:
    """The stored 超标 / 离线 alarm episodes of the month (the sources alarm detection's
    records) with how each was handled: still open, recovered, or confirmed (by whom, note)."""
    ents = set(
        session.scalars(
            select(Enterprise.id).where(
                Enterprise.region_code.in_(sorted(stats.region_codes(session, region)))
            )
        )
    )
    rows = [
        r
        for r in alarms.list_episodes(
            session,
            REPORTER,
            kinds=list(alarms.ALARM_KINDS),
            overlapping=(p.start, p.end),
            limit=10_000,
        )
        if r.enterprise_id in ents
    ]
    if not rows:
        rep.p("本月无自动监控超标、离线报警事件记录。")
        return
    rows.sort(key=lambda r: (r.started_at, r.id))
    names = factor_names(session)
    shown = alarms.episodes_json(session, rows)
    rep.p(
        f"本月自动监控报警事件 {len(rows)} 起（超标 "
        f"{sum(1 for r in rows if r.kind == 'exceedance')} 起，离线 "
        f"{sum(1 for r in rows if r.kind == 'offline')} 起），处理情况见下表。"
    )
    out: list[list[str]] = []
    for r, j in zip(rows, shown, strict=True):
        end = r.ended_at
        out.append(
            [
                j["enterprise"],
                j["outlet_name"].removeprefix(j["enterprise"]).strip() or j["outlet"],
                j["kind_label"],
                names[r.pollutant][0] if r.pollutant else "—",
                f"{r.started_at:%m-%d %H:%M}—" + ("" if end is None else f"{end:%m-%d %H:%M}"),
                j["status_label"],
                "；".join(x for x in (r.confirmed_name, r.confirm_note) if x) or "—",
            ]
        )
    rep.table(
        TableBlock(
            "自动监控报警事件及处理情况",
            ["企业", "排放口", "类型", "污染物", "起止（北京时间）", "状态", "核实"],
            out,
            "报警事件",
            font_size=9,
            note="报警事件为平台自动监控报警记录（超标按许可限值判定，离线按数据中断判定）；"
            "止时为空表示事件在报告期末仍在持续。",
        )
    )
