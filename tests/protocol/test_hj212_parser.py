"""Parser: fields, suffixes, editions, strict reasons, lenient tolerances, length semantics."""

# ruff: noqa: E501  (verbatim HJ 212 packets are longer than a line)

from __future__ import annotations

from datetime import datetime

import pytest

from qingshan.protocol.hj212 import Edition, ProtocolError, crc16, parse_packet

MN = "010000A8900016F000169DC0"
HEAD = f"QN=20240601085857223;ST=31;CN=2011;PW=123456;MN={MN};Flag=5;"


def frame(
    segment: str, encoding: str = "utf-8", *, length: int | None = None, crc: str | None = None
) -> bytes:
    raw = segment.encode(encoding)
    n = len(raw) if length is None else length
    c = f"{crc16(raw):04X}" if crc is None else crc
    return b"##%04d" % n + raw + c.encode() + b"\r\n"


def reason(data: bytes, **kw: object) -> str:
    with pytest.raises(ProtocolError) as info:
        parse_packet(data, **kw)  # type: ignore[arg-type]
    assert info.value.detail
    return info.value.reason


def test_official_sample_fields() -> None:
    p = parse_packet(
        b"##0101QN=20160801085857223;ST=32;CN=1062;PW=100000;MN=010000A8900016F000169DC0;Flag=5;CP=&&RtdInterval=30&&1C80\r\n"
    )
    assert (p.qn, p.st, p.cn, p.pw, p.mn, p.flag) == (
        "20160801085857223",
        "32",
        "1062",
        "100000",
        MN,
        5,
    )
    assert p.edition is Edition.V2017 and p.needs_reply and not p.is_split and not p.rf
    assert dict(p.cp.params) == {"RtdInterval": "30"} and p.cp.data_time is None
    assert p.tolerated == ()


def test_every_suffix_is_kept_as_exact_text() -> None:
    cp = (
        "DataTime=20240601085800;a21026-Rtd=0.100,a21026-Avg=1.50,a21026-Min=-0.0,a21026-Max=10,"
        "a21026-Cou=0.00012,a21026-Flag=N,a21026-ZsRtd=2.10,a21026-ZsAvg=2.0,a21026-ZsMin=1.9,"
        "a21026-ZsMax=2.3,a21026-SampleTime=20240601085500,a21026-EFlag=A01,a21026-SN=XY-01,"
        "a21026-Info=probe"
    )
    p = parse_packet(frame(HEAD + f"CP=&&{cp}&&"))
    f = p.cp.pollutants["a21026"].fields
    assert f == {
        "Rtd": "0.100",
        "Avg": "1.50",
        "Min": "-0.0",
        "Max": "10",
        "Cou": "0.00012",
        "Flag": "N",
        "ZsRtd": "2.10",
        "ZsAvg": "2.0",
        "ZsMin": "1.9",
        "ZsMax": "2.3",
        "SampleTime": "20240601085500",
        "EFlag": "A01",
        "SN": "XY-01",
        "Info": "probe",
    }
    assert p.cp.data_time == datetime(2024, 6, 1, 8, 58)


def test_status_noise_and_params() -> None:
    cp = (
        "DataTime=20240601085800;SB1-RS=1;SB2-RS=0;SB1-RT=12.5;LA-Rtd=56.3,LA-Flag=N;"
        "Leq-Avg=55.1;L10-Avg=58.0;PolId=w01018;RestartTime=20240601080000"
    )
    p = parse_packet(frame(HEAD + f"CP=&&{cp}&&"))
    pol = p.cp.pollutants
    assert pol["SB1"].fields == {"RS": "1", "RT": "12.5"} and pol["SB2"].fields == {"RS": "0"}
    assert pol["LA"].fields == {"Rtd": "56.3", "Flag": "N"} and pol["Leq"].fields == {"Avg": "55.1"}
    assert dict(p.cp.params) == {"PolId": "w01018", "RestartTime": "20240601080000"}


