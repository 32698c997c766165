"""The registry's pure field rules: GB 32100-2015 check character, region codes and levels,
GB/T 4754 industry codes, China's extent."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from qingshan.services.registry import rules
from qingshan.services.registry.rules import FieldProblem

# GB 32100-2015 Table 2 weights, written out (the rule computes them as 3^(i-1) mod 31)
WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"

bodies = st.builds(
    lambda a, b, region, org: a + b + region + org,
    st.sampled_from("159Y"),
    st.sampled_from("123"),
    st.text("0123456789", min_size=6, max_size=6),
    st.text(CHARS, min_size=9, max_size=9),
)


def _check(first17: str) -> str:
    total = sum(CHARS.index(c) * w for c, w in zip(first17, WEIGHTS, strict=True))
    return CHARS[(31 - total % 31) % 31]


@given(bodies)
def test_check_character_matches_the_standard_weights(body: str) -> None:
    assert rules.credit_check_char(body) == _check(body)
    code = body + _check(body)
    assert rules.check_credit_code(code) == code
    assert rules.check_credit_code(" " + code.lower() + " ") == code  # typed loosely


@given(bodies, st.integers(0, 17), st.sampled_from(CHARS))
def test_any_single_wrong_character_is_refused(body: str, pos: int, char: str) -> None:
    code = body + _check(body)
    bad = code[:pos] + char + code[pos + 1 :]
    if bad == code or not bad[2:8].isdigit():
        return
    with pytest.raises(FieldProblem, match="校验码"):
        rules.check_credit_code(bad)


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("9162020022436", "应为 18 位"),
        ("91620200MA7NXXXXOI", "不允许的字符"),
        ("91ABCDEF000000001X", "行政区划码"),
    ],
)
def test_malformed_credit_codes(code: str, message: str) -> None:
    with pytest.raises(FieldProblem, match=message):
        rules.check_credit_code(code)


@pytest.mark.parametrize(
    ("code", "level"),
    [
        ("620000", "province"),
        ("620200", "city"),
        ("620802", "county"),
        ("620802001", "township"),
        ("620802001000", "township"),
    ],
)
def test_levels_follow_from_codes(code: str, level: str) -> None:
    assert rules.region_level(code) == level
    assert rules.check_region(code) == (code, level)


def test_region_code_shapes_and_given_levels() -> None:
    for bad in ("62080", "6208021", "62O802", ""):
        with pytest.raises(FieldProblem, match="区划代码"):
            rules.region_level(bad)
    # a city without counties (嘉峪关市) may be recorded as the county-level unit it acts as
    assert rules.check_region("620200", "county") == ("620200", "county")
    with pytest.raises(FieldProblem, match="不符"):
        rules.check_region("620802", "township")
    with pytest.raises(FieldProblem, match="级别"):
        rules.check_region("620802", "district")


def test_parents_are_higher_and_prefix_the_child() -> None:
    rules.check_parent("620802", "county", "620800", "city")
    rules.check_parent("620802001", "township", "620802", "county")
    rules.check_parent("620201100", "township", "620200", "city")  # 嘉峪关: no counties
    with pytest.raises(FieldProblem, match="不在上级区划"):
        rules.check_parent("620802", "county", "620200", "city")
    with pytest.raises(FieldProblem, match="不高于"):
        rules.check_parent("620802", "county", "620821", "county")


@pytest.mark.parametrize("code", ["C3011", "3011", "c30", "C", "D4430", "443"])
def test_industry_codes(code: str) -> None:
    assert rules.check_industry_code(code) == code.upper()


@pytest.mark.parametrize("code", ["Z3011", "C30111", "水泥", "C-3011", "1"])
def test_bad_industry_codes(code: str) -> None:
    with pytest.raises(FieldProblem, match="GB/T 4754"):
        rules.check_industry_code(code)


@given(
    st.decimals(Decimal("73.4"), Decimal("135.1"), places=6),
    st.decimals(Decimal("3.8"), Decimal("53.6"), places=6),
)
def test_points_inside_china_pass_with_six_decimals(lon: Decimal, lat: Decimal) -> None:
    x, y = rules.check_in_china(lon, lat)
    assert (x, y) == (lon, lat)


@given(
    st.decimals(-180, 180, places=4).filter(lambda v: not Decimal("73.4") <= v <= Decimal("135.1")),
    st.decimals(-90, 90, places=4),
)
def test_points_outside_china_are_refused(lon: Decimal, lat: Decimal) -> None:
    with pytest.raises(FieldProblem, match="不在中国境内"):
        rules.check_in_china(lon, lat)


def test_swapped_coordinates_are_pointed_out() -> None:
    with pytest.raises(FieldProblem, match="填反"):
        rules.check_in_china(Decimal("39.77"), Decimal("98.29"))
    with pytest.raises(FieldProblem, match="不是十进制度数"):
        rules.coordinate("98°17′", "经度")
    assert rules.coordinate(98.29, "经度") == Decimal("98.29")  # a float's shortest text
