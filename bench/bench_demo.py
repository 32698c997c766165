"""Demo benchmark: backfill of the whole sample district, and `qingshan simulate` vs the gateway.

1. **backfill**: registry + hourly history (default 12 months, the whole district) + the last
   ``--minute-days`` days by minute + day roll-ups, into a fresh SQLite file and a fresh
   PostgreSQL database (``QINGSHAN_TEST_PG_URL``); prints seconds and rows/s.
2. **simulate**: ``qingshan serve`` (separate process, SQLite) with ``--devices`` registered
   devices; ``qingshan simulate --json`` at each ``--rates`` value; prints sent / acknowledged /
   rejected / p50 / p99 and checks the acknowledged count against the database.

The machine has 2 cores shared with other work: figures are a lower bound.

    python bench/bench_demo.py [--backend sqlite|postgresql|both] [--months 12]
        [--minute-days 3] [--devices 200] [--rates 200,1000] [--seconds 10] [--skip-backfill]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

import psycopg
from sqlalchemy import func, insert, make_url, select

from _scratch_db import scratch_pg
from qingshan.clock import utcnow
from qingshan.demo.district import load_district
from qingshan.demo.loader import prepare
from qingshan.simulator.drive import make_devices
from qingshan.storage.db import init_db
from qingshan.storage.models import Device, ReceivedPacket

QINGSHAN = str(Path(sys.executable).parent / "qingshan")


def backfill(url: str, months: int, minute_days: float) -> None:
    engine = init_db(url)
    d = load_district()
    t0 = time.perf_counter()
    r = prepare(engine, d, now=datetime(2026, 11, 26, 12), months=months, minute_days=minute_days)
    took = time.perf_counter() - t0
    b = r.backfill
    assert b is not None
    print(
        f"  {make_url(url).get_backend_name():10s} {months} months + {minute_days} minute "
        f"days: {took:6.1f} s, {b.rows:,} rows ({b.hour_rows:,} hour, {b.minute_rows:,} "
        f"minute, {b.day_rows:,} day roll-ups), {b.rows / took:,.0f} rows/s"
    )
    engine.dispose()


def bench_backfill(backends: list[str], months: int, minute_days: float) -> None:
    print(f"backfill, whole district (load average {os.getloadavg()[0]:.1f}):")
    for backend in backends:
        if backend == "sqlite":
            with tempfile.TemporaryDirectory() as tmp:
                backfill(f"sqlite:///{tmp}/demo.db", months, minute_days)
            continue
        try:
            with scratch_pg() as url:
                backfill(url, months, minute_days)
        except psycopg.OperationalError as exc:
            print(f"  postgresql: unreachable ({exc}); skipped")


def bench_simulate(n: int, rates: list[float], seconds: float) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/gw.db"
        engine = init_db(url)
        now = utcnow()
        with engine.begin() as conn:
            conn.execute(
                insert(Device),
                [
                    {
                        "mn": d.mn,
                        "pw": d.pw,
                        "st": "31",
                        "edition": "2017",
                        "encoding": "gbk",
                        "active": True,
                        "created_at": now,
                    }
                    for d in make_devices(n, "2017", "BD")
                ],
            )
        # Every simulated device connects from 127.0.0.1: lift the per-address cap.
        env = {
            **os.environ,
            "QINGSHAN_LOG_LEVEL": "WARNING",
            "QINGSHAN_HJ212_MAX_PER_ADDRESS": "100000",
        }
        proc = subprocess.Popen(
            [
                QINGSHAN,
                "serve",
                "--db",
                url,
                "--hj212-host",
                "127.0.0.1",
                "--hj212-port",
                "0",
                "--http-port",
                "0",
            ],
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        assert proc.stdout is not None
        port = int(proc.stdout.readline().split("=")[1])
        proc.stdout.readline()
        print(f"qingshan simulate → qingshan serve (SQLite), {n} devices, flue-gas minute data:")
        try:
            for rate in rates:
                out = subprocess.run(
                    [
                        QINGSHAN,
                        "simulate",
                        "--target",
                        f"127.0.0.1:{port}",
                        "--devices",
                        str(n),
                        "--rate",
                        str(rate),
                        "--duration",
                        str(seconds),
                        "--mn-prefix",
                        "BD",
                        "--json",
                    ],
                    capture_output=True,
                    text=True,
                    check=True,
                )
                r = json.loads(out.stdout)
                with engine.connect() as conn:
                    stored = conn.execute(select(func.count()).select_from(ReceivedPacket)).scalar()
                print(
                    f"  rate {rate:7.0f}/s: sent {r['sent']:6d} ({r['sent_per_s']:.0f}/s), "
                    f"acknowledged {r['acknowledged']:6d}, rejected {r['rejected']}, "
                    f"unanswered {r['unanswered']}, p50 {r['latency_p50_ms']} ms, "
                    f"p99 {r['latency_p99_ms']} ms; stored so far {stored}"
                )
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(30)
        engine.dispose()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    ap.add_argument("--months", type=int, default=12)
    ap.add_argument("--minute-days", type=float, default=3.0)
    ap.add_argument("--devices", type=int, default=200)
    ap.add_argument("--rates", default="200,1000")
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--skip-backfill", action="store_true")
    a = ap.parse_args()
    if not a.skip_backfill:
        backends = ["sqlite", "postgresql"] if a.backend == "both" else [a.backend]
        bench_backfill(backends, a.months, a.minute_days)
    bench_simulate(a.devices, [float(x) for x in a.rates.split(",")], a.seconds)


if __name__ == "__main__":
    main()
