"""A real ``qingshan serve`` under attack, and a good device that measures its acknowledgements.

* :class:`Server` starts ``qingshan serve`` as a subprocess on a database URL (SQLite or
  PostgreSQL) with ``QINGSHAN_*`` settings, optionally under a lower open-file limit; it reads
  the server's resident memory and open descriptors from ``/proc`` and keeps its log in a
  file (so a test can bound the log's size).
* :class:`GoodDevice` is a registered device on 127.0.0.1 sending a minute packet with the
  reply bit every ``interval`` s and recording each acknowledgement's latency and QN: during
  every attack its p99 must stay under a second and every acknowledged packet must be stored.
* :func:`connect_from` opens a connection from another loopback address (127.0.0.x): every
  attacker has its own address, so per-address limits never hit the good device.
"""

from __future__ import annotations

import asyncio
import json
import os
import resource
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select

from hostile.good_device import GOOD_MN, GOOD_PW, T0
from qingshan.protocol.hj212 import Frame, Framer, Packet, parse_frame
from qingshan.simulator.client import data_packet, make_qn
from qingshan.storage.models import ReceivedPacket

QINGSHAN = str(Path(sys.executable).parent / "qingshan")

#: Short limits so that each probe takes seconds (every one is a documented setting).
FAST: dict[str, str] = {
    "hj212_auth_base_delay_seconds": "0.2",
    "hj212_auth_max_delay_seconds": "2",
    "hj212_auth_disconnect_after": "6",
    "hj212_auth_block_seconds": "30",
    "hj212_refusal_flush_seconds": "0.5",
    "hj212_unauth_idle_timeout": "2",
    "hj212_write_stall_timeout": "2",
    "scheduler_enabled": "false",
}


@dataclass
class Server:
    proc: subprocess.Popen[str]
    hj212_port: int
    http_port: int
    log_path: Path

    def rss_mb(self) -> float:
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        raise AssertionError("no VmRSS")

    def fds(self) -> int:
        return len(os.listdir(f"/proc/{self.proc.pid}/fd"))

    def log_bytes(self) -> int:
        return self.log_path.stat().st_size

    def healthz(self, token: str | None = None) -> dict[str, Any]:
        req = urllib.request.Request(f"http://127.0.0.1:{self.http_port}/healthz")
        if token is not None:
            req.add_header("Authorization", f"Bearer {token}")
        with urllib.request.urlopen(req, timeout=30) as resp:
            data: dict[str, Any] = json.loads(resp.read())
        return data

    def alive(self) -> bool:
        return self.proc.poll() is None


@contextmanager
def serve(url: str, cwd: Path, nofile: int | None = None, **settings: str) -> Iterator[Server]:
    """``qingshan serve`` on ``url`` with the :data:`FAST` limits and ``settings`` on top."""
    env = {**os.environ, "QINGSHAN_DB_URL": url, "QINGSHAN_LOG_LEVEL": "WARNING"}
    for k, v in {**FAST, **settings}.items():
        env[f"QINGSHAN_{k.upper()}"] = v

    def limit() -> None:  # in the child, before exec
        if nofile is not None:
            resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))

    log_path = cwd / "serve.log"
    with log_path.open("w") as log:
        proc = subprocess.Popen(
            [
                QINGSHAN,
                "serve",
                "--hj212-port",
                "0",
                "--http-port",
                "0",
                "--hj212-host",
                "127.0.0.1",
            ],
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
            env=env,
            cwd=cwd,
            preexec_fn=limit,
        )
    ports: dict[str, int] = {}
    assert proc.stdout is not None
    deadline = time.monotonic() + 120  # a loaded 2-core machine took over 50 s
    while len(ports) < 2 and time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        key, _, value = line.strip().partition("=")
        if value.isdigit():
            ports[key] = int(value)
    if len(ports) < 2:
        proc.kill()
        raise AssertionError(f"serve did not start: {log_path.read_text()[-3000:]}")
    server = Server(proc, ports["hj212_port"], ports["http_port"], log_path)
    try:
        yield server
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)