def test_command_parameters() -> None:
    p = parse_packet(
        frame(f"QN=20240601085857223;ST=91;CN=9011;PW=123456;MN={MN};Flag=4;CP=&&QnRtn=1&&")
    )
    assert p.cp.params == {"QnRtn": "1"}
    p = parse_packet(
        frame(f"QN=20240601085857223;ST=91;CN=9012;PW=123456;MN={MN};Flag=4;CP=&&ExeRtn=100&&")
    )
    assert p.cp.params == {"ExeRtn": "100"}
    p = parse_packet(
        frame(
            f"QN=20240601085857223;ST=32;CN=1012;PW=123456;MN={MN};Flag=5;CP=&&SystemTime=20240601090000&&"
        )
    )
    assert p.cp.params == {"SystemTime": "20240601090000"}


@pytest.mark.parametrize(
    ("flag", "edition", "reply", "split"),
    [
        (4, Edition.V2017, False, False),
        (5, Edition.V2017, True, False),
        (8, Edition.V2025, False, False),
        (9, Edition.V2025, True, False),
        (0, Edition.V2005, False, False),
        (1, Edition.V2005, True, False),
    ],
)
def test_edition_from_flag_bits(flag: int, edition: Edition, reply: bool, split: bool) -> None:
    p = parse_packet(
        frame(f"QN=20240601085857223;ST=32;CN=2011;PW=123456;MN={MN};Flag={flag};CP=&&&&")
    )
    assert (p.edition, p.needs_reply, p.is_split) == (edition, reply, split)


def test_split_packet_fields() -> None:
    p = parse_packet(
        frame(f"QN=20240601085857223;ST=32;CN=2051;PW=123456;MN={MN};Flag=11;PNUM=3;PNO=2;CP=&&&&")
    )
    assert (p.edition, p.pnum, p.pno, p.is_split, p.needs_reply) == (
        Edition.V2025,
        3,
        2,
        True,
        True,
    )


def test_rf_resend_marker() -> None:
    p = parse_packet(
        frame(
            f"QN=20240601085857223;ST=31;CN=2051;PW=123456;MN={MN};Flag=8;RF=1;CP=&&DataTime=20240601085800&&"
        )
    )
    assert p.rf and p.edition is Edition.V2025


def test_2005_packet_maps_codes() -> None:
    p = parse_packet(
        frame(
            "ST=32;CN=2011;PW=123456;MN=LD130133000015;CP=&&DataTime=20160824003817;011-Rtd=231.0,011-Flag=N;B01-Rtd=36.91;101-Rtd=0.5;XYZ-Rtd=1&&"
        )
    )
    assert p.edition is Edition.V2005 and p.flag is None
    pol = p.cp.pollutants
    assert pol["w01018"].original_code == "011" and pol["w21011"].original_code == "101"
    assert pol["w00000"].fields == {"Rtd": "36.91"}
    assert pol["XYZ"].original_code is None  # not in the correspondence table: kept as sent


def test_2005_code_and_its_2017_code_in_one_packet_are_both_kept() -> None:
    p = parse_packet(
        frame("ST=32;CN=2011;PW=123456;MN=LD130133000015;CP=&&011-Rtd=1;w01018-Rtd=2&&")
    )
    assert p.cp.pollutants["011"].fields == {"Rtd": "1"}
    assert p.cp.pollutants["w01018"].fields == {"Rtd": "2"}


def test_2017_codes_are_not_remapped() -> None:
    p = parse_packet(frame(HEAD + "CP=&&011-Rtd=1&&"))
    assert "011" in p.cp.pollutants


GOOD = frame(HEAD + "CP=&&DataTime=20240601085800;a21026-Rtd=1.5,a21026-Flag=N&&")

