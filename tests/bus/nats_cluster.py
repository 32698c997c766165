"""Real ``nats-server`` processes with JetStream for the bus tests (temp dirs, free ports)."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

NATS_SERVER = shutil.which("nats-server") or "/usr/sbin/nats-server"


def need_nats_server() -> None:
    if not os.access(NATS_SERVER, os.X_OK):
        msg = f"nats-server not found at {NATS_SERVER} (Debian package nats-server)"
        if os.environ.get("CI"):
            pytest.fail(msg)
        pytest.skip(msg)


def free_ports(n: int) -> list[int]:
    socks = []
    for _ in range(n):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        socks.append(s)
    ports = [int(s.getsockname()[1]) for s in socks]
    for s in socks:
        s.close()
    return ports


def wait_port(port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.02)
    raise AssertionError(f"nats-server did not listen on {port}")


@dataclass
class NatsNode:
    name: str
    port: int
    cluster_port: int
    store: Path
    routes: list[int]
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def start(self) -> None:
        args = [
            NATS_SERVER,
            "-a", "127.0.0.1",
            "-p", str(self.port),
            "-n", self.name,
            "-js",
            "-sd", str(self.store),
        ]  # fmt: skip
        if self.routes:
            args += [
                "--cluster_name", "qingshan-test",
                "--cluster", f"nats://127.0.0.1:{self.cluster_port}",
                "--routes", ",".join(f"nats://127.0.0.1:{p}" for p in self.routes),
            ]  # fmt: skip
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_port(self.port)

    def kill9(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)


@dataclass
class NatsCluster:
    nodes: list[NatsNode] = field(default_factory=list)

    @property
    def urls(self) -> str:
        return ",".join(n.url for n in self.nodes)

    def stop(self) -> None:
        for n in self.nodes:
            n.stop()


def start_cluster(tmp: Path, size: int) -> NatsCluster:
    """``size`` nodes (1 = a single server without clustering)."""
    ports = free_ports(2 * size)
    client, cluster = ports[:size], ports[size:]
    nodes = [
        NatsNode(
            f"n{i}",
            client[i],
            cluster[i],
            tmp / f"n{i}",
            [p for j, p in enumerate(cluster) if j != i] if size > 1 else [],
        )
        for i in range(size)
    ]
    c = NatsCluster(nodes)
    try:
        for n in nodes:
            n.start()
    except BaseException:
        c.stop()
        raise
    return c
