"""HJ 212 (2005 / 2017 / 2025) protocol library: sans-I/O framing, parsing, validation, building.

Bytes in, events out; no sockets, threads or storage (like h11/wsproto)::

    framer = Framer(max_segment=1024)
    receiver = Receiver(settings)  # settings(mn): the device's encoding, edition, SM4 key
    for event in framer.feed(chunk):
        if isinstance(event, FramingError):
            continue  # garbage: event.reason says what
        got = receiver.decode(event.raw, now, frame=event)
        if isinstance(got, Reassembled):  # a whole packet (Part: a split part is held)
            durable = store(got.packet, got.raw)
            for part in got.parts:
                answer = reply_to(part.packet, durable=durable)
                if answer is not None:
                    send(answer)

Rejections carry a :class:`Reason` (one vocabulary for framer, parser and the platform's
checks); :func:`check_access` and :func:`reply_to` are the reply rules (9014 / 9011 QnRtn).

See docs/standards/hj212.md for the rules, sources and what is not yet verified about 2025.
"""

from qingshan.protocol.hj212._crc import crc16, crc16_hex
from qingshan.protocol.hj212._model import (
    CP,
    Edition,
    Frame,
    FramingError,
    Packet,
    Pollutant,
    ProtocolError,
)
from qingshan.protocol.hj212.builder import (
    build_command,
    build_packet,
    build_packets,
    data_reply,
    execution_result,
    format_cp,
    heartbeat,
    key_request,
    key_set,
    make_qn,
    notice_reply,
    request_reply,
)
from qingshan.protocol.hj212.codes import pollutant_info
from qingshan.protocol.hj212.crypto import OFFICIAL_TEST_KEY
from qingshan.protocol.hj212.framing import Framer
from qingshan.protocol.hj212.parser import parse_frame, parse_packet, parse_segment
from qingshan.protocol.hj212.reasons import Reason
from qingshan.protocol.hj212.reassembly import Part, Reassembled, Reassembler
from qingshan.protocol.hj212.receiver import (
    DeviceProfile,
    DeviceSettings,
    Receiver,
    Rejection,
    sniff_mn,
    sniff_reply_qn,
)
from qingshan.protocol.hj212.replies import (
    ANSWER_CNS,
    HEARTBEAT_CN,
    Refusal,
    Registration,
    answered_qn,
    check_access,
    refusal_code,
    reply_to,
)

__all__ = [
    "ANSWER_CNS",
    "CP",
    "HEARTBEAT_CN",
    "OFFICIAL_TEST_KEY",
    "DeviceProfile",
    "DeviceSettings",
    "Edition",
    "Frame",
    "Framer",
    "FramingError",
    "Packet",
    "Part",
    "Pollutant",
    "ProtocolError",
    "Reason",
    "Reassembled",
    "Reassembler",
    "Receiver",
    "Refusal",
    "Registration",
    "Rejection",
    "answered_qn",
    "build_command",
    "build_packet",
    "build_packets",
    "check_access",
    "crc16",
    "crc16_hex",
    "data_reply",
    "execution_result",
    "format_cp",
    "heartbeat",
    "key_request",
    "key_set",
    "make_qn",
    "notice_reply",
    "parse_frame",
    "parse_packet",
    "parse_segment",
    "pollutant_info",
    "refusal_code",
    "reply_to",
    "request_reply",
    "sniff_mn",
    "sniff_reply_qn",
]
