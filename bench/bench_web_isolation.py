"""Device acknowledgements while the web app exports: is the gateway isolated from web work?

Builds a temporary SQLite database with ``bench_web.build`` (``--devices`` devices with
``--days`` of hourly data), starts the real ``qingshan serve`` on 127.0.0.1, connects one good
device that sends a real-time upload (CN 2011, reply requested) every ``--interval`` seconds,
and measures each acknowledgement's latency: first for ``--quiet`` seconds with no web
work, then for ``--busy`` seconds while ``--exports`` clients each download the air station's
``--days``-long hourly xlsx export over and over. Prints ack p50 / p99 / max for both
windows and how the exports were answered (200 done, 503 refused by the export bound).

The machine has 2 cores shared with other work: read the figures with that caveat.

    python bench/bench_web_isolation.py [--devices 10] [--days 365] [--exports 8] [--logins 120]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from bench_web import build
from qingshan.clock import CST
from qingshan.simulator.client import DeviceClient, data_packet, make_qn


def start_server(url: str, cwd: Path, concurrency: int) -> tuple[subprocess.Popen[str], int, int]:
    env = {
        **os.environ,
        "QINGSHAN_DB_URL": url,
        "QINGSHAN_LOG_LEVEL": "WARNING",
        "QINGSHAN_WEB_EXPORT_CONCURRENCY": str(concurrency),
    }
    cmd = [sys.executable, "-c", "from qingshan.cli.main import main; main()", "serve"]
    cmd += ["--hj212-port", "0", "--http-port", "0", "--hj212-host", "127.0.0.1"]
    proc = subprocess.Popen(
        cmd,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
        cwd=cwd,
    )
    ports: dict[str, int] = {}
    assert proc.stdout is not None
    deadline = time.monotonic() + 60
    while len(ports) < 2 and time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        key, _, value = line.strip().partition("=")
        if value.isdigit():
            ports[key] = int(value)
    if len(ports) < 2:
        proc.kill()
        raise SystemExit("server did not start")
    return proc, ports["hj212_port"], ports["http_port"]


async def device(port: int, interval: float, stop: asyncio.Event, out: list[float]) -> int:
    c = await DeviceClient("127.0.0.1", port).connect()
    seq = lost = 0
    try:
        while not stop.is_set():
            now = datetime.now(UTC).astimezone(CST).replace(tzinfo=None)
            seq += 1
            qn = make_qn(now, seq)
            raw = data_packet(
                mn=f"BENCH{0:019d}",
                pw="123456",
                st="22",
                cn="2011",
                when=now,
                values={"a34004": {"Rtd": "35.0", "Flag": "N"}},
                qn=qn,
            )
            fut = await c.send(raw, qn)
            assert fut is not None
            try:
                out.append((await asyncio.wait_for(fut, 30)).latency)
            except TimeoutError:
                lost += 1
            await asyncio.sleep(interval)
    finally:
        await c.close()
    return lost


async def exporter(
    base: str, token: str, params: dict[str, str], stop: asyncio.Event
) -> Counter[int]:
    seen: Counter[int] = Counter()
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=600) as c:
        while not stop.is_set():
            async with c.stream("GET", "/api/v1/export", params=params) as r:
                async for _ in r.aiter_bytes():
                    pass
                seen[r.status_code] += 1
                if r.status_code == 503:
                    await asyncio.sleep(1.0)
    return seen


def report(name: str, lat: list[float], lost: int) -> None:
    if not lat:
        print(f"{name}: no acknowledgements (lost {lost})")
        return
    q = statistics.quantiles(lat, n=100, method="inclusive") if len(lat) > 1 else [lat[0]] * 99
    print(
        f"{name}: {len(lat)} acks, p50 {statistics.median(lat) * 1000:.1f} ms, "
        f"p99 {q[98] * 1000:.1f} ms, max {max(lat) * 1000:.1f} ms, lost {lost}",
        flush=True,
    )


LOGIN_PASSWORD = "Qs-load-test-7"


def add_login_users(url: str, n: int) -> None:
    """``n`` staff users for the log-in storm (argon2 hashes made here, not in the window)."""
    from qingshan.roles import Principal, Role
    from qingshan.services.accounts import create_user
    from qingshan.storage.db import make_engine, session_scope

    engine = make_engine(url)
    with session_scope(engine) as s:
        for i in range(n):
            create_user(
                s,
                Principal(Role.ADMIN, via="cli"),
                username=f"desk-{i}",
                password=LOGIN_PASSWORD,
                role="staff",
            )
    engine.dispose()


async def log_in(base: str, i: int, users: int, codes: Counter[int]) -> None:
    # Each user from its own loopback address, as staff at different desks would be.
    transport = httpx.AsyncHTTPTransport(local_address=f"127.0.{60 + i % users}.1")
    async with httpx.AsyncClient(base_url=base, transport=transport, timeout=120) as c:
        body = {"username": f"desk-{i % users}", "password": LOGIN_PASSWORD}
        r = await c.post("/api/v1/auth/login", json=body)
        codes[r.status_code] += 1


async def measure(args: argparse.Namespace, hj: int, base: str, site: int, token: str) -> None:
    end = datetime.now(UTC)
    params = {
        "site_id": str(site),
        "resolution": "hour",
        "start": (end - timedelta(days=args.days)).isoformat(),
        "end": end.isoformat(),
        "format": "xlsx",
    }
    quiet: list[float] = []
    stop = asyncio.Event()
    dev = asyncio.create_task(device(hj, args.interval, stop, quiet))
    await asyncio.sleep(args.quiet)
    stop.set()
    report("no web work", quiet, await dev)

    busy: list[float] = []
    stop = asyncio.Event()
    dev = asyncio.create_task(device(hj, args.interval, stop, busy))
    ex = [asyncio.create_task(exporter(base, token, params, stop)) for _ in range(args.exports)]
    await asyncio.sleep(args.busy)
    stop.set()
    lost = await dev
    codes = sum((await asyncio.gather(*ex)), Counter())
    report(f"{args.exports} concurrent {args.days}-day xlsx exports", busy, lost)
    print(f"export answers: {dict(codes)}", flush=True)
    if args.logins <= 0:
        return

    storm: list[float] = []
    stop = asyncio.Event()
    dev = asyncio.create_task(device(hj, args.interval, stop, storm))
    ex = [asyncio.create_task(exporter(base, token, params, stop)) for _ in range(args.exports)]
    await asyncio.sleep(2)
    logins: Counter[int] = Counter()
    t0 = time.perf_counter()
    await asyncio.gather(*(log_in(base, i, args.login_users, logins) for i in range(args.logins)))
    took = time.perf_counter() - t0
    await asyncio.sleep(2)
    stop.set()
    lost = await dev
    codes = sum((await asyncio.gather(*ex)), Counter())
    report(f"{args.logins} log-ins at once beside the exports", storm, lost)
    print(f"log-in answers: {dict(logins)} in {took:.1f} s; export answers: {dict(codes)}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--devices", type=int, default=10)
    ap.add_argument("--days", type=int, default=365)
    ap.add_argument("--exports", type=int, default=8)
    ap.add_argument("--export-concurrency", type=int, default=2)
    ap.add_argument("--interval", type=float, default=0.2)
    ap.add_argument("--quiet", type=float, default=10.0)
    ap.add_argument("--busy", type=float, default=30.0)
    ap.add_argument("--logins", type=int, default=120, help="log-ins at once (0: none)")
    ap.add_argument("--login-users", type=int, default=30)
    args = ap.parse_args()
    where = Path(tempfile.mkdtemp(prefix="bench-web-isolation-"))
    try:
        url = f"sqlite:///{where / 'bench.db'}"
        site, token = build(url, args.devices, args.days, 0)
        add_login_users(url, args.login_users)
        proc, hj, http = start_server(url, where, args.export_concurrency)
        try:
            asyncio.run(measure(args, hj, f"http://127.0.0.1:{http}", site, token))
        finally:
            proc.terminate()
            proc.wait(30)
    finally:
        shutil.rmtree(where, ignore_errors=True)


if __name__ == "__main__":
    main()
