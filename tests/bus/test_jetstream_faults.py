"""Faults in bus mode with real processes: a 3-node NATS JetStream cluster, two gateways
(`qingshan serve --bus`), two writers (`qingshan writer`) on a scratch PostgreSQL database.

Reply-requested packets stream through both gateways; one NATS node and one writer are
killed with SIGKILL mid-stream. Every acknowledged packet must be stored exactly once, the
gateways must keep acknowledging, and a writer started afterwards must catch up alone."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from qingshan.services.registry import add_device
from qingshan.simulator.client import DeviceClient
from qingshan.storage.db import make_engine
from qingshan.storage.models import Observation, RawPacket, ReceivedPacket, Resolution
from support.hj212 import PW, minute, qn_of

from .nats_cluster import NatsCluster, need_nats_server, start_cluster

pytestmark = [pytest.mark.serial, pytest.mark.postgres]

QINGSHAN = str(Path(sys.executable).parent / "qingshan")
DEVICES = [f"010000A8900016F0002{i:05d}" for i in range(6)]
PER_DEVICE = 120


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[NatsCluster]:
    need_nats_server()
    c = start_cluster(tmp_path, 3)
    yield c
    c.stop()


def env(nats: NatsCluster) -> dict[str, str]:
    e = dict(os.environ)
    e.update(
        QINGSHAN_BUS_REPLICAS="3",
        QINGSHAN_BUS_PUBLISH_TIMEOUT="1.5",
        QINGSHAN_BUS_ACK_WAIT_SECONDS="2",
        QINGSHAN_BUS_BATCH="200",
        QINGSHAN_SCHEDULER_ENABLED="false",
        QINGSHAN_SOURCE_ALARM_INTERVAL="0",
        QINGSHAN_LOG_LEVEL="WARNING",
    )
    return e


def spawn_gateway(db_url: str, nats: NatsCluster) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [QINGSHAN, "serve", "--db", db_url, "--bus", nats.urls,
         "--hj212-port", "0", "--http-port", "0", "--hj212-host", "127.0.0.1"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env(nats),
    )  # fmt: skip


def gateway_port(proc: subprocess.Popen[str]) -> int:
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line.startswith("hj212_port="):
        raise AssertionError(f"serve --bus exited with {proc.wait()}")
    proc.stdout.readline()  # http_port=
    return int(line.strip().partition("=")[2])


def spawn_writer(db_url: str, nats: NatsCluster) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [QINGSHAN, "writer", "--db", db_url, "--bus", nats.urls, "--durable", "writers"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env(nats),
    )  # fmt: skip


def writer_ready(proc: subprocess.Popen[str]) -> subprocess.Popen[str]:
    assert proc.stdout is not None
    if proc.stdout.readline().strip() != "writer_ready=1":
        raise AssertionError(f"writer exited with {proc.wait()}")
    return proc


async def device(
    port: int, mn: str, acked: dict[int, float], stop_at: float, pace: float = 0.01
) -> None:
    """Send every packet with the reply bit, re-sending what was not answered (as a real
    device does after its reply timeout), until all are acknowledged or ``stop_at``."""
    loop = asyncio.get_running_loop()
    while len(acked) < PER_DEVICE and loop.time() < stop_at:
        try:
            dev = await DeviceClient("127.0.0.1", port).connect()
        except OSError:
            await asyncio.sleep(0.2)
            continue
        futs = {}
        try:
            for i in range(PER_DEVICE):
                if i in acked:
                    continue
                fut = await dev.send(minute(i, mn=mn), qn_of(i))
                assert fut is not None
                futs[i] = fut
                fut.add_done_callback(
                    lambda f, i=i: (
                        f.cancelled()
                        or f.exception()
                        or (f.result().reply.cn == "9014" and acked.setdefault(i, loop.time()))
                    )
                )
                await asyncio.sleep(pace)
            await asyncio.wait(list(futs.values()), timeout=3.0)
        except (ConnectionError, OSError):
            pass
        finally:
            await dev.close()


def stored(engine: Engine) -> dict[tuple[str, str], int]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(RawPacket.mn, RawPacket.qn, func.count()).group_by(RawPacket.mn, RawPacket.qn)
        ).all()
    return {(mn, qn): int(n) for mn, qn, n in rows}


def test_node_and_writer_killed_every_acknowledged_packet_stored_once(
    pg_module_url: str, cluster: NatsCluster
) -> None:
    db_url = pg_module_url
    engine = make_engine(db_url)
    t_start = time.monotonic()
    for mn in DEVICES:
        add_device(engine, mn=mn, pw=PW, st="22")
    procs: list[subprocess.Popen[str]] = []
    try:
        # all four start at once (start-up is mostly imports)
        g1, g2 = spawn_gateway(db_url, cluster), spawn_gateway(db_url, cluster)
        w1, w2 = spawn_writer(db_url, cluster), spawn_writer(db_url, cluster)
        procs += [g1, g2, w1, w2]
        p1, p2 = gateway_port(g1), gateway_port(g2)
        writer_ready(w1), writer_ready(w2)
        print(f"processes up after {time.monotonic() - t_start:.1f} s")
        acked: dict[str, dict[int, float]] = {mn: {} for mn in DEVICES}
        killed_at: list[float] = []

        async def run() -> None:
            loop = asyncio.get_running_loop()
            stop_at = loop.time() + 35
            tasks = [
                asyncio.create_task(device(p1 if k % 2 else p2, mn, acked[mn], stop_at))
                for k, mn in enumerate(DEVICES)
            ]
            total = len(DEVICES) * PER_DEVICE
            while sum(map(len, acked.values())) < total // 4:
                await asyncio.sleep(0.01)
            cluster.nodes[0].kill9()  # a NATS node (maybe the stream's leader)
            w1.kill()  # SIGKILL a writer mid-batch
            killed_at.append(loop.time())
            await asyncio.gather(*tasks)

        asyncio.run(run())
        w1.wait(10)
        all_acked = {(mn, qn_of(i)) for mn, got in acked.items() for i in got}
        assert len(all_acked) == len(DEVICES) * PER_DEVICE, (
            f"only {len(all_acked)} acknowledged: the gateways stopped acknowledging"
        )
        # both gateways kept acknowledging after the kill
        for k in (0, 1):
            after = [t for mn in DEVICES[k::2] for t in acked[mn].values() if t > killed_at[0]]
            assert after, f"gateway {k + 1} acknowledged nothing after the node was killed"

        # The surviving writer is stopped; a writer started now catches up alone.
        w2.terminate()
        assert w2.wait(15) == 0
        print(f"streaming done after {time.monotonic() - t_start:.1f} s")
        w3 = spawn_writer(db_url, cluster)
        procs.append(w3)
        writer_ready(w3)
        deadline = time.monotonic() + 20
        while not all_acked <= set(stored(engine)) and time.monotonic() < deadline:
            time.sleep(0.2)
        have = stored(engine)
        missing = all_acked - set(have)
        assert not missing, f"{len(missing)} acknowledged packets not stored, e.g. {min(missing)}"
        assert all(n == 1 for n in have.values()), "a packet was stored twice"
        with engine.connect() as conn:
            keys = conn.execute(select(func.count()).select_from(ReceivedPacket)).scalar()
            obs = conn.execute(
                select(func.count())
                .select_from(Observation)
                .where(Observation.resolution == int(Resolution.MINUTE), ~Observation.derived)
            ).scalar()
        assert keys == len(have) == len(DEVICES) * PER_DEVICE
        assert obs == 2 * keys
    finally:
        for p in procs:
            if p.poll() is None:
                p.terminate()
        for p in procs:
            try:
                p.wait(15)
            except subprocess.TimeoutExpired:
                p.kill()
        engine.dispose()
    print(f"fault test took {time.monotonic() - t_start:.1f} s")
