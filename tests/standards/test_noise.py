"""GB 3096-2008 noise limits, compliance and 达标率."""

from __future__ import annotations

from datetime import datetime, time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from qingshan.standards.noise import (
    InvalidValueError,
    Period,
    UnknownItemError,
    assess_point,
    compliance_rates,
    limits,
    period_of,
    sudden_noise_complies,
    zones,
)


@pytest.mark.parametrize(
    ("zone", "day", "night"),
    [("0", 50, 40), ("1", 55, 45), ("2", 60, 50), ("3", 65, 55), ("4a", 70, 55), ("4b", 70, 60)],
)
def test_table_1(zone: str, day: float, night: float) -> None:
    found = limits(zone)
    assert (found.day, found.night) == (day, night)


def test_zone_codes_and_errors() -> None:
    assert zones() == ("0", "1", "2", "3", "4a", "4b")
    assert limits("4A").zone == "4a"
    with pytest.raises(UnknownItemError, match="'5'"):
        limits("5")


@pytest.mark.parametrize(
    ("clock", "period"),
    [
        (time(6, 0), Period.DAY),
        (time(21, 59, 59), Period.DAY),
        (time(22, 0), Period.NIGHT),
        (time(0, 0), Period.NIGHT),
        (time(5, 59), Period.NIGHT),
    ],
)
def test_day_and_night(clock: time, period: Period) -> None:
    assert period_of(clock) is period
    assert period_of(datetime.combine(datetime(2025, 6, 1), clock)) is period


def test_point_compliance_at_and_over_the_limit() -> None:
    point = assess_point("2", ld=60.0, ln=50.1)
    assert point.day_complies is True and point.night_complies is False
    assert point.day_excess == 0.0 and point.night_excess == pytest.approx(0.1)
    empty = assess_point("2")
    assert empty.day_complies is None and empty.night_excess is None


@given(st.sampled_from(["0", "1", "2", "3", "4a", "4b"]), st.floats(0, 150), st.floats(0, 150))
def test_louder_never_complies_better(zone: str, a: float, b: float) -> None:
    low, high = sorted((a, b))
    assert assess_point(zone, ln=high).night_complies <= assess_point(zone, ln=low).night_complies  # type: ignore[operator]


def test_sudden_night_noise_plus_15() -> None:
    assert sudden_noise_complies("1", 60.0) is True  # 45 + 15
    assert sudden_noise_complies("1", 60.1) is False
    assert sudden_noise_complies("4b", 75.0) is True


def test_compliance_rates() -> None:
    rates = compliance_rates(
        [("1", 54.0, 46.0), ("1", 56.0, 44.0), ("4a", 69.0, 55.0), ("2", None, 49.0)]
    )
    assert (rates.n_day, rates.n_day_ok, rates.n_day_missing) == (3, 2, 1)
    assert rates.day_rate == pytest.approx(2 / 3)
    assert (rates.n_night, rates.n_night_ok) == (4, 3)
    assert rates.night_rate == pytest.approx(0.75)
    assert compliance_rates([]).night_rate is None


@pytest.mark.parametrize("bad", [-1.0, 250.0, float("nan"), "55", None])
def test_bad_levels(bad: object) -> None:
    with pytest.raises(InvalidValueError):
        sudden_noise_complies("1", bad)  # type: ignore[arg-type]
