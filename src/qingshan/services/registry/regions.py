"""Regions (GB/T 2260 codes and townships), their boundaries, the deployment's own region and
its plan targets: validated create / update / list, every change recorded.

Boundaries and targets are stored by :mod:`qingshan.services.deployment`; this module adds the
registry's checks and the change record around it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from qingshan.roles import Principal
from qingshan.services import deployment
from qingshan.services.registry.common import (
    RegistryConflict,
    RegistryError,
    RegistryNotFound,
    problem,
    record_change,
    snapshot,
    text,
)
from qingshan.services.registry.rules import (
    FieldProblem,
    check_crs,
    check_outline,
    check_parent,
    check_region,
)
from qingshan.storage.models import Region
from qingshan.storage.models_registry import (
    COMPARISONS,
    Deployment,
    IndicatorTarget,
    RegionBoundary,
)

REGION_FIELDS = ("code", "name", "level", "parent_code")
TARGET_FIELDS = ("value", "unit", "comparison", "year_to", "source")


@dataclass(frozen=True, slots=True)
class RegionRecord:
    code: str
    name: str
    parent_code: str | None = None
    level: str | None = None  # None: from the code (6 digits XX0000 province …)


def _checked(s: Session, rec: RegionRecord) -> RegionRecord:
    try:
        code, level = check_region(rec.code or "", rec.level)
    except FieldProblem as exc:
        field = "level" if rec.level and "级别" in str(exc) else "code"
        raise problem(exc, field) from None
    name = text(rec.name, "name", "区划名称", max_len=100, required=True)
    assert name is not None
    parent_code = text(rec.parent_code, "parent_code", "上级区划代码", max_len=12)
    if parent_code is not None:
        parent = s.get(Region, parent_code)
        if parent is None:
            raise RegistryError(
                f"上级区划 {parent_code} 不存在：先登记上级区划（qingshan region add）",
                "parent_code",
            )
        try:
            check_parent(code, level, parent.code, parent.level)
        except FieldProblem as exc:
            raise problem(exc, "parent_code") from None
    return RegionRecord(code=code, name=name, parent_code=parent_code, level=level)


def save_region(
    s: Session, actor: Principal, rec: RegionRecord, *, client: str | None = None
) -> tuple[Region, str]:
    """Create or update (by code) a region; returns (region, outcome)."""
    rec = _checked(s, rec)
    row = s.get(Region, rec.code)
    before = None if row is None else snapshot(row, REGION_FIELDS)
    if row is None:
        row = Region(code=rec.code)
        s.add(row)
    row.name, row.level, row.parent_code = rec.name, rec.level or "", rec.parent_code
    s.flush()
    outcome = record_change(
        s,
        actor,
        entity="region",
        key=row.code,
        before=before,
        after=snapshot(row, REGION_FIELDS),
        client=client,
    )
    return row, outcome


def create_region(
    s: Session, actor: Principal, rec: RegionRecord, *, client: str | None = None
) -> Region:
    """A new region; :class:`RegistryConflict` when the code is taken."""
    if s.get(Region, rec.code.strip()) is not None:
        raise RegistryConflict(f"区划代码 {rec.code.strip()} 已存在", "code")
    return save_region(s, actor, rec, client=client)[0]


def update_region(
    s: Session, actor: Principal, rec: RegionRecord, *, client: str | None = None
) -> Region:
    """Replace the fields of an existing region; :class:`RegistryNotFound` otherwise."""
    if s.get(Region, rec.code.strip()) is None:
        raise RegistryNotFound(f"区划代码 {rec.code.strip()} 不存在", "code")
    return save_region(s, actor, rec, client=client)[0]


def list_regions(s: Session, *, under: str | None = None) -> list[Region]:
    """Regions by code, optionally only those whose code starts with ``under``."""
    q = select(Region).order_by(Region.code)
    if under:
        q = q.where(Region.code.startswith(under))
    return list(s.scalars(q))


# --------------------------------------------------------------------------- boundaries


def boundary_codes(s: Session) -> list[str]:
    """Codes of the regions that have a recorded outline."""
    return list(s.scalars(select(RegionBoundary.region_code).order_by(RegionBoundary.region_code)))


def set_boundary(
    s: Session,
    actor: Principal,
    code: str,
    geometry: dict[str, Any],
    *,
    source: str | None = None,
    client: str | None = None,
) -> str:
    """Record a region's outline (GeoJSON Polygon/MultiPolygon, WGS-84)."""
    if s.get(Region, code) is None:
        raise RegistryError(f"区划 {code} 不存在：先登记区划再导入边界", "region_code")
    try:
        check_outline(geometry)
    except FieldProblem as exc:
        raise RegistryError(f"区划 {code} 的边界无效：{exc}", "geometry") from None
    old = s.get(RegionBoundary, code)
    before = None if old is None else {"geometry": old.geometry, "source": old.source}
    try:
        deployment.set_boundary(s, code, geometry, source=source)
    except deployment.DeploymentError as exc:
        raise RegistryError(f"区划 {code} 的边界无效：{exc}", "geometry") from None
    row = s.get(RegionBoundary, code)
    assert row is not None
    after = {"geometry": row.geometry, "source": row.source}
    # the audit keeps a digest-sized record: outlines run to hundreds of kilobytes
    return record_change(
        s,
        actor,
        entity="region_boundary",
        key=code,
        before=None if before is None else _outline_summary(before),
        after=_outline_summary(after),
        client=client,
    )


