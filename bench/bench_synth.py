"""Time the sample-district generator: 13 months hourly, one calendar year, 3 days of minutes.

Prints wall-clock seconds (best of 3) and the data volume. Machine caveat: 2 cores shared with
other engineers' test runs; run when quiet.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime

import numpy as np

from qingshan.demo import synth
from qingshan.demo.district import load_district


def best_of(n: int, fn: Callable[[], synth.SynthResult]) -> tuple[float, synth.SynthResult]:
    best, result = float("inf"), None
    for _ in range(n):
        t0 = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - t0)
    assert result is not None
    return best, result


def main() -> None:
    d = load_district()
    anchor = datetime(2026, 11, 26, 12)
    runs = {
        "13 months hourly, whole district": lambda: synth.generate(
            d, datetime(2025, 10, 26, 12), anchor, anchor=anchor
        ),
        "calendar year 2020 hourly, whole district": lambda: synth.generate(
            d, datetime(2020, 1, 1), datetime(2021, 1, 1)
        ),
        "last 3 days by minute (air, micro, outlets, noise)": lambda: synth.generate(
            d, datetime(2026, 11, 23, 12), anchor, step=synth.MINUTE, anchor=anchor
        ),
    }
    for name, fn in runs.items():
        secs, res = best_of(3, fn)
        values = sum(len(s.value) for s in res.series)
        print(f"{name}: {secs:.2f} s, {len(res.series)} series, {values:,} values")
    _, y2020 = best_of(1, runs["calendar year 2020 hourly, whole district"])
    pm = {}
    for code in ("a34004", "a34002"):
        vals = []
        for st in synth.city_stations(d):
            s = y2020.get(st.id, code)
            vals.append(np.nanmean(np.where(s.flag == "N", s.value, np.nan)))
        pm[code] = float(np.mean(vals))
    print(f"2020 city hourly means: PM2.5 {pm['a34004']:.1f} µg/m³, PM10 {pm['a34002']:.1f} µg/m³")


if __name__ == "__main__":
    main()
