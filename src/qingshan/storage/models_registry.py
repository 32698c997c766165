"""Tables of what a deployment knows about its own county (issue 12, first slice).

Everything the web app and the reports used to take from the sample district's files lives
here, so that a real county's deployment shows its own data and nothing of 崆峒区:

* ``deployment`` — one row: which region is this deployment's own (the region the cockpit
  summarises and reports default to) and the notice printed on its reports (e.g. 模拟数据).
* ``region_boundary`` — a region's outline as GeoJSON geometry text, WGS-84.
* ``permit`` / ``permit_limit`` / ``permit_annual_amount`` — discharge permits (排污许可证)
  of enterprises, their concentration limits per outlet and pollutant, and the permitted
  annual amounts.
* ``indicator_target`` — plan targets (规划指标) of a region, e.g. the good-day ratio.
* ``org_unit`` — the units work is assigned to (责任单位: departments, townships/streets,
  parks, counties; migration 0400); ``web_user.unit`` refers to one.

Numbers that are compared with measured values (limits, reference O₂, targets, amounts) are
stored as exact decimal *text*, as observations are (see :mod:`qingshan.storage.models`):
SQLite has no exact decimal type, and a limit must compare exactly.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from qingshan.storage.models import Base

MANAGEMENT_CLASSES = ("重点管理", "简化管理", "登记管理")  # 排污许可分类管理
AVERAGING_BASES = ("小时均值", "日均值")
MAP_LAYER_KINDS = ("river", "road", "place")  # 河流, 道路, 地名 (the map's reference layers)
COMPARISONS = ("at_least", "at_most")  # a target is a floor (≥) or a ceiling (≤)
# 责任单位 kinds: 部门, 乡镇（街道）, 园区, 县（区）
ORG_UNIT_KINDS = ("department", "township", "park", "county")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN (" + ",".join(f"'{v}'" for v in values) + ")"


class Deployment(Base):
    """The deployment's own region: a single row (``id = 1``)."""

    __tablename__ = "deployment"
    id: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    region_code: Mapped[str] = mapped_column(ForeignKey("region.code"))
    # Printed on every report of this deployment (e.g. the demo's 模拟数据 notice).
    data_notice: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(DateTime)
    __table_args__ = (CheckConstraint("id = 1", name="single"),)


class RegionBoundary(Base):
    """The outline of a region: a GeoJSON Polygon or MultiPolygon geometry, WGS-84."""

    __tablename__ = "region_boundary"
    region_code: Mapped[str] = mapped_column(ForeignKey("region.code"), primary_key=True)
    geometry: Mapped[str] = mapped_column(Text)  # GeoJSON geometry object, as JSON text
    source: Mapped[str | None] = mapped_column(Text)  # where the outline comes from, licence
    updated_at: Mapped[datetime] = mapped_column(DateTime)


class MapFeature(Base):
    """A reference feature of the deployment's map (a river, a road, a place name): GeoJSON
    geometry text, WGS-84, drawn under the markers so the map has bearings offline."""

    __tablename__ = "map_feature"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(8), index=True)  # MAP_LAYER_KINDS
    name: Mapped[str | None] = mapped_column(String(100))
    geometry: Mapped[str] = mapped_column(Text)  # GeoJSON geometry object, as JSON text
    # drawing order / importance (a 国道 above a 县道, a town above a village); larger = more
    rank: Mapped[int | None] = mapped_column(SmallInteger)
    source: Mapped[str | None] = mapped_column(Text)  # the file it came from, its licence
    updated_at: Mapped[datetime] = mapped_column(DateTime)
    __table_args__ = (CheckConstraint(_in("kind", MAP_LAYER_KINDS), name="kind"),)


class Permit(Base):
    """A discharge permit (排污许可证) or registration (排污登记) of an enterprise."""

    __tablename__ = "permit"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprise.id"), index=True)
    number: Mapped[str] = mapped_column(String(40), unique=True)  # 许可证编号 / 登记编号
    management_class: Mapped[str] = mapped_column(String(8))
    valid_from: Mapped[date] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date)  # inclusive; None: open-ended
    note: Mapped[str | None] = mapped_column(Text)
    __table_args__ = (
        CheckConstraint(_in("management_class", MANAGEMENT_CLASSES), name="class"),
        CheckConstraint("valid_to IS NULL OR valid_to >= valid_from", name="validity"),
    )


