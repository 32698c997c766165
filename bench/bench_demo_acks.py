"""Demo benchmark: HJ 212 acknowledgements while the backfilled months' figures are computed.

Runs the live path of ``qingshan demo`` on a fresh temporary SQLite file: a short history
(``--months``, ``--minute-days``), then the gateway (with its periodic roll-up and
``update_dirty`` figure jobs), the simulated device fleet and, after ``--warmup`` seconds, the
figures of every backfilled month computed month by month in a worker thread, newest first, as
``qingshan demo`` does. Every acknowledgement the simulated devices receive is timed.

Prints, for the warm-up (no figure work) and for the figure computation window:

* the longest ack stall: the largest gap between successive acknowledgements seen by the
  simulator (the window's start and end count as boundaries);
* p50 / p99 / max ack latency: from the write of a packet to its acknowledgement, for packets
  sent in the window.

The machine has 2 cores shared with other work: figures are indicative.

    python bench/bench_demo_acks.py [--months 2] [--minute-days 0.5] [--warmup 15]
        [--tail 5] [--figures-interval 5] [--realtime-every 0.5]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from qingshan.demo.district import load_district
from qingshan.demo.loader import DEFAULT_SEED, DemoDevice, device_plan, prepare
from qingshan.gateway.runner import serve
from qingshan.gateway.server import GatewayConfig
from qingshan.protocol.hj212 import Edition, build_packet
from qingshan.services.figures import recompute_all
from qingshan.services.registry import seed_factors
from qingshan.simulator.live import LiveFleet, _Out, bjt_now
from qingshan.storage.db import init_db, make_engine, session_factory


class TimedFleet(LiveFleet):
    """The demo's fleet, recording (sent, acknowledged) monotonic times of every ack.

    Its real-time uploads (CN 2011, every ``realtime_every`` s) ask for a reply, unlike the
    demo's: they probe the gateway continuously instead of only at each minute's data.
    """

    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.acks: list[tuple[float, float]] = []
        self.lost: list[float] = []  # send times of packets never acknowledged (10 s timeout)

    def _packet(
        self,
        dev: DemoDevice,
        cn: str,
        when: datetime,
        fields: dict[str, dict[str, str]],
        *,
        split_ok: bool,
    ) -> _Out:
        if cn != "2011":
            return super()._packet(dev, cn, when, fields, split_ok=split_ok)
        qn = self._qn(dev)
        ed = Edition(dev.edition)
        raw = build_packet(
            st=dev.st,
            cn=cn,
            pw=dev.pw,
            mn=dev.mn,
            cp=self._cp(dev, when, fields),
            qn=qn,
            edition=ed,
            needs_reply=True,
            flag=1 if ed is Edition.V2005 else None,
        )
        return _Out(qn, (raw,), True)

    async def _write(self, client: Any, out: Any) -> list[asyncio.Future[Any]]:
        t = time.monotonic()
        futs = await super()._write(client, out)

        def done(f: asyncio.Future[Any], t: float = t) -> None:
            if not f.cancelled() and f.exception() is None:
                self.acks.append((t, time.monotonic()))
            else:
                self.lost.append(t)

        for f in futs:
            f.add_done_callback(done)
        return futs


def _pct(xs: list[float], q: float) -> float:
    if not xs:
        return float("nan")
    s = sorted(xs)
    return s[min(len(s) - 1, int(q * len(s)))]


def _report(name: str, fleet: TimedFleet, a: float, z: float) -> None:
    times = sorted(t for _, t in fleet.acks if a <= t <= z)
    edges = [a, *times, z]
    stall = max(b - x for x, b in itertools.pairwise(edges))
    # packets acknowledged in the window or sent in it (a stuck packet counts once answered)
    lat = [t - s for s, t in fleet.acks if a <= t <= z or a <= s <= z]
    lost = sum(1 for s in fleet.lost if a <= s <= z)
    print(
        f"  {name:27s} {z - a:5.1f} s {len(times):5d} acks, longest ack stall "
        f"{stall:5.2f} s, latency p50 {_pct(lat, 0.5) * 1000:6.1f} ms p99 "
        f"{_pct(lat, 0.99) * 1000:6.1f} ms max {max(lat, default=0) * 1000:6.1f} ms, "
        f"{lost} unanswered"
    )


async def _run(args: argparse.Namespace, engine: Any, r: Any) -> None:
    stop = asyncio.Event()
    ports: asyncio.Future[tuple[int, int]] = asyncio.get_running_loop().create_future()
    config = GatewayConfig(host="127.0.0.1", port=0)
    server = asyncio.create_task(
        serve(
            engine,
            config,
            http_host="127.0.0.1",
            http_port=0,
            retention_days=30,
            figures_interval=args.figures_interval,
            stop_event=stop,
            ready=lambda hj, web: ports.set_result((hj, web)),
        )
    )
    hj, _ = await ports
    district = load_district()
    fleet = TimedFleet(
        "127.0.0.1",
        hj,
        district,
        device_plan(district),
        history_end=r.history_end,
        seed=args.seed,
        realtime_every=args.realtime_every,
    )
    live = asyncio.create_task(fleet.run(stop))
    t_live = time.monotonic()
    await asyncio.sleep(args.warmup)
    b = r.backfill
    assert b is not None
    months = []
    m = b.start.date().replace(day=1)
    last = (b.end - timedelta(hours=1)).date()
    while m <= last:
        nxt = (m.replace(day=28) + timedelta(days=4)).replace(day=1)
        months.append((max(m, b.start.date()), min(nxt - timedelta(days=1), last)))
        m = nxt
    t_fig = time.monotonic()
    for a, z in reversed(months):
        await asyncio.to_thread(recompute_all, session_factory(engine), start=a, end=z)
        await asyncio.sleep(0.5)
    t_fig_end = time.monotonic()
    await asyncio.sleep(args.tail)
    stop.set()
    await asyncio.gather(live, server, return_exceptions=True)
    st = fleet.stats
    print(
        f"  fleet: {len(fleet.devices)} devices, {st.sent} sent, {st.acknowledged} "
        f"acknowledged, {st.resent} re-sent, {st.rejected} rejected; figures of "
        f"{len(months)} months in {t_fig_end - t_fig:.1f} s"
    )
    # the first seconds are the catch-up burst (补发) from the history's end
    _report("before figures (warm-up)", fleet, t_live + min(5.0, args.warmup / 2), t_fig)
    _report("during figure computation", fleet, t_fig, t_fig_end)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("--months", type=int, default=2)
    p.add_argument("--minute-days", type=float, default=0.5)
    p.add_argument("--warmup", type=float, default=15.0)
    p.add_argument("--tail", type=float, default=5.0)
    p.add_argument("--figures-interval", type=float, default=5.0)
    p.add_argument("--realtime-every", type=float, default=0.5)
    p.add_argument("--seed", type=int, default=DEFAULT_SEED)
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'demo.db'}"
        # as `qingshan demo`: a long busy timeout, so commits wait instead of failing
        engine = init_db(make_engine(url, sqlite_busy_timeout_ms=60_000))
        seed_factors(engine)
        t0 = time.perf_counter()
        r = prepare(
            engine,
            load_district(),
            now=bjt_now(),
            months=args.months,
            minute_days=args.minute_days,
            seed=args.seed,
        )
        print(
            f"history: {args.months} months + {args.minute_days} minute days loaded in "
            f"{time.perf_counter() - t0:.0f} s"
        )
        try:
            asyncio.run(_run(args, engine, r))
        finally:
            engine.dispose()


if __name__ == "__main__":
    main()
