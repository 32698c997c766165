"""Gateway benchmark: N device connections on loopback stream minute packets with the reply bit.

For each backend (SQLite file, PostgreSQL database created for the run) it starts
``qingshan serve`` as a separate process, registers the devices, and runs:

1. **held**: all N connections open, together sending ``--rate`` packets/s (each device every
   N/rate seconds) — acknowledged packets/s and ack latency p50/p99 at that load;
2. **throughput**: the same connections, each keeping ``--window`` packets unacknowledged —
   the acknowledged packets/s the gateway sustains end to end (socket → parse → auth → commit →
   9014 reply).

Every acknowledged packet is then counted in the database (idempotency keys) as a check.
The load generator runs in this process, the gateway in another; on a 2-core machine they and
PostgreSQL share the two cores, so the figures are a lower bound for a real server.

    python bench/bench_gateway.py [--backend sqlite|postgresql|both] [--connections 2000]
        [--rate 2000] [--seconds 10] [--packets 60000] [--window 4]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, insert, select

from _scratch_db import scratch_pg
from qingshan.clock import utcnow
from qingshan.simulator.loadgen import LoadResult, minute_packets, run_load
from qingshan.storage.db import init_db
from qingshan.storage.models import Device, ReceivedPacket

QINGSHAN = str(Path(sys.executable).parent / "qingshan")


def mns(n: int) -> list[str]:
    return [f"BENCH{i:019d}" for i in range(n)]


def register(url: str, n: int) -> None:
    engine = init_db(url)
    now = utcnow()
    with engine.begin() as conn:
        conn.execute(
            insert(Device),
            [
                {
                    "mn": mn,
                    "pw": "123456",
                    "st": "22",
                    "edition": "2017",
                    "encoding": "gbk",
                    "active": True,
                    "created_at": now,
                }
                for mn in mns(n)
            ],
        )
    engine.dispose()


def acked_in_db(url: str) -> int:
    engine = init_db(url)
    with engine.connect() as conn:
        n = int(conn.execute(select(func.count()).select_from(ReceivedPacket)).scalar() or 0)
    engine.dispose()
    return n


def start_serve(url: str) -> tuple[subprocess.Popen[str], int]:
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
    line = proc.stdout.readline()
    if not line.startswith("hj212_port="):
        raise SystemExit(f"serve did not start: {line!r}")
    proc.stdout.readline()
    return proc, int(line.split("=")[1])


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def report(name: str, r: LoadResult, gw_cpu: float) -> None:
    per = gw_cpu / r.acked * 1e6 if r.acked else float("nan")
    print(
        f"  {name:<11} connections={r.connections} (failed {r.connect_failures})  "
        f"sent={r.sent} acked={r.acked} in {r.elapsed:.1f}s -> {r.acked_per_s:,.0f} acked/s  "
        f"latency p50={r.percentile(50) * 1000:.1f} ms p99={r.percentile(99) * 1000:.1f} ms  "
        f"gateway CPU {gw_cpu:.1f}s = {per:.0f} us/packet"
        + (f"  errors={len(r.errors)} first: {r.errors[0]}" if r.errors else "")
    )


def bench(url: str, label: str, args: argparse.Namespace) -> None:
    n = args.connections
    print(f"== {label}: {n} connections")
    register(url, n)
    proc, port = start_serve(url)
    try:
        t = time.perf_counter()
        per_held = max(1, int(args.rate * args.seconds / n))
        # Live data: the devices report the last minutes (China time), as in production.
        now = (datetime.now(UTC) + timedelta(hours=8)).replace(tzinfo=None, second=0, microsecond=0)
        held = [
            minute_packets(mn, "123456", per_held, now - timedelta(minutes=per_held))
            for mn in mns(n)
        ]
        per_tp = max(1, args.packets // n)
        start_tp = now - timedelta(minutes=per_held + per_tp)
        tp = [minute_packets(mn, "123456", per_tp, start_tp) for mn in mns(n)]
        print(f"  (built {n * (per_held + per_tp):,} packets in {time.perf_counter() - t:.1f}s)")
        c0 = cpu_seconds(proc.pid)
        r1 = asyncio.run(run_load("127.0.0.1", port, held, rate=args.rate))
        c1 = cpu_seconds(proc.pid)
        report(f"held@{args.rate:g}/s", r1, c1 - c0)
        r2 = asyncio.run(run_load("127.0.0.1", port, tp, window=args.window))
        report("throughput", r2, cpu_seconds(proc.pid) - c1)
        stored = acked_in_db(url)
        print(f"  check: {stored:,} packets in the database, {r1.acked + r2.acked:,} acked")
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(60)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    ap.add_argument("--connections", type=int, default=2000)
    ap.add_argument("--rate", type=float, default=2000.0)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--packets", type=int, default=60000)
    ap.add_argument("--window", type=int, default=4)
    args = ap.parse_args()
    print(
        f"bench_gateway on {os.cpu_count()} CPUs (load generator, gateway and database share them)"
    )
    if args.backend in ("sqlite", "both"):
        with tempfile.TemporaryDirectory() as d:
            bench(f"sqlite:///{d}/bench.db", "SQLite (WAL, synchronous=FULL)", args)
    if args.backend in ("postgresql", "both"):
        with scratch_pg() as url:
            bench(url, "PostgreSQL (monthly partitions)", args)


if __name__ == "__main__":
    main()
