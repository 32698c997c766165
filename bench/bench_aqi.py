"""Benchmark: bulk hourly AQI over 10 million station-hours.

Run: ``.venv/bin/python bench/bench_aqi.py``. Prints station-hours per second. The machine is
shared (2 cores, other engineers' tests); figures are indicative.
"""

from __future__ import annotations

import time

import numpy as np

from qingshan.standards.air.aqi import hourly_aqi_array


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


def bench_bulk_aqi(n: int = 10_000_000) -> float:
    data = _hourly_inputs(n)
    hourly_aqi_array("HJ633-2026", **{k: v[:1000] for k, v in data.items()})  # warm the tables
    best = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        hourly_aqi_array("HJ633-2026", **data)
        best = min(best, time.perf_counter() - t0)
    rate = n / best
    print(f"bulk hourly AQI (HJ633-2026): {n:,} station-hours in {best:.2f} s "
          f"= {rate / 1e6:.1f} million station-hours/s (best of 3, one core)")
    return rate


if __name__ == "__main__":
    bench_bulk_aqi()
