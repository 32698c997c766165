"""Ambient air-quality evaluation after HJ 663-2013 and HJ 663-2026 with GB 3095 limits.

Methods (references: HJ 663-2013 via secondary sources, GB 3095-2012/2026 表4; details and
choices in docs/standards/hj663.md):

* Hours: a row labelled ``t`` is, by default, the hour ending at ``t`` (national platform
  convention, ``hour_label="end"``): the day D holds the hours ending 01:00 … 24:00 of D.
  ``hour_label="start"`` reads ``t`` as the hour beginning at ``t`` (00 … 23 of D).
* Daily mean (SO2, NO2, CO, PM10, PM2.5): arithmetic mean of the valid hourly values, valid
  with ≥ 20 of them (GB 3095 表4).
* O3 8-hour moving mean: mean of the 8 hours ending at the hour, valid with ≥ 6 values.
  Daily maximum 8-hour (MDA8): maximum of the 17 means ending 08:00 … 24:00 of the day; valid
  with ≥ 14 valid means, or with fewer when the maximum exceeds the 8-hour limit.
* O3 daily maximum 1-hour (HJ 633-2012 daily report only): maximum of the valid hours, valid
  with ≥ 20 of them (our choice; the rule is not in the sources we have).
* Arithmetic is exact (docs/standards/arithmetic.md): hourly values are read as decimals
  (integers over a power of ten), so means, moving means, percentiles and comparisons with
  limits are integer arithmetic; each published value is rounded once, half-to-even
  (GB/T 8170). Daily values are rounded (integers, CO 0.1 mg/m³) before any statistic, as the
  published daily values are; period statistics are rounded the same way before comparison.
* Daily AQI: HJ 633 daily report from those values; a day is an AQI-valid day (有效天) when all
  indicators are valid, or when the AQI of the valid ones exceeds 100 (HJ 633-2026 §5.3.1 —
  the day is then certainly not 优良).
* Period statistics: mean of valid daily values; percentile per the HJ 663 appendix
  (k = 1 + (n − 1)·p/100, s = ⌊k⌋, X(s) + (X(s+1) − X(s))·(k − s) on the sorted values);
  P98 SO2/NO2, P95 PM10/PM2.5/CO, P90 O3 MDA8. Annual validity: ≥ 324 valid days and ≥ 27 in
  every month (February ≥ 25).
* Attainment: every statistic ≤ its GB 3095 limit (annual mean ↔ annual limit, percentile of
  daily values ↔ 24-hour/daily limit, O3 P90 ↔ 8-hour limit). Exceedance multiple (C − S)/S.
  A calendar month or year that fails GB 3095 表4 completeness gets no verdict (``None``,
  数据不足, with the reason in ``verdict_reason``).
* Per indicator: 超标天数 (daily values above the 24-hour limit; O3 MDA8 above the 8-hour
  limit, O3 daily maximum 1-hour above the 1-hour limit) and 达标率 = (valid days − exceedance
  days) / valid days × 100 %.
* 优良天数 = AQI-valid days with AQI ≤ 100; 优良天数比率 = 优良天数 / 有效天数 × 100 %;
  heavy-pollution days (重污染天数) = AQI > 200. Dust deduction (扣沙): the given dust days are
  dropped from the day-based statistics chosen by ``dust_scope`` (see :func:`evaluate_many`).
* 综合指数 = Σ wᵢ · Cᵢ / Sᵢ (SO2, NO2, PM10, PM2.5 period means; CO P95; O3 P90), Sᵢ the
  class-II GB 3095 limits of that statistic; equal weights for both editions (the 2026 weights
  are unverified and not used). Single indices Iᵢ = Cᵢ/Sᵢ (2 decimals); the period's primary
  pollutant is the one with the largest Iᵢ (ties all listed), as the city ranking rules
  (城市环境空气质量排名技术规定) define it per secondary sources.
* City: each hour the arithmetic mean of the valid station values, then evaluated like a
  station. Region: arithmetic mean of the city statistics and of the city good-day ratios.
"""

from __future__ import annotations

import calendar
import math
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from qingshan.standards._exact import (
    ExactArray,
    IntArray,
    exceeds,
    ratio_floats,
    round_ratio,
    widen,
)
from qingshan.standards._exact import stack as _stack_exact
from qingshan.standards.air.aqi import LABELS, daily_aqi_array, decode_mask
from qingshan.standards.air.tables import (
    POLLUTANTS,
    EvaluationRules,
    LimitSet,
    aqi_table,
    evaluation_rules,
    limit_set,
)
from qingshan.standards.rounding import round_half_even, to_fraction
from qingshan.standards.versions import AUTO, resolve

__all__ = [
    "DailyExceedance",
    "EvaluationError",
    "HourlyData",
    "PollutantStatistic",
    "RegionSummary",
    "StationEvaluation",
    "city_hourly",
    "composite_index",
    "daily_max_1h",
    "daily_max_8h",
    "daily_means",
    "evaluate",
    "evaluate_many",
    "evaluate_region",
    "exceedance_multiple",
    "good_day_ratio",
    "hj663_percentile",
    "hourly_moving_mean",
    "moving_mean",
    "moving_mean_rounded",
    "o3_8h_day_windows",
    "o3_8h_window_counts",
]

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
HourLabel = Literal["end", "start"]
DustScope = Literal["all", "concentrations", "days"]
_DUST_PM = ("PM10", "PM2_5")

# Statistic name → (daily series, limit period).
_STAT_SOURCE = {
    ("SO2", "mean"): ("SO2", "annual"),
    ("SO2", "p98"): ("SO2", "daily"),
    ("NO2", "mean"): ("NO2", "annual"),
    ("NO2", "p98"): ("NO2", "daily"),
    ("PM10", "mean"): ("PM10", "annual"),
    ("PM10", "p95"): ("PM10", "daily"),
    ("PM2_5", "mean"): ("PM2_5", "annual"),
    ("PM2_5", "p95"): ("PM2_5", "daily"),
    ("CO", "p95"): ("CO", "daily"),
    ("O3", "p90"): ("O3_8H", "max8h"),
}
_STAT_NAMES = {
    "mean": "年平均",
    "p98": "日平均第98百分位数",
    "p95": "日平均第95百分位数",
    "p90": "日最大8小时平均第90百分位数",
}
# Daily indicator → (pollutant, GB 3095 limit period) for 超标天数.
_DAILY_LIMIT = {
    "SO2": ("SO2", "daily"),
    "NO2": ("NO2", "daily"),
    "CO": ("CO", "daily"),
    "PM10": ("PM10", "daily"),
    "PM2_5": ("PM2_5", "daily"),
    "O3_8H": ("O3", "max8h"),
    "O3_1H": ("O3", "hourly"),
}
_DAILY_NAMES = {
    "SO2": "SO₂ 日平均",
    "NO2": "NO₂ 日平均",
    "CO": "CO 日平均",
    "PM10": "PM₁₀ 日平均",
    "PM2_5": "PM₂.₅ 日平均",
    "O3_8H": "O₃ 日最大8小时平均",
    "O3_1H": "O₃ 日最大1小时平均",
}
_POL_NAMES = {
    "SO2": "SO₂",
    "NO2": "NO₂",
    "CO": "CO",
    "O3": "O₃",
    "PM10": "PM₁₀",
    "PM2_5": "PM₂.₅",
}
_SERIES = ("SO2", "NO2", "CO", "O3_1H", "O3_8H", "PM10", "PM2_5")


