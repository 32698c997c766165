"""Parsed HJ 212 packets → stored data, in one transaction per batch, idempotently.

This is the single validation-and-write path used by the gateway (group commit: one call per
batch of packets from many connections) and by ``qingshan ingest-file``.

Per packet:

1. **Authentication** (the protocol library's :func:`~qingshan.protocol.hj212.check_access`).
   The MN must belong to an active device and the PW must match (HJ 212 QnRtn 4 "MN error" /
   3 "PW error"); the ST must be the device's or 91 (系统交互, QnRtn 5). A rejected packet goes
   to ``quarantine`` with the reason; nothing else is stored.
2. **Validation.** Upload commands (CN 2011/2051/2061/2031) need a ``DataTime``; every value
   must be a finite decimal number and every data flag one of N F M S D C T B. A violation
   rejects the whole packet (reason ``missing_datatime`` / ``bad_value`` / ``bad_flag``).
3. **Idempotency.** The key is (MN, QN, CN); a packet without QN is keyed by a digest of its
   data segment. The key is inserted with ``ON CONFLICT DO NOTHING RETURNING``; a packet whose
   key already exists (a re-send after a lost acknowledgement, or a 2025 ``RF=1`` resend) is a
   *duplicate*: acknowledged again, never stored twice.
4. **Storage.** Observations (CN 2011 → realtime, 2051 → minute, 2061 → hour, 2031 → day)
   are upserted: a later packet with a different QN for the same device, code, resolution and
   time is a correction and replaces the value (and always replaces a derived value). Other
   commands with content (2021 running state, 2041 running time, 3020 site information, …)
   go to ``device_status``. The raw bytes go to ``raw_packet``; minute/hour inputs mark their
   hour/day bucket for roll-up; the packet is queued for each upstream platform of the
   device's group. Heartbeats (9015) and the device's own replies (90xx) only update
   last-seen.

All of it, for the whole batch, commits in one transaction (the statements are
:mod:`qingshan.storage.writes`); the caller acknowledges packets only after
:meth:`Ingestor.write` returned, with the replies of :func:`~qingshan.protocol.hj212.reply_to`.
Rejection reasons are :class:`~qingshan.protocol.hj212.Reason` codes.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

from sqlalchemy import Engine
from sqlalchemy.engine import Connection

from qingshan.clock import utcnow
from qingshan.protocol.hj212 import (
    ANSWER_CNS,
    HEARTBEAT_CN,
    Packet,
    Reason,
    check_access,
)
from qingshan.protocol.hj212.codes import data_flags
from qingshan.services.registry import DeviceInfo, Directory
from qingshan.storage import partitions, writes
from qingshan.storage.models import (
    Base,
    ForwardItem,
    Quarantine,
    RawPacket,
    Resolution,
)

DATA_CN: dict[str, Resolution] = {
    "2011": Resolution.REALTIME,
    "2051": Resolution.MINUTE,
    "2061": Resolution.HOUR,
    "2031": Resolution.DAY,
}
#: Commands that only update last-seen: a device's answers and its heartbeat.
SEEN_ONLY_CN = ANSWER_CNS | {HEARTBEAT_CN}
FLAGS = frozenset(data_flags())
_DECIMAL = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")

# Field suffixes → observation columns. Realtime uploads carry Rtd/ZsRtd, interval uploads
# Avg/Min/Max/Cou/ZsAvg.
_NUMERIC_FIELDS = frozenset(("Rtd", "Avg", "Min", "Max", "Cou", "ZsRtd", "ZsAvg", "ZsMin", "ZsMax"))


@dataclass(frozen=True, slots=True)
class Accepted:
    """A packet that parsed; it still has to pass authentication."""

    packet: Packet
    raw: bytes
    peer: str | None = None
    received_at: datetime = field(default_factory=utcnow)
    # The frames as parsed: the packet itself, or every part of a split packet (each part
    # that asked for a reply is answered once the merged packet is committed).
    parts: tuple[Packet, ...] = ()


@dataclass(frozen=True, slots=True)
class Rejected:
    """Input that is rejected before storage (unparsable frame, failed check)."""

    raw: bytes
    reason: Reason
    detail: str = ""
    mn: str | None = None
    peer: str | None = None
    received_at: datetime = field(default_factory=utcnow)

    def __post_init__(self) -> None:
        object.__setattr__(self, "reason", Reason(self.reason))  # an unknown code is a bug


Item = Accepted | Rejected
Status = Literal["stored", "duplicate", "seen", "rejected"]


@dataclass(frozen=True, slots=True)
class Outcome:
    status: Status
    reason: Reason | None = None
    detail: str = ""
    qn_rtn: int | None = None  # QnRtn for a 9011 reply to a rejected packet

    @property
    def committed(self) -> bool:
        """True when the packet may be acknowledged (its effect is durable)."""
        return self.status in ("stored", "duplicate", "seen")


class PacketRejected(Exception):
    def __init__(self, reason: Reason, detail: str, qn_rtn: int | None = None) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason, self.detail, self.qn_rtn = reason, detail, qn_rtn


def idempotency_key(packet: Packet) -> tuple[str, str, str]:
    qn = packet.qn or "sha1:" + hashlib.sha1(packet.segment.encode("utf-8")).hexdigest()
    return packet.mn, qn, packet.cn


def authenticate(packet: Packet, device: DeviceInfo | None) -> DeviceInfo:
    """Return the device, or raise :class:`PacketRejected` with the HJ 212 QnRtn code."""
    refusal = check_access(packet, device)
    if refusal is not None:
        raise PacketRejected(refusal.reason, refusal.detail, refusal.qn_rtn)
    assert device is not None
    return device


def _decimal_text(code: str, suffix: str, text: str) -> str:
    try:
        d = Decimal(text)
    except InvalidOperation:
        raise PacketRejected(
            Reason.BAD_VALUE, f"{code}-{suffix}={text!r} is not a number"
        ) from None
    if not d.is_finite():
        raise PacketRejected(Reason.BAD_VALUE, f"{code}-{suffix}={text!r} is not finite")
    return text


def observation_rows(packet: Packet, device_id: int) -> list[dict[str, Any]]:
    """The observation rows of a data upload (CN 2011/2051/2061/2031)."""
    res = int(DATA_CN[packet.cn])
    when = packet.cp.data_time
    if when is None:
        raise PacketRejected(Reason.MISSING_DATATIME, f"CN {packet.cn} without DataTime")
    rows = []
    for code, pol in packet.cp.pollutants.items():
        fields = pol.fields
        for suffix in _NUMERIC_FIELDS.intersection(fields):
            text = fields[suffix]
            if _DECIMAL.fullmatch(text) is None:  # fast path; Decimal gives the exact verdict
                _decimal_text(code, suffix, text)
        flag = fields.get("Flag")
        if flag is not None and flag not in FLAGS:
            raise PacketRejected(
                Reason.BAD_FLAG, f"{code}-Flag={flag!r} is not one of N F M S D C T B"
            )
        value = fields.get("Rtd")
        if value is None:
            value = fields.get("Avg")
        zs = fields.get("ZsRtd")
        if zs is None:
            zs = fields.get("ZsAvg")
        rows.append(
            {
                "device_id": device_id,
                "resolution": res,
                "data_time": when,
                "code": code,
                "value": value,
                "vmin": fields.get("Min"),
                "vmax": fields.get("Max"),
                "cou": fields.get("Cou"),
                "zs": zs,
                "zs_min": fields.get("ZsMin"),
                "zs_max": fields.get("ZsMax"),
                "flag": flag,
                "derived": False,
                "samples": None,
            }
        )
    return rows


def status_rows(packet: Packet, device_id: int, received_at: datetime) -> list[dict[str, Any]]:
    """Non-measurement content (running state, site information, …) as code → text rows."""
    when = packet.cp.data_time or received_at
    rows: dict[str, dict[str, Any]] = {}
    for code, pol in packet.cp.pollutants.items():
        for suffix, text in pol.fields.items():
            name = f"{code}-{suffix}" if suffix else code
            rows[name] = {"code": name, "value": str(text)}
    for name, text in packet.cp.params.items():
        if name != "DataTime":
            rows[name] = {"code": name, "value": str(text)}
    return [
        {"device_id": device_id, "data_time": when, "cn": packet.cn, **r} for r in rows.values()
    ]


@dataclass
class _Plan:
    index: int
    item: Accepted
    device: DeviceInfo
    key: tuple[str, str, str]
    observations: list[dict[str, Any]]
    status: list[dict[str, Any]]
    seen_only: bool


class Ingestor:
    """Writes batches of packets; one instance per process (it caches the device directory)."""

    def __init__(self, engine: Engine, directory: Directory | None = None) -> None:
        self.engine = engine
        self.directory = directory or Directory(engine)

    def write(
        self, items: Sequence[Item], log_rows: Sequence[tuple[type[Base], dict[str, Any]]] = ()
    ) -> list[Outcome]:
        """Validate and store ``items`` in one transaction; one outcome per item, in order.

        ``log_rows`` (connection log, device events) are inserted in the same transaction.

        Raises whatever the database raises (nothing is committed then): the caller must not
        acknowledge any packet of the batch.
        """
        outcomes: list[Outcome | None] = [None] * len(items)
        quarantine: list[dict[str, Any]] = []
        plans: list[_Plan] = []
        for i, item in enumerate(items):
            if isinstance(item, Rejected):
                outcomes[i] = Outcome("rejected", item.reason, item.detail)
                quarantine.append(_quarantine_row(item.raw, item.reason, item.detail, item))
                continue
            pkt = item.packet
            try:
                device = authenticate(pkt, self.directory.get(pkt.mn))
                seen_only = pkt.cn in SEEN_ONLY_CN
                obs: list[dict[str, Any]] = []
                st: list[dict[str, Any]] = []
                if pkt.cn in DATA_CN:
                    obs = observation_rows(pkt, device.id)
                elif not seen_only:
                    st = status_rows(pkt, device.id, item.received_at)
            except PacketRejected as rej:
                outcomes[i] = Outcome("rejected", rej.reason, rej.detail, rej.qn_rtn)
                quarantine.append(
                    _quarantine_row(item.raw, rej.reason, rej.detail, item, mn=pkt.mn)
                )
                continue
            plans.append(_Plan(i, item, device, idempotency_key(pkt), obs, st, seen_only))

        months = {partitions.month_of(r["data_time"]) for p in plans for r in p.observations}
        partitions.ensure_months(self.engine, months)

        with self.engine.begin() as conn:
            # Idempotency: which keys are new? In-batch repeats count as duplicates.
            keyed = [p for p in plans if not p.seen_only]
            first: dict[tuple[str, str, str], _Plan] = {}
            for p in keyed:
                first.setdefault(p.key, p)
            new_keys = self._insert_keys(conn, first.values())
            obs_rows: dict[tuple[Any, ...], dict[str, Any]] = {}
            status: dict[tuple[Any, ...], dict[str, Any]] = {}
            raw_rows: list[dict[str, Any]] = []
            forward: list[dict[str, Any]] = []
            for p in plans:
                if p.seen_only:
                    outcomes[p.index] = Outcome("seen")
                    continue
                if p.key not in new_keys or first[p.key] is not p:
                    outcomes[p.index] = Outcome("duplicate")
                    continue
                outcomes[p.index] = Outcome("stored")
                for r in p.observations:  # later packets in the batch win (corrections)
                    obs_rows[(r["device_id"], r["resolution"], r["data_time"], r["code"])] = r
                for r in p.status:
                    status[(r["device_id"], r["data_time"], r["cn"], r["code"])] = r
                raw_rows.append(
                    {
                        "received_at": p.item.received_at,
                        "mn": p.item.packet.mn,
                        "qn": p.item.packet.qn,
                        "cn": p.item.packet.cn,
                        "peer": p.item.peer,
                        "raw": p.item.raw,
                    }
                )
                for up in p.device.upstream_ids:
                    forward.append(
                        {
                            "upstream_id": up,
                            "raw": p.item.raw,
                            "created_at": p.item.received_at,
                            "attempts": 0,
                            "next_attempt_at": p.item.received_at,
                        }
                    )
            writes.upsert_observations(conn, list(obs_rows.values()), derived=False)
            writes.mark_dirty(conn, writes.dirty_marks(obs_rows.values()))
            writes.upsert_device_status(conn, list(status.values()))
            writes.insert_rows(conn, RawPacket, raw_rows)
            writes.insert_rows(conn, ForwardItem, forward)
            writes.insert_rows(conn, Quarantine, quarantine)
            by_model: dict[type[Base], list[dict[str, Any]]] = {}
            for model, row in log_rows:
                by_model.setdefault(model, []).append(row)
            for model, rows in by_model.items():
                writes.insert_rows(conn, model, rows)
            writes.touch_devices(conn, _last_seen(plans))
        assert all(o is not None for o in outcomes)
        return [o for o in outcomes if o is not None]

    @staticmethod
    def _insert_keys(conn: Connection, plans: Iterable[_Plan]) -> set[tuple[str, str, str]]:
        rows = [
            {"mn": p.key[0], "qn": p.key[1], "cn": p.key[2], "received_at": p.item.received_at}
            for p in plans
        ]
        return writes.insert_received_keys(conn, rows)


def _last_seen(plans: Sequence[_Plan]) -> dict[int, tuple[datetime, str | None]]:
    last: dict[int, tuple[datetime, str | None]] = {}
    for p in plans:
        prev = last.get(p.device.id)
        if prev is None or p.item.received_at >= prev[0]:
            last[p.device.id] = (p.item.received_at, p.item.peer)
    return last


def _quarantine_row(
    raw: bytes, reason: Reason, detail: str, item: Item, mn: str | None = None
) -> dict[str, Any]:
    return {
        "received_at": item.received_at,
        "peer": item.peer,
        "mn": mn if mn is not None else getattr(item, "mn", None),
        "reason": reason.value,  # the stable code as plain text
        "detail": detail[:2000],
        "raw": raw,
    }
