"""Reading water figures of a region for one month: surface-water sections, drinking-water
sources, groundwater points (and the month's noise figures, which the same monthly page shows).

Stored month figures are read as they are; a site whose month is not stored yet is computed on
request by :mod:`qingshan.services.figures.water` (unless ``stored_only``). Everything returned
is a typed dataclass; ``to_dict()`` gives the plainly named JSON of the CLI and the web API
(``class`` for the water class).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields, is_dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from qingshan.clock import utcnow
from qingshan.services.figures import water as _water
from qingshan.services.figures._common import (
    WATER_KINDS,
    check_region,
    loads,
    month_bounds,
    parse_month,
    percent,
    regions,
    sites,
)
from qingshan.services.figures.noise import NoiseMonth, noise_month
from qingshan.standards import water as water_std
from qingshan.standards.drinking_water import SourceCompliance, SourceType, compliance_rate
from qingshan.standards.versions import AUTO, resolve
from qingshan.storage.models import SiteKind
from qingshan.storage.models_figures import WaterMonthFigure, WaterSampleFigure

__all__ = [
    "GroundwaterFigures",
    "LatestWaterFigure",
    "MainPollutantFigure",
    "SectionFigures",
    "SourceFigures",
    "WaterQuality",
    "latest_month_figures",
    "water_quality",
]

Number = float | int
# Python names of fields whose JSON key is a keyword.
_KEYS = {"water_class": "class"}


def _plain(obj: Any) -> Any:
    """Dataclasses → dicts (``water_class`` → ``class``), recursively."""
    if is_dataclass(obj) and not isinstance(obj, type):
        return {_KEYS.get(f.name, f.name): _plain(getattr(obj, f.name)) for f in fields(obj)}
    if isinstance(obj, list):
        return [_plain(x) for x in obj]
    if isinstance(obj, dict):
        return {k: _plain(v) for k, v in obj.items()}
    return obj


@dataclass(frozen=True, slots=True)
class MainPollutantFigure:
    """主要污染指标 of a section's month (2011 method)."""

    code: str
    name: str
    water_class: str  # Ⅳ, Ⅴ, 劣Ⅴ
    multiple: float | None  # over Class Ⅲ, 2 decimals; None for DO / pH


@dataclass(frozen=True, slots=True)
class SectionFigures:
    """A surface-water section's month (GB 3838-2002, 2011 method)."""

    code: str
    name: str
    township: str | None
    samples: int
    provenance: dict[str, Any]  # sample and item counts, rule ids (free-form record)
    sample_classes: dict[str, int]  # class (Ⅰ … 劣Ⅴ, — for none) → samples of the month
    water_class: str | None  # class of the monthly means
    class_number: int | None  # 1 … 6
    target_class: str | None
    meets_target: bool | None
    status: str | None  # 优 良好 轻度污染 中度污染 重度污染
    main_pollutants: list[MainPollutantFigure]
    exceedance: dict[str, Number]  # item → multiple over the target class
    exceed_iii: dict[str, Number]  # item → multiple over Class Ⅲ
    means: dict[str, Number]  # item → monthly mean (mg/L, 4 decimals)


@dataclass(frozen=True, slots=True)
class SourceFigures:
    """A drinking-water source's month: compliance with Class Ⅲ (+ GB 3838 Table 2)."""

    code: str
    name: str
    township: str | None
    samples: int
    provenance: dict[str, Any]
    sample_classes: dict[str, int]
    source_type: str | None  # surface | groundwater
    water_class: str | None
    complies: bool | None  # None: no evaluated item had a value
    failing_items: list[str]
    means: dict[str, Number]


@dataclass(frozen=True, slots=True)
class GroundwaterFigures:
    """A groundwater point's month: GB/T 14848-2017 class of the monthly means."""

    code: str
    name: str
    township: str | None
    samples: int
    provenance: dict[str, Any]
    sample_classes: dict[str, int]
    water_class: str | None
    exceeding_iii: list[str]
    means: dict[str, Number]


