"""Benchmark: parse + validate realistic HJ 212-2017 packets (pure Python, one core).

Packets: a flue-gas minute packet (ST=31, CN=2051, 10 codes with Avg/Min/Max/(Cou)/Flag, about
600 characters) and a waste-water hour packet (ST=32, CN=2061). Target: ≥ 25 000 flue-gas minute
packets per second. Run: ``.venv/bin/python bench/bench_hj212.py``.
"""

from __future__ import annotations

import time

from qingshan.protocol.hj212 import build_packet, parse_packet

MN = "88888880000001ABCDEF1234"


def flue_gas_minute() -> bytes:
    cp: dict[str, object] = {"DataTime": "20260301101500"}
    rows = [
        ("a34013", "12.4", "10.8", "14.2", "0.126"),
        ("a21026", "35.61", "30.02", "41.77", "0.3621"),
        ("a21002", "48.3", "44.1", "52.9", "0.4911"),
        ("a21005", "21.507", "18.003", "25.990", "0.2187"),
        ("a19001", "8.6", "8.1", "9.2", None),
        ("a01011", "11.25", "10.98", "11.61", None),
        ("a01012", "138.5", "136.2", "140.1", None),
        ("a01013", "-0.215", "-0.251", "-0.190", None),
        ("a01014", "8.6", "8.2", "9.1", None),
        ("a00000", "169.48", "165.02", "173.90", "10168.8"),
    ]
    for code, avg, lo, hi, cou in rows:
        fields = {"Avg": avg, "Min": lo, "Max": hi}
        if cou is not None:
            fields["Cou"] = cou
        fields["Flag"] = "N"
        cp[code] = fields
    return build_packet(st="31", cn="2051", pw="123456", mn=MN, qn="20260301101500123",
                        cp=cp, needs_reply=True)


def waste_water_hour() -> bytes:
    cp: dict[str, object] = {"DataTime": "20260301100000"}
    for code, avg, cou in [("w01018", "23.6", "5.412"), ("w21003", "0.853", "0.196"),
                           ("w21011", "0.214", "0.049"), ("w21001", "9.71", "2.227"),
                           ("w01001", "7.21", None), ("w00000", "63.71", "229.356")]:
        fields = {"Avg": avg, "Min": avg, "Max": avg}
        if cou is not None:
            fields["Cou"] = cou
        fields["Flag"] = "N"
        cp[code] = fields
    return build_packet(st="32", cn="2061", pw="123456", mn=MN, qn="20260301100000456",
                        cp=cp, needs_reply=True)


def rate(packet: bytes, seconds: float = 2.0) -> float:
    parse_packet(packet)  # warm-up and sanity check (raises if invalid)
    n = 0
    start = time.perf_counter()
    deadline = start + seconds
    while True:
        for _ in range(1000):
            parse_packet(packet)
        n += 1000
        now = time.perf_counter()
        if now >= deadline:
            return n / (now - start)


def main() -> None:
    flue = flue_gas_minute()
    water = waste_water_hour()
    print(f"flue-gas minute packet: {len(flue) - 12} byte segment")
    best = max(rate(flue) for _ in range(3))
    print(f"flue-gas minute (ST=31 CN=2051): {best:,.0f} packets/s (target 25,000)")
    best_w = max(rate(water) for _ in range(3))
    print(f"waste-water hour (ST=32 CN=2061): {best_w:,.0f} packets/s")


if __name__ == "__main__":
    main()
