from __future__ import annotations

import asyncio
import contextlib
import json
import os
from collections.abc import Awaitable, Callable
from typing import Any

import psycopg
from sqlalchemy import Engine, func, select

from qingshan.gateway.forward import Forwarder
from qingshan.gateway.server import Gateway, GatewayConfig
from qingshan.protocol.hj212 import Frame, Framer, data_reply, parse_frame
from qingshan.services.registry import add_device, add_upstream
from qingshan.simulator.client import DeviceClient
from qingshan.storage.db import make_engine
from qingshan.storage.models import (
    ConnectionLog,
    DeviceEvent,
    ForwardItem,
    Observation,
    Quarantine,
    ReceivedPacket,
)
from support.hj212 import MN, MN2, PW, T0, minute, qn_of


def count(engine: Engine, model: type) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(model)).scalar() or 0)


def run(engine: Engine, scenario: Callable[[Gateway], Awaitable[Any]], **cfg: Any) -> Any:
    async def main() -> Any:
        gw = Gateway(engine, GatewayConfig(**cfg))
        await gw.start()
        try:
            return await scenario(gw)
        finally:
            await gw.stop()

    return asyncio.run(main())


def test_packets_are_acknowledged_after_commit(engine: Engine) -> None:
    add_device(engine, mn=MN, pw=PW, st="22")

    async def scenario(gw: Gateway) -> None:
        dev = await DeviceClient("127.0.0.1", gw.port).connect()
        futs = [await dev.send(minute(i), qn_of(i)) for i in range(20)]
        acks = await asyncio.wait_for(asyncio.gather(*[f for f in futs if f]), 10)
        assert all(a.reply.cn == "9014" for a in acks)
        # every acknowledged packet is already in the database
        assert count(engine, ReceivedPacket) == 20
        assert count(engine, Observation) == 40
        await dev.close()

    run(engine, scenario)
    assert count(engine, ConnectionLog) == 1
    with engine.connect() as conn:
        kinds = conn.execute(select(DeviceEvent.kind).order_by(DeviceEvent.id)).scalars().all()
    assert kinds == ["connect", "disconnect"]


def test_unknown_mn_and_wrong_pw_get_the_same_9011_and_are_quarantined(engine: Engine) -> None:
    add_device(engine, mn=MN, pw=PW, st="22")

    async def scenario(gw: Gateway) -> None:
        dev = await DeviceClient("127.0.0.1", gw.port).connect()
        f1 = await dev.send(minute(0, pw="000000"), qn_of(0))
        f2 = await dev.send(minute(1, mn=MN2), qn_of(1))
        a1, a2 = await asyncio.wait_for(asyncio.gather(f1, f2), 10)  # type: ignore[arg-type]
        assert (a1.reply.cn, a1.reply.cp.params.get("QnRtn")) == ("9011", "3")
        # The same answer: it must not tell a guesser which MNs exist (issue 18).
        assert (a2.reply.cn, a2.reply.cp.params.get("QnRtn")) == ("9011", "3")
        await dev.close()

    run(engine, scenario)
    assert count(engine, Quarantine) == 2
    assert count(engine, Observation) == 0 and count(engine, ReceivedPacket) == 0


def test_garbage_connection_is_cut_off_without_affecting_others(engine: Engine) -> None:
    add_device(engine, mn=MN, pw=PW, st="22")

    async def scenario(gw: Gateway) -> None:
        good = await DeviceClient("127.0.0.1", gw.port).connect()
        bad_r, bad_w = await asyncio.open_connection("127.0.0.1", gw.port)
        huge = b"##9999QN=1;" + b"A" * 20000 + b"\r\n"
        cut = False
        for i in range(10):
            fut = await good.send(minute(i), qn_of(i))
            if not cut:
                try:
                    bad_w.write(os.urandom(3000) + huge)
                    await bad_w.drain()
                except ConnectionError:
                    cut = True  # the gateway closed the bad connection
            assert fut is not None
            await asyncio.wait_for(fut, 10)
        if not cut:
            with contextlib.suppress(ConnectionError):
                assert await asyncio.wait_for(bad_r.read(), 10) == b""
        assert gw.stats.closed_for_garbage == 1
        fut = await good.send(minute(10), qn_of(10))
        assert fut is not None
        await asyncio.wait_for(fut, 10)
        await good.close()
        bad_w.close()

    run(engine, scenario, max_strikes=3)
    assert count(engine, ReceivedPacket) == 11
    assert count(engine, Quarantine) >= 3


