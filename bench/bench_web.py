"""Web API under load: cockpit p99 and a site's 30-day chart data, 50 concurrent clients.

Builds a temporary SQLite database (or reuses the one in ``--keep DIR``): the district's
region, ``--devices`` devices (20 air stations, 5 water sections, the rest enterprise outlets)
with ``--days`` of hourly data for 6 factors each, plus ``--minute-days`` of 10-minute data
for every device; computes the figures; starts the real ``qingshan serve`` on 127.0.0.1 (with
``--web-workers N`` > 0: ``qingshan serve --no-web`` for the gateway and ``qingshan web
--workers N`` for the web app; 0: the web process ``serve`` starts itself); then ``--clients``
closed-loop clients hammer ``GET /api/v1/cockpit`` and ``GET /api/v1/sites/{id}/series`` (30
days of hourly data, all factors), each for ``--seconds``, while devices keep uploading
real-time packets over HJ 212 (``--upload-rate`` packets/s in all). Prints latency
percentiles, throughput, the CPU time per request of the web workers, of all server
processes and of the load generator, and the load average; ``--profile`` samples the web
workers with py-spy (a developer tool: ``pip install py-spy``) and prints where their time
went.

The clients are a raw asyncio HTTP/1.1 keep-alive client (:class:`Http`), not httpx: on
these two shared cores httpx spent about as much CPU per request as the server's cached path,
so the figures measured the load generator. ``--revalidate`` makes them send the ETag they
hold (``If-None-Match``), as browsers do.

The machine has 2 cores shared with other work: read the figures with that caveat.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
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


class Http:
    """A minimal HTTP/1.1 keep-alive client (GET only, Content-Length bodies).

    The load generator runs on the same two cores as the server: httpx spent about as much
    CPU per request as the server's cached path does, so the figures measured the client.
    This one costs a few tens of microseconds per request (one write, reads until the
    announced length), and it keeps the ``ETag`` of each answer so that ``--revalidate``
    clients can send ``If-None-Match`` as browsers do."""

    def __init__(self, port: int, token: str) -> None:
        self.port = port
        self.token = token
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def get(self, path: str, etag: str | None = None) -> tuple[int, bytes, str | None]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        assert self.reader is not None
        inm = f"If-None-Match: {etag}\r\n" if etag else ""
        self.writer.write(
            f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Authorization: Bearer {self.token}\r\n{inm}\r\n".encode()
        )
        head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        length, tag, close = 0, None, False
        for line in lines[1:]:
            name, _, value = line.partition(":")
            name = name.lower()
            if name == "content-length":
                length = int(value)
            elif name == "etag":
                tag = value.strip()
            elif name == "connection" and value.strip().lower() == "close":
                close = True
        body = await self.reader.readexactly(length) if length else b""
        if close:
            self.close()
        return status, body, tag

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


async def load(
    port: int, token: str, path: str, clients: int, total: int, seconds: float, revalidate: bool
) -> tuple[list[float], int]:
    """``clients`` closed-loop clients, ``total`` requests in all (0: as many as fit in
    ``seconds``); latencies in ms and the number of 304 answers (``revalidate``: each client
    sends the ETag it holds)."""
    lat: list[float] = []
    left = total or 1 << 62
    until = time.perf_counter() + seconds if not total else float("inf")
    errors = 0
    not_modified = 0

    async def worker(c: Http) -> None:
        nonlocal left, errors, not_modified
        etag = None
        while left > 0 and time.perf_counter() < until:
            left -= 1
            t = time.perf_counter()
            status, _, tag = await c.get(path, etag if revalidate else None)
            lat.append((time.perf_counter() - t) * 1000)
            if status == 304:
                not_modified += 1
            elif status == 200:
                etag = tag
            else:
                errors += 1

    conns = [Http(port, token) for _ in range(clients)]
    try:
        # warm-up: concurrent requests reach every worker process (each computes its payload once)
        await asyncio.gather(*(c.get(path) for c in conns[:8]))
        await asyncio.gather(*(worker(c) for c in conns))
    finally:
        for c in conns:
            c.close()
    if errors:
        raise SystemExit(f"{errors} requests to {path} failed")
    return lat, not_modified


def report(name: str, lat: list[float], wall: float) -> None:
    q = statistics.quantiles(lat, n=100)
    print(
        f"{name}: n={len(lat)} p50={q[49]:.1f} ms p95={q[94]:.1f} ms p99={q[98]:.1f} ms "
        f"max={max(lat):.1f} ms throughput={len(lat) / wall:.0f} req/s"
    )


def children(pid: int) -> list[int]:
    """The process ``pid`` and all its descendants (Linux /proc)."""
    out = [pid]
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            kids = [int(x) for x in f.read().split()]
    except OSError:
        return out
    for k in kids:
        out += children(k)
    return out


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time of ``pids`` (Linux /proc; a vanished process counts 0)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / tick


def profile_start(pids: list[int], out: Path) -> list[subprocess.Popen[bytes]]:
    """py-spy (a developer tool, not a dependency: ``pip install py-spy``) sampling each
    web worker process while a phase runs, as collapsed stacks."""
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not Path(spy).exists():
        raise SystemExit("--profile needs py-spy (pip install py-spy)")
    return [
        subprocess.Popen(
            [
                spy,
                "record",
                "--pid",
                str(pid),
                "--rate",
                "200",
                "--format",
                "raw",
                "--threads",
                "--gil",
                "--nonblocking",
                "--output",
                str(out / f"{pid}.txt"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for pid in pids
    ]


# Frames under every sample (process start, the event loop, threads): not worth listing.
_PLUMBING = ("multiprocessing/", "asyncio/", "uvicorn/_", "uvicorn/server", "threading.py", "<")


def profile_report(spies: list[subprocess.Popen[bytes]], out: Path, top: int) -> None:
    """Stop the samplers; print the functions with the most samples, own and inclusive."""
    for p in spies:
        p.send_signal(signal.SIGINT)
    for p in spies:
        p.wait(60)
    own: Counter[str] = Counter()
    incl: Counter[str] = Counter()
    total = 0
    for f in out.glob("*.txt"):
        for line in f.read_text().splitlines():
            stack, _, n = line.rpartition(" ")
            if not stack or not n.isdigit():
                continue
            frames = stack.split(";")
            if "(idle)" in frames[-1] or "epoll" in frames[-1] or "wait (threading" in frames[-1]:
                continue  # waiting, not working
            k = int(n)
            total += k
            own[frames[-1]] += k
            for fr in set(frames[1:]):
                if not any(x in fr for x in _PLUMBING):
                    incl[fr] += k
    print(f"  profile: {total} busy samples (200/s) over the web workers")
    for title, counts in (("own", own), ("inclusive", incl)):
        print(f"  -- top {top} by {title} samples")
        for fr, k in counts.most_common(top):
            print(f"  {k / max(total, 1) * 100:5.1f}%  {fr[:150]}")
    for f in out.glob("*.txt"):
        f.unlink()


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
    ap.add_argument(
        "--requests", type=int, default=0, help="requests per phase (0: run --seconds each)"
    )
    ap.add_argument(
        "--seconds",
        type=float,
        default=20.0,
        help="length of each phase: long enough for several payload recomputations (every 5 s)",
    )
    ap.add_argument(
        "--web-workers", type=int, default=2, help="0 = the web process serve starts itself"
    )
    ap.add_argument("--upload-rate", type=float, default=50.0, help="packets/s, all devices")
    ap.add_argument(
        "--revalidate", action="store_true", help="clients send If-None-Match (as browsers do)"
    )
    ap.add_argument(
        "--keep",
        type=Path,
        help="directory holding the database between runs (built on the first run, reused)",
    )
    ap.add_argument(
        "--profile", action="store_true", help="sample the web workers with py-spy per phase"
    )
    ap.add_argument("--top", type=int, default=20, help="functions shown by --profile")
    args = ap.parse_args()
    tmp = args.keep or Path(tempfile.mkdtemp(prefix="qingshan-bench-web-"))
    tmp.mkdir(parents=True, exist_ok=True)
    url = f"sqlite:///{tmp / 'bench.db'}"
    meta = tmp / "bench.json"
    if args.keep and meta.exists():
        site, token = json.loads(meta.read_text())
        print(f"data: reusing {tmp / 'bench.db'}", flush=True)
    else:
        site, token = build(url, args.devices, args.days, args.minute_days)
        meta.write_text(json.dumps([site, token]))
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
        mode = (
            f"{args.web_workers} web worker processes"
            if args.web_workers
            else "the web process of serve"
        )
        extra = "; clients revalidate (If-None-Match)" if args.revalidate else ""
        print(f"{mode}; devices uploading {args.upload_rate:g} packets/s{extra}; {loadavg()}")
        web_root = procs[-1].pid
        workers = [p for p in children(web_root) if p != web_root] or [web_root]

        async def phase(path: str, n: int) -> tuple[list[float], int, int]:
            stop = asyncio.Event()
            up = asyncio.create_task(upload(hj_port, args.devices, args.upload_rate, stop))
            try:
                lat, n304 = await load(
                    port, token, path, args.clients, n, args.seconds, args.revalidate
                )
            finally:
                stop.set()
            return lat, n304, await up

        for name, path, n in (
            ("cockpit", "/api/v1/cockpit", args.requests),
            ("30-day chart", series, args.requests // 4),  # (0 stays 0: by time)
        ):
            spies = profile_start(workers, tmp) if args.profile else []
            server = [q for p in procs for q in children(p.pid)]
            s0, w0, c0 = cpu_seconds(server), cpu_seconds(workers), time.process_time()
            t0 = time.perf_counter()
            lat, n304, sent = asyncio.run(phase(path, n))
            wall = time.perf_counter() - t0
            s1, w1, c1 = cpu_seconds(server), cpu_seconds(workers), time.process_time()
            report(f"{name} ({args.clients} clients)", lat, wall)
            print(
                f"  while {sent} packets were uploaded ({sent / wall:.0f}/s); {loadavg()}"
                + (f"; {n304} answers 304" if n304 else "")
            )
            print(
                f"  CPU per request: web workers {(w1 - w0) / len(lat) * 1e6:.0f} us, "
                f"all server processes {(s1 - s0) / len(lat) * 1e6:.0f} us "
                f"(gateway and uploads included), load generator "
                f"{(c1 - c0) / len(lat) * 1e6:.0f} us"
            )
            if spies:
                profile_report(spies, tmp, args.top)
    finally:
        for proc in reversed(procs):
            proc.terminate()
            try:
                proc.wait(60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
    print("caveat: 2-core machine shared with other work; server and clients on one host")


if __name__ == "__main__":
    main()
