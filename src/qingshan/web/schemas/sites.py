"""Sites, their latest values, chart series, completeness, observation records."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, Field

ResolutionName = Literal["realtime", "minute", "hour", "day"]
SeriesResolution = Literal["auto", "realtime", "minute", "hour", "day"]
KindName = Literal[
    "air_station",
    "surface_water_section",
    "drinking_water_source",
    "groundwater_point",
    "noise_station",
    "enterprise_outlet",
]
ExportFormat = Literal["csv", "xlsx", "json"]


class SiteOut(BaseModel):
    id: int
    code: str
    name: str
    kind: str
    kind_label: str
    region_code: str | None
    longitude: float | None
    latitude: float | None
    control_level: str | None
    water_body_name: str | None
    target_class: str | None = Field(description="水质目标 as GB 3838 writes it: Ⅰ … Ⅴ")
    enterprise_id: int | None
    enterprise_name: str | None
    outlet_medium: str | None


class SitePage(BaseModel):
    total: int
    items: list[SiteOut]


class LatestValue(BaseModel):
    code: str
    name: str | None
    unit: str | None
    value: str | None = Field(description="as stored (exact decimal text)")
    display: str | None = Field(
        None, description="value rounded to the factor's display precision (GB/T 8170)"
    )
    zs: str | None
    zs_display: str | None = None
    flag: str | None


class LatestRecord(BaseModel):
    resolution: str
    time: datetime | None = Field(description="data time, China Standard Time (UTC+8)")
    values: list[LatestValue]


class DeviceBrief(BaseModel):
    mn: str
    active: bool
    last_seen_at: datetime | None
    last_report: datetime | None = Field(
        None, description="latest stored data time, Beijing time; null: no data ever stored"
    )
    interval_minutes: int = Field(
        60, description="reporting interval of its hourly records (registry, else inferred)"
    )
    interval_source: Literal["registry", "data", "default"] = "default"


class FactorClassOut(BaseModel):
    item: str = Field(description="GB 3838 item code")
    code: str = Field(description="HJ 212 code")
    name: str
    unit: str
    mean: str = Field(description="exact mean rounded once, half-even, to the samples' decimals")
    samples: int
    water_class: str | None = Field(description="class of the exact mean: Ⅰ … Ⅴ, 劣Ⅴ")
    counted: bool = Field(description="counted in the section's class (false: reference item)")


class PeriodClassOut(BaseModel):
    period: Literal["day", "month"]
    label: str
    first: date
    last: date
    samples: int
    water_class: str | None = Field(description="水质类别 Ⅰ … Ⅴ, 劣Ⅴ")
    status: str | None
    target_class: str | None
    meets_target: bool | None = Field(description="达标 (true) / 超标 (false)")
    main_pollutants: list[str]
    factors: list[FactorClassOut]


class SectionClassOut(BaseModel):
    latest_sample: datetime | None = Field(description="Beijing time")
    day: PeriodClassOut | None = Field(description="the latest day with a valid sample")
    month: PeriodClassOut | None = Field(description="that day's month, to that day")


class SiteDetail(BaseModel):
    site: SiteOut
    devices: list[DeviceBrief]
    latest: list[LatestRecord]
    flag_labels: dict[str, str] = Field(
        default_factory=dict, description="HJ 212-2017 data flags (数据标记)"
    )
    water: SectionClassOut | None = Field(
        None, description="a surface-water section's class (GB 3838-2002, 2011 method)"
    )


class Series(BaseModel):
    code: str
    name: str | None
    unit: str | None
    times: list[datetime]
    values: list[float | None]
    flags: list[str | None]


class SeriesOut(BaseModel):
    site_id: int
    resolution: str = Field(description="the resolution of the data served")
    resolution_label: str
    requested_resolution: str = Field(
        description="as asked: a resolution, or auto (chosen by the range's length)"
    )
    resolution_rule: str | None = Field(
        None, description="with auto: the downsampling rule that chose `resolution`"
    )
    start: datetime
    end: datetime
    series: list[Series]
    flag_labels: dict[str, str] = Field(description="HJ 212-2017 data flags (数据标记)")


class FactorCompleteness(BaseModel):
    code: str
    name: str | None
    received: int
    valid: int = Field(description="records whose flag is N (normal) or absent")
    expected: int = Field(description="records due at the device's reporting interval")
    ratio: float = Field(description="received / expected")
    interval_minutes: int = Field(description="the reporting interval expected counts use")


class CompletenessOut(BaseModel):
    site_id: int
    resolution: str
    expected: int
    factors: list[FactorCompleteness]


class ObservationOut(BaseModel):
    device_mn: str
    time: datetime
    code: str
    value: str | None = Field(description="Rtd or Avg, as the device sent it (exact decimal text)")
    min: str | None = Field(None, description="Min")
    max: str | None = Field(None, description="Max")
    cou: str | None = Field(None, description="Cou (cumulative amount)")
    zs: str | None = Field(description="ZsRtd or ZsAvg (converted value)")
    zs_min: str | None = Field(None, description="ZsMin")
    zs_max: str | None = Field(None, description="ZsMax")
    flag: str | None
    derived: bool = Field(description="computed by the platform (roll-up), not sent")
    samples: int | None = Field(None, description="valid inputs of a derived record")


class ObservationPage(BaseModel):
    items: list[ObservationOut]
    next_cursor: str | None = Field(description="pass as cursor for the next page; null at end")


class SiteFactorOut(BaseModel):
    code: str
    mn: str = Field(description="the device that measures it")
    name: str
    unit: str | None
    header: str = Field(description="名称 (单位)")
    decimals: int | None = Field(description="display precision; null: shown as stored")


class SiteFactors(BaseModel):
    site_id: int
    kind: str
    factors: list[SiteFactorOut]


class TableColumn(BaseModel):
    key: str = Field(description="factor code, or code@MN when several devices measure it")
    code: str
    mn: str | None
    name: str
    unit: str | None
    header: str = Field(description="名称 (单位)")


class TableCell(BaseModel):
    value: str | None = Field(description="as stored (exact decimal text)")
    display: str | None = Field(description="rounded to the display precision (GB/T 8170)")
    flag: str | None
    zs: str | None
    zs_display: str | None


class TableRow(BaseModel):
    time: datetime = Field(description="China Standard Time (UTC+8)")
    cells: list[TableCell | None] = Field(description="one per column; null: no record")


class ObservationTable(BaseModel):
    site_id: int
    kind: str
    resolution: str
    columns: list[TableColumn]
    rows: list[TableRow]
    next_cursor: str | None = Field(description="pass as cursor for the next page; null at end")
    flag_labels: dict[str, str] = Field(description="HJ 212-2017 data flags (数据标记)")
