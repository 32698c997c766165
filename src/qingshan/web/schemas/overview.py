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


class SectionOut(BaseModel):
    code: str | None
    name: str | None
    class_: str | None = Field(None, alias="class")
    target_class: str | None
    meets_target: bool | None
    colour: str | None = None
    time: str | None = None

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


class PublicAir(BaseModel):
    generated_at: datetime
    stations: list[StationAqiOut]
    notice: str


class PublicWater(BaseModel):
    generated_at: datetime
    sections: list[SectionOut]
    notice: str
