"""Frames of one stream → :class:`Accepted` / :class:`Rejected` items, shared by gateway and replay.

All HJ 212 knowledge (MN sniffing, per-device decoding, split-packet reassembly with each
part's bytes) is the protocol library's :class:`~qingshan.protocol.hj212.Receiver`; this
adapter gives it the device directory as the source of each MN's registered encoding, edition
and SM4 key, and stamps what it returns with the peer and the reception time.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from qingshan.clock import utcnow
from qingshan.protocol.hj212 import (
    Edition,
    Frame,
    Packet,
    ProtocolError,
    Reason,
    Reassembled,
    Receiver,
    Rejection,
    parse_packet,
)
from qingshan.protocol.hj212.receiver import DuplicatePart, HeldParts
from qingshan.services.ingest import Accepted, Rejected
from qingshan.services.registry import Directory

#: Strict-parsing refusals that are about a value, not the packet's structure.
_CONTENT = frozenset({Reason.VALUE_OUT_OF_FORMAT, Reason.BAD_VALUE})


@dataclass(frozen=True, slots=True)
class Pending:
    """A part of a split packet; the whole packet is not complete yet."""

    packet: Packet


@dataclass(frozen=True, slots=True)
class Refused:
    """A split part the access check refused before it was held: ``item`` goes to the
    quarantine; ``packet`` is what is answered (9011)."""

    item: Rejected
    packet: Packet


@dataclass(frozen=True, slots=True)
class Duplicate:
    """A split part that is already held or whose packet was completed: not stored again."""

    packet: Packet
    completed: bool


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
        held: HeldParts | None = None,
        admit: Callable[[Packet], tuple[Reason, str] | None] | None = None,
    ) -> None:
        self.directory = directory
        # peek, never reload: this runs in the event loop (the committer reloads).
        self.receiver = Receiver(
            directory.peek,
            lenient=lenient,
            max_segment=max_segment,
            max_parts=max_parts,
            max_age_s=max_age_s,
            held=held,
            admit=admit,
        )

    def _content_refusal(self, got: Rejection) -> Packet | None:
        """A whole packet refused by strict parsing only for a value (not a decimal, or outside
        its data format), read leniently, so that the ingestion authenticates it, refuses it
        with the same reason and answers it (9011 QnRtn 2): a device is never left re-sending
        such a packet for ever, and only an authenticated device gets that answer. None for
        any other rejection, and for a part of a split packet (held parts are the
        receiver's)."""
        if got.reason not in _CONTENT or self.receiver.lenient or got.mn is None:
            return None
        dev = self.directory.peek(got.mn)
        try:
            packet = parse_packet(
                got.raw,
                lenient=True,
                encoding=dev.encoding if dev is not None else self.receiver.default_encoding,
                max_segment=self.receiver.max_segment,
                sm4_key=dev.sm4_key if dev is not None else None,
                edition=Edition(dev.edition) if dev is not None else None,
            )
        except ProtocolError:
            return None
        return None if packet.is_split else packet

    def decode(
        self,
        raw: bytes,
        *,
        peer: str | None,
        now: float,
        received_at: datetime | None = None,
        frame: Frame | None = None,
    ) -> Accepted | Rejected | Pending | Refused | Duplicate:
        """Decode one packet (``frame``: already cut by a :class:`Framer`, saves re-framing)."""
        got = self.receiver.decode(raw, now, frame)
        at = received_at or utcnow()
        if isinstance(got, Reassembled):
            parts = got.parts
            return Accepted(
                got.packet,
                got.raw,
                peer=peer,
                received_at=at,
                parts=(got.packet,) if len(parts) == 1 else tuple(p.packet for p in parts),
            )
        if isinstance(got, Rejection):
            content = self._content_refusal(got)
            if content is not None:
                return Accepted(content, got.raw, peer=peer, received_at=at, parts=(content,))
            item = Rejected(got.raw, got.reason, got.detail, mn=got.mn, peer=peer, received_at=at)
            return item if got.packet is None else Refused(item, got.packet)
        if isinstance(got, DuplicatePart):
            return Duplicate(got.part.packet, got.completed)
        return Pending(got.packet)