STRICT_CASES = [
    ("empty", b"", "empty"),
    ("no header", b"QN=1;ST=32##", "no_header"),
    ("length not digits", b"##01a1" + GOOD[6:], "bad_length"),
    ("too short", b"##0005abc", "length_mismatch"),
    ("length mismatch", b"##0099" + GOOD[6:], "length_mismatch"),
    ("segment too long", frame(HEAD + "CP=&&" + "a" * 1100 + "&&"), "segment_too_long"),
    ("crc not hex", GOOD[:-6] + b"12G4\r\n", "bad_crc_format"),
    ("crc mismatch", GOOD[:-6] + b"0000\r\n", "crc_mismatch"),
    ("trailing data", GOOD + b"extra", "trailing_data"),
    ("no CP", frame(HEAD), "missing_field"),
    ("CP not closed", frame(HEAD + "CP=&&DataTime=20240601085800"), "bad_cp"),
    ("header not closed", frame("ST=31CP=&&&&"), "bad_field"),
    ("header without =", frame("QN;ST=31;CN=2011;PW=1;MN=X;Flag=4;CP=&&&&"), "bad_field"),
    (
        "missing MN",
        frame("QN=20240601085857223;ST=31;CN=2011;PW=123456;Flag=4;CP=&&&&"),
        "missing_field",
    ),
    ("duplicate header", frame(HEAD + "ST=32;CP=&&&&"), "duplicate_field"),
    ("unknown header field", frame(HEAD + "XX=1;CP=&&&&"), "bad_field"),
    ("unknown ST", frame(HEAD.replace("ST=31", "ST=99") + "CP=&&&&"), "unknown_st"),
    ("unknown CN", frame(HEAD.replace("CN=2011", "CN=8013") + "CP=&&&&"), "unknown_cn"),
    ("Flag not a number", frame(HEAD.replace("Flag=5", "Flag=A") + "CP=&&&&"), "bad_flag"),
    ("Flag edition 3", frame(HEAD.replace("Flag=5", "Flag=13") + "CP=&&&&"), "bad_flag"),
    ("missing Flag (24-char MN)", frame(HEAD.replace("Flag=5;", "") + "CP=&&&&"), "missing_field"),
    (
        "QN not 17 digits",
        frame(HEAD.replace("QN=20240601085857223", "QN=2024") + "CP=&&&&"),
        "bad_field",
    ),
    ("PW too long", frame(HEAD.replace("PW=123456", "PW=1234567") + "CP=&&&&"), "bad_field"),
    ("MN with bad characters", frame(HEAD.replace(MN, "AB CD") + "CP=&&&&"), "bad_field"),
    (
        "2025 MN not hex",
        frame(HEAD.replace(MN, "Z" * 24).replace("Flag=5", "Flag=9") + "CP=&&&&"),
        "bad_field",
    ),
    (
        "PNUM without PNO",
        frame(HEAD.replace("Flag=5", "Flag=7") + "PNUM=2;CP=&&&&"),
        "missing_field",
    ),
    ("PNO > PNUM", frame(HEAD.replace("Flag=5", "Flag=7") + "PNUM=2;PNO=3;CP=&&&&"), "bad_split"),
    (
        "PNUM not a number",
        frame(HEAD.replace("Flag=5", "Flag=7") + "PNUM=x;PNO=1;CP=&&&&"),
        "bad_split",
    ),
    (
        "PNUM superscript digit",
        frame(HEAD.replace("Flag=5", "Flag=7") + "PNUM=²;PNO=1;CP=&&&&"),
        "bad_split",
    ),
    ("Flag superscript digit", frame(HEAD.replace("Flag=5", "Flag=²") + "CP=&&&&"), "bad_flag"),
    (
        "DataTime non-ASCII digits",
        frame(HEAD + "CP=&&DataTime=２０２４０６０１０８５８００&&"),
        "bad_datatime",
    ),
    ("RF=0", frame(HEAD + "RF=0;CP=&&&&"), "bad_field"),
    ("DataTime short", frame(HEAD + "CP=&&DataTime=202406010858&&"), "bad_datatime"),
    ("DataTime impossible", frame(HEAD + "CP=&&DataTime=20240231085800&&"), "bad_datatime"),
    ("DataTime with ms", frame(HEAD + "CP=&&DataTime=20240601085800123&&"), "bad_datatime"),
    ("SystemTime bad", frame(HEAD + "CP=&&SystemTime=yesterday&&"), "bad_datatime"),
    ("SampleTime bad", frame(HEAD + "CP=&&a21026-SampleTime=2024&&"), "bad_datatime"),
    ("value not a number", frame(HEAD + "CP=&&a21026-Rtd=1.2.3,a21026-Flag=N&&"), "bad_value"),
    ("value empty", frame(HEAD + "CP=&&a21026-Rtd=&&"), "bad_value"),
    (
        "value with non-ASCII digits",
        frame(HEAD + "CP=&&a21026-Rtd=１.5,a21026-Flag=N&&"),
        "bad_value",
    ),
    ("status not a number", frame(HEAD + "CP=&&SB1-RS=on&&"), "bad_value"),
    ("QnRtn not a number", frame(HEAD + "CP=&&QnRtn=ok&&"), "bad_value"),
    ("data flag unknown", frame(HEAD + "CP=&&a21026-Rtd=1,a21026-Flag=X&&"), "bad_data_flag"),
    ("trailing ;", frame(HEAD + "CP=&&a21026-Rtd=1;&&"), "trailing_separator"),
    ("item without =", frame(HEAD + "CP=&&a21026-Rtd&&"), "bad_cp"),
    ("comma before the code's dash", frame(HEAD + "CP=&&x,a21026-Rtd=1&&"), "bad_cp"),
    ("empty item", frame(HEAD + "CP=&&a21026-Rtd=1;;a21002-Rtd=2&&"), "bad_cp"),
    ("empty suffix", frame(HEAD + "CP=&&a21026-=1&&"), "bad_cp"),
    ("empty name", frame(HEAD + "CP=&&=1&&"), "bad_cp"),
    ("duplicate value", frame(HEAD + "CP=&&a21026-Rtd=1;a21026-Rtd=2&&"), "duplicate_field"),
    (
        "duplicate DataTime",
        frame(HEAD + "CP=&&DataTime=20240601085800;DataTime=20240601085900&&"),
        "duplicate_field",
    ),
    (
        "lower-case CRC",
        frame(HEAD + "CP=&&&&", crc=f"{crc16((HEAD + 'CP=&&&&').encode()):04x}"),
        "bad_crc_format",
    ),
    ("encrypted CP without key", frame(HEAD + "CP=&&{0x01,0x02}&&"), "encrypted_cp"),
]


