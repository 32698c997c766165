"""Builders, replies, commands, splitting + reassembly, HJ 212-2025 heartbeat/RF/1014/SM4."""

# ruff: noqa: E501  (verbatim HJ 212 packets are longer than a line)

from __future__ import annotations

from datetime import datetime

import pytest

from qingshan.protocol.hj212 import (
    CP,
    OFFICIAL_TEST_KEY,
    Edition,
    Framer,
    Pollutant,
    ProtocolError,
    Reassembler,
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
    parse_frame,
    parse_packet,
    request_reply,
)
from qingshan.protocol.hj212.codes import cn_codes
from qingshan.protocol.hj212.crypto import (
    SM4Error,
    decrypt_cp_text,
    encrypt_cp_text,
    sm4_ecb_decrypt,
    sm4_ecb_encrypt,
    sm4_ecb_pkcs7_base64,
)

MN = "010000A8900016F000169DC0"
QN = "20240601085857223"


def test_rebuilds_the_official_2017_sample() -> None:
    out = build_packet(
        st="32",
        cn="1062",
        pw="100000",
        mn=MN,
        qn="20160801085857223",
        cp={"RtdInterval": 30},
        needs_reply=True,
    )
    assert (
        out
        == b"##0101QN=20160801085857223;ST=32;CN=1062;PW=100000;MN=010000A8900016F000169DC0;Flag=5;CP=&&RtdInterval=30&&1C80\r\n"
    )


def test_rebuilds_the_official_2025_a1_sample() -> None:
    out = build_packet(
        st="32",
        cn="1011",
        pw="123456",
        mn=MN,
        qn=QN,
        cp="",
        edition=Edition.V2025,
        needs_reply=True,
    )
    assert (
        out
        == b"##0087QN=20240601085857223;ST=32;CN=1011;PW=123456;MN=010000A8900016F000169DC0;Flag=9;CP=&&&&2200\r\n"
    )


def test_flag_per_edition() -> None:
    def flag(mn: str = MN, **kw: object) -> int | None:
        return parse_packet(build_packet(st="32", cn="2011", pw="1", mn=mn, cp="", **kw)).flag  # type: ignore[arg-type]

    assert flag() == 4
    assert flag(needs_reply=True) == 5
    assert flag(edition=Edition.V2025) == 8
    assert flag(edition=Edition.V2025, needs_reply=True) == 9
    assert flag(edition=Edition.V2005, mn="LD130133000015") is None  # 2005: Flag optional
    assert flag(edition=Edition.V2005, needs_reply=True) == 1
    assert flag(flag=6, pnum=2, pno=1) == 6


def test_format_cp_forms() -> None:
    when = datetime(2024, 6, 1, 8, 58)
    cp = CP(when, {"a21026": Pollutant("a21026", {"Rtd": "1.50", "Flag": "N"})}, {"PolId": "x"})
    assert format_cp(cp) == "DataTime=20240601085800;PolId=x;a21026-Rtd=1.50,a21026-Flag=N"
    assert (
        format_cp({"a21026": {"Avg": "2"}, "DataTime": when})
        == "DataTime=20240601085800;a21026-Avg=2"
    )
    for bad in (
        {"a": {"Rtd": "1;2"}},
        {"a": {}},
        "x&&y",
        {"Bad=Name": "1"},
        {"a": None},
        {"a": {"Rtd": [1, 2]}},
    ):
        with pytest.raises(ValueError):
            format_cp(bad)  # type: ignore[arg-type]


def test_round_trip_keeps_exact_text() -> None:
    cp = {
        "DataTime": "20240601085800",
        "a21026": {"Rtd": "0.10", "Flag": "N"},
        "w01018": {"Avg": "1.000"},
    }
    p = parse_packet(build_packet(st="31", cn="2011", pw="123456", mn=MN, qn=QN, cp=cp))
    assert p.cp.pollutants["a21026"].fields == {"Rtd": "0.10", "Flag": "N"}
    assert p.cp.pollutants["w01018"].fields == {"Avg": "1.000"}


def _upload(edition: Edition = Edition.V2017) -> bytes:
    return build_packet(
        st="31",
        cn="2051",
        pw="123456",
        mn=MN,
        qn=QN,
        edition=edition,
        needs_reply=True,
        cp={"DataTime": "20240601085800", "a21026": {"Avg": "1"}},
    )


