"""Reassembly of PNUM/PNO split packets (HJ 212-2017 §6.3.3; Flag bit 1).

Parts are grouped by (MN, QN, ST, CN, PNUM). When all PNO 1..PNUM have arrived the parts are
merged in PNO order: DataTime from the first part that has one, parameters and per-code fields
united (a later part's field wins), ``tolerated`` united. The merged packet has ``pnum``/``pno``
``None``, Flag bit 1 cleared, and ``segment`` = the parts' segments joined by CRLF.

Each part keeps the exact bytes it arrived in, so the raw archive and upstream forwarding get
what the device sent for every part (:attr:`Reassembled.raw`). A part sent again before the
packet is complete replaces the earlier copy (one copy per PNO).

Memory is bounded: at most ``max_parts`` parts are held; the oldest incomplete group is dropped
when that is exceeded, and groups older than ``max_age_s`` are dropped on every ``add``.
``discarded`` counts dropped parts.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime

from qingshan.protocol.hj212._model import CP, FLAG_SPLIT, Packet, Pollutant

_Key = tuple[str, str | None, str, str, int]


@dataclass(frozen=True, slots=True)
class Part:
    """One frame as parsed, with the bytes it came in."""

    packet: Packet
    raw: bytes


@dataclass(frozen=True, slots=True)
class Reassembled:
    """A whole packet: an unsplit packet, or the merge of all parts of a split one.

    ``parts`` are in PNO order (one part for an unsplit packet); every part that asked for an
    answer is answered once the whole packet is stored.
    """

    packet: Packet
    parts: tuple[Part, ...]

    @property
    def raw(self) -> bytes:
        """The bytes of every part, in PNO order: what the device sent for this packet."""
        if len(self.parts) == 1:
            return self.parts[0].raw
        return b"".join(p.raw for p in self.parts)


@dataclass
class _Group:
    first_seen: float
    parts: dict[int, Part] = field(default_factory=dict)


class Reassembler:
    """Collects split packets; :meth:`add` returns the whole packet once it is complete."""

    def __init__(self, max_parts: int = 1000, max_age_s: float = 300.0) -> None:
        if max_parts < 1 or max_age_s <= 0:
            raise ValueError("max_parts must be ≥ 1 and max_age_s > 0")
        self.max_parts = max_parts
        self.max_age_s = max_age_s
        self.discarded = 0
        self._groups: dict[_Key, _Group] = {}
        self._held = 0

    def held(self) -> int:
        """Number of parts currently waiting."""
        return self._held

    def add(self, packet: Packet, now: float, raw: bytes = b"") -> Reassembled | None:
        """Add a packet and the bytes it came in (``now`` in seconds, any monotonic clock).

        Unsplit packets pass through at once; a part returns ``None`` until its packet is
        complete.
        """
        self._expire(now)
        if packet.pnum is None or packet.pno is None:
            return Reassembled(packet, (Part(packet, raw),))
        if packet.pnum > self.max_parts:
            self.discarded += 1
            return None
        key: _Key = (packet.mn, packet.qn, packet.st, packet.cn, packet.pnum)
        group = self._groups.get(key)
        if group is None:
            group = self._groups[key] = _Group(now)
        if packet.pno not in group.parts:
            self._held += 1
        group.parts[packet.pno] = Part(packet, raw)
        if len(group.parts) == packet.pnum:
            del self._groups[key]
            self._held -= packet.pnum
            parts = tuple(group.parts[i] for i in range(1, packet.pnum + 1))
            return Reassembled(_merge([p.packet for p in parts]), parts)
        while self._held > self.max_parts:
            oldest = min(self._groups, key=lambda k: self._groups[k].first_seen)
            self._drop(oldest)
        return None

    def _drop(self, key: _Key) -> None:
        n = len(self._groups.pop(key).parts)
        self._held -= n
        self.discarded += n

    def _expire(self, now: float) -> None:
        stale = [k for k, g in self._groups.items() if now - g.first_seen > self.max_age_s]
        for key in stale:
            self._drop(key)


def _merge(parts: list[Packet]) -> Packet:
    data_time: datetime | None = None
    params: dict[str, str] = {}
    fields: dict[str, dict[str, str]] = {}
    originals: dict[str, str | None] = {}
    tolerated: list[str] = []
    for part in parts:
        if data_time is None:
            data_time = part.cp.data_time
        params.update(part.cp.params)
        for code, pol in part.cp.pollutants.items():
            fields.setdefault(code, {}).update(pol.fields)
            originals.setdefault(code, pol.original_code)
        tolerated += [t for t in part.tolerated if t not in tolerated]
    cp = CP(data_time, {c: Pollutant(c, f, originals[c]) for c, f in fields.items()}, params)
    first = parts[0]
    flag = None if first.flag is None else first.flag & ~FLAG_SPLIT
    return replace(
        first,
        flag=flag,
        pnum=None,
        pno=None,
        cp=cp,
        tolerated=tuple(tolerated),
        segment="\r\n".join(p.segment for p in parts),
    )
