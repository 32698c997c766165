"""Benchmarks: bulk hourly AQI over 10 million station-hours; annual HJ 663 evaluation of
1,000 stations × 8,760 hours.

Run: ``.venv/bin/python bench/bench_aqi.py``. Prints station-hours per second. The machine is
shared (2 cores, other engineers' tests); figures are indicative.
"""

from __future__ import annotations

import time
from datetime import date

import numpy as np

from qingshan.standards.air.aqi import hourly_aqi_array
from qingshan.standards.air.evaluation import HourlyData, evaluate_many


def _hourly_inputs(n: int, seed: int = 1) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    # Realistic magnitudes; integers as published except CO (one decimal); 1 % missing.
    data = {
        "so2": np.rint(rng.gamma(2.0, 5.0, n)),
        "no2": np.rint(rng.gamma(2.0, 15.0, n)),
        "co": np.round(rng.gamma(2.0, 0.4, n), 1),
        "o3": np.rint(rng.gamma(2.0, 40.0, n)),
        "pm10": np.rint(rng.gamma(2.0, 35.0, n)),
        "pm2_5": np.rint(rng.gamma(2.0, 20.0, n)),
    }
    for arr in data.values():
        arr[rng.random(n) < 0.01] = np.nan
    return data


def bench_bulk_aqi(n: int = 10_000_000, version: str = "HJ633-2026") -> float:
    data = _hourly_inputs(n)
    hourly_aqi_array(version, **{k: v[:1000] for k, v in data.items()})  # warm the tables
    best = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        hourly_aqi_array(version, **data)
        best = min(best, time.perf_counter() - t0)
    rate = n / best
    print(
        f"bulk hourly AQI ({version}): {n:,} station-hours in {best:.2f} s "
        f"= {rate / 1e6:.1f} million station-hours/s (best of 3, one core)"
    )
    return rate


def bench_annual_evaluation(stations: int = 1000, days: int = 365) -> float:
    n = stations * days * 24
    flat = _hourly_inputs(n, seed=2)
    names = {"so2": "SO2", "no2": "NO2", "co": "CO", "o3": "O3", "pm10": "PM10", "pm2_5": "PM2_5"}
    data = HourlyData(
        date(2025, 1, 1), {names[k]: v.reshape(stations, days, 24) for k, v in flat.items()}
    )
    del flat
    t0 = time.perf_counter()
    results = evaluate_many(data, "HJ663-2013", include_days=False)
    elapsed = time.perf_counter() - t0
    assert len(results) == stations
    print(
        f"annual evaluation (HJ663-2013): {stations:,} stations × {days * 24:,} hours "
        f"in {elapsed:.2f} s = {stations / elapsed:,.0f} stations/s "
        f"({n / elapsed / 1e6:.1f} million station-hours/s)"
    )
    return elapsed


if __name__ == "__main__":
    bench_bulk_aqi(version="HJ633-2026")
    bench_bulk_aqi(version="HJ633-2012")
    bench_annual_evaluation()
