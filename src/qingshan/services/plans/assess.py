"""A plan's indicators in a year: targets, actual values computed from monitoring data, and
the status with its reason and projection (:mod:`qingshan.plans.status`).

Computed actual values (the indicator's ``binding``), over the plan's region:

* ``air.good_day_ratio`` / ``air.pm2_5`` / ``air.pm10`` — the region's evaluation air stations
  (HJ 663, the edition in force, named in the answer) from 1 January to the last complete day
  (yesterday, China Standard Time) or the year's end: good days / valid days, and the mean of
  the valid daily PM2.5 / PM10 values; projected to the year's end. An indicator stated 扣除沙尘
  (dust deduction) is not computed: the platform records no sand-and-dust days yet, so the
  status says so instead of showing an undeducted figure as the indicator.
* ``water.share_i_iii`` / ``water.share_worse_than_v`` — an annual evaluation of each
  surface-water section of the region (GB 3838-2002 class of the year's mean of each item,
  the 2011 evaluation method, as the monthly figures but over the year so far): the share of
  classed sections in Ⅰ–Ⅲ and in 劣Ⅴ, exact, shown to 1 decimal; projected to the year's
  end with each section keeping its class so far
  (:func:`qingshan.plans.status.section_share_projection`).
* ``water.drinking_compliance`` — 集中式饮用水水源地水质达标率: complying sources / sources
  with data over the year so far (the monthly figures' rule per source), projected the same
  way (:func:`qingshan.plans.status.source_share_projection`).

Every computed ``actual`` carries ``data``: the sites behind the number (the drill-down).
Indicators without a binding are ``not_assessable`` until a value is reported and accepted;
a 完成上级下达目标 target is judged against the assigned value once staff enter it with
evidence (:mod:`qingshan.services.plans.assigned`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from qingshan.clock import cst_today
from qingshan.plans.comparators import Comparator
from qingshan.plans.status import (
    STATUS_LABELS,
    SectionClass,
    SourceResult,
    Status,
    good_day_projection,
    mean_projection,
    section_share_projection,
    source_share_projection,
    value_status,
)
from qingshan.roles import Principal
from qingshan.services import deployment
from qingshan.services.figures import water as water_figures
from qingshan.services.figures._common import FiguresError, regions, sites
from qingshan.services.figures.air_reads import AirQuality, air_quality
from qingshan.services.plans import assigned, find_plan, indicators, reports, targets_of
from qingshan.standards import drinking_water
from qingshan.standards import water as water_rules
from qingshan.storage.models import SiteKind
from qingshan.storage.models_plans import Plan, PlanIndicator, PlanTarget

__all__ = [
    "AirTarget",
    "IndicatorStatus",
    "PlanStatus",
    "air_target",
    "comparator_of",
    "good_day_target",
    "plan_status",
]


@dataclass(slots=True)
class IndicatorStatus:
    no: str
    category: str
    name: str
    published: str
    unit: str
    attribute: str
    direction: str
    baseline: dict[str, Any] | None
    targets: list[dict[str, Any]]
    target: dict[str, Any] | None  # the one that applies in the year asked
    actual: dict[str, Any] | None
    status: str
    status_label: str
    reason: str
    projection: dict[str, Any] | None
    binding: str | None


@dataclass(slots=True)
class PlanStatus:
    plan_id: int
    template_id: str | None
    title: str
    region_code: str
    year: int
    through: str | None  # last day counted (ISO), None when the year has not begun
    notes: list[str]
    indicators: list[IndicatorStatus] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "plan_id": self.plan_id,
            "template_id": self.template_id,
            "title": self.title,
            "region": self.region_code,
            "year": self.year,
            "through": self.through,
            "notes": self.notes,
            "counts": {k: sum(1 for i in self.indicators if i.status == k) for k in STATUS_LABELS},
            "indicators": [
                {
                    "no": i.no,
                    "category": i.category,
                    "name": i.name,
                    "published": i.published,
                    "unit": i.unit,
                    "attribute": i.attribute or None,
                    "direction": i.direction,
                    "baseline": i.baseline,
                    "targets": i.targets,
                    "target": i.target,
                    "actual": i.actual,
                    "status": i.status,
                    "status_label": i.status_label,
                    "reason": i.reason,
                    "projection": i.projection,
                    "binding": i.binding,
                }
                for i in self.indicators
            ],
        }


def comparator_of(t: PlanTarget) -> Comparator:
    return Comparator(t.comparator, t.value, t.base_year, t.soft, t.approx, t.marked)


def _target_dict(t: PlanTarget) -> dict[str, Any]:
    c = comparator_of(t)
    return {
        "year": t.year,
        "text": t.text,
        "comparator": t.comparator,
        "value": t.value,
        "base_year": t.base_year,
        "soft": t.soft,
        "approx": t.approx,
        "reading": c.describe(),
    }


def _applies(ts: list[PlanTarget], year: int) -> tuple[PlanTarget | None, bool]:
    """The target that applies in ``year`` and whether it is carried over: the first
    milestone at or after ``year``; after the last milestone, the last one's target, carried
    over until a later plan replaces it (as a deployment's own targets are, see
    :mod:`qingshan.services.deployment`)."""
    later = [t for t in ts if t.year >= year]
    if later:
        return min(later, key=lambda t: t.year), False
    return (max(ts, key=lambda t: t.year), True) if ts else (None, False)


def _fmt(x: Fraction) -> str:
    return f"{float(round(x, 1)):.1f}"


def _fmt2(x: Fraction) -> str:
    return f"{float(round(x, 2)):.2f}"


@dataclass(slots=True)
class _Window:
    year: int
    first: date
    last: date | None  # None: nothing of the year has passed
    remaining: int  # days after ``last`` to the year's end


def _window(year: int, today: date) -> _Window:
    first, end = date(year, 1, 1), date(year, 12, 31)
    last = min(end, today - timedelta(days=1))
    if last < first:
        return _Window(year, first, None, (end - first).days + 1)
    return _Window(year, first, last, (end - last).days)


class _Air:
    """The region's air figures of the window, computed once for all air indicators."""

    def __init__(self, s: Session, region: str, w: _Window) -> None:
        self.error: str | None = None
        self.q: AirQuality | None = None
        self.ids: dict[str, int] = {}  # station code → site id, for drill-down
        if w.last is None:
            self.error = "本年尚未开始"
            return
        reg = regions(s)
        stations = sites(s, [SiteKind.AIR_STATION])
        self.ids = {x.code: x.id for x in stations}
        if not any(x.evaluation and reg.contains(region, x.region_code) for x in stations):
            self.error = "区域内没有参加评价的环境空气质量监测站点"
            return
        try:
            self.q = air_quality(s, region_code=region, start=w.first, end=w.last)
        except FiguresError as exc:
            self.error = f"无法计算空气质量：{exc}"