class PermitLimit(Base):
    """A permitted concentration limit (许可排放浓度限值) of one pollutant at one outlet.

    ``limit_value`` is the upper limit; ``lower_value`` the lower end of a range (pH 6–9).
    Where the standard converts to a reference oxygen content (折算), ``o2_ref`` holds it (%);
    the value compared with the limit is then the converted concentration.
    """

    __tablename__ = "permit_limit"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    permit_id: Mapped[int] = mapped_column(ForeignKey("permit.id"), index=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("site.id"), index=True)  # the outlet
    pollutant: Mapped[str] = mapped_column(String(16))  # HJ 212-2017 code
    limit_value: Mapped[str] = mapped_column(Text)  # exact decimal text
    lower_value: Mapped[str | None] = mapped_column(Text)
    unit: Mapped[str] = mapped_column(String(20))
    basis: Mapped[str] = mapped_column(String(8))  # averaging period: 小时均值 / 日均值
    o2_ref: Mapped[str | None] = mapped_column(Text)  # 基准含氧量, %
    standard: Mapped[str] = mapped_column(String(200))  # e.g. GB 13271-2014 …
    source_table: Mapped[str | None] = mapped_column(Text)  # table and row of the standard
    __table_args__ = (
        UniqueConstraint("permit_id", "site_id", "pollutant", "basis"),
        CheckConstraint(_in("basis", AVERAGING_BASES), name="basis"),
    )


class PermitAnnualAmount(Base):
    """A permitted annual amount (年许可排放量) of one pollutant in one year of a permit."""

    __tablename__ = "permit_annual_amount"
    permit_id: Mapped[int] = mapped_column(ForeignKey("permit.id"), primary_key=True)
    pollutant: Mapped[str] = mapped_column(String(16), primary_key=True)
    year: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    amount: Mapped[str] = mapped_column(Text)  # exact decimal text
    unit: Mapped[str] = mapped_column(String(10))  # t/a


class IndicatorTarget(Base):
    """A plan target of a region (规划指标目标值), e.g. 空气质量优良天数比率 ≥ 96.7 %.

    Applies from ``year_from`` to ``year_to`` (inclusive; None: until a later target replaces
    it). ``source`` cites the plan and the place in it.
    """

    __tablename__ = "indicator_target"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    region_code: Mapped[str] = mapped_column(ForeignKey("region.code"), index=True)
    indicator: Mapped[str] = mapped_column(String(40))  # e.g. good_day_ratio
    year_from: Mapped[int] = mapped_column(SmallInteger)
    year_to: Mapped[int | None] = mapped_column(SmallInteger)
    value: Mapped[str] = mapped_column(Text)  # exact decimal text
    unit: Mapped[str] = mapped_column(String(20))
    comparison: Mapped[str] = mapped_column(String(10))  # at_least / at_most
    source: Mapped[str] = mapped_column(Text)
    __table_args__ = (
        UniqueConstraint("region_code", "indicator", "year_from"),
        CheckConstraint(_in("comparison", COMPARISONS), name="comparison"),
        CheckConstraint("year_to IS NULL OR year_to >= year_from", name="years"),
    )


class OrgUnit(Base):
    """A 责任单位 that plans and cases assign work to: a department (生态环境局, 水务局 …), a
    township or street office, an industrial park, or a county. ``code`` is the bureau's own
    code for it (often its 统一社会信用代码); ``web_user.unit`` refers to it."""

    __tablename__ = "org_unit"
    code: Mapped[str] = mapped_column(String(100), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(12))
    region_code: Mapped[str | None] = mapped_column(ForeignKey("region.code"), index=True)
    parent_code: Mapped[str | None] = mapped_column(ForeignKey("org_unit.code"), index=True)
    contact: Mapped[str | None] = mapped_column(String(50))  # 联系人
    phone: Mapped[str | None] = mapped_column(String(40))
    __table_args__ = (CheckConstraint(_in("kind", ORG_UNIT_KINDS), name="kind"),)


__all__ = [
    "AVERAGING_BASES",
    "COMPARISONS",
    "MANAGEMENT_CLASSES",
    "MAP_LAYER_KINDS",
    "ORG_UNIT_KINDS",
    "Deployment",
    "IndicatorTarget",
    "MapFeature",
    "OrgUnit",
    "Permit",
    "PermitAnnualAmount",
    "PermitLimit",
    "RegionBoundary",
]
