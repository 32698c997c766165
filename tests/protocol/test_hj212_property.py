"""Nothing a device sends may raise anything but ProtocolError; the framer never hangs or grows."""

from __future__ import annotations

import contextlib

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qingshan.protocol.hj212 import (
    Frame,
    Framer,
    FramingError,
    Packet,
    ProtocolError,
    crc16,
    parse_frame,
    parse_packet,
)

VALID = [
    b"##0101QN=20160801085857223;ST=32;CN=1062;PW=100000;MN=010000A8900016F000169DC0;Flag=5;CP=&&RtdInterval=30&&1C80\r\n",
    b"##0087QN=20240601085857223;ST=32;CN=1011;PW=123456;MN=010000A8900016F000169DC0;Flag=9;CP=&&&&2200\r\n",
    b"##0139ST=32;CN=2011;PW=123456;MN=LD130133000015;CP=&&DataTime=20160824003817000;B01-Rtd=36.91;011-Rtd=231.0,011-Flag=N;060-Rtd=1.803,060-Flag=N&&4980\r\n",
    b"##0144ST=32;CN=2021;PW=123456;MN=LD130104000268;CP=&&DataTime=20160824045500;SB1-RS=0;SB2-RS=0;SB3-RS=0;SB4-RS=0;SB5-RS=0;SB6-RS=0;SB7-RS=0;SB8-RS=0&&E2C1\r\n",
]
MAX = 256
SETTINGS = settings(max_examples=150, deadline=2000, suppress_health_check=[HealthCheck.too_slow])


def _parse_all(data: bytes) -> None:
    for lenient in (False, True):
        for encoding in ("utf-8", "gbk"):
            try:
                result = parse_packet(data, lenient=lenient, encoding=encoding)
            except ProtocolError as exc:
                assert exc.reason and exc.detail
            else:
                assert isinstance(result, Packet)


@SETTINGS
@given(st.lists(st.binary(max_size=300), max_size=20), st.integers(16, MAX))
def test_framer_on_random_chunks(chunks: list[bytes], max_segment: int) -> None:
    framer = Framer(max_segment=max_segment)
    for chunk in chunks:
        for event in framer.feed(chunk):
            assert isinstance(event, Frame | FramingError)
            assert len(getattr(event, "skipped", b"")) <= 64
            if isinstance(event, Frame):
                with contextlib.suppress(ProtocolError):
                    parse_frame(event, lenient=True, max_segment=max_segment)
        assert framer.buffered() <= max_segment + 12


def _mutate(data: bytes, ops: list[tuple[int, int, int]]) -> bytes:
    buf = bytearray(data)
    for kind, pos, value in ops:
        if not buf:
            buf.append(value)
            continue
        i = pos % len(buf)
        if kind == 0:
            buf[i] = value
        elif kind == 1:
            buf.insert(i, value)
        elif kind == 2:
            del buf[i]
        else:
            del buf[i:]
    return bytes(buf)


MUTATIONS = st.lists(
    st.tuples(st.integers(0, 3), st.integers(0, 10_000), st.integers(0, 255)),
    min_size=1,
    max_size=6,
)


@SETTINGS
@given(st.sampled_from(VALID), MUTATIONS)
def test_mutated_packets_raise_only_protocol_error(
    packet: bytes, ops: list[tuple[int, int, int]]
) -> None:
    _parse_all(_mutate(packet, ops))


SEGMENT_ALPHABET = st.sampled_from(
    [
        *"=;,&-QSTCNPWMFlagRtdAvgFlagDataTime0123456789.xN{}",
        "CP=&&",
        "&&",
        "Flag=",
        "PNUM=",
        "PNO=",
        "RF=",
        "DataTime=",
        "中",
        "²",
        "١",
    ]
)


@SETTINGS
@given(st.lists(SEGMENT_ALPHABET, max_size=80))
def test_random_segments_with_valid_crc(parts: list[str]) -> None:
    # A correct length and CRC let random text reach the field parser.
    segment = "ST=32;CN=2011;PW=1;MN=AB;" + "".join(parts)
    for encoding in ("utf-8", "gbk"):
        try:
            raw = segment.encode(encoding)
        except UnicodeEncodeError:
            continue  # e.g. "²" has no GBK form; the UTF-8 round covers it
        _parse_all(b"##%04d" % len(raw) + raw + b"%04X\r\n" % crc16(raw))


@SETTINGS
@given(
    st.lists(
        st.tuples(st.sampled_from(VALID), st.binary(max_size=40).filter(lambda b: b"#" not in b)),
        max_size=6,
    ),
    st.lists(st.integers(1, 50), min_size=1, max_size=10),
)
def test_valid_packets_survive_garbage_and_any_chunking(
    items: list[tuple[bytes, bytes]], sizes: list[int]
) -> None:
    stream = b"".join(garbage + packet for packet, garbage in items)
    framer = Framer()
    events: list[Frame | FramingError] = []
    pos = 0
    i = 0
    while pos < len(stream):
        size = sizes[i % len(sizes)]
        events += framer.feed(stream[pos : pos + size])
        pos += size
        i += 1
    got = [parse_packet(e.raw, lenient=True) for e in events if isinstance(e, Frame)]
    assert [p.segment.encode() for p in got] == [p[6:-6] for p, _ in items]


