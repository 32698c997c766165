"""Bus benchmark: the gateway in bus mode (NATS JetStream + writers) against the embedded mode.

For each mode it starts real processes: ``qingshan serve`` (embedded: it commits to the
database itself), or ``nats-server -js`` (one node, R1, unless ``--nats`` names a cluster),
``qingshan serve --bus`` and ``--writers`` × ``qingshan writer``. The load generator of
:mod:`qingshan.simulator.loadgen` (as in ``bench_gateway.py``) connects N devices, then:

1. **held**: ``--rate`` packets/s spread over the devices — acked/s and ack latency p50/p99;
2. **throughput**: every device keeps ``--window`` packets unacknowledged — acked/s.

In bus mode a packet is acknowledged once the stream holds it; the writers store it later, so
the benchmark also reports how long the writers took to have every acknowledged packet in the
database (the writers' packets/s, and the lag behind the gateway). CPU seconds of the gateway,
the NATS server and the writers are read from /proc. Everything shares this machine's cores.

    python bench/bench_bus.py [--backend sqlite|postgresql] [--connections 1000]
        [--rate 1000] [--seconds 10] [--packets 30000] [--window 4] [--writers 2]
        [--nats nats://…] [--modes embedded,bus]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from _scratch_db import scratch_pg
from bench_gateway import QINGSHAN, acked_in_db, cpu_seconds, mns, register, report
from qingshan.simulator.loadgen import minute_packets, run_load


def free_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = int(s.getsockname()[1])
    s.close()
    return port


def start_nats(store: str) -> tuple[subprocess.Popen[bytes], str]:
    exe = shutil.which("nats-server") or "/usr/sbin/nats-server"
    port = free_port()
    proc = subprocess.Popen(
        [exe, "-a", "127.0.0.1", "-p", str(port), "-js", "-sd", store],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            break
        except OSError:
            time.sleep(0.05)
    return proc, f"nats://127.0.0.1:{port}"


def env() -> dict[str, str]:
    return {
        **os.environ,
        "QINGSHAN_LOG_LEVEL": "WARNING",
        "QINGSHAN_HJ212_MAX_PER_ADDRESS": "100000",
        "QINGSHAN_SCHEDULER_ENABLED": "false",
        "QINGSHAN_SOURCE_ALARM_INTERVAL": "0",
    }


def start_serve(url: str, bus: str | None) -> tuple[subprocess.Popen[str], int]:
    args = [QINGSHAN, "serve", "--db", url, "--hj212-host", "127.0.0.1",
            "--hj212-port", "0", "--http-port", "0"]  # fmt: skip
    if bus:
        args += ["--bus", bus]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, text=True, env=env())
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line.startswith("hj212_port="):
        raise SystemExit(f"serve did not start: {line!r}")
    proc.stdout.readline()
    return proc, int(line.split("=")[1])


def start_writer(url: str, bus: str) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [QINGSHAN, "writer", "--db", url, "--bus", bus],
        stdout=subprocess.PIPE,
        text=True,
        env=env(),
    )
    assert proc.stdout is not None
    if proc.stdout.readline().strip() != "writer_ready=1":
        raise SystemExit("writer did not start")
    return proc


def stop(proc: subprocess.Popen[str] | subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()


def bench(url: str, label: str, mode: str, args: argparse.Namespace) -> None:
    n = args.connections
    print(f"== {label}, {mode} mode: {n} connections")
    register(url, n)
    extra: list[subprocess.Popen[str] | subprocess.Popen[bytes]] = []
    bus = None
    with tempfile.TemporaryDirectory() as store:
        if mode == "bus":
            bus = args.nats
            if bus is None:
                nats, bus = start_nats(store)
                extra.append(nats)
            writers = [start_writer(url, bus) for _ in range(args.writers)]
            extra += writers
        proc, port = start_serve(url, bus)
        try:
            now = (datetime.now(UTC) + timedelta(hours=8)).replace(
                tzinfo=None, second=0, microsecond=0
            )
            per_held = max(1, int(args.rate * args.seconds / n))
            held = [
                minute_packets(mn, "123456", per_held, now - timedelta(minutes=per_held))
                for mn in mns(n)
            ]
            per_tp = max(1, args.packets // n)
            start_tp = now - timedelta(minutes=per_held + per_tp)
            tp = [minute_packets(mn, "123456", per_tp, start_tp) for mn in mns(n)]
            others = {p.pid: 0.0 for p in extra}
            c0 = cpu_seconds(proc.pid)
            o0 = {pid: cpu_seconds(pid) for pid in others}
            r1 = asyncio.run(run_load("127.0.0.1", port, held, rate=args.rate))
            c1 = cpu_seconds(proc.pid)
            report(f"held@{args.rate:g}/s", r1, c1 - c0)
            t_tp = time.perf_counter()
            r2 = asyncio.run(run_load("127.0.0.1", port, tp, window=args.window))
            report("throughput", r2, cpu_seconds(proc.pid) - c1)
            acked = r1.acked + r2.acked
            # In bus mode: wait for the writers to have everything acknowledged.
            deadline = time.perf_counter() + 600
            stored = acked_in_db(url)
            while mode == "bus" and stored < acked and time.perf_counter() < deadline:
                time.sleep(0.5)
                stored = acked_in_db(url)
            t_end = time.perf_counter()
            print(f"  check: {stored:,} packets in the database, {acked:,} acked")
            if mode == "bus":
                lag = t_end - (t_tp + r2.elapsed)
                print(
                    f"  writers: all stored {max(0.0, lag):.1f}s after the last ack; "
                    f"{r2.acked / (t_end - t_tp):,.0f} packets/s stored over the throughput phase"
                )
                for p in extra:
                    used = cpu_seconds(p.pid) - o0[p.pid]
                    name = (
                        "nats-server" if isinstance(p.args, list) and "-js" in p.args else "writer"
                    )
                    per = used / acked * 1e6
                    print(f"  {name} pid {p.pid}: CPU {used:.1f}s = {per:.0f} us/packet")
        finally:
            stop(proc)
            for p in extra:
                stop(p)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--backend", choices=["sqlite", "postgresql"], default="postgresql")
    ap.add_argument("--modes", default="embedded,bus")
    ap.add_argument("--connections", type=int, default=1000)
    ap.add_argument("--rate", type=float, default=1000.0)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--packets", type=int, default=30000)
    ap.add_argument("--window", type=int, default=4)
    ap.add_argument("--writers", type=int, default=2)
    ap.add_argument("--nats", default=None, help="an existing NATS (JetStream) URL list")
    args = ap.parse_args()
    load = os.getloadavg()
    print(f"bench_bus on {os.cpu_count()} CPUs, load average {load[0]:.2f} {load[1]:.2f}")
    for mode in args.modes.split(","):
        if args.backend == "sqlite":
            with tempfile.TemporaryDirectory() as d:
                bench(f"sqlite:///{d}/bench.db", "SQLite", mode, args)
        else:
            with scratch_pg() as url:
                bench(url, "PostgreSQL", mode, args)
    load = os.getloadavg()
    print(f"load average at the end {load[0]:.2f} {load[1]:.2f}")


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).parent))
    main()
