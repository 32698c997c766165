"""This deployment's own county: which region it is, its outlines, its plan targets.

The one answer to "which district is this deployment?", used by the cockpit, the map, the
public pages and the reports. The answer is recorded in the database (the ``deployment``
row, written by the demo loader now and by the registry import later); a database that
records none is answered by inference, as before the row existed: its only county-level
region, or the only county-level region that holds monitoring sites. Otherwise there is no
answer (``None``): the cockpit then summarises nothing region-wide and reports ask for
``--region``.

Boundaries are GeoJSON (Multi)Polygon geometries in WGS-84 (EPSG:4326), checked on write.
Targets are exact decimal text with the plan they come from; a deployment without
boundaries or targets simply has none to show.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from qingshan.clock import utcnow
from qingshan.storage.models import Region, RegionLevel, Site
from qingshan.storage.models_registry import (
    COMPARISONS,
    Deployment,
    IndicatorTarget,
    RegionBoundary,
)

DEPLOYMENT_ID = 1
INDICATOR_RE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


class DeploymentError(ValueError):
    """Deployment data that cannot be recorded as given."""


# --------------------------------------------------------------------------- own region


@dataclass(frozen=True, slots=True)
class OwnRegion:
    code: str
    name: str
    level: str
    recorded: bool  # from the deployment row (False: inferred from the regions and sites)


def _region(s: Session, code: str) -> Region:
    r = s.get(Region, code)
    if r is None:
        raise DeploymentError(f"unknown region {code!r}: add it to the region table first")
    return r


def _inferred(s: Session) -> str | None:
    rows = s.execute(select(Region.code, Region.parent_code, Region.level)).all()
    counties = {code for code, _parent, level in rows if level == RegionLevel.COUNTY.value}
    if len(counties) <= 1:
        return next(iter(counties), None)
    parent = {code: p for code, p, _level in rows}
    holding: set[str] = set()
    for code in s.scalars(select(Site.region_code).distinct()):
        seen: set[str] = set()
        while code is not None and code not in seen:  # walk up to the county
            if code in counties:
                holding.add(code)
                break
            seen.add(code)
            code = parent.get(code)
    return next(iter(holding)) if len(holding) == 1 else None


def own_region(s: Session) -> OwnRegion | None:
    """The deployment's own region (see the module docstring), None when there is no answer."""
    row = s.get(Deployment, DEPLOYMENT_ID)
    code = row.region_code if row is not None else _inferred(s)
    if code is None:
        return None
    r = s.get(Region, code)
    if r is None:  # an inferred code always exists; a recorded one is a foreign key
        return None
    return OwnRegion(r.code, r.name, r.level, recorded=row is not None)


def region_code(s: Session) -> str | None:
    """The code of :func:`own_region`."""
    r = own_region(s)
    return r.code if r is not None else None


def data_notice(s: Session) -> str | None:
    """The notice the deployment prints on its reports (e.g. the demo's 模拟数据 notice)."""
    row = s.get(Deployment, DEPLOYMENT_ID)
    return row.data_notice if row is not None else None


def set_own_region(s: Session, code: str, *, data_notice: str | None = None) -> None:
    """Record ``code`` (a region already in the region table) as the deployment's own."""
    _region(s, code)
    row = s.get(Deployment, DEPLOYMENT_ID)
    if row is None:
        row = Deployment(id=DEPLOYMENT_ID)
        s.add(row)
    row.region_code, row.data_notice, row.updated_at = code, data_notice, utcnow()
    s.flush()


# --------------------------------------------------------------------------- boundaries


def _position(p: Any, where: str) -> None:
    if not (isinstance(p, list) and len(p) in (2, 3)):
        raise DeploymentError(f"{where}: a position is [longitude, latitude], got {p!r}")
    for v in p:
        if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
            raise DeploymentError(f"{where}: coordinate {v!r} is not a finite number")
    if not (-180 <= p[0] <= 180 and -90 <= p[1] <= 90):
        raise DeploymentError(f"{where}: ({p[0]}, {p[1]}) is not a WGS-84 longitude, latitude")


def _polygon(rings: Any, where: str) -> None:
    if not isinstance(rings, list) or not rings:
        raise DeploymentError(f"{where}: a polygon is a non-empty list of rings")
    for i, ring in enumerate(rings):
        w = f"{where} ring {i + 1}"
        if not isinstance(ring, list) or len(ring) < 4:
            raise DeploymentError(f"{w}: a ring has at least 4 positions")
        for p in ring:
            _position(p, w)
        if ring[0][:2] != ring[-1][:2]:
            raise DeploymentError(f"{w}: a ring must end where it starts (closed)")


def check_geometry(geometry: Mapping[str, Any], where: str = "boundary") -> dict[str, Any]:
    """A GeoJSON Polygon or MultiPolygon in WGS-84 (RFC 7946), checked; returns its
    ``type`` and ``coordinates`` only."""
    kind = geometry.get("type")
    coords = geometry.get("coordinates")
    if kind == "Polygon":
        _polygon(coords, where)
    elif kind == "MultiPolygon":
        if not isinstance(coords, list) or not coords:
            raise DeploymentError(f"{where}: a MultiPolygon is a non-empty list of polygons")
        for i, poly in enumerate(coords):
            _polygon(poly, f"{where} polygon {i + 1}")
    else:
        raise DeploymentError(f"{where}: geometry type {kind!r} is not Polygon or MultiPolygon")
    return {"type": kind, "coordinates": coords}


