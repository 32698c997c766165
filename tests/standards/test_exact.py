"""The exact-number core: decimals carried by floats, scaled-integer arrays, GB/T 8170 rounding
of exact fractions (docs/standards/arithmetic.md)."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qingshan.standards._exact import ExactArray, exceeds, ratio_floats, round_ratio, stack
from qingshan.standards.rounding import (
    NumberError,
    ceil_int,
    round_half_even,
    round_units,
    to_fraction,
)


def test_floats_mean_their_shortest_text() -> None:
    assert to_fraction(0.1) == Fraction(1, 10)
    assert to_fraction(4.05) == Fraction(81, 20)  # not the binary 4.04999…
    assert to_fraction("28.0") == 28
    assert to_fraction(Decimal("0.30")) == Fraction(3, 10)
    for bad in (float("nan"), float("inf"), "x", True):
        with pytest.raises(NumberError):
            to_fraction(bad)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("value", "ndigits", "units", "text"),
    [
        (Fraction(81, 20), 1, 40, "4.0"),  # 4.05 → 4.0 (0 is even)
        (Fraction(83, 20), 1, 42, "4.2"),  # 4.15 → 4.2
        (Fraction(151, 2), 0, 76, "76"),  # 75.5 → 76
        (Fraction(149, 2), 0, 74, "74"),  # 74.5 → 74
        (Fraction(1, 3), 2, 33, "0.33"),
        (Fraction(-5, 2), 0, -2, "-2"),
        (Fraction(125), -1, 12, "1.2E+2"),
    ],
)
def test_round_fractions_half_even(value: Fraction, ndigits: int, units: int, text: str) -> None:
    assert round_units(value, ndigits) == units
    assert round_half_even(value, ndigits) == Decimal(text)
    assert str(round_half_even(value, ndigits)) == text


@settings(max_examples=300)
@given(st.decimals(min_value=-(10**6), max_value=10**6, places=4), st.integers(0, 3))
def test_fraction_rounding_equals_decimal_quantize(value: Decimal, ndigits: int) -> None:
    expected = value.quantize(Decimal(1).scaleb(-ndigits), rounding=ROUND_HALF_EVEN)
    assert round_half_even(Fraction(value), ndigits) == expected
    assert round_half_even(value, ndigits) == expected
    assert round_units(value, ndigits) == int(expected.scaleb(ndigits))


def test_ceil_int_of_fractions() -> None:
    assert ceil_int(Fraction(201, 2)) == 101 and ceil_int(Fraction(100)) == 100


decimal_floats = st.one_of(
    st.integers(0, 10**6).map(float),
    st.decimals(min_value=0, max_value=10**4, places=1).map(float),
    st.decimals(min_value=0, max_value=10**3, places=3).map(float),
    st.floats(min_value=0, max_value=1e6, allow_nan=False),
    st.floats(min_value=0, max_value=1e-3, allow_nan=False),
)


@settings(max_examples=200)
@given(st.lists(st.one_of(st.none(), decimal_floats), min_size=1, max_size=40))
def test_float_arrays_read_as_their_decimals(values: list[float | None]) -> None:
    arr = np.array([np.nan if v is None else v for v in values])
    ex = ExactArray.from_floats(arr)
    for i, v in enumerate(values):
        assert bool(ex.valid[i]) is (v is not None)
        if v is not None:
            assert Fraction(int(ex.num[i]), ex.den) == Fraction(Decimal(repr(v)))
    # and back: the nearest float of each exact value is the float we started from
    back = ex.to_floats()
    assert np.array_equal(back, arr, equal_nan=True)


def test_infinity_is_refused() -> None:
    with pytest.raises(ValueError, match="infinite"):
        ExactArray.from_floats([1.0, np.inf])


@settings(max_examples=300)
@given(
    st.lists(st.integers(0, 10**12), min_size=1, max_size=10),
    st.integers(1, 10**6),
    st.integers(0, 3),
)
def test_round_ratio_equals_the_scalar_rule(nums: list[int], den: int, ndigits: int) -> None:
    got = round_ratio(np.array(nums, dtype=np.int64), den, ndigits)
    assert [int(x) for x in got] == [round_units(Fraction(n, den), ndigits) for n in nums]
    big = round_ratio(np.array([n * 10**30 for n in nums], dtype=object), den * 10**30, ndigits)
    assert [int(x) for x in big] == [int(x) for x in got]  # Python ints: same numbers


def test_ratio_floats_and_exceeds_are_exact() -> None:
    assert ratio_floats(np.array([81]), 20, np.array([True]))[0] == 4.05
    assert exceeds(np.array([300, 301]), 10, Decimal(30)).tolist() == [False, True]
    assert exceeds(np.array([1]), 3, Fraction(1, 3)).tolist() == [False]


def test_stack_uses_a_common_denominator() -> None:
    a = ExactArray.from_floats([1.5, 2.0])  # tenths
    b = ExactArray.from_floats([0.25, np.nan])  # hundredths
    s = stack([a, b])
    assert s.den == 100 and s.num.tolist() == [[150, 200], [25, 0]]
    assert s.valid.tolist() == [[True, True], [True, False]]
