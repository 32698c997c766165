"""Bus mode in one process: a gateway publishing to a real JetStream server, a writer storing.

One ``nats-server`` (R1) per module; each test uses its own stream and subjects."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from qingshan.gateway.bus import BusCommitQueue, BusConfig, Writer, bus_queue_factory
from qingshan.gateway.server import Gateway, GatewayConfig
from qingshan.services.registry import add_device
from qingshan.simulator.client import DeviceClient
from qingshan.storage.models import Observation, Quarantine, RawPacket, ReceivedPacket
from support.hj212 import MN, MN2, PW, minute, qn_of

from .nats_cluster import NatsCluster, need_nats_server, start_cluster


@pytest.fixture(scope="module")
def nats(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NatsCluster]:
    need_nats_server()
    c = start_cluster(tmp_path_factory.mktemp("nats"), 1)
    yield c
    c.stop()


def bus_config(nats: NatsCluster, **kw: object) -> BusConfig:
    tag = secrets.token_hex(4)
    return BusConfig(
        servers=(nats.nodes[0].url,),
        stream=f"T{tag}",
        prefix=f"t{tag}.hj212",
        region="330100",
        publish_timeout=0.5,
        ack_wait_s=2.0,
        batch=50,
        **kw,  # type: ignore[arg-type]
    )


def count(engine: Engine, model: type) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(model)).scalar() or 0)


async def until(cond: object, timeout: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not cond():  # type: ignore[operator]
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.02)


def test_packets_go_through_the_stream_once_and_refusals_are_answered(
    engine: Engine, nats: NatsCluster
) -> None:
    add_device(engine, mn=MN, pw=PW, st="22")
    cfg = bus_config(nats)

    async def main() -> None:
        gw = Gateway(engine, GatewayConfig(), commit_factory=bus_queue_factory(engine, cfg))
        queue = gw.commit
        assert isinstance(queue, BusCommitQueue)
        await queue.connect()
        await gw.start()
        dev = await DeviceClient("127.0.0.1", gw.port).connect()
        try:
            futs = [await dev.send(minute(i), qn_of(i)) for i in range(8)]
            acks = await asyncio.wait_for(asyncio.gather(*[f for f in futs if f]), 10)
            assert [a.reply.cn for a in acks] == ["9014"] * 8
            # acknowledged after the stream's ack, before any writer ran
            assert count(engine, ReceivedPacket) == 0
            assert queue.bus_stats.published == 8
            # a re-send (lost reply) is acknowledged again, de-duplicated by the stream
            again = await dev.send(minute(3), qn_of(3))
            assert again is not None and (await asyncio.wait_for(again, 10)).reply.cn == "9014"
            assert queue.bus_stats.duplicates == 1
            # refused for its content / its password: answered 9011 from the database path,
            # never published
            bad = await dev.send(minute(20, value="1e999"), qn_of(20))
            wrong = await dev.send(minute(21, pw="000000"), qn_of(21))
            got = await asyncio.wait_for(asyncio.gather(bad, wrong), 10)  # type: ignore[arg-type]
            assert [(a.reply.cn, a.reply.cp.params.get("QnRtn")) for a in got] == [
                ("9011", "2"),
                ("9011", "3"),
            ]
            assert queue.bus_stats.published == 8

            js = queue._nc.jetstream()  # type: ignore[union-attr]
            info = await js.stream_info(cfg.stream)
            assert info.state.messages == 8
            assert info.config.subjects == [f"{cfg.prefix}.>"]
            msg = await js.get_last_msg(cfg.stream, f"{cfg.prefix}.330100.22.{MN}")
            assert msg.headers is not None and msg.headers["Nats-Msg-Id"] == f"{MN}:{qn_of(7)}:2051"
            assert msg.data == minute(7)

            # two writers sharing the durable consumer store everything exactly once
            writers = [Writer(engine, cfg, durable="w"), Writer(engine, cfg, durable="w")]
            tasks = [asyncio.create_task(w.run()) for w in writers]
            await until(lambda: count(engine, ReceivedPacket) == 8)
            await until(lambda: sum(w.stats.messages for w in writers) >= 8)
            for w in writers:
                w.stop()
            await asyncio.gather(*tasks)
            assert sum(w.stats.stored for w in writers) == 8
        finally:
            await dev.close()
            await gw.stop()

    asyncio.run(main())
    assert count(engine, ReceivedPacket) == 8
    assert count(engine, RawPacket) == 8
    assert count(engine, Observation) == 16
    with engine.connect() as conn:
        reasons = sorted(conn.execute(select(Quarantine.reason)).scalars())
    assert reasons == ["value_out_of_format", "wrong_pw"] or reasons == ["bad_value", "wrong_pw"]


def test_no_acknowledgement_without_the_stream(
    engine: Engine, nats: NatsCluster, tmp_path: Path
) -> None:
    add_device(engine, mn=MN2, pw=PW, st="22")
    own = start_cluster(tmp_path, 1)  # a server of its own, killed mid-test
    cfg = bus_config(own)

    async def main() -> None:
        gw = Gateway(engine, GatewayConfig(), commit_factory=bus_queue_factory(engine, cfg))
        assert isinstance(gw.commit, BusCommitQueue)
        await gw.commit.connect()
        await gw.start()
        dev = await DeviceClient("127.0.0.1", gw.port).connect()
        try:
            f0 = await dev.send(minute(0, mn=MN2), qn_of(0))
            assert f0 is not None and (await asyncio.wait_for(f0, 10)).reply.cn == "9014"
            own.nodes[0].kill9()
            f1 = await dev.send(minute(1, mn=MN2), qn_of(1))
            assert f1 is not None
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(asyncio.shield(f1), 2.0)  # no answer: the device re-sends
            assert gw.commit.bus_stats.failed == 1
            assert gw.commit.status()["state"] == "unavailable"
            own.nodes[0].start()  # same store: the stream and packet 0 are still there
            deadline = asyncio.get_running_loop().time() + 15
            waiting: list[asyncio.Future[Any]] = [f1]
            while True:  # re-sent until answered (a reply answers the oldest wait of its QN)
                f2 = await dev.send(minute(1, mn=MN2), qn_of(1))
                assert f2 is not None
                waiting.append(f2)
                done, _ = await asyncio.wait(waiting, timeout=2.0)
                if done:
                    break
                assert asyncio.get_running_loop().time() < deadline
            assert done.pop().result().reply.cn == "9014"
            w = Writer(engine, cfg)
            task = asyncio.create_task(w.run())
            await until(lambda: count(engine, ReceivedPacket) == 2)
            w.stop()
            await task
        finally:
            await dev.close()
            await gw.stop()
            own.stop()

    asyncio.run(main())
    assert count(engine, RawPacket) == 2
