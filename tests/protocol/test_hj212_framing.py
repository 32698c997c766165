"""Stream framing: glued, split, garbage, missing CRLF, oversize, truncated, wrong length."""

# ruff: noqa: E501  (verbatim HJ 212 packets are longer than a line)

from __future__ import annotations

import pytest

from qingshan.protocol.hj212 import Frame, Framer, FramingError, ProtocolError, parse_frame

P1 = b"##0101QN=20160801085857223;ST=32;CN=1062;PW=100000;MN=010000A8900016F000169DC0;Flag=5;CP=&&RtdInterval=30&&1C80\r\n"
P2 = b"##0087QN=20240601085857223;ST=32;CN=1011;PW=123456;MN=010000A8900016F000169DC0;Flag=9;CP=&&&&2200\r\n"


def frames(events: list[Frame | FramingError]) -> list[Frame]:
    return [e for e in events if isinstance(e, Frame)]


def errors(events: list[Frame | FramingError]) -> list[str]:
    return [e.reason for e in events if isinstance(e, FramingError)]


def test_glued_packets_in_one_chunk() -> None:
    events = Framer().feed(P1 + P2 + P1)
    assert [f.raw for f in frames(events)] == [P1, P2, P1]
    assert errors(events) == []


def test_one_byte_at_a_time() -> None:
    framer = Framer()
    events: list[Frame | FramingError] = []
    for i in range(len(P1 + P2)):
        events += framer.feed((P1 + P2)[i : i + 1])
        assert framer.buffered() <= 1024 + 12
    # A frame is emitted as soon as its CRC is complete; the CRLF that follows is skipped.
    assert [f.raw for f in frames(events)] == [P1[:-2], P2[:-2]]
    assert errors(events) == []
    assert framer.buffered() == 0


def test_packet_cut_in_half() -> None:
    framer = Framer()
    assert framer.feed(P1[:40]) == []
    got = framer.feed(P1[40:])
    assert [f.raw for f in frames(got)] == [P1]
    frame = frames(got)[0]
    assert frame.segment == P1[6:-6] and frame.crc_text == "1C80"


def test_garbage_before_header_is_reported_then_skipped() -> None:
    events = Framer().feed(b"\x00\xffnoise" + P1)
    assert errors(events) == ["garbage"]
    assert events[0].skipped == b"\x00\xffnoise"  # type: ignore[union-attr]
    assert [f.raw for f in frames(events)] == [P1]


def test_blank_bytes_between_frames_are_silent() -> None:
    events = Framer().feed(b"\r\n  " + P1 + b"\r\n" + P2)
    assert errors(events) == []
    assert len(frames(events)) == 2


def test_missing_crlf_before_next_packet_and_at_end() -> None:
    framer = Framer()
    a, b = P1[:-2], P2[:-2]
    events = framer.feed(a + b)
    assert [f.raw for f in frames(events)] == [a, b]
    assert framer.buffered() == 0
    assert parse_frame(frames(events)[0]).cn == "1062"


def test_missing_crlf_then_garbage_is_still_framed_by_crc() -> None:
    events = Framer().feed(P1[:-2] + b"xyz" + P2)
    assert [f.raw for f in frames(events)] == [P1[:-2], P2]
    assert errors(events) == ["garbage"]


def test_oversized_segment_is_rejected_without_buffering() -> None:
    framer = Framer(max_segment=1024)
    events = framer.feed(b"##5000QN=2016")
    assert errors(events) == ["segment_too_long"]
    assert framer.buffered() == 0
    for _ in range(100):  # the rest of the huge frame is dropped as it arrives
        assert framer.feed(b"x" * 100) == []
        assert framer.buffered() <= 1
    assert [f.raw for f in frames(framer.feed(P1))] == [P1]


def test_max_segment_is_configurable() -> None:
    seg = b"ST=32;CN=2011;PW=123456;MN=010000A8900016F000169DC0;Flag=4;CP=&&" + b"a" * 1100 + b"&&"
    raw = b"##%04d" % len(seg) + seg + b"0000\r\n"
    assert errors(Framer().feed(raw))[0] == "segment_too_long"
    big = Framer(max_segment=2000)
    got = frames(big.feed(raw))
    assert len(got) == 1 and got[0].segment == seg
    with pytest.raises(ValueError):
        Framer(max_segment=0)


def test_bad_length_digits_resynchronise() -> None:
    events = Framer().feed(b"##12a4" + P1)
    assert errors(events)[0] == "bad_length"
    assert [f.raw for f in frames(events)] == [P1]


def test_extra_hash_resynchronises_silently() -> None:
    events = Framer().feed(b"#" + P1)
    assert [f.raw for f in frames(events)] == [P1]


def test_truncated_frame_followed_by_a_new_one() -> None:
    framer = Framer()
    events = framer.feed(P1[:50] + P2)
    assert errors(events) == ["truncated"]
    assert [f.raw for f in frames(events)] == [P2]


def test_declared_length_too_long_is_cut_at_crlf() -> None:
    wrong = b"##0110" + P1[6:]
    events = Framer().feed(wrong + P2)
    got = frames(events)
    assert [f.raw for f in got] == [wrong, P2]
    with pytest.raises(ProtocolError) as info:
        parse_frame(got[0])
    assert info.value.reason == "length_mismatch"


def test_declared_length_too_short_is_cut_at_crlf() -> None:
    wrong = b"##0090" + P1[6:]
    got = frames(Framer().feed(wrong))
    assert [f.raw for f in got] == [wrong]
    with pytest.raises(ProtocolError) as info:
        parse_frame(got[0])
    assert info.value.reason == "length_mismatch"


def test_frame_without_room_for_crc() -> None:
    events = Framer().feed(b"##0004ab\r\n" + P1)
    assert errors(events) == ["truncated"]
    assert [f.raw for f in frames(events)] == [P1]


def test_waits_for_more_data_without_crlf() -> None:
    framer = Framer()
    assert framer.feed(P1[:-6]) == []
    assert framer.buffered() == len(P1) - 6


def test_frame_without_any_end_is_given_up_at_the_bound() -> None:
    framer = Framer(max_segment=128)
    bogus = b"##0010" + b"x" * 300  # no hex CRC after 10 bytes, no CRLF, no next header
    events = framer.feed(bogus)
    assert "no_frame_end" in errors(events)
    assert framer.buffered() <= 128 + 12
    assert [f.raw for f in frames(framer.feed(P2))] == [P2]


def test_large_hostile_chunk() -> None:
    # 400 kB of headers that never complete, in one chunk. The framer only searches a window
    # of max_segment + 12 bytes per step, so this stays linear (if each
    # step scanned the whole buffer, it would be quadratic).
    framer = Framer()
    hostile = b"##0001" * 50_000 + b"#" * 100_000
    events = framer.feed(hostile + P1)
    assert [f.raw for f in frames(events)] == [P1]
    assert framer.buffered() == 0
