"""Parsed HJ 212 packets → stored data, in one transaction per batch, idempotently.

This is the single validation-and-write path used by the gateway (group commit: one call per
batch of packets from many connections) and by ``qingshan ingest-file``.

Per packet:

1. **Authentication** (the protocol library's :func:`~qingshan.protocol.hj212.check_access`).
   The MN must belong to an active device and the PW must match (HJ 212 QnRtn 4 "MN error" /
   3 "PW error"); the ST must be the device's or 91 (系统交互, QnRtn 5). A rejected packet goes
   to ``quarantine`` with the reason; nothing else is stored.
2. **Validation.** Upload commands (CN 2011/2051/2061/2031) need a ``DataTime``; every value
   must be a decimal number within its field's HJ 212 data format (``N14.6``:
   :mod:`qingshan.protocol.hj212.formats`) and every data flag one of N F M S D C T B. A
   DataTime must lie in the window of the server clock (:class:`TimeWindow`: late data back to
   ``hj212_late_days``, at most ``hj212_future_minutes`` ahead), so year 0001 or 9999 never
   creates a partition. QN, CN and factor codes must fit the columns that store them. A
   violation rejects the whole packet (reason ``missing_datatime`` / ``bad_value`` /
   ``value_out_of_format`` / ``bad_flag`` / ``datatime_too_old`` / ``datatime_future`` /
   ``code_too_long``).
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

**A packet the database refuses** (a constraint, a value PostgreSQL will not take) must not
block the others, nor be re-sent for ever: when a batch fails with anything but an outage,
it is split in halves and each written again, down to the single packet that fails; that one
is quarantined with reason ``db_refused`` and the database's message, and answered (9011
QnRtn 2). For ten minutes afterwards that device is a *suspect*: its packets are written
apart from the others, each in a SAVEPOINT of one shared transaction (a refused one costs a
rollback to its savepoint, not a transaction). With ``write(defer=True)`` (the gateway's
commit queue) the suspects' packets are not written at all but deferred to the queue's slow
lane, and splitting stops after :data:`SPLIT_BUDGET` failed transactions (the rest is
deferred too): a flood of refused packets never holds up another device's acknowledgement
for more than a few short transactions. Outages (connection lost, SQLite busy) still raise,
so the caller retries and acknowledges nothing meanwhile.
"""

from __future__ import annotations

import hashlib
import re
import time
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import Engine, String
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError, OperationalError, StatementError

