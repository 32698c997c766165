"""A surface-water section's class for its section page: the latest day with samples and the
month to that day, each with the class of every factor.

The rule is the monthly figures' (:func:`qingshan.services.figures.water.month_row`): the
exact arithmetic mean of each item over the period's valid samples, then GB 3838-2002's
single-factor class of the means (:func:`qingshan.standards.water.section_assessment`, the
2011 evaluation method), against the section's target class (达标 when the class is no worse).
Each factor's class is the class of its exact mean (the class of a counted item, or of a
reference item such as TN at a river, which is shown but never counted). The mean is shown
rounded once, half-even (GB/T 8170), to the largest number of decimals among its samples — as
the daily roll-up prints the day's value — while the class is of the exact mean.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from qingshan.services.figures import water as wf
from qingshan.services.figures._common import SiteInfo
from qingshan.standards import water
from qingshan.standards.rounding import round_half_even
from qingshan.standards.versions import resolve
from qingshan.storage.models import Device, Observation, Resolution, Site, SiteKind

__all__ = ["FactorClass", "PeriodClass", "SectionStatus", "section_status"]


@dataclass(frozen=True, slots=True)
class FactorClass:
    item: str  # GB 3838 item code (nh3n, tp …)
    code: str  # HJ 212 code (w21003 …)
    name: str
    unit: str
    mean: str  # exact mean rounded once to the samples' decimals
    samples: int
    water_class: str | None  # Ⅰ … 劣Ⅴ
    counted: bool  # counted in the section's class (False: a reference item)


@dataclass(frozen=True, slots=True)
class PeriodClass:
    period: str  # "day" | "month"
    label: str  # 2026-03-05 · 2026-03
    first: date
    last: date
    samples: int
    water_class: str | None  # 水质类别 Ⅰ … 劣Ⅴ, None without an evaluated item
    status: str | None  # 优 · 良好 · 轻度污染 …
    target_class: str | None
    meets_target: bool | None  # 达标; None without a target or a class
    main_pollutants: list[str]
    factors: list[FactorClass]


@dataclass(frozen=True, slots=True)
class SectionStatus:
    site_id: int
    latest_sample: datetime | None  # naive Beijing time
    day: PeriodClass | None
    month: PeriodClass | None


def _site_info(s: Session, site: Site) -> SiteInfo:
    devices = tuple(
        s.scalars(select(Device.id).where(Device.site_id == site.id).order_by(Device.id))
    )
    return SiteInfo(
        site.id,
        site.code,
        site.name,
        site.kind,
        site.region_code,
        site.control_level,
        site.target_class,
        site.source_type,
        site.noise_zone,
        site.water_body,
        devices,
    )


def _places(values: Sequence[Decimal]) -> int:
    return max(max(0, -int(e)) for v in values if isinstance(e := v.as_tuple().exponent, int))


def _period(
    info: SiteInfo, period: str, label: str, first: date, last: date, samples: list[wf.Sample]
) -> PeriodClass:
    target = wf.FROM_ROMAN.get(info.target_class or "")
    body = wf._body(info)  # the monthly figures' river / lake rule
    a = water.section_assessment(
        [v for _t, v in samples],
        body,
        target_class=None if target is None else water.WaterClass(target),
        when=first,
    )
    limits = water.item_limits(resolve("GB3838", "auto", first).id)
    hj = {item: code for code, item in wf.code_map(info).items()}
    per_item: dict[str, list[Decimal]] = {}
    for _t, vals in samples:
        for k, v in vals.items():
            per_item.setdefault(k, []).append(v)
    factors: list[FactorClass] = []
    for item, mean in a.means.items():
        counted = item in a.assessment.item_classes
        cls = a.assessment.item_classes.get(item) or a.assessment.reference_classes.get(item)
        lim = limits.get(item)
        factors.append(
            FactorClass(
                item=item,
                code=hj.get(item, item),
                name=lim.name if lim else item,
                unit=lim.unit if lim else "",
                mean=str(round_half_even(mean, _places(per_item[item]))),
                samples=a.sample_counts.get(item, 0),
                water_class=None if cls is None else cls.roman,
                counted=counted,
            )
        )
    return PeriodClass(
        period=period,
        label=label,
        first=first,
        last=last,
        samples=len(samples),
        water_class=None if a.water_class is None else a.water_class.roman,
        status=a.status,
        target_class=None if target is None else wf.ROMAN[target],
        meets_target=a.meets_target,
        main_pollutants=[m.name for m in a.main_pollutants],
        factors=factors,
    )


def section_status(s: Session, site_id: int, today: date) -> SectionStatus | None:
    """The class of a surface-water section on the latest day with a valid sample up to
    ``today`` (Beijing time) and over that day's month up to it; None for a site that is not
    a surface-water section. Without samples: both periods None."""
    site = s.get(Site, site_id)
    if site is None or site.kind != SiteKind.SURFACE_WATER:
        return None
    info = _site_info(s, site)
    end = datetime.combine(today + timedelta(days=1), datetime.min.time())
    latest = (
        s.scalar(
            select(func.max(Observation.data_time)).where(
                Observation.device_id.in_(info.devices),
                Observation.resolution == int(Resolution.HOUR),
                Observation.data_time < end,
                Observation.code.in_(list(wf.code_map(info))),
            )
        )
        if info.devices
        else None
    )
    if latest is None:
        return SectionStatus(site_id, None, None, None)
    conn = s.connection()
    day = latest.date()
    month_first = day.replace(day=1)
    month_samples = wf.load_samples(conn, info, month_first, day)
    day_samples = [x for x in month_samples if x[0].date() == day]
    # the latest record may be flagged (C, M …): the day is the latest with a valid sample
    if not day_samples and month_samples:
        day = month_samples[-1][0].date()
        day_samples = [x for x in month_samples if x[0].date() == day]
    return SectionStatus(
        site_id=site_id,
        latest_sample=month_samples[-1][0] if month_samples else None,
        day=_period(info, "day", day.isoformat(), day, day, day_samples) if day_samples else None,
        month=(
            _period(info, "month", month_first.strftime("%Y-%m"), month_first, day, month_samples)
            if month_samples
            else None
        ),
    )
