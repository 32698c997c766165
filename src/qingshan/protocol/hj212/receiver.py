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
* :class:`Rejection`: the frame failed the checks (:class:`Reason` says why).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from qingshan.protocol.hj212._model import FLAG_REPLY, Edition, Frame, ProtocolError
from qingshan.protocol.hj212.parser import parse_frame, parse_packet
from qingshan.protocol.hj212.reasons import Reason
from qingshan.protocol.hj212.reassembly import Part, Reassembled, Reassembler

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
    ) -> None:
        self.settings = settings
        self.lenient = lenient
        self.max_segment = max_segment
        self.default_encoding = default_encoding
        self.reassembler = Reassembler(max_parts=max_parts, max_age_s=max_age_s)

    def decode(
        self, raw: bytes, now: float, frame: Frame | None = None
    ) -> Reassembled | Part | Rejection:
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
        whole = self.reassembler.add(packet, now, raw)
        return Part(packet, raw) if whole is None else whole
