"""Probes: split-part memory floods, repeated parts, idle-connection floods, quarantine floods
and a client that never reads its replies: the good device keeps its acknowledgements under a
second, the server's memory and descriptors stay bounded, nothing acknowledged is lost."""

from __future__ import annotations

import asyncio
import json
import socket
import time
from datetime import timedelta

from sqlalchemy import func, select

from hostile.conftest import (
    ATTACKER_MN,
    ATTACKER_PW,
    DUP_MN,
    FLOOD_MN,
    NOFILE,
    SLOW_MN,
    Target,
)
from hostile.harness import (
    T0,
    GoodDevice,
    assert_acked_stored,
    assert_good_device_held,
    cli,
    connect_from,
    qnrtn,
    read_replies,
)
from qingshan.protocol.hj212 import build_packet, heartbeat
from qingshan.simulator.client import make_qn
from qingshan.storage.models import ForwardItem, Observation, Quarantine, RawPacket

MB = 1024 * 1024


def split_part(mn: str, pw: str, i: int, pnum: int, pno: int, codes: int = 40) -> bytes:
    """Part ``pno`` of ``pnum`` of packet ``i``: about 900 bytes of a minute upload."""
    when = T0 + timedelta(seconds=i)
    cp = f"DataTime={when:%Y%m%d%H%M%S};" + ";".join(
        f"a{20000 + pno * 100 + k}-Avg={k}.5" for k in range(codes)
    )
    return build_packet(
        st="22",
        cn="2051",
        pw=pw,
        mn=mn,
        cp=cp,
        qn=make_qn(when, i % 1000),
        needs_reply=True,
        pnum=pnum,
        pno=pno,
    )


def quarantined_from(target: Target, prefix: str) -> int:
    with target.engine.connect() as conn:
        n = conn.execute(
            select(func.count()).select_from(Quarantine).where(Quarantine.peer.like(prefix + "%"))
        ).scalar()
    return int(n or 0)


async def drain_quietly(writer: asyncio.StreamWriter, data: bytes) -> bool:
    """Write ``data``; False when the server has closed the connection."""
    try:
        writer.write(data)
        await asyncio.wait_for(writer.drain(), 5)
    except (ConnectionError, TimeoutError):
        return False
    return True


def test_split_part_floods_hold_nothing_unauthenticated_and_stay_in_budget(
    target: Target,
) -> None:
    srv = target.srv
    rss0 = srv.rss_mb()

    # Built before the good device starts: building is CPU work in this process, which
    # would otherwise delay the good device's own packets and replies.
    flood_data = {
        k: b"".join(
            split_part(f"010000A8900016F0001{k:05d}" if k % 2 else FLOOD_MN, "999999", 0, 100, pno)
            for pno in range(1, 100)
        )
        for k in range(1, 41)
    }
    held_parts = b"".join(split_part(ATTACKER_MN, ATTACKER_PW, i, 2, 1) for i in range(300))
    too_many = split_part(ATTACKER_MN, ATTACKER_PW, 999, 5000, 1)

    async def flood(k: int) -> bool:
        """Never-completed parts (PNUM 100) from an unknown MN or with a wrong PW."""
        r, w = await connect_from(f"127.0.1.{k}", srv.hj212_port)
        await drain_quietly(w, flood_data[k])
        _, eof = await read_replies(r, timeout=15)
        w.close()
        return eof

    async def attack() -> GoodDevice:
        good = await GoodDevice(srv.hj212_port).start()
        # 40 connections (the issue: 487 MB → 1.35 GB), each from its own address.
        cut = await asyncio.gather(*[flood(k) for k in range(1, 41)])
        assert all(cut)  # every flooding link was closed by the access-check throttle
        held = srv.healthz(target.token)["gateway_limits"]
        assert held["held_split_bytes"] == 0  # nothing held before authentication
        # An authenticated device holding first parts of 300 packets (~270 kB): the budget
        # (64 kB) evicts the oldest; the evicted parts are quarantined, within the rate.
        _r, w = await connect_from("127.0.1.100", srv.hj212_port)
        assert await drain_quietly(w, held_parts)
        # A PNUM above the limit (100) is refused with a reason, not dropped in silence
        # (from another address: this one has used up its quarantine rate on evictions).
        _r2, w2 = await connect_from("127.0.1.101", srv.hj212_port)
        assert await drain_quietly(w2, too_many)
        await asyncio.sleep(1.0)
        w.close()
        w2.close()
        await good.stop()
        assert_good_device_held(good)
        return good

    good = asyncio.run(attack())
    limits = srv.healthz(target.token)["gateway_limits"]
    assert 0 < limits["held_split_bytes"] <= 64 * 1024
    assert limits["evicted_split_parts"] >= 200
    assert srv.rss_mb() - rss0 < 40, (rss0, srv.rss_mb())
    assert srv.fds() < NOFILE
    with target.engine.connect() as conn:
        details = (
            conn.execute(select(Quarantine.detail).where(Quarantine.reason == "bad_split"))
            .scalars()
            .all()
        )
    assert any("PNUM 5000 above the limit of 100" in (d or "") for d in details)
    assert any("evicted" in (d or "") for d in details)
    # 40 links x 6 refusals at most, not 40 x 99 parts.
    assert quarantined_from(target, "127.0.1.") <= 40 * 6 + 60
    assert_acked_stored(target.engine, good)


