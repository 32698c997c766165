"""The receiving side of one HJ 212 stream (a connection or a file): bytes in, events out.

To decode a data segment the receiver needs three things about the device that sent it: its
text encoding (GBK by default, UTF-8 for some), its registered edition (Flag bits and MN length
are not reliable: 2017-era devices send ``Flag=9``, 2005 devices may have a 24-character MN and
no Flag) and, for HJ 212-2025 devices that encrypt their CP, its SM4 key. The device is known
only from the MN inside the segment, so the MN is read from the raw bytes first
(:func:`sniff_mn`; the MN is ASCII in every edition) and the caller's ``settings`` function
tells what is registered for it. Nothing here does I/O: the caller owns sockets and storage.

:meth:`Receiver.decode` takes one frame and returns one event:

* :class:`~qingshan.protocol.hj212.reassembly.Reassembled`: a whole packet (an unsplit packet,
  or all PNUM/PNO parts merged), with the exact bytes of every part;
* :class:`~qingshan.protocol.hj212.reassembly.Part`: a part of a split packet, held until the
  other parts arrive;
* :class:`Rejection`: the frame failed the checks (:class:`Reason` says why), or the ``admit``
  check refused a part of a split packet before it was held (``packet`` is then set);
* :class:`DuplicatePart`: a part that is already held, or a part of a packet completed a
  moment ago (a re-send): ignored, so a packet is stored and forwarded once.

Split parts of every stream of a process can share one :class:`HeldParts` store: one byte
budget for all connections, the oldest incomplete packet evicted first when it is exceeded.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from qingshan.protocol.hj212._model import FLAG_REPLY, Edition, Frame, Packet, ProtocolError
from qingshan.protocol.hj212.parser import parse_frame, parse_packet
from qingshan.protocol.hj212.reasons import Reason
from qingshan.protocol.hj212.reassembly import Part, Reassembled, Reassembler, _merge

_MN_RE = re.compile(rb"MN=([0-9A-Za-z]{1,32})[;&]")
_FLAG_RE = re.compile(rb"(?:^|;)Flag=(\d{1,3});")
_QN_RE = re.compile(rb"(?:^|;)QN=(\d{1,20});")


def sniff_mn(raw: bytes) -> str | None:
    """The MN of a packet read from its raw bytes, before the segment is decoded; or None."""
    m = _MN_RE.search(raw)
    return m.group(1).decode("ascii") if m else None


def sniff_reply_qn(segment: bytes) -> str | None:
    """The QN of a data segment whose Flag asks for an answer, read without decoding it (the
    segment may be in any device's encoding); None when no answer is asked for."""
    flag, qn = _FLAG_RE.search(segment), _QN_RE.search(segment)
    if flag and qn and int(flag.group(1)) & FLAG_REPLY:
        return qn.group(1).decode("ascii")
    return None


class DeviceSettings(Protocol):
    """What is registered for a device that decoding needs (any object with these fields)."""

    @property
    def encoding(self) -> str: ...

    @property
    def edition(self) -> str: ...  # "2005" | "2017" | "2025"

    @property
    def sm4_key(self) -> bytes | None: ...


@dataclass(frozen=True, slots=True)
class DeviceProfile:
    """A plain :class:`DeviceSettings`."""

    encoding: str = "gbk"
    edition: str = "2017"
    sm4_key: bytes | None = None


@dataclass(frozen=True, slots=True)
class Rejection:
    """A frame that failed the checks; ``mn`` is the sniffed MN, if any."""

    raw: bytes
    reason: Reason
    detail: str
    mn: str | None = None
    packet: Packet | None = None  # set when the frame parsed but ``admit`` refused it


@dataclass(frozen=True, slots=True)
class DuplicatePart:
    """A split part already held, or of a packet completed a moment ago: not held again.

    ``completed``: the packet it belongs to was completed (and handed on) before.
    """

    part: Part
    completed: bool


SplitKey = tuple[str, str | None, str, str, int]


def split_key(packet: Packet) -> SplitKey:
    """The parts of one split packet share MN, QN, ST, CN and PNUM (HJ 212-2017 §6.3.3)."""
    return (packet.mn, packet.qn, packet.st, packet.cn, packet.pnum or 0)


@dataclass
class _Held:
    first_seen: float
    parts: dict[int, Part] = field(default_factory=dict)
    size: int = 0


class HeldParts:
    """Parts of split packets waiting for the rest, shared by every stream of a process.

    Bounded three ways: at most ``max_bytes`` of held part bytes in total (when a new part
    would exceed it, the oldest incomplete packets are evicted until it fits); parts older
    than ``max_age_s`` are evicted on every :meth:`add`; a PNUM above ``max_pnum`` is refused
    by :class:`Receiver` before anything is held. Evicted parts are kept in :attr:`evicted`
    until the caller takes them (:meth:`take_evicted`) to quarantine them: nothing is dropped
    without a trace. The keys of the last ``remember`` completed packets are kept, so a part
    re-sent after its packet was completed is recognised as a duplicate and not held again.
    """

    def __init__(
        self,
        max_bytes: int = 8 * 1024 * 1024,
        max_age_s: float = 300.0,
        max_pnum: int = 1000,
        remember: int = 10_000,
    ) -> None:
        if max_bytes < 1 or max_age_s <= 0 or max_pnum < 1 or remember < 0:
            raise ValueError("max_bytes, max_pnum must be ≥ 1, max_age_s > 0, remember ≥ 0")
        self.max_bytes = max_bytes
        self.max_age_s = max_age_s
        self.max_pnum = max_pnum
        self.remember = remember
        self.held_bytes = 0
        self.evicted_parts = 0  # total evicted since start (budget or age)
        self.duplicates = 0
        self.evicted: list[tuple[Part, str]] = []  # (part, why) not yet taken by the caller
        self._groups: OrderedDict[SplitKey, _Held] = OrderedDict()  # oldest first
        self._done: OrderedDict[SplitKey, None] = OrderedDict()

    def held(self) -> int:
        """Number of parts currently waiting."""
        return sum(len(g.parts) for g in self._groups.values())

    def take_evicted(self) -> list[tuple[Part, str]]:
        out, self.evicted = self.evicted, []
        return out

    def add(self, part: Part, now: float) -> Reassembled | Part | DuplicatePart:
        packet = part.packet
        assert packet.pnum is not None and packet.pno is not None
        self._expire(now)
        key = split_key(packet)
        if key in self._done:
            self.duplicates += 1
            return DuplicatePart(part, completed=True)
        group = self._groups.get(key)
        if group is not None and packet.pno in group.parts:
            self.duplicates += 1
            return DuplicatePart(part, completed=False)
        size = len(part.raw)
        while self._groups and self.held_bytes + size > self.max_bytes:
            oldest = next(iter(self._groups))
            self._evict(oldest, "held-parts budget exceeded")
        group = self._groups.get(key)  # it may have been the oldest
        if group is None:
            group = self._groups[key] = _Held(now)
        group.parts[packet.pno] = part
        group.size += size
        self.held_bytes += size
        if len(group.parts) < packet.pnum:
            return part
        del self._groups[key]
        self.held_bytes -= group.size
        if self.remember:
            self._done[key] = None
            while len(self._done) > self.remember:
                self._done.popitem(last=False)
        parts = tuple(group.parts[i] for i in range(1, packet.pnum + 1))
        return Reassembled(_merge([p.packet for p in parts]), parts)

    def discard(self, key: SplitKey, why: str) -> None:
        """Evict the held parts of one packet that can never be complete (one of its parts
        was refused); they go to :attr:`evicted` like any evicted part."""
        if key in self._groups:
            self._evict(key, why)

    def _evict(self, key: SplitKey, why: str) -> None:
        group = self._groups.pop(key)
        self.held_bytes -= group.size
        self.evicted_parts += len(group.parts)
        self.evicted.extend((p, why) for p in group.parts.values())

    def _expire(self, now: float) -> None:
        while self._groups:
            key, group = next(iter(self._groups.items()))
            if now - group.first_seen <= self.max_age_s:
                break
            self._evict(key, f"incomplete after {self.max_age_s:g} s")


def _nobody(mn: str) -> DeviceSettings | None:
    return None


class Receiver:
    """Decodes the frames of one stream; holds the parts of split packets between frames.

    ``settings(mn)`` returns what is registered for a device, or ``None`` for an unknown MN
    (then the segment is decoded in ``default_encoding`` and the edition read from Flag/MN).
    """

    def __init__(
        self,
        settings: Callable[[str], DeviceSettings | None] = _nobody,
        *,
        lenient: bool = False,
        max_segment: int = 1024,
        max_parts: int = 1000,
        max_age_s: float = 300.0,
        default_encoding: str = "gbk",
        held: HeldParts | None = None,
        admit: Callable[[Packet], tuple[Reason, str] | None] | None = None,
    ) -> None:
        self.settings = settings
        self.lenient = lenient
        self.max_segment = max_segment
        self.default_encoding = default_encoding
        self.reassembler = Reassembler(max_parts=max_parts, max_age_s=max_age_s)
        # ``held``: one store (and byte budget) shared with other receivers; ``admit``: the
        # access check a split part must pass before it is held (None: admitted).
        self.held = held
        self.admit = admit

    def decode(
        self, raw: bytes, now: float, frame: Frame | None = None
    ) -> Reassembled | Part | Rejection | DuplicatePart:
        """Decode one packet's bytes (``frame``: the same bytes already cut by a
        :class:`~qingshan.protocol.hj212.Framer`, which saves framing them again).

        ``now``: seconds on any monotonic clock (expiry of incomplete split packets).
        """
        mn = sniff_mn(raw)
        dev = self.settings(mn) if mn else None
        encoding = dev.encoding if dev is not None else self.default_encoding
        sm4_key = dev.sm4_key if dev is not None else None
        edition = Edition(dev.edition) if dev is not None else None
        try:
            if frame is not None:
                packet = parse_frame(
                    frame,
                    lenient=self.lenient,
                    encoding=encoding,
                    max_segment=self.max_segment,
                    sm4_key=sm4_key,
                    edition=edition,
                )
            else:
                packet = parse_packet(
                    raw,
                    lenient=self.lenient,
                    encoding=encoding,
                    max_segment=self.max_segment,
                    sm4_key=sm4_key,
                    edition=edition,
                )
        except ProtocolError as exc:
            return Rejection(raw, exc.reason, exc.detail, mn)
        if not packet.is_split:
            return Reassembled(packet, (Part(packet, raw),))
        if self.admit is not None:
            refused = self.admit(packet)
            if refused is not None:
                return Rejection(raw, refused[0], refused[1], mn, packet)
        if self.held is not None:
            assert packet.pnum is not None
            if packet.pnum > self.held.max_pnum:
                detail = f"PNUM {packet.pnum} above the limit of {self.held.max_pnum} parts"
                return Rejection(raw, Reason.BAD_SPLIT, detail, mn, packet)
            return self.held.add(Part(packet, raw), now)
        whole = self.reassembler.add(packet, now, raw)
        return Part(packet, raw) if whole is None else whole