def _decimals(series: str) -> int:
    """Reported decimals of a daily value or statistic: CO 0.1 mg/m³, the rest integers."""
    return 1 if series == "CO" else 0


class EvaluationError(ValueError):
    """Input that cannot be evaluated (bad shape, negative values, no data)."""


# --------------------------------------------------------------------------------------------
# Input


@dataclass(frozen=True, slots=True)
class HourlyData:
    """Hourly concentrations on a day × 24 grid: ``values[p]`` has shape (…, days, 24), NaN =
    missing; leading axes are stations. Column h of day D is the hour D h:00–(h+1):00.

    Each float stands for its shortest decimal text; arithmetic is done on the exact values
    (``exact``, filled on first use; :func:`city_hourly` fills it with its exact means).
    """

    start: date
    values: dict[str, FloatArray]
    exact: dict[str, ExactArray] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        shapes = {v.shape for v in self.values.values()}
        if len(shapes) != 1:
            raise EvaluationError(f"pollutant arrays differ in shape: {sorted(shapes)}")
        shape = shapes.pop()
        if len(shape) < 2 or shape[-1] != 24:
            raise EvaluationError(f"hourly arrays must have shape (…, days, 24), not {shape}")
        for p, v in self.values.items():
            if p not in POLLUTANTS:
                raise EvaluationError(f"unknown pollutant {p!r}; expected one of {POLLUTANTS}")
            with np.errstate(invalid="ignore"):
                neg = v < 0
            if neg.any():
                raise EvaluationError(f"{p}: negative concentration in the hourly data")
            if np.isinf(v).any():
                raise EvaluationError(f"{p}: infinite value in the hourly data")
            if p == "CO":
                with np.errstate(invalid="ignore"):
                    big = v > 150.0
                if big.any():
                    raise EvaluationError(
                        "CO: values above 150 mg/m³ in the hourly data; CO is expected in mg/m³ "
                        "(were µg/m³ given?)"
                    )

    @property
    def n_days(self) -> int:
        return int(next(iter(self.values.values())).shape[-2])

    @property
    def dates(self) -> list[date]:
        return [self.start + timedelta(days=i) for i in range(self.n_days)]

    def get(self, pollutant: str) -> FloatArray:
        """The hourly values of one pollutant.

        Parameters
        ----------
        pollutant : str
            ``SO2``, ``NO2``, ``CO``, ``O3``, ``PM10`` or ``PM2_5``.

        Returns
        -------
        ndarray of float, shape (…, days, 24)
            Concentrations [µg/m³; CO mg/m³]; all NaN when the pollutant was not given.
        """
        v = self.values.get(pollutant)
        if v is None:
            shape = next(iter(self.values.values())).shape
            return np.full(shape, np.nan)
        return v

    def exact_of(self, pollutant: str) -> ExactArray:
        """The exact values of one pollutant.

        Parameters
        ----------
        pollutant : str
            ``SO2``, ``NO2``, ``CO``, ``O3``, ``PM10`` or ``PM2_5``.

        Returns
        -------
        ExactArray
            Integers over one denominator (value = num / den) and the validity mask, read from the
            floats as their shortest decimal text (or a city's exact means); cached.
        """
        got = self.exact.get(pollutant)
        if got is None:
            got = self.exact[pollutant] = ExactArray.from_floats(self.get(pollutant))
        return got

    @classmethod
    def stack(cls, items: Sequence[HourlyData]) -> HourlyData:
        """Several series (same start and length) as the stations of one array, exactly (a
        city's exact means stay exact).

        Parameters
        ----------
        items : sequence of HourlyData
            Series of shape (days, 24) (or with leading axes).

        Returns
        -------
        HourlyData
            Shape (len(items), …, days, 24).

        Raises
        ------
        EvaluationError
            For no series or series of different days.
        """
        if not items:
            raise EvaluationError("nothing to stack")
        start, n = items[0].start, items[0].n_days
        for h in items:
            if h.start != start or h.n_days != n:
                raise EvaluationError("stacked series must cover the same days")
        values = {p: np.stack([h.get(p) for h in items]) for p in POLLUTANTS}
        exact = {p: _stack_exact([h.exact_of(p) for h in items]) for p in POLLUTANTS}
        return cls(start, values, exact)

    @classmethod
    def from_records(
        cls,
        records: Iterable[tuple[datetime, Mapping[str, float | None]]],
        hour_label: HourLabel = "end",
    ) -> HourlyData:
        """Build the day × 24 grid of one station from hourly records.

        Parameters
        ----------
        records : iterable of (datetime, mapping of str to float or None)
            (time, {pollutant: concentration [µg/m³; CO mg/m³]}); times on the hour.
        hour_label : {"end", "start"}, default "end"
            ``end``: a time labels the hour ending then (national platform; 2025-01-02 00:00 is the
            last hour of 2025-01-01); ``start``: the hour beginning then (Qingshan's stored hours).

        Returns
        -------
        HourlyData
            From the first to the last day of the records; missing hours NaN.

        Raises
        ------
        EvaluationError
            For no records, duplicate hours or times not on the hour.
        """
        if hour_label not in ("end", "start"):
            raise EvaluationError(f"hour_label must be 'end' or 'start', not {hour_label!r}")
        shift = timedelta(hours=1) if hour_label == "end" else timedelta(0)
        cells: dict[tuple[date, int], Mapping[str, float | None]] = {}
        for t, vals in records:
            if t.minute or t.second or t.microsecond:
                raise EvaluationError(f"{t.isoformat()}: hourly times must be on the hour")
            s = t - shift
            key = (s.date(), s.hour)
            if key in cells:
                raise EvaluationError(f"{t.isoformat()}: duplicate hour")
            cells[key] = vals
        if not cells:
            raise EvaluationError("no hourly records")
        first = min(k[0] for k in cells)
        last = max(k[0] for k in cells)
        n = (last - first).days + 1
        arrays = {p: np.full((n, 24), np.nan) for p in POLLUTANTS}
        for (d, h), vals in cells.items():
            i = (d - first).days
            for p, v in vals.items():
                if v is not None:
                    arrays[p][i, h] = v
        return cls(first, arrays)


def _exact(values: FloatArray | ExactArray) -> ExactArray:
    if isinstance(values, ExactArray):
        return values
    try:
        return ExactArray.from_floats(values)
    except ValueError as exc:
        raise EvaluationError(str(exc)) from None


# --------------------------------------------------------------------------------------------
# Daily statistics (vectorised over leading axes, exact)


def _dens(counts: IntArray, den: int) -> IntArray:
    """``counts · den`` as int64 when it fits, else as Python ints."""
    c = np.asarray(counts, dtype=np.int64)
    if den * max(int(c.max(initial=0)), 1) < 2**62:
        return c * den
    return c.astype(object) * den


def _day_sums(ex: ExactArray) -> tuple[IntArray, IntArray]:
    """Sum and count of the valid hours of each day (last axis)."""
    return ex.widened(24).sum(axis=-1), ex.valid.sum(axis=-1)


