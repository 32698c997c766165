"""``qingshan serve``: the gateway, the forwarder, background jobs and a health endpoint.

Background jobs (leader only, see :mod:`qingshan.services.leadership`): roll-ups of dirty
buckets every ``rollup_interval`` seconds, and the purge of raw packets, idempotency keys and
quarantine older than ``raw_retention_days`` once an hour; environmental-quality figures of
the days that changed every ``figures_interval`` seconds.
The HTTP port serves the web application (:mod:`qingshan.web`) in a child process
(:mod:`qingshan.gateway.web_process`: web work never holds the gateway's interpreter) when
``web`` is given, else only ``GET /healthz``; either way ``/healthz`` answers JSON:
database state, connections, queue, forwarding backlog.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import signal
import sys
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy import Engine

from qingshan.gateway.bus import BusCommitQueue, BusConfig, bus_queue_factory
from qingshan.gateway.forward import Forwarder
from qingshan.gateway.server import Gateway, GatewayConfig
from qingshan.gateway.web_process import WebProcess
from qingshan.services.figures import update_dirty
from qingshan.services.leadership import Leadership
from qingshan.services.refusals import purge_refusals
from qingshan.services.rollups import run_rollups
from qingshan.storage.db import session_factory
from qingshan.storage.writes import purge_raw

log = logging.getLogger("qingshan.serve")


class HealthServer:
    """``GET /healthz`` over raw HTTP/1.0: on the HTTP port without the web app (anonymous,
    so without what the limits refused), or on the private Unix socket the web process reads
    (``full``: everything; the web app decides who sees what)."""

    def __init__(self, status: Callable[[], dict[str, Any]], *, full: bool = False) -> None:
        self.status = status
        self.full = full
        self._server: asyncio.Server | None = None

    async def start(self, host: str, port: int) -> int:
        self._server = await asyncio.start_server(self._handle, host, port)
        return int(self._server.sockets[0].getsockname()[1])

    async def start_unix(self, path: str) -> None:
        self._server = await asyncio.start_unix_server(self._handle, path)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            line = await asyncio.wait_for(reader.readline(), 5.0)
            while (await asyncio.wait_for(reader.readline(), 5.0)) not in (b"\r\n", b"\n", b""):
                pass
            parts = line.decode("latin-1").split()
            if len(parts) >= 2 and parts[0] == "GET" and parts[1] == "/healthz":
                status = self.status()
                if not self.full:  # no log-in here: never what the limits refused, and from whom
                    status = {k: v for k, v in status.items() if k != "gateway_limits"}
                body = json.dumps(status, ensure_ascii=False).encode()
                head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json; charset=utf-8\r\n"
            else:
                body = b'{"error": "not found; try GET /healthz"}'
                head = b"HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\n"
            writer.write(
                head + b"Content-Length: %d\r\nConnection: close\r\n\r\n" % len(body) + body
            )
            await writer.drain()
        except (TimeoutError, ConnectionError, OSError):
            pass
        finally:
            writer.close()


async def _periodic(name: str, every: float, job: Callable[[], object]) -> None:
    while True:
        await asyncio.sleep(every)
        try:
            await asyncio.to_thread(job)
        except Exception as exc:
            log.warning("%s failed (will retry): %s", name, exc)


Duty = Callable[[], Callable[[], None]]  # starts a leader-only duty, returns its (blocking) stop


async def serve(
    engine: Engine,
    config: GatewayConfig,
    *,
    http_host: str,
    http_port: int,
    retention_days: int,
    rollup_interval: float = 10.0,
    figures_interval: float = 60.0,
    ready: Callable[[int, int], None] | None = None,
    stop_event: asyncio.Event | None = None,
    web: WebProcess | None = None,
    bus: BusConfig | None = None,
    leadership: Leadership | None = None,
    leader_check_seconds: float = 2.0,
    duties: Sequence[Duty] = (),
) -> None:
    """Run until SIGTERM/SIGINT (or ``stop_event``), then shut down gracefully.

    ``bus``: publish accepted packets to NATS JetStream (:mod:`qingshan.gateway.bus`) instead
    of writing them; ``qingshan writer`` stores them. The forwarder, the periodic jobs and
    ``duties`` (e.g. the alarm detection thread) run only while this process is the leader
    (:mod:`qingshan.services.leadership`); without ``leadership`` it always is."""
    try:
        factory = bus_queue_factory(engine, bus, lenient=config.lenient) if bus else None
        gateway = Gateway(engine, config, commit_factory=factory)
        queue = gateway.commit if isinstance(gateway.commit, BusCommitQueue) else None
        if queue is not None:
            await queue.connect()  # the stream exists before the first packet is accepted
        forwarder = Forwarder(engine)
        hj_port = await gateway.start()
    except BaseException:
        if web is not None:  # forked already: it must not outlive a gateway that never ran
            await web.stop()
        raise
    leading = False
    jobs: list[asyncio.Task[None]] = []
    stops: list[Callable[[], None]] = []

    def start_duties() -> None:
        forwarder.start()
        jobs[:] = [
            asyncio.create_task(
                _periodic(
                    "roll-ups",
                    rollup_interval,
                    lambda: run_rollups(
                        engine,
                        max_batches=20,
                        grace=timedelta(minutes=2),
                        settle=timedelta(seconds=10),
                    ),
                )
            ),
            asyncio.create_task(
                _periodic("raw packet purge", 3600.0, lambda: purge_raw(engine, retention_days))
            ),
            asyncio.create_task(
                _periodic(
                    "refusal counter purge", 3600.0, lambda: purge_refusals(engine, retention_days)
                )
            ),
            # Environmental-quality figures follow the data (issue 7): only what changed.
            asyncio.create_task(
                _periodic(
                    "figures", figures_interval, lambda: update_dirty(session_factory(engine))
                )
            ),
        ]
        stops[:] = [start() for start in duties]

    async def stop_duties() -> None:
        await forwarder.stop()
        for j in jobs:
            j.cancel()
        for j in jobs:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await j
        jobs.clear()
        for stop_one in stops:
            await asyncio.to_thread(stop_one)
        stops.clear()

    async def lead() -> None:
        nonlocal leading
        while True:
            ok = True if leadership is None else await asyncio.to_thread(leadership.try_acquire)
            if ok and not leading:
                leading = True
                start_duties()
            elif not ok and leading:
                log.warning("no longer the leader: stopping the forwarder, roll-ups and figures")
                leading = False
                await stop_duties()
            await asyncio.sleep(leader_check_seconds)

    def status() -> dict[str, Any]:
        c = gateway.commit.stats
        return {
            "status": "degraded" if c.db_down_since is not None else "ok",
            "database": "unavailable" if c.db_down_since is not None else "ok",
            "connections": gateway.stats.connections,
            "committed_packets": gateway.stats.committed,
            "rejected_packets": gateway.stats.rejected,
            "queued": gateway.commit.pending,
            "batches": c.batches,
            "largest_batch": c.largest_batch,
            "bus": queue.status() if queue is not None else None,
            "forwarded": forwarder.stats.delivered,
            "forward_errors": forwarder.stats.last_error,
            # 1 while this process runs the forwarder, roll-ups, figures and alarm detection
            "leader": int(leading),
            # What the gateway's limits refused: for the bureau's staff only (web app).
            "gateway_limits": gateway.limits_status(),
        }

    health: HealthServer | None = None
    if web is not None:
        health = HealthServer(status, full=True)
        await health.start_unix(web.status_socket)
        try:
            await web.start()
        except BaseException:
            await web.stop()
            await health.stop()
            await gateway.stop()
            raise
        web_port = web.port
    else:
        health = HealthServer(status)
        web_port = await health.start(http_host, http_port)
    leader_task = asyncio.create_task(lead(), name="leadership")
    stop = stop_event or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    if ready is not None:
        ready(hj_port, web_port)
    try:
        await stop.wait()
    finally:
        log.info("shutting down: draining in-flight packets")
        if web is not None:
            await web.stop()  # its requests finish first; /healthz is answered meanwhile
        if health is not None:
            await health.stop()
        await gateway.stop()
        leader_task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await leader_task
        if leading:
            await stop_duties()
        if leadership is not None:
            await asyncio.to_thread(leadership.release)
        for sig in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.remove_signal_handler(sig)


def print_ports(hj_port: int, web_port: int) -> None:
    """Machine-readable start-up line(s) on stdout (scripts and tests parse them)."""
    sys.stdout.write(f"hj212_port={hj_port}\nhttp_port={web_port}\n")
    sys.stdout.flush()
