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
from qingshan.protocol.hj212.receiver import DuplicatePart, HeldParts, split_key
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
    # Refused for its content (a value out of format) after passing the access check: the
    # refusal says why (9011 QnRtn 2) and is no reason to cut off the link.
    content: bool = False


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

    def _read_leniently(self, got: Rejection) -> Packet | None:
        """The packet of a frame strict parsing refused only for a value (not a decimal, or
        outside its data format), read leniently; None for any other rejection.

        A whole packet is then handed on as :class:`Accepted`, so that the ingestion
        authenticates it, refuses it with the same reason and answers it (9011 QnRtn 2): a
        device is never left re-sending such a packet for ever, and only an authenticated
        device gets that answer. A part of a split packet: :meth:`_split_content_refusal`."""
        if got.reason not in _CONTENT or self.receiver.lenient or got.mn is None:
            return None
        dev = self.directory.peek(got.mn)
        try:
            return parse_packet(
                got.raw,
                lenient=True,
                encoding=dev.encoding if dev is not None else self.receiver.default_encoding,
                max_segment=self.receiver.max_segment,
                sm4_key=dev.sm4_key if dev is not None else None,
                edition=Edition(dev.edition) if dev is not None else None,
            )
        except ProtocolError:
            return None

    def _split_content_refusal(self, got: Rejection, packet: Packet, item: Rejected) -> Refused:
        """A part of a split packet refused for a value: it passes the same access check as
        any part before it is answered (an unknown MN or wrong PW is refused as such, alike);
        then it is answered with its content reason, and the parts of its packet already held
        are evicted (the packet can never be complete), quarantined with the rest."""
        admit = self.receiver.admit
        refused = admit(packet) if admit is not None else None
        if refused is not None:
            auth = Rejected(
                got.raw,
                refused[0],
                refused[1],
                mn=packet.mn,
                peer=item.peer,
                received_at=item.received_at,
            )
            return Refused(auth, packet)
        held = self.receiver.held
        if held is not None:
            held.discard(split_key(packet), f"part {packet.pno} refused: {got.reason}")
        return Refused(item, packet, content=True)

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
            item = Rejected(got.raw, got.reason, got.detail, mn=got.mn, peer=peer, received_at=at)
            if got.packet is None:
                content = self._read_leniently(got)
                if content is not None and not content.is_split:
                    return Accepted(content, got.raw, peer=peer, received_at=at, parts=(content,))
                if content is not None:
                    return self._split_content_refusal(got, content, item)
            return item if got.packet is None else Refused(item, got.packet)
        if isinstance(got, DuplicatePart):
            return Duplicate(got.part.packet, got.completed)
        return Pending(got.packet)