def _air(kind: str, air: _Air, w: _Window, c: Comparator | None) -> tuple[Any, Status]:
    if air.q is None:
        return None, Status("not_assessable", air.error or "无空气质量数据")
    q = air.q
    # the data behind the figure (drill-down): the stations of the region's evaluation
    data = [
        {
            "site_id": air.ids.get(st.code),
            "code": st.code,
            "name": st.name,
            "valid_days": st.valid_days,
            "good_days": st.good_days,
        }
        for st in q.stations
        if st.official
    ]
    if kind == "air.good_day_ratio":
        actual = {
            "value": None if q.valid_days == 0 else _fmt(Fraction(q.good_days * 100, q.valid_days)),
            "source": "computed",
            "standard": q.standard,
            "good_days": q.good_days,
            "valid_days": q.valid_days,
            "start": q.start.isoformat(),
            "end": q.end.isoformat(),
            "category_days": dict(q.category_days),
            "data": data,
        }
        if c is None or c.kind != "at_least" or q.valid_days == 0:
            # no floor to project against (完成上级下达目标, 保持 …): judged as a value
            ratio = None if q.valid_days == 0 else Fraction(q.good_days * 100, q.valid_days)
            return actual, value_status(c, ratio, final=w.remaining == 0)
        return actual, good_day_projection(q.good_days, q.valid_days, w.remaining, c)
    code = "PM2_5" if kind == "air.pm2_5" else "PM10"
    values = [
        Fraction(str(d.values[code])) for d in q.daily if d.valid and d.values.get(code) is not None
    ]
    mean = sum(values, Fraction(0)) / len(values) if values else None
    actual = {
        "value": None if mean is None else _fmt(mean),
        "source": "computed",
        "standard": q.standard,
        "valid_days": len(values),
        "start": q.start.isoformat(),
        "end": q.end.isoformat(),
        "data": data,
    }
    if mean is None:
        return actual, Status("not_assessable", "本年尚无有效日均值")
    if c is None or c.kind != "at_most":
        return actual, value_status(c, mean, final=w.remaining == 0)
    return actual, mean_projection(mean, len(values), w.remaining, c)