def _daily_mean_units(
    ex: ExactArray, min_hours: int, ndigits: int
) -> tuple[npt.NDArray[np.int64], BoolArray]:
    total, n = _day_sums(ex)
    ok = n >= min_hours
    units = round_ratio(total, _dens(np.where(ok, n, 1), ex.den), ndigits)
    return np.where(ok, units, 0).astype(np.int64), ok


def daily_means(hourly: FloatArray, min_hours: int = 20) -> FloatArray:
    """Daily mean of hourly values, GB 3095 表4 validity (≥ ``min_hours`` valid hours)::

        x̄ = Σxᵢ / n   over the valid hours of the day

    Parameters
    ----------
    hourly : ndarray of float, shape (…, days, 24)
        Hourly concentrations [µg/m³; CO mg/m³]; NaN is missing.
    min_hours : int, default 20
        Minimum valid hours (GB 3095 表4: 20 for SO2, NO2, CO, PM10, PM2.5).

    Returns
    -------
    ndarray of float, shape (…, days)
        The exact mean's nearest float; NaN where fewer than ``min_hours`` are valid. Round it with
        :func:`~qingshan.standards.rounding.round_half_even`, never with ``round``.
    """
    ex = _exact(hourly)
    total, n = _day_sums(ex)
    ok = n >= min_hours
    return ratio_floats(total, _dens(np.where(ok, n, 1), ex.den), ok)


def _csum(ex: ExactArray) -> tuple[IntArray, IntArray]:
    """Cumulative sums and counts over the last axis with a leading zero."""
    num, valid = ex.widened(ex.num.shape[-1] + 1), ex.valid
    zeros = np.zeros((*num.shape[:-1], 1), dtype=num.dtype)
    csum = np.concatenate([zeros, np.cumsum(num, axis=-1)], axis=-1)
    ccnt = np.concatenate(
        [np.zeros((*num.shape[:-1], 1), dtype=np.int64), np.cumsum(valid, axis=-1)], axis=-1
    )
    return csum, ccnt


def _o3_windows(
    ex: ExactArray, min_hours: int, first_end_hour: int
) -> tuple[IntArray, IntArray, BoolArray]:
    """Sums, counts and validity of the 8-hour windows ending first_end_hour … 24 of each day
    (window ending e: hours e−8 … e−1 of the same day)."""
    csum = np.cumsum(ex.widened(24), axis=-1)
    ccnt = np.cumsum(ex.valid, axis=-1, dtype=np.int16)
    k = 25 - first_end_hour  # number of windows
    hi = slice(first_end_hour - 1, 24)  # cumulative sums up to hour e−1
    before = first_end_hour - 9  # index of hour e−9 for the first window (−1: nothing)
    if before >= 0:
        s = csum[..., hi] - csum[..., before : before + k]
        c = ccnt[..., hi] - ccnt[..., before : before + k]
    else:
        s = csum[..., hi].copy()
        c = ccnt[..., hi].copy()
        s[..., -before:] -= csum[..., : k + before]
        c[..., -before:] -= ccnt[..., : k + before]
    return s, c, c >= min_hours


def o3_8h_window_counts(
    valid: BoolArray, min_hours: int = 6, first_end_hour: int = 8
) -> npt.NDArray[np.intp]:
    """Number of valid O3 8-hour windows per day (GB 3095 表4: ≥ ``min_hours`` valid hours in a
    window), the count HJ 663 §6.1.2 requires 14 of.

    Parameters
    ----------
    valid : ndarray of bool, shape (…, days, 24)
        Which hours have a valid value.
    min_hours : int, default 6
        Minimum valid hours of an 8-hour window.
    first_end_hour : int, default 8
        End hour of the day's first window (08:00: windows ending 08:00 … 24:00, 17 of them).

    Returns
    -------
    ndarray of int, shape (…, days)
    """
    ex = ExactArray(np.zeros(valid.shape, dtype=np.int64), 1, valid, 0)
    _s, _c, ok = _o3_windows(ex, min_hours, first_end_hour)
    counts: npt.NDArray[np.intp] = ok.sum(axis=-1)
    return counts


def o3_8h_day_windows(
    hourly: FloatArray, min_hours: int = 6, first_end_hour: int = 8
) -> FloatArray:
    """O3 8-hour means ending ``first_end_hour``:00 … 24:00 of each day (the window ending
    ``e`` averages hours e−8 … e−1 of the same day).

    Parameters
    ----------
    hourly : ndarray of float, shape (…, days, 24)
        O3 1-hour concentrations [µg/m³]; NaN is missing.
    min_hours : int, default 6
        Minimum valid hours of a window (GB 3095 表4).
    first_end_hour : int, default 8
        End hour of the first window.

    Returns
    -------
    ndarray of float, shape (…, days, 25 − first_end_hour)
        Exact means as nearest floats; NaN for windows with fewer than ``min_hours`` values.
    """
    ex = _exact(hourly)
    s, c, ok = _o3_windows(ex, min_hours, first_end_hour)
    return ratio_floats(s, _dens(np.where(ok, c, 1), ex.den), ok)


def _mda8_units(
    ex: ExactArray, limit: Decimal, min_windows: int, min_hours: int, first_end_hour: int
) -> tuple[npt.NDArray[np.int64], BoolArray]:
    """MDA8 rounded to integers, and its validity (≥ ``min_windows`` valid windows, or any
    valid window above ``limit`` — compared exactly)."""
    s, c, ok = _o3_windows(ex, min_hours, first_end_hour)
    # Window means s / (c·den) over one denominator L·den, L = lcm of the possible counts:
    # the largest mean is then the largest integer s·(L/c), rounded once.
    counts = range(max(min_hours, 1), 9)
    lcm = math.lcm(*counts)
    factor = np.zeros(9, dtype=np.int64)
    for k in counts:
        factor[k] = lcm // k
    scaled = widen(s, lcm) * factor[c]  # 0 for invalid windows (fewer than min_hours)
    top = scaled.max(axis=-1)
    den = lcm * ex.den
    over = exceeds(top, den, limit)
    valid = (ok.sum(axis=-1) >= min_windows) | over
    units = round_ratio(top, den, 0)
    return np.where(valid, units, 0).astype(np.int64), valid


def _nanmax(a: FloatArray, axis: int) -> FloatArray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        out: FloatArray = np.nanmax(a, axis=axis)
    return out


def _moving_sums(ex: ExactArray, window: int) -> tuple[IntArray, IntArray]:
    csum, ccnt = _csum(ex)
    n = ex.num.shape[-1]
    lo = np.maximum(np.arange(1, n + 1) - window, 0)
    hi = np.arange(1, n + 1)
    return csum[..., hi] - csum[..., lo], ccnt[..., hi] - ccnt[..., lo]


def moving_mean(hourly: FloatArray, window: int, min_valid: int) -> FloatArray:
    """Trailing moving mean over the last axis of a continuous hourly series::

        value(t) = mean of the valid values of hours t − window + 1 … t

    O3 8-hour moving mean: ``window=8, min_valid=6`` ("当前小时前8小时", GB 3095 表4); PM 24-hour
    moving mean of the 2012 实时报: ``window=24, min_valid=20``.

    Parameters
    ----------
    hourly : ndarray of float, shape (…, hours)
        Hourly concentrations [µg/m³; CO mg/m³]; NaN is missing.
    window : int
        Window length [h].
    min_valid : int
        Minimum valid hours in the window.

    Returns
    -------
    ndarray of float, shape (…, hours)
        The exact mean's nearest float; NaN with fewer than ``min_valid`` values (also for the
        first window − 1 hours when they lack data). For published values use
        :func:`moving_mean_rounded`.
    """
    ex = _exact(hourly)
    s, c = _moving_sums(ex, window)
    ok = c >= min_valid
    return ratio_floats(s, _dens(np.where(ok, c, 1), ex.den), ok)