@pytest.mark.parametrize("edition", [Edition.V2017, Edition.V2025])
def test_replies(edition: Edition) -> None:
    up = parse_packet(_upload(edition))
    for raw, cn, params in [
        (data_reply(up), "9014", {}),
        (request_reply(up, 1), "9011", {"QnRtn": "1"}),
        (execution_result(up, 100), "9012", {"ExeRtn": "100"}),
        (notice_reply(up), "9013", {}),
    ]:
        r = parse_packet(raw)
        assert (r.st, r.cn, r.qn, r.mn, r.pw, r.edition) == ("91", cn, QN, MN, "123456", edition)
        assert not r.needs_reply and dict(r.cp.params) == params
    with pytest.raises(ValueError):
        request_reply(up, 42)
    with pytest.raises(ValueError):
        execution_result(up, 7)


COMMANDS = {
    "1000": {"OverTime": 5, "ReCount": 3},
    "1011": {},
    "1012": {"SystemTime": datetime(2024, 6, 1, 9)},
    "1061": {},
    "1062": {"RtdInterval": 30},
    "1063": {},
    "1064": {"MinInterval": 10},
    "1072": {"NewPW": "654321"},
    "2011": {},
    "2012": {},
    "2021": {},
    "2022": {},
    "2031": {"BeginTime": "20240601000000", "EndTime": "20240602000000"},
    "2041": {"BeginTime": "20240601000000", "EndTime": "20240602000000"},
    "2051": {"BeginTime": "20240601000000", "EndTime": "20240601010000"},
    "2061": {"BeginTime": "20240601000000", "EndTime": "20240601230000"},
    "3011": {"PolId": "w01018"},
    "3012": {"PolId": "w01018"},
    "3013": {"PolId": "w01018"},
    "3014": {"PolId": "w01018"},
    "3015": {},
    "3016": {"PolId": "w01018", "CstartTime": "000000", "Ctime": 2},
    "3017": {"PolId": "w01018"},
    "3018": {"PolId": "w01018"},
    "3019": {"PolId": "w01018"},
    "3020": {"PolId": "w01018", "InfoId": "i13004"},
    "3021": {"PolId": "w01018", "InfoId": "i13004", "i13004-Info": "160"},
}


@pytest.mark.parametrize("cn", sorted(COMMANDS))
def test_every_platform_command(cn: str) -> None:
    raw = build_command(cn, st="32", pw="123456", mn=MN, qn=QN, params=COMMANDS[cn])
    p = parse_packet(raw)
    assert (p.cn, p.qn, p.needs_reply, p.edition) == (cn, QN, True, Edition.V2017)
    # Information codes after PolId belong to that pollutant ("i13004-Info" field of w01018).
    names = {s if "-" in s else f"{c}-{s}" for c, v in p.cp.pollutants.items() for s in v.fields}
    assert set(p.cp.params) | names == set(COMMANDS[cn])


def test_command_checks() -> None:
    with pytest.raises(ValueError, match="RtdInterval"):
        build_command("1062", st="32", pw="1", mn=MN, qn=QN)
    with pytest.raises(ValueError, match="not in the command code table"):
        build_command("7777", st="32", pw="1", mn=MN, qn=QN)
    with pytest.raises(ValueError, match="HJ 212-2017"):
        build_command("3022", st="32", pw="1", mn=MN, qn=QN)
    assert "1014" in cn_codes()


def test_make_qn() -> None:
    assert make_qn(datetime(2024, 6, 1, 8, 58, 57, 223456)) == QN


def test_heartbeat_9015() -> None:
    p = parse_packet(heartbeat(mn=MN, pw="123456", qn=QN))
    assert (p.cn, p.st, p.flag, p.edition, dict(p.cp.params)) == (
        "9015",
        "91",
        8,
        Edition.V2025,
        {},
    )
    with pytest.raises(ValueError):
        heartbeat(mn=MN, pw="1", qn=QN, edition=Edition.V2017)


def test_rf_resend() -> None:
    p = parse_packet(
        build_packet(
            st="31", cn="2051", pw="1", mn=MN, qn=QN, cp="", rf=True, edition=Edition.V2025
        )
    )
    assert p.rf and b"RF=1;" in p.segment.encode()


def test_sm4_standard_vectors() -> None:
    key = bytes.fromhex("0123456789abcdeffedcba9876543210")  # GB/T 32907 appendix A
    assert sm4_ecb_encrypt(key, key).hex() == "681edf34d206965e86b3e94f536e4246"
    assert sm4_ecb_decrypt(key, bytes.fromhex("681edf34d206965e86b3e94f536e4246")) == key
    # HJ 212-2025 Annex H.1.2 (HTTPS Authorization, SM4-ECB PKCS7 Base64).
    assert sm4_ecb_pkcs7_base64("testuser:AezF0nZRs4kypuGO", b"msbE74gsiSHSEh5e") == (
        "LG/m7lsFU/taig+vbQsDJXy4NGAaE2j2lplPwhZM7iM="
    )
    with pytest.raises(SM4Error):
        sm4_ecb_encrypt(b"short", b"x" * 16)
    with pytest.raises(SM4Error):
        sm4_ecb_decrypt(key, b"x" * 15)