@SETTINGS
@given(
    st.lists(
        st.sampled_from(["{", "}", "0x", "0X", ",", "A1", "ff", "7", "g=N", "&&", "中"]),
        max_size=60,
    ),
    st.booleans(),
)
def test_random_ciphertext_with_key(parts: list[str], lenient: bool) -> None:
    segment = (
        f"QN=20240601085857223;ST=31;CN=2011;PW=1;MN={'0' * 24};Flag=8;CP=&&{{0x"
        + "".join(parts)
        + "&&"
    )
    raw = segment.encode()
    data = b"##%04d" % len(raw) + raw + b"%04X\r\n" % crc16(raw)
    for encoding in ("utf-8", "gbk"):
        try:
            result = parse_packet(data, lenient=lenient, encoding=encoding, sm4_key=b"0" * 16)
        except ProtocolError as exc:
            assert exc.reason
        else:
            assert isinstance(result, Packet)


CODES = st.sampled_from(
    ["a21026", "a34013", "w01018", "SB1", "LA", "011", "i13004", "a,b", "x y", ""]
)
SUFFIXES = st.sampled_from(
    ["Rtd", "Avg", "Min", "Max", "Cou", "ZsAvg", "RS", "Flag", "EFlag", "SampleTime", "Info", ""]
)
VALUES = st.sampled_from(
    ["1.5", "-0.25", "+3", "12", "N", "D", "X", "", "1.", "２", "a-b", "20240601085800", "1=2"]
)


@st.composite
def cp_texts(draw: st.DrawFn) -> str:
    groups = []
    for _ in range(draw(st.integers(0, 5))):
        code = draw(CODES)
        items = []
        for _ in range(draw(st.integers(1, 4))):
            other = draw(st.booleans()) and draw(st.integers(0, 9)) == 0
            prefix = draw(CODES) if other else code
            items.append(f"{prefix}-{draw(SUFFIXES)}={draw(VALUES)}")
        groups.append(",".join(items))
    if draw(st.booleans()):
        groups.insert(
            0, "DataTime=" + draw(st.sampled_from(["20240601085800", "2024", "20240601085800123"]))
        )
    if draw(st.booleans()):
        groups.insert(draw(st.integers(0, len(groups))), "")  # empty group (";;")
    if draw(st.booleans()):
        groups.insert(draw(st.integers(0, len(groups))), "PolId=w01018")
    return ";".join(groups) + draw(st.sampled_from(["", "", ";", ","]))


@SETTINGS
@given(cp_texts(), st.booleans(), st.sampled_from(["2005", "2017"]))
def test_fast_cp_path_equals_item_by_item_path(inner: str, lenient: bool, edition: str) -> None:
    from qingshan.protocol.hj212._model import Edition
    from qingshan.protocol.hj212.parser import _Ctx, _parse_cp

    results = []
    for fast in (True, False):
        ctx = _Ctx(lenient)
        try:
            cp = _parse_cp(inner, Edition(edition), ctx, fast=fast)
        except ProtocolError as exc:
            results.append(("error", exc.reason))
        else:
            results.append(("ok", cp, ctx.tolerated))
    assert results[0] == results[1]


HEADER_VALUES = {
    "QN": ["20240601085857223", "2024", "２0240601085857223"],
    "ST": ["31", "32", "99", "3"],
    "CN": ["2051", "2011", "8013", "20511"],
    "PW": ["123456", "1234567", "ab"],
    "MN": ["010000A8900016F000169DC0", "LD130133000015", "z" * 24, "A B"],
    "Flag": ["4", "5", "6", "8", "9", "0", "13", "256"],
}


@SETTINGS
@given(
    st.fixed_dictionaries({k: st.sampled_from(v) for k, v in HEADER_VALUES.items()}), st.booleans()
)
def test_fast_header_path_equals_general_path(fields: dict[str, str], lenient: bool) -> None:
    import re

    from qingshan.protocol.hj212 import parser

    text = "".join(f"{k}={v};" for k, v in fields.items()) + "CP=&&DataTime=20240601085800&&"
    outcomes = []
    saved = parser._FAST_HEAD
    try:
        for pattern in (saved, re.compile("(?!)")):  # second round: never the fast header
            parser._FAST_HEAD = pattern
            try:
                outcomes.append(parser.parse_segment(text, lenient=lenient))
            except ProtocolError as exc:
                outcomes.append(exc.reason)  # type: ignore[arg-type]
    finally:
        parser._FAST_HEAD = saved
    assert outcomes[0] == outcomes[1]
