"""Bytes of one frame → :class:`Accepted` / :class:`Rejected`, shared by gateway and replay.

The device's text encoding (GBK by default, configurable per device), its registered HJ 212
edition (Flag bits and MN length are not reliable: 2017-era devices send ``Flag=9``, 2005
devices may have a 24-character MN and no Flag) and, for HJ 212-2025 devices that encrypt their
CP, its SM4 key are needed to decode the data segment, but the
device is known only from the MN inside it; the MN is ASCII in every edition, so it is
sniffed from the raw bytes first. Split packets (PNUM/PNO) are collected by the
protocol library's :class:`Reassembler`; their raw frames are kept alongside so the archive and
upstream forwarding get exactly the bytes the device sent.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

from qingshan.clock import utcnow
from qingshan.protocol.hj212 import (
    Edition,
    Frame,
    Packet,
    ProtocolError,
    Reassembler,
    parse_frame,
    parse_packet,
)
from qingshan.services.ingest import Accepted, Rejected
from qingshan.services.registry import Directory

_MN_RE = re.compile(rb"MN=([0-9A-Za-z]{1,32})[;&]")


def sniff_mn(raw: bytes) -> str | None:
    m = _MN_RE.search(raw)
    return m.group(1).decode("ascii") if m else None


@dataclass
class _Parts:
    first_seen: float
    raws: list[bytes] = field(default_factory=list)
    packets: list[Packet] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Pending:
    """A part of a split packet; the whole packet is not complete yet."""

    packet: Packet


class Decoder:
    """Decodes frames of one stream (a connection or a file)."""

    def __init__(
        self,
        directory: Directory,
        *,
        lenient: bool = False,
        max_segment: int = 1024,
        max_parts: int = 1000,
        max_age_s: float = 300.0,
    ) -> None:
        self.directory = directory
        self.lenient = lenient
        self.max_segment = max_segment
        self.max_age_s = max_age_s
        self.max_parts = max_parts
        self.reassembler = Reassembler(max_parts=max_parts, max_age_s=max_age_s)
        self._parts: dict[tuple[str, str | None, str], _Parts] = {}

    def encoding_for(self, mn: str | None) -> str:
        dev = self.directory.peek(mn) if mn else None
        return dev.encoding if dev else "gbk"

    def key_for(self, mn: str | None) -> bytes | None:
        dev = self.directory.peek(mn) if mn else None
        return dev.sm4_key if dev else None

    def edition_for(self, mn: str | None) -> Edition | None:
        """The registered edition; ``None`` for an unknown MN (the parser reads Flag/MN)."""
        dev = self.directory.peek(mn) if mn else None
        return Edition(dev.edition) if dev else None

    def decode(
        self,
        raw: bytes,
        *,
        peer: str | None,
        now: float,
        received_at: datetime | None = None,
        frame: Frame | None = None,
    ) -> Accepted | Rejected | Pending:
        """Decode one packet (``frame``: already cut by a :class:`Framer`, saves re-framing)."""
        at = received_at or utcnow()
        mn = sniff_mn(raw)
        enc, sm4, edition = self.encoding_for(mn), self.key_for(mn), self.edition_for(mn)
        try:
            if frame is not None:
                pkt = parse_frame(
                    frame,
                    lenient=self.lenient,
                    encoding=enc,
                    max_segment=self.max_segment,
                    sm4_key=sm4,
                    edition=edition,
                )
            else:
                pkt = parse_packet(
                    raw,
                    lenient=self.lenient,
                    encoding=enc,
                    max_segment=self.max_segment,
                    sm4_key=sm4,
                    edition=edition,
                )
        except ProtocolError as exc:
            return Rejected(raw, exc.reason, exc.detail, mn=mn, peer=peer, received_at=at)
        if not pkt.is_split:
            return Accepted(pkt, raw, peer=peer, received_at=at, parts=(pkt,))
        self._expire(now)
        key = (pkt.mn, pkt.qn, pkt.cn)
        parts = self._parts.setdefault(key, _Parts(now))
        parts.raws.append(raw)
        parts.packets.append(pkt)
        try:
            merged = self.reassembler.add(pkt, now)
        except ProtocolError as exc:
            self._parts.pop(key, None)
            return Rejected(raw, exc.reason, exc.detail, mn=mn, peer=peer, received_at=at)
        if merged is None:
            return Pending(pkt)
        done = self._parts.pop(key)
        return Accepted(
            merged, b"".join(done.raws), peer=peer, received_at=at, parts=tuple(done.packets)
        )

    def _expire(self, now: float) -> None:
        old = [k for k, p in self._parts.items() if now - p.first_seen > self.max_age_s]
        for k in old:
            del self._parts[k]
        # Bounded like the reassembler: a stream of never-completed splits cannot grow memory.
        held = sum(len(p.raws) for p in self._parts.values())
        while held >= self.max_parts and self._parts:
            oldest = min(self._parts, key=lambda k: self._parts[k].first_seen)
            held -= len(self._parts.pop(oldest).raws)
