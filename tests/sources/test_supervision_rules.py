"""The flag policy, rates, 折算 judgement, episodes and amounts, against hand-computed cases."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qingshan.standards import supervision as sv

T0 = datetime(2026, 11, 1)
H = timedelta(hours=1)


def hours(n: int) -> list[datetime]:
    return [T0 + i * H for i in range(n)]


def recs(flags: list[str | None], value: str = "10") -> dict[datetime, sv.Record]:
    """One record per hour with the given flags; ``None`` in the list is a missing hour."""
    out = {}
    for i, f in enumerate(flags):
        if f is not None:
            out[T0 + i * H] = sv.Record(T0 + i * H, f, Decimal(value))
    return out


# --------------------------------------------------------------------------- every flag


@pytest.mark.parametrize(
    ("flag", "expected", "received", "valid"),
    [
        ("N", 4, 4, 4),  # all normal: 100 %
        ("F", 3, 3, 3),  # one stopped hour: not due, not invalid
        ("M", 4, 4, 3),  # maintenance: sent, not valid
        ("C", 4, 4, 3),  # calibration: sent, not valid
        ("D", 4, 4, 3),  # fault
        ("T", 4, 4, 4),  # over range: valid
        ("S", 4, 4, 3),  # manual input: not automatic data
        ("B", 4, 4, 3),  # communication fault
        ("", 4, 4, 4),  # no flag = N
    ],
)
def test_each_flag_counts_as_the_policy_says(
    flag: str, expected: int, received: int, valid: int
) -> None:
    # three N hours and one hour with the flag under test
    counts = sv.count_rates(hours(4), recs(["N", "N", "N", flag]))
    assert (counts.expected, counts.received, counts.valid) == (expected, received, valid)
    assert counts.transmission_rate == Fraction(received, expected)
    assert counts.effective_transmission_rate == Fraction(valid, expected)


def test_missing_hours_are_due_and_not_received() -> None:
    # 10 hours: 6 N, 1 C, 1 F, 2 missing → expected 9, received 7, valid 6
    flags: list[str | None] = ["N", "N", None, "C", "N", "F", "N", None, "N", "N"]
    c = sv.count_rates(hours(10), recs(flags))
    assert (c.due, c.expected, c.received, c.valid, c.missing) == (10, 9, 7, 6, 2)
    assert c.transmission_rate == Fraction(7, 9)
    assert c.validity_rate == Fraction(6, 7)
    assert c.effective_transmission_rate == Fraction(6, 9)
    assert c.effective_transmission_rate == c.transmission_rate * c.validity_rate
    assert c.by_flag == {"N": 6, "C": 1, "F": 1}


def test_valid_flag_without_value_is_invalid() -> None:
    r = {T0: sv.Record(T0, "N", None), T0 + H: sv.Record(T0 + H, "N", Decimal(1))}
    c = sv.count_rates(hours(2), r)
    assert (c.expected, c.received, c.valid) == (2, 2, 1)


def test_a_plant_stopped_all_period_is_not_assessed() -> None:
    c = sv.count_rates(hours(5), recs(["F"] * 5))
    assert c.expected == 0
    assert c.transmission_rate is None and c.effective_transmission_rate is None
    assert c.validity_rate is None


def test_unknown_flag_is_refused() -> None:
    with pytest.raises(sv.UnknownItemError, match="'X'"):
        sv.count_rates(hours(1), recs(["X"]))


def test_only_closed_hours_before_the_cutoff_are_due() -> None:
    start, end = datetime(2026, 12, 1), datetime(2027, 1, 1)
    cutoff = datetime(2026, 12, 3, 10, 30)  # the 10:00 hour is still open
    due = sv.expected_periods(start, end, cutoff)
    assert len(due) == 2 * 24 + 10
    assert due[-1] == datetime(2026, 12, 3, 9)
    assert len(sv.expected_periods(start, end, datetime(2030, 1, 1))) == 31 * 24


def test_every_flag_is_in_the_policy_and_unverified() -> None:
    policy = sv.flag_policy()
    assert set(policy) == set("NFMCDTSB")
    assert not any(r.verified for r in policy.values())
    # stopped plants and calibration are never exceedances; a stopped plant is not invalid
    assert not policy["F"].judged and not policy["C"].judged
    assert not policy["F"].expected and not policy["F"].received


def test_rate_counts_add_up() -> None:
    a = sv.count_rates(hours(4), recs(["N", "C", None, "F"]))
    b = sv.count_rates(hours(2), recs(["N", "N"]))
    s = a + b
    assert (s.expected, s.received, s.valid) == (5, 4, 3)
    assert s.by_flag == {"N": 3, "C": 1, "F": 1}


# --------------------------------------------------------------------------- 折算 judgement


def test_conversion_exactly_at_the_limit_complies() -> None:
    # coal boiler: 28.0 mg/m³ at 9.8 % O2, reference 9 % → 28 × 12 / 11.2 = 30 exactly
    v = sv.compared_value(Decimal("28.0"), o2=Decimal("9.8"), o2_ref=Decimal(9))
    assert v == 30
    assert not sv.judge(v, Decimal(30))
    above = sv.compared_value(Decimal("28.01"), o2=Decimal("9.8"), o2_ref=Decimal(9))
    assert sv.judge(above, Decimal(30))


def test_device_converted_value_wins_and_no_reference_uses_measured() -> None:
    assert sv.compared_value(Decimal(10), converted=Decimal(55), o2_ref=Decimal(9)) == 55
    assert sv.compared_value(Decimal(10), converted=Decimal(55)) == 10
    # implausible O2 (≥ 21): judged on the measured value
    assert sv.compared_value(Decimal(10), o2=Decimal(21), o2_ref=Decimal(9)) == 10


def test_lower_limit_ph() -> None:
    assert sv.judge(Fraction(59, 10), 9, lower=6)
    assert not sv.judge(Fraction(6), 9, lower=6)


# --------------------------------------------------------------------------- episodes


def test_one_episode_per_condition_with_peak_and_duration() -> None:
    values = [10, 31, 40, 35, 10, 10, 32, 10]
    js = [sv.Judgement(T0 + i * H, Fraction(v), v > 30) for i, v in enumerate(values)]
    eps = sv.episodes(js, H)
    assert [(e.start, e.end, e.peak, e.peak_at, e.periods) for e in eps] == [
        (T0 + H, T0 + 4 * H, Fraction(40), T0 + 2 * H, 3),
        (T0 + 6 * H, T0 + 7 * H, Fraction(32), T0 + 6 * H, 1),
    ]
    assert eps[0].duration == 3 * H
    assert eps[0].multiple(30) == Fraction(1, 3)


def test_a_gap_ends_an_episode() -> None:
    js = [sv.Judgement(T0, Fraction(40), True), sv.Judgement(T0 + 2 * H, Fraction(40), True)]
    assert len(sv.episodes(js, H)) == 2


def test_daily_means_use_judged_hours_only() -> None:
    rs = [
        sv.Record(T0, "N", Decimal(10)),
        sv.Record(T0 + H, "N", Decimal(20)),
        sv.Record(T0 + 2 * H, "C", Decimal(500)),  # calibration read: never in the mean
        sv.Record(T0 + 3 * H, "F", Decimal(0)),
        sv.Record(T0 + 24 * H, "M", Decimal(5)),  # next day: nothing judged
    ]
    days = sv.daily_means(rs)
    assert [(d.day, d.value, d.n_valid) for d in days] == [(T0.date(), Fraction(15), 2)]
    assert sv.daily_means(rs, min_hours=3) == []


# --------------------------------------------------------------------------- amounts


def test_interval_mass_gas_and_water() -> None:
    # 100 mg/m³ × 30 m³/s × 3600 s = 10.8 kg
    assert sv.interval_mass(Decimal(100), Decimal(30), 3600, "gas") == Fraction(108, 10)
    # 50 mg/L × 25 L/s × 3600 s = 4.5 kg
    assert sv.interval_mass(Decimal(50), Decimal(25), 3600, "water") == Fraction(9, 2)
    with pytest.raises(sv.InvalidValueError):
        sv.interval_mass(Decimal(-1), Decimal(1), 3600, "gas")
    with pytest.raises(sv.InvalidValueError):
        sv.interval_mass(Decimal(1), Decimal(1), 0, "gas")


# --------------------------------------------------------------------------- properties

FLAGS = st.sampled_from(["N", "F", "M", "C", "D", "T", "S", "B", None])


@settings(max_examples=200, deadline=None)
@given(st.lists(FLAGS, min_size=1, max_size=60))
def test_rates_are_shares(flags: list[str | None]) -> None:
    c = sv.count_rates(hours(len(flags)), recs(flags))
    assert c.valid <= c.received <= c.expected <= c.due
    for r in (c.transmission_rate, c.validity_rate, c.effective_transmission_rate):
        assert r is None or 0 <= r <= 1


@settings(max_examples=200, deadline=None)
@given(st.lists(FLAGS, min_size=1, max_size=60), st.data())
def test_filling_a_missing_hour_with_valid_data_never_lowers_the_rates(
    flags: list[str | None], data: st.DataObject
) -> None:
    gaps = [i for i, f in enumerate(flags) if f is None]
    if not gaps:
        return
    i = data.draw(st.sampled_from(gaps))
    before = sv.count_rates(hours(len(flags)), recs(flags))
    after = sv.count_rates(hours(len(flags)), recs([*flags[:i], "N", *flags[i + 1 :]]))
    assert after.transmission_rate is not None and after.effective_transmission_rate is not None
    assert before.transmission_rate is not None and before.effective_transmission_rate is not None
    assert after.transmission_rate > before.transmission_rate
    assert after.effective_transmission_rate > before.effective_transmission_rate


@settings(max_examples=200, deadline=None)
@given(st.lists(FLAGS, min_size=1, max_size=60), st.data())
def test_invalidating_a_valid_record_never_raises_validity(
    flags: list[str | None], data: st.DataObject
) -> None:
    valid = [i for i, f in enumerate(flags) if f in ("N", "T")]
    if not valid:
        return
    i = data.draw(st.sampled_from(valid))
    bad = data.draw(st.sampled_from(["M", "C", "D", "S", "B"]))
    before = sv.count_rates(hours(len(flags)), recs(flags))
    after = sv.count_rates(hours(len(flags)), recs([*flags[:i], bad, *flags[i + 1 :]]))
    assert before.validity_rate is not None and after.validity_rate is not None
    assert after.validity_rate < before.validity_rate
    assert after.transmission_rate == before.transmission_rate


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 100), min_size=0, max_size=50))
def test_episodes_partition_the_exceeding_hours(values: list[int]) -> None:
    js = [sv.Judgement(T0 + i * H, Fraction(v), v > 50) for i, v in enumerate(values)]
    eps = sv.episodes(js, H)
    assert sum(e.periods for e in eps) == sum(1 for v in values if v > 50)
    for a, b in itertools.pairwise(eps):
        assert a.end < b.start  # separated by at least one compliant hour
    for e in eps:
        assert e.peak > 50 and e.start <= e.peak_at < e.end


DEC = st.decimals(min_value=0, max_value=10_000, places=3, allow_nan=False, allow_infinity=False)
O2S = st.decimals(min_value=0, max_value=Decimal("20.99"), places=2)


@settings(max_examples=300, deadline=None)
@given(DEC, O2S, st.sampled_from([None, Decimal(9), Decimal("3.5"), Decimal(18)]), DEC)
def test_fast_exceedance_agrees_with_the_fraction_rule(
    c: Decimal, o2: Decimal, ref: Decimal | None, limit: Decimal
) -> None:
    upper = limit + 1  # positive
    slow = sv.judge(sv.compared_value(c, o2=o2, o2_ref=ref), upper)
    assert sv.exceeds(c, upper=upper, o2=o2, o2_ref=ref) == slow


def test_fast_exceedance_at_the_limit_and_with_long_digits() -> None:
    # exactly 30 after 折算 complies; a hair above exceeds
    assert not sv.exceeds(Decimal("28.0"), upper=Decimal(30), o2=Decimal("9.8"), o2_ref=Decimal(9))
    assert sv.exceeds(
        Decimal("28.0000001"), upper=Decimal(30), o2=Decimal("9.8"), o2_ref=Decimal(9)
    )
    # digits beyond the exact context fall back to fractions and stay right
    long = Decimal("28." + "0" * 100 + "1")
    assert sv.exceeds(long, upper=Decimal(30), o2=Decimal("9.8"), o2_ref=Decimal(9))


def test_exact_sum_of_products() -> None:
    pairs = [(Decimal("0.1"), Decimal("0.2")), (Decimal("0.3"), Decimal(3))]
    assert sv.exact_sum_products(pairs) == Fraction(92, 100)
    huge = [(Decimal("1e-90"), Decimal("1.000000000000000000000000000000000000001"))]
    assert sv.exact_sum_products(huge) == Fraction(Decimal("1e-90")) * Fraction(
        Decimal("1.000000000000000000000000000000000000001")
    )
