"""A real ``qingshan serve`` on 127.0.0.1 (ports chosen by the system) over a seeded database,
for tests that need real sockets and real concurrency."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest


@contextmanager
def serve(url: str, cwd: Path, **settings: str) -> Iterator[tuple[str, int]]:
    """Start ``qingshan serve`` on the database ``url`` with ``QINGSHAN_*`` settings; yields
    the web base URL and the HJ 212 port; stops the server afterwards."""
    env = {**os.environ, "QINGSHAN_DB_URL": url, "QINGSHAN_LOG_LEVEL": "WARNING"}
    env.update({f"QINGSHAN_{k.upper()}": v for k, v in settings.items()})
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from qingshan.cli.main import main; main()",
            "serve",
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
        env=env,
        cwd=cwd,
    )
    ports: dict[str, int] = {}
    deadline = time.monotonic() + 120  # start-up is slow on a loaded machine
    assert proc.stdout is not None
    while time.monotonic() < deadline and len(ports) < 2:
        line = proc.stdout.readline()
        if not line:
            break
        key, _, value = line.strip().partition("=")
        if key in ("http_port", "hj212_port") and value.isdigit():
            ports[key] = int(value)
    if "http_port" not in ports:
        proc.kill()
        pytest.fail(f"server did not start: {proc.stderr.read() if proc.stderr else ''}")
    try:
        yield f"http://127.0.0.1:{ports['http_port']}", ports.get("hj212_port", 0)
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
