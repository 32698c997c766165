"""Emissions: 折算, exceedances, amounts, transmission and validity rates."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from qingshan.standards.emissions import (
    InvalidValueError,
    UnknownItemError,
    check_outlet,
    count_valid,
    emission_mass,
    exceedance_basis,
    expected_records,
    reference_o2,
    reference_o2_table,
    to_reference_o2,
    total_from_cou,
    transmission_rates,
)


def test_reference_o2_of_common_industries() -> None:
    assert reference_o2("boiler-coal").o2_ref == 9.0
    assert reference_o2("boiler-oil-gas").o2_ref == 3.5
    assert reference_o2("power-coal").o2_ref == 6.0
    assert reference_o2("power-gas-turbine").o2_ref == 15.0
    assert reference_o2("cement-kiln").o2_ref == 10.0
    assert reference_o2("brick-kiln").o2_ref == 18.0
    for row in reference_o2_table().values():
        assert 0 < row.o2_ref < 21 and row.standard.startswith("GB")
    with pytest.raises(UnknownItemError, match="boiler-coal"):
        reference_o2("boiler")


def test_conversion_formula() -> None:
    # coal boiler: measured 100 mg/m³ at 12 % O2 → 100 × (21 − 9) / (21 − 12)
    assert to_reference_o2(100.0, 12.0, "boiler-coal") == pytest.approx(133.333333)
    assert to_reference_o2(100.0, 9.0, 9.0) == pytest.approx(100.0)
    assert to_reference_o2(50.0, 3.0, 6.0) == pytest.approx(50 * 15 / 18)


@given(st.floats(0, 1e4), st.floats(0, 20.9), st.floats(0, 20.9))
def test_conversion_increases_with_measured_o2(c: float, a: float, b: float) -> None:
    low, high = sorted((a, b))
    assert to_reference_o2(c, low, 9.0) <= to_reference_o2(c, high, 9.0)


@pytest.mark.parametrize(
    ("c", "o2", "ref"), [(-1.0, 10.0, 9.0), (10.0, 21.0, 9.0), (10.0, -0.1, 9.0), (10.0, 5, 25)]
)
def test_conversion_refuses_impossible_input(c: float, o2: float, ref: float) -> None:
    with pytest.raises(InvalidValueError):
        to_reference_o2(c, o2, ref)


def test_outlet_exceedances() -> None:
    t0 = datetime(2025, 3, 1)
    hours = [t0 + timedelta(hours=h) for h in range(4)]
    checks = check_outlet(
        {"SO2": list(zip(hours, [30.0, 35.0, 52.5, None], strict=True))}, {"SO2": 35.0}
    )
    so2 = checks["SO2"]
    assert so2.n_values == 3 and so2.n_missing == 1
    assert [e.when for e in so2.exceedances] == [hours[2]]  # 35.0 equals the limit: complies
    assert so2.exceedances[0].multiple == pytest.approx(0.5)
    assert so2.complies is False
    assert check_outlet({"NOx": [(t0, None)]}, {"NOx": 50})["NOx"].complies is None
    with pytest.raises(UnknownItemError):
        check_outlet({"PM": [(t0, 1.0)]}, {"SO2": 35.0})
    with pytest.raises(InvalidValueError):
        check_outlet({"SO2": [(t0, -1.0)]}, {"SO2": 35.0})
    assert exceedance_basis("gas") == "hour" and exceedance_basis("water") == "day"


def test_emission_mass() -> None:
    assert emission_mass(35.0, 100_000.0) == pytest.approx(3.5)  # kg
    assert emission_mass(50.0, 1_000.0, "water") == pytest.approx(50.0)
    with pytest.raises(InvalidValueError):
        emission_mass(35.0, -1.0)
    with pytest.raises(InvalidValueError):
        emission_mass(35.0, 1.0, "soil")


def test_cou_totals_keep_missing_visible() -> None:
    total = total_from_cou([1.5, None, 2.5, 0.0])
    assert total.total == pytest.approx(4.0)
    assert (total.n_values, total.n_missing) == (3, 1)
    with pytest.raises(InvalidValueError, match="#2"):
        total_from_cou([1.0, -2.0])


def test_transmission_rates() -> None:
    rates = transmission_rates(expected=720, received=684, valid=612)
    assert rates.transmission_rate == pytest.approx(0.95)
    assert rates.validity_rate == pytest.approx(612 / 684)
    assert rates.effective_transmission_rate == pytest.approx(0.85)
    assert rates.effective_transmission_rate == pytest.approx(
        rates.transmission_rate * rates.validity_rate
    )
    assert rates.meets() is True
    assert transmission_rates(100, 80, 74).meets() is False
    assert transmission_rates(100, 0, 0).validity_rate is None


@pytest.mark.parametrize(
    ("e", "r", "v"), [(0, 0, 0), (10, 11, 5), (10, 5, 6), (10, -1, 0), (10.0, 5, 5)]
)
def test_transmission_rates_refuse_impossible_counts(e: object, r: object, v: object) -> None:
    with pytest.raises(InvalidValueError):
        transmission_rates(e, r, v)  # type: ignore[arg-type]


def test_expected_records_and_valid_flags() -> None:
    start = datetime(2025, 2, 1)
    assert expected_records(start, datetime(2025, 3, 1), timedelta(hours=1)) == 672
    assert expected_records(start, start + timedelta(minutes=90), timedelta(hours=1)) == 2
    with pytest.raises(InvalidValueError):
        expected_records(start, start, timedelta(0))
    assert count_valid(["N", "M", "N", "D", "C", "T"]) == 2
    assert count_valid(["N", "T"], valid_flags=["N", "T"]) == 2
