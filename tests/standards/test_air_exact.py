"""HJ 663 / GB 3095 evaluation on ties and limits: hand-computed cases from the standards'
formulas, incomplete periods, 超标天数, and the vectorised engine against an exact scalar
reference on tie-heavy data (docs/standards/arithmetic.md)."""

from __future__ import annotations

import calendar
from datetime import date
from decimal import Decimal
from fractions import Fraction
from math import floor

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qingshan.standards.air.aqi import daily_aqi
from qingshan.standards.air.evaluation import (
    HourlyData,
    StationEvaluation,
    city_hourly,
    composite_index,
    daily_max_8h,
    daily_means,
    evaluate,
    evaluate_many,
    exceedance_multiple,
    good_day_ratio,
    hj663_percentile,
    moving_mean,
    moving_mean_rounded,
)
from qingshan.standards.air.tables import limit_set
from qingshan.standards.rounding import round_half_even

FloatArray = npt.NDArray[np.float64]
LOW = {"SO2": 5.0, "NO2": 10.0, "CO": 0.5, "O3": 50.0, "PM10": 20.0, "PM2_5": 20.0}


def days(start: date, n: int, **series: object) -> HourlyData:
    """n days of hourly data; a pollutant given as a list holds one value per day (all 24
    hours), an array of shape (n, 24) holds the hours; the rest are low constants."""
    values: dict[str, FloatArray] = {}
    for p, low in LOW.items():
        given_ = series.get(p)
        if given_ is None:
            values[p] = np.full((n, 24), low)
        elif isinstance(given_, np.ndarray):
            values[p] = given_.astype(float)
        else:
            per_day = np.array(given_, dtype=float)
            values[p] = np.repeat(per_day[:, None], 24, axis=1)
    return HourlyData(start, values)


def stat(ev: StationEvaluation, pollutant: str, statistic: str):  # type: ignore[no-untyped-def]
    return next(s for s in ev.statistics if s.pollutant == pollutant and s.statistic == statistic)


# ------------------------------------------------------------------------------ percentiles


def test_issue_p95_of_30_days_is_76_not_attained() -> None:
    # 27 × 30, 1 × 70, 2 × 80: k = 1 + 29 × 0.95 = 28.55, P95 = 70 + 0.55 × 10 = 75.5 → 76.
    pm = [30.0] * 27 + [70.0, 80.0, 80.0]
    ev = evaluate(days(date(2025, 4, 1), 30, PM2_5=pm), "HJ663-2013", include_days=False)
    p95 = stat(ev, "PM2_5", "p95")
    assert p95.value == 76 and p95.limit == 75 and p95.attained is False
    assert p95.exceedance_multiple == Decimal("0.01")  # (76 − 75)/75 = 0.0133…
    assert stat(ev, "PM2_5", "mean").value == 35  # 1040/30 = 34.67
    assert ev.pollutant_attained["PM2_5"] is False and ev.attained is False
    assert ev.complete is True and ev.verdict_reason is None


@pytest.mark.parametrize(
    ("x29", "x30", "expected", "attained"),
    [(75, 76, 76, False), (74, 75, 74, True)],
)
def test_p95_of_31_days_on_a_tie(x29: int, x30: int, expected: int, attained: bool) -> None:
    # n = 31: k = 1 + 30 × 0.95 = 29.5 exactly, P95 = X29 + 0.5 (X30 − X29) = x.5 → even.
    pm = [20.0] * 28 + [float(x29), float(x30), 90.0]
    ev = evaluate(days(date(2025, 1, 1), 31, PM2_5=pm), "HJ663-2013", include_days=False)
    assert stat(ev, "PM2_5", "p95").value == expected
    assert stat(ev, "PM2_5", "p95").attained is attained


def test_co_p95_tie_at_the_limit() -> None:
    # n = 31, k − s = 0.5: CO X29 = 4.0, X30 = 4.1 → 4.05 → 4.0 = the limit → attained.
    co = [0.5] * 28 + [4.0, 4.1, 6.0]
    ev = evaluate(days(date(2025, 1, 1), 31, CO=co), "HJ663-2013", include_days=False)
    p95 = stat(ev, "CO", "p95")
    assert p95.value == Decimal("4.0") and p95.attained is True


def test_so2_p98_of_20_days() -> None:
    # n = 20 (not a calendar month: verdicts given, 表4 not judged): k = 1 + 19 × 0.98 = 19.62,
    # P98 = 150 + 0.62 × 1 = 150.62 → 151 > 150.
    so2 = [5.0] * 18 + [150.0, 151.0]
    ev = evaluate(days(date(2025, 3, 1), 20, SO2=so2), "HJ663-2013", include_days=False)
    assert ev.complete is None
    assert stat(ev, "SO2", "p98").value == 151 and stat(ev, "SO2", "p98").attained is False


