"""Devices (数采仪) and their groups, site look-ups for the data pages; the in-memory device
directory the gateway authenticates against; the factor table.

One function per use case, whoever asks: ``qingshan device add`` and ``POST /api/v1/devices``
both call :func:`register_device`, so a retired MN is re-activated, a device group and an SM4
key can be given, and every check and audit entry is the same through either.
"""

from __future__ import annotations

import codecs
import re
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, func, insert, select
from sqlalchemy.orm import Session

from qingshan.clock import to_cst, utcnow
from qingshan.roles import CLI, Principal
from qingshan.services import audit, intervals
from qingshan.services.errors import Conflict, NotFound
from qingshan.services.permissions import device_scope, reject_scope, site_scope
from qingshan.services.registry.common import RegistryError, record_change
from qingshan.storage.db import READONLY, session_scope
from qingshan.storage.models import (
    Device,
    DeviceEvent,
    DeviceGroup,
    DeviceHistory,
    Enterprise,
    Factor,
    Quarantine,
    RawPacket,
    Site,
    Upstream,
)

EDITIONS = ("2005", "2017", "2025")
# 2017/2025 MNs are 24 hex digits; 2005 ones shorter. Patterns also serve the web's OpenAPI.
MN_PATTERN = r"^[0-9A-Za-z]{1,32}$"
# Printable ASCII without ; = & , (the HJ 212 field separators).
PW_PATTERN = r"^[!-%'-+\--:<>-~]{1,16}$"
ST_PATTERN = r"^\d{2}$"
SM4_PATTERN = r"^[0-9A-Fa-f]{32}$"
_MN, _PW, _ST, _SM4 = (re.compile(p) for p in (MN_PATTERN, PW_PATTERN, ST_PATTERN, SM4_PATTERN))
# Audited device fields; the access password and the SM4 key never enter the log.
DEVICE_FIELDS = ("mn", "st", "edition", "encoding", "site_id", "group_id", "active")
_PW_FIELD = re.compile(rb"PW=[^;&]*")


class DeviceExists(RegistryError, Conflict):
    """The MN belongs to an active device."""


class UnknownDevice(RegistryError, NotFound):
    """No device with that MN (or not one the principal may see)."""


# ---------------------------------------------------------------------------- sites


@dataclass(frozen=True, slots=True)
class SitePage:
    total: int
    items: list[tuple[Site, str | None]]  # site, its enterprise's name


def find_sites(
    s: Session,
    p: Principal,
    *,
    kind: str | None = None,
    region: str | None = None,
    text: str | None = None,
    limit: int = 200,
    offset: int = 0,
) -> SitePage:
    """Visible sites by kind, region code prefix and part of the name or code."""
    cond = [site_scope(p)]
    if kind:
        cond.append(Site.kind == kind)
    if region:
        cond.append(Site.region_code.startswith(region))
    if text:
        like = f"%{text.replace('%', '').replace('_', '')}%"
        cond.append(Site.name.like(like) | Site.code.like(like))
    total = s.scalar(select(func.count()).select_from(Site).where(*cond)) or 0
    rows = s.execute(
        select(Site, Enterprise.name)
        .outerjoin(Enterprise, Enterprise.id == Site.enterprise_id)
        .where(*cond)
        .order_by(Site.kind, Site.code)
        .limit(limit)
        .offset(offset)
    )
    return SitePage(total=total, items=[(x, en) for x, en in rows])


def enterprise_name(s: Session, site: Site) -> str | None:
    ent = s.get(Enterprise, site.enterprise_id) if site.enterprise_id else None
    return ent.name if ent else None


def site_devices(s: Session, site_id: int) -> list[Device]:
    return list(s.scalars(select(Device).where(Device.site_id == site_id).order_by(Device.mn)))


def _site_id(s: Session, code: str | None) -> int | None:
    if not code:
        return None
    sid = s.scalar(select(Site.id).where(Site.code == code))
    if sid is None:
        raise RegistryError(f"no site with code {code!r}; add the site first")
    return sid


def _group_id(s: Session, name: str | None) -> int | None:
    """The group's id, creating the group on first use."""
    if not name:
        return None
    g = s.scalar(select(DeviceGroup).where(DeviceGroup.name == name))
    if g is None:
        if len(name) > 100:
            raise RegistryError("group name must be at most 100 characters")
        g = DeviceGroup(name=name)
        s.add(g)
        s.flush()
    return g.id


