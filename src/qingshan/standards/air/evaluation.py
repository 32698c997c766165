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
* Daily values are rounded half-to-even (integers, CO 0.1 mg/m³) before any statistic, as the
  published daily values are; annual statistics are rounded the same way before comparison.
* Daily AQI: HJ 633 daily report from those values; a day is an AQI-valid day (有效天) when all
  indicators are valid, or when the AQI of the valid ones exceeds 100 (HJ 633-2026 §5.3.1 —
  the day is then certainly not 优良).
* Period statistics: mean of valid daily values; percentile per the HJ 663 appendix
  (k = 1 + (n − 1)·p/100, s = ⌊k⌋, X(s) + (X(s+1) − X(s))·(k − s) on the sorted values);
  P98 SO2/NO2, P95 PM10/PM2.5/CO, P90 O3 MDA8. Annual validity: ≥ 324 valid days and ≥ 27 in
  every month (February ≥ 25).
* Attainment: every statistic ≤ its GB 3095 limit (annual mean ↔ annual limit, percentile of
  daily values ↔ 24-hour/daily limit, O3 P90 ↔ 8-hour limit). Exceedance multiple (C − S)/S.
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
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from qingshan.standards.air.aqi import (
    LABELS,
    daily_aqi_array,
    decode_mask,
    round_concentration_array,
)
from qingshan.standards.air.tables import (
    POLLUTANTS,
    EvaluationRules,
    LimitSet,
    aqi_table,
    evaluation_rules,
    limit_set,
)
from qingshan.standards.rounding import round_half_even
from qingshan.standards.versions import AUTO, resolve

__all__ = [
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
    "good_day_ratio",
    "hj663_percentile",
    "moving_mean",
    "o3_8h_day_windows",
]

FloatArray = npt.NDArray[np.float64]
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


class EvaluationError(ValueError):
    """Input that cannot be evaluated (bad shape, negative values, no data)."""


# --------------------------------------------------------------------------------------------
# Input