def test_o3_p90_of_a_leap_year_on_a_tie() -> None:
    # n = 366: k = 1 + 365 × 0.9 = 329.5; X329 = 160, X330 = 161 → 160.5 → 160 = limit.
    n = 366
    mda8 = [50.0] * 328 + [160.0, 161.0] + [200.0] * (n - 330)
    ev = evaluate(days(date(2024, 1, 1), n, O3=mda8), "HJ663-2013", include_days=False)
    p90 = stat(ev, "O3", "p90")
    assert ev.period_kind == "year" and ev.complete is True
    assert p90.value == 160 and p90.attained is True
    exceed = ev.daily_exceedances["O3_8H"]
    assert (exceed.valid_days, exceed.exceedance_days) == (366, 37)  # 161 and 36 × 200


@pytest.mark.parametrize("n", range(20, 367))
def test_percentile_k_minus_s_is_exact_for_every_n(n: int) -> None:
    """For every period length: the HJ 663 formula by hand with fractions equals the engine, on
    values built so that X(s+1) − X(s) makes the interpolation land on x.5 when it can."""
    p = 95
    k = 1 + Fraction((n - 1) * p, 100)
    s = floor(k)
    frac = k - s
    b = frac.denominator
    # X(s+1) − X(s) = b/2 puts an odd numerator over 2: the percentile is an exact x.5 tie.
    low, high = 70, 70 + (b // 2 if b % 2 == 0 else b)
    vals = [10] * (s - 1) + [low] + [high] * (n - s)
    exact = low + (high - low) * frac
    got = hj663_percentile(np.array(vals, dtype=float), p)
    assert got == float(exact)
    ev = evaluate_many(
        days(date(2025, 1, 1), n, PM2_5=[float(v) for v in vals]), "HJ663-2013", include_days=False
    )[0]
    assert stat(ev, "PM2_5", "p95").value == round_half_even(exact)


# ------------------------------------------------------------------------------ daily values


def _co_day(first: float, second: float, valid: int = 24) -> FloatArray:
    h = np.full((1, 24), np.nan)
    half = valid // 2
    h[0, :half] = first
    h[0, half:valid] = second
    return h


@pytest.mark.parametrize("standard", ["HJ663-2013", "HJ663-2026"])
def test_issue_co_daily_mean_tie_is_a_good_day(standard: str) -> None:
    start = date(2025, 6, 1) if standard == "HJ663-2013" else date(2026, 6, 1)
    ev = evaluate(days(start, 1, CO=_co_day(3.7, 4.4)), standard)
    day = ev.days[0]
    assert day["values"]["CO"] == 4.0 and day["aqi"] == 100  # 4.05 → 4.0
    assert ev.good_days == 1
    ev = evaluate(days(start, 1, CO=_co_day(3.8, 4.4)), standard)
    assert ev.days[0]["values"]["CO"] == 4.1 and ev.days[0]["aqi"] == 101
    # the same tie with the minimum 20 valid hours (10 × 3.7, 10 × 4.4)
    ev = evaluate(days(start, 1, CO=_co_day(3.7, 4.4, valid=20)), standard)
    assert ev.days[0]["values"]["CO"] == 4.0
    assert daily_means(_co_day(3.7, 4.4))[0] == 4.05  # the exact mean, unrounded


@pytest.mark.parametrize(("a", "b", "value", "good"), [(74, 75, 74, True), (75, 76, 76, False)])
def test_pm25_daily_mean_tie(a: int, b: int, value: int, good: bool) -> None:
    h = np.array([[float(a)] * 12 + [float(b)] * 12])
    ev = evaluate(days(date(2025, 6, 1), 1, PM2_5=h), "HJ663-2013")
    assert ev.days[0]["values"]["PM2_5"] == value and (ev.good_days == 1) is good


def test_mda8_ties_and_the_exceedance_clause() -> None:
    # One 8-hour window averaging 160.5 → MDA8 160 (even), on the limit: no exceedance day.
    h = np.full((2, 24), 100.0)
    h[0, 8:16] = [160, 161] * 4  # window ending 16:00
    h[1, 8:16] = [161, 162] * 4  # 161.5 → 162
    ev = evaluate(days(date(2025, 6, 1), 2, O3=h), "HJ663-2013")
    assert [d["values"]["O3_8H"] for d in ev.days] == [160, 162]
    assert ev.daily_exceedances["O3_8H"].exceedance_days == 1
    # Only 13 valid windows: valid only when a window mean exceeds 160 — compared exactly.
    sparse = np.full((2, 24), np.nan)
    sparse[:, 0:18] = 100.0  # hours 0–17: the windows ending 08:00 … 20:00 are valid (13)
    sparse[0, 10:18] = 160.0  # max exactly 160: not above the limit → invalid day
    sparse[1, 10:18] = [160, 160, 160, 160, 160, 160, 160, 161]  # a window above 160 → valid
    mda8 = daily_max_8h(sparse, 160)
    assert np.isnan(mda8[0]) and mda8[1] == 961 / 6  # hours 12–17 of the window ending 20:00
    ev = evaluate(days(date(2025, 6, 1), 2, O3=sparse), "HJ663-2013")
    assert [d["values"]["O3_8H"] for d in ev.days] == [None, 160]


def test_moving_means_are_exact() -> None:
    x = np.array([3.7] * 4 + [4.4] * 4)
    assert moving_mean(x, 8, 6)[-1] == 4.05
    assert moving_mean_rounded(x, 8, 6, 1)[-1] == 4.0  # rounded once from the exact 4.05


def test_city_means_are_exact() -> None:
    # Three stations: CO 3.7, 4.4, 4.4 → city hourly 12.5/3; a day of 12 such hours and 12 of
    # (3.7, 3.7, 4.4) = 11.8/3 → daily mean 24.3/6 = 4.05 → 4.0.
    a = np.full((1, 24), 3.7)
    b = np.full((1, 24), 4.4)
    b[0, 12:] = 3.7
    c = np.full((1, 24), 4.4)
    stations = [days(date(2025, 6, 1), 1, CO=x) for x in (a, b, c)]
    city = city_hourly(stations)
    ev = evaluate(city, "HJ663-2013")
    assert ev.days[0]["values"]["CO"] == 4.0 and ev.days[0]["aqi"] == 100


# ------------------------------------------------------------------------------ indices


def test_composite_index_tie_is_rounded_once_from_the_exact_sum() -> None:
    # 3/60 + 2/40 + 7/70 + 7/35 + 0.1/4 + 16/160 = 0.525 exactly → 0.52 (2 is even).
    values = {
        "SO2": Decimal(3),
        "NO2": Decimal(2),
        "PM10": Decimal(7),
        "PM2_5": Decimal(7),
        "CO": Decimal("0.1"),
        "O3": Decimal(16),
    }
    index, single = composite_index(values, "HJ663-2013", limit_set("GB3095-2012"))
    assert index == Decimal("0.52")
    assert single["CO"] == Decimal("0.02")  # 0.025 → 0.02


def test_ratios_and_multiples_on_ties() -> None:
    assert good_day_ratio(1, 16) == Decimal("6.2")  # 6.25
    assert good_day_ratio(3, 16) == Decimal("18.8")  # 18.75
    assert exceedance_multiple(Decimal(45), Decimal(40)) == Decimal("0.12")  # 0.125
    assert exceedance_multiple(Decimal(40), Decimal(40)) is None


# ------------------------------------------------------------------------------ validity


def _with_missing(start: date, n: int, missing: set[int], pollutant: str = "PM2_5") -> HourlyData:
    data = days(start, n)
    for i in missing:
        data.values[pollutant][i, :] = np.nan
    return HourlyData(start, data.values)


@pytest.mark.parametrize(
    ("start", "n", "n_missing", "complete"),
    [
        (date(2025, 4, 1), 30, 3, True),  # 27 valid = the monthly minimum
        (date(2025, 4, 1), 30, 4, False),  # 26
        (date(2025, 2, 1), 28, 3, True),  # February: 25
        (date(2025, 2, 1), 28, 4, False),  # 24
    ],
)
def test_incomplete_month_gets_no_verdict(
    start: date, n: int, n_missing: int, complete: bool
) -> None:
    ev = evaluate(_with_missing(start, n, set(range(n_missing))), "HJ663-2013")
    assert ev.period_kind == "month" and ev.complete is complete
    if complete:
        assert ev.attained is True and ev.verdict_reason is None
        return
    valid = n - n_missing
    assert ev.attained is None and ev.pollutant_attained["PM2_5"] is None
    assert all(s.attained is None for s in ev.statistics if s.pollutant == "PM2_5")
    assert ev.pollutant_attained["SO2"] is True  # the complete pollutants keep their verdict
    need = 25 if start.month == 2 else 27
    assert ev.verdict_reason == f"PM₂.₅ 数据不足：有效日数据 {valid} 天，少于 {need} 天"
    out = ev.to_dict()
    assert out["attained"] is None and out["verdict"] == "数据不足"
    assert out["pollutants"]["PM2_5"]["verdict_reason"].startswith("数据不足")
    assert out["pollutants"]["PM2_5"]["statistics"][0]["value"] == 20  # values still shown


def test_incomplete_year_gets_no_verdict() -> None:
    start = date(2025, 1, 1)
    missing: set[int] = set()
    for m in range(1, 13):
        first = (date(2025, m, 1) - start).days
        length = calendar.monthrange(2025, m)[1]
        drop = length - (25 if m == 2 else 27)  # every month at its minimum …
        missing |= set(range(first, first + drop))
    missing.discard(0)  # … except January (28 valid): 323 valid days in all
    ev = evaluate(_with_missing(start, 365, missing), "HJ663-2013", include_days=False)
    assert ev.period_kind == "year" and ev.complete is False
    assert ev.incomplete_reasons["PM2_5"] == ["323 valid days < 324"]
    assert ev.attained is None
    assert ev.verdict_reason == "PM₂.₅ 数据不足：全年有效日数据 323 天，少于 324 天"
    missing.discard(1)  # 324: complete
    assert evaluate(_with_missing(start, 365, missing), "HJ663-2013").attained is True


def test_daily_exceedances_and_rates() -> None:
    pm = [20.0] * 27 + [75.0, 76.0, 76.0]  # 75 = the limit: not an exceedance
    co = [0.5] * 28 + [4.0, 4.1]
    o3 = np.full((30, 24), 50.0)
    o3[0, 10] = 201.0  # daily maximum 1-hour above 200 (MDA8 (7 × 50 + 201)/8 → 69)
    ev = evaluate(days(date(2025, 4, 1), 30, PM2_5=pm, CO=co, O3=o3), "HJ663-2013")
    e = ev.daily_exceedances
    assert (e["PM2_5"].exceedance_days, e["PM2_5"].compliance_rate) == (2, Decimal("93.3"))
    assert (e["CO"].exceedance_days, e["CO"].limit) == (1, Decimal(4))
    assert e["O3_1H"].exceedance_days == 1 and e["O3_8H"].exceedance_days == 0
    assert e["SO2"].compliance_rate == Decimal("100.0")
    out = ev.to_dict()["exceedance_days"]
    assert out["PM2_5"] == {
        "name": "PM₂.₅ 日平均",
        "limit": 75,
        "valid_days": 30,
        "exceedance_days": 2,
        "compliance_rate": 93.3,
    }


# ------------------------------------------------------------------------------ bulk = exact


def _ref_round(q: Fraction, nd: int) -> Fraction:
    return Fraction(round_half_even(q, nd))


def _ref_daily(hours: list[Fraction | None], nd: int) -> Fraction | None:
    vals = [h for h in hours if h is not None]
    if len(vals) < 20:
        return None
    return _ref_round(sum(vals, Fraction(0)) / len(vals), nd)


def _ref_mda8(hours: list[Fraction | None], limit: int) -> Fraction | None:
    means = []
    for end in range(8, 25):
        w = [h for h in hours[end - 8 : end] if h is not None]
        if len(w) >= 6:
            means.append(sum(w, Fraction(0)) / len(w))
    if not means:
        return None
    top = max(means)
    if len(means) >= 14 or top > limit:
        return _ref_round(top, 0)
    return None


def _ref_percentile(values: list[Fraction], p: int, nd: int) -> Fraction:
    x = sorted(values)
    n = len(x)
    k = 1 + Fraction((n - 1) * p, 100)
    s = floor(k)
    hi = x[s] if s < n else x[s - 1]
    return _ref_round(x[s - 1] + (hi - x[s - 1]) * (k - s), nd)


def _grid(rng: np.random.Generator, n: int, top: int, scale: int, missing: float) -> FloatArray:
    # Values on a coarse grid (0.1 mg/m³ for CO, 1 µg/m³ otherwise) so ties are frequent.
    v = rng.integers(0, top, size=(n, 24)) / scale
    v[rng.random((n, 24)) < missing] = np.nan
    return v


@settings(max_examples=25, deadline=None)
@given(st.integers(20, 366), st.integers(0, 2**32 - 1), st.sampled_from([0.0, 0.05, 0.2]))
def test_vectorised_evaluation_equals_exact_reference(n: int, seed: int, missing: float) -> None:
    rng = np.random.default_rng(seed)
    start = date(2024, 1, 1)
    values = {
        "SO2": _grid(rng, n, 40, 1, missing),
        "NO2": _grid(rng, n, 90, 1, missing),
        "CO": _grid(rng, n, 60, 10, missing),
        "O3": _grid(rng, n, 240, 1, missing),
        "PM10": _grid(rng, n, 200, 1, missing),
        "PM2_5": _grid(rng, n, 120, 1, missing),
    }
    ev = evaluate(HourlyData(start, values), "HJ663-2013")
    exact = {
        p: [[None if np.isnan(x) else Fraction(repr(float(x))) for x in row] for row in a]
        for p, a in values.items()
    }
    daily: dict[str, list[Fraction | None]] = {
        p: [_ref_daily(h, 1 if p == "CO" else 0) for h in exact[p]]
        for p in ("SO2", "NO2", "CO", "PM10", "PM2_5")
    }
    daily["O3_8H"] = [_ref_mda8(h, 160) for h in exact["O3"]]
    o3_1h = [
        _ref_round(max(v for v in h if v is not None), 0)
        if sum(v is not None for v in h) >= 20
        else None
        for h in exact["O3"]
    ]
    good = 0
    for j, row in enumerate(ev.days):
        for p, series in daily.items():
            got = row["values"][p]
            assert (None if got is None else Fraction(repr(got))) == series[j], (j, p)
        kw = {
            k.lower(): (None if v[j] is None else Decimal(v[j].numerator) / v[j].denominator)
            for k, v in daily.items()
            if k != "O3_8H"
        }
        ref = daily_aqi(
            "HJ633-2012",
            so2=kw["so2"],
            no2=kw["no2"],
            co=kw["co"],
            o3_8h=None if daily["O3_8H"][j] is None else int(daily["O3_8H"][j]),
            pm10=kw["pm10"],
            pm2_5=kw["pm2_5"],
            o3_1h=None if o3_1h[j] is None else int(o3_1h[j]),
            missing="na_rule",
        )
        assert row["aqi"] == ref.aqi, j
        good += ref.aqi is not None and ref.aqi <= 100
    assert ev.good_days == good
    for s in ev.statistics:
        series = "O3_8H" if s.pollutant == "O3" else s.pollutant
        vals = [v for v in daily[series] if v is not None]
        if not vals:
            assert s.value is None
            continue
        if s.statistic == "mean":
            ref_value = _ref_round(sum(vals, Fraction(0)) / len(vals), 1 if series == "CO" else 0)
        else:
            ref_value = _ref_percentile(vals, int(s.statistic[1:]), 1 if series == "CO" else 0)
        assert Fraction(s.value) == ref_value, (s.pollutant, s.statistic)
        assert s.valid_days == len(vals)
        if ev.complete is False and s.pollutant in ev.incomplete_reasons:
            assert s.attained is None
        else:
            assert s.attained is (ref_value <= s.limit)
    limits = {"SO2": 150, "NO2": 80, "CO": 4, "PM10": 150, "PM2_5": 75, "O3_8H": 160}
    for series, lim in limits.items():
        vals = [v for v in daily[series] if v is not None]
        e = ev.daily_exceedances[series]
        assert (e.valid_days, e.exceedance_days) == (len(vals), sum(v > lim for v in vals))
    assert ev.daily_exceedances["O3_1H"].exceedance_days == sum(
        v is not None and v > 200 for v in o3_1h
    )


@settings(max_examples=15, deadline=None)
@given(st.integers(1, 40), st.integers(0, 2**32 - 1))
def test_city_hourly_mean_equals_exact_reference(days_: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    stations = []
    for _ in range(int(rng.integers(2, 7))):
        co = _grid(rng, days_, 60, 10, 0.3)
        stations.append(days(date(2025, 5, 1), days_, CO=co))
    city = city_hourly(stations)
    ev = evaluate(city, "HJ663-2013")
    for j in range(days_):
        hourly_means = []
        for h in range(24):
            vals = [
                Fraction(repr(float(s.values["CO"][j, h])))
                for s in stations
                if not np.isnan(s.values["CO"][j, h])
            ]
            if vals:
                hourly_means.append(sum(vals, Fraction(0)) / len(vals))
        expected = (
            _ref_round(sum(hourly_means, Fraction(0)) / len(hourly_means), 1)
            if len(hourly_means) >= 20
            else None
        )
        got = ev.days[j]["values"]["CO"]
        assert (None if got is None else Fraction(repr(got))) == expected