def test_cp_encryption_layout() -> None:
    plain = b"DataTime=20240601085857;a21026-Rtd=18.5,a21026-Flag=N"  # 53 bytes = 3 blocks + 5
    wire = encrypt_cp_text(plain, OFFICIAL_TEST_KEY)
    head, tail = wire.split(b"}")
    assert wire.startswith(b"{0x") and tail == b"lag=N" and head.count(b",") == 47
    assert decrypt_cp_text(wire.decode(), OFFICIAL_TEST_KEY) == plain.decode()
    assert encrypt_cp_text(b"short", OFFICIAL_TEST_KEY) == b"short"
    with pytest.raises(SM4Error):
        decrypt_cp_text("{0x01,0x02}", OFFICIAL_TEST_KEY)
    with pytest.raises(SM4Error):
        decrypt_cp_text("{zz}", OFFICIAL_TEST_KEY)


def test_encrypted_packet_round_trip_and_crc_over_plaintext() -> None:
    cp = {"DataTime": "20240601085857", "a21026": {"Rtd": "18.5", "Flag": "N"}}
    plain = build_packet(
        st="31", cn="2011", pw="123456", mn=MN, qn=QN, cp=cp, edition=Edition.V2025
    )
    enc = build_packet(
        st="31",
        cn="2011",
        pw="123456",
        mn=MN,
        qn=QN,
        cp=cp,
        edition=Edition.V2025,
        sm4_key=OFFICIAL_TEST_KEY,
    )
    assert enc[-6:] == plain[-6:]  # same CRC: computed over the plaintext (A.2)
    assert b"CP=&&{0x" in enc
    p = parse_packet(enc, sm4_key=OFFICIAL_TEST_KEY)
    assert p == parse_packet(plain)
    with pytest.raises(ProtocolError) as info:
        parse_packet(enc)
    assert info.value.reason == "encrypted_cp"
    with pytest.raises(ProtocolError) as info:
        parse_packet(enc, sm4_key=b"1" * 16)
    assert info.value.reason in ("crc_mismatch", "bad_ciphertext")
    # The standard's A.2 examples put the plaintext length in the length field: accepted too.
    plain_len = int(plain[2:6])
    as_printed = b"##%04d" % plain_len + enc[6:]
    assert parse_packet(as_printed, sm4_key=OFFICIAL_TEST_KEY, max_segment=2048).cp == p.cp


def test_key_management_1014() -> None:
    when = datetime(2026, 1, 1, 0, 0)
    p = parse_packet(key_request(st="31", pw="123456", mn=MN, qn=QN, sk_create_time=when))
    assert (p.cn, p.edition, dict(p.cp.params)) == (
        "1014",
        Edition.V2025,
        {"SKCreateTime": "20260101000000"},
    )
    raw = key_set(
        st="31",
        pw="123456",
        mn=MN,
        qn=QN,
        sk_create_time=when,
        new_sk="A" * 16,
        sm4_key=OFFICIAL_TEST_KEY,
    )
    assert b"NewSK" not in raw
    p = parse_packet(raw, sm4_key=OFFICIAL_TEST_KEY)
    assert dict(p.cp.params) == {"SKCreateTime": "20260101000000", "NewSK": "A" * 16}
    with pytest.raises(ValueError):
        key_set(st="31", pw="1", mn=MN, qn=QN, sk_create_time=when, new_sk="short")


def _long_cp(n: int) -> dict[str, object]:
    cp: dict[str, object] = {"DataTime": "20240601085800"}
    for i in range(n):
        cp[f"e1{i:02d}01"] = {"Avg": f"{i}.5", "Min": "1.25", "Max": "9.75", "Flag": "N"}
    return cp


def test_split_and_reassemble() -> None:
    packets = build_packets(
        st="52", cn="2051", pw="123456", mn=MN, qn=QN, cp=_long_cp(40), needs_reply=True
    )
    assert len(packets) > 1
    parsed = [parse_packet(p) for p in packets]
    assert all(len(p) <= 1024 + 12 for p in packets)
    assert [(p.pnum, p.pno, p.is_split, p.flag) for p in parsed] == [
        (len(packets), i, True, 7) for i in range(1, len(packets) + 1)
    ]
    r = Reassembler()
    results = [r.add(p, now=0.0) for p in reversed(parsed)]
    assert results[:-1] == [None] * (len(packets) - 1)
    whole = results[-1]
    assert whole is not None and r.held() == 0
    merged = whole.packet
    assert (merged.pnum, merged.pno, merged.flag, merged.is_split) == (None, None, 5, False)
    assert len(merged.cp.pollutants) == 40
    assert merged.cp.pollutants["e13901"].fields == {
        "Avg": "39.5",
        "Min": "1.25",
        "Max": "9.75",
        "Flag": "N",
    }
    assert merged.cp.data_time == datetime(2024, 6, 1, 8, 58)