def test_idle_connections_are_closed(engine: Engine) -> None:
    async def scenario(gw: Gateway) -> None:
        r, w = await asyncio.open_connection("127.0.0.1", gw.port)
        assert await asyncio.wait_for(r.read(), 5) == b""
        assert gw.stats.closed_idle == 1
        w.close()

    run(engine, scenario, idle_timeout=0.3)


def test_split_packets_over_the_wire(engine: Engine) -> None:
    from qingshan.protocol.hj212 import build_packets

    add_device(engine, mn=MN, pw=PW, st="22")
    cp: dict[str, object] = {"DataTime": T0}
    cp.update({f"a{20000 + i}-Avg": f"{i}.25" for i in range(50)})
    parts = build_packets(
        st="22",
        cn="2051",
        pw=PW,
        mn=MN,
        cp=cp,
        qn="20260301080000555",
        needs_reply=True,
        max_segment=300,
    )

    async def scenario(gw: Gateway) -> None:
        dev = await DeviceClient("127.0.0.1", gw.port).connect()
        futs = [await dev.send(p, "20260301080000555") for p in parts]
        acks = await asyncio.wait_for(asyncio.gather(*[f for f in futs if f]), 10)
        assert len(acks) == len(parts)
        await dev.close()

    run(engine, scenario)
    assert count(engine, Observation) == 50 and count(engine, ReceivedPacket) == 1


def test_graceful_stop_drains_in_flight_packets(engine: Engine) -> None:
    add_device(engine, mn=MN, pw=PW, st="22")
    acked: list[str] = []

    async def main() -> None:
        gw = Gateway(engine, GatewayConfig())
        await gw.start()
        dev = await DeviceClient("127.0.0.1", gw.port).connect()
        futs = {qn_of(i): await dev.send(minute(i), qn_of(i)) for i in range(300)}
        await asyncio.sleep(0.05)
        await gw.stop()
        for qn, f in futs.items():
            assert f is not None
            try:
                await asyncio.wait_for(f, 5)
                acked.append(qn)
            except (ConnectionError, TimeoutError):
                pass
        await dev.close()

    asyncio.run(main())
    with engine.connect() as conn:
        stored = set(conn.execute(select(ReceivedPacket.qn)).scalars())
    assert set(acked) <= stored  # nothing acknowledged is missing
    assert len(acked) > 0


def _block_database(engine: Engine, db_url: str) -> Callable[[], None]:
    """Make the database refuse writes; returns the function that restores it."""
    if engine.dialect.name == "sqlite":
        import sqlite3

        path = engine.url.database
        assert path
        lock = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        lock.execute("BEGIN EXCLUSIVE")  # the gateway gets "database is locked"

        def release() -> None:
            lock.execute("COMMIT")
            lock.close()

        return release
    from sqlalchemy import make_url

    url = make_url(db_url)
    name = url.database
    admin = url.set(database="postgres", drivername="postgresql").render_as_string(False)
    with psycopg.connect(admin, autocommit=True) as c:
        c.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
        c.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = %s AND pid <> pg_backend_pid()",
            (name,),
        )

    def restore() -> None:
        with psycopg.connect(admin, autocommit=True) as c:
            c.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')

    return restore


