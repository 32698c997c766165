"""Devices (数采仪): status, last packet, reject log; registration and editing (administrators)."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from pydantic import BaseModel, Field
from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from qingshan.clock import utcnow
from qingshan.storage.models import (
    Device,
    DeviceEvent,
    DeviceHistory,
    Quarantine,
    RawPacket,
    Site,
)
from qingshan.web.auth import Principal
from qingshan.web.deps import (
    READERS,
    QueryId,
    audit,
    ctx,
    read_db,
    require,
    snapshot,
    write_db,
)
from qingshan.web.labels import OUTLET_STATUS

router = APIRouter(tags=["devices"])

DEVICE_FIELDS = ("mn", "st", "edition", "encoding", "site_id", "active", "minute_interval")
_PW_FIELD = re.compile(rb"PW=[^;&]*")
# Printable ASCII without ; = & , (the HJ 212 field separators), as qingshan.services.registry.
PW_PATTERN = r"^[!-%'-+\--:<>-~]{1,16}$"


def _scope(p: Principal) -> list[ColumnElement[bool]]:
    if p.role == "enterprise":
        return [Site.kind == "enterprise_outlet", Site.enterprise_id == p.enterprise_id]
    return []


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
    minute_interval: int | None
    created_at: datetime
    last_seen_at: datetime | None = Field(description="last packet, UTC")
    last_peer: str | None
    status: Literal["online", "offline"]
    status_label: str


def device_out(d: Device, site: Site | None, offline_after: timedelta, now: datetime) -> DeviceOut:
    online = d.active and d.last_seen_at is not None and now - d.last_seen_at <= offline_after
    st = "online" if online else "offline"
    return DeviceOut(
        id=d.id,
        mn=d.mn,
        st=d.st,
        edition=d.edition,
        encoding=d.encoding,
        active=d.active,
        site_id=d.site_id,
        site_code=site.code if site else None,
        site_name=site.name if site else None,
        minute_interval=d.minute_interval,
        created_at=d.created_at,
        last_seen_at=d.last_seen_at,
        last_peer=d.last_peer,
        status=st,
        status_label=OUTLET_STATUS[st],
    )


def _visible(s: Session, p: Principal, mn: str) -> tuple[Device, Site | None]:
    row = s.execute(
        select(Device, Site)
        .outerjoin(Site, Site.id == Device.site_id)
        .where(Device.mn == mn, *_scope(p))
    ).first()
    if row is None:
        raise HTTPException(404, f"no device {mn}")
    return row[0], row[1]


@router.get("/devices", response_model=list[DeviceOut])
def list_devices(
    request: Request,
    status: Literal["online", "offline"] | None = None,
    site_id: QueryId = None,
    p: Principal = Depends(require(*READERS)),
    s: Session = Depends(read_db),
) -> list[DeviceOut]:
    """Devices with online/offline status (offline: silent longer than the configured
    ``device_offline_minutes``); enterprise users see only their own outlets' devices."""
    q = select(Device, Site).outerjoin(Site, Site.id == Device.site_id).where(*_scope(p))
    if site_id is not None:
        q = q.where(Device.site_id == site_id)
    off = timedelta(minutes=ctx(request).settings.device_offline_minutes)
    now = utcnow()
    out = [device_out(d, st, off, now) for d, st in s.execute(q.order_by(Device.mn))]
    return [d for d in out if status is None or d.status == status]


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


@router.get("/devices/{mn}", response_model=DeviceDetail)
def device_detail(
    mn: str,
    request: Request,
    p: Principal = Depends(require(*READERS)),
    s: Session = Depends(read_db),
) -> DeviceDetail:
    """One device: status, its last packet and recent connection events."""
    d, site = _visible(s, p, mn)
    last = s.execute(
        select(RawPacket.received_at, RawPacket.cn)
        .where(RawPacket.mn == mn)
        .order_by(RawPacket.received_at.desc())
        .limit(1)
    ).first()
    events = s.scalars(
        select(DeviceEvent).where(DeviceEvent.mn == mn).order_by(DeviceEvent.at.desc()).limit(50)
    )
    off = timedelta(minutes=ctx(request).settings.device_offline_minutes)
    return DeviceDetail(
        device=device_out(d, site, off, utcnow()),
        last_packet_at=last[0] if last else None,
        last_packet_cn=last[1] if last else None,
        events=[EventOut(at=e.at, kind=e.kind, peer=e.peer, detail=e.detail) for e in events],
    )


class RejectOut(BaseModel):
    id: int
    received_at: datetime
    peer: str | None
    mn: str | None
    reason: str
    detail: str | None
    preview: str = Field(description="start of the rejected bytes; access passwords masked")


def _preview(raw: bytes) -> str:
    return _PW_FIELD.sub(b"PW=******", raw[:300]).decode("latin-1")