def test_repeated_split_parts_are_stored_and_forwarded_once(target: Target) -> None:
    srv = target.srv
    parts = [split_part(DUP_MN, ATTACKER_PW, 7, 3, pno, codes=10) for pno in (1, 2, 3)]
    p1, p2, p3 = parts

    async def send() -> list[tuple[str, str | None]]:
        r, w = await connect_from("127.0.5.1", srv.hj212_port)
        # Parts repeated before the packet is complete, then all three again after it.
        w.write(p1 + p1 + p2 + p1 + p3 + p3 + p2)
        first, _ = await read_replies(r, timeout=10, want=3)
        w.write(p1 + p2 + p3)
        again, _ = await read_replies(r, timeout=10, want=3)
        w.close()
        return [qnrtn(p) for p in first + again]

    replies = asyncio.run(send())
    assert replies == [("9014", None)] * 6
    with target.engine.connect() as conn:
        raw = conn.execute(
            select(func.count()).select_from(RawPacket).where(RawPacket.mn == DUP_MN)
        ).scalar()
        forwarded = conn.execute(select(func.count()).select_from(ForwardItem)).scalar()
        values = conn.execute(
            select(func.count())
            .select_from(Observation)
            .where(Observation.code.like("a2%"), Observation.value == "0.5")
        ).scalar()
    assert raw == 1 and forwarded == 1
    assert values == 3  # a20100/a20200/a20300 -Avg=0.5: one row each, from one packet


def test_idle_connection_flood_is_capped_below_the_file_limit(target: Target) -> None:
    srv = target.srv
    log0 = srv.log_bytes()

    async def attack() -> GoodDevice:
        good = await GoodDevice(srv.hj212_port).start()
        conns: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []

        async def open_many(address: str, n: int) -> None:
            # At once: faster than the unauthenticated idle timeout closes them again.
            got = await asyncio.gather(
                *[connect_from(address, srv.hj212_port) for _ in range(n)],
                return_exceptions=True,
            )
            conns.extend(c for c in got if isinstance(c, tuple))

        await open_many("127.0.2.50", 80)  # one address opening more than its 64
        # 12 addresses x 60: more than the cap (512 = 1024 - 512)
        await asyncio.gather(*[open_many(f"127.0.2.{k}", 60) for k in range(1, 13)])
        await asyncio.sleep(0.5)
        # The gateway and the web app still answer, the descriptors stay under the limit.
        assert srv.healthz()["status"] == "ok"
        limits = srv.healthz(target.token)["gateway_limits"]
        assert limits["max_connections"] == NOFILE - 512
        assert limits["refused_connections"] > 0
        assert srv.healthz()["connections"] <= NOFILE - 512
        assert srv.fds() < NOFILE - 100
        # Unauthenticated links are closed after hj212_unauth_idle_timeout (2 s).
        closed = await asyncio.gather(*[read_replies(r, timeout=6) for r, _ in conns])
        assert all(eof for _, eof in closed)
        for _, w in conns:
            w.close()
        await good.stop()
        assert_good_device_held(good)
        return good

    good = asyncio.run(attack())
    # The ledger is written every hj212_refusal_flush_seconds (0.5 s here): the last idle
    # connections closed just now may reach it a flush later.
    expected = {"connection_cap", "address_cap", "idle_unauthenticated"}
    deadline = time.monotonic() + 10
    while True:
        refused = json.loads(cli("gateway", "refusals", "--json", "--db", target.url))
        kinds = {r["kind"] for r in refused}
        if expected <= kinds or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert expected <= kinds
    assert srv.log_bytes() - log0 < 50_000  # rate-limited: not a line per connection
    assert_acked_stored(target.engine, good)


