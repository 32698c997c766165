"""Reply rules of the receiving platform: which packets get 9014, which 9011 QnRtn, which none.

HJ 212-2017 §6.5/§6.6 (same in 2025): a packet whose Flag bit 0 is set asks for an answer.

* A packet whose effect is durable (stored, a re-send of a stored packet, a heartbeat or
  another packet that only updates last-seen) is answered with **9014 数据应答**, the QN
  echoed. A heartbeat (9015) that asks for an answer gets 9014 as well.
* A packet refused by the access check is answered with **9011 请求应答** and the QnRtn of
  表 8: 3 PW错误, 4 MN错误, 5 ST错误 (:func:`check_access`, :func:`refusal_code`).
* A data packet the platform refuses for its content — a value not a decimal or outside its
  data format, a data flag outside the table, no DataTime or one outside the accepted window,
  a code longer than the platform stores, or a packet the database refused — is answered with
  **9011 QnRtn 2 请求被拒绝** after it was quarantined: it will never be stored, and a device
  that is not answered sends it again for ever (issue 18: such packets blocked the queue).
* Nothing else is answered: a device's own answers (9011–9014) never, and a packet that could
  not be stored (the database is down) never: the device keeps it and sends it again.
* Each part of a split packet that asked for an answer is answered on its own, once the whole
  packet is durable.

The platform receives uploads; it does not execute device commands, so it never sends 9012
执行结果 (that is the answer of the side executing a command), and it answers 1013-style
notices like any other packet, with 9014 (not 9013).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from qingshan.protocol.hj212._model import Packet
from qingshan.protocol.hj212.builder import data_reply, request_reply
from qingshan.protocol.hj212.reasons import Reason

#: A device's answers to the platform's requests and commands: recorded, never answered.
ANSWER_CNS = frozenset({"9011", "9012", "9013", "9014"})
#: 心跳包: only updates last-seen; answered with 9014 when it asks for an answer.
HEARTBEAT_CN = "9015"
#: ST 91 系统交互: accepted from every device whatever its own ST.
SYSTEM_ST = "91"

# HJ 212-2017 表 8 QnRtn codes for refused packets.
QNRTN_REFUSED = 2
QNRTN_PW_ERROR = 3
QNRTN_MN_ERROR = 4
QNRTN_ST_ERROR = 5

_QNRTN: dict[Reason, int] = {
    Reason.UNKNOWN_MN: QNRTN_MN_ERROR,
    Reason.RETIRED_DEVICE: QNRTN_MN_ERROR,
    Reason.WRONG_PW: QNRTN_PW_ERROR,
    Reason.WRONG_ST: QNRTN_ST_ERROR,
    # Refused for content (checked at ingestion, after authentication).
    Reason.BAD_VALUE: QNRTN_REFUSED,
    Reason.VALUE_OUT_OF_FORMAT: QNRTN_REFUSED,
    Reason.BAD_FLAG: QNRTN_REFUSED,
    Reason.MISSING_DATATIME: QNRTN_REFUSED,
    Reason.DATATIME_FUTURE: QNRTN_REFUSED,
    Reason.DATATIME_TOO_OLD: QNRTN_REFUSED,
    Reason.CODE_TOO_LONG: QNRTN_REFUSED,
    Reason.DB_REFUSED: QNRTN_REFUSED,
}


def refusal_code(reason: Reason) -> int | None:
    """The QnRtn a packet rejected for ``reason`` is answered with (9011), or None."""
    return _QNRTN.get(reason)


class Registration(Protocol):
    """What is registered for a device that the access check needs."""

    @property
    def pw(self) -> str: ...

    @property
    def st(self) -> str: ...

    @property
    def active(self) -> bool: ...


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why the access check refused a packet; ``qn_rtn`` for the 9011 answer."""

    reason: Reason
    detail: str

    @property
    def qn_rtn(self) -> int | None:
        return refusal_code(self.reason)


def check_access(packet: Packet, device: Registration | None) -> Refusal | None:
    """Refuse a packet from an unknown or retired MN, with a wrong PW or a foreign ST.

    ``device`` is what is registered for ``packet.mn`` (None: not registered). The ST must be
    the device's own or 91 (系统交互).
    """
    if device is None:
        return Refusal(Reason.UNKNOWN_MN, f"MN {packet.mn} is not registered")
    if not device.active:
        return Refusal(Reason.RETIRED_DEVICE, f"device {packet.mn} is retired")
    if packet.pw != device.pw:
        return Refusal(Reason.WRONG_PW, f"wrong access password for {packet.mn}")
    if packet.st not in (device.st, SYSTEM_ST):
        return Refusal(Reason.WRONG_ST, f"ST {packet.st} but device {packet.mn} is ST {device.st}")
    return None


def wants_reply(packet: Packet) -> bool:
    """True when the platform owes ``packet`` an answer if it is durable or refused."""
    return packet.needs_reply and packet.cn not in ANSWER_CNS


def reply_to(packet: Packet, *, durable: bool, reason: Reason | None = None) -> bytes | None:
    """The answer to one packet (or one part of a split packet), or None.

    ``durable``: its effect is committed (stored, duplicate, or last-seen only). Otherwise
    ``reason`` is why it was rejected (None: it could not be stored at all).
    """
    if not wants_reply(packet):
        return None
    if durable:
        return data_reply(packet)
    qn_rtn = refusal_code(reason) if reason is not None else None
    if qn_rtn is not None:
        return request_reply(packet, qn_rtn)
    return None


def answered_qn(reply: Packet) -> str | None:
    """The QN a 9014 or 9011 answer acknowledges (the QN in its CP, else its own), or None."""
    if reply.cn not in ("9014", "9011"):
        return None
    return reply.cp.params.get("QN") or reply.qn