@pytest.mark.parametrize(
    ("data", "expected"), [(d, r) for _, d, r in STRICT_CASES], ids=[n for n, _, _ in STRICT_CASES]
)
def test_strict_rejects_with_specific_reason(data: bytes, expected: str) -> None:
    assert reason(data) == expected


LENIENT_CASES = [
    (
        "lower-case CRC",
        frame(
            HEAD + "CP=&&a21026-Rtd=1&&",
            crc=f"{crc16((HEAD + 'CP=&&a21026-Rtd=1&&').encode()):04x}",
        ),
        "lowercase_crc",
    ),
    ("DataTime with ms", frame(HEAD + "CP=&&DataTime=20240601085800123&&"), "datatime_millis"),
    ("missing Flag", frame(HEAD.replace("Flag=5;", "") + "CP=&&&&"), "missing_flag"),
    ("trailing ;", frame(HEAD + "CP=&&a21026-Rtd=1;&&"), "trailing_separator"),
    ("unknown ST", frame(HEAD.replace("ST=31", "ST=99") + "CP=&&&&"), "unknown_st"),
    ("unknown CN", frame(HEAD.replace("CN=2011", "CN=8013") + "CP=&&&&"), "unknown_cn"),
    ("edition 3", frame(HEAD.replace("Flag=5", "Flag=13") + "CP=&&&&"), "unknown_edition"),
    ("duplicate", frame(HEAD + "CP=&&a21026-Rtd=1;a21026-Rtd=2&&"), "duplicate_field"),
    ("bad value", frame(HEAD + "CP=&&a21026-Rtd=--&&"), "bad_value"),
    ("bad data flag", frame(HEAD + "CP=&&a21026-Rtd=1,a21026-Flag=P&&"), "bad_data_flag"),
    ("QN format", frame(HEAD.replace("QN=20240601085857223", "QN=1") + "CP=&&&&"), "qn_format"),
    (
        "PW format",
        frame(HEAD.replace("PW=123456", "PW=BF470F88957588DE902D1A52") + "CP=&&&&"),
        "pw_format",
    ),
    ("MN format", frame(HEAD.replace(MN, "AB CD") + "CP=&&&&"), "mn_format"),
    ("split without flag", frame(HEAD + "PNUM=2;PNO=1;CP=&&&&"), "split_without_flag"),
    ("empty item", frame(HEAD + "CP=&&a21026-Rtd=1;;a21002-Rtd=2&&"), "empty_item"),
    ("unknown header field", frame(HEAD + "XX=1;CP=&&&&"), "unknown_header_field"),
]


@pytest.mark.parametrize(
    ("data", "tolerance"),
    [(d, t) for _, d, t in LENIENT_CASES],
    ids=[n for n, _, _ in LENIENT_CASES],
)
def test_lenient_accepts_and_marks(data: bytes, tolerance: str) -> None:
    p = parse_packet(data, lenient=True)
    assert p.tolerated == (tolerance,)
    with pytest.raises(ProtocolError):
        parse_packet(data)