@router.get("/rejects", response_model=list[RejectOut])
def rejects(
    mn: str | None = Query(None, max_length=32),
    limit: int = Query(100, ge=1, le=1000),
    before_id: QueryId = None,
    p: Principal = Depends(require(*READERS)),
    s: Session = Depends(read_db),
) -> list[RejectOut]:
    """The quarantine (reject log), newest first. Enterprise users see only their own
    devices' rejects; the others see all, including unknown MNs."""
    q = select(Quarantine).order_by(Quarantine.id.desc()).limit(limit)
    if mn:
        q = q.where(Quarantine.mn == mn)
    if p.role == "enterprise":
        own = select(Device.mn).join(Site, Site.id == Device.site_id).where(*_scope(p))
        q = q.where(Quarantine.mn.in_(own))
    if before_id:
        q = q.where(Quarantine.id < before_id)
    return [
        RejectOut(
            id=r.id,
            received_at=r.received_at,
            peer=r.peer,
            mn=r.mn,
            reason=r.reason,
            detail=r.detail,
            preview=_preview(r.raw),
        )
        for r in s.scalars(q)
    ]


class DeviceIn(BaseModel):
    mn: str = Field(pattern=r"^[0-9A-Za-z]{1,32}$", description="HJ 212 MN")
    pw: str = Field(pattern=PW_PATTERN, description="access password (PW)")
    st: str = Field(pattern=r"^\d{2}$", description="system code (ST), e.g. 22, 31, 32")
    site_code: str | None = Field(None, max_length=40)
    edition: Literal["2005", "2017", "2025"] = "2017"
    encoding: str = Field("gbk", max_length=16)
    minute_interval: int | None = Field(None, ge=1, le=60)


class DevicePatch(BaseModel):
    pw: str | None = Field(None, pattern=PW_PATTERN)
    st: str | None = Field(None, pattern=r"^\d{2}$")
    site_code: str | None = Field(None, max_length=40, description="empty string: detach")
    edition: Literal["2005", "2017", "2025"] | None = None
    encoding: str | None = Field(None, max_length=16)
    active: bool | None = None
    minute_interval: int | None = Field(None, ge=1, le=60)


def _site_id(s: Session, code: str | None) -> int | None:
    if not code:
        return None
    sid = s.scalar(select(Site.id).where(Site.code == code))
    if sid is None:
        raise HTTPException(422, f"no site with code {code!r}; add the site first")
    return sid


def _codec(name: str) -> str:
    import codecs

    try:
        return codecs.lookup(name).name
    except LookupError:
        raise HTTPException(
            422, f"unknown text encoding {name!r} (use e.g. gbk or utf-8)"
        ) from None


@router.post("/devices", response_model=DeviceOut, status_code=201)
def add_device(
    body: DeviceIn,
    request: Request,
    p: Principal = Depends(require("admin")),
    s: Session = Depends(write_db),
) -> DeviceOut:
    """Register a device (administrators only); the gateway accepts it within its cache TTL."""
    if s.scalar(select(Device.id).where(Device.mn == body.mn)) is not None:
        raise HTTPException(409, f"device {body.mn} is already registered; edit it instead")
    now = utcnow()
    d = Device(
        mn=body.mn,
        pw=body.pw,
        st=body.st,
        edition=body.edition,
        encoding=_codec(body.encoding),
        site_id=_site_id(s, body.site_code),
        active=True,
        minute_interval=body.minute_interval,
        created_at=now,
    )
    s.add(d)
    s.flush()
    s.add(DeviceHistory(device_id=d.id, at=now, change="added", site_id=d.site_id, note="web"))
    audit(
        s,
        p,
        request,
        action="create",
        entity="device",
        entity_id=d.mn,
        before=None,
        after=snapshot(d, DEVICE_FIELDS),
    )
    site = s.get(Site, d.site_id) if d.site_id else None
    off = timedelta(minutes=ctx(request).settings.device_offline_minutes)
    return device_out(d, site, off, now)


@router.patch("/devices/{mn}", response_model=DeviceOut)
def edit_device(
    mn: str,
    body: DevicePatch,
    request: Request,
    p: Principal = Depends(require("admin")),
    s: Session = Depends(write_db),
) -> DeviceOut:
    """Edit a device (administrators only). The access password is never echoed or audited."""
    d = s.scalar(select(Device).where(Device.mn == mn))
    if d is None:
        raise HTTPException(404, f"no device {mn}")
    before = snapshot(d, DEVICE_FIELDS)
    now = utcnow()
    if body.pw is not None:
        d.pw = body.pw
    if body.st is not None:
        d.st = body.st
    if body.edition is not None:
        d.edition = body.edition
    if body.encoding is not None:
        d.encoding = _codec(body.encoding)
    if body.minute_interval is not None:
        d.minute_interval = body.minute_interval
    if body.site_code is not None:
        new_site = _site_id(s, body.site_code)
        if new_site != d.site_id:
            d.site_id = new_site
            s.add(
                DeviceHistory(device_id=d.id, at=now, change="moved", site_id=new_site, note="web")
            )
    if body.active is not None and body.active != d.active:
        d.active = body.active
        change = "reactivated" if body.active else "retired"
        s.add(DeviceHistory(device_id=d.id, at=now, change=change, site_id=d.site_id, note="web"))
    after = snapshot(d, DEVICE_FIELDS)
    if body.pw is not None:
        after["pw"] = "changed"
    audit(
        s, p, request, action="update", entity="device", entity_id=d.mn, before=before, after=after
    )
    site = s.get(Site, d.site_id) if d.site_id else None
    off = timedelta(minutes=ctx(request).settings.device_offline_minutes)
    return device_out(d, site, off, now)