def moving_mean_rounded(
    hourly: FloatArray | ExactArray, window: int, min_valid: int, ndigits: int = 0
) -> FloatArray:
    """:func:`moving_mean` rounded once, half-even (GB/T 8170), from the exact mean.

    Parameters
    ----------
    hourly : ndarray of float or ExactArray, shape (…, hours)
        Hourly concentrations [µg/m³; CO mg/m³]; NaN is missing.
    window : int
        Window length [h].
    min_valid : int
        Minimum valid hours in the window.
    ndigits : int, default 0
        Decimals kept.

    Returns
    -------
    ndarray of float
        Each float carries the rounded decimal; NaN where there is no value.
    """
    ex = _exact(hourly)
    s, c = _moving_sums(ex, window)
    ok = c >= min_valid
    units = round_ratio(s, _dens(np.where(ok, c, 1), ex.den), ndigits)
    return ratio_floats(np.asarray(units), 10**ndigits, ok)


def hourly_moving_mean(
    data: HourlyData, pollutant: str, window: int, min_valid: int, ndigits: int = 0
) -> FloatArray:
    """:func:`moving_mean_rounded` over the continuous hourly series of ``data`` (its days
    joined), using its exact values (e.g. a city's exact hourly means).

    Parameters
    ----------
    data : HourlyData
        Hourly data, shape (…, days, 24).
    pollutant : str
        Pollutant (``O3`` for the 8-hour moving mean, ``SO2`` for the 2012 24-hour mean).
    window, min_valid : int
        Window length [h] and minimum valid hours.
    ndigits : int, default 0
        Decimals kept.

    Returns
    -------
    ndarray of float, shape (…, days × 24)
    """
    ex = data.exact_of(pollutant)
    shape = (*ex.shape[:-2], ex.shape[-2] * 24)
    flat = ExactArray(ex.num.reshape(shape), ex.den, ex.valid.reshape(shape), ex.bound)
    return moving_mean_rounded(flat, window, min_valid, ndigits)


def daily_max_8h(
    hourly: FloatArray,
    limit: float | Decimal,
    min_windows: int = 14,
    min_hours: int = 6,
    first_end_hour: int = 8,
) -> FloatArray:
    """O3 daily maximum 8-hour mean (MDA8), HJ 663-2013 §6.1.2: the maximum of the valid
    8-hour means of the day; valid with ≥ ``min_windows`` valid windows, or with fewer when a
    window mean exceeds ``limit`` (compared exactly, full value).

    Parameters
    ----------
    hourly : ndarray of float, shape (…, days, 24)
        O3 1-hour concentrations [µg/m³]; NaN is missing.
    limit : float or Decimal
        The GB 3095 8-hour limit [µg/m³] of the exceedance clause (160 for class II).
    min_windows : int, default 14
        Valid windows needed otherwise.
    min_hours : int, default 6
        Minimum valid hours of a window.
    first_end_hour : int, default 8
        End hour of the first window.

    Returns
    -------
    ndarray of float, shape (…, days)
        Unrounded maxima (nearest floats of the exact maxima); NaN for invalid days.
    """
    ex = _exact(hourly)
    s, c, ok = _o3_windows(ex, min_hours, first_end_hour)
    den = _dens(np.where(ok, c, 1), ex.den)
    means = ratio_floats(s, den, ok)
    over = (exceeds(s, den, to_fraction(limit)) & ok).any(axis=-1)
    valid = (ok.sum(axis=-1) >= min_windows) | over
    # The maximum of correctly rounded floats is the correctly rounded maximum (monotone).
    return np.where(valid, _nanmax(means, axis=-1), np.nan)


def _max1h_units(ex: ExactArray, min_hours: int) -> tuple[npt.NDArray[np.int64], BoolArray]:
    n = ex.valid.sum(axis=-1)
    top = np.where(ex.valid, ex.num, -1).max(axis=-1)
    ok = n >= min_hours
    units = round_ratio(np.where(ok, top, 0), ex.den, 0)
    return np.where(ok, units, 0).astype(np.int64), ok


def daily_max_1h(hourly: FloatArray, min_hours: int = 20) -> FloatArray:
    """O3 daily maximum 1-hour value, valid with ≥ ``min_hours`` valid hours (our choice; the
    HJ 633-2012 daily report's 7th indicator).

    Parameters
    ----------
    hourly : ndarray of float, shape (…, days, 24)
        O3 1-hour concentrations [µg/m³]; NaN is missing.
    min_hours : int, default 20
        Minimum valid hours.

    Returns
    -------
    ndarray of float, shape (…, days)
        NaN for invalid days.
    """
    n = (~np.isnan(hourly)).sum(axis=-1)
    mx = _nanmax(hourly, axis=-1)
    return np.where(n >= min_hours, mx, np.nan)


def _percentile_parts(
    num: IntArray, valid: BoolArray, p: Fraction
) -> tuple[IntArray, int, npt.NDArray[np.intp]]:
    """HJ 663 percentile of ``num`` (last axis) as an exact ratio: (numerator, denominator
    factor, n). The value is numerator / (factor · den) with den the denominator of ``num``."""
    a, b = p.numerator, p.denominator
    scale = 100 * b
    num = widen(num, 2 * scale + 2)
    if num.dtype == object:
        top = max((int(v) for v in num[valid].ravel()), default=0) + 1
        x = np.where(valid, num, top)
    else:
        x = np.where(valid, num, np.iinfo(np.int64).max)
    xs = np.sort(x, axis=-1)
    n = valid.sum(axis=-1)
    t = np.maximum(n - 1, 0) * a
    s = 1 + t // scale  # 1-based rank of X(s): k = 1 + (n − 1)·p/100, s = ⌊k⌋
    frac = t % scale  # (k − s)·100·b, exactly
    last = xs.shape[-1] - 1
    lo_i = np.clip(s - 1, 0, last)
    hi_i = np.clip(np.minimum(s, n - 1), 0, last)
    lo = np.take_along_axis(xs, lo_i[..., None], axis=-1)[..., 0]
    hi = np.take_along_axis(xs, hi_i[..., None], axis=-1)[..., 0]
    has = n > 0
    lo = np.where(has, lo, 0)
    hi = np.where(has, hi, 0)
    if num.dtype == object:
        lo, hi, frac = lo.astype(object), hi.astype(object), frac.astype(object)
    return lo * scale + (hi - lo) * frac, scale, n