@dataclass(slots=True)
class WaterQuality:
    """Water (and noise) figures of a region for one month."""

    region_code: str
    region_name: str
    month: str
    sections: list[SectionFigures]
    share_i_iii: float | None  # % of classed sections in Ⅰ–Ⅲ
    share_worse_than_v: float | None  # % in 劣Ⅴ
    sections_meeting_target: int
    sections_with_target: int
    drinking_sources: list[SourceFigures]
    drinking_compliance_rate: float | None  # % of judged sources
    groundwater: list[GroundwaterFigures]
    noise: NoiseMonth
    provenance: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = _plain(self)
        d["region"] = {"code": self.region_code, "name": self.region_name}
        return d


def _roman(cls: int | None) -> str | None:
    return None if cls is None else _water.ROMAN.get(cls)


def _roman_text(stored: str | None) -> str | None:
    """A stored class text (``III`` from the registry, ``Ⅲ`` from the demo) as GB 3838
    writes it (``Ⅲ``); an unreadable one as stored."""
    if not stored:
        return None
    try:
        return water_std.WaterClass.parse(stored).roman
    except ValueError:
        return stored


def _main(raw: list[Mapping[str, Any]]) -> list[MainPollutantFigure]:
    return [
        MainPollutantFigure(
            code=m["code"], name=m["name"], water_class=m["class"], multiple=m["multiple"]
        )
        for m in raw
    ]


