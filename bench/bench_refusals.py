"""A good device's acknowledgements while another floods packets the database refuses.

Runs the real gateway in-process on a temporary SQLite database (and on a scratch PostgreSQL
database when one is reachable, see ``_scratch_db.py``), with a trigger that makes the
database refuse every observation of factor ``zz0001`` (a real refusal by the database). One
connection sends ``--flood`` such packets as fast as it can; meanwhile a good device sends
``--good`` minute uploads one at a time, each waiting for its 9014. Prints the good device's
ack p50 / p99 / max, and how the flood was answered (9011 QnRtn 2 expected for every packet).

The machine has 2 cores shared with other work: read the figures with that caveat.

    python bench/bench_refusals.py [--flood 300] [--good 60]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from collections import Counter
from datetime import datetime, timedelta

import psycopg
from sqlalchemy import Engine, text

from _scratch_db import scratch_pg
from qingshan.gateway.server import Gateway, GatewayConfig
from qingshan.services.registry import add_device
from qingshan.simulator.client import DeviceClient, data_packet, make_qn
from qingshan.storage.db import init_db

GOOD_MN, BAD_MN, PW = "010000A8900016F000169DC0", "010000A8900016F000169DC1", "123456"
T0 = datetime(2026, 3, 1, 8)


def refuse_zz(engine: Engine) -> None:
    with engine.begin() as conn:
        if engine.dialect.name == "sqlite":
            conn.execute(
                text(
                    "CREATE TRIGGER refuse_zz BEFORE INSERT ON observation WHEN NEW.code = "
                    "'zz0001' BEGIN SELECT RAISE(ABORT, 'zz0001 refused'); END"
                )
            )
            return
        conn.execute(
            text(
                "CREATE FUNCTION refuse_zz() RETURNS trigger AS $$ BEGIN IF NEW.code = 'zz0001' "
                "THEN RAISE EXCEPTION 'zz0001 refused'; END IF; RETURN NEW; END $$ "
                "LANGUAGE plpgsql"
            )
        )
        conn.execute(
            text(
                "CREATE TRIGGER refuse_zz BEFORE INSERT ON observation "
                "FOR EACH ROW EXECUTE FUNCTION refuse_zz()"
            )
        )


def packet(mn: str, i: int, code: str) -> tuple[bytes, str]:
    when = T0 + timedelta(minutes=i)
    qn = make_qn(when, i)
    raw = data_packet(
        mn=mn,
        pw=PW,
        st="22",
        cn="2051",
        when=when,
        reply=True,
        qn=qn,
        values={code: {"Avg": "1.0", "Flag": "N"}},
    )
    return raw, qn


async def run(engine: Engine, flood: int, good: int) -> None:
    gw = Gateway(engine, GatewayConfig())
    await gw.start()
    try:
        dev = await DeviceClient("127.0.0.1", gw.port).connect()
        bad = await DeviceClient("127.0.0.1", gw.port).connect()

        async def send_flood() -> list[asyncio.Future]:  # type: ignore[type-arg]
            futs = []
            for i in range(flood):
                fut = await bad.send(*packet(BAD_MN, i, "zz0001"))
                assert fut is not None
                futs.append(fut)
            return futs

        task = asyncio.create_task(send_flood())
        lat = []
        for i in range(good):
            t = time.perf_counter()
            fut = await dev.send(*packet(GOOD_MN, i, "a21026"))
            assert fut is not None
            await asyncio.wait_for(fut, 120)
            lat.append(time.perf_counter() - t)
        answers = await asyncio.wait_for(asyncio.gather(*await task), 300)
        lat.sort()
        p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))]
        print(
            f"  {engine.dialect.name}: good acks p50 {statistics.median(lat) * 1000:.0f} ms, "
            f"p99 {p99 * 1000:.0f} ms, max {lat[-1] * 1000:.0f} ms; flood answers "
            f"{dict(Counter((a.reply.cn, a.reply.cp.params.get('QnRtn')) for a in answers))}"
        )
        await dev.close()
        await bad.close()
    finally:
        await gw.stop()


def bench(url: str, flood: int, good: int) -> None:
    engine = init_db(url)
    add_device(engine, mn=GOOD_MN, pw=PW, st="22")
    add_device(engine, mn=BAD_MN, pw=PW, st="22")
    refuse_zz(engine)
    asyncio.run(run(engine, flood, good))
    engine.dispose()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--flood", type=int, default=300)
    ap.add_argument("--good", type=int, default=60)
    a = ap.parse_args()
    print(f"flood of {a.flood} refused packets, {a.good} good packets one at a time")
    with tempfile.TemporaryDirectory() as d:
        bench(f"sqlite:///{d}/bench.db", a.flood, a.good)
    try:
        with scratch_pg() as url:
            bench(url, a.flood, a.good)
    except psycopg.Error as exc:
        print(f"  postgresql: skipped ({exc})")


if __name__ == "__main__":
    main()