def hj663_percentile(values: FloatArray, p: float | int | Decimal) -> FloatArray:
    """Percentile after the HJ 663 appendix, over the last axis, ignoring NaN::

        X(1) ≤ … ≤ X(n);  k = 1 + (n − 1)·p/100;  s = ⌊k⌋
        P = X(s) + (X(s+1) − X(s))·(k − s)

    with ``k − s = ((n − 1)·p mod 100)/100`` and the interpolation computed exactly (equals numpy's
    "linear" method on exact values).

    Parameters
    ----------
    values : ndarray of float, shape (…, n)
        Daily values [µg/m³; CO mg/m³]; NaN is missing.
    p : float, int or Decimal
        Percentile, 0–100 (98 SO2/NO2, 95 PM10/PM2.5/CO, 90 O3 MDA8).

    Returns
    -------
    ndarray of float, shape (…)
        The exact percentile's nearest float; NaN when no value is valid.
    """
    ex = _exact(values)
    top, scale, n = _percentile_parts(ex.num, ex.valid, to_fraction(p))
    return ratio_floats(top, scale * ex.den, n > 0)


def _percentile_units(
    units: npt.NDArray[np.int64], valid: BoolArray, p: int
) -> tuple[npt.NDArray[np.int64], BoolArray]:
    """Percentile of rounded daily values (integer units), rounded half-even to units."""
    top, scale, n = _percentile_parts(units, valid, Fraction(p))
    has = n > 0
    out = round_ratio(top, scale, 0)
    return np.where(has, out, 0).astype(np.int64), has