def test_lenient_keeps_the_values() -> None:
    p = parse_packet(
        frame(HEAD + "CP=&&DataTime=20240601085800123;a21026-Rtd=1,a21026-Flag=P;&&"), lenient=True
    )
    assert p.cp.data_time == datetime(2024, 6, 1, 8, 58, 0, 123000)
    assert p.cp.pollutants["a21026"].fields == {"Rtd": "1", "Flag": "P"}
    assert p.tolerated == ("trailing_separator", "datatime_millis", "bad_data_flag")


def test_lenient_still_rejects_structural_damage() -> None:
    for data, expected in [
        (GOOD[:-6] + b"0000\r\n", "crc_mismatch"),
        (b"##0099" + GOOD[6:], "length_mismatch"),
        (frame(HEAD + "CP=&&DataTime=2024&&"), "bad_datatime"),
    ]:
        assert reason(data, lenient=True) == expected


def test_missing_crlf_is_accepted() -> None:
    assert parse_packet(GOOD[:-2]) == parse_packet(GOOD)


def test_str_input() -> None:
    assert parse_packet(GOOD.decode()) == parse_packet(GOOD)


CHINESE = HEAD + "CP=&&DataTime=20240601085800;i11001-Info=//设备自检正常//&&"


@pytest.mark.parametrize("encoding", ["gbk", "utf-8"])
def test_length_counts_bytes_in_the_device_encoding(encoding: str) -> None:
    data = frame(CHINESE, encoding)
    p = parse_packet(data, encoding=encoding)
    assert p.cp.pollutants["i11001"].fields["Info"] == "//设备自检正常//"
    assert int(data[2:6]) == len(CHINESE.encode(encoding)) != len(CHINESE)


@pytest.mark.parametrize("encoding", ["gbk", "utf-8"])
def test_length_in_characters_is_a_lenient_quirk(encoding: str) -> None:
    data = frame(CHINESE, encoding, length=len(CHINESE))
    assert reason(data, encoding=encoding) == "length_mismatch"
    p = parse_packet(data, encoding=encoding, lenient=True)
    assert p.tolerated == ("length_in_chars",)


def test_wrong_encoding_is_reported() -> None:
    assert reason(frame(CHINESE, "gbk"), encoding="utf-8") == "bad_encoding"
    assert reason(frame(CHINESE, "utf-8"), encoding="gbk") == "bad_encoding"


def test_unknown_encoding_name() -> None:
    assert reason(GOOD, encoding="no-such-codec") == "bad_encoding"


@pytest.mark.parametrize("flag", [4, 5, 8, 9])
def test_fast_and_general_paths_agree(flag: int) -> None:
    # The standard field order takes the one-regex header path and the grouped CP path; a
    # reordered header and split groups take the general paths. Both must give the same packet.
    cp = "DataTime=20240601085800;a21026-Rtd=1.5,a21026-Flag=N;SB1-RS=1;a21002-Avg=-2.0,a21002-Cou=0.1"
    usual = f"QN=20240601085857223;ST=31;CN=2011;PW=123456;MN={MN};Flag={flag};CP=&&{cp}&&"
    odd_cp = cp.replace(",a21026-Flag=N", ";a21026-Flag=N")
    odd = f"MN={MN};QN=20240601085857223;CN=2011;ST=31;Flag={flag};PW=123456;CP=&&{odd_cp}&&"
    a, b = parse_packet(frame(usual)), parse_packet(frame(odd))
    for name in (
        "qn",
        "st",
        "cn",
        "pw",
        "mn",
        "flag",
        "pnum",
        "pno",
        "rf",
        "edition",
        "cp",
        "tolerated",
    ):
        assert getattr(a, name) == getattr(b, name), name