async def connect_from(
    address: str, port: int, host: str = "127.0.0.1"
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A TCP connection to the gateway from the loopback address ``address``."""
    return await asyncio.open_connection(host, port, local_addr=(address, 0))


def minute_packet(i: int, *, mn: str = GOOD_MN, pw: str = GOOD_PW, reply: bool = True) -> bytes:
    when = T0 + timedelta(minutes=i)
    return data_packet(
        mn=mn,
        pw=pw,
        st="22",
        cn="2051",
        when=when,
        reply=reply,
        qn=make_qn(when, i % 1000),
        values={"a21026": {"Avg": f"{10 + i % 7}.5", "Flag": "N"}},
    )


def qn(i: int) -> str:
    return make_qn(T0 + timedelta(minutes=i), i % 1000)


@dataclass
class GoodDevice:
    """The registered device that must not notice the attack; it runs in its own process
    (``good_device.py``), so the attackers' work in this process is not its latency."""

    port: int
    interval: float = 0.05
    latencies: list[float] = field(default_factory=list)
    acked: list[str] = field(default_factory=list)
    unanswered: int = 0
    error: str | None = None
    _proc: asyncio.subprocess.Process | None = None

    async def start(self) -> GoodDevice:
        self._proc = await asyncio.create_subprocess_exec(
            sys.executable,
            str(Path(__file__).with_name("good_device.py")),
            str(self.port),
            str(self.interval),
            stdout=asyncio.subprocess.PIPE,
        )
        assert self._proc.stdout is not None
        line = await asyncio.wait_for(self._proc.stdout.readline(), 60)
        assert line.strip() == b"ready", line
        await asyncio.sleep(0.3)  # a few acknowledgements before the attack
        return self

    async def stop(self) -> None:
        assert self._proc is not None
        self._proc.send_signal(signal.SIGTERM)
        out, _ = await asyncio.wait_for(self._proc.communicate(), 30)
        data = json.loads(out.decode().strip().splitlines()[-1])
        self.latencies, self.acked = data["latencies"], data["acked"]
        self.unanswered, self.error = data["unanswered"], data["error"]

    def p99(self) -> float:
        xs = sorted(self.latencies)
        assert xs, "the good device got no acknowledgement"
        return xs[min(len(xs) - 1, int(0.99 * len(xs)))]


def assert_acked_stored(engine: Engine, device: GoodDevice, mn: str = GOOD_MN) -> None:
    """Nothing acknowledged is lost: every acknowledged QN is stored."""
    with engine.connect() as conn:
        stored = set(
            conn.execute(select(ReceivedPacket.qn).where(ReceivedPacket.mn == mn)).scalars()
        )
    missing = set(device.acked) - stored
    assert not missing, f"acknowledged but not stored: {sorted(missing)[:5]}"


def assert_good_device_held(device: GoodDevice) -> None:
    assert device.unanswered == 0, device.error
    assert len(device.acked) >= 5, device.acked
    assert device.p99() < 1.0, (
        f"good device ack p99 {device.p99():.3f} s; slowest of {len(device.latencies)}: "
        f"{sorted(device.latencies)[-5:]}"
    )


def cli(*args: str) -> str:
    """The real ``qingshan`` command line, run in this process (Typer's runner): its output."""
    from typer.testing import CliRunner

    from qingshan.cli.main import app

    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.stdout


def staff_token(engine: Engine, role: str = "staff") -> str:
    """An API token of a new user with ``role`` (read scope)."""
    from qingshan.roles import Principal, Role
    from qingshan.services.accounts import create_token, create_user, principal_of
    from qingshan.storage.db import session_scope

    cli_actor = Principal(Role.ADMIN, via="cli")
    with session_scope(engine) as s:
        user = create_user(
            s, cli_actor, username=f"{role}-probe", password="long-enough-pw-81", role=role
        )
        token, _ = create_token(s, principal_of(user, "cli"), "healthz")
    return token


async def read_replies(
    reader: asyncio.StreamReader, timeout: float, want: int | None = None
) -> tuple[list[Packet], bool]:
    """Replies read until EOF (True), ``want`` replies, or ``timeout`` s of waiting."""
    framer = Framer()
    got: list[Packet] = []
    deadline = time.monotonic() + timeout
    while want is None or len(got) < want:
        left = deadline - time.monotonic()
        if left <= 0:
            return got, False
        try:
            data = await asyncio.wait_for(reader.read(65536), left)
        except TimeoutError:
            return got, False
        except ConnectionError:
            return got, True
        if not data:
            return got, True
        for ev in framer.feed(data):
            if isinstance(ev, Frame):
                got.append(parse_frame(ev, lenient=True))
    return got, False


def qnrtn(reply: Packet) -> tuple[str, str | None]:
    return reply.cn, reply.cp.params.get("QnRtn")
