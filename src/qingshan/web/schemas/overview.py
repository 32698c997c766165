"""Response models of the overview router: 驾驶舱 (cockpit), 一张图 (map), 信息公开."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field


class StationAqiOut(BaseModel):
    site_id: int
    site_code: str
    name: str
    kind: str
    time: str | None
    aqi: int | None
    level: str | None
    category: str | None
    colour: str | None
    primary_pollutants: list[str]
    standard: str | None
    official: bool = Field(
        True, description="counts in the official evaluation (国控/省控/市控…, not a 微站)"
    )
    concentrations: dict[str, str | None] = Field(
        default_factory=dict,
        description="the hour's concentrations as published (SO2 NO2 O3 PM10 PM2_5 μg/m³, "
        "integers; CO mg/m³, 1 decimal; GB/T 8170 from the stored value)",
    )


class SectionOut(BaseModel):
    code: str | None
    name: str | None
    class_: str | None = Field(None, alias="class")
    target_class: str | None
    meets_target: bool | None
    colour: str | None = None
    time: str | None = None
    main_pollutants: list[str] = Field(
        default_factory=list, description="主要污染指标 (multiple over Class Ⅲ)"
    )

    model_config = {"populate_by_name": True}


class AirSummary(BaseModel):
    standard: str | None = Field(description="HJ 633 version of the year's figures")
    stations: list[StationAqiOut]
    good_days: int | None
    valid_days: int | None
    good_day_ratio: float | None = Field(description="percent (HJ 663-2013), 1 decimal")
    target_ratio: float | None = Field(
        description="the plan's target for this year, percent (none recorded: null)"
    )
    target_source: str | None = Field(description="the plan the target comes from")
    meets_target: bool | None


class WaterSummary(BaseModel):
    sections: list[SectionOut]
    meeting_target: int
    assessed: int


class OutletSummary(BaseModel):
    total: int
    online: int
    offline: int
    exceeding: int


class RegionAqiOut(BaseModel):
    region_code: str
    region_name: str
    time: datetime | None = Field(description="hour start, Beijing time")
    aqi: int | None
    level: str | None
    category: str | None
    colour: str | None
    primary_pollutants: list[str]


class DailyReportOut(BaseModel):
    day: str
    aqi: int | None
    level: str | None
    category: str | None
    colour: str | None
    primary_pollutants: list[str]
    valid: bool
    reason: str | None


class IndicatorOut(BaseModel):
    value: str | None = Field(description="so far, 1 decimal (GB/T 8170)")
    target: str | None
    comparison: str | None
    target_source: str | None
    met: bool | None
    status: str
    status_label: str
    reason: str
    projection: dict[str, Any] | None


class YearProgressOut(BaseModel):
    year: int
    first: str
    through: str | None = Field(description="the last complete day counted (yesterday)")
    remaining_days: int
    valid_days: int
    good_days: int
    non_good_days: int
    non_good_days_allowed: int | None = Field(
        description="non-good days the rest of the year can still have with the target met "
        "(remaining days assumed valid; negative: the target can no longer be met)"
    )
    good_day_ratio: IndicatorOut
    pm2_5: IndicatorOut
    pm2_5_days: int


class ExceedingOut(BaseModel):
    episode_id: int
    site_id: int
    outlet: str
    outlet_name: str
    enterprise: str
    pollutant: str | None
    pollutant_name: str | None = None
    basis: str | None
    since: str | None
    peak: str | None
    limit: str | None
    unit: str | None


class OfflineOut(BaseModel):
    site_id: int | None
    site_code: str | None
    name: str
    kind: str | None
    kind_label: str | None = None
    enterprise: str | None
    mn: str | None
    last_report: datetime | None = Field(description="latest stored data time, Beijing time")
    episode_id: int | None


class Cockpit(BaseModel):
    generated_at: datetime
    region_code: str | None = Field(description="the deployment's own region (GB/T 2260)")
    region_name: str | None
    air: AirSummary
    water: WaterSummary
    outlets: OutletSummary
    devices_total: int
    devices_online: int
    sites_by_kind: dict[str, int]
    rejects_24h: int
    notes: list[str]
    district_now: list[RegionAqiOut] = Field(
        default_factory=list, description="AQI now of the district (then its city)"
    )
    yesterday: DailyReportOut | None = None
    year: YearProgressOut | None = None
    exceeding: list[ExceedingOut] = Field(default_factory=list)
    offline: list[OfflineOut] = Field(default_factory=list)


class Feature(BaseModel):
    type: Literal["Feature"] = "Feature"
    id: int | str | None = None
    geometry: dict[str, Any] | None
    properties: dict[str, Any]


class FeatureCollection(BaseModel):
    type: Literal["FeatureCollection"] = "FeatureCollection"
    datum: str = Field(description="coordinate datum of the geometries: wgs84 or gcj02")
    features: list[Feature]


class MapConfig(BaseModel):
    tile_url: str = Field(
        description="tile URL template relative to the site (the server's tile proxy, no key); "
        "empty: offline vector map only"
    )
    tile_datum: str
    label_url: str = Field(
        "", description="tile URL template of a label layer drawn over the base (天地图 cva_w)"
    )
    tile_source: str = Field("", description="who the tiles come from (天地图 / 已配置的瓦片服务)")


class PublicAir(BaseModel):
    generated_at: datetime
    stations: list[StationAqiOut]
    notice: str


class PublicWater(BaseModel):
    generated_at: datetime
    sections: list[SectionOut]
    notice: str
