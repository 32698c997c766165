"""A deliberately small, independent check of generated air data against the plan's baseline.

Not the standards engine (that is ``qingshan.standards.air``, written separately): just enough
of HJ 633-2012 (IAQI breakpoints, daily AQI from 24 h means, O3 daily max 1 h and max 8 h) and
HJ 663-2013 (daily validity ≥ 20 h, city value = mean of the urban stations, annual mean = mean
of the daily values) to tell whether the simulated year looks like 崆峒区's 2020.
Breakpoints: HJ 633-2012 表1 (read from the official PDF).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

IAQI = np.array([0, 50, 100, 150, 200, 300, 400, 500], dtype=float)
BP_24H = {
    "a21026": [0, 50, 150, 475, 800, 1600, 2100, 2620],
    "a21004": [0, 40, 80, 180, 280, 565, 750, 940],
    "a34002": [0, 50, 150, 250, 350, 420, 500, 600],
    "a21005": [0, 2, 4, 14, 24, 36, 48, 60],
    "a34004": [0, 35, 75, 115, 150, 250, 350, 500],
}
BP_O3_1H = [0, 160, 200, 300, 400, 800, 1000, 1200]
BP_O3_8H = [0, 100, 160, 215, 265, 800]


def iaqi(c: npt.NDArray[np.float64], bp: list[float]) -> npt.NDArray[np.float64]:
    """IAQI_P = (IAQI_hi − IAQI_lo)/(BP_hi − BP_lo)·(C − BP_lo) + IAQI_lo, rounded up;
    above the last breakpoint capped at its IAQI (only matters for absurd inputs)."""
    b = np.asarray(bp, dtype=float)
    out = np.interp(c, b, IAQI[: len(b)])
    return np.ceil(out - 1e-9)


@dataclass
class Year:
    days: int
    good: int
    pm25: float
    pm10: float
    so2: float
    no2: float
    co95: float
    o3_90: float
    max_pm10_hour: float
    heavy_days: int


def daily(
    series_by_code: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]],
) -> dict[str, np.ndarray]:
    """Per-station daily values from hourly (time, value, flag): 24 h means over valid hours
    (flag N, ≥ 20 per day), O3 daily max 1 h and daily max of the 8 h moving mean (windows
    ending 08–24 h, each with ≥ 6 valid hours, ≥ 14 windows)."""
    out: dict[str, np.ndarray] = {}
    for code, (_t, v, f) in series_by_code.items():
        ok = (f == "N") & ~np.isnan(v)
        x = np.where(ok, v, np.nan).reshape(-1, 24)
        n = np.sum(~np.isnan(x), axis=1)
        with np.errstate(invalid="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN days are expected
            mean = np.nanmean(x, axis=1)
        out[code] = np.where(n >= 20, mean, np.nan)
        if code == "a05024":
            out["o3_1h"] = np.where(
                n >= 20, np.nanmax(np.where(np.isnan(x), -1, x), axis=1), np.nan
            )
            flat = np.where(ok, v, np.nan)
            pad = np.concatenate([np.full(7, np.nan), flat])
            win = np.lib.stride_tricks.sliding_window_view(pad, 8)  # window ending at each hour
            cnt = np.sum(~np.isnan(win), axis=1)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                m8 = np.where(cnt >= 6, np.nanmean(win, axis=1), np.nan)
            m8 = m8.reshape(-1, 24)[:, 7:]  # windows ending 07:00–23:00 → covering to 08–24
            k = np.sum(~np.isnan(m8), axis=1)
            with np.errstate(invalid="ignore"):
                out["o3_8h"] = np.where(
                    k >= 14, np.nanmax(np.where(np.isnan(m8), -1, m8), axis=1), np.nan
                )
    return out


def evaluate(stations: list[dict[str, np.ndarray]]) -> Year:
    keys = ["a21026", "a21004", "a21005", "a34002", "a34004", "o3_1h", "o3_8h"]
    city: dict[str, np.ndarray] = {}
    for k in keys:
        stack = np.vstack([s[k] for s in stations])
        with np.errstate(invalid="ignore"):
            city[k] = np.nanmean(stack, axis=0)
    r = {k: np.round(city[k], 1 if k == "a21005" else 0) for k in keys}
    aqi = np.max(
        np.vstack(
            [iaqi(r[k], BP_24H[k]) for k in BP_24H]
            + [iaqi(r["o3_1h"], BP_O3_1H), iaqi(r["o3_8h"], BP_O3_8H)]
        ),
        axis=0,
    )
    valid = ~np.isnan(aqi)
    return Year(
        days=int(valid.sum()),
        good=int(np.sum(aqi[valid] <= 100)),
        pm25=float(np.nanmean(city["a34004"])),
        pm10=float(np.nanmean(city["a34002"])),
        so2=float(np.nanmean(city["a21026"])),
        no2=float(np.nanmean(city["a21004"])),
        co95=float(np.nanpercentile(city["a21005"], 95)),
        o3_90=float(np.nanpercentile(city["o3_8h"], 90)),
        max_pm10_hour=0.0,
        heavy_days=int(np.sum(aqi[valid] > 200)),
    )


def primary_counts(stations: list[dict[str, np.ndarray]]) -> dict[str, int]:
    """How many days each item's IAQI exceeds 100 (diagnostics)."""
    keys = ["a21026", "a21004", "a21005", "a34002", "a34004", "o3_1h", "o3_8h"]
    out = {}
    for k in keys:
        with np.errstate(invalid="ignore"):
            c = np.round(np.nanmean(np.vstack([s[k] for s in stations]), axis=0))
        bp = BP_24H.get(k) or (BP_O3_1H if k == "o3_1h" else BP_O3_8H)
        out[k] = int(np.sum(iaqi(c, bp) > 100))
    return out