def city_hourly(stations: Sequence[HourlyData]) -> HourlyData:
    """City hourly series: each hour the arithmetic mean of the valid station values (HJ 663:
    a city's concentration is the mean of its evaluation stations; the hourly level is our choice).

    The means are exact, over a common denominator (the least common multiple of the station
    counts that occur), so the city's daily means and percentiles stay exact.

    Parameters
    ----------
    stations : sequence of HourlyData
        The evaluation stations, shape (days, 24), same start and length.

    Returns
    -------
    HourlyData
        The city's hourly series (floats are the exact means' nearest floats; ``exact`` holds them).

    Raises
    ------
    EvaluationError
        For no station or stations covering different days.
    """
    if not stations:
        raise EvaluationError("a city needs at least one station")
    start, n = stations[0].start, stations[0].n_days
    for st in stations:
        if st.start != start or st.n_days != n:
            raise EvaluationError("city stations must cover the same days")
    values: dict[str, FloatArray] = {}
    exact: dict[str, ExactArray] = {}
    for p in POLLUTANTS:
        stacked = _stack_exact([st.exact_of(p) for st in stations])
        num = widen(stacked.num, len(stations) + 1)
        total = num.sum(axis=0)
        count = stacked.valid.sum(axis=0)
        ok = count > 0
        lcm = 1
        for c in np.unique(count[ok]).tolist():
            lcm = math.lcm(lcm, int(c))
        cnt = np.where(ok, count, 1)
        total = widen(total, lcm)
        if total.dtype == object or lcm >= 2**62:
            total = total.astype(object)
            factor: IntArray = np.where(ok, lcm // cnt.astype(object), 0)
        else:
            factor = np.where(ok, lcm // cnt, 0)
        city = ExactArray(total * factor, stacked.den * lcm, ok)
        exact[p] = city
        values[p] = city.to_floats()
    return HourlyData(start, values, exact)


# --------------------------------------------------------------------------------------------
# Results


@dataclass(frozen=True, slots=True)
class PollutantStatistic:
    pollutant: str
    statistic: str  # mean | p98 | p95 | p90
    name: str  # Chinese name of the statistic
    value: Decimal | None  # rounded; None without valid days
    limit: Decimal
    valid_days: int
    attained: bool | None  # None: no value, or the period fails GB 3095 表4 (数据不足)
    exceedance_multiple: Decimal | None  # (C − S)/S when C > S


@dataclass(frozen=True, slots=True)
class DailyExceedance:
    """超标天数 and 达标率 of one daily indicator over the period (HJ 663 reporting)."""

    indicator: str  # SO2, NO2, CO, PM10, PM2_5, O3_8H, O3_1H
    name: str  # e.g. PM₂.₅ 日平均
    limit: Decimal  # GB 3095 24-hour limit (O3: 8-hour / 1-hour limit)
    valid_days: int  # days with a valid daily value
    exceedance_days: int  # days whose rounded daily value is above the limit
    compliance_rate: Decimal | None  # (valid − exceedance) / valid × 100 %, 1 decimal


@dataclass(slots=True)
class StationEvaluation:
    standard: str
    limits_standard: str
    limits_phase: str
    air_class: int
    start: date
    end: date
    statistics: list[PollutantStatistic]
    pollutant_attained: dict[str, bool | None]
    attained: bool | None
    period_kind: str | None  # "year" / "month" for one calendar year / month, else None
    complete: bool | None  # data validity of a calendar year or month; None otherwise
    incomplete_reasons: dict[str, list[str]]  # pollutant → why the period is incomplete
    valid_days: int
    good_days: int
    good_day_ratio: Decimal | None  # percent, 1 decimal
    heavy_pollution_days: int
    dust_days_excluded: int
    composite_index: Decimal | None
    single_indices: dict[str, Decimal]
    primary_pollutants: list[str]
    primary_pollutant_days: dict[str, int]
    days: list[dict[str, Any]] = field(default_factory=list)
    daily_exceedances: dict[str, DailyExceedance] = field(default_factory=dict)
    # Why there is no verdict (数据不足 …), in words; None when ``attained`` is a verdict.
    verdict_reason: str | None = None
    pollutant_reasons: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        def num(x: Decimal | None) -> float | int | None:
            if x is None:
                return None
            return int(x) if x.as_tuple().exponent == 0 else float(x)

        return {
            "standard": self.standard,
            "limits": {
                "standard": self.limits_standard,
                "phase": self.limits_phase,
                "class": self.air_class,
            },
            "period": {
                "start": self.start.isoformat(),
                "end": self.end.isoformat(),
                "kind": self.period_kind,
            },
            "days": self.days,
            "pollutants": {
                p: {
                    "attained": self.pollutant_attained.get(p),
                    "verdict_reason": self.pollutant_reasons.get(p),
                    "statistics": [
                        {
                            "statistic": s.statistic,
                            "name": s.name,
                            "value": num(s.value),
                            "limit": num(s.limit),
                            "valid_days": s.valid_days,
                            "attained": s.attained,
                            "exceedance_multiple": num(s.exceedance_multiple),
                        }
                        for s in self.statistics
                        if s.pollutant == p
                    ],
                }
                for p in POLLUTANTS
            },
            "attained": self.attained,
            "verdict": _verdict_word(self.attained),
            "verdict_reason": self.verdict_reason,
            "complete": self.complete,
            "incomplete_reasons": self.incomplete_reasons,
            "valid_days": self.valid_days,
            "good_days": self.good_days,
            "good_day_ratio": num(self.good_day_ratio),
            "exceedance_days": {
                k: {
                    "name": e.name,
                    "limit": num(e.limit),
                    "valid_days": e.valid_days,
                    "exceedance_days": e.exceedance_days,
                    "compliance_rate": num(e.compliance_rate),
                }
                for k, e in self.daily_exceedances.items()
            },
            "heavy_pollution_days": self.heavy_pollution_days,
            "dust_days_excluded": self.dust_days_excluded,
            "composite_index": num(self.composite_index),
            "single_indices": {k: float(v) for k, v in self.single_indices.items()},
            "primary_pollutants": self.primary_pollutants,
            "primary_pollutant_days": self.primary_pollutant_days,
        }


def _verdict_word(attained: bool | None) -> str:
    return {True: "达标", False: "未达标", None: "数据不足"}[attained]


# --------------------------------------------------------------------------------------------
# Evaluation


def _resolve(standard: str, start: date, end: date) -> EvaluationRules:
    # auto: the edition in force at the end of the period (see module doc / hj663.md).
    return evaluation_rules(resolve("HJ663", standard, end).id)


Daily = dict[str, tuple[npt.NDArray[np.int64], BoolArray]]


def _daily_values(data: HourlyData, rules: EvaluationRules, limits: LimitSet) -> Daily:
    """Rounded daily values in units of the reported precision (CO: tenths) and validity."""
    v = limits.validity
    out: Daily = {}
    for p in ("SO2", "NO2", "CO", "PM10", "PM2_5"):
        out[p] = _daily_mean_units(data.exact_of(p), v.daily_min_hours, _decimals(p))
    o3 = data.exact_of("O3")
    out["O3_8H"] = _mda8_units(
        o3,
        limits.get("O3", "max8h"),
        rules.mda8_min_windows,
        v.o3_8h_min_hours,
        rules.mda8_first_window_end_hour,
    )
    out["O3_1H"] = _max1h_units(o3, v.daily_min_hours)
    return out


def _as_floats(units: npt.NDArray[np.int64], valid: BoolArray, series: str) -> FloatArray:
    """Rounded daily values as floats carrying their decimals (NaN = invalid)."""
    scale = 10 ** _decimals(series)
    return np.where(valid, units / scale, np.nan)


def _aqi_versions(standard: str, rules: EvaluationRules, dates: list[date]) -> list[str]:
    if standard == AUTO:
        return [resolve("HJ633", AUTO, d).id for d in dates]
    return [rules.aqi] * len(dates)


def _daily_aqi(
    daily: dict[str, FloatArray], versions: list[str]
) -> tuple[FloatArray, npt.NDArray[np.uint8]]:
    shape = daily["SO2"].shape
    aqi = np.full(shape, np.nan)
    primary = np.zeros(shape, dtype=np.uint8)
    ver = np.array(versions)
    for v in sorted(set(versions)):
        m = ver == v
        sub = {k: a[..., m] for k, a in daily.items()}
        b = daily_aqi_array(
            v,
            so2=sub["SO2"],
            no2=sub["NO2"],
            co=sub["CO"],
            o3_8h=sub["O3_8H"],
            pm10=sub["PM10"],
            pm2_5=sub["PM2_5"],
            o3_1h=sub["O3_1H"],
            missing="na_rule",
        )
        aqi[..., m] = b.aqi
        primary[..., m] = b.primary_mask
    return aqi, primary


def _period_kind(start: date, end: date) -> str | None:
    if start.month == 1 and start.day == 1 and end == date(start.year, 12, 31):
        return "year"
    last = calendar.monthrange(start.year, start.month)[1]
    if start.day == 1 and end == date(start.year, start.month, last):
        return "month"
    return None


def _validity_short(
    valid: BoolArray, dates: list[date], v: Any, kind: str
) -> list[tuple[list[str], list[str]]]:
    """GB 3095 表4 for each station (rows of ``valid``): a year needs ≥ 324 valid days and
    ≥ 27 in each month (February ≥ 25); a month alone is held to the same monthly minimum (our
    reading for monthly statistics). Per station: the reasons (English, as stored) and the same
    in words for people; empty lists when complete."""
    n = valid.sum(axis=-1).tolist()
    out: list[tuple[list[str], list[str]]] = [([], []) for _ in n]
    if kind == "month":
        need = v.february_min_days if dates[0].month == 2 else v.monthly_min_days
        for i, got in enumerate(n):
            if got < need:
                out[i] = ([f"{got} valid days < {need}"], [f"有效日数据 {got} 天，少于 {need} 天"])
        return out
    for i, got in enumerate(n):
        if got < v.annual_min_days:
            out[i][0].append(f"{got} valid days < {v.annual_min_days}")
            out[i][1].append(f"全年有效日数据 {got} 天，少于 {v.annual_min_days} 天")
    months = np.array([d.month for d in dates])
    for m in range(1, 13):
        need = v.february_min_days if m == 2 else v.monthly_min_days
        per = valid[:, months == m].sum(axis=-1).tolist()
        for i, got in enumerate(per):
            if got < need:
                out[i][0].append(f"month {m}: {got} valid days < {need}")
                out[i][1].append(f"{m}月有效日数据 {got} 天，少于 {need} 天")
    return out


def _statistic_value(units: int, series: str) -> Decimal:
    return Decimal(units).scaleb(-_decimals(series))


def exceedance_multiple(value: Decimal, limit: Decimal) -> Decimal | None:
    """超标倍数 ``(C − S) / S`` (HJ 663), exact, rounded half-even to 2 decimals.

    Parameters
    ----------
    value : Decimal
        The statistic C as published [µg/m³; CO mg/m³].
    limit : Decimal
        The GB 3095 limit S in the same unit.

    Returns
    -------
    Decimal or None
        The multiple; ``None`` when C ≤ S.
    """
    if value <= limit:
        return None
    return round_half_even((Fraction(value) - Fraction(limit)) / Fraction(limit), 2)


def composite_index(
    values: Mapping[str, Decimal | None], rules: EvaluationRules | str, limits: LimitSet
) -> tuple[Decimal | None, dict[str, Decimal]]:
    """综合指数 (城市环境空气质量排名技术规定, via secondary sources)::

        I = Σ wᵢ · Cᵢ / Sᵢ   over SO2, NO2, PM10, PM2.5 (period means), CO (P95), O3 (MDA8 P90)

    The single indices ``Iᵢ = Cᵢ / Sᵢ`` and the sum (of the exact ``Iᵢ``) are rounded once,
    half-even, to 2 decimals. Example (婺源县 2023-09, published 2.63): SO2 11, NO2 16, PM10 40,
    PM2.5 16, CO 0.6, O3 139 → 11/60 + 16/40 + 40/70 + 16/35 + 0.6/4 + 139/160 = 2.63.

    Parameters
    ----------
    values : mapping of str to Decimal or None
        The six statistics as published [µg/m³; CO mg/m³].
    rules : EvaluationRules or str
        HJ 663 edition (weights wᵢ and which statistic of each pollutant).
    limits : LimitSet
        Class-II limits Sᵢ: annual for the means, 24-hour for CO, 8-hour for O3.

    Returns
    -------
    tuple of (Decimal or None, dict of str to Decimal)
        The index (``None`` when a value is missing) and the single indices.
    """
    r = evaluation_rules(rules) if isinstance(rules, str) else rules
    single: dict[str, Decimal] = {}
    total = Fraction(0)
    complete = True
    for pol, w in r.composite_weights.items():
        value = values.get(pol)
        if value is None:
            complete = False
            continue
        _series, period = _STAT_SOURCE[(pol, r.composite_statistic[pol])]
        idx = to_fraction(value) / to_fraction(limits.get(pol, period))
        single[pol] = round_half_even(idx, 2)
        total += to_fraction(w) * idx
    return (round_half_even(total, 2) if complete and single else None), single


def good_day_ratio(good_days: int, valid_days: int) -> Decimal | None:
    """优良天数比率 = 优良天数 / 有效天数 × 100 %, exact, rounded half-even to 0.1.

    Example (婺源县 2023-09, published 93.1 %): 27 / 29.

    Parameters
    ----------
    good_days : int
        Valid days with AQI ≤ 100.
    valid_days : int
        AQI-valid days (有效天).

    Returns
    -------
    Decimal or None
        The ratio [%]; ``None`` without valid days.
    """
    if valid_days <= 0:
        return None
    return round_half_even(Fraction(good_days * 100, valid_days), 1)


def _daily_exceedances(kept: Daily, limits: LimitSet) -> list[dict[str, DailyExceedance]]:
    """超标天数 and 达标率 of every daily indicator, per station."""
    n_st = kept["SO2"][0].shape[0]
    out: list[dict[str, DailyExceedance]] = [{} for _ in range(n_st)]
    for series, (pol, period) in _DAILY_LIMIT.items():
        try:
            lim = limits.get(pol, period)
        except KeyError:
            continue
        units, ok = kept[series]
        scaled_limit = Fraction(lim) * 10 ** _decimals(series)
        n = ok.sum(axis=-1).tolist()
        over = (ok & exceeds(units, 1, scaled_limit)).sum(axis=-1).tolist()
        for i in range(n_st):
            rate = round_half_even(Fraction((n[i] - over[i]) * 100, n[i]), 1) if n[i] else None
            out[i][series] = DailyExceedance(series, _DAILY_NAMES[series], lim, n[i], over[i], rate)
    return out


def evaluate_many(
    data: HourlyData,
    standard: str = AUTO,
    *,
    air_class: int = 2,
    phase: str | None = None,
    dust_days: Iterable[date] = (),
    dust_scope: DustScope = "all",
    include_days: bool = True,
) -> list[StationEvaluation]:
    """Evaluate every station over its whole period (HJ 663 with GB 3095 limits), exactly.

    Daily values (24-hour means, O3 MDA8 and daily max 1-hour, rounded once), the daily AQI,
    AQI-valid, good and heavy-pollution days, the period statistics (means, P98/P95/P90) against
    the limits (no verdict where a calendar month or year fails GB 3095 表4), exceedance multiples,
    超标天数 and 达标率 per daily indicator, the composite index and primary pollutants.

    Parameters
    ----------
    data : HourlyData
        Hourly concentrations [µg/m³; CO mg/m³], shape (…, days, 24); leading axes are stations,
        flattened in C order (one result per station).
    standard : str, default "auto"
        ``HJ663-2013``, ``HJ663-2026`` or ``auto`` (edition in force at the end of the period for
        the method and limits; each day's AQI under the HJ 633 edition in force that day).
    air_class : {1, 2}, default 2
        GB 3095 class of the area.
    phase : str, optional
        GB 3095-2026 phase (过渡阶段 / 最终阶段); default by date.
    dust_days : iterable of date
        Dust-storm days (扣沙) to deduct.
    dust_scope : {"all", "concentrations", "days"}, default "all"
        What they are deducted from: every day-based statistic (as 昌吉市 reports its
        ratio); only PM10/PM2.5 and hence the composite index (the national monthly reports:
        "PM10、PM2.5浓度、综合质量指数扣除沙尘天气影响；优良天数比率、重度及以上天数比例保留沙尘");
        or only the day counts.
    include_days : bool, default True
        Include the per-day rows.

    Returns
    -------
    list of StationEvaluation

    Raises
    ------
    EvaluationError
        For a bad ``dust_scope``.
    """
    dates = data.dates
    start, end = dates[0], dates[-1]
    rules = _resolve(standard, start, end)
    limits = limit_set(rules.limits, end, air_class, phase)
    composite_limits = limit_set(rules.limits, end, 2, phase)
    nd = len(dates)
    daily = {
        k: (u.reshape(-1, nd), ok.reshape(-1, nd))
        for k, (u, ok) in _daily_values(data, rules, limits).items()
    }
    n_st = daily["SO2"][0].shape[0]

    if dust_scope not in ("all", "concentrations", "days"):
        raise EvaluationError(
            f"dust_scope must be 'all', 'concentrations' or 'days', not {dust_scope!r}"
        )
    dust = set(dust_days)
    keep = np.array([d not in dust for d in dates])
    n_dust = int((~keep).sum())
    everything = np.ones(nd, dtype=np.bool_)
    day_keep = keep if dust_scope in ("all", "days") else everything

    def conc_keep(series: str) -> BoolArray:
        if dust_scope == "all" or (dust_scope == "concentrations" and series in _DUST_PM):
            return keep
        return everything

    kept: Daily = {k: (u[:, conc_keep(k)], ok[:, conc_keep(k)]) for k, (u, ok) in daily.items()}

    versions = _aqi_versions(standard, rules, dates)
    floats = {k: _as_floats(u, ok, k) for k, (u, ok) in daily.items()}
    aqi, primary = _daily_aqi(floats, versions)
    aqi_k, primary_k = aqi[:, day_keep], primary[:, day_keep]
    valid_aqi = ~np.isnan(aqi_k)
    n_valid = valid_aqi.sum(axis=-1)
    with np.errstate(invalid="ignore"):
        n_good = (valid_aqi & (aqi_k <= 100)).sum(axis=-1)
        n_heavy = (valid_aqi & (aqi_k > 200)).sum(axis=-1)

    kind = _period_kind(start, end)

    # Period statistics, vectorised over stations, in units of the reported precision.
    stats: dict[tuple[str, str], tuple[npt.NDArray[np.int64], BoolArray]] = {}
    counts: dict[str, npt.NDArray[np.intp]] = {}
    for (pol, stat), (series, _period) in _STAT_SOURCE.items():
        if stat not in rules.items.get(pol, ()):
            continue
        units, has_day = kept[series]
        n = has_day.sum(axis=-1)
        counts[series] = n
        if stat == "mean":
            total = np.where(has_day, units, 0).sum(axis=-1)
            mean = round_ratio(total, np.maximum(n, 1), 0)
            stats[(pol, stat)] = (np.asarray(mean, dtype=np.int64), n > 0)
        else:
            stats[(pol, stat)] = _percentile_units(units, has_day, int(stat[1:]))

    # GB 3095 表4 per pollutant, judged on the data before any dust-day deduction.
    validity: dict[str, list[tuple[list[str], list[str]]]] = {}
    if kind is not None:
        for pol, stat in stats:
            series = _STAT_SOURCE[(pol, stat)][0]
            if pol not in validity:
                validity[pol] = _validity_short(daily[series][1], dates, limits.validity, kind)
    exceed = _daily_exceedances(kept, limits)
    # Days each label was a daily primary pollutant (bit counts of the primary masks).
    pdays_all = {lab: ((primary_k & (1 << b)) != 0).sum(axis=-1) for b, lab in enumerate(LABELS)}

    results: list[StationEvaluation] = []
    for i in range(n_st):
        short: dict[str, list[str]] = {}
        short_words: dict[str, list[str]] = {}
        for pol, per_station in validity.items():
            reasons, words = per_station[i]
            if reasons:
                short[pol], short_words[pol] = reasons, words
        st_stats: list[PollutantStatistic] = []
        pol_ok: dict[str, bool | None] = {}
        for (pol, stat), (stat_units, has) in stats.items():
            series, period = _STAT_SOURCE[(pol, stat)]
            value = _statistic_value(int(stat_units[i]), series) if has[i] else None
            lim = limits.get(pol, period)
            ok: bool | None = None
            if value is not None and pol not in short:
                ok = bool(value <= lim)
            mult = None if value is None else exceedance_multiple(value, lim)
            st_stats.append(
                PollutantStatistic(
                    pol, stat, _STAT_NAMES[stat], value, lim, int(counts[series][i]), ok, mult
                )
            )
            prev = pol_ok.get(pol, True)
            pol_ok[pol] = None if (ok is None or prev is None) else (prev and ok)
        overall: bool | None = None
        if pol_ok and all(v is not None for v in pol_ok.values()):
            overall = all(bool(v) for v in pol_ok.values())
        pol_reasons: dict[str, str] = {}
        for pol, v in pol_ok.items():
            if v is not None:
                continue
            if pol in short_words:
                pol_reasons[pol] = "数据不足：" + "；".join(short_words[pol])
            else:
                pol_reasons[pol] = "数据不足：无有效日数据"
        verdict_reason = None
        if overall is None:
            verdict_reason = (
                "；".join(f"{_POL_NAMES[p]} {r}" for p, r in pol_reasons.items())
                if pol_reasons
                else "数据不足：无评价项目"
            )

        values = {
            pol: next(
                (
                    x.value
                    for x in st_stats
                    if x.pollutant == pol and x.statistic == rules.composite_statistic[pol]
                ),
                None,
            )
            for pol in rules.composite_weights
        }
        composite, single = composite_index(values, rules, composite_limits)
        prim: list[str] = []
        if single:
            top = max(single.values())
            prim = [p for p, v in single.items() if v == top]

        pdays = {lab: int(v[i]) for lab, v in pdays_all.items()}
        nv, ng = int(n_valid[i]), int(n_good[i])
        ratio = good_day_ratio(ng, nv)

        days: list[dict[str, Any]] = []
        if include_days:
            days = _day_rows(dates, daily, aqi[i], primary[i], i, dust, versions)
        results.append(
            StationEvaluation(
                standard=rules.id,
                limits_standard=limits.standard,
                limits_phase=limits.phase,
                air_class=air_class,
                start=start,
                end=end,
                statistics=st_stats,
                pollutant_attained=pol_ok,
                attained=overall,
                period_kind=kind,
                complete=(not short) if kind is not None else None,
                incomplete_reasons=short,
                valid_days=nv,
                good_days=ng,
                good_day_ratio=ratio,
                heavy_pollution_days=int(n_heavy[i]),
                dust_days_excluded=n_dust,
                composite_index=composite,
                single_indices=single,
                primary_pollutants=prim,
                primary_pollutant_days={k: v for k, v in pdays.items() if v},
                days=days,
                daily_exceedances=exceed[i],
                verdict_reason=verdict_reason,
                pollutant_reasons=pol_reasons,
            )
        )
    return results


def _day_rows(
    dates: list[date],
    daily: Daily,
    aqi: FloatArray,
    primary: npt.NDArray[np.uint8],
    i: int,
    dust: set[date],
    versions: list[str],
) -> list[dict[str, Any]]:
    cols: dict[str, tuple[list[int], list[bool]]] = {
        k: (daily[k][0][i].tolist(), daily[k][1][i].tolist()) for k in _SERIES
    }
    aqis = aqi.tolist()
    prims = primary.tolist()
    rows: list[dict[str, Any]] = []
    for j, d in enumerate(dates):
        vals: dict[str, float | int | None] = {}
        for k in _SERIES:
            units, ok = cols[k][0][j], cols[k][1][j]
            if not ok:
                vals[k] = None
            elif k == "CO":
                vals[k] = float(_statistic_value(units, k))
            else:
                vals[k] = units
        a = aqis[j]
        has = a == a  # not NaN
        row: dict[str, Any] = {
            "date": d.isoformat(),
            "aqi_standard": versions[j],
            "values": vals,
            "valid": {k: v is not None for k, v in vals.items()},
            "aqi": int(a) if has else None,
            "level": None,
            "category": None,
            "primary_pollutants": list(decode_mask(int(prims[j]))),
            "dust": d in dust,
        }
        if has:
            cat = aqi_table(versions[j]).category_of(int(a))
            row["level"], row["category"] = cat.level, cat.category
        rows.append(row)
    return rows


def evaluate(
    data: HourlyData,
    standard: str = AUTO,
    *,
    air_class: int = 2,
    phase: str | None = None,
    dust_days: Iterable[date] = (),
    dust_scope: DustScope = "all",
    include_days: bool = True,
) -> StationEvaluation:
    """Evaluate one station (or one city series, see :func:`city_hourly`): :func:`evaluate_many`
    of a (days, 24) series.

    Parameters
    ----------
    data : HourlyData
        Shape (days, 24).
    standard, air_class, phase, dust_days, dust_scope, include_days
        As for :func:`evaluate_many`.

    Returns
    -------
    StationEvaluation

    Raises
    ------
    EvaluationError
        For data with leading station axes.
    """
    if next(iter(data.values.values())).ndim != 2:
        raise EvaluationError("evaluate() takes one station (days, 24); use evaluate_many()")
    return evaluate_many(
        data,
        standard,
        air_class=air_class,
        phase=phase,
        dust_days=dust_days,
        dust_scope=dust_scope,
        include_days=include_days,
    )[0]


@dataclass(frozen=True, slots=True)
class RegionSummary:
    """Region level: arithmetic means over its cities."""

    cities: int
    statistics: dict[tuple[str, str], Decimal | None]
    good_day_ratio: Decimal | None
    cities_attained: int


def evaluate_region(cities: Sequence[StationEvaluation]) -> RegionSummary:
    """Region level (national-report style): the arithmetic mean of the city statistics and of
    the city good-day ratios, exact, rounded half-even to the statistics' precision (integers, CO
    0.1; ratio 0.1 %).

    Parameters
    ----------
    cities : sequence of StationEvaluation
        One evaluation per city, same period and edition.

    Returns
    -------
    RegionSummary
        Mean statistics (``None`` where a city has none), mean good-day ratio, cities attained.

    Raises
    ------
    EvaluationError
        For no city.
    """
    if not cities:
        raise EvaluationError("a region needs at least one city")
    stats: dict[tuple[str, str], Decimal | None] = {}
    for s in cities[0].statistics:
        vals = [
            x.value
            for c in cities
            for x in c.statistics
            if x.pollutant == s.pollutant and x.statistic == s.statistic
        ]
        if any(v is None for v in vals):
            stats[(s.pollutant, s.statistic)] = None
        else:
            mean = sum((Fraction(v) for v in vals if v is not None), Fraction(0)) / len(vals)
            stats[(s.pollutant, s.statistic)] = round_half_even(mean, _decimals(s.pollutant))
    ratios = [c.good_day_ratio for c in cities]
    ratio = None
    if all(r is not None for r in ratios):
        total = sum((Fraction(r) for r in ratios if r is not None), Fraction(0))
        ratio = round_half_even(total / len(ratios), 1)
    return RegionSummary(
        cities=len(cities),
        statistics=stats,
        good_day_ratio=ratio,
        cities_attained=sum(1 for c in cities if c.attained),
    )
