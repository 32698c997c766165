"""The schema: registry, time series, packet archive, forwarding queue.

One schema serves SQLite and PostgreSQL. Dialect-only options are table keywords that the
other backend ignores: on PostgreSQL ``observation`` is range-partitioned by ``data_time``
(monthly partitions, created on demand by :func:`qingshan.storage.partitions.ensure_months`);
on SQLite it is a ``WITHOUT ROWID`` table clustered by its primary key.

Time conventions
----------------
* ``data_time`` columns hold the time a device reports, as China Standard Time (UTC+8, no
  daylight saving) without a zone, exactly as HJ 212 carries it (``DataTime=20260101120000``).
* ``*_at`` columns are system times in UTC without a zone.

Values
------
Measured values are stored as the decimal *text* the device sent (``"12.30"`` stays
``"12.30"``). SQLite has no exact decimal type (its NUMERIC affinity turns values into binary
floats), so text is the only representation that is exact on both backends; callers convert
with :class:`decimal.Decimal`.
"""

from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Numeric,
    SmallInteger,
    String,
    Text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# SQLite has no BIGINT autoincrement; INTEGER PRIMARY KEY is its 64-bit rowid.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Resolution(enum.IntEnum):
    """Time resolution of an observation; the HJ 212 upload command that carries it."""

    REALTIME = 0  # CN 2011
    MINUTE = 1  # CN 2051
    HOUR = 2  # CN 2061
    DAY = 3  # CN 2031

    @classmethod
    def parse(cls, text: str) -> Resolution:
        try:
            return cls[text.upper()]
        except KeyError:
            names = ", ".join(m.name.lower() for m in cls)
            raise ValueError(f"unknown resolution {text!r}; use one of: {names}") from None


class RegionLevel(enum.StrEnum):
    PROVINCE = "province"
    CITY = "city"
    COUNTY = "county"
    TOWNSHIP = "township"


class SiteKind(enum.StrEnum):
    AIR_STATION = "air_station"  # 环境空气质量监测站（国控/省控/市控）或微站
    SURFACE_WATER = "surface_water_section"  # 地表水监测断面
    DRINKING_WATER = "drinking_water_source"  # 饮用水水源地
    GROUNDWATER = "groundwater_point"  # 地下水监测点
    NOISE = "noise_station"  # 声环境监测点
    OUTLET = "enterprise_outlet"  # 企业排放口


SITE_KINDS = tuple(k.value for k in SiteKind)


# --------------------------------------------------------------------------- registry


