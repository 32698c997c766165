"""Devices (数采仪): status, last packet, reject log; registration and editing (administrators)."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from sqlalchemy.orm import Session

from qingshan.clock import CST
from qingshan.roles import Principal
from qingshan.services import registry
from qingshan.services.permissions import DEVICE_ADMINS, READERS
from qingshan.web.deps import QueryId, client_of, ctx, read_db, require, write_db
from qingshan.web.labels import OUTLET_STATUS
from qingshan.web.schemas.devices import (
    DeviceDetail,
    DeviceIn,
    DeviceOut,
    DevicePatch,
    EventOut,
    RejectOut,
)

router = APIRouter(tags=["devices"])


# An access password as a device sends it (any case, "PW=…" up to the field's end) or as a
# parser quotes it in a reason ("PW='…'"); masked in every text shown, for every role.
_PW_TEXT = re.compile(r"""(?i)(\bPW\s*=\s*)('[^']*'?|"[^"]*"?|[^;&\s,]*)""")


def mask_secrets(text: str) -> str:
    """``text`` with every access password replaced by ``******``."""
    return _PW_TEXT.sub(r"\1******", text)


def _offline_after(request: Request) -> timedelta:
    return timedelta(minutes=ctx(request).settings.device_offline_minutes)


def device_out(x: registry.DeviceState) -> DeviceOut:
    d, site = x.device, x.site
    status: Literal["online", "offline"] = "online" if x.online else "offline"
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
        group=x.group,
        sm4_key_set=d.sm4_key is not None,
        minute_interval=d.minute_interval,
        report_interval=d.report_interval,
        created_at=d.created_at,
        last_seen_at=d.last_seen_at,
        last_peer=d.last_peer,
        last_report=None if x.last_report is None else x.last_report.replace(tzinfo=CST),
        interval_minutes=x.interval.minutes,
        status=status,
        status_label=OUTLET_STATUS[status],
    )


@router.get("/devices", response_model=list[DeviceOut])
def list_devices(
    request: Request,
    status: Literal["online", "offline"] | None = None,
    site_id: QueryId = None,
    p: Principal = Depends(require(*READERS)),
    s: Session = Depends(read_db),
) -> list[DeviceOut]:
    """Devices with online/offline status (offline: silent longer than the configured
    ``device_offline_minutes``, or than the reporting interval plus that for a device slower
    than hourly), the interval and the last stored data time; enterprise users see only their
    own outlets' devices."""
    states = registry.device_states(
        s,
        p,
        offline_after=_offline_after(request),
        site_id=site_id,
        online=None if status is None else status == "online",
    )
    return [device_out(x) for x in states]


@router.get("/devices/{mn}", response_model=DeviceDetail)
def device_detail(
    mn: str,
    request: Request,
    p: Principal = Depends(require(*READERS)),
    s: Session = Depends(read_db),
) -> DeviceDetail:
    """One device: status, its last packet and recent connection events."""
    state = registry.device_state(s, p, mn, offline_after=_offline_after(request))
    last = registry.last_packet(s, mn)
    return DeviceDetail(
        device=device_out(state),
        last_packet_at=last[0] if last else None,
        last_packet_cn=last[1] if last else None,
        events=[
            EventOut(at=e.at, kind=e.kind, peer=e.peer, detail=e.detail)
            for e in registry.device_events(s, mn)
        ],
    )


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
    return [
        RejectOut(
            id=r.id,
            received_at=r.received_at,
            peer=r.peer,
            mn=r.mn,
            reason=r.reason,
            detail=mask_secrets(r.detail) if r.detail else r.detail,
            preview=mask_secrets(registry.reject_preview(r.raw)),
        )
        for r in registry.rejects(s, p, mn=mn, limit=limit, before_id=before_id)
    ]


@router.post(
    "/devices",
    response_model=DeviceOut,
    status_code=201,
    responses={
        200: {"model": DeviceOut, "description": "a retired device with this MN re-activated"},
        409: {"description": "an active device has this MN"},
    },
)
def add_device(
    body: DeviceIn,
    request: Request,
    response: Response,
    p: Principal = Depends(require(*DEVICE_ADMINS)),
    s: Session = Depends(write_db, scope="function"),
) -> DeviceOut:
    """Register a device, or re-activate the retired device with this MN (administrators
    only), as ``qingshan device add`` does; the gateway accepts it within its cache TTL."""
    reg = registry.register_device(
        s,
        p,
        mn=body.mn,
        pw=body.pw,
        st=body.st,
        site=body.site_code,
        edition=body.edition,
        encoding=body.encoding,
        group=body.group,
        sm4_key=body.sm4_key,
        minute_interval=body.minute_interval,
        report_interval=body.report_interval,
        client=client_of(request),
    )
    if reg.reactivated:
        response.status_code = 200
    return device_out(registry.device_state(s, p, body.mn, offline_after=_offline_after(request)))


@router.patch("/devices/{mn}", response_model=DeviceOut)
def edit_device(
    mn: str,
    body: DevicePatch,
    request: Request,
    p: Principal = Depends(require(*DEVICE_ADMINS)),
    s: Session = Depends(write_db, scope="function"),
) -> DeviceOut:
    """Edit a device (administrators only). The access password and SM4 key are never
    echoed or audited."""
    registry.update_device(
        s,
        p,
        mn,
        pw=body.pw,
        st=body.st,
        site=body.site_code,
        edition=body.edition,
        encoding=body.encoding,
        group=body.group,
        sm4_key=body.sm4_key,
        active=body.active,
        minute_interval=body.minute_interval,
        report_interval=body.report_interval,
        client=client_of(request),
    )
    return device_out(registry.device_state(s, p, mn, offline_after=_offline_after(request)))
