"""Sites of every kind (air stations and micro-stations, surface-water sections, drinking-water
sources, groundwater points, noise stations, enterprise outlets) with their kind-specific
attributes: validated create / update / list by site code.

A kind-specific attribute given for another kind is refused (a noise zone on a water section
is a mistake in the ledger, not something to store); an outlet needs its enterprise (by 统一
社会信用代码) and medium (废气 gas / 废水 water).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from qingshan.roles import Principal
from qingshan.services.registry.common import (
    RegistryConflict,
    RegistryError,
    RegistryNotFound,
    record_change,
    snapshot,
    text,
)
from qingshan.services.registry.enterprises import by_credit_code, location
from qingshan.storage.models import Enterprise, Region, Site, SiteKind

KIND_LABELS = {
    SiteKind.AIR_STATION.value: "环境空气质量监测站",
    SiteKind.SURFACE_WATER.value: "地表水监测断面",
    SiteKind.DRINKING_WATER.value: "集中式饮用水水源地",
    SiteKind.GROUNDWATER.value: "地下水监测点",
    SiteKind.NOISE.value: "声环境质量监测点",
    SiteKind.OUTLET.value: "排放口",
}
WATER_BODIES = {"river": "河流", "lake_reservoir": "湖库"}
SOURCE_TYPES = {"surface": "地表水", "groundwater": "地下水"}
MEDIA = {"gas": "废气", "water": "废水"}
NOISE_ZONES = ("0", "1", "2", "3", "4a", "4b")  # GB 3096-2008 声环境功能区
WATER_CLASSES = ("I", "II", "III", "IV", "V")  # GB 3838 / GB/T 14848 类别
_ROMAN = {"Ⅰ": "I", "Ⅱ": "II", "Ⅲ": "III", "Ⅳ": "IV", "Ⅴ": "V", "1": "I", "2": "II"}
_ROMAN |= {"3": "III", "4": "IV", "5": "V"}

_W = (SiteKind.SURFACE_WATER.value, SiteKind.DRINKING_WATER.value)
# attribute → the kinds it belongs to (control_level belongs to every kind)
KIND_SPECIFIC: dict[str, tuple[str, ...]] = {
    "water_body": _W,
    "water_body_name": _W,
    "target_class": (*_W, SiteKind.GROUNDWATER.value),
    "source_level": (SiteKind.DRINKING_WATER.value,),
    "source_type": (SiteKind.DRINKING_WATER.value,),
    "noise_zone": (SiteKind.NOISE.value,),
    "enterprise": (SiteKind.OUTLET.value,),
    "outlet_medium": (SiteKind.OUTLET.value,),
}
FIELD_LABELS = {
    "code": "点位编码",
    "name": "点位名称",
    "kind": "点位类型",
    "region_code": "所在区划代码",
    "longitude": "经度",
    "latitude": "纬度",
    "control_level": "控制级别",
    "water_body": "水体类型",
    "water_body_name": "所在水体",
    "target_class": "水质目标",
    "source_level": "水源地级别",
    "source_type": "水源类型",
    "noise_zone": "声环境功能区",
    "enterprise": "所属企业统一社会信用代码",
    "outlet_medium": "排放口类别",
}
SITE_FIELDS = (
    "code",
    "name",
    "kind",
    "region_code",
    "longitude",
    "latitude",
    "control_level",
    "water_body",
    "water_body_name",
    "target_class",
    "source_level",
    "source_type",
    "noise_zone",
    "enterprise_id",
    "outlet_medium",
)


@dataclass(frozen=True, slots=True)
class SiteRecord:
    code: str
    name: str
    kind: str  # a SiteKind value or its label
    region_code: str
    longitude: str | Decimal | None
    latitude: str | Decimal | None
    control_level: str | None = None
    water_body: str | None = None  # river / lake_reservoir (河流 / 湖库)
    water_body_name: str | None = None
    target_class: str | None = None  # I … V (Ⅲ, 3 accepted)
    source_level: str | None = None
    source_type: str | None = None  # surface / groundwater (地表水 / 地下水)
    noise_zone: str | None = None  # 0 1 2 3 4a 4b
    enterprise: str | None = None  # 统一社会信用代码 of the outlet's enterprise
    outlet_medium: str | None = None  # gas / water (废气 / 废水)


def site_kind(value: str) -> str:
    v = (value or "").strip()
    for kind, label in KIND_LABELS.items():
        if v in (kind, label):
            return kind
    names = "、".join(f"{k}（{lbl}）" for k, lbl in KIND_LABELS.items())
    raise RegistryError(f"点位类型 {value!r} 不是 {names} 之一", "kind")


def _coded(value: str, field: str, table: dict[str, str]) -> str:
    v = value.strip()
    for code, label in table.items():
        if v in (code, label):
            return code
    allowed = "、".join(f"{k}（{lbl}）" for k, lbl in table.items())
    raise RegistryError(f"{FIELD_LABELS[field]} {value!r} 不是 {allowed} 之一", field)


def _checked(s: Session, rec: SiteRecord) -> tuple[SiteRecord, int | None]:
    code = text(rec.code, "code", "点位编码", max_len=40, required=True)
    name = text(rec.name, "name", "点位名称", max_len=200, required=True)
    kind = site_kind(rec.kind)
    region = text(rec.region_code, "region_code", "所在区划代码", max_len=12, required=True)
    if s.get(Region, region) is None:
        raise RegistryError(f"所在区划 {region} 不存在：先登记区划", "region_code")
    lon, lat = location(rec.longitude, rec.latitude, required=True)
    given = {f.name: getattr(rec, f.name) for f in fields(rec)}
    for field, kinds in KIND_SPECIFIC.items():
        v = given[field]
        if v is not None and str(v).strip() != "" and kind not in kinds:
            allowed = "、".join(KIND_LABELS[k] for k in kinds)
            raise RegistryError(
                f"{FIELD_LABELS[field]}只适用于{allowed}，不适用于{KIND_LABELS[kind]}", field
            )
    out = dict(given)
    out.update(code=code, name=name, kind=kind, region_code=region, longitude=lon, latitude=lat)
    out["control_level"] = text(rec.control_level, "control_level", "控制级别", max_len=20)
    out["water_body_name"] = text(rec.water_body_name, "water_body_name", "所在水体", max_len=100)
    out["source_level"] = text(rec.source_level, "source_level", "水源地级别", max_len=20)
    for field, table in (
        ("water_body", WATER_BODIES),
        ("source_type", SOURCE_TYPES),
        ("outlet_medium", MEDIA),
    ):
        v = given[field]
        out[field] = _coded(v, field, table) if v and v.strip() else None
    if rec.target_class and rec.target_class.strip():
        raw = rec.target_class.strip().removesuffix("类")
        tc = _ROMAN.get(raw, raw.upper())
        if tc not in WATER_CLASSES:
            raise RegistryError(f"水质目标 {rec.target_class!r} 不是 Ⅰ–Ⅴ 类之一", "target_class")
        out["target_class"] = tc
    else:
        out["target_class"] = None
    if rec.noise_zone and rec.noise_zone.strip():
        z = rec.noise_zone.strip().lower().removesuffix("类")
        if z not in NOISE_ZONES:
            raise RegistryError(
                f"声环境功能区 {rec.noise_zone!r} 不是 0、1、2、3、4a、4b 之一（GB 3096-2008）",
                "noise_zone",
            )
        out["noise_zone"] = z
    else:
        out["noise_zone"] = None
    enterprise_id: int | None = None
    if kind == SiteKind.OUTLET.value:
        credit = (rec.enterprise or "").strip()
        if not credit:
            raise RegistryError("排放口须填写所属企业的统一社会信用代码", "enterprise")
        ent = by_credit_code(s, credit)
        if ent is None:
            raise RegistryError(
                f"所属企业 {credit} 未登记：先登记企业（qingshan enterprise add）", "enterprise"
            )
        enterprise_id = ent.id
        out["enterprise"] = ent.credit_code
        if out["outlet_medium"] is None:
            raise RegistryError("排放口须填写类别：废气（gas）或废水（water）", "outlet_medium")
    return SiteRecord(**out), enterprise_id


def save_site(
    s: Session, actor: Principal, rec: SiteRecord, *, client: str | None = None
) -> tuple[Site, str]:
    """Create or update (by code) a site; returns (site, outcome)."""
    rec, enterprise_id = _checked(s, rec)
    row = s.scalar(select(Site).where(Site.code == rec.code))
    before = None if row is None else snapshot(row, SITE_FIELDS)
    if row is None:
        row = Site(code=rec.code)
        s.add(row)
    for f in SITE_FIELDS[1:]:
        if f != "enterprise_id":
            setattr(row, f, getattr(rec, f))
    row.enterprise_id = enterprise_id
    s.flush()
    outcome = record_change(
        s,
        actor,
        entity="site",
        key=rec.code,
        before=before,
        after=snapshot(row, SITE_FIELDS),
        client=client,
    )
    return row, outcome


def create_site(
    s: Session, actor: Principal, rec: SiteRecord, *, client: str | None = None
) -> Site:
    code = (rec.code or "").strip()
    if s.scalar(select(Site.id).where(Site.code == code)) is not None:
        raise RegistryConflict(f"点位编码 {code} 已存在", "code")
    return save_site(s, actor, rec, client=client)[0]


def update_site(
    s: Session, actor: Principal, rec: SiteRecord, *, client: str | None = None
) -> Site:
    code = (rec.code or "").strip()
    if s.scalar(select(Site.id).where(Site.code == code)) is None:
        raise RegistryNotFound(f"点位编码 {code} 不存在", "code")
    return save_site(s, actor, rec, client=client)[0]


def list_sites(
    s: Session, *, kind: str | None = None, region: str | None = None
) -> list[tuple[Site, str | None]]:
    """Sites by kind and code, each with its enterprise's credit code (outlets)."""
    q = (
        select(Site, Enterprise.credit_code)
        .outerjoin(Enterprise, Enterprise.id == Site.enterprise_id)
        .order_by(Site.kind, Site.code)
    )
    if kind:
        q = q.where(Site.kind == site_kind(kind))
    if region:
        q = q.where(Site.region_code.startswith(region))
    return [(site, credit) for site, credit in s.execute(q)]