class _Water:
    """Annual evaluation of the region's surface-water sections over the window."""

    def __init__(self, s: Session, region: str, w: _Window) -> None:
        self.classes: dict[str, int] = {}
        self.sections: list[SectionClass] = []
        self.sites: dict[str, tuple[int, str]] = {}  # code → (site id, name), for drill-down
        self.error: str | None = None
        if w.last is None:
            self.error = "本年尚未开始"
            return
        reg = regions(s)
        conn = s.connection()
        for x in sites(s, [SiteKind.SURFACE_WATER]):
            if not reg.contains(region, x.region_code):
                continue
            samples = water_figures.load_samples(conn, x, w.first, w.last)
            if not samples:
                continue
            a = water_rules.section_assessment(
                [v for _t, v in samples],
                water_rules.WaterbodyType.LAKE
                if x.water_body == "lake_reservoir"
                else water_rules.WaterbodyType.RIVER,
                target_class=None,
                when=w.first,
            )
            if a.water_class is not None:
                self.classes[x.code] = int(a.water_class)
                self.sites[x.code] = (x.id, x.name)
                self.sections.append(
                    SectionClass(
                        x.code,
                        int(a.water_class),
                        {_item_name(k): v for k, v in a.exceed_iii.items()},
                    )
                )
        if not self.classes:
            self.error = "区域内本年没有可评价的地表水断面"


def _item_name(code: str) -> str:
    """The name of a water item (GB 3838 Table 1, or a drinking-water supplementary item)."""
    table = water_rules.item_limits()
    if code in table:
        return table[code].name
    extra = drinking_water.supplementary_limits()
    return extra[code][0] if code in extra else code


class _Drinking:
    """达标 of each drinking-water source of the region over the window."""

    def __init__(self, s: Session, region: str, w: _Window) -> None:
        self.sources: list[SourceResult] = []
        self.sites: dict[str, tuple[int, str]] = {}
        self.error: str | None = None
        if w.last is None:
            self.error = "本年尚未开始"
            return
        reg = regions(s)
        conn = s.connection()
        in_region = [
            x for x in sites(s, [SiteKind.DRINKING_WATER]) if reg.contains(region, x.region_code)
        ]
        if not in_region:
            self.error = "区域内没有登记集中式饮用水水源地监测点位"
            return
        for x in in_region:
            samples = water_figures.load_samples(conn, x, w.first, w.last)
            if not samples:
                continue
            c = water_figures.source_compliance(x, samples)
            if c.complies is None:
                continue
            self.sites[x.code] = (x.id, x.name)
            self.sources.append(
                SourceResult(x.code, c.complies, tuple(_item_name(i) for i in c.failing_items))
            )
        if not self.sources:
            self.error = "区域内的集中式饮用水水源地本年尚无可评价的监测数据"


def _drinking(d: _Drinking, w: _Window, c: Comparator | None) -> tuple[Any, Status]:
    if not d.sources:
        return None, Status("not_assessable", d.error or "无饮用水水源地数据")
    ok = sum(1 for x in d.sources if x.complies)
    actual = {
        "value": _fmt(Fraction(ok * 100, len(d.sources))),
        "source": "computed",
        "standard": "GB 3838-2002 / GB/T 14848-2017",
        "sources": len(d.sources),
        "counted": ok,
        "start": w.first.isoformat(),
        "end": w.last.isoformat() if w.last else None,
        "data": [
            {
                "site_id": d.sites[x.code][0],
                "code": x.code,
                "name": d.sites[x.code][1],
                "counted": x.complies,
                "failing_items": list(x.failing_items),
            }
            for x in sorted(d.sources, key=lambda x: x.code)
        ],
    }
    return actual, source_share_projection(d.sources, c, final=w.remaining == 0)


