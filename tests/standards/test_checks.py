"""Private input checks and the GB/T 8170 rounding helper of the non-air rules."""

from __future__ import annotations

import pytest

from qingshan.standards._checks import (
    InvalidValueError,
    as_number,
    parse_cell,
    round_half_even,
)


@pytest.mark.parametrize(
    ("value", "decimals", "expected"),
    [
        (0.125, 2, 0.12),  # tie → even
        (0.135, 2, 0.14),
        (2.675, 2, 2.68),  # the decimal reading, not binary 2.67499…
        (0.0251, 2, 0.03),
        (1.5, 0, 2.0),
        (2.5, 0, 2.0),
        (-0.125, 2, -0.12),
    ],
)
def test_round_half_even(value: float, decimals: int, expected: float) -> None:
    assert round_half_even(value, decimals) == expected


def test_parse_cell() -> None:
    assert parse_cell("", "x") is None
    assert parse_cell("  ", "x") is None
    assert parse_cell(" 1.50 ", "x") == 1.5
    for bad in ("abc", "nan", "inf", "1,5", "--"):
        with pytest.raises(InvalidValueError, match="x"):
            parse_cell(bad, "x")


def test_as_number_refuses_bool_and_text() -> None:
    assert as_number(3, "x") == 3.0
    for bad in (True, "3", None, float("nan")):
        with pytest.raises(InvalidValueError):
            as_number(bad, "x")
