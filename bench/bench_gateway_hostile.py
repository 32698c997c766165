"""Hostile soak: every attack of ``tests/hostile`` at once, plus fuzzed packets, for a while.

Starts ``qingshan serve`` (SQLite in a temporary directory, or a scratch PostgreSQL database)
under an open-file limit of 1024 with the suite's limits, registers a good device and an
attacker's device, and runs for ``--seconds``, all from their own loopback addresses:

* PW guessing (pipelined, reconnecting), unknown-MN heartbeats;
* never-completed split parts from unknown MNs and from the attacker's device;
* idle connections opened as fast as they are closed;
* fuzz: valid packets with random bit flips, truncations, splices and random PNUM/PNO;
* a client that never reads its replies.

Prints the good device's acknowledgement latency (p50 / p99 / max), the server's resident
memory and open descriptors (start and peak), the refusal totals of ``/healthz`` and the
quarantine rows, and a verdict: FAILED when the good device's p99 reaches 1 s, an
acknowledged packet is not stored, or memory grows by more than 100 MB (exit status 1 with
``--strict``).

    python bench/bench_gateway_hostile.py [--seconds 30] [--backend sqlite|postgresql] [--seed 1]
        [--only guess,unknown,split,idle,fuzz,non_reader | --only none] [--strict]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import socket
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import func, select

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from hostile.harness import (
    GOOD_MN,
    GOOD_PW,
    T0,
    GoodDevice,
    connect_from,
    minute_packet,
    read_replies,
    serve,
    staff_token,
)
from qingshan.protocol.hj212 import build_packet, heartbeat
from qingshan.services.registry import add_device
from qingshan.simulator.client import make_qn
from qingshan.storage.db import init_db
from qingshan.storage.models import Quarantine, ReceivedPacket

ATTACKER_MN = "010000A8900016F000169A00"
ATTACKER_PW = "654321"
LIMITS = {
    "hj212_split_budget_bytes": str(256 * 1024),
    "hj212_write_buffer_bytes": str(16 * 1024),
    "hj212_auth_block_seconds": "3",
}


def fuzz(rnd: random.Random, i: int) -> bytes:
    """A mutated packet: bit flips, truncation, splices, random PNUM/PNO, random bytes."""
    base = minute_packet(i, mn=ATTACKER_MN, pw=ATTACKER_PW)
    kind = rnd.randrange(5)
    data = bytearray(base)
    if kind == 0:
        for _ in range(rnd.randint(1, 4)):
            data[rnd.randrange(len(data))] ^= 1 << rnd.randrange(8)
    elif kind == 1:
        data = data[: rnd.randrange(1, len(data))]
    elif kind == 2:
        other = minute_packet(i + 1, mn=GOOD_MN, pw="000000")
        cut = rnd.randrange(len(data))
        data = data[:cut] + other[rnd.randrange(len(other)) :]
    elif kind == 3:
        pnum = rnd.choice([0, 1, 2, 999, 5000, 99999])
        pno = rnd.choice([0, 1, pnum, pnum + 1])
        with contextlib.suppress(ValueError):
            data = bytearray(
                build_packet(
                    st="22",
                    cn="2051",
                    pw=ATTACKER_PW,
                    mn=ATTACKER_MN,
                    cp=f"DataTime={T0:%Y%m%d%H%M%S};a21026-Avg=1.5",
                    qn=make_qn(T0, i % 1000),
                    pnum=pnum,
                    pno=pno,
                    needs_reply=True,
                )
            )
    else:
        data = bytearray(rnd.randbytes(rnd.randint(1, 400)))
    return bytes(data)


async def loop_until(stop: float, body: object) -> int:
    """Run the coroutine function ``body`` until ``stop``; count the rounds."""
    n = 0
    while time.monotonic() < stop:
        with contextlib.suppress(OSError, ConnectionError, TimeoutError):
            await body()  # type: ignore[operator]
        n += 1
        await asyncio.sleep(0.01)
    return n


async def attacks(
    port: int, seconds: float, seed: int, only: set[str] | None = None
) -> dict[str, int]:
    rnd = random.Random(seed)
    stop = time.monotonic() + seconds
    guesses = b"".join(minute_packet(i, pw=f"{i:06d}") for i in range(200))
    beats = b"".join(
        heartbeat(mn="010000A8900016F000099999", pw="123456", qn=make_qn(T0, i), needs_reply=True)
        for i in range(200)
    )
    parts = b"".join(
        build_packet(
            st="22",
            cn="2051",
            pw=ATTACKER_PW,
            mn=ATTACKER_MN,
            cp=f"DataTime={T0:%Y%m%d%H%M%S};" + ";".join(f"a2{k:04d}-Avg=1.5" for k in range(60)),
            qn=make_qn(T0, i % 1000),
            needs_reply=True,
            pnum=2,
            pno=1,
        )
        for i in range(300)
    )
    address = iter(range(10**9))

    def addr(block: int) -> str:
        n = next(address)
        return f"127.{block}.{(n // 250) % 250}.{n % 250 + 1}"

    async def guess() -> None:
        r, w = await connect_from(addr(10), port)
        w.write(guesses)
        await read_replies(r, timeout=3)
        w.close()

    async def unknown() -> None:
        r, w = await connect_from(addr(11), port)
        w.write(beats)
        await read_replies(r, timeout=3)
        w.close()

    async def split() -> None:
        r, w = await connect_from(addr(12), port)
        w.write(parts)
        await asyncio.wait_for(w.drain(), 3)
        await read_replies(r, timeout=1)
        w.close()

    async def idle() -> None:
        got = await asyncio.gather(
            *[connect_from(addr(13), port) for _ in range(100)], return_exceptions=True
        )
        await asyncio.sleep(0.5)
        for c in got:
            if isinstance(c, tuple):
                c[1].close()

    async def fuzzer() -> None:
        r, w = await connect_from(addr(14), port)
        w.write(b"".join(fuzz(rnd, i) for i in range(100)))
        await read_replies(r, timeout=1)
        w.close()

    async def non_reader() -> None:
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.bind((addr(15), 0))
        sock.setblocking(False)
        await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", port))
        _r, w = await asyncio.open_connection(sock=sock)
        hb = b"".join(minute_packet(i, mn=ATTACKER_MN, pw=ATTACKER_PW) for i in range(2000, 2200))
        for _ in range(50):
            w.write(hb)
            await asyncio.wait_for(w.drain(), 1)
        w.close()

    async def none() -> None:  # the baseline: the good device alone
        await asyncio.sleep(0.5)

    every = {
        "none": none,
        "guess": guess,
        "unknown": unknown,
        "split": split,
        "idle": idle,
        "fuzz": fuzzer,
        "non_reader": non_reader,
    }
    chosen = {k: f for k, f in every.items() if (k != "none") if only is None or k in only}
    if only == {"none"}:
        chosen = {"none": none}
    counts = await asyncio.gather(*[loop_until(stop, f) for f in chosen.values()])
    return dict(zip(chosen, counts, strict=True))


@contextmanager
def database(backend: str, cwd: Path) -> Iterator[str]:
    if backend == "sqlite":
        yield f"sqlite:///{cwd / 'qingshan.db'}"
        return
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from _scratch_db import scratch_pg

    with scratch_pg() as url:
        yield url


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--strict", action="store_true", help="exit 1 when the verdict is FAILED")
    ap.add_argument(
        "--only",
        default="",
        help="comma-separated attacks (guess,unknown,split,idle,fuzz,non_reader; none: baseline)",
    )
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp, database(args.backend, Path(tmp)) as url:
        cwd = Path(tmp)
        engine = init_db(url)
        add_device(engine, mn=GOOD_MN, pw=GOOD_PW, st="22")
        add_device(engine, mn=ATTACKER_MN, pw=ATTACKER_PW, st="22")
        token = staff_token(engine)
        with serve(url, cwd, nofile=1024, **LIMITS) as srv:
            rss0, fds0 = srv.rss_mb(), srv.fds()
            peak = {"rss": rss0, "fds": fds0}

            async def run() -> tuple[GoodDevice, dict[str, int]]:
                # The good device runs in its own process (the harness's GoodDevice): the
                # attackers' CPU work here is not its latency.
                good = await GoodDevice(srv.hj212_port, interval=0.05).start()

                async def sample() -> None:
                    while True:
                        peak["rss"] = max(peak["rss"], srv.rss_mb())
                        peak["fds"] = max(peak["fds"], srv.fds())
                        await asyncio.sleep(0.2)

                sampler = asyncio.create_task(sample())
                only = set(args.only.split(",")) if args.only else None
                rounds = await attacks(srv.hj212_port, args.seconds, args.seed, only)
                sampler.cancel()
                await good.stop()
                return good, rounds

            good, rounds = asyncio.run(run())
            t_health = time.monotonic()
            limits = srv.healthz(token)["gateway_limits"]
            t_health = time.monotonic() - t_health
            log_kb = srv.log_bytes() / 1024
        with engine.connect() as conn:
            stored = set(
                conn.execute(
                    select(ReceivedPacket.qn).where(ReceivedPacket.mn == GOOD_MN)
                ).scalars()
            )
            quarantined = conn.execute(select(func.count()).select_from(Quarantine)).scalar()
        engine.dispose()
    lat = sorted(good.latencies)

    def pct(p: float) -> float:
        return lat[min(len(lat) - 1, int(p * len(lat)))] * 1000

    lost = set(good.acked) - stored
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"== hostile soak, {args.backend}, {args.seconds:g} s, seed {args.seed}; load {load}")
    print("  attack rounds: " + ", ".join(f"{k} {v}" for k, v in rounds.items()))
    print(
        f"  good device: {len(good.acked)} acks, p50 {pct(0.5):.1f} ms, p99 {pct(0.99):.1f} ms,"
        f" max {lat[-1] * 1000:.1f} ms; acknowledged but not stored: {len(lost)}"
    )
    print(
        f"  server: RSS {rss0:.0f} → peak {peak['rss']:.0f} MB; fds {fds0} → peak {peak['fds']}"
        f" (cap {limits['max_connections']}); log {log_kb:.0f} kB; /healthz {t_health:.2f} s"
    )
    print(
        f"  refused connections {limits['refused_connections']}, held split bytes "
        f"{limits['held_split_bytes']} of {limits['split_budget_bytes']}, evicted parts "
        f"{limits['evicted_split_parts']}, quarantine rows {quarantined}"
    )
    print("  refusals: " + ", ".join(f"{k} {v}" for k, v in limits["refusals"].items()))
    ok = good.unanswered == 0 and pct(0.99) < 1000 and not lost and peak["rss"] - rss0 < 100
    if good.error:
        print(f"  good device: {good.error}")
    print("  verdict: " + ("held" if ok else "FAILED"))
    return 0 if ok or not args.strict else 1


if __name__ == "__main__":
    raise SystemExit(main())
