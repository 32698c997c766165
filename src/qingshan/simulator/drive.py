"""``qingshan simulate``: drive any HJ 212 platform with N devices at a set packet rate.

Each device holds its own TCP connection (:class:`~qingshan.simulator.client.DeviceClient`),
sends uploads with the reply bit set, evenly spread so that all devices together send ``rate``
packets/s, and waits for each reply. A reply counts as:

* **acknowledged**: CN 9014 carrying the packet's QN, CRC valid (the client parses every reply
  with the HJ 212 library; a frame with a wrong CRC is never matched to a packet);
* **rejected**: CN 9011 with ``QnRtn`` other than 1 (e.g. 3 = wrong password) for that QN;
* **unanswered**: no reply within ``timeout`` (e.g. unknown MN: many platforms stay silent);
* **bad replies**: frames from the platform that fail framing, CRC or parsing.

Latency is from the write of a packet to the arrival of its reply (acknowledged packets).
A device whose connection drops reconnects and carries on (``reconnects``).
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import random
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime

from qingshan.protocol.hj212 import Edition
from qingshan.simulator.client import Ack, DeviceClient, data_packet
from qingshan.simulator.loadgen import raise_fd_limit
from qingshan.simulator.profiles import Profile, ValueWalk, cp_fields, data_time

EDITIONS = ("2005", "2017", "2025")


class SimulateError(ValueError):
    """Bad simulator arguments (target, counts, rates)."""


@dataclass(frozen=True, slots=True)
class SimDevice:
    mn: str
    pw: str


def parse_target(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit():
        raise SimulateError(f"target {text!r} must be HOST:PORT, e.g. 127.0.0.1:9212")
    p = int(port)
    if not 0 < p < 65536:
        raise SimulateError(f"target port {p} out of range 1-65535")
    return host.strip("[]"), p


def make_devices(n: int, edition: str, prefix: str = "QS", pw: str = "123456") -> list[SimDevice]:
    """``n`` devices with MNs ``prefix`` + a zero-padded number: 24 characters (HJ 212-2017 and
    2025) or 14 (HJ/T 212-2005)."""
    width = 14 if edition == "2005" else 24
    digits = width - len(prefix)
    if not prefix.isalnum() or digits < len(str(max(n - 1, 0))):
        raise SimulateError(f"MN prefix {prefix!r} must be letters/digits leaving room for {n}")
    return [SimDevice(f"{prefix}{i:0{digits}d}", pw) for i in range(n)]


@dataclass
class SimReport:
    target: str
    profile: str
    edition: str
    devices: int
    connected: int = 0
    connect_failures: int = 0
    reconnects: int = 0
    sent: int = 0
    acknowledged: int = 0
    rejected: int = 0
    unanswered: int = 0
    bad_replies: int = 0
    elapsed_s: float = 0.0
    latencies: list[float] = field(default_factory=list)
    reject_codes: dict[str, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    def percentile_ms(self, p: float) -> float | None:
        """Nearest-rank percentile of the acknowledgement latency, milliseconds."""
        if not self.latencies:
            return None
        xs = sorted(self.latencies)
        k = max(0, math.ceil(p / 100.0 * len(xs)) - 1)
        return round(xs[k] * 1000.0, 2)

    def as_dict(self) -> dict[str, object]:
        d = asdict(self)
        d.pop("latencies")
        d["errors"] = self.errors[:20]
        d["elapsed_s"] = round(self.elapsed_s, 3)
        d["sent_per_s"] = round(self.sent / self.elapsed_s, 1) if self.elapsed_s else 0.0
        d["latency_p50_ms"] = self.percentile_ms(50)
        d["latency_p99_ms"] = self.percentile_ms(99)
        return d


async def _one(
    host: str,
    port: int,
    dev: SimDevice,
    profile: Profile,
    edition: str,
    count: int,
    interval: float,
    t0: float,
    timeout: float,
    report: SimReport,
    rng: random.Random,
) -> None:
    client = DeviceClient(host, port)
    try:
        await client.connect()
    except (OSError, TimeoutError) as exc:
        report.connect_failures += 1
        report.errors.append(f"{dev.mn}: connect: {exc}")
        return
    report.connected += 1
    walk = ValueWalk(profile, rng)
    now = datetime.now()
    ed = Edition(edition)
    pending: list[asyncio.Future[Ack]] = []
    next_t = t0 + rng.random() * interval
    try:
        for i in range(count):
            delay = next_t - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            next_t += interval
            qn = f"{now:%Y%m%d%H%M%S}{i % 1000:03d}"
            raw = data_packet(
                mn=dev.mn,
                pw=dev.pw,
                st=profile.st,
                cn=profile.cn,
                when=data_time(profile, now, i, count),
                values=cp_fields(profile, walk.next(), edition),
                qn=qn,
                reply=True,
                edition=ed,
            )
            if client.closed.is_set():  # the platform closed the link: reconnect
                await client.close()
                client = DeviceClient(host, port)
                try:
                    await client.connect()
                except (OSError, TimeoutError) as exc:
                    report.errors.append(f"{dev.mn}: reconnect: {exc}")
                    report.unanswered += count - i
                    return
                report.reconnects += 1
            try:
                fut = await client.send(raw, qn)
            except (ConnectionError, OSError) as exc:
                report.errors.append(f"{dev.mn}: send: {exc}")
                report.unanswered += 1
                continue
            report.sent += 1
            assert fut is not None
            pending.append(fut)
        for fut in pending:
            try:
                ack = await asyncio.wait_for(fut, timeout)
            except (TimeoutError, ConnectionError):
                report.unanswered += 1
                continue
            reply = ack.reply
            if reply.cn == "9014":
                report.acknowledged += 1
                report.latencies.append(ack.latency)
            else:
                code = reply.cp.params.get("QnRtn", "?")
                if reply.cn == "9011" and code == "1":  # 准备执行请求: not a data answer
                    report.unanswered += 1
                    continue
                report.rejected += 1
                key = f"{reply.cn}/QnRtn={code}"
                report.reject_codes[key] = report.reject_codes.get(key, 0) + 1
    finally:
        report.bad_replies += client.bad_replies
        await client.close()


async def simulate(
    target: str,
    profile: Profile,
    *,
    devices: Sequence[SimDevice],
    rate: float,
    duration: float,
    edition: str = "2017",
    timeout: float = 10.0,
    seed: int = 212,
) -> SimReport:
    """Run the simulation; returns the counts (see the module docstring)."""
    host, port = parse_target(target)
    if edition not in EDITIONS:
        raise SimulateError(f"edition {edition!r} unknown; use one of {', '.join(EDITIONS)}")
    if not devices:
        raise SimulateError("at least one device is needed")
    if not rate > 0 or not math.isfinite(rate):
        raise SimulateError(f"rate must be a positive number of packets/s, got {rate}")
    if not duration > 0 or not math.isfinite(duration):
        raise SimulateError(f"duration must be a positive number of seconds, got {duration}")
    n = len(devices)
    interval = n / rate  # each device sends every n/rate seconds
    count = max(1, round(duration / interval))
    raise_fd_limit(2 * n + 256)
    report = SimReport(target=target, profile=profile.name, edition=edition, devices=n)
    rng = random.Random(seed)
    t_start = time.perf_counter()
    t0 = t_start + 0.2
    tasks = [
        asyncio.create_task(
            _one(
                host,
                port,
                d,
                profile,
                edition,
                count,
                interval,
                t0,
                timeout,
                report,
                random.Random(rng.random()),
            )
        )
        for d in devices
    ]
    try:
        await asyncio.gather(*tasks)
    finally:
        for t in tasks:
            if not t.done():
                t.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await t
    report.elapsed_s = time.perf_counter() - t0
    return report