def _water(kind: str, wat: _Water, w: _Window, c: Comparator | None) -> tuple[Any, Status]:
    if not wat.classes:
        return None, Status("not_assessable", wat.error or "无水质数据")
    good = kind == "water.share_i_iii"
    n = len(wat.classes)
    hit = sum(
        1 for v in wat.classes.values() if (v <= 3 if kind == "water.share_i_iii" else v == 6)
    )
    share = Fraction(hit * 100, n)
    actual = {
        "value": _fmt(share),
        "source": "computed",
        "standard": "GB 3838-2002",
        "sections": n,
        "counted": hit,
        "classes": {k: water_figures.ROMAN[v] for k, v in sorted(wat.classes.items())},
        # the data behind the share (drill-down): each section, its class and its items
        # over the Class Ⅲ limit (multiples, exact, shown to 2 decimals)
        "data": [
            {
                "site_id": wat.sites[x.code][0],
                "code": x.code,
                "name": wat.sites[x.code][1],
                "class": water_figures.ROMAN[x.water_class],
                "counted": (x.water_class <= 3) if good else (x.water_class == 6),
                "over_iii": {k: _fmt2(m) for k, m in sorted(x.over_iii.items())},
            }
            for x in sorted(wat.sections, key=lambda x: x.code)
        ],
        "start": w.first.isoformat(),
        "end": w.last.isoformat() if w.last else None,
    }
    return actual, section_share_projection(kind, wat.sections, c, final=w.remaining == 0)


def plan_status(
    s: Session,
    actor: Principal,
    ref: str | int,
    *,
    year: int | None = None,
    today: date | None = None,
) -> PlanStatus:
    """Every indicator of a plan in ``year`` (default: this year) — see the module docstring."""
    plan: Plan = find_plan(s, actor, ref)
    today = today or cst_today()
    year = year or today.year
    w = _window(year, today)
    inds: list[PlanIndicator] = indicators(s, actor, plan.id)
    tmap = targets_of(s, [i.id for i in inds])
    out = PlanStatus(
        plan.id,
        plan.template_id,
        plan.title,
        plan.region_code,
        year,
        w.last.isoformat() if w.last else None,
        json.loads(plan.notes),
    )
    air: _Air | None = None
    wat: _Water | None = None
    drink: _Drinking | None = None
    reported = reports.accepted_values(s, [i.id for i in inds], year)
    entered = assigned.latest(
        s, [t.id for ts in tmap.values() for t in ts if t.comparator == "assigned"]
    )
    for ind in inds:
        ts = tmap[ind.id]
        tg, carried = _applies(ts, year)
        c = comparator_of(tg) if tg else None
        target = None if tg is None else {**_target_dict(tg), "carried_over": carried}
        prefix = f"沿用{tg.year}年目标；" if carried and tg else ""
        if tg is not None and target is not None and tg.id in entered:
            applied, last = entered[tg.id]
            target["assigned"] = None
            if applied is not None:  # the value the higher level assigned, with evidence
                a = applied.to_dict()
                target["assigned"] = a
                c = Comparator(applied.comparator, applied.value, applied.base_year)
                who = f"{applied.entered_by}于{a['entered_at']}录入"
                prefix += f"上级下达目标{applied.text}（{who}）；"
            if applied is None or last.id != applied.id:  # the latest still lacks evidence
                target["assigned_pending"] = last.to_dict()
                prefix += f"下达目标{last.text}已录入（{last.entered_by}），尚缺佐证材料；"
        actual: Any = None
        computed = ind.binding is not None and not ind.dust_deduction
        if computed and ind.binding and ind.binding.startswith("air."):
            air = air or _Air(s, plan.region_code, w)
            actual, st = _air(ind.binding, air, w, c)
        elif computed and ind.binding == "water.drinking_compliance":
            drink = drink or _Drinking(s, plan.region_code, w)
            actual, st = _drinking(drink, w, c)
        elif computed and ind.binding and ind.binding.startswith("water."):
            wat = wat or _Water(s, plan.region_code, w)
            actual, st = _water(ind.binding, wat, w, c)
        elif ind.id in reported:  # a unit's value, accepted by the bureau
            r = reported[ind.id]
            actual = {
                "value": r.value,
                "source": "reported",
                "unit_code": r.unit_code,
                "report_id": r.id,
            }
            st = value_status(c, Fraction(Decimal(r.value)), final=w.remaining == 0)
        elif ind.dust_deduction:
            st = Status(
                "not_assessable",
                "该指标扣除沙尘影响，平台尚未记录沙尘天气，不以未扣除的数值代替；可由责任单位填报",
            )
        else:
            st = value_status(c, None, final=w.remaining == 0)
        out.indicators.append(
            IndicatorStatus(
                no=ind.no,
                category=ind.category,
                name=ind.name,
                published=ind.published,
                unit=ind.unit,
                attribute=ind.attribute,
                direction=ind.direction,
                baseline=None
                if ind.baseline_text is None
                else {"year": ind.baseline_year, "text": ind.baseline_text},
                targets=[_target_dict(t) for t in ts],
                target=target,
                actual=actual,
                status=st.status,
                status_label=STATUS_LABELS[st.status],
                reason=prefix + st.reason,
                projection=st.projection,
                binding=ind.binding,
            )
        )
    return out