def water_quality(
    session: Session, *, region_code: str, month: str, stored_only: bool = False
) -> WaterQuality:
    """Water and noise figures of a region for one month (stored figures; computed on the fly
    for sites whose month has not been stored yet, unless ``stored_only``)."""
    y, m = parse_month(month)
    month = f"{y:04d}-{m:02d}"
    reg = regions(session)
    check_region(reg, region_code)
    infos = [
        x
        for x in sites(session, [*WATER_KINDS, SiteKind.NOISE])
        if reg.contains(region_code, x.region_code)
    ]
    wm = WaterMonthFigure.__table__.c
    stored = {
        r.site_id: r
        for r in session.scalars(
            select(WaterMonthFigure).where(wm.month == month, wm.site_id.in_([x.id for x in infos]))
        )
    }
    computed = 0
    rows: dict[int, dict[str, Any]] = {}
    first, last = month_bounds(y, m)
    for x in infos:
        if x.kind not in WATER_KINDS:
            continue
        got = stored.get(x.id)
        if got is not None:
            rows[x.id] = {c.name: getattr(got, c.name) for c in WaterMonthFigure.__table__.columns}
            continue
        if stored_only:
            continue
        samples = _water.load_samples(session.connection(), x, first, last)
        if samples:
            rows[x.id] = _water.month_row(x, month, samples, now=utcnow())
            computed += 1
    ws = WaterSampleFigure.__table__.c
    lo = datetime.combine(first, datetime.min.time())
    hi = datetime.combine(last + timedelta(days=1), datetime.min.time())
    per_sample: dict[int, dict[str, int]] = {}
    for sid, cls_n, n_s in session.execute(
        select(ws.site_id, ws.water_class, func.count())
        .where(ws.site_id.in_([x.id for x in infos]), ws.data_time >= lo, ws.data_time < hi)
        .group_by(ws.site_id, ws.water_class)
    ):
        key = _water.ROMAN.get(cls_n, "—") if cls_n else "—"
        per_sample.setdefault(sid, {})[key] = int(n_s)
    sections: list[SectionFigures] = []
    sources: list[SourceFigures] = []
    ground: list[GroundwaterFigures] = []
    for x in infos:
        if x.kind not in WATER_KINDS:
            continue
        r = rows.get(x.id)
        res = loads(r["result"]) if r else {}
        prov = loads(r["provenance"]) if r else {"samples": 0}
        cls = r["water_class"] if r else None
        base: dict[str, Any] = {
            "code": x.code,
            "name": x.name,
            "township": reg.township_of(x.region_code),
            "samples": prov.get("samples", 0),
            "provenance": prov,
            "sample_classes": per_sample.get(x.id, {}),
        }
        if x.kind == SiteKind.SURFACE_WATER:
            sections.append(
                SectionFigures(
                    **base,
                    water_class=_roman(cls),
                    class_number=cls,
                    target_class=_roman_text(x.target_class),
                    meets_target=r["meets_target"] if r else None,
                    status=res.get("status"),
                    main_pollutants=_main(res.get("main_pollutants", [])),
                    exceedance=res.get("exceed_target", {}),
                    exceed_iii=res.get("exceed_iii", {}),
                    means=res.get("means", {}),
                )
            )
        elif x.kind == SiteKind.DRINKING_WATER:
            sources.append(
                SourceFigures(
                    **base,
                    source_type=x.source_type,
                    water_class=_roman(cls),
                    complies=res.get("complies"),
                    failing_items=res.get("failing_items", []),
                    means=res.get("means", {}),
                )
            )
        else:
            ground.append(
                GroundwaterFigures(
                    **base,
                    water_class=_roman(cls),
                    exceeding_iii=res.get("exceeding_iii", []),
                    means=res.get("means", {}),
                )
            )
    shares = water_std.class_shares(
        water_std.WaterClass(s.class_number) if s.class_number else None for s in sections
    )
    with_target = [s for s in sections if s.meets_target is not None]
    rate = compliance_rate(
        SourceCompliance(
            SourceType.GROUNDWATER
            if (s.source_type or "") in ("groundwater", "地下水")
            else SourceType.SURFACE,
            s.complies,
            tuple(s.failing_items),
            s.samples,
        )
        for s in sources
    )
    return WaterQuality(
        region_code=region_code,
        region_name=reg.name[region_code],
        month=month,
        sections=sections,
        share_i_iii=percent(shares.share_good),
        share_worse_than_v=percent(shares.share_worse_than_v),
        sections_meeting_target=sum(1 for s in with_target if s.meets_target),
        sections_with_target=len(with_target),
        drinking_sources=sources,
        drinking_compliance_rate=percent(rate.rate),
        groundwater=ground,
        noise=noise_month(session, infos, first, last),
        provenance={
            "stored_sites": len(stored),
            "computed_sites": computed,
            "rules": {
                "GB3838": resolve("GB3838", AUTO, first).id,
                "GBT14848": resolve("GBT14848", AUTO, first).id,
                "GB3096": resolve("GB3096", AUTO, first).id,
            },
            "method": "地表水环境质量评价办法（试行）环办〔2011〕22号",
        },
    )


@dataclass(frozen=True, slots=True)
class LatestWaterFigure:
    """The latest stored month of a water site (what the map colours it by)."""

    site_id: int
    kind: str
    month: str  # YYYY-MM
    water_class: str | None  # Ⅰ … 劣Ⅴ (GB 3838) or Ⅰ … Ⅴ (GB/T 14848 for groundwater)
    class_number: int | None
    complies: bool | None  # sections: meets target; drinking-water sources: 达标


def latest_month_figures(
    session: Session, kinds: tuple[str, ...] | list[str]
) -> dict[int, LatestWaterFigure]:
    """Each water site's latest stored month figure (by the figures jobs), by site id, for
    sites of ``kinds``; a site with no stored month is absent (one query)."""
    wm = WaterMonthFigure
    last = (
        select(wm.site_id, func.max(wm.month).label("m"))
        .where(wm.kind.in_(list(kinds)))
        .group_by(wm.site_id)
        .subquery()
    )
    rows = session.scalars(
        select(wm).join(last, (wm.site_id == last.c.site_id) & (wm.month == last.c.m))
    )
    return {
        r.site_id: LatestWaterFigure(
            site_id=r.site_id,
            kind=r.kind,
            month=r.month,
            water_class=_roman(r.water_class),
            class_number=r.water_class,
            complies=r.meets_target,
        )
        for r in rows
    }
