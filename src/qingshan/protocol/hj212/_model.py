"""Value types of the HJ 212 library (editions, errors, frames, packets).

All types are immutable snapshots; measured values are kept as the exact decimal text the
device sent (never ``float``), because the packets are legal evidence.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from qingshan.protocol.hj212.reasons import Reason


class Edition(StrEnum):
    """Protocol edition, told apart by Flag bits 2–7 (0 = 2005, 1 = 2017, 2 = 2025)."""

    V2005 = "2005"
    V2017 = "2017"
    V2025 = "2025"


#: Flag bits 2–7 per edition (HJ 212-2017 §6.3.3 表 3; HJ 212-2025 表 3, "000010").
EDITION_BITS: Mapping[Edition, int] = {Edition.V2005: 0, Edition.V2017: 1, Edition.V2025: 2}
EDITION_OF_BITS: Mapping[int, Edition] = {v: k for k, v in EDITION_BITS.items()}

FLAG_REPLY = 0x01  # bit 0: the receiver must answer (2017 "A"; 2025 calls it "D")
FLAG_SPLIT = 0x02  # bit 1: the packet carries PNUM/PNO (2017 "D"; 2025 calls it "A")


class ProtocolError(Exception):
    """A packet was rejected: ``reason`` is a stable :class:`Reason`, ``detail`` a sentence."""

    def __init__(self, reason: Reason | str, detail: str) -> None:
        super().__init__(reason, detail)  # both in args: the error pickles (multiprocessing)
        self.reason = Reason(reason)  # an unknown code is a bug, not a new reason
        self.detail = detail

    def __str__(self) -> str:
        return f"{self.reason}: {self.detail}"


@dataclass(frozen=True, slots=True)
class Frame:
    """One complete ``##…`` frame cut out of a byte stream (not yet validated)."""

    raw: bytes
    segment: bytes
    crc_text: str


@dataclass(frozen=True, slots=True)
class FramingError:
    """Bytes the framer had to skip (garbage, an oversized or truncated frame)."""

    reason: Reason
    detail: str
    skipped: bytes


@dataclass(frozen=True, slots=True)
class Pollutant:
    """All fields of one code in CP: suffix -> exact text (``{"Rtd": "12.30", "Flag": "N"}``)."""

    code: str
    fields: Mapping[str, str]
    original_code: str | None = None


@dataclass(frozen=True, slots=True)
class CP:
    """The command parameters (数据区): DataTime, per-code fields and plain parameters."""

    data_time: datetime | None = None
    pollutants: Mapping[str, Pollutant] = field(default_factory=dict)
    params: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Packet:
    """A parsed, validated data segment."""

    qn: str | None
    st: str
    cn: str
    pw: str
    mn: str
    flag: int | None
    pnum: int | None
    pno: int | None
    rf: bool
    edition: Edition
    cp: CP
    tolerated: tuple[str, ...]
    segment: str

    @property
    def needs_reply(self) -> bool:
        """Flag bit 0: the sender wants an answer (9011/9014…)."""
        return self.flag is not None and bool(self.flag & FLAG_REPLY)

    @property
    def is_split(self) -> bool:
        """Flag bit 1: one part of a PNUM/PNO split packet."""
        return self.flag is not None and bool(self.flag & FLAG_SPLIT)
