"""Fault tests with `qingshan serve` as a real subprocess: kill -9, SIGTERM."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from qingshan.services.registry import add_device
from qingshan.simulator.client import DeviceClient, data_packet, make_qn
from qingshan.storage.models import Observation, RawPacket, ReceivedPacket
from support.hj212 import MN, PW, T0, qn_of

# kill -9 and a database outage mid-stream, with deadlines: run alone.
pytestmark = pytest.mark.serial

QINGSHAN = str(Path(sys.executable).parent / "qingshan")
DEVICES = [f"010000A8900016F0001{i:05d}" for i in range(4)]
PER_DEVICE = 150


def start_serve(db_url: str) -> tuple[subprocess.Popen[str], int, int]:
    proc = subprocess.Popen(
        [
            QINGSHAN,
            "serve",
            "--db",
            db_url,
            "--hj212-port",
            "0",
            "--http-port",
            "0",
            "--hj212-host",
            "127.0.0.1",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    ports: dict[str, int] = {}
    deadline = time.monotonic() + 120  # start-up is slow on a loaded machine
    while len(ports) < 2 and time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            err = proc.stderr.read() if proc.stderr else ""
            raise AssertionError(f"serve exited with {proc.wait()}: {err}")
        key, _, value = line.strip().partition("=")
        ports[key] = int(value)
    return proc, ports["hj212_port"], ports["http_port"]


def packet(mn: str, i: int) -> tuple[bytes, str]:
    from datetime import timedelta

    when = T0 + timedelta(minutes=i)
    qn = make_qn(when, i)
    return data_packet(
        mn=mn,
        pw=PW,
        st="22",
        cn="2051",
        when=when,
        qn=qn,
        values={
            "a21026": {"Avg": f"{i}.{i % 10}", "Flag": "N"},
            "a34004": {"Avg": "0.035", "Flag": "N"},
        },
    ), qn


async def stream(port: int, mn: str, todo: list[int], acked: set[int]) -> None:
    """Send `todo` with the reply bit, pipelined; record acknowledged indexes."""
    try:
        dev = await DeviceClient("127.0.0.1", port).connect()
    except OSError:
        return
    pending: dict[int, asyncio.Future[object]] = {}
    try:
        for i in todo:
            raw, qn = packet(mn, i)
            fut = await dev.send(raw, qn)
            assert fut is not None
            pending[i] = fut  # type: ignore[assignment]
            fut.add_done_callback(lambda f, i=i: f.cancelled() or f.exception() or acked.add(i))
            await asyncio.sleep(0.002)
        await asyncio.wait(list(pending.values()), timeout=10)
    except (ConnectionError, OSError):
        pass
    finally:
        await dev.close()


def test_kill_9_loses_nothing_acknowledged_and_duplicates_nothing(
    db_url: str, engine: Engine
) -> None:
    for mn in DEVICES:
        add_device(engine, mn=mn, pw=PW, st="22")
    acked: dict[str, set[int]] = {mn: set() for mn in DEVICES}
    proc, port, _ = start_serve(db_url)

    async def first_run() -> None:
        tasks = [
            asyncio.create_task(stream(port, mn, list(range(PER_DEVICE)), acked[mn]))
            for mn in DEVICES
        ]
        while sum(map(len, acked.values())) < PER_DEVICE:  # a quarter acknowledged
            await asyncio.sleep(0.001)
        os.kill(proc.pid, signal.SIGKILL)  # mid-stream
        await asyncio.gather(*tasks)

    asyncio.run(first_run())
    proc.wait(10)
    before = {mn: set(s) for mn, s in acked.items()}
    assert sum(map(len, before.values())) > 0, "nothing was acknowledged before the kill"
    assert sum(map(len, before.values())) < len(DEVICES) * PER_DEVICE, "killed too late"
    with engine.connect() as conn:
        stored = set(conn.execute(select(ReceivedPacket.mn, ReceivedPacket.qn)).all())
    for mn, idx in before.items():
        for i in idx:
            assert (mn, qn_of(i)) in stored, f"acknowledged packet {mn}/{i} lost by kill -9"

    proc, port, _ = start_serve(db_url)
    try:

        async def second_run() -> None:
            # devices re-send everything not acknowledged (incl. packets stored but unacked)
            await asyncio.gather(
                *[
                    stream(
                        port, mn, [i for i in range(PER_DEVICE) if i not in acked[mn]], acked[mn]
                    )
                    for mn in DEVICES
                ]
            )

        asyncio.run(second_run())
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0
    assert all(len(s) == PER_DEVICE for s in acked.values())
    total = len(DEVICES) * PER_DEVICE
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(ReceivedPacket)).scalar() == total
        assert conn.execute(select(func.count()).select_from(RawPacket)).scalar() == total
        assert conn.execute(select(func.count()).select_from(Observation)).scalar() == 2 * total


def test_sigterm_stops_cleanly_and_health_endpoint(db_url: str, engine: Engine) -> None:
    add_device(engine, mn=MN, pw=PW, st="22")
    proc, port, http_port = start_serve(db_url)
    try:
        acked: set[int] = set()
        asyncio.run(stream(port, MN, list(range(20)), acked))
        assert acked == set(range(20))
        with urllib.request.urlopen(f"http://127.0.0.1:{http_port}/healthz", timeout=5) as r:
            health = json.loads(r.read())
        assert health["status"] == "ok" and health["committed_packets"] == 20
    finally:  # a failed check must not leave the server (and its web process) running
        proc.send_signal(signal.SIGTERM)
    assert proc.wait(30) == 0
    assert proc.stderr is not None and "Traceback" not in proc.stderr.read()


@pytest.mark.parametrize("port", ["-1", "70000"])
def test_serve_rejects_bad_port(tmp_path: Path, port: str) -> None:
    from typer.testing import CliRunner

    from qingshan.cli.main import app

    url = f"sqlite:///{tmp_path}/x.db"
    assert CliRunner().invoke(app, ["init", "--db", url]).exit_code == 0
    r = CliRunner().invoke(app, ["serve", "--db", url, "--hj212-port", port])
    assert r.exit_code == 2 and "out of range 0-65535" in r.stderr, r.stderr


def test_serve_reports_a_busy_port(tmp_path: Path) -> None:
    import socket

    from typer.testing import CliRunner

    from qingshan.cli.main import app

    url = f"sqlite:///{tmp_path}/x.db"
    assert CliRunner().invoke(app, ["init", "--db", url]).exit_code == 0
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        r = CliRunner().invoke(
            app,
            [
                "serve",
                "--db",
                url,
                "--hj212-host",
                "127.0.0.1",
                "--hj212-port",
                str(port),
                "--http-port",
                "0",
            ],
        )
    assert r.exit_code == 2 and "cannot listen" in r.stderr, r.stderr