# ---------------------------------------------------------------------------- devices


def _codec(name: str) -> str:
    try:
        return codecs.lookup(name).name
    except LookupError:
        raise RegistryError(f"unknown text encoding {name!r} (use e.g. gbk or utf-8)") from None


def _check_pw(pw: str) -> None:
    if not _PW.match(pw):
        raise RegistryError("PW must be 1-16 printable ASCII characters without ; = & ,")


def _check_st(st: str) -> None:
    if not _ST.match(st):
        raise RegistryError(f"ST {st!r} must be a 2-digit system code such as 22, 31 or 32")


def _check_edition(edition: str) -> None:
    if edition not in EDITIONS:
        raise RegistryError(f"edition {edition!r} unknown; use one of {', '.join(EDITIONS)}")


def _check_sm4(key: str) -> str:
    if not _SM4.match(key):
        raise RegistryError("SM4 key must be 32 hex digits (16 bytes)")
    return key.upper()


def _check_interval(minutes: int) -> None:
    if not 1 <= minutes <= 60:
        raise RegistryError("minute interval must be 1-60 minutes")


def _check_report_interval(minutes: int) -> None:
    if not 60 <= minutes <= 1440:
        raise RegistryError("report interval must be 60-1440 minutes (hourly to daily)")


def _audited(d: Device) -> dict[str, Any]:
    out = audit.snapshot(d, DEVICE_FIELDS)
    out["minute_interval"] = d.minute_interval
    out["report_interval"] = d.report_interval
    out["sm4_key"] = "set" if d.sm4_key else None
    return out


@dataclass(frozen=True, slots=True)
class Registration:
    device: Device
    reactivated: bool  # an existing, retired device with this MN was taken back into use


def register_device(
    s: Session,
    actor: Principal,
    *,
    mn: str,
    pw: str,
    st: str,
    site: str | None = None,
    edition: str = "2017",
    encoding: str = "gbk",
    group: str | None = None,
    sm4_key: str | None = None,
    minute_interval: int | None = None,
    client: str | None = None,
    report_interval: int | None = None,
) -> Registration:
    """Register a device, or re-activate the retired device with the same MN (its history and
    data stay attached). An active device with that MN is :class:`DeviceExists`.

    ``site``: the code of the site it serves; ``group``: its device group (created on first
    use; the group's upstream platforms receive its data); ``sm4_key``: 32 hex digits, for
    HJ 212-2025 devices that SM4-encrypt their CP (§6.4); ``minute_interval``: minutes between
    its minute records (None: inferred from the data); ``report_interval``: minutes between
    its hourly-or-coarser records, 60–1440 (240 for a water station sampling every 4 hours;
    None: inferred from the data, :mod:`qingshan.services.intervals`).
    """
    if not _MN.match(mn):
        raise RegistryError(f"MN {mn!r} must be 1-32 letters/digits (HJ 212: 24 hex digits)")
    _check_pw(pw)
    _check_st(st)
    _check_edition(edition)
    encoding = _codec(encoding)
    key = _check_sm4(sm4_key) if sm4_key else None
    if minute_interval is not None:
        _check_interval(minute_interval)
    if report_interval is not None:
        _check_report_interval(report_interval)
    site_id = _site_id(s, site)
    dev = s.scalar(select(Device).where(Device.mn == mn))
    if dev is not None and dev.active:
        raise DeviceExists(f"device {mn} is already registered; edit it instead")
    now = utcnow()
    before = None if dev is None else _audited(dev)
    if dev is None:
        dev = Device(mn=mn, created_at=now)
        s.add(dev)
    dev.pw, dev.st, dev.edition, dev.encoding, dev.active = pw, st, edition, encoding, True
    dev.sm4_key = key
    dev.site_id = site_id
    dev.group_id = _group_id(s, group)
    dev.minute_interval = minute_interval
    dev.report_interval = report_interval
    s.flush()
    change = "added" if before is None else "reactivated"
    s.add(DeviceHistory(device_id=dev.id, at=now, change=change, site_id=site_id, note=actor.via))
    record_change(
        s, actor, entity="device", key=mn, before=before, after=_audited(dev), client=client
    )
    return Registration(dev, before is not None)


