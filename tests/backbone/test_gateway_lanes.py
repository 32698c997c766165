"""The gateway's hot path under hostile input (issue 18), on SQLite and PostgreSQL:

* packets the database refuses are split out in a bounded number of transactions, and the
  packets of a device refused a moment ago wait in the commit queue's slow lane instead of
  holding up the others (:meth:`Ingestor.write` with ``defer``);
* a part of a split packet refused for a value is answered (9011 QnRtn 2), not only
  quarantined, and the parts already held of its packet are evicted;
* a device registered after the gateway started is accepted on its first packet (the MN is
  looked up in the database), and look-ups of unknown MNs are rate-limited.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

from sqlalchemy import Engine, event, func, select

from conftest import migrated_sqlite_url
from qingshan.gateway.commit import CommitQueue
from qingshan.gateway.server import Gateway, GatewayConfig
from qingshan.protocol.hj212 import Framer, build_packet, parse_frame
from qingshan.services.decode import Decoder
from qingshan.services.ingest import SPLIT_BUDGET, Ingestor, Item, Outcome
from qingshan.services.registry import Directory, add_device
from qingshan.simulator.client import DeviceClient, data_packet, make_qn
from qingshan.storage.db import make_engine
from qingshan.storage.models import Quarantine, ReceivedPacket
from support.hj212 import MN, MN2, PW, T0, minute, qn_of
from support.refusing import REFUSED_CODE, refusing


def refused_packet(mn: str, i: int) -> tuple[bytes, str]:
    when = T0 + timedelta(minutes=i)
    qn = make_qn(when, 5000 + i)
    raw = data_packet(
        mn=mn,
        pw=PW,
        st="22",
        cn="2051",
        when=when,
        reply=True,
        qn=qn,
        values={REFUSED_CODE: {"Avg": "1.0", "Flag": "N"}},
    )
    return raw, qn


@contextmanager
def failed_transactions(engine: Engine) -> Iterator[list[int]]:
    """Counts the transactions rolled back on ``engine`` while the block runs."""
    count = [0]

    def on_rollback(_conn: object) -> None:
        count[0] += 1

    event.listen(engine, "rollback", on_rollback)
    try:
        yield count
    finally:
        event.remove(engine, "rollback", on_rollback)


def items(engine: Engine, raws: list[bytes]) -> list[Item]:
    decoder = Decoder(Directory(engine))
    decoder.directory.reload()
    out: list[Item] = []
    for raw in raws:
        got = decoder.decode(raw, peer="test", now=0.0)
        assert not hasattr(got, "item"), got
        out.append(got)  # type: ignore[arg-type]
    return out


def test_a_refused_device_is_deferred_and_the_split_is_bounded(engine: Engine) -> None:
    """One good packet in a batch with 60 packets of a device the database refuses: the
    good one is stored at once, one refused packet is found by bisection (a handful of failed
    transactions, not one per packet), the rest of that device's packets are deferred; the
    next batch defers them all up front; written without ``defer`` each one is refused."""
    add_device(engine, mn=MN, pw=PW, st="22")
    add_device(engine, mn=MN2, pw=PW, st="22")
    ing = Ingestor(engine)
    bad = [refused_packet(MN2, i)[0] for i in range(60)]
    batch = items(engine, [*bad[:30], minute(0), *bad[30:]])
    with refusing(engine), failed_transactions(engine) as failed:
        out = ing.write(batch, defer=True)
        first_failures = failed[0]
        statuses = [o.status for o in out]
        assert statuses[30] == "stored"
        assert statuses.count("rejected") == 1
        assert statuses.count("deferred") == 59
        assert first_failures <= 8  # log2(61) + 1 halvings, not 60
        # The device is suspect now: its packets are deferred without any transaction.
        again = ing.write(items(engine, [minute(1), *bad[:5]]), defer=True)
        assert [o.status for o in again] == ["stored"] + ["deferred"] * 5
        assert failed[0] == first_failures
        # Written apart (the commit queue's slow lane): each refused on its own.
        apart = ing.write(items(engine, bad[:3]))
        assert [(o.status, o.reason) for o in apart] == [("rejected", "db_refused")] * 3
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(Quarantine)).scalar() == 4


def test_splitting_a_batch_refused_by_many_devices_is_bounded(engine: Engine) -> None:
    """Refused packets of 40 different devices in one batch: at most SPLIT_BUDGET failed
    transactions are spent splitting it before the rest is deferred; the good packet is
    answered in that call either way (stored or deferred, never lost)."""
    mns = [f"010000A8900016F0001{i:05d}" for i in range(40)]
    for mn in [MN, *mns]:
        add_device(engine, mn=mn, pw=PW, st="22")
    ing = Ingestor(engine)
    raws = [refused_packet(mn, i)[0] for i, mn in enumerate(mns)]
    batch = items(engine, [*raws[:20], minute(0), *raws[20:]])
    with refusing(engine), failed_transactions(engine) as failed:
        out = ing.write(batch, defer=True)
    assert failed[0] <= SPLIT_BUDGET + 1
    statuses = [o.status for o in out]
    assert statuses[20] in ("stored", "deferred")
    assert statuses.count("deferred") >= 1
    assert set(statuses) <= {"stored", "rejected", "deferred"}


def split_parts(mn: str, values: tuple[str, str]) -> list[bytes]:
    when = T0 + timedelta(minutes=3)
    qn = make_qn(when, 42)
    return [
        build_packet(
            st="22",
            cn="2051",
            pw=PW,
            mn=mn,
            cp=f"DataTime={when:%Y%m%d%H%M%S};a2102{pno}-Avg={values[pno - 1]},a2102{pno}-Flag=N",
            qn=qn,
            needs_reply=True,
            pnum=2,
            pno=pno,
        )
        for pno in (1, 2)
    ]


async def replies(port: int, raws: list[bytes], expect: int) -> list[tuple[str, str | None]]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"".join(raws))
    await writer.drain()
    framer, got = Framer(), []
    while len(got) < expect:
        data = await asyncio.wait_for(reader.read(4096), 30)
        assert data, f"connection closed after {got}"
        for fr in framer.feed(data):
            pkt = parse_frame(fr)  # type: ignore[arg-type]
            got.append((pkt.cn, pkt.cp.params.get("QnRtn")))
    writer.close()
    return got


def test_a_split_part_refused_for_a_value_is_answered(engine: Engine) -> None:
    """Part 2 of 2 has a 400-digit value: both parts are answered (part 1 was held, then
    evicted as its packet can never complete; part 2 refused with its reason: 9011 QnRtn 2)
    and quarantined; a wrong PW on such a part is answered as a wrong PW (QnRtn 3)."""
    add_device(engine, mn=MN, pw=PW, st="22")

    async def main() -> tuple[list[tuple[str, str | None]], int]:
        gw = Gateway(engine, GatewayConfig())
        await gw.start()
        try:
            p1, p2 = split_parts(MN, ("1.5", "9" * 400))
            got = await replies(gw.port, [p1, p2], 1)
            held = gw.held.held_bytes
            return got, held
        finally:
            await gw.stop()

    got, held = asyncio.run(main())
    assert got == [("9011", "2")]
    assert held == 0
    with engine.connect() as conn:
        reasons = sorted(r for (r,) in conn.execute(select(Quarantine.reason)))
    assert reasons == ["bad_split", "value_out_of_format"]


def test_a_device_registered_after_start_is_accepted_at_once(engine: Engine) -> None:
    """The gateway's device cache was loaded before the device existed: its first packet is
    acknowledged (the MN is read from the database). Unknown MNs are looked up within the
    look-up rate (burst 2 here), then refused without a query — answered alike either way."""
    add_device(engine, mn=MN2, pw=PW, st="22")

    async def main() -> tuple[str, list[tuple[str, str | None]], int, int]:
        gw = Gateway(engine, GatewayConfig(lookup_rate=2.0, auth_refusal_qnrtn=3))
        await gw.start()
        try:
            await asyncio.to_thread(add_device, engine, mn=MN, pw=PW, st="22")
            dev = await DeviceClient("127.0.0.1", gw.port).connect()
            fut = await dev.send(minute(0), qn_of(0))
            assert fut is not None
            ack = await asyncio.wait_for(fut, 30)
            await dev.close()
            unknown = [minute(i, mn=f"UNKNOWN{i:017d}") for i in range(1, 4)]
            got = await replies(gw.port, unknown, 3)
            return ack.reply.cn, got, gw.lookups.done, gw.lookups.refused
        finally:
            await gw.stop()

    cn, got, done, refused = asyncio.run(main())
    assert cn == "9014"
    assert got == [("9011", "3")] * 3
    assert done + refused == 4 and refused >= 1
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(ReceivedPacket)).scalar() == 1


def test_sqlite_busy_is_retried_at_once_not_backed_off(tmp_path: Path) -> None:
    """Another writer holds SQLite's write lock for 3 s (longer than the busy timeout): the
    commit queue commits within a moment of its release, not after a back-off grown to
    seconds (a stall of a good device's acknowledgements during the combined attacks)."""
    url = migrated_sqlite_url(tmp_path / "busy.db")
    engine = make_engine(url, sqlite_busy_timeout_ms=200)
    add_device(engine, mn=MN, pw=PW, st="22")
    other = make_engine(url)
    released: list[float] = []
    locked = threading.Event()

    def hold() -> None:
        with other.begin() as conn:  # BEGIN IMMEDIATE: the write lock
            conn.exec_driver_sql("UPDATE device SET last_peer = 'x'")
            locked.set()
            time.sleep(3.0)
        released.append(time.monotonic())

    async def main() -> float:
        queue = CommitQueue(Ingestor(engine))
        queue.start()
        done: asyncio.Future[Outcome | None] = asyncio.get_running_loop().create_future()
        [item] = items(engine, [minute(0)])
        holder = threading.Thread(target=hold)
        holder.start()
        await asyncio.to_thread(locked.wait, 30)
        queue.enqueue(item, done.set_result)
        outcome = await asyncio.wait_for(done, 30)
        at = time.monotonic()
        assert outcome is not None and outcome.status == "stored"
        await asyncio.to_thread(holder.join)
        await queue.close(5)
        return at

    committed = asyncio.run(main())
    engine.dispose()
    other.dispose()
    assert released and 0 <= committed - released[0] < 0.6