def _outline_summary(b: dict[str, Any]) -> dict[str, Any]:
    import hashlib

    geometry = str(b["geometry"])
    return {
        "geometry_sha256": hashlib.sha256(geometry.encode()).hexdigest(),
        "geometry_chars": len(geometry),
        "source": b["source"],
    }


def geometry_from_geojson(raw: str, where: str) -> dict[str, Any]:
    """The geometry in GeoJSON text: a geometry, a Feature, or a FeatureCollection holding
    exactly one feature."""
    try:
        doc = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise RegistryError(
            f"{where} 不是有效的 GeoJSON：{exc.msg}（第 {exc.lineno} 行）", "geometry"
        ) from None
    try:
        check_crs(doc)
    except FieldProblem as exc:
        raise RegistryError(f"{where}：{exc}", "geometry") from None
    if isinstance(doc, dict) and doc.get("type") == "FeatureCollection":
        feats = doc.get("features") or []
        if len(feats) != 1:
            raise RegistryError(f"{where} 含 {len(feats)} 个要素，应只含该区划的 1 个", "geometry")
        doc = feats[0]
    if isinstance(doc, dict) and doc.get("type") == "Feature":
        doc = doc.get("geometry")
    if not isinstance(doc, dict):
        raise RegistryError(f"{where} 不含几何对象（Polygon 或 MultiPolygon）", "geometry")
    return doc


# --------------------------------------------------------------------------- own region


def set_own_region(
    s: Session,
    actor: Principal,
    code: str,
    *,
    data_notice: str | None = None,
    client: str | None = None,
) -> str:
    """Make ``code`` the deployment's own region (what the cockpit, map and reports show)."""
    if s.get(Region, code) is None:
        raise RegistryError(f"区划 {code} 不存在：先用 qingshan region add 登记", "region_code")
    old = s.get(Deployment, deployment.DEPLOYMENT_ID)
    before = None if old is None else snapshot(old, ("region_code", "data_notice"))
    deployment.set_own_region(s, code, data_notice=data_notice)
    row = s.get(Deployment, deployment.DEPLOYMENT_ID)
    assert row is not None
    return record_change(
        s,
        actor,
        entity="deployment",
        key="1",
        before=before,
        after=snapshot(row, ("region_code", "data_notice")),
        client=client,
    )


# --------------------------------------------------------------------------- targets


@dataclass(frozen=True, slots=True)
class TargetRecord:
    region_code: str
    indicator: str
    year_from: int
    value: str
    unit: str
    source: str
    comparison: str = "at_least"
    year_to: int | None = None


def save_target(
    s: Session, actor: Principal, rec: TargetRecord, *, client: str | None = None
) -> str:
    """Create or update (by region, indicator, first year) a plan target (考核目标)."""
    if s.get(Region, rec.region_code) is None:
        raise RegistryError(f"区划 {rec.region_code} 不存在", "region_code")
    _check_target(rec)
    key = (rec.region_code, rec.indicator, rec.year_from)
    old = _target(s, *key)
    before = None if old is None else snapshot(old, TARGET_FIELDS)
    try:
        deployment.set_target(
            s,
            rec.region_code,
            rec.indicator,
            rec.value,
            rec.unit,
            year_from=rec.year_from,
            year_to=rec.year_to,
            comparison=rec.comparison,
            source=rec.source,
        )
    except deployment.DeploymentError as exc:
        raise RegistryError(f"考核目标无效：{exc}") from None
    row = _target(s, *key)
    assert row is not None
    return record_change(
        s,
        actor,
        entity="indicator_target",
        key=f"{rec.region_code}/{rec.indicator}/{rec.year_from}",
        before=before,
        after=snapshot(row, TARGET_FIELDS),
        client=client,
    )


def _check_target(rec: TargetRecord) -> None:
    """The target's fields with Chinese messages naming the field (the deployment service
    checks them again, for its other callers)."""
    if not deployment.INDICATOR_RE.match(rec.indicator or ""):
        raise RegistryError(
            f"指标代码 {rec.indicator!r} 应为小写英文单词和下划线（如 good_day_ratio）", "indicator"
        )
    try:
        exact = Decimal((rec.value or "").strip())
    except (InvalidOperation, ValueError):
        exact = None
    if exact is None or not exact.is_finite():
        raise RegistryError(f"目标值 {rec.value!r} 不是数字", "value")
    if not 1949 <= rec.year_from <= 2200:
        raise RegistryError(f"起始年度 {rec.year_from} 不是有效年份", "year_from")
    if rec.year_to is not None and rec.year_to < rec.year_from:
        raise RegistryError(f"截止年度 {rec.year_to} 早于起始年度 {rec.year_from}", "year_to")
    if not (rec.unit or "").strip():
        raise RegistryError("考核目标须填写单位（如 %、μg/m³）", "unit")
    if rec.comparison not in COMPARISONS:
        raise RegistryError("比较方式应为 不低于（at_least）或 不高于（at_most）", "comparison")
    if not (rec.source or "").strip():
        raise RegistryError("考核目标须注明依据（规划、考核文件）", "source")


def _target(s: Session, region: str, indicator: str, year_from: int) -> IndicatorTarget | None:
    return s.scalar(
        select(IndicatorTarget).where(
            IndicatorTarget.region_code == region,
            IndicatorTarget.indicator == indicator,
            IndicatorTarget.year_from == year_from,
        )
    )