def update_device(
    s: Session,
    actor: Principal,
    mn: str,
    *,
    pw: str | None = None,
    st: str | None = None,
    site: str | None = None,
    edition: str | None = None,
    encoding: str | None = None,
    group: str | None = None,
    sm4_key: str | None = None,
    active: bool | None = None,
    minute_interval: int | None = None,
    note: str | None = None,
    client: str | None = None,
    report_interval: int | None = None,
) -> Device:
    """Change what is given (None: unchanged; ``site``, ``group``, ``sm4_key`` = "": remove;
    ``report_interval`` = 0: remove, inferred from the data again).
    Moves and (de)activations go into the device's history; the audit entry shows the access
    password and SM4 key only as ``"changed"``."""
    d = s.scalar(select(Device).where(Device.mn == mn))
    if d is None:
        raise UnknownDevice(f"没有MN为 {mn} 的设备")
    before = _audited(d)
    now = utcnow()
    if pw is not None:
        _check_pw(pw)
        d.pw = pw
    if st is not None:
        _check_st(st)
        d.st = st
    if edition is not None:
        _check_edition(edition)
        d.edition = edition
    if encoding is not None:
        d.encoding = _codec(encoding)
    if minute_interval is not None:
        _check_interval(minute_interval)
        d.minute_interval = minute_interval
    if report_interval is not None:
        if report_interval:
            _check_report_interval(report_interval)
        d.report_interval = report_interval or None
    if sm4_key is not None:
        d.sm4_key = _check_sm4(sm4_key) if sm4_key else None
    if group is not None:
        d.group_id = _group_id(s, group)
    history_note = note or actor.via
    if site is not None:
        new_site = _site_id(s, site)
        if new_site != d.site_id:
            d.site_id = new_site
            s.add(
                DeviceHistory(
                    device_id=d.id, at=now, change="moved", site_id=new_site, note=history_note
                )
            )
    if active is not None and active != d.active:
        d.active = active
        s.add(
            DeviceHistory(
                device_id=d.id,
                at=now,
                change="reactivated" if active else "retired",
                site_id=d.site_id,
                note=history_note,
            )
        )
    after = _audited(d)
    if pw is not None:
        after["pw"] = "changed"
    if sm4_key:
        after["sm4_key"] = "changed"
    record_change(s, actor, entity="device", key=d.mn, before=before, after=after, client=client)
    return d


@dataclass(frozen=True, slots=True)
class DeviceState:
    """A device as an operator sees it: its site and group, whether it is online, how often it
    reports and its last stored data (:mod:`qingshan.services.intervals`)."""

    device: Device
    site: Site | None
    group: str | None
    online: bool
    interval: intervals.Interval = intervals.DEFAULT
    last_report: datetime | None = None  # latest stored data time, naive Beijing time


def is_online(d: Device, offline_after: timedelta, now: datetime) -> bool:
    """Active and heard from within ``offline_after`` (settings ``device_offline_minutes``)."""
    return d.active and d.last_seen_at is not None and now - d.last_seen_at <= offline_after


def _states(s: Session, q: Any, offline_after: timedelta, now: datetime) -> list[DeviceState]:
    rows = s.execute(q.order_by(Device.mn)).all()
    ids = [d.id for d, _site, _g in rows]
    # online at the device's own interval: a section sampling every 4 hours is not 离线
    # between samples (the rule of the cockpit and the map)
    silent = intervals.silent_devices(s, offline_after, now, ids)
    steps = intervals.device_intervals(s, ids, to_cst(now))
    last = intervals.last_reports(s, ids)
    return [
        DeviceState(d, site, g, d.active and d.id not in silent, steps[d.id], last.get(d.id))
        for d, site, g in rows
    ]


def _state_query(p: Principal) -> Any:
    return (
        select(Device, Site, DeviceGroup.name)
        .outerjoin(Site, Site.id == Device.site_id)
        .outerjoin(DeviceGroup, DeviceGroup.id == Device.group_id)
        .where(device_scope(p))
    )


def device_states(
    s: Session,
    p: Principal,
    *,
    offline_after: timedelta,
    site_id: int | None = None,
    online: bool | None = None,
    now: datetime | None = None,
) -> list[DeviceState]:
    """Visible devices by MN, optionally of one site, optionally only online (or offline)."""
    q = _state_query(p)
    if site_id is not None:
        q = q.where(Device.site_id == site_id)
    out = _states(s, q, offline_after, now or utcnow())
    return [d for d in out if online is None or d.online == online]


