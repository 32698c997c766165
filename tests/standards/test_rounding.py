from decimal import Decimal

import pytest

from qingshan.standards.rounding import NumberError, ceil_int, round_half_even, to_decimal


@pytest.mark.parametrize(
    ("value", "ndigits", "expected"),
    [
        ("60.5", 0, "60"),
        ("61.5", 0, "62"),
        ("60.51", 0, "61"),
        ("35.5", 0, "36"),
        (4.05, 1, "4.0"),  # the float 4.05 means the decimal 4.05, not 4.0499…
        (4.15, 1, "4.2"),
        (Decimal("0.25"), 1, "0.2"),
        (-2.5, 0, "-2"),
        (125, -1, "1.2E+2"),
    ],
)
def test_round_half_even(value: object, ndigits: int, expected: str) -> None:
    assert round_half_even(value, ndigits) == Decimal(expected)  # type: ignore[arg-type]


def test_ceil_int() -> None:
    assert ceil_int("100.0001") == 101
    assert ceil_int(100) == 100
    assert ceil_int(-0.5) == 0


@pytest.mark.parametrize("bad", ["abc", "", "nan", float("inf"), float("nan"), True, None])
def test_bad_numbers_are_rejected(bad: object) -> None:
    with pytest.raises(NumberError):
        to_decimal(bad)  # type: ignore[arg-type]
