"""Web API under load: cockpit p99 and a site's 30-day chart data, 50 concurrent clients.

Builds a temporary SQLite database (or uses --db): the district's region, ``--devices``
devices (20 air stations, 5 water sections, the rest enterprise outlets) with ``--days`` of
hourly data for 6 factors each, plus ``--minute-days`` of 10-minute data for every device;
computes the figures; starts the real ``qingshan serve`` on 127.0.0.1 (with ``--web-workers
N`` > 0: ``qingshan serve --no-web`` for the gateway and ``qingshan web --workers N`` for the
web app; 0: the web app inside ``serve``); then ``--clients`` asyncio/httpx clients hammer
``GET /api/v1/cockpit`` and ``GET /api/v1/sites/{id}/series`` (30 days of hourly data, all
factors) while every device keeps uploading real-time packets over HJ 212 (``--upload-rate``
packets/s in all). Prints latency percentiles, throughput and the load average.

The machine has 2 cores shared with other work: read the figures with that caveat.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from qingshan.roles import CLI
from qingshan.services.accounts import create_token, create_user, principal_of
from qingshan.services.figures import recompute_all
from qingshan.storage.db import init_db, session_factory, session_scope
from qingshan.storage.models import Device, Enterprise, Region, Site

AIR = {"a21026": 8.0, "a21004": 30.0, "a21005": 0.6, "a05024": 80.0, "a34002": 70.0, "a34004": 35.0}
WATER = {"w01001": 7.8, "w01009": 7.5, "w01019": 3.2, "w21003": 0.4, "w21011": 0.08, "w01018": 12.0}
OUTLET = {
    "a21026": 20.0,
    "a21002": 60.0,
    "a34013": 5.0,
    "a19001": 9.0,
    "a01012": 80.0,
    "a00000": 12.0,
}


def build(url: str, devices: int, days: int, minute_days: int) -> tuple[int, str]:
    engine = init_db(url)
    now = datetime.now(UTC).replace(tzinfo=None)
    with session_scope(engine) as s:
        s.add(Region(code="620802", name="崆峒区", level="county"))
        s.flush()
        ent = Enterprise(name="基准测试企业", region_code="620802")
        s.add(ent)
        s.flush()
        kinds: list[tuple[int, dict[str, float]]] = []
        for i in range(devices):
            if i < 20:
                site = Site(
                    code=f"A{i:03d}",
                    name=f"空气站{i}",
                    kind="air_station",
                    region_code="620802",
                    longitude=106.6 + i / 100,
                    latitude=35.5,
                    control_level="国控" if i < 4 else "微站",
                )
                factors = AIR
            elif i < 25:
                site = Site(
                    code=f"W{i:03d}",
                    name=f"断面{i}",
                    kind="surface_water_section",
                    region_code="620802",
                    longitude=106.7,
                    latitude=35.4 + i / 200,
                    water_body="river",
                    target_class="Ⅲ",
                )
                factors = WATER
            else:
                site = Site(
                    code=f"O{i:03d}",
                    name=f"排放口{i}",
                    kind="enterprise_outlet",
                    region_code="620802",
                    longitude=106.8,
                    latitude=35.45 + i / 1000,
                    enterprise_id=ent.id,
                    outlet_medium="gas",
                )
                factors = OUTLET
            s.add(site)
            s.flush()
            d = Device(
                mn=f"BENCH{i:019d}",
                pw="123456",
                st="22",
                site_id=site.id,
                created_at=now,
                last_seen_at=now,
                active=True,
            )
            s.add(d)
            s.flush()
            kinds.append((d.id, factors))
        admin = create_user(s, CLI, username="bench", password="Qs-load-test-7", role="admin")
        token, _ = create_token(s, principal_of(admin, "cli"), "bench")
        air_site = s.scalar(
            Site.__table__.select().with_only_columns(Site.id).where(Site.code == "A000")
        )
    engine.dispose()
    path = url.removeprefix("sqlite:///")
    con = sqlite3.connect(path)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=OFF")
    end = (now + timedelta(hours=8)).replace(minute=0, second=0, microsecond=0)
    rnd = random.Random(1)
    sql = (
        "INSERT INTO observation (device_id, resolution, data_time, code, value, flag, "
        "derived) VALUES (?,?,?,?,?,?,0)"
    )
    rows = 0
    for dev, factors in kinds:
        batch = []
        for h in range(days * 24):
            t = (end - timedelta(hours=h)).strftime("%Y-%m-%d %H:%M:%S.000000")
            for code, base in factors.items():
                batch.append((dev, 2, t, code, f"{base * (0.6 + 0.8 * rnd.random()):.2f}", "N"))
        for m in range(0, minute_days * 1440, 10):
            t = (end - timedelta(minutes=m)).strftime("%Y-%m-%d %H:%M:%S.000000")
            for code, base in factors.items():
                batch.append((dev, 1, t, code, f"{base * (0.6 + 0.8 * rnd.random()):.2f}", "N"))
        con.executemany(sql, batch)
        rows += len(batch)
    con.commit()
    con.close()
    print(
        f"data: {devices} devices, {rows:,} observation rows "
        f"({days} d hourly + {minute_days} d 10-minute, 6 factors)",
        flush=True,
    )
    t0 = time.perf_counter()
    engine = init_db(url)
    recompute_all(session_factory(engine))
    engine.dispose()
    print(f"figures recomputed in {time.perf_counter() - t0:.1f} s", flush=True)
    return int(air_site), token


async def upload(port: int, devices: int, rate: float, stop: asyncio.Event) -> int:
    """Real-time packets (CN 2011, no reply requested) from the first ``devices`` devices,
    ``rate`` a second in all, over one TCP connection per device; returns the number sent.
    At most 50 devices: the gateway admits 64 connections per address by default."""
    from qingshan.simulator.client import data_packet, make_qn

    if rate <= 0:
        return 0
    devices = min(devices, 50)
    conns = [await asyncio.open_connection("127.0.0.1", port) for _ in range(devices)]
    sent = 0
    try:
        while not stop.is_set():
            t0 = time.perf_counter()
            i = sent % devices
            when = datetime.now(UTC).replace(tzinfo=None) + timedelta(hours=8)
            pkt = data_packet(
                mn=f"BENCH{i:019d}",
                pw="123456",
                st="22",
                cn="2011",
                when=when,
                qn=make_qn(when, sent),
                values={c: {"Rtd": f"{b:.2f}", "Flag": "N"} for c, b in OUTLET.items()},
                reply=False,
            )
            conns[i][1].write(pkt)
            sent += 1
            await asyncio.sleep(max(0.0, 1 / rate - (time.perf_counter() - t0)))
    finally:
        for _, w in conns:
            w.close()
    return sent


def loadavg() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f}"


async def load(base: str, token: str, path: str, clients: int, total: int) -> list[float]:
    lat: list[float] = []
    left = total
    errors = 0

    async def worker(c: httpx.AsyncClient) -> None:
        nonlocal left, errors
        while left > 0:
            left -= 1
            t = time.perf_counter()
            r = await c.get(path)
            lat.append((time.perf_counter() - t) * 1000)
            if r.status_code != 200:
                errors += 1

    limits = httpx.Limits(max_connections=clients)
    async with httpx.AsyncClient(
        base_url=base, headers={"Authorization": f"Bearer {token}"}, limits=limits, timeout=60
    ) as c:
        # warm-up: concurrent requests reach every worker process (each computes its payload once)
        await asyncio.gather(*(c.get(path) for _ in range(8)))
        await asyncio.gather(*(worker(c) for _ in range(clients)))
    if errors:
        raise SystemExit(f"{errors} requests to {path} failed")
    return lat


def report(name: str, lat: list[float], wall: float) -> None:
    q = statistics.quantiles(lat, n=100)
    print(
        f"{name}: n={len(lat)} p50={q[49]:.1f} ms p95={q[94]:.1f} ms p99={q[98]:.1f} ms "
        f"max={max(lat):.1f} ms throughput={len(lat) / wall:.0f} req/s"
    )


def _ports(proc: subprocess.Popen[str], want: set[str]) -> dict[str, int]:
    assert proc.stdout is not None
    got: dict[str, int] = {}
    for line in proc.stdout:
        key, _, value = line.strip().partition("=")
        if key in want:
            got[key] = int(value)
        if want <= got.keys():
            return got
    raise SystemExit("server did not start")


def _wait_http(base: str) -> None:
    for _ in range(600):
        try:
            httpx.get(base + "/healthz", timeout=5)
            return
        except httpx.HTTPError:
            time.sleep(0.5)
    raise SystemExit("web app did not answer")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--devices", type=int, default=200)
    ap.add_argument("--days", type=int, default=60, help="days of hourly data per device")
    ap.add_argument("--minute-days", type=int, default=3, help="days of 10-minute data")
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--requests", type=int, default=2000)
    ap.add_argument("--web-workers", type=int, default=2, help="0 = web app inside serve")
    ap.add_argument("--upload-rate", type=float, default=50.0, help="packets/s, all devices")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="qingshan-bench-web-"))
    url = f"sqlite:///{tmp / 'bench.db'}"
    site, token = build(url, args.devices, args.days, args.minute_days)
    env = {**os.environ, "QINGSHAN_DB_URL": url, "QINGSHAN_LOG_LEVEL": "WARNING"}
    cli = [sys.executable, "-c", "from qingshan.cli.main import main; main()"]
    ports = ["--hj212-port", "0", "--http-port", "0", "--hj212-host", "127.0.0.1"]
    web_flag = ["--no-web"] if args.web_workers else []
    procs = [
        subprocess.Popen(
            [*cli, "serve", *ports, *web_flag], stdout=subprocess.PIPE, text=True, env=env, cwd=tmp
        )
    ]
    try:
        got = _ports(procs[0], {"hj212_port", "http_port"})
        hj_port, port = got["hj212_port"], got["http_port"]
        if args.web_workers:
            procs.append(
                subprocess.Popen(
                    [*cli, "web", "--http-port", "0", "--workers", str(args.web_workers)],
                    stdout=subprocess.PIPE,
                    text=True,
                    env=env,
                    cwd=tmp,
                )
            )
            port = _ports(procs[1], {"http_port"})["http_port"]
        base = f"http://127.0.0.1:{port}"
        _wait_http(base)
        now = datetime.now(UTC)
        series = (
            f"/api/v1/sites/{site}/series?resolution=hour"
            f"&start={(now - timedelta(days=30)).isoformat()}&end={now.isoformat()}"
        )
        series = series.replace("+", "%2B")
        mode = f"{args.web_workers} web worker processes" if args.web_workers else "web in serve"
        print(f"{mode}; devices uploading {args.upload_rate:g} packets/s; {loadavg()}")

        async def phase(path: str, n: int) -> tuple[list[float], int]:
            stop = asyncio.Event()
            up = asyncio.create_task(upload(hj_port, args.devices, args.upload_rate, stop))
            try:
                lat = await load(base, token, path, args.clients, n)
            finally:
                stop.set()
            return lat, await up

        for name, path, n in (
            ("cockpit", "/api/v1/cockpit", args.requests),
            ("30-day chart", series, args.requests // 4),
        ):
            t0 = time.perf_counter()
            lat, sent = asyncio.run(phase(path, n))
            wall = time.perf_counter() - t0
            report(f"{name} ({args.clients} clients)", lat, wall)
            print(f"  while {sent} packets were uploaded ({sent / wall:.0f}/s); {loadavg()}")
    finally:
        for proc in reversed(procs):
            proc.terminate()
            try:
                proc.wait(60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)
        shutil.rmtree(tmp, ignore_errors=True)
    print("caveat: 2-core machine shared with other work; server and clients on one host")


if __name__ == "__main__":
    main()
