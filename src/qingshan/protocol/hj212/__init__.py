"""HJ 212 (2005 / 2017 / 2025) protocol library: sans-I/O framing, parsing, validation, building.

Bytes in, events out; no sockets, threads or storage (like h11/wsproto)::

    framer = Framer(max_segment=1024)
    for event in framer.feed(chunk):
        if isinstance(event, Frame):
            packet = parse_frame(event, lenient=True, encoding="gbk")
            if packet.needs_reply:
                send(data_reply(packet))

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
from qingshan.protocol.hj212.reassembly import Reassembler

__all__ = [
    "CP",
    "OFFICIAL_TEST_KEY",
    "Edition",
    "Frame",
    "Framer",
    "FramingError",
    "Packet",
    "Pollutant",
    "ProtocolError",
    "Reassembler",
    "build_command",
    "build_packet",
    "build_packets",
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
    "request_reply",
]
