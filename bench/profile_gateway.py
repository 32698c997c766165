"""Where the gateway's CPU per acknowledged packet goes: cProfile of both of its threads.

Runs the gateway in this process (event loop thread and the group-commit writer thread, each
under its own :class:`cProfile.Profile`) on a temporary SQLite database or a scratch
PostgreSQL database, while a load generator in a *separate* process streams minute packets
with the reply bit over ``--connections`` connections (``--window`` unacknowledged each).
Prints the process CPU time per acknowledged packet and the top functions of each thread by
own time and by cumulative time.

    python bench/profile_gateway.py [--backend sqlite|postgresql] [--connections 200]
        [--packets 20000] [--window 4] [--top 25]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import io
import json
import os
import pstats
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from _scratch_db import scratch_pg
from bench_gateway import register
from qingshan.gateway.commit import CommitQueue
from qingshan.gateway.server import Gateway, GatewayConfig
from qingshan.storage.db import init_db

LOADGEN = """
import asyncio, json, sys
from datetime import datetime, timedelta
from qingshan.simulator.loadgen import minute_packets, run_load
port, n, per, window, start = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), \
    int(sys.argv[4]), datetime.fromisoformat(sys.argv[5])
mns = [f"BENCH{i:019d}" for i in range(n)]
devs = [minute_packets(mn, "123456", per, start) for mn in mns]
print("ready", flush=True)
sys.stdin.readline()
r = asyncio.run(run_load("127.0.0.1", port, devs, window=window))
print(json.dumps({"acked": r.acked, "sent": r.sent, "elapsed": r.elapsed}), flush=True)
"""


@contextmanager
def profiled_writer(prof: cProfile.Profile) -> Iterator[None]:
    """Profile the group-commit writer thread's work (it runs in an executor thread)."""
    original = CommitQueue._write

    def write(self: CommitQueue, *args: Any, **kwargs: Any) -> Any:
        prof.enable()
        try:
            return original(self, *args, **kwargs)
        finally:
            prof.disable()

    CommitQueue._write = write  # type: ignore[method-assign]
    try:
        yield
    finally:
        CommitQueue._write = original  # type: ignore[method-assign]


def show(title: str, prof: cProfile.Profile, acked: int, top: int) -> None:
    out = io.StringIO()
    st = pstats.Stats(prof, stream=out)
    total = sum(v[2] for v in st.stats.values())  # type: ignore[attr-defined]
    print(f"--- {title}: {total:.2f} s own time (profiled), {total / acked * 1e6:.0f} us/packet")
    st.sort_stats("tottime").print_stats(top)
    st.sort_stats("cumulative").print_stats(top)
    print("\n".join(line for line in out.getvalue().splitlines() if line.strip())[:20000])


async def run(url: str, args: argparse.Namespace) -> None:
    n = args.connections
    register(url, n)
    engine = init_db(url)
    gw = Gateway(engine, GatewayConfig(max_per_address=100000))
    port = await gw.start()
    per = max(1, args.packets // n)
    start = (datetime.now(UTC) + timedelta(hours=8)).replace(tzinfo=None, second=0, microsecond=0)
    start -= timedelta(minutes=per + 1)
    gen = subprocess.Popen(
        [
            sys.executable,
            "-c",
            LOADGEN,
            str(port),
            str(n),
            str(per),
            str(args.window),
            start.isoformat(),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert gen.stdout is not None and gen.stdin is not None
    await asyncio.to_thread(gen.stdout.readline)
    loop_prof, writer_prof = cProfile.Profile(), cProfile.Profile()
    t0, c0 = time.perf_counter(), time.process_time()
    with profiled_writer(writer_prof) if not args.no_profile else contextlib.nullcontext():
        if not args.no_profile:
            loop_prof.enable()
        gen.stdin.write("go\n")
        gen.stdin.flush()
        line = await asyncio.to_thread(gen.stdout.readline)
        loop_prof.disable()
    cpu, wall = time.process_time() - c0, time.perf_counter() - t0
    res = json.loads(line)
    acked = res["acked"]
    await gw.stop()
    gen.wait(30)
    engine.dispose()
    print(
        f"== {engine.dialect.name}: {acked} acked of {res['sent']} in {wall:.1f} s "
        f"({acked / wall:,.0f}/s); gateway process CPU {cpu:.2f} s = "
        f"{cpu / max(acked, 1) * 1e6:.0f} us/packet"
        + ("" if args.no_profile else " (profiler overhead included)")
        + f"; load average {os.getloadavg()[0]:.1f}"
    )
    if not args.no_profile:
        show("event loop thread", loop_prof, acked, args.top)
        show("writer thread", writer_prof, acked, args.top)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    ap.add_argument("--connections", type=int, default=200)
    ap.add_argument("--packets", type=int, default=20000)
    ap.add_argument("--window", type=int, default=4)
    ap.add_argument("--top", type=int, default=25)
    ap.add_argument(
        "--no-profile",
        action="store_true",
        help="nothing profiled: the CPU per packet without the profilers' overhead",
    )
    args = ap.parse_args()
    if args.backend == "sqlite":
        with tempfile.TemporaryDirectory() as d:
            asyncio.run(run(f"sqlite:///{d}/bench.db", args))
    else:
        with scratch_pg() as url:
            asyncio.run(run(url, args))


if __name__ == "__main__":
    main()