class Region(Base):
    """An administrative division, GB/T 2260 code (6 digits; townships 9 digits, GB/T 10114)."""

    __tablename__ = "region"
    code: Mapped[str] = mapped_column(String(12), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    level: Mapped[str] = mapped_column(String(10))
    parent_code: Mapped[str | None] = mapped_column(ForeignKey("region.code"), index=True)
    parent: Mapped[Region | None] = relationship(remote_side=[code])
    __table_args__ = (
        CheckConstraint("level IN ('province','city','county','township')", name="level"),
    )


ENTERPRISE_CONTROL_LEVELS = ("国控", "省控", "市控", "区控", "县控")  # 重点源的监管级别
PERMIT_CLASSES = ("重点管理", "简化管理", "登记管理")  # 排污许可分类管理


class Enterprise(Base):
    """一企一档: the core record of a discharging enterprise (排污单位).

    ``credit_code`` is the 18-character 统一社会信用代码 (GB 32100-2015), the registry's
    natural key; ``industry_code`` a GB/T 4754-2017 class (e.g. ``C3011`` or ``3011``) with its
    text in ``industry``. Coordinates are WGS-84 like sites'.
    """

    __tablename__ = "enterprise"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    credit_code: Mapped[str | None] = mapped_column(String(18), unique=True)  # 统一社会信用代码
    name: Mapped[str] = mapped_column(String(200))
    region_code: Mapped[str | None] = mapped_column(ForeignKey("region.code"))
    industry: Mapped[str | None] = mapped_column(String(100))
    key_discharger: Mapped[bool] = mapped_column(Boolean, default=False)  # 重点排污单位
    industry_code: Mapped[str | None] = mapped_column(String(8))  # GB/T 4754-2017 (migration 0400)
    control_level: Mapped[str | None] = mapped_column(String(4))  # 国控 / 省控 / 市控 / 区控
    permit_class: Mapped[str | None] = mapped_column(String(8))  # 重点管理 / 简化管理 / 登记管理
    longitude: Mapped[Decimal | None] = mapped_column(Numeric(10, 6))
    latitude: Mapped[Decimal | None] = mapped_column(Numeric(10, 6))
    address: Mapped[str | None] = mapped_column(String(300))
    legal_representative: Mapped[str | None] = mapped_column(String(50))  # 法定代表人
    env_contact: Mapped[str | None] = mapped_column(String(50))  # 环保负责人
    contact_phone: Mapped[str | None] = mapped_column(String(40))
    __table_args__ = (
        CheckConstraint(
            "control_level IS NULL OR control_level IN ("
            + ",".join(f"'{v}'" for v in ENTERPRISE_CONTROL_LEVELS)
            + ")",
            name="control_level",
        ),
        CheckConstraint(
            "permit_class IS NULL OR permit_class IN ("
            + ",".join(f"'{v}'" for v in PERMIT_CLASSES)
            + ")",
            name="permit_class",
        ),
        CheckConstraint(
            "longitude IS NULL OR (longitude >= -180 AND longitude <= 180)", name="lon"
        ),
        CheckConstraint("latitude IS NULL OR (latitude >= -90 AND latitude <= 90)", name="lat"),
    )


class Site(Base):
    """Any monitored place. Kind-specific attributes are nullable columns checked per kind.

    Coordinates are WGS-84 (what GNSS receivers and HJ 212 devices report). Chinese base maps
    (AMap, Tencent) use GCJ-02; convert at display time, never in storage.
    """

    __tablename__ = "site"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(30))
    region_code: Mapped[str | None] = mapped_column(ForeignKey("region.code"), index=True)
    longitude: Mapped[Decimal | None] = mapped_column(Numeric(10, 6))
    latitude: Mapped[Decimal | None] = mapped_column(Numeric(10, 6))
    # air: 国控 / 省控 / 市控 / 县控 / 微站; water sections: 国控 / 省控 / 市控 …
    control_level: Mapped[str | None] = mapped_column(String(20))
    water_body: Mapped[str | None] = mapped_column(String(20))  # river | lake_reservoir
    water_body_name: Mapped[str | None] = mapped_column(String(100))
    target_class: Mapped[str | None] = mapped_column(String(8))  # 水质目标 I…V
    source_level: Mapped[str | None] = mapped_column(String(20))  # 千吨万人 / 乡镇级 / 县级以上
    source_type: Mapped[str | None] = mapped_column(String(20))  # surface | groundwater
    noise_zone: Mapped[str | None] = mapped_column(String(4))  # 0 1 2 3 4a 4b (GB 3096)
    enterprise_id: Mapped[int | None] = mapped_column(ForeignKey("enterprise.id"), index=True)
    outlet_medium: Mapped[str | None] = mapped_column(String(10))  # gas | water
    enterprise: Mapped[Enterprise | None] = relationship()
    __table_args__ = (
        CheckConstraint("kind IN (" + ",".join(f"'{k}'" for k in SITE_KINDS) + ")", name="kind"),
        CheckConstraint(
            "kind <> 'enterprise_outlet' OR "
            "(enterprise_id IS NOT NULL AND outlet_medium IN ('gas','water'))",
            name="outlet",
        ),
        CheckConstraint(
            "longitude IS NULL OR (longitude >= -180 AND longitude <= 180)", name="lon"
        ),
        CheckConstraint("latitude IS NULL OR (latitude >= -90 AND latitude <= 90)", name="lat"),
    )


class DeviceGroup(Base):
    """Devices forwarded together to the same upstream platforms."""

    __tablename__ = "device_group"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)