@dataclass(frozen=True, slots=True)
class AirTarget:
    """This year's target of a computed air indicator: the value as the plan writes it."""

    binding: str  # air.good_day_ratio | air.pm2_5
    value: str  # exact decimal text
    unit: str
    comparison: str  # at_least | at_most
    source: str

    @property
    def comparator(self) -> Comparator:
        return Comparator(self.comparison, self.value)


# The deployment's own recorded targets (qingshan.services.deployment) by binding.
_DEPLOYMENT_INDICATOR = {"air.good_day_ratio": "good_day_ratio", "air.pm2_5": "pm2_5"}
_PLAN_KIND = {"air.good_day_ratio": "at_least", "air.pm2_5": "at_most"}


def _plan_air_target(
    s: Session, region: str, year: int, binding: str
) -> tuple[Plan, PlanIndicator, PlanTarget] | None:
    """The latest-loaded plan of ``region`` with an indicator bound to ``binding`` (not stated
    扣除沙尘) whose target in ``year`` (its milestone, or the last one carried over) is a
    number of the binding's kind (a floor for the ratio, a ceiling for PM2.5)."""
    q = (
        select(Plan, PlanIndicator)
        .join(PlanIndicator, PlanIndicator.plan_id == Plan.id)
        .where(
            Plan.region_code == region,
            PlanIndicator.binding == binding,
            PlanIndicator.dust_deduction.is_(False),
        )
        .order_by(Plan.id.desc())
    )
    for plan, ind in s.execute(q):
        tg, _carried = _applies(targets_of(s, [ind.id])[ind.id], year)
        if tg is None or tg.comparator != _PLAN_KIND[binding] or tg.value is None:
            continue
        return plan, ind, tg
    return None


def _source(plan: Plan, ind: PlanIndicator, tg: PlanTarget) -> str:
    return f"{plan.title} 主要指标：{ind.name} {tg.text}{ind.unit}（{tg.year}年目标）"


def air_target(s: Session, region: str, year: int, binding: str) -> AirTarget | None:
    """The target of ``binding`` (``air.good_day_ratio`` or ``air.pm2_5``) for ``region`` in
    ``year``: the loaded plan's (:func:`_plan_air_target`), else the deployment's own recorded
    target (``good_day_ratio`` / ``pm2_5``), else none."""
    found = _plan_air_target(s, region, year, binding)
    if found is not None:
        plan, ind, tg = found
        unit = ind.unit or ("%" if binding == "air.good_day_ratio" else "μg/m³")
        return AirTarget(binding, str(tg.value), unit, tg.comparator, _source(plan, ind, tg))
    t = deployment.targets(s, region, year).get(_DEPLOYMENT_INDICATOR[binding])
    if t is None:
        return None
    return AirTarget(binding, str(t.value), t.unit, t.comparison, t.source)


def good_day_target(s: Session, region: str, year: int) -> deployment.Target | None:
    """The 优良天数比率 target the cockpit shows for ``region`` in ``year``: the loaded plan's
    indicator bound to the good-day ratio (:func:`_plan_air_target`), else the deployment's
    own recorded target (``indicator_target``), else none."""
    found = _plan_air_target(s, region, year, "air.good_day_ratio")
    if found is None:
        return deployment.targets(s, region, year).get("good_day_ratio")
    plan, ind, tg = found
    return deployment.Target(
        region_code=region,
        indicator="good_day_ratio",
        value=Decimal(tg.value or "0"),
        unit=ind.unit or "%",
        comparison="at_least",
        year_from=plan.period_start,
        year_to=None,
        source=_source(plan, ind, tg),
    )