from qingshan.clock import to_cst, utcnow
from qingshan.protocol.hj212 import (
    ANSWER_CNS,
    HEARTBEAT_CN,
    Edition,
    Packet,
    ProtocolError,
    Reason,
    check_access,
    refusal_code,
)
from qingshan.protocol.hj212.codes import data_flags
from qingshan.protocol.hj212.formats import FieldFormat, check_value, field_formats
from qingshan.services.registry import DeviceInfo, Directory
from qingshan.settings import get_settings
from qingshan.storage import partitions, writes
from qingshan.storage.models import (
    Base,
    DeviceStatus,
    ForwardItem,
    Observation,
    Quarantine,
    RawPacket,
    ReceivedPacket,
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
# Field suffixes → observation columns. Realtime uploads carry Rtd/ZsRtd, interval uploads
# Avg/Min/Max/Cou/ZsAvg.
_NUMERIC_FIELDS = frozenset(("Rtd", "Avg", "Min", "Max", "Cou", "ZsRtd", "ZsAvg", "ZsMin", "ZsMax"))
# A value matching _WITHIN is within the data format of every such field in every edition
# (the narrowest of them), so the exact check is skipped for it.
_WITHIN = re.compile(
    FieldFormat(
        min(field_formats(e)[f].digits for e in Edition for f in _NUMERIC_FIELDS),
        min(field_formats(e)[f].decimals for e in Edition for f in _NUMERIC_FIELDS),
    ).pattern
)


#: A device whose packet the database refused has its packets written apart for this long,
#: and at most this many such devices are remembered.
SUSPECT_SECONDS = 600.0
SUSPECTS_KEPT = 4096
#: Failed transactions one ``write(defer=True)`` may spend splitting a refused batch; beyond,
#: what is left unwritten is deferred (written later, one by one, by the caller).
SPLIT_BUDGET = 12


@dataclass
class _Split:
    """The state of one :meth:`Ingestor.write`: packets refused (id(item) → why), whether
    suspects are deferred, failed transactions so far."""

    refused: dict[int, tuple[Item, Exception]] = field(default_factory=dict)
    defer: bool = False
    failures: int = 0


def _length(model: type[Base], column: str) -> int:
    kind = model.__table__.c[column].type
    assert isinstance(kind, String) and kind.length is not None
    return int(kind.length)


# Column sizes the codes of a packet must fit (checked before the database, which would
# refuse them on PostgreSQL and truncate nothing on SQLite).
_MAX_MN = min(_length(RawPacket, "mn"), _length(ReceivedPacket, "mn"))
_MAX_QN = min(_length(RawPacket, "qn"), _length(ReceivedPacket, "qn"))
_MAX_CN = min(_length(RawPacket, "cn"), _length(ReceivedPacket, "cn"))
_MAX_CODE = _length(Observation, "code")
_MAX_STATUS_CODE = _length(DeviceStatus, "code")
_Q_MN, _Q_PEER, _Q_REASON = (_length(Quarantine, c) for c in ("mn", "peer", "reason"))


@dataclass(frozen=True, slots=True)
class TimeWindow:
    """The DataTime values accepted, relative to the server clock (China Standard Time, as
    devices send it): from ``late`` before now to ``ahead`` after it."""

    late: timedelta
    ahead: timedelta

    @classmethod
    def from_settings(cls) -> TimeWindow:
        s = get_settings()
        return cls(timedelta(days=s.hj212_late_days), timedelta(minutes=s.hj212_future_minutes))

    def check(self, when: datetime, now_cst: datetime) -> None:
        """Raise :class:`PacketRejected` when ``when`` (CST) is outside the window."""
        if when > now_cst + self.ahead:
            raise PacketRejected(
                Reason.DATATIME_FUTURE,
                f"DataTime {when:%Y-%m-%d %H:%M:%S} is more than {_span(self.ahead)} ahead of "
                f"the server clock ({now_cst:%Y-%m-%d %H:%M} CST)",
            )
        if when < now_cst - self.late:
            raise PacketRejected(
                Reason.DATATIME_TOO_OLD,
                f"DataTime {when:%Y-%m-%d %H:%M:%S} is more than {_span(self.late)} before "
                f"the server clock ({now_cst:%Y-%m-%d %H:%M} CST)",
            )


def _span(d: timedelta) -> str:
    minutes = int(d.total_seconds() // 60)
    if minutes % 1440 == 0:
        return f"{minutes // 1440} days"
    return f"{minutes} minutes"


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
Status = Literal["stored", "duplicate", "seen", "rejected", "deferred"]


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


#: Not written by this call (``write(defer=True)``): the caller writes it later, apart.
DEFERRED = Outcome("deferred")


class PacketRejected(Exception):
    def __init__(self, reason: Reason, detail: str, qn_rtn: int | None = None) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason, self.detail = reason, detail
        self.qn_rtn = qn_rtn if qn_rtn is not None else refusal_code(reason)


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


def check_codes(packet: Packet) -> None:
    """Refuse a packet whose QN or CN is longer than the columns storing them
    (:attr:`Reason.CODE_TOO_LONG`); lenient parsing lets such quirks through."""
    for name, text, limit in (
        ("MN", packet.mn, _MAX_MN),
        ("QN", packet.qn or "", _MAX_QN),
        ("CN", packet.cn, _MAX_CN),
    ):
        if len(text) > limit:
            raise PacketRejected(
                Reason.CODE_TOO_LONG,
                f"{name} {text[:40]!r} has {len(text)} characters; at most {limit} are stored",
            )


def observation_rows(packet: Packet, device_id: int) -> list[dict[str, Any]]:
    """The observation rows of a data upload (CN 2011/2051/2061/2031)."""
    res = int(DATA_CN[packet.cn])
    when = packet.cp.data_time
    if when is None:
        raise PacketRejected(Reason.MISSING_DATATIME, f"CN {packet.cn} without DataTime")
    rows = []
    for code, pol in packet.cp.pollutants.items():
        if len(code) > _MAX_CODE:
            raise PacketRejected(
                Reason.CODE_TOO_LONG,
                f"factor code {code[:40]!r} has {len(code)} characters; "
                f"at most {_MAX_CODE} are stored",
            )
        fields = pol.fields
        for suffix in _NUMERIC_FIELDS.intersection(fields):
            text = fields[suffix]
            if _WITHIN.fullmatch(text) is None:  # fast path for the usual values
                try:
                    check_value(packet.edition, f"{code}-{suffix}", suffix, text)
                except ProtocolError as exc:
                    raise PacketRejected(exc.reason, exc.detail) from None
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
    """Non-measurement content (running state, site information, …) as code → text rows.
    Numeric fields (``SB1-RS``, ``SB1-RT``…) must be within their data format too."""
    when = packet.cp.data_time or received_at
    rows: dict[str, dict[str, Any]] = {}
    formats = field_formats(packet.edition)
    for code, pol in packet.cp.pollutants.items():
        for suffix, text in pol.fields.items():
            if suffix in formats:
                try:
                    check_value(packet.edition, f"{code}-{suffix}", suffix, text)
                except ProtocolError as exc:
                    raise PacketRejected(exc.reason, exc.detail) from None
            name = f"{code}-{suffix}" if suffix else code
            rows[name] = {"code": name, "value": str(text)}
    for name, text in packet.cp.params.items():
        if name != "DataTime":
            rows[name] = {"code": name, "value": str(text)}
    for name in rows:
        if len(name) > _MAX_STATUS_CODE:
            raise PacketRejected(
                Reason.CODE_TOO_LONG,
                f"field {name[:60]!r} has {len(name)} characters; "
                f"at most {_MAX_STATUS_CODE} are stored",
            )
    return [
        {"device_id": device_id, "data_time": when, "cn": packet.cn, **r} for r in rows.values()
    ]


@dataclass
class _Prepared:
    outcomes: list[Outcome | None]
    quarantine: list[dict[str, Any]]
    plans: list[_Plan]


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

    def __init__(
        self,
        engine: Engine,
        directory: Directory | None = None,
        *,
        window: TimeWindow | None = None,
    ) -> None:
        self.engine = engine
        self.directory = directory or Directory(engine)
        self.window = window or TimeWindow.from_settings()
        # MN → when the database last refused one of its packets (see write()).
        self._suspects: OrderedDict[str, float] = OrderedDict()

    def write(
        self,
        items: Sequence[Item],
        log_rows: Sequence[tuple[type[Base], dict[str, Any]]] = (),
        *,
        defer: bool = False,
    ) -> list[Outcome]:
        """Validate and store ``items`` in one transaction; one outcome per item, in order.

        ``log_rows`` (connection log, device events) are inserted in the same transaction.

        A batch the database refuses (not an outage) is written again in halves, down to the
        packets it refuses, which are quarantined as ``db_refused`` (module doc); for a while
        afterwards the packets of their devices are written apart from the rest (savepoints).
        Raises on an outage, or when the database refuses even the quarantine rows or the log
        rows (nothing of the failing part is committed then): the caller must not acknowledge
        those packets.

        ``defer``: the packets of suspect devices are not written at all but answered
        :data:`DEFERRED`, and so is what is left of a refused batch once
        :data:`SPLIT_BUDGET` failed transactions were spent on splitting it: the caller
        (the gateway's commit queue) writes them later, apart, so that one device's refused
        packets never hold up the acknowledgements of the others for long.
        """
        ctx = _Split(defer=defer)
        suspect = [self._suspect(it) for it in items] if self._suspects else []
        if any(suspect):
            # Packets of a device whose packets the database recently refused are written one
            # by one, after the others: a flood of them never again splits everyone's batch.
            got = self._apart(items, suspect, log_rows, ctx)
        else:
            got = self._write_or_split(items, log_rows, ctx)
        if ctx.refused:
            got = self._quarantine_refused(items, got, ctx.refused)
        assert all(o is not None for o in got)
        return [o for o in got if o is not None]

    def _suspect(self, item: Item) -> bool:
        if not isinstance(item, Accepted):
            return False
        at = self._suspects.get(item.packet.mn)
        return at is not None and time.monotonic() - at < SUSPECT_SECONDS

    def _apart(
        self,
        items: Sequence[Item],
        suspect: Sequence[bool],
        log_rows: Sequence[tuple[type[Base], dict[str, Any]]],
        ctx: _Split,
    ) -> list[Outcome | None]:
        """The others' packets together (split if need be), then each suspect's one by one
        (or, deferring, not at all)."""
        got: list[Outcome | None] = [None] * len(items)
        order = [i for i, s in enumerate(suspect) if not s]
        if order or log_rows:
            outs = self._write_or_split([items[i] for i in order], log_rows, ctx)
            for i, out in zip(order, outs, strict=True):
                got[i] = out
        apart = [i for i, s in enumerate(suspect) if s]
        if ctx.defer:
            for i in apart:
                got[i] = DEFERRED
        elif apart:
            for i, out in zip(apart, self._savepoints([items[i] for i in apart], ctx), strict=True):
                got[i] = out
        return got

    def _write_or_split(
        self,
        items: Sequence[Item],
        log_rows: Sequence[tuple[type[Base], dict[str, Any]]],
        ctx: _Split,
    ) -> list[Outcome | None]:
        """Write ``items`` in one transaction; if the database refuses it, in halves, down to
        the packets it refuses on their own (``None`` outcomes, noted in ``ctx.refused``):
        O(k log n) transactions for k refused packets in a batch of n (at most
        :data:`SPLIT_BUDGET` when deferring)."""
        if ctx.defer and items and ctx.failures >= SPLIT_BUDGET:
            # Bounded: what is left is written later, one by one, by the caller.
            if log_rows:
                self._write_or_split([], log_rows, ctx)
            return [DEFERRED] * len(items)
        if ctx.refused and len(items) > 1:
            suspect = [self._suspect(it) for it in items]
            if any(suspect):  # a device refused a moment ago: apart before trying again
                return self._apart(items, suspect, log_rows, ctx)
        try:
            return list(self._write(items, log_rows))
        except Exception as exc:
            if not is_refusal(exc, self.engine.dialect.loaded_dbapi) or not items:
                raise  # an outage, or the log rows alone refused: nothing to quarantine
            ctx.failures += 1
            if len(items) > 1:
                suspect = [self._suspect(it) for it in items]
                if any(suspect):  # a device refused meanwhile: its packets apart, one by one
                    return self._apart(items, suspect, log_rows, ctx)
                mid = len(items) // 2
                return self._write_or_split(items[:mid], log_rows, ctx) + (
                    self._write_or_split(items[mid:], (), ctx)
                )
            if log_rows:  # the packet may be fine and a log row the culprit: try apart
                out = self._write_or_split(items, (), ctx)
                self._write_or_split([], log_rows, ctx)
                return out
            item = items[0]
            ctx.refused[id(item)] = (item, exc)
            self._note_suspect(item)
            return [None]

    def _quarantine_refused(
        self,
        items: Sequence[Item],
        got: list[Outcome | None],
        refused: dict[int, tuple[Item, Exception]],
    ) -> list[Outcome | None]:
        """Quarantine every refused packet, in one transaction, with the database's reason."""
        rows = []
        out = list(got)
        for i, item in enumerate(items):
            why = refused.get(id(item))
            if why is None:
                continue
            detail = "the database refused the packet: " + db_message(why[1])
            mn = item.packet.mn if isinstance(item, Accepted) else item.mn
            rows.append(_quarantine_row(item.raw, Reason.DB_REFUSED, detail, item, mn=mn))
            out[i] = Outcome("rejected", Reason.DB_REFUSED, detail, refusal_code(Reason.DB_REFUSED))
        with self.engine.begin() as conn:
            writes.insert_rows(conn, Quarantine, rows)
        return out

    def _write(
        self, items: Sequence[Item], log_rows: Sequence[tuple[type[Base], dict[str, Any]]]
    ) -> list[Outcome]:
        prep = self._prepare(items)
        with self.engine.begin() as conn:
            return self._store(conn, prep, log_rows)

    def _savepoints(self, items: Sequence[Item], ctx: _Split) -> list[Outcome | None]:
        """Write each item in its own SAVEPOINT of one transaction: a refused one costs a
        rollback to its savepoint, not a transaction of its own (the slow lane's packets,
        whose devices the database refused a moment ago)."""
        preps = [self._prepare([item]) for item in items]  # partitions before the transaction
        out: list[Outcome | None] = [None] * len(items)
        dbapi = self.engine.dialect.loaded_dbapi
        with self.engine.begin() as conn:
            for i, (item, prep) in enumerate(zip(items, preps, strict=True)):
                try:
                    with conn.begin_nested():
                        out[i] = self._store(conn, prep, ())[0]
                except Exception as exc:
                    if not is_refusal(exc, dbapi):
                        raise
                    ctx.failures += 1
                    ctx.refused[id(item)] = (item, exc)
                    self._note_suspect(item)
        return out

    def _note_suspect(self, item: Item) -> None:
        if isinstance(item, Accepted):
            self._suspects[item.packet.mn] = time.monotonic()
            self._suspects.move_to_end(item.packet.mn)
            while len(self._suspects) > SUSPECTS_KEPT:
                self._suspects.popitem(last=False)

    def _prepare(self, items: Sequence[Item]) -> _Prepared:
        """Validate ``items`` (outcomes of those refused, quarantine rows, plans of the rest)
        and create the monthly partitions their observations need."""
        now_cst = to_cst(utcnow())
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
                device, obs, st, seen_only = self._check(item, self.directory.get(pkt.mn), now_cst)
            except PacketRejected as rej:
                outcomes[i] = Outcome("rejected", rej.reason, rej.detail, rej.qn_rtn)
                quarantine.append(
                    _quarantine_row(item.raw, rej.reason, rej.detail, item, mn=pkt.mn)
                )
                continue
            plans.append(_Plan(i, item, device, idempotency_key(pkt), obs, st, seen_only))

        months = {partitions.month_of(r["data_time"]) for p in plans for r in p.observations}
        partitions.ensure_months(self.engine, months)
        return _Prepared(outcomes, quarantine, plans)

    def _store(
        self,
        conn: Connection,
        prep: _Prepared,
        log_rows: Sequence[tuple[type[Base], dict[str, Any]]],
    ) -> list[Outcome]:
        """The statements of one batch, in the caller's transaction."""
        outcomes, quarantine, plans = list(prep.outcomes), prep.quarantine, prep.plans
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

    def _check(
        self, item: Accepted, device: DeviceInfo | None, now_cst: datetime
    ) -> tuple[DeviceInfo, list[dict[str, Any]], list[dict[str, Any]], bool]:
        """Every check of one packet before storage (access, codes, DataTime window, values):
        the device, its observation rows, status rows and whether it only updates last-seen;
        raises :class:`PacketRejected`."""
        pkt = item.packet
        device = authenticate(pkt, device)
        check_codes(pkt)
        seen_only = pkt.cn in SEEN_ONLY_CN
        if not seen_only and pkt.cp.data_time is not None:
            self.window.check(pkt.cp.data_time, now_cst)
        obs: list[dict[str, Any]] = []
        st: list[dict[str, Any]] = []
        if pkt.cn in DATA_CN:
            obs = observation_rows(pkt, device.id)
        elif not seen_only:
            st = status_rows(pkt, device.id, item.received_at)
        return device, obs, st, seen_only

    def precheck(self, item: Accepted) -> PacketRejected | None:
        """The checks :meth:`write` makes, without the database, on the cached directory
        (:meth:`Directory.peek`): None when the packet would be stored (or is a duplicate),
        else why it would be refused. The bus gateway (:mod:`qingshan.gateway.bus`) publishes
        only packets that pass, so that a content refusal is still answered 9011 at once."""
        try:
            self._check(item, self.directory.peek(item.packet.mn), to_cst(utcnow()))
        except PacketRejected as rej:
            return rej
        return None

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
    mn = mn if mn is not None else getattr(item, "mn", None)
    # Cut to the columns: a quarantine row the database refused would block the batch.
    return {
        "received_at": item.received_at,
        "peer": None if item.peer is None else item.peer[:_Q_PEER],
        "mn": None if mn is None else mn[:_Q_MN],
        "reason": reason.value[:_Q_REASON],  # the stable code as plain text
        "detail": detail[:2000],
        "raw": raw,
    }


def is_refusal(exc: BaseException, dbapi: Any = None) -> bool:
    """True when the database refused a statement (a constraint, a value out of range, …)
    rather than being unreachable: retrying the same batch would fail again.

    ``dbapi``: the driver module (PEP 249); the bulk path (COPY) raises the driver's own
    errors, not SQLAlchemy's wrappers."""
    if isinstance(exc, OperationalError):
        return False  # lost connection, SQLite busy/locked: an outage, retried by the caller
    if isinstance(exc, DBAPIError):
        return not exc.connection_invalidated
    if dbapi is not None and isinstance(exc, dbapi.DatabaseError):
        return not isinstance(exc, dbapi.OperationalError)
    # A value the driver cannot bind (SQLite: an integer beyond 64 bits) is a StatementError.
    return isinstance(exc, StatementError)


def db_message(exc: BaseException) -> str:
    """The database's own message, first line, without SQLAlchemy's statement dump."""
    text = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    return text[0][:500] if text else type(exc).__name__