def test_database_outage_stops_acks_and_recovers(db_url: str) -> None:
    engine = make_engine(db_url, sqlite_busy_timeout_ms=300)
    add_device(engine, mn=MN, pw=PW, st="22")

    async def scenario(gw: Gateway) -> None:
        dev = await DeviceClient("127.0.0.1", gw.port).connect()
        first = await dev.send(minute(0), qn_of(0))
        assert first is not None
        await asyncio.wait_for(first, 10)
        restore = await asyncio.to_thread(_block_database, engine, db_url)
        try:
            futs = [await dev.send(minute(i), qn_of(i)) for i in range(1, 6)]
            done, _ = await asyncio.wait([f for f in futs if f], timeout=1.5)
            assert not done, "acknowledged while the database was unavailable"
            assert gw.commit.stats.db_down_since is not None
        finally:
            await asyncio.to_thread(restore)
        acks = await asyncio.wait_for(asyncio.gather(*[f for f in futs if f]), 30)
        assert len(acks) == 5 and gw.commit.stats.db_down_since is None
        await dev.close()

    run(engine, scenario)
    assert count(engine, ReceivedPacket) == 6


class FakeUpstream:
    """A provincial platform: accepts HJ 212, answers 9014, records what it got."""

    def __init__(self) -> None:
        self.received: list[str] = []
        self.server: asyncio.Server | None = None

    async def start(self, port: int = 0) -> int:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", port)
        return int(self.server.sockets[0].getsockname()[1])

    async def stop(self) -> None:
        assert self.server is not None
        self.server.close()
        await self.server.wait_closed()

    async def _handle(self, r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        framer = Framer()
        try:
            while data := await r.read(65536):
                for ev in framer.feed(data):
                    if isinstance(ev, Frame):
                        pkt = parse_frame(ev, lenient=True)
                        self.received.append(pkt.qn or "")
                        if pkt.needs_reply:
                            w.write(data_reply(pkt))
                await w.drain()
        except ConnectionError:
            pass
        finally:
            w.close()


def test_forwarding_survives_upstream_outage(engine: Engine) -> None:
    add_device(engine, mn=MN, pw=PW, st="22", group="province")

    async def main() -> None:
        up = FakeUpstream()
        port = await up.start()
        await up.stop()  # the upstream is down at first
        add_upstream(engine, name="省平台", host="127.0.0.1", port=port, group="province")
        gw = Gateway(engine, GatewayConfig())
        await gw.start()
        fwd = Forwarder(engine, poll=0.05, base_backoff=0.05, max_backoff=0.2, refresh=0.2)
        fwd.start()
        dev = await DeviceClient("127.0.0.1", gw.port).connect()
        futs = [await dev.send(minute(i), qn_of(i)) for i in range(30)]
        await asyncio.wait_for(asyncio.gather(*[f for f in futs if f]), 10)
        await asyncio.sleep(0.5)
        assert count(engine, ForwardItem) == 30  # kept while the upstream is down
        with engine.connect() as conn:
            assert conn.execute(select(func.max(ForwardItem.attempts))).scalar() >= 1
        assert fwd.stats.failures >= 1
        up2 = FakeUpstream()
        await up2.start(port)
        for _ in range(100):
            if count(engine, ForwardItem) == 0:
                break
            await asyncio.sleep(0.1)
        assert sorted(set(up2.received)) == sorted(qn_of(i) for i in range(30))
        assert count(engine, ForwardItem) == 0
        await dev.close()
        await fwd.stop()
        await gw.stop()
        await up2.stop()

    asyncio.run(main())


def test_socket_to_database_to_export_round_trip(engine: Engine, db_url: str) -> None:
    """Values sent over TCP come back out of `qingshan data export` exactly."""
    from datetime import timedelta

    from typer.testing import CliRunner

    from qingshan.cli.main import app
    from qingshan.protocol.hj212 import heartbeat
    from qingshan.simulator.client import data_packet, make_qn
    from qingshan.storage.models import Device

    add_device(engine, mn=MN, pw=PW, st="32")
    sent: list[tuple[str, str, str, str]] = []
    texts = ["0.000", "12.30", "7", "123456.789", "-0.5", "3.141593"]  # reversed too: N14.6

    async def scenario(gw: Gateway) -> None:
        dev = await DeviceClient("127.0.0.1", gw.port).connect()
        futs = []
        for i, v in enumerate(texts):
            when = T0 + timedelta(hours=i)
            flag = "N" if i % 2 == 0 else "M"
            raw = data_packet(
                mn=MN,
                pw=PW,
                st="32",
                cn="2061",
                when=when,
                qn=make_qn(when, i),
                values={
                    "w01018": {"Avg": v, "Flag": flag},
                    "w21003": {"Avg": v[::-1].strip("-.") or "0", "Flag": "N"},
                },
            )
            futs.append(await dev.send(raw, make_qn(when, i)))
            iso = when.isoformat() + "+08:00"
            sent.append(("w01018", iso, v, flag))
            sent.append(("w21003", iso, v[::-1].strip("-.") or "0", "N"))
        hb = await dev.send(
            heartbeat(mn=MN, pw=PW, qn="20260301090000999", needs_reply=True), "20260301090000999"
        )
        acks = await asyncio.wait_for(asyncio.gather(*[f for f in [*futs, hb] if f]), 10)
        assert [a.reply.cn for a in acks] == ["9014"] * (len(texts) + 1)
        await dev.close()

    run(engine, scenario)
    r = CliRunner().invoke(
        app,
        [
            "data",
            "export",
            "--mn",
            MN,
            "--resolution",
            "hour",
            "--from",
            "2026-03-01",
            "--to",
            "2026-03-02",
            "--format",
            "json",
            "--db",
            db_url,
        ],
    )
    assert r.exit_code == 0, r.stderr
    rows = json.loads(r.stdout)
    got = [(x["code"], x["time"], x["value"], x["flag"]) for x in rows]
    assert sorted(got) == sorted(sent)
    assert not any(x["derived"] for x in rows)
    with engine.connect() as conn:
        seen = conn.execute(select(Device.last_seen_at, Device.last_peer)).one()
    assert seen[0] is not None and seen[1].startswith("127.0.0.1:")


def test_sm4_encrypted_2025_packets(engine: Engine) -> None:
    """HJ 212-2025 §6.4: a device registered with its SM4 key is decrypted and stored."""
    from qingshan.protocol.hj212 import OFFICIAL_TEST_KEY, Edition, build_packet

    add_device(engine, mn=MN, pw=PW, st="22", edition="2025", sm4_key=OFFICIAL_TEST_KEY.hex())
    add_device(engine, mn=MN2, pw=PW, st="22", edition="2025")  # key not registered
    cp = "DataTime=20260301080000;a21026-Avg=12.30,a21026-Flag=N;a34004-Avg=0.035,a34004-Flag=N"

    def pkt(mn: str, qn: str) -> bytes:
        raw: bytes = build_packet(
            st="22",
            cn="2051",
            pw=PW,
            mn=mn,
            cp=cp,
            qn=qn,
            edition=Edition.V2025,
            needs_reply=True,
            sm4_key=OFFICIAL_TEST_KEY,
        )
        assert b"a21026" not in raw  # really encrypted on the wire
        return raw

    async def scenario(gw: Gateway) -> None:
        dev = await DeviceClient("127.0.0.1", gw.port).connect()
        ok = await dev.send(pkt(MN, "20260301080000001"), "20260301080000001")
        await dev.send(pkt(MN2, "20260301080000002"))
        assert ok is not None
        assert (await asyncio.wait_for(ok, 10)).reply.cn == "9014"
        await asyncio.sleep(0.3)
        await dev.close()

    run(engine, scenario)
    with engine.connect() as conn:
        values = dict(conn.execute(select(Observation.code, Observation.value)).all())
        reasons = conn.execute(select(Quarantine.reason)).scalars().all()
    assert values == {"a21026": "12.30", "a34004": "0.035"}
    assert reasons == ["encrypted_cp"]