class Upstream(Base):
    """An upstream platform (e.g. the provincial platform) that receives a group's data."""

    __tablename__ = "upstream"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    host: Mapped[str] = mapped_column(String(200))
    port: Mapped[int] = mapped_column(Integer)
    group_id: Mapped[int] = mapped_column(ForeignKey("device_group.id"), index=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class Device(Base):
    """A data acquisition unit (数采仪) identified by its MN."""

    __tablename__ = "device"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    mn: Mapped[str] = mapped_column(String(32), unique=True)
    pw: Mapped[str] = mapped_column(String(16))
    st: Mapped[str] = mapped_column(String(4))
    edition: Mapped[str] = mapped_column(String(4), default="2017")
    encoding: Mapped[str] = mapped_column(String(16), default="gbk")
    # HJ 212-2025 §6.4: SM4 key (32 hex digits) of a device that encrypts its CP.
    sm4_key: Mapped[str | None] = mapped_column(String(32))
    site_id: Mapped[int | None] = mapped_column(ForeignKey("site.id"), index=True)
    group_id: Mapped[int | None] = mapped_column(ForeignKey("device_group.id"), index=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Minutes between minute-data records; None = infer from the data (see rollups).
    minute_interval: Mapped[int | None] = mapped_column(SmallInteger)
    # Minutes between hourly-or-coarser records (240: a water station sampling every 4 hours);
    # None = infer from the data (qingshan.services.intervals).
    report_interval: Mapped[int | None] = mapped_column(SmallInteger)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    last_seen_at: Mapped[datetime | None] = mapped_column(DateTime)
    last_peer: Mapped[str | None] = mapped_column(String(64))
    site: Mapped[Site | None] = relationship()
    __table_args__ = (CheckConstraint("edition IN ('2005','2017','2025')", name="edition"),)


class DeviceHistory(Base):
    """Active/retired and site-assignment history of a device."""

    __tablename__ = "device_history"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("device.id"), index=True)
    at: Mapped[datetime] = mapped_column(DateTime)
    change: Mapped[str] = mapped_column(String(20))  # added | retired | reactivated
    site_id: Mapped[int | None] = mapped_column(ForeignKey("site.id"))
    note: Mapped[str | None] = mapped_column(Text)


class Factor(Base):
    """A pollutant / parameter code of one HJ 212 edition."""

    __tablename__ = "factor"
    code: Mapped[str] = mapped_column(String(16), primary_key=True)
    edition: Mapped[str] = mapped_column(String(4), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    unit: Mapped[str | None] = mapped_column(String(30))
    medium: Mapped[str | None] = mapped_column(String(20))  # air | water | noise | …
    code_2017: Mapped[str | None] = mapped_column(String(16))  # for 2005 codes


class DeviceFactor(Base):
    """Which factors a device measures (and its limits, if the outlet has permit limits)."""

    __tablename__ = "device_factor"
    device_id: Mapped[int] = mapped_column(ForeignKey("device.id"), primary_key=True)
    code: Mapped[str] = mapped_column(String(16), primary_key=True)


# --------------------------------------------------------------------------- time series


class Observation(Base):
    """One value of one factor of one device at one time and resolution."""

    __tablename__ = "observation"
    device_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    resolution: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    data_time: Mapped[datetime] = mapped_column(DateTime, primary_key=True)
    code: Mapped[str] = mapped_column(String(16), primary_key=True)
    value: Mapped[str | None] = mapped_column(Text)  # Rtd (realtime) or Avg
    vmin: Mapped[str | None] = mapped_column(Text)
    vmax: Mapped[str | None] = mapped_column(Text)
    cou: Mapped[str | None] = mapped_column(Text)  # cumulative amount (Cou)
    zs: Mapped[str | None] = mapped_column(Text)  # converted value (ZsRtd / ZsAvg)
    zs_min: Mapped[str | None] = mapped_column(Text)  # ZsMin (migration 0210)
    zs_max: Mapped[str | None] = mapped_column(Text)  # ZsMax
    flag: Mapped[str | None] = mapped_column(String(2))
    derived: Mapped[bool] = mapped_column(Boolean, default=False)
    samples: Mapped[int | None] = mapped_column(SmallInteger)  # valid inputs of a derived row
    __table_args__ = (
        Index("ix_observation_resolution_data_time", "resolution", "data_time"),
        {"postgresql_partition_by": "RANGE (data_time)", "sqlite_with_rowid": False},
    )


class DeviceStatus(Base):
    """Device running state (CN 2021 ``SBn-RS`` etc.) and other non-measurement fields."""

    __tablename__ = "device_status"
    device_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    data_time: Mapped[datetime] = mapped_column(DateTime, primary_key=True)
    cn: Mapped[str] = mapped_column(String(4), primary_key=True)
    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[str | None] = mapped_column(Text)


class DeviceEvent(Base):
    """Events about a device or a connection: connect, disconnect, auth failures, …"""

    __tablename__ = "device_event"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime, index=True)
    mn: Mapped[str | None] = mapped_column(String(32), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    peer: Mapped[str | None] = mapped_column(String(64))
    detail: Mapped[str | None] = mapped_column(Text)


class RawPacket(Base):
    """Every accepted packet as received (audit, re-processing); purged after retention."""

    __tablename__ = "raw_packet"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    received_at: Mapped[datetime] = mapped_column(DateTime, index=True)
    mn: Mapped[str] = mapped_column(String(32))
    qn: Mapped[str | None] = mapped_column(String(24))
    cn: Mapped[str] = mapped_column(String(4))
    peer: Mapped[str | None] = mapped_column(String(64))
    raw: Mapped[bytes] = mapped_column(LargeBinary)


class Quarantine(Base):
    """Rejected input: unparsable frames, unknown MN, wrong PW, … Never used as data."""

    __tablename__ = "quarantine"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    received_at: Mapped[datetime] = mapped_column(DateTime, index=True)
    peer: Mapped[str | None] = mapped_column(String(64))
    mn: Mapped[str | None] = mapped_column(String(32))
    reason: Mapped[str] = mapped_column(String(40))
    detail: Mapped[str | None] = mapped_column(Text)
    raw: Mapped[bytes] = mapped_column(LargeBinary)


class ReceivedPacket(Base):
    """Idempotency key of every stored data packet: a re-send is recognised and not stored."""

    __tablename__ = "received_packet"
    mn: Mapped[str] = mapped_column(String(32), primary_key=True)
    qn: Mapped[str] = mapped_column(String(64), primary_key=True)
    cn: Mapped[str] = mapped_column(String(4), primary_key=True)
    received_at: Mapped[datetime] = mapped_column(DateTime, index=True)


class ConnectionLog(Base):
    __tablename__ = "connection_log"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    peer: Mapped[str] = mapped_column(String(64))
    mn: Mapped[str | None] = mapped_column(String(32), index=True)
    connected_at: Mapped[datetime] = mapped_column(DateTime, index=True)
    disconnected_at: Mapped[datetime | None] = mapped_column(DateTime)
    packets: Mapped[int] = mapped_column(Integer, default=0)
    reason: Mapped[str | None] = mapped_column(String(60))


class RollupDirty(Base):
    """Buckets whose roll-up must be (re)computed because their inputs changed."""

    __tablename__ = "rollup_dirty"
    device_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    resolution: Mapped[int] = mapped_column(SmallInteger, primary_key=True)  # target
    bucket: Mapped[datetime] = mapped_column(DateTime, primary_key=True)
    # Bumped on every new mark, so a worker deletes only marks it has fully processed.
    marked_at: Mapped[datetime] = mapped_column(DateTime)


class ForwardItem(Base):
    """Store-and-forward queue: one packet for one upstream, deleted once delivered."""

    __tablename__ = "forward_queue"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    upstream_id: Mapped[int] = mapped_column(ForeignKey("upstream.id"))
    raw: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    __table_args__ = (
        Index("ix_forward_queue_upstream_id_next", "upstream_id", "next_attempt_at", "id"),
    )


__all__ = [
    "ENTERPRISE_CONTROL_LEVELS",
    "PERMIT_CLASSES",
    "Base",
    "ConnectionLog",
    "Device",
    "DeviceEvent",
    "DeviceFactor",
    "DeviceGroup",
    "DeviceHistory",
    "DeviceStatus",
    "Enterprise",
    "Factor",
    "ForwardItem",
    "Observation",
    "Quarantine",
    "RawPacket",
    "ReceivedPacket",
    "Region",
    "RegionLevel",
    "Resolution",
    "RollupDirty",
    "Site",
    "SiteKind",
    "Upstream",
]
