"""Devices (数采仪), their events, the reject log; registration and editing."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from qingshan.services.registry import MN_PATTERN, PW_PATTERN, SM4_PATTERN, ST_PATTERN

Edition = Literal["2005", "2017", "2025"]


class DeviceOut(BaseModel):
    id: int
    mn: str
    st: str
    edition: str
    encoding: str
    active: bool
    site_id: int | None
    site_code: str | None
    site_name: str | None
    group: str | None = Field(description="device group (its upstream platforms get the data)")
    sm4_key_set: bool = Field(description="an SM4 key is registered (never shown)")
    minute_interval: int | None
    report_interval: int | None = Field(
        None, description="recorded minutes between hourly-or-coarser records; null: inferred"
    )
    created_at: datetime
    last_seen_at: datetime | None = Field(description="last packet, UTC")
    last_peer: str | None
    last_report: datetime | None = Field(
        None, description="latest stored data time, Beijing time; null: no data ever stored"
    )
    interval_minutes: int = Field(
        60, description="reporting interval of its hourly records (registry, else inferred)"
    )
    status: Literal["online", "offline"]
    status_label: str


class EventOut(BaseModel):
    at: datetime
    kind: str
    peer: str | None
    detail: str | None


class DeviceDetail(BaseModel):
    device: DeviceOut
    last_packet_at: datetime | None
    last_packet_cn: str | None
    events: list[EventOut]


class RejectOut(BaseModel):
    id: int
    received_at: datetime
    peer: str | None
    mn: str | None
    reason: str
    detail: str | None
    preview: str = Field(description="start of the rejected bytes; access passwords masked")


class DeviceIn(BaseModel):
    mn: str = Field(pattern=MN_PATTERN, description="HJ 212 MN")
    pw: str = Field(pattern=PW_PATTERN, description="access password (PW)")
    st: str = Field(pattern=ST_PATTERN, description="system code (ST), e.g. 22, 31, 32")
    site_code: str | None = Field(None, max_length=40)
    edition: Edition = "2017"
    encoding: str = Field("gbk", max_length=16)
    group: str | None = Field(None, max_length=100, description="device group; created if new")
    sm4_key: str | None = Field(
        None, pattern=SM4_PATTERN, description="SM4 key of a 2025 device that encrypts its CP"
    )
    minute_interval: int | None = Field(None, ge=1, le=60)
    report_interval: int | None = Field(
        None, ge=60, le=1440, description="minutes between hourly-or-coarser records"
    )


class DevicePatch(BaseModel):
    pw: str | None = Field(None, pattern=PW_PATTERN)
    st: str | None = Field(None, pattern=ST_PATTERN)
    site_code: str | None = Field(None, max_length=40, description="empty string: detach")
    edition: Edition | None = None
    encoding: str | None = Field(None, max_length=16)
    group: str | None = Field(None, max_length=100, description="empty string: no group")
    sm4_key: str | None = Field(
        None, pattern=r"^([0-9A-Fa-f]{32})?$", description="empty string: remove the key"
    )
    active: bool | None = None
    minute_interval: int | None = Field(None, ge=1, le=60)
    report_interval: int | None = Field(
        None, description="60-1440 minutes between hourly-or-coarser records; 0: inferred"
    )
