"""Load generator: many simulated devices streaming minute packets with the reply bit set.

Used by ``bench/bench_gateway.py`` (and reusable by simulators). Each connection is one device
(its own MN); packets are built before the clock starts so the generator spends its CPU on
sockets, not on CRCs. Replies are matched to packets by QN with a byte search instead of a full
parse, for the same reason. Two modes:

* ``rate`` given: the devices together send ``rate`` packets/s, evenly spread (each device
  every ``connections / rate`` seconds with a random phase): latency under a set load.
* ``rate`` None: each device keeps ``window`` packets unacknowledged at all times:
  the throughput the gateway sustains.
"""

from __future__ import annotations

import asyncio
import random
import re
import resource
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from qingshan.protocol.hj212 import build_packet

_QN = re.compile(rb"QN=(\d{17,20});")


@dataclass
class LoadResult:
    connections: int = 0
    connect_failures: int = 0
    sent: int = 0
    acked: int = 0
    elapsed: float = 0.0
    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def acked_per_s(self) -> float:
        return self.acked / self.elapsed if self.elapsed else 0.0

    def percentile(self, p: float) -> float:
        if not self.latencies:
            return float("nan")
        xs = sorted(self.latencies)
        return xs[min(len(xs) - 1, int(p / 100 * len(xs)))]


def raise_fd_limit(wanted: int) -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = min(max(soft, wanted), hard)
    if target > soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return target


def minute_packets(
    mn: str, pw: str, count: int, start: datetime, st: str = "22"
) -> list[tuple[str, bytes]]:
    """``count`` consecutive minute uploads (SO2, NO2, PM2.5, PM10 with flags) for one device."""
    out = []
    for i in range(count):
        when = start + timedelta(minutes=i)
        qn = when.strftime("%Y%m%d%H%M%S") + f"{i % 1000:03d}"
        # One group per code, its fields joined by "," (HJ 212 CP layout).
        cp = (
            f"DataTime={when:%Y%m%d%H%M%S};"
            f"a21026-Avg={8 + i % 5}.{i % 10},a21026-Flag=N;"
            f"a21004-Avg={20 + i % 9}.{i % 7},a21004-Flag=N;"
            f"a34004-Avg=0.0{30 + i % 20},a34004-Flag=N;"
            f"a34002-Avg=0.0{50 + i % 30},a34002-Flag=N"
        )
        out.append(
            (qn, build_packet(st=st, cn="2051", pw=pw, mn=mn, cp=cp, qn=qn, needs_reply=True))
        )
    return out


@dataclass
class _Start:
    total: int
    arrived: int = 0
    t: float = 0.0
    event: asyncio.Event = field(default_factory=asyncio.Event)

    def arrive(self) -> None:
        self.arrived += 1
        if self.arrived >= self.total:
            self.t = time.perf_counter() + 0.2
            self.event.set()


async def _device(
    host: str,
    port: int,
    packets: Sequence[tuple[str, bytes]],
    result: LoadResult,
    *,
    interval: float | None,
    window: int,
    start: _Start,
) -> None:
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), 60)
    except (OSError, TimeoutError) as exc:
        result.connect_failures += 1
        result.errors.append(f"connect: {exc}")
        start.arrive()
        return
    result.connections += 1
    start.arrive()
    await start.event.wait()
    sent_at: dict[bytes, float] = {}
    slots = asyncio.Semaphore(window)
    done = asyncio.Event()
    expected = len(packets)
    got = 0

    async def read() -> None:
        nonlocal got
        buf = b""
        while got < expected:
            data = await reader.read(65536)
            if not data:
                break
            buf += data
            *lines, buf = buf.split(b"\r\n")
            now = time.perf_counter()
            for line in lines:
                m = _QN.search(line)
                if m and (t0 := sent_at.pop(m.group(1), None)) is not None:
                    result.latencies.append(now - t0)
                    result.acked += 1
                    got += 1
                    slots.release()
        done.set()

    rd = asyncio.create_task(read())
    try:
        next_t = start.t + (random.random() * interval if interval else 0.0)
        for qn, raw in packets:
            if interval is not None:
                delay = next_t - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                next_t += interval
            else:
                await slots.acquire()
            sent_at[qn.encode()] = time.perf_counter()
            writer.write(raw)
            result.sent += 1
            if writer.transport.get_write_buffer_size() > 65536:
                await writer.drain()
        await asyncio.wait_for(done.wait(), 60)
    except (TimeoutError, ConnectionError, OSError) as exc:
        result.errors.append(f"{type(exc).__name__}: {exc}")
    finally:
        rd.cancel()
        writer.close()


async def run_load(
    host: str,
    port: int,
    devices: Sequence[Sequence[tuple[str, bytes]]],
    *,
    rate: float | None = None,
    window: int = 2,
) -> LoadResult:
    """Connect every device (one packet list each), then stream; returns counts, latencies."""
    raise_fd_limit(len(devices) * 2 + 256)
    result = LoadResult()
    start = _Start(len(devices))
    interval = len(devices) / rate if rate else None
    tasks = [
        asyncio.create_task(
            _device(host, port, p, result, interval=interval, window=window, start=start)
        )
        for p in devices
    ]
    await start.event.wait()
    t0 = start.t
    await asyncio.gather(*tasks)
    result.elapsed = time.perf_counter() - t0
    return result
