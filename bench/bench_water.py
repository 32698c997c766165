"""Throughput of the GB 3838-2002 sample classifier (pure Python, one core).

Prints samples/s for 5-item samples (the national automatic stations' items) and for full
21-item samples. Figures depend on the machine; it has 2 cores shared with other work.
"""

from __future__ import annotations

import random
import time

from qingshan.standards.water import EVALUATED_ITEMS, WaterbodyType, classify_sample

FIVE = ("ph", "do", "codmn", "nh3n", "tp")


def _samples(codes: tuple[str, ...], n: int) -> list[dict[str, float | None]]:
    rng = random.Random(42)
    out = []
    for _ in range(n):
        sample: dict[str, float | None] = {}
        for code in codes:
            sample[code] = rng.uniform(6.0, 9.5) if code == "ph" else rng.uniform(0.0, 3.0) * 0.1
        out.append(sample)
    return out


def main() -> None:
    for label, codes in (("5 items", FIVE), ("21 items", EVALUATED_ITEMS)):
        samples = _samples(codes, 50_000)
        start = time.perf_counter()
        for sample in samples:
            classify_sample(sample, WaterbodyType.RIVER)
        elapsed = time.perf_counter() - start
        print(f"classify_sample, {label}: {len(samples) / elapsed:,.0f} samples/s")


if __name__ == "__main__":
    main()
