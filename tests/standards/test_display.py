"""Display precision: the data file's rules and the one formatter, rounding GB/T 8170-2008 §3.2
(四舍六入五成双) on the exact decimal text, ties above all."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

from hypothesis import given
from hypothesis import strategies as st

from qingshan.services.observations import display_decimals, display_value
from qingshan.standards.display import decimals_for, display_groups, display_text


def _reference(value: Fraction, decimals: int) -> str:
    """Half-even rounding by integer arithmetic, written out independently of the formatter."""
    scaled = value * 10**decimals
    sign = -1 if scaled < 0 else 1
    q, r = divmod(abs(scaled.numerator), scaled.denominator)
    twice = 2 * r
    if twice > scaled.denominator or (twice == scaled.denominator and q % 2 == 1):
        q += 1
    text = str(q).rjust(decimals + 1, "0")
    out = text if decimals == 0 else f"{text[:-decimals]}.{text[-decimals:]}"
    return ("-" if sign < 0 and q else "") + out


def test_every_group_cites_its_source_and_the_air_rule_is_hj633() -> None:
    groups = display_groups()
    assert {g.id for g in groups} >= {"ambient_air", "surface_water", "noise"}
    assert all(g.source and g.kinds and g.decimals for g in groups)
    six = {"a21026": 0, "a21004": 0, "a05024": 0, "a34002": 0, "a34004": 0, "a21005": 1}
    assert {c: decimals_for("air_station", c) for c in six} == six
    assert decimals_for("surface_water_section", "w21003") == 3
    assert decimals_for("surface_water_section", "w01001") == 2
    assert decimals_for("noise_station", "LAeq") == 1
    assert decimals_for("enterprise_outlet", "a21026") is None  # not an ambient rule


def test_known_ties_and_edges() -> None:
    assert display_text("4.05", 1) == "4.0"
    assert display_text("4.15", 1) == "4.2"
    assert display_text("60.5", 0) == "60"
    assert display_text("61.5", 0) == "62"
    assert display_text("60.51", 0) == "61"  # above the tie: up
    assert display_text("0.1235", 3) == "0.124"
    assert display_text("-0.04", 1) == "0.0"  # no sign on a zero
    assert display_text("-2.5", 0) == "-2"
    assert display_text("1E+5", 0) == "100000"  # never an exponent
    assert display_text("7.8", 2) == "7.80"  # the reported precision
    assert display_text("abc", 1) == "abc"  # not a number: as stored
    assert display_text("9" * 40, 2) == "9" * 40  # beyond the decimal context: as stored
    assert display_text(None, 1) is None
    assert display_text("3.14159", None) == "3.14159"  # no rule: as stored


@given(st.integers(-(10**9), 10**9), st.integers(0, 4))
def test_exact_ties_round_to_even(k: int, decimals: int) -> None:
    # (k + ½) units of 10^-decimals, written as its exact decimal text
    value = (Decimal(2 * k + 1) / 2).scaleb(-decimals)
    text = f"{value:f}"
    shown = display_text(text, decimals)
    assert shown == _reference(Fraction(text), decimals)
    last = int(shown.replace("-", "").replace(".", "")[-1])
    assert last % 2 == 0  # 五成双: the kept digit is even


@given(
    st.decimals(min_value=-(10**8), max_value=10**8, places=6, allow_nan=False),
    st.integers(0, 4),
)
def test_any_decimal_matches_the_reference_and_stays_within_half_a_unit(
    value: Decimal, decimals: int
) -> None:
    text = f"{value:f}"
    shown = display_text(text, decimals)
    assert shown == _reference(Fraction(text), decimals)
    assert abs(Fraction(shown) - Fraction(text)) <= Fraction(1, 2 * 10**decimals)


def test_service_falls_back_to_hj212_data_type_and_reads_2005_codes() -> None:
    assert display_decimals("enterprise_outlet", "a21026") == 2  # HJ 212-2017 附录B N5.2
    assert display_decimals("enterprise_outlet", "a34013") == 0  # 烟尘 N4
    assert display_decimals("enterprise_outlet", "w01018") == 1  # COD N5.1 at an outlet
    assert display_decimals("surface_water_section", "w01018") == 0  # the water rule wins
    assert display_decimals("surface_water_section", "060") == 3  # 2005 code of 氨氮
    assert display_decimals("air_station", "nope") is None
    assert display_value("air_station", "a21005", "0.25") == "0.2"
    assert display_value("air_station", "a34004", "75.5") == "76"
    assert display_value("air_station", "nope", "1.23456") == "1.23456"