def test_polid_scopes_information_codes() -> None:
    # HJ 212-2017 3020 form: PolId, then its i-codes in their own groups.
    one = parse_packet(
        frame(
            f"QN=20240601085857223;ST=32;CN=3020;PW=123456;MN={MN};Flag=4;"
            "CP=&&DataTime=20240601085800;PolId=w01018;i13004-Info=160;i13005-Info=90&&"
        )
    )
    assert one.cp.params == {"PolId": "w01018"}
    assert one.cp.pollutants["w01018"].fields == {"i13004-Info": "160", "i13005-Info": "90"}
    # Several PolId blocks in one packet (field practice) do not collide.
    many = parse_packet(
        frame(
            f"QN=20240601085857223;ST=21;CN=3020;PW=123456;MN={MN};Flag=4;"
            "CP=&&DataTime=20240601085800;PolId=w01019,i12001-Info=0,i12002-Info=1;"
            "PolId=w21003,i12001-Info=2&&"
        )
    )
    assert many.cp.params == {"PolId": "w01019,w21003"}
    assert many.cp.pollutants["w01019"].fields == {"i12001-Info": "0", "i12002-Info": "1"}
    assert many.cp.pollutants["w21003"].fields == {"i12001-Info": "2"}
    assert reason(frame(HEAD + "CP=&&PolId=;i12001-Info=0&&")) == "bad_value"


FLAG9_2019 = "##0262QN=20190430101750562;ST=21;CN=3020;PW=624930;MN=A140100_2006;Flag=9;CP=&&DataTime=20190430101750;PolId=w01019,i12001-Info=0,i12002-Info=0;PolId=w21001,i12001-Info=0,i12002-Info=0;PolId=w21003,i12001-Info=0,i12002-Info=0;PolId=w21011,i12001-Info=0,i12002-Info=0&&FB41"


def test_configured_edition_overrides_flag_bits() -> None:
    # A 2019 packet with Flag=9 (a public Java test, TrafficPackageTest.java, search-index id
    # 35871427021): its bits say 2025, which did not exist then; its MN is not 2025-shaped.
    assert reason(FLAG9_2019.encode()) == "bad_field"
    assert parse_packet(FLAG9_2019, lenient=True).edition is Edition.V2025
    strict = parse_packet(FLAG9_2019, edition=Edition.V2017)
    assert (strict.edition, strict.flag, strict.tolerated) == (Edition.V2017, 9, ())
    p = parse_packet(FLAG9_2019, lenient=True, edition=Edition.V2017)
    assert (p.edition, p.tolerated) == (Edition.V2017, ("edition_mismatch",))
    # Other disagreements stay specific rejections in strict mode.
    flag4 = frame(FLAG9_2019[6:-4].replace("Flag=9", "Flag=4"))
    assert parse_packet(flag4, edition=Edition.V2017).edition is Edition.V2017
    assert reason(flag4, edition=Edition.V2025) == "bad_flag"
    assert reason(flag4, edition=Edition.V2005) == "bad_flag"
    assert reason(FLAG9_2019.encode(), edition=Edition.V2005) == "bad_flag"
    assert p.cp.params == {"PolId": "w01019,w21001,w21003,w21011"}
    assert p.cp.pollutants["w21011"].fields == {"i12001-Info": "0", "i12002-Info": "0"}


def test_configured_edition_for_flagless_packets() -> None:
    seg = "ST=32;CN=2011;PW=123456;MN=LD130133000015;CP=&&011-Rtd=1&&"
    assert (
        parse_packet(frame(seg), edition=Edition.V2005).cp.pollutants["w01018"].original_code
        == "011"
    )
    assert reason(frame(seg), edition=Edition.V2017) == "missing_field"
    p = parse_packet(frame(seg), edition=Edition.V2017, lenient=True)
    assert (p.edition, p.tolerated) == (Edition.V2017, ("missing_flag",))
    assert "011" in p.cp.pollutants  # not remapped: the device speaks 2017
    assert parse_packet(GOOD, edition=Edition.V2017) == parse_packet(GOOD)


def test_protocol_error_text_and_pickling() -> None:
    import pickle

    err = ProtocolError("crc_mismatch", "CRC 0000 ≠ computed 1C80")
    assert str(err) == "crc_mismatch: CRC 0000 ≠ computed 1C80"
    back = pickle.loads(pickle.dumps(err))
    assert (back.reason, back.detail) == (err.reason, err.detail)


def test_packets_pickle_and_are_frozen() -> None:
    import dataclasses
    import pickle

    p = parse_packet(GOOD)
    assert pickle.loads(pickle.dumps(p)) == p
    with pytest.raises(dataclasses.FrozenInstanceError):
        p.cn = "9999"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        p.cp.pollutants["a21026"].code = "x"  # type: ignore[misc]
