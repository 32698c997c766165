"""A bus that cannot be reached at start: ``qingshan serve --bus`` and ``qingshan writer`` say
so and exit 2 after ``bus_connect_timeout_seconds`` (they used to wait silently for ever); a
writer told to stop while it is still trying exits at once."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import migrated_sqlite_url

QINGSHAN = str(Path(sys.executable).parent / "qingshan")


def _closed_port() -> int:
    with socket.socket() as s:  # bound, never listening: connections are refused
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {
        **os.environ,
        "QINGSHAN_DB_URL": migrated_sqlite_url(tmp_path / "q.db"),
        "QINGSHAN_BUS_CONNECT_TIMEOUT_SECONDS": "2",
        "QINGSHAN_SCHEDULER_ENABLED": "false",
    }


@pytest.mark.parametrize(
    "args",
    [
        ["writer"],
        ["serve", "--hj212-port", "0", "--http-port", "0", "--hj212-host", "127.0.0.1"],
    ],
    ids=["writer", "serve"],
)
def test_unreachable_bus_is_named_and_exits_2(
    args: list[str], env: dict[str, str], tmp_path: Path
) -> None:
    bus = f"nats://127.0.0.1:{_closed_port()}"
    started = time.monotonic()
    r = subprocess.run(
        [QINGSHAN, *args, "--bus", bus],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 2, r.stderr
    assert f"cannot reach the bus: no NATS server answered within 2 s at {bus}" in r.stderr
    assert "ConnectionRefusedError" in r.stderr  # the last error, for the operator
    assert "Traceback" not in r.stderr
    assert time.monotonic() - started < 60


def test_writer_stops_on_sigterm_while_still_connecting(
    env: dict[str, str], tmp_path: Path
) -> None:
    env = {**env, "QINGSHAN_BUS_CONNECT_TIMEOUT_SECONDS": "600"}
    bus = f"nats://127.0.0.1:{_closed_port()}"
    proc = subprocess.Popen(
        [QINGSHAN, "writer", "--bus", bus],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stderr is not None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:  # trying: each refusal is logged
            line = proc.stderr.readline()
            if "NATS: ConnectionRefusedError" in line:
                break
        else:
            pytest.fail("the writer never tried the bus")
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()


def test_jetstream_set_up_is_retried_while_the_cluster_is_not_ready() -> None:
    """A stream or consumer request that times out (a cluster still electing its leader) is
    made again; one that keeps failing ends in BusUnreachable within connect_timeout_s."""
    import asyncio
    import dataclasses

    from nats.errors import NoRespondersError

    from qingshan.gateway.bus import BusConfig, BusUnreachable, until_ready

    cfg = dataclasses.replace(BusConfig(servers=("nats://127.0.0.1:1",)), connect_timeout_s=1.0)
    calls: list[int] = []

    async def flaky() -> str:
        calls.append(1)
        if len(calls) == 1:
            raise TimeoutError
        if len(calls) == 2:
            raise NoRespondersError
        return "ready"

    assert asyncio.run(until_ready("create the stream", flaky, cfg)) == "ready"
    assert len(calls) == 3

    async def never() -> str:
        raise TimeoutError

    started = time.monotonic()
    with pytest.raises(BusUnreachable, match="could not create the consumer within 1 s"):
        asyncio.run(until_ready("create the consumer", never, cfg))
    assert time.monotonic() - started < 3