def device_state(
    s: Session, p: Principal, mn: str, *, offline_after: timedelta, now: datetime | None = None
) -> DeviceState:
    """One visible device; :class:`UnknownDevice` when absent or out of scope."""
    found = _states(s, _state_query(p).where(Device.mn == mn), offline_after, now or utcnow())
    if not found:
        raise UnknownDevice(f"没有MN为 {mn} 的设备")
    return found[0]


def last_packet(s: Session, mn: str) -> tuple[datetime, str] | None:
    """When the device's last accepted packet arrived (UTC) and its CN."""
    row = s.execute(
        select(RawPacket.received_at, RawPacket.cn)
        .where(RawPacket.mn == mn)
        .order_by(RawPacket.received_at.desc())
        .limit(1)
    ).first()
    return (row[0], row[1]) if row else None


def device_events(s: Session, mn: str, limit: int = 50) -> list[DeviceEvent]:
    return list(
        s.scalars(
            select(DeviceEvent)
            .where(DeviceEvent.mn == mn)
            .order_by(DeviceEvent.at.desc())
            .limit(limit)
        )
    )


def rejects(
    s: Session,
    p: Principal,
    *,
    mn: str | None = None,
    limit: int = 100,
    before_id: int | None = None,
) -> list[Quarantine]:
    """The reject log (quarantine) within scope, newest first."""
    q = select(Quarantine).where(reject_scope(p)).order_by(Quarantine.id.desc()).limit(limit)
    if mn:
        q = q.where(Quarantine.mn == mn)
    if before_id:
        q = q.where(Quarantine.id < before_id)
    return list(s.scalars(q))


def reject_preview(raw: bytes) -> str:
    """The start of rejected bytes, access passwords masked."""
    return _PW_FIELD.sub(b"PW=******", raw[:300]).decode("latin-1")


# ------------------------------------------------------------- engine-level conveniences


@dataclass(frozen=True, slots=True)
class DeviceInfo:
    id: int
    mn: str
    pw: str
    st: str
    edition: str
    encoding: str
    active: bool
    site_code: str | None
    group: str | None
    upstream_ids: tuple[int, ...]
    sm4_key: bytes | None = None


def add_device(
    engine: Engine,
    *,
    mn: str,
    pw: str,
    st: str,
    site: str | None = None,
    edition: str = "2017",
    encoding: str = "gbk",
    group: str | None = None,
    sm4_key: str | None = None,
    minute_interval: int | None = None,
    actor: Principal = CLI,
    report_interval: int | None = None,
) -> DeviceInfo:
    """:func:`register_device` in a transaction of its own (command line, tests, loaders)."""
    with session_scope(engine) as s:
        register_device(
            s,
            actor,
            mn=mn,
            pw=pw,
            st=st,
            site=site,
            edition=edition,
            encoding=encoding,
            group=group,
            sm4_key=sm4_key,
            minute_interval=minute_interval,
            report_interval=report_interval,
        )
    info = get_device(engine, mn)
    assert info is not None
    return info


def retire_device(engine: Engine, mn: str, note: str | None = None, actor: Principal = CLI) -> None:
    """Take a device out of use (its data stay; registering the MN again re-activates it)."""
    with session_scope(engine) as s:
        active = s.scalar(select(Device.active).where(Device.mn == mn))
        if active is None:
            raise UnknownDevice(f"没有MN为 {mn} 的设备")
        if not active:
            raise RegistryError(f"device {mn} is already retired")
        update_device(s, actor, mn, active=False, note=note)


def add_upstream(engine: Engine, *, name: str, host: str, port: int, group: str) -> int:
    """Forward every packet of ``group``'s devices to ``host:port`` (HJ 212 over TCP)."""
    if not 0 < port < 65536:
        raise RegistryError(f"port {port} out of range 1-65535")
    with session_scope(engine) as s:
        if s.scalar(select(Upstream).where(Upstream.name == name)) is not None:
            raise RegistryError(f"upstream {name!r} already exists")
        gid = _group_id(s, group)
        assert gid is not None
        up = Upstream(name=name, host=host, port=port, group_id=gid, active=True)
        s.add(up)
        s.flush()
        return up.id


