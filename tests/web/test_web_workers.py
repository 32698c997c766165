"""``qingshan web``: the web app in worker processes of its own, several times on one port."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from conftest import migrated_sqlite_url

QINGSHAN = str(Path(sys.executable).parent / "qingshan")


def _spawn(url: str, port: int, workers: int, err: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [QINGSHAN, "web", "--db", url, "--http-port", str(port), "--workers", str(workers)],
        stdout=subprocess.PIPE,
        stderr=err.open("a"),
        text=True,
    )


def _port(proc: subprocess.Popen[str]) -> int:
    assert proc.stdout is not None
    line = proc.stdout.readline()  # printed once the socket is bound
    if not line.startswith("http_port="):
        raise AssertionError(f"qingshan web exited with {proc.wait()}")
    return int(line.strip().split("=")[1])


def _get(port: int, path: str, timeout: float = 120) -> tuple[int, bytes]:
    # A connection the kernel gives to an instance still starting waits in its queue until
    # that instance's workers accept: long on a loaded machine, never refused.
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=timeout) as r:
        return r.status, r.read()


def _wait_ready(port: int, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout  # spawned workers import slowly on a busy machine
    while time.monotonic() < deadline:
        try:
            _get(port, "/healthz", timeout=5)
            return
        except OSError:
            time.sleep(0.2)
    pytest.fail("qingshan web did not answer")


def test_workers_and_a_second_instance_on_the_same_port(tmp_path: Path) -> None:
    url = migrated_sqlite_url(tmp_path / "web.db")
    err = tmp_path / "web.err"
    procs = [_spawn(url, 0, 2, err)]
    try:
        port = _port(procs[0])
        procs.append(_spawn(url, port, 1, err))  # SO_REUSEPORT: no "address in use"
        assert _port(procs[1]) == port
        _wait_ready(port)
        for _ in range(20):  # whichever process the kernel picks answers the same
            status, body = _get(port, "/api/v1/map/config")
            assert status == 200 and "tile_url" in json.loads(body)
        assert all(p.poll() is None for p in procs), err.read_text()
    finally:
        for p in procs:
            p.send_signal(signal.SIGTERM)
        for p in procs:
            try:
                p.wait(30)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(5)