@dataclass(frozen=True, slots=True)
class HourlyData:
    """Hourly concentrations on a day × 24 grid: ``values[p]`` has shape (…, days, 24), NaN =
    missing; leading axes are stations. Column h of day D is the hour D h:00–(h+1):00."""

    start: date
    values: dict[str, FloatArray]

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
        v = self.values.get(pollutant)
        if v is None:
            shape = next(iter(self.values.values())).shape
            return np.full(shape, np.nan)
        return v

    @classmethod
    def from_records(
        cls,
        records: Iterable[tuple[datetime, Mapping[str, float | None]]],
        hour_label: HourLabel = "end",
    ) -> HourlyData:
        """Build the grid from (time, {pollutant: value}) records of one station.

        With ``hour_label="end"`` a record at 2025-01-02 00:00 is the last hour of 2025-01-01.
        Duplicate hours are an error.
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


# --------------------------------------------------------------------------------------------
# Daily statistics (vectorised over leading axes)


def daily_means(hourly: FloatArray, min_hours: int = 20) -> FloatArray:
    """Daily mean of (…, days, 24) hourly values; NaN where fewer than ``min_hours`` valid."""
    valid = ~np.isnan(hourly)
    n = valid.sum(axis=-1)
    total = np.where(valid, hourly, 0.0).sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        out: FloatArray = total / n
    out[n < min_hours] = np.nan
    return out


def o3_8h_day_windows(
    hourly: FloatArray, min_hours: int = 6, first_end_hour: int = 8
) -> FloatArray:
    """O3 8-hour means ending ``first_end_hour``:00 … 24:00 of each day: shape (…, days, k),
    k = 25 − first_end_hour (17 for 08:00). NaN where fewer than ``min_hours`` valid hours."""
    valid = ~np.isnan(hourly)
    vals = np.where(valid, hourly, 0.0)
    zeros = np.zeros((*hourly.shape[:-1], 1))
    csum = np.concatenate([zeros, np.cumsum(vals, axis=-1)], axis=-1)
    ccnt = np.concatenate([zeros, np.cumsum(valid, axis=-1)], axis=-1)
    ends = np.arange(first_end_hour, 25)
    s = csum[..., ends] - csum[..., ends - 8]
    c = ccnt[..., ends] - ccnt[..., ends - 8]
    with np.errstate(invalid="ignore", divide="ignore"):
        out: FloatArray = s / c
    out[c < min_hours] = np.nan
    return out


def _nanmax(a: FloatArray, axis: int) -> FloatArray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        out: FloatArray = np.nanmax(a, axis=axis)
    return out


def moving_mean(hourly: FloatArray, window: int, min_valid: int) -> FloatArray:
    """Trailing moving mean over the last axis of a continuous hourly series: the value at hour
    t is the mean of the valid values of hours t−window+1 … t, NaN with fewer than
    ``min_valid`` of them (and for the first window−1 hours when they lack data).

    O3 8-hour moving mean: ``window=8, min_valid=6`` ("当前小时前8小时", GB 3095 表4); PM 24-hour
    moving mean of the 2012 实时报: ``window=24, min_valid=20``.
    """
    valid = ~np.isnan(hourly)
    vals = np.where(valid, hourly, 0.0)
    zeros = np.zeros((*hourly.shape[:-1], 1))
    csum = np.concatenate([zeros, np.cumsum(vals, axis=-1)], axis=-1)
    ccnt = np.concatenate([zeros, np.cumsum(valid, axis=-1)], axis=-1)
    n = hourly.shape[-1]
    lo = np.maximum(np.arange(1, n + 1) - window, 0)
    hi = np.arange(1, n + 1)
    s = csum[..., hi] - csum[..., lo]
    c = ccnt[..., hi] - ccnt[..., lo]
    with np.errstate(invalid="ignore", divide="ignore"):
        out: FloatArray = s / c
    out[c < min_valid] = np.nan
    return out


def daily_max_8h(
    hourly: FloatArray,
    limit: float,
    min_windows: int = 14,
    min_hours: int = 6,
    first_end_hour: int = 8,
) -> FloatArray:
    """O3 daily maximum 8-hour mean (HJ 663 §6.1.2): valid with ≥ ``min_windows`` valid 8-h
    means, or with fewer when the maximum exceeds ``limit`` (the 8-hour limit)."""
    w = o3_8h_day_windows(hourly, min_hours, first_end_hour)
    n = (~np.isnan(w)).sum(axis=-1)
    mx = _nanmax(w, axis=-1)
    with np.errstate(invalid="ignore"):
        ok = (n >= min_windows) | (mx > limit)
    return np.where(ok, mx, np.nan)


def daily_max_1h(hourly: FloatArray, min_hours: int = 20) -> FloatArray:
    """O3 daily maximum 1-hour value, valid with ≥ ``min_hours`` valid hours (our choice)."""
    n = (~np.isnan(hourly)).sum(axis=-1)
    mx = _nanmax(hourly, axis=-1)
    return np.where(n >= min_hours, mx, np.nan)


def hj663_percentile(values: FloatArray, p: float) -> FloatArray:
    """HJ 663 appendix percentile over the last axis, ignoring NaN.

    Sorted ascending X(1) … X(n): k = 1 + (n − 1)·p/100, s = ⌊k⌋,
    P = X(s) + (X(s+1) − X(s))·(k − s); NaN when n = 0. (Equals numpy's "linear" method.)
    """
    x = np.sort(values, axis=-1)  # NaN sort last
    n = (~np.isnan(x)).sum(axis=-1)
    k = 1 + (n - 1) * (p / 100.0)
    s = np.floor(k).astype(np.intp)
    lo_i = np.clip(s - 1, 0, x.shape[-1] - 1)
    hi_i = np.clip(np.minimum(s, n - 1), 0, x.shape[-1] - 1)
    lo = np.take_along_axis(x, lo_i[..., None], axis=-1)[..., 0]
    hi = np.take_along_axis(x, hi_i[..., None], axis=-1)[..., 0]
    out = lo + (hi - lo) * (k - s)
    return np.where(n > 0, out, np.nan)


def city_hourly(stations: Sequence[HourlyData]) -> HourlyData:
    """City hourly series: each hour the mean of the valid station values (same start/length)."""
    if not stations:
        raise EvaluationError("a city needs at least one station")
    start, n = stations[0].start, stations[0].n_days
    for st in stations:
        if st.start != start or st.n_days != n:
            raise EvaluationError("city stations must cover the same days")
    out: dict[str, FloatArray] = {}
    for p in POLLUTANTS:
        stack = np.stack([st.get(p) for st in stations])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            out[p] = np.nanmean(stack, axis=0)
    return HourlyData(start, out)


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
    attained: bool | None
    exceedance_multiple: Decimal | None  # (C − S)/S when C > S


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
            "complete": self.complete,
            "incomplete_reasons": self.incomplete_reasons,
            "valid_days": self.valid_days,
            "good_days": self.good_days,
            "good_day_ratio": num(self.good_day_ratio),
            "heavy_pollution_days": self.heavy_pollution_days,
            "dust_days_excluded": self.dust_days_excluded,
            "composite_index": num(self.composite_index),
            "single_indices": {k: float(v) for k, v in self.single_indices.items()},
            "primary_pollutants": self.primary_pollutants,
            "primary_pollutant_days": self.primary_pollutant_days,
        }


# --------------------------------------------------------------------------------------------
# Evaluation


def _resolve(standard: str, start: date, end: date) -> EvaluationRules:
    # auto: the edition in force at the end of the period (see module doc / hj663.md).
    return evaluation_rules(resolve("HJ663", standard, end).id)


def _round(pollutant: str, a: FloatArray) -> FloatArray:
    ind = "CO_24H" if pollutant == "CO" else "SO2_24H"
    return round_concentration_array(ind, a)


def _daily_values(
    data: HourlyData, rules: EvaluationRules, limits: LimitSet
) -> dict[str, FloatArray]:
    v = limits.validity
    out: dict[str, FloatArray] = {}
    for p in ("SO2", "NO2", "CO", "PM10", "PM2_5"):
        out[p] = _round(p, daily_means(data.get(p), v.daily_min_hours))
    o3 = data.get("O3")
    out["O3_8H"] = _round(
        "O3",
        daily_max_8h(
            o3,
            float(limits.get("O3", "max8h")),
            rules.mda8_min_windows,
            v.o3_8h_min_hours,
            rules.mda8_first_window_end_hour,
        ),
    )
    out["O3_1H"] = _round("O3", daily_max_1h(o3, v.daily_min_hours))
    return out


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
    valid: npt.NDArray[np.bool_], dates: list[date], v: Any, kind: str
) -> list[str]:
    """GB 3095 表4: a year needs ≥ 324 valid days and ≥ 27 in each month (February ≥ 25); a
    month alone is held to the same monthly minimum (our reading for monthly statistics)."""
    reasons: list[str] = []
    n = int(valid.sum())
    if kind == "month":
        need = v.february_min_days if dates[0].month == 2 else v.monthly_min_days
        return [f"{n} valid days < {need}"] if n < need else []
    if n < v.annual_min_days:
        reasons.append(f"{n} valid days < {v.annual_min_days}")
    months = np.array([d.month for d in dates])
    for m in range(1, 13):
        need = v.february_min_days if m == 2 else v.monthly_min_days
        got = int(valid[months == m].sum())
        if got < need:
            reasons.append(f"month {m}: {got} valid days < {need}")
    return reasons


def _dec(x: float, pollutant: str) -> Decimal | None:
    if np.isnan(x):
        return None
    return round_half_even(float(x), 1 if pollutant == "CO" else 0)


def composite_index(
    values: Mapping[str, Decimal | None], rules: EvaluationRules | str, limits: LimitSet
) -> tuple[Decimal | None, dict[str, Decimal]]:
    """综合指数 Σ wᵢ·Cᵢ/Sᵢ and the single indices Iᵢ = Cᵢ/Sᵢ (both rounded half-even to 2
    decimals; the sum uses the unrounded Iᵢ).

    ``values``: SO2, NO2, PM10, PM2_5 period means, CO P95, O3 MDA8 P90 (rounded as published);
    ``limits``: class-II limits (annual for the means, daily for CO, 8-hour for O3). The index is
    None when a value is missing. Example (婺源县 2023-09, published 2.63): SO2 11, NO2 16,
    PM10 40, PM2.5 16, CO 0.6, O3 139 → 11/60 + 16/40 + 40/70 + 16/35 + 0.6/4 + 139/160 = 2.63.
    """
    r = evaluation_rules(rules) if isinstance(rules, str) else rules
    single: dict[str, Decimal] = {}
    total = Decimal(0)
    complete = True
    for pol, w in r.composite_weights.items():
        value = values.get(pol)
        if value is None:
            complete = False
            continue
        _series, period = _STAT_SOURCE[(pol, r.composite_statistic[pol])]
        idx = value / limits.get(pol, period)
        single[pol] = round_half_even(idx, 2)
        total += w * idx
    return (round_half_even(total, 2) if complete and single else None), single


def good_day_ratio(good_days: int, valid_days: int) -> Decimal | None:
    """优良天数比率 = 优良天数 / 有效天数 × 100 %, rounded half-even to 0.1 (None without valid
    days). Example (婺源县 2023-09, published 93.1 %): 27 / 29."""
    if valid_days <= 0:
        return None
    return round_half_even(Decimal(good_days) * 100 / valid_days, 1)


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
    """Evaluate every station of ``data`` over its whole period; leading axes are flattened in
    C order (one result per station).

    ``standard``: ``HJ663-2013``, ``HJ663-2026`` or ``auto`` (edition in force at the end of the
    period for the method and limits; each day's AQI under the HJ 633 edition in force that
    day). ``dust_days`` (扣沙) are excluded from: every day-based statistic (``dust_scope="all"``,
    as 昌吉市 reports its good-day ratio); only the PM10/PM2.5 statistics and hence the composite
    index (``"concentrations"``, the national monthly reports: "PM10、PM2.5浓度、综合质量指数扣除
    沙尘天气影响；优良天数比例、重度及以上天数比例保留沙尘"); or only the day counts (``"days"``).
    """
    dates = data.dates
    start, end = dates[0], dates[-1]
    rules = _resolve(standard, start, end)
    limits = limit_set(rules.limits, end, air_class, phase)
    composite_limits = limit_set(rules.limits, end, 2, phase)
    daily = _daily_values(data, rules, limits)
    nd = len(dates)
    daily = {k: v.reshape(-1, nd) for k, v in daily.items()}
    n_st = daily["SO2"].shape[0]

    if dust_scope not in ("all", "concentrations", "days"):
        raise EvaluationError(
            f"dust_scope must be 'all', 'concentrations' or 'days', not {dust_scope!r}"
        )
    dust = set(dust_days)
    keep = np.array([d not in dust for d in dates])
    n_dust = int((~keep).sum())
    everything = np.ones(nd, dtype=np.bool_)
    day_keep = keep if dust_scope in ("all", "days") else everything

    def conc_keep(series: str) -> npt.NDArray[np.bool_]:
        if dust_scope == "all" or (dust_scope == "concentrations" and series in _DUST_PM):
            return keep
        return everything

    kept = {k: v[:, conc_keep(k)] for k, v in daily.items()}

    aqi, primary = _daily_aqi(daily, _aqi_versions(standard, rules, dates))
    aqi_k, primary_k = aqi[:, day_keep], primary[:, day_keep]
    valid_aqi = ~np.isnan(aqi_k)
    n_valid = valid_aqi.sum(axis=-1)
    with np.errstate(invalid="ignore"):
        n_good = (valid_aqi & (aqi_k <= 100)).sum(axis=-1)
        n_heavy = (valid_aqi & (aqi_k > 200)).sum(axis=-1)

    kind = _period_kind(start, end)

    # Period statistics, vectorised over stations.
    stats: dict[tuple[str, str], FloatArray] = {}
    counts: dict[str, npt.NDArray[np.intp]] = {}
    for (pol, stat), (series, _period) in _STAT_SOURCE.items():
        if stat not in rules.items.get(pol, ()):
            continue
        x = kept[series]
        counts[series] = (~np.isnan(x)).sum(axis=-1)
        if stat == "mean":
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                stats[(pol, stat)] = np.nanmean(x, axis=-1)
        else:
            stats[(pol, stat)] = hj663_percentile(x, float(stat[1:]))

    results: list[StationEvaluation] = []
    for i in range(n_st):
        st_stats: list[PollutantStatistic] = []
        pol_ok: dict[str, bool | None] = {}
        short: dict[str, list[str]] = {}
        for (pol, stat), arr in stats.items():
            series, period = _STAT_SOURCE[(pol, stat)]
            value = _dec(float(arr[i]), pol)
            lim = limits.get(pol, period)
            ok = None if value is None else value <= lim
            mult = None
            if value is not None and value > lim:
                mult = round_half_even((value - lim) / lim, 2)
            st_stats.append(
                PollutantStatistic(
                    pol,
                    stat,
                    _STAT_NAMES[stat],
                    value,
                    lim,
                    int(counts[series][i]),
                    ok,
                    mult,
                )
            )
            prev = pol_ok.get(pol, True)
            pol_ok[pol] = None if (ok is None or prev is None) else (prev and ok)
            if kind is not None:
                # Validity is judged on the data, before any dust-day deduction.
                reasons = _validity_short(~np.isnan(daily[series][i]), dates, limits.validity, kind)
                if reasons:
                    short[pol] = reasons
        overall: bool | None = None
        if pol_ok and all(v is not None for v in pol_ok.values()):
            overall = all(bool(v) for v in pol_ok.values())

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

        pdays = {lab: 0 for lab in LABELS}
        for m in primary_k[i].tolist():
            for lab in decode_mask(int(m)):
                pdays[lab] += 1
        nv, ng = int(n_valid[i]), int(n_good[i])
        ratio = good_day_ratio(ng, nv)

        days: list[dict[str, Any]] = []
        if include_days:
            days = _day_rows(
                dates, daily, aqi[i], primary[i], i, dust, _aqi_versions(standard, rules, dates)
            )
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
            )
        )
    return results


def _day_rows(
    dates: list[date],
    daily: dict[str, FloatArray],
    aqi: FloatArray,
    primary: npt.NDArray[np.uint8],
    i: int,
    dust: set[date],
    versions: list[str],
) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for j, d in enumerate(dates):
        vals: dict[str, float | None] = {}
        for k in ("SO2", "NO2", "CO", "O3_1H", "O3_8H", "PM10", "PM2_5"):
            x = float(daily[k][i, j])
            vals[k] = None if np.isnan(x) else (round(x, 1) if k == "CO" else int(x))
        a = float(aqi[j])
        row: dict[str, Any] = {
            "date": d.isoformat(),
            "aqi_standard": versions[j],
            "values": vals,
            "valid": {k: v is not None for k, v in vals.items()},
            "aqi": None if np.isnan(a) else int(a),
            "level": None,
            "category": None,
            "primary_pollutants": list(decode_mask(int(primary[j]))),
            "dust": d in dust,
        }
        if not np.isnan(a):
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
    """Evaluate one station (or one city series, see :func:`city_hourly`)."""
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
    """Mean of the city statistics and of the city good-day ratios (national-report style)."""
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
            mean = sum((v for v in vals if v is not None), Decimal(0)) / len(vals)
            stats[(s.pollutant, s.statistic)] = round_half_even(
                mean, 1 if s.pollutant == "CO" else 0
            )
    ratios = [c.good_day_ratio for c in cities]
    ratio = None
    if all(r is not None for r in ratios):
        ratio = round_half_even(
            sum((r for r in ratios if r is not None), Decimal(0)) / len(ratios), 1
        )
    return RegionSummary(
        cities=len(cities),
        statistics=stats,
        good_day_ratio=ratio,
        cities_attained=sum(1 for c in cities if c.attained),
    )