def _load(session: Session, mn: str | None = None) -> list[DeviceInfo]:
    ups: dict[int, list[int]] = {}
    for up in session.scalars(select(Upstream).where(Upstream.active)):
        ups.setdefault(up.group_id, []).append(up.id)
    groups = {g.id: g.name for g in session.scalars(select(DeviceGroup))}
    # Plain rows, not ORM objects: the gateway reloads thousands of devices periodically.
    d = Device.__table__.c
    q = (
        select(
            d.id,
            d.mn,
            d.pw,
            d.st,
            d.edition,
            d.encoding,
            d.active,
            d.group_id,
            d.sm4_key,
            Site.code,
        )
        .select_from(Device.__table__.outerjoin(Site, Site.id == d.site_id))
        .order_by(d.mn)
    )
    if mn is not None:
        q = q.where(d.mn == mn)
    out = []
    for r in session.execute(q):
        gid = r.group_id
        out.append(
            DeviceInfo(
                id=r.id,
                mn=r.mn,
                pw=r.pw,
                st=r.st,
                edition=r.edition,
                encoding=r.encoding,
                active=bool(r.active),
                site_code=r.code,
                group=groups.get(gid) if gid else None,
                upstream_ids=tuple(sorted(ups.get(gid, []))) if gid else (),
                sm4_key=bytes.fromhex(r.sm4_key) if r.sm4_key else None,
            )
        )
    return out


def list_devices(engine: Engine) -> Sequence[DeviceInfo]:
    with session_scope(engine.execution_options(**READONLY)) as s:
        return _load(s)


def get_device(engine: Engine, mn: str) -> DeviceInfo | None:
    with session_scope(engine.execution_options(**READONLY)) as s:
        rows = _load(s, mn)
    return rows[0] if rows else None


class Directory:
    """Devices by MN, cached in memory for authenticating every packet without a query.

    One device is read with :meth:`load_one` (the gateway does so, rate-limited, for an MN
    missing from the cache). Reloaded every ``ttl`` seconds, and at most once a second when
    :meth:`get` meets an unknown MN, so
    a device added with ``qingshan device add`` is accepted within a second by a running
    gateway, and a changed password or retirement within ``ttl``.
    """

    def __init__(self, engine: Engine, ttl: float = 30.0) -> None:
        self.engine = engine
        self.ttl = ttl
        self._by_mn: dict[str, DeviceInfo] = {}
        self._loaded = float("-inf")
        self._lock = threading.Lock()

    def reload(self) -> None:
        devices = list_devices(self.engine)
        with self._lock:
            self._by_mn = {d.mn: d for d in devices}
            self._loaded = time.monotonic()

    def load_one(self, mn: str) -> DeviceInfo | None:
        """Read one device from the database into the cache (one indexed query, not a
        reload of every device): a device registered a moment ago, or one that is gone."""
        dev = get_device(self.engine, mn)
        with self._lock:
            if dev is None:
                self._by_mn.pop(mn, None)
            else:
                self._by_mn[mn] = dev
        return dev

    def get(self, mn: str) -> DeviceInfo | None:
        now = time.monotonic()
        age = now - self._loaded
        if age > self.ttl or (mn not in self._by_mn and age > 1.0):
            self.reload()
        return self._by_mn.get(mn)

    def peek(self, mn: str) -> DeviceInfo | None:
        """Cached lookup without any reload (for the event loop thread)."""
        return self._by_mn.get(mn)


# ---------------------------------------------------------------------------- factors


def seed_factors(engine: Engine) -> int:
    """Fill ``factor`` from the protocol library's HJ 212 code tables; returns rows added.

    2017 codes (HJ 212-2017 附录B) with name and unit, plus the HJ/T 212-2005 code each one
    replaces (edition 2005, ``code_2017`` pointing at the new code). Existing rows are kept, so
    a deployment's own corrections survive ``qingshan init``.
    """
    from qingshan.protocol.hj212.codes import pollutant_table

    media = {"w": "water", "a": "air"}
    rows: dict[tuple[str, str], dict[str, object]] = {}
    for code, info in pollutant_table().items():
        medium = media.get(code[:1])
        rows[(code, "2017")] = {
            "code": code,
            "edition": "2017",
            "name": info.name,
            "unit": info.unit or None,
            "medium": medium,
            "code_2017": None,
        }
        if info.code_2005:
            rows.setdefault(
                (info.code_2005, "2005"),
                {
                    "code": info.code_2005,
                    "edition": "2005",
                    "name": info.name,
                    "unit": info.unit or None,
                    "medium": medium,
                    "code_2017": code,
                },
            )
    with engine.begin() as conn:
        have = {(c, e) for c, e in conn.execute(select(Factor.code, Factor.edition))}
        new = [r for k, r in rows.items() if k not in have]
        if new:
            conn.execute(insert(Factor), new)
    return len(new)
