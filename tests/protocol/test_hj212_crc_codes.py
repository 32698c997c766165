"""CRC16 (Appendix A) and the code tables."""

# ruff: noqa: E501  (verbatim HJ 212 packets are longer than a line)

from __future__ import annotations

import os

from hypothesis import given, settings
from hypothesis import strategies as st

from qingshan.protocol.hj212 import crc16, crc16_hex, pollutant_info
from qingshan.protocol.hj212.codes import (
    clashes,
    cn_codes,
    data_flags,
    exe_rtn_codes,
    map_2005_to_2017,
    qn_rtn_codes,
    st_codes,
)

SAMPLE_2017 = b"QN=20160801085857223;ST=32;CN=1062;PW=100000;MN=010000A8900016F000169DC0;Flag=5;CP=&&RtdInterval=30&&"
SAMPLE_2025 = (
    b"QN=20240601085857223;ST=32;CN=1011;PW=123456;MN=010000A8900016F000169DC0;Flag=9;CP=&&&&"
)


def reference_crc(data: bytes) -> int:
    """Appendix A written out bit by bit, as printed in the standard."""
    reg = 0xFFFF
    for byte in data:
        reg = (reg >> 8) ^ byte
        for _ in range(8):
            carry = reg & 1
            reg >>= 1
            if carry:
                reg ^= 0xA001
    return reg


def test_official_2017_sample() -> None:
    assert len(SAMPLE_2017) == 101
    assert crc16_hex(SAMPLE_2017) == "1C80"


def test_official_2025_a1_sample() -> None:
    assert len(SAMPLE_2025) == 87
    assert crc16(SAMPLE_2025) == 0x2200


def test_not_modbus() -> None:
    # CRC-16/MODBUS of the A.1 segment is CCF4 (standards-2026.md); ours must differ.
    assert crc16(SAMPLE_2025) != 0xCCF4


def test_edge_values() -> None:
    assert crc16(b"") == 0xFFFF
    assert crc16(b"\x00") == reference_crc(b"\x00") == 0x4040


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=1100))
def test_matches_bit_by_bit_formula(data: bytes) -> None:
    assert crc16(data) == reference_crc(data)


def test_matches_formula_on_long_random_data() -> None:
    for size in (1023, 1024, 1025, 4096, 9999):
        data = os.urandom(size)
        assert crc16(data) == reference_crc(data)


def test_code_tables_load() -> None:
    assert st_codes()["31"].name == "大气环境污染源"
    assert st_codes()["91"].name == "系统交互"
    assert cn_codes()["2051"].name == "取污染物分钟数据"
    assert "2025" in cn_codes()["9015"].editions and "2017" not in cn_codes()["9015"].editions
    assert qn_rtn_codes()[9] == "CRC校验错误"
    assert exe_rtn_codes()[100] == "没有数据"
    assert set(data_flags()) == set("NFMSDCTB")
    assert data_flags()["T"][1] == "在线监控（监测）仪器仪表采样数值超过测量上限"


def test_official_correspondence_examples() -> None:
    # STANDARDS.md lists these pairs of HJ 212-2017 Appendix B.
    expected = {
        "011": "w01018",
        "060": "w21003",
        "101": "w21011",
        "065": "w21001",
        "B01": "w00000",
        "01": "a34013",
        "02": "a21026",
        "03": "a21002",
        "B02": "a00000",
        "S01": "a19001",
    }
    mapping = map_2005_to_2017()
    for old, new in expected.items():
        assert mapping[old] == new
    assert len(set(mapping.values())) == len(mapping)  # the mapping is one-to-one


def test_pollutant_names_and_units() -> None:
    so2 = pollutant_info("a21026")
    assert so2 is not None
    assert (so2.name, so2.unit, so2.cou_unit, so2.code_2005) == (
        "二氧化硫",
        "毫克/立方米",
        "千克",
        "02",
    )
    cod = pollutant_info("w01018")
    assert cod is not None and cod.name == "化学需氧量" and cod.unit == "毫克/升"
    assert pollutant_info("LA") is not None
    assert pollutant_info("zz9999") is None


def test_device_number_templates() -> None:
    info = pollutant_info("e10103")
    assert info is not None and info.code == "e101xx" and info.name == "进水口流量"
    furnace = pollutant_info("i33312")
    assert furnace is not None and furnace.code == "i3331x"


def test_the_two_clashes_are_kept_and_flagged() -> None:
    assert clashes() == {
        "e701xx": ("污水提升泵", "加药量"),
        "g119xx": ("脱硫率", "入口二氧化硫SO2"),
    }
    info = pollutant_info("e70101")
    assert info is not None and info.ambiguous and info.name == "污水提升泵"
    assert info.alternatives == ("加药量",)
    g = pollutant_info("g11902")
    assert g is not None and g.ambiguous and g.alternatives == ("入口二氧化硫SO2",)
    assert not pollutant_info("a21026").ambiguous  # type: ignore[union-attr]
