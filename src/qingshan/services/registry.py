"""Device registry operations and the in-memory device directory used for authentication."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from qingshan.clock import utcnow
from qingshan.storage.db import READONLY, session_scope
from qingshan.storage.models import Device, DeviceGroup, DeviceHistory, Site, Upstream

EDITIONS = ("2005", "2017", "2025")
_MN = re.compile(r"^[0-9A-Za-z]{1,32}$")  # 2017/2025 MNs are 24 hex chars; 2005 ones shorter
_PW = re.compile(r"^[\x21-\x7e]{1,16}$")  # printable ASCII without ';' '=' '&'
_ST = re.compile(r"^\d{2}$")
_SM4 = re.compile(r"^[0-9A-Fa-f]{32}$")


class RegistryError(ValueError):
    """A registry operation that cannot be done, with a message for the user."""


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


def _check_codec(encoding: str) -> str:
    import codecs

    try:
        return codecs.lookup(encoding).name
    except LookupError:
        raise RegistryError(f"unknown text encoding {encoding!r} (use e.g. gbk or utf-8)") from None


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
) -> DeviceInfo:
    """Register a device (or re-activate a retired one with the same MN).

    ``sm4_key``: 32 hex digits, for HJ 212-2025 devices that SM4-encrypt their CP (§6.4).
    """
    if not _MN.match(mn):
        raise RegistryError(f"MN {mn!r} must be 1-32 letters/digits (HJ 212: 24 hex digits)")
    if not _PW.match(pw) or any(c in pw for c in ";=&,"):
        raise RegistryError("PW must be 1-16 printable ASCII characters without ; = & ,")
    if not _ST.match(st):
        raise RegistryError(f"ST {st!r} must be a 2-digit system code such as 22, 31 or 32")
    if edition not in EDITIONS:
        raise RegistryError(f"edition {edition!r} unknown; use one of {', '.join(EDITIONS)}")
    encoding = _check_codec(encoding)
    if sm4_key is not None and not _SM4.match(sm4_key):
        raise RegistryError("SM4 key must be 32 hex digits (16 bytes)")
    now = utcnow()
    with session_scope(engine) as s:
        site_row = None
        if site is not None:
            site_row = s.scalar(select(Site).where(Site.code == site))
            if site_row is None:
                raise RegistryError(f"no site with code {site!r}; add the site first")
        group_row = None
        if group is not None:
            group_row = s.scalar(select(DeviceGroup).where(DeviceGroup.name == group))
            if group_row is None:
                group_row = DeviceGroup(name=group)
                s.add(group_row)
                s.flush()
        dev = s.scalar(select(Device).where(Device.mn == mn))
        if dev is not None and dev.active:
            raise RegistryError(f"device {mn} is already registered")
        change = "added"
        if dev is None:
            dev = Device(mn=mn, created_at=now)
            s.add(dev)
        else:
            change = "reactivated"
        dev.pw, dev.st, dev.edition, dev.encoding, dev.active = pw, st, edition, encoding, True
        dev.sm4_key = sm4_key.upper() if sm4_key else None
        dev.site_id = site_row.id if site_row else None
        dev.group_id = group_row.id if group_row else None
        s.flush()
        s.add(DeviceHistory(device_id=dev.id, at=now, change=change, site_id=dev.site_id))
        device_id = dev.id
    info = get_device(engine, mn)
    assert info is not None and info.id == device_id
    return info


def retire_device(engine: Engine, mn: str, note: str | None = None) -> None:
    with session_scope(engine) as s:
        dev = s.scalar(select(Device).where(Device.mn == mn))
        if dev is None:
            raise RegistryError(f"no device with MN {mn}")
        if not dev.active:
            raise RegistryError(f"device {mn} is already retired")
        dev.active = False
        s.add(DeviceHistory(device_id=dev.id, at=utcnow(), change="retired", note=note))


def add_upstream(engine: Engine, *, name: str, host: str, port: int, group: str) -> int:
    """Forward every packet of ``group``'s devices to ``host:port`` (HJ 212 over TCP)."""
    if not 0 < port < 65536:
        raise RegistryError(f"port {port} out of range 1-65535")
    with session_scope(engine) as s:
        if s.scalar(select(Upstream).where(Upstream.name == name)) is not None:
            raise RegistryError(f"upstream {name!r} already exists")
        g = s.scalar(select(DeviceGroup).where(DeviceGroup.name == group))
        if g is None:
            g = DeviceGroup(name=group)
            s.add(g)
            s.flush()
        up = Upstream(name=name, host=host, port=port, group_id=g.id, active=True)
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

    Reloaded every ``ttl`` seconds, and at most once a second when an unknown MN shows up, so
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

    def get(self, mn: str) -> DeviceInfo | None:
        now = time.monotonic()
        age = now - self._loaded
        if age > self.ttl or (mn not in self._by_mn and age > 1.0):
            self.reload()
        return self._by_mn.get(mn)

    def peek(self, mn: str) -> DeviceInfo | None:
        """Cached lookup without any reload (for the event loop thread)."""
        return self._by_mn.get(mn)


def seed_factors(engine: Engine) -> int:
    """Fill ``factor`` from the protocol library's HJ 212 code tables; returns rows added.

    2017 codes (HJ 212-2017 附录B) with name and unit, plus the HJ/T 212-2005 code each one
    replaces (edition 2005, ``code_2017`` pointing at the new code). Existing rows are kept, so
    a deployment's own corrections survive ``qingshan init``.
    """
    from sqlalchemy import Table

    from qingshan.protocol.hj212.codes import pollutant_table
    from qingshan.storage.models import Factor
    from qingshan.storage.writes import dialect_insert

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
    table = Factor.__table__
    assert isinstance(table, Table)
    with engine.begin() as conn:
        before = conn.execute(select(func.count()).select_from(table)).scalar() or 0
        conn.execute(dialect_insert(conn, table).on_conflict_do_nothing(), list(rows.values()))
        after = conn.execute(select(func.count()).select_from(table)).scalar() or 0
    return int(after - before)
