"""Packets from public HJ 212 implementations' test suites parse the same way here.

Every sample is cited in tests/protocol/fixtures/hj212_public_samples.json (repository, path,
commit).
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from qingshan.protocol.hj212 import (
    Packet,
    ProtocolError,
    crc16,
    crc16_hex,
    data_reply,
    parse_packet,
)

FIXTURE = json.loads(
    (Path(__file__).parent / "fixtures" / "hj212_public_samples.json").read_text("utf-8")
)


def _frame(segment: str) -> bytes:
    raw = segment.encode()
    return b"##%04d" % len(raw) + raw + crc16_hex(raw).encode() + b"\r\n"


def _modbus_crc(data: bytes) -> int:
    # CRC-16/MODBUS, as the Go source frames its test packets (for the negative check only).
    reg = 0xFFFF
    for byte in data:
        reg ^= byte
        for _ in range(8):
            reg = (reg >> 1) ^ 0xA001 if reg & 1 else reg >> 1
    return reg


def _packet_bytes(sample: dict[str, Any]) -> bytes:
    if "packet" in sample:
        return str(sample["packet"]).encode()
    return _frame(sample["segment"])


def _check(packet: Packet, expect: dict[str, Any]) -> None:
    for key in ("edition", "qn", "st", "cn", "pw", "mn", "flag"):
        if key in expect:
            assert (
                str(getattr(packet, key)) == str(expect[key])
                if key == "edition"
                else (getattr(packet, key) == expect[key])
            ), key
    if "data_time" in expect:
        want = expect["data_time"]
        assert packet.cp.data_time == (None if want is None else datetime.fromisoformat(want))
    assert list(packet.tolerated) == expect["tolerated"]
    if "params" in expect:
        assert dict(packet.cp.params) == expect["params"]
    full = expect.get("pollutants")
    subset = expect.get("pollutants_subset", full)
    if full is not None:
        assert list(packet.cp.pollutants) == list(full)
    if "pollutant_count" in expect:
        assert len(packet.cp.pollutants) == expect["pollutant_count"]
    for code, want in (subset or {}).items():
        pol = packet.cp.pollutants[code]
        assert pol.code == code
        assert pol.original_code == want["original"]
        assert dict(pol.fields) == want["fields"]


SAMPLES = FIXTURE["packets"]


def test_at_least_three_independent_sources() -> None:
    repos = {FIXTURE["sources"][s["source"]]["repo"] for s in SAMPLES}
    assert len(repos) >= 4


@pytest.mark.parametrize(
    "sample", SAMPLES, ids=[f"{s['source']}-{i}" for i, s in enumerate(SAMPLES)]
)
def test_public_sample_parses_identically(sample: dict[str, Any]) -> None:
    raw = _packet_bytes(sample)
    packet = parse_packet(raw, lenient=True)
    _check(packet, sample["expect"])
    if sample["strict_error"] is None:
        assert parse_packet(raw) == packet
    else:
        with pytest.raises(ProtocolError) as info:
            parse_packet(raw)
        assert info.value.reason == sample["strict_error"]


def test_reply_matches_the_source_test() -> None:
    sample = next(s for s in SAMPLES if "reply_9014" in s)
    packet = parse_packet(sample["packet"], lenient=True)
    assert data_reply(packet).decode() == sample["reply_9014"]


def test_go_source_frames_with_modbus_crc_which_hj212_rejects() -> None:
    seg = next(s for s in SAMPLES if s["source"] == "rulego")["segment"].encode()
    modbus = _modbus_crc(seg)
    assert _modbus_crc(b"123456789") == 0x4B37  # the Go test's own vector
    assert modbus != crc16(seg)
    wrong = b"##%04d" % len(seg) + seg + b"%04X\r\n" % modbus
    with pytest.raises(ProtocolError) as info:
        parse_packet(wrong)
    assert info.value.reason == "crc_mismatch"


@pytest.mark.parametrize("sample", FIXTURE["rejects"], ids=[r["what"] for r in FIXTURE["rejects"]])
def test_public_negative_cases_get_specific_reasons(sample: dict[str, Any]) -> None:
    with pytest.raises(ProtocolError) as info:
        parse_packet(_packet_bytes(sample))
    assert info.value.reason == sample["reason"], info.value.detail
    tolerance = sample.get("lenient_tolerates")
    if tolerance is None:
        with pytest.raises(ProtocolError) as info:
            parse_packet(_packet_bytes(sample), lenient=True)
        assert info.value.reason == sample["reason"], info.value.detail
    else:
        assert tolerance in parse_packet(_packet_bytes(sample), lenient=True).tolerated


def test_every_field_traffic_line_of_the_java_resource_has_a_valid_crc() -> None:
    # The 2005-era field lines we carry: their CRC is the HJ 212 CRC (not MODBUS).
    for sample in SAMPLES:
        if sample["source"].startswith("xiaoyao") and "packet" in sample:
            raw = sample["packet"].rstrip("\r\n").encode()
            assert crc16(raw[6:-4]) == int(raw[-4:], 16)
            assert int(raw[2:6]) == len(raw) - 10