def test_small_cp_is_not_split() -> None:
    assert len(build_packets(st="52", cn="2051", pw="1", mn=MN, cp=_long_cp(2))) == 1


def test_reassembler_passes_unsplit_and_bounds_memory() -> None:
    r = Reassembler(max_parts=5, max_age_s=10.0)
    whole = parse_packet(_upload())
    passed = r.add(whole, 0.0)
    assert passed is not None and passed.packet is whole
    parts = [
        parse_packet(p)
        for p in build_packets(st="52", cn="2051", pw="1", mn=MN, qn=QN, cp=_long_cp(40))
    ]
    assert r.add(parts[0], 0.0) is None and r.held() == 1
    assert r.add(parts[0], 1.0) is None and r.held() == 1  # resent part replaces, not added
    assert r.add(parts[1], 20.0) is None  # the first group expired
    assert r.discarded == 1 and r.held() == 1
    for i in range(6):  # more groups than max_parts: the oldest are dropped
        other = build_packets(
            st="52", cn="2051", pw="1", mn=MN, qn=f"2024060108585700{i}", cp=_long_cp(40)
        )
        r.add(parse_packet(other[0]), 21.0 + i)
    assert r.held() <= 5
    big = parse_packet(build_packet(st="52", cn="2051", pw="1", mn=MN, cp="", pnum=9, pno=1))
    r2 = Reassembler(max_parts=5)
    assert r2.add(big, 0.0) is None and r2.discarded == 1
    with pytest.raises(ValueError):
        Reassembler(max_parts=0)


def test_builder_argument_errors() -> None:
    with pytest.raises(ValueError):
        build_packet(st="32", cn="2011", pw="1", mn=MN, cp="", pnum=2)
    with pytest.raises(ValueError):
        build_packet(st="32", cn="2011", pw="1", mn=MN, cp="", pnum=2, pno=3)
    with pytest.raises(ValueError):
        build_packet(st="32", cn="2011", pw="1", mn=MN, cp="", flag=300)
    with pytest.raises(ValueError):
        build_packet(st="3;2", cn="2011", pw="1", mn=MN, cp="")
    with pytest.raises(ValueError, match="build_packets"):
        build_packet(st="32", cn="2011", pw="1", mn=MN, cp=_long_cp(40))


def test_framer_and_parser_together_on_built_stream() -> None:
    stream = b"".join(build_packets(st="52", cn="2051", pw="1", mn=MN, qn=QN, cp=_long_cp(40)))
    framer = Framer()
    events = []
    for i in range(0, len(stream), 7):
        events += framer.feed(stream[i : i + 7])
    packets = [parse_frame(e) for e in events]  # type: ignore[arg-type]
    assert [p.pno for p in packets] == list(range(1, len(packets) + 1))


def test_encrypted_packet_with_plaintext_length_through_the_framer() -> None:
    cp = {"DataTime": "20240601085857"} | {
        f"a2100{i}": {"Rtd": f"{i}.5", "Flag": "N"} for i in range(5)
    }
    plain = build_packet(
        st="31", cn="2011", pw="123456", mn=MN, qn=QN, cp=cp, edition=Edition.V2025
    )
    enc = build_packet(
        st="31",
        cn="2011",
        pw="123456",
        mn=MN,
        qn=QN,
        cp=cp,
        edition=Edition.V2025,
        sm4_key=OFFICIAL_TEST_KEY,
    )
    as_printed = plain[:6] + enc[6:]  # the A.2 examples put the plaintext length in the header
    framer = Framer(max_segment=4096)
    events = framer.feed(as_printed + plain)
    packets = [parse_frame(e, sm4_key=OFFICIAL_TEST_KEY, max_segment=4096) for e in events]  # type: ignore[arg-type]
    assert [p.cp for p in packets] == [parse_packet(plain).cp] * 2


def test_is_encrypted_cp() -> None:
    from qingshan.protocol.hj212.crypto import is_encrypted_cp

    assert is_encrypted_cp("{0xE4,0x3E}g=N") and is_encrypted_cp("{0X01}")
    assert not is_encrypted_cp("DataTime=20240601085857") and not is_encrypted_cp("")
