"""``qingshan serve`` runs the web app as a child process (qingshan.gateway.web_process): the
child answers on the port the parent bound, reports the gateway's counters in ``/healthz``,
is started again when it dies, and stops when its parent is killed."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest

from conftest import migrated_sqlite_url
from qingshan.gateway.web_process import (
    WebProcess,
    WebProcessFailed,
    bind_http_socket,
    child_env,
)
from qingshan.settings import get_settings
from qingshan.web.gateway_status import UNREACHABLE, GatewayStatus


def children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(x) for x in path.read_text().split()] if path.exists() else []


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().split()[2] == "Z")  # a zombie is gone


def wait_for(check: Callable[[], bool], seconds: float = 60.0) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, f"not within {seconds} s"
        time.sleep(0.1)


def healthz(base: str) -> dict[str, object] | None:
    try:
        with urllib.request.urlopen(base + "/healthz", timeout=5) as r:
            data = json.loads(r.read())
            assert isinstance(data, dict)
            return data
    except OSError:
        return None


def test_the_web_child_reports_restarts_and_ends_with_its_parent(tmp_path: Path) -> None:
    env = {**os.environ, "QINGSHAN_DB_URL": migrated_sqlite_url(tmp_path / "w.db")}
    env["QINGSHAN_LOG_LEVEL"] = "WARNING"
    cmd = [sys.executable, "-m", "qingshan.cli.main", "serve", "--hj212-host", "127.0.0.1"]
    proc = subprocess.Popen(
        [*cmd, "--hj212-port", "0", "--http-port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    try:
        assert proc.stdout is not None
        ports = dict(proc.stdout.readline().strip().partition("=")[::2] for _ in range(2))
        base = f"http://127.0.0.1:{ports['http_port']}"
        status = healthz(base)  # the child answers as soon as serve prints its ports
        assert status is not None and status["status"] == "ok", status
        assert status["connections"] == 0 and "committed_packets" in status, status
        wait_for(lambda: (healthz(base) or {}).get("leader") == 1)  # the gateway's own state
        [web] = children(proc.pid)
        # The first web process is forked with the web app imported (same command line);
        cmdline = Path(f"/proc/{proc.pid}/cmdline").read_text()
        assert Path(f"/proc/{web}/cmdline").read_text() == cmdline

        os.kill(web, signal.SIGKILL)  # the web process dies: started again, same port
        wait_for(lambda: children(proc.pid) not in ([], [web]))
        wait_for(lambda: healthz(base) is not None)
        [again] = children(proc.pid)
        # a restart is a new `qingshan web` on the inherited socket.
        assert "web\x00--socket-fd" in Path(f"/proc/{again}/cmdline").read_text()

        proc.send_signal(signal.SIGKILL)  # the parent dies: the child stops by itself
        proc.wait(10)
        wait_for(lambda: not alive(again), 30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)


def test_status_unreachable_and_settings_passed_on(tmp_path: Path) -> None:
    missing = GatewayStatus(str(tmp_path / "no.sock"))
    assert asyncio.run(missing()) == UNREACHABLE
    s = get_settings(db_url="sqlite:///x.db", http_port=0, hj212_reuse_port=True)
    env = child_env(s, "/run/x.sock")
    assert env["QINGSHAN_DB_URL"] == "sqlite:///x.db"
    assert env["QINGSHAN_HTTP_PORT"] == "0"
    assert env["QINGSHAN_HJ212_REUSE_PORT"] == "true"
    assert env["QINGSHAN_WEB_STATUS_SOCKET"] == "/run/x.sock"
    with pytest.MonkeyPatch.context() as mp:
        for k, v in env.items():
            if k.startswith("QINGSHAN_"):
                mp.setenv(k, v)
        back = get_settings()
    assert back.db_url == s.db_url and back.hj212_reuse_port and back.http_port == 0


def test_a_web_process_that_cannot_start_is_reported(tmp_path: Path) -> None:
    """``serve`` fails with the child's exit code instead of waiting (the CLI says "the web
    app did not start: …" and exits 2)."""

    class Broken(WebProcess):
        async def _spawn(self) -> None:  # a child that dies while starting
            self._proc = await asyncio.create_subprocess_exec(
                sys.executable, "-c", "import sys; sys.exit(3)"
            )

    async def start() -> None:
        web = Broken(
            get_settings(db_url=f"sqlite:///{tmp_path}/x.db"), bind_http_socket("127.0.0.1", 0)
        )
        try:
            await web.start()
        finally:
            await web.stop()

    with pytest.raises(WebProcessFailed, match="exited with code 3"):
        asyncio.run(start())