def test_quarantine_floods_are_counted_not_stored_and_cut_off(target: Target) -> None:
    srv = target.srv
    bad_crc = build_packet(st="22", cn="2051", pw="1", mn="X1", cp="DataTime=20260301080000")
    bad_crc = bad_crc[:-6] + b"0000\r\n"

    beats = b"".join(
        heartbeat(mn="010000A8900016F000099999", pw="123456", qn=make_qn(T0, i), needs_reply=True)
        for i in range(1000)
    )

    async def attack() -> tuple[GoodDevice, float, int]:
        good = await GoodDevice(srv.hj212_port).start()
        t0 = time.monotonic()
        links = 0
        for _ in range(20):  # 20 links x 100 broken packets from one address
            r, w = await connect_from("127.0.3.1", srv.hj212_port)
            await drain_quietly(w, bad_crc * 100)
            _, eof = await read_replies(r, timeout=10)
            assert eof  # cut off after hj212_reject_cutoff (50) refusals in a row
            links += 1
            w.close()
        took = time.monotonic() - t0
        # The probe: unknown-MN heartbeats on one link, never cut before.
        r, w = await connect_from("127.0.3.2", srv.hj212_port)
        await drain_quietly(w, beats * 5)
        _, eof = await read_replies(r, timeout=15)
        assert eof
        w.close()
        await asyncio.sleep(1.0)
        await good.stop()
        assert_good_device_held(good)
        return good, took, links

    good, took, links = asyncio.run(attack())
    stored = quarantined_from(target, "127.0.3.1:")
    assert stored <= 50 + 5 * (took + 2), (stored, took)
    assert quarantined_from(target, "127.0.3.2:") <= 6
    rows = json.loads(
        cli("gateway", "refusals", "--json", "--kind", "quarantine_suppressed", "--db", target.url)
    )
    counted = sum(r["count"] for r in rows if r["subject"] == "127.0.3.1")
    assert stored + counted >= links * 50
    assert_acked_stored(target.engine, good)


def test_a_client_that_never_reads_its_replies_is_cut_off(target: Target) -> None:
    srv = target.srv
    rss0 = srv.rss_mb()

    beats = b"".join(
        heartbeat(mn=SLOW_MN, pw=ATTACKER_PW, qn=make_qn(T0, i), needs_reply=True, st="22")
        for i in range(1000)
    )

    async def attack() -> tuple[GoodDevice, bool]:
        good = await GoodDevice(srv.hj212_port).start()
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.bind(("127.0.4.1", 0))
        sock.setblocking(False)
        await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", srv.hj212_port))
        _r, w = await asyncio.open_connection(sock=sock)
        cut = False
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not cut:
            try:
                w.write(beats)
                await asyncio.wait_for(w.drain(), 0.5)
            except TimeoutError:
                continue  # the server stopped reading us: back-pressure
            except ConnectionError:
                cut = True
        w.close()
        await good.stop()
        assert_good_device_held(good)
        return good, cut

    good, cut = asyncio.run(attack())
    assert cut
    assert srv.healthz(target.token)["gateway_limits"]["refusals"]["slow_reader"] >= 1
    assert srv.rss_mb() - rss0 < 40
    assert_acked_stored(target.engine, good)