def set_boundary(
    s: Session, code: str, geometry: Mapping[str, Any], *, source: str | None = None
) -> None:
    """Record the outline (GeoJSON geometry, WGS-84) of region ``code``."""
    _region(s, code)
    geom = check_geometry(geometry, f"boundary of {code}")
    text = json.dumps(geom, ensure_ascii=False, separators=(",", ":"))
    row = s.get(RegionBoundary, code)
    if row is None:
        row = RegionBoundary(region_code=code)
        s.add(row)
    row.geometry, row.source, row.updated_at = text, source, utcnow()
    s.flush()


def boundaries(s: Session) -> dict[str, Any]:
    """Every recorded outline as a GeoJSON FeatureCollection (WGS-84): the deployment's own
    region first (``properties.own`` true), then the others by code (e.g. neighbours drawn
    for orientation). Empty when none is recorded."""
    own = region_code(s)
    rows = sorted(
        s.execute(
            select(RegionBoundary.region_code, RegionBoundary.geometry, Region.name, Region.level)
            .join(Region, Region.code == RegionBoundary.region_code)
            .order_by(RegionBoundary.region_code)
        ),
        key=lambda r: r.region_code != own,  # stable: own first, then by code
    )
    features = [
        {
            "type": "Feature",
            "id": r.region_code,
            "geometry": json.loads(r.geometry),
            "properties": {
                "code": r.region_code,
                "name": r.name,
                "level": r.level,
                "own": r.region_code == own,
            },
        }
        for r in rows
    ]
    return {"type": "FeatureCollection", "features": features}


# --------------------------------------------------------------------------- targets


@dataclass(frozen=True, slots=True)
class Target:
    region_code: str
    indicator: str
    value: Decimal
    unit: str
    comparison: str  # at_least / at_most
    year_from: int
    year_to: int | None
    source: str

    def met_by(self, measured: Decimal) -> bool:
        """Whether a measured figure (in the target's unit) meets the target, exactly."""
        return measured >= self.value if self.comparison == "at_least" else measured <= self.value


def set_target(
    s: Session,
    region: str,
    indicator: str,
    value: str,
    unit: str,
    *,
    year_from: int,
    source: str,
    year_to: int | None = None,
    comparison: str = "at_least",
) -> None:
    """Record a plan target of ``region`` (replacing the one with the same start year)."""
    _region(s, region)
    where = f"target {indicator} of {region}"
    if not INDICATOR_RE.match(indicator):
        raise DeploymentError(f"{where}: indicator codes are lower-case words (good_day_ratio)")
    try:  # text only: a float has already lost the plan's written digits
        exact = Decimal(value) if isinstance(value, str) else None
    except (InvalidOperation, ValueError):
        exact = None
    if exact is None or not exact.is_finite():
        raise DeploymentError(f"{where}: {value!r} is not decimal text")
    if comparison not in COMPARISONS:
        raise DeploymentError(f"{where}: comparison must be one of {', '.join(COMPARISONS)}")
    if not 1949 <= year_from <= 2200 or (year_to is not None and year_to < year_from):
        raise DeploymentError(f"{where}: years {year_from}–{year_to} are not a period")
    if not unit.strip():
        raise DeploymentError(f"{where}: give the unit of the value (e.g. %)")
    if not source.strip():
        raise DeploymentError(f"{where}: cite the plan the target comes from (source)")
    row = s.scalar(
        select(IndicatorTarget).where(
            IndicatorTarget.region_code == region,
            IndicatorTarget.indicator == indicator,
            IndicatorTarget.year_from == year_from,
        )
    )
    if row is None:
        row = IndicatorTarget(region_code=region, indicator=indicator, year_from=year_from)
        s.add(row)
    row.year_to, row.value, row.unit = year_to, value, unit
    row.comparison, row.source = comparison, source
    s.flush()


def targets(s: Session, region: str, year: int) -> dict[str, Target]:
    """Indicator → the target of ``region`` that applies in ``year`` (of several, the one
    that started last)."""
    rows = s.scalars(
        select(IndicatorTarget)
        .where(
            IndicatorTarget.region_code == region,
            IndicatorTarget.year_from <= year,
            (IndicatorTarget.year_to.is_(None)) | (IndicatorTarget.year_to >= year),
        )
        .order_by(IndicatorTarget.year_from)
    )
    return {
        r.indicator: Target(
            region_code=r.region_code,
            indicator=r.indicator,
            value=Decimal(r.value),
            unit=r.unit,
            comparison=r.comparison,
            year_from=r.year_from,
            year_to=r.year_to,
            source=r.source,
        )
        for r in rows  # later starts overwrite earlier ones
    }
