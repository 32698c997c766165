"""The HJ 212 TCP gateway: sockets → protocol library → group commit → replies.

Each connection is an :class:`asyncio.Protocol` (no per-packet task wake-ups): received bytes
go through a bounded :class:`Framer`; each frame is decoded (device encoding, PNUM/PNO
reassembly: the protocol library's :class:`~qingshan.protocol.hj212.Receiver`) and queued on
the :class:`CommitQueue`. When the batch holding a packet has committed, the queue calls back
in order and the connection answers every packet that asked for it, by the protocol
library's reply rules (:func:`~qingshan.protocol.hj212.reply_to`): 9014 once the data is
durable, 9011 with QnRtn 3/4/5 when authentication failed (after the packet was
quarantined). Nothing is acknowledged before its transaction committed.
Replies produced by one batch leave in one write per connection.

Limits: frames longer than ``max_segment`` are skipped by the framer and count as a strike;
``max_strikes`` strikes (garbage, oversized frames) close the connection; a connection with
``max_in_flight`` packets awaiting their commit stops being read (TCP back-pressure), as do
all connections while ``max_queue`` items wait for the database; a connection silent for
``idle_timeout`` seconds is closed; ``max_connections`` bounds the number of connections.

Shutdown (:meth:`Gateway.stop`): stop accepting and reading, commit and answer what was
already received, then close the connections.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Engine

from qingshan.clock import utcnow
from qingshan.gateway.commit import Callback, CommitQueue
from qingshan.protocol.hj212 import Framer, FramingError, reply_to
from qingshan.services.decode import Decoder, Pending
from qingshan.services.ingest import Accepted, Ingestor, Outcome, Rejected
from qingshan.services.registry import Directory
from qingshan.storage.models import ConnectionLog, DeviceEvent

log = logging.getLogger("qingshan.gateway")


@dataclass
class GatewayConfig:
    host: str = "127.0.0.1"
    port: int = 0
    idle_timeout: float = 600.0
    max_segment: int = 1024
    max_strikes: int = 3
    max_in_flight: int = 256
    max_queue: int = 50000
    max_connections: int = 20000
    lenient: bool = False
    drain_timeout: float = 10.0


@dataclass
class GatewayStats:
    connections: int = 0
    accepted_connections: int = 0
    refused_connections: int = 0
    committed: int = 0
    rejected: int = 0
    closed_for_garbage: int = 0
    closed_idle: int = 0


@dataclass(eq=False)
class _Connection(asyncio.Protocol):
    gw: Gateway
    peer: str = "?"
    mn: str | None = None
    packets: int = 0
    reason: str = "closed by peer"
    connected_at: datetime = field(default_factory=utcnow)
    in_flight: int = 0
    strikes: int = 0
    paused: bool = False
    closed: bool = False
    draining: bool = False
    last_activity: float = 0.0

    def __post_init__(self) -> None:
        cfg = self.gw.config
        self.framer = Framer(max_segment=cfg.max_segment)
        self.decoder = Decoder(self.gw.directory, lenient=cfg.lenient, max_segment=cfg.max_segment)
        self.transport: asyncio.Transport | None = None
        self.out: list[bytes] = []
        self.flush_scheduled = False
        self.idle_handle: asyncio.TimerHandle | None = None
        self.loop = asyncio.get_running_loop()

    # -- asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        peername = transport.get_extra_info("peername")
        self.peer = f"{peername[0]}:{peername[1]}" if peername else "?"
        gw = self.gw
        if gw.stopping or gw.stats.connections >= gw.config.max_connections:
            gw.stats.refused_connections += 1
            self.closed = True
            transport.abort()
            return
        gw.stats.connections += 1
        gw.stats.accepted_connections += 1
        gw.conns.add(self)
        self.last_activity = self.loop.time()
        self.idle_handle = self.loop.call_later(gw.config.idle_timeout, self._check_idle)

    def data_received(self, data: bytes) -> None:
        if self.closed or self.draining:
            return
        self.last_activity = self.loop.time()
        gw = self.gw
        for ev in self.framer.feed(data):
            if isinstance(ev, FramingError):
                self.strikes += 1
                gw.stats.rejected += 1
                gw.commit.enqueue(
                    Rejected(ev.skipped, ev.reason, ev.detail, mn=self.mn, peer=self.peer), None
                )
                if self.strikes >= gw.config.max_strikes:
                    gw.stats.closed_for_garbage += 1
                    log.warning(
                        "%s cut off after %d bad frames (%s)", self.peer, self.strikes, ev.reason
                    )
                    self._close(f"cut off: {ev.reason}", abort=True)
                    return
                continue
            res = self.decoder.decode(ev.raw, peer=self.peer, now=time.monotonic(), frame=ev)
            if isinstance(res, Pending):
                continue
            if isinstance(res, Accepted):
                self.packets += 1
                if self.mn is None:
                    self.mn = res.packet.mn
                    gw.commit.log(
                        DeviceEvent,
                        {
                            "at": utcnow(),
                            "mn": self.mn,
                            "kind": "connect",
                            "peer": self.peer,
                            "detail": None,
                        },
                    )
            self.in_flight += 1
            gw.commit.enqueue(res, self._make_callback(res))
        if self.in_flight >= gw.config.max_in_flight or gw.commit.pending >= gw.config.max_queue:
            self._pause()

    def connection_lost(self, exc: Exception | None) -> None:
        if self.idle_handle is not None:
            self.idle_handle.cancel()
        self.closed = True
        if self not in self.gw.conns:  # refused in connection_made
            return
        self.gw.conns.discard(self)
        self.gw.globally_paused.discard(self)
        self.gw.stats.connections -= 1
        if exc is not None and self.reason == "closed by peer":
            self.reason = "connection reset"
        self.gw.commit.log(
            ConnectionLog,
            {
                "peer": self.peer,
                "mn": self.mn,
                "connected_at": self.connected_at,
                "disconnected_at": utcnow(),
                "packets": self.packets,
                "reason": self.reason,
            },
        )
        if self.mn is not None:
            self.gw.commit.log(
                DeviceEvent,
                {
                    "at": utcnow(),
                    "mn": self.mn,
                    "kind": "disconnect",
                    "peer": self.peer,
                    "detail": self.reason,
                },
            )

    # -- replies
    def _make_callback(self, item: Accepted | Rejected) -> Callback:
        def done(outcome: Outcome | None) -> None:
            self.in_flight -= 1
            gw = self.gw
            if outcome is not None and isinstance(item, Accepted):
                if outcome.status == "rejected":
                    gw.stats.rejected += 1
                elif outcome.committed:
                    gw.stats.committed += 1
                for p in item.parts:
                    r = reply_to(p, durable=outcome.committed, reason=outcome.reason)
                    if r is not None:
                        self.out.append(r)
                if self.out and not self.flush_scheduled:
                    self.flush_scheduled = True
                    self.loop.call_soon(self._flush)
            if self.paused and self.in_flight < gw.config.max_in_flight // 2:
                self._resume()
            if self.draining and self.in_flight == 0 and not self.flush_scheduled:
                self._close(self.reason)

        return done

    def _flush(self) -> None:
        self.flush_scheduled = False
        if self.out and not self.closed and self.transport is not None:
            self.transport.write(b"".join(self.out))
        self.out.clear()
        if self.draining and self.in_flight == 0:
            self._close(self.reason)

    # -- flow control and closing
    def _pause(self) -> None:
        if not self.paused and not self.closed and self.transport is not None:
            self.paused = True
            self.transport.pause_reading()
            if self.gw.commit.pending >= self.gw.config.max_queue:
                self.gw.globally_paused.add(self)

    def _resume(self) -> None:
        if self.paused and not self.closed and not self.draining and self.transport is not None:
            self.paused = False
            self.transport.resume_reading()

    def _check_idle(self) -> None:
        if self.closed:
            return
        idle = self.loop.time() - self.last_activity
        timeout = self.gw.config.idle_timeout
        if idle >= timeout and self.in_flight == 0:
            self.gw.stats.closed_idle += 1
            self._close("idle timeout")
        else:
            self.idle_handle = self.loop.call_later(max(0.05, timeout - idle), self._check_idle)

    def drain(self) -> None:
        """Stop reading; close once every received packet has been answered."""
        self.draining = True
        self.reason = "gateway shutdown"
        if self.transport is not None and not self.closed:
            self.transport.pause_reading()
        if self.in_flight == 0 and not self.flush_scheduled:
            self._close(self.reason)

    def _close(self, reason: str, abort: bool = False) -> None:
        if self.closed:
            return
        self.reason = reason
        if self.transport is not None:
            if abort:
                self.transport.abort()
            else:
                self.transport.close()


class Gateway:
    def __init__(self, engine: Engine, config: GatewayConfig | None = None) -> None:
        self.engine = engine
        self.config = config or GatewayConfig()
        self.directory = Directory(engine)
        self.commit = CommitQueue(Ingestor(engine, self.directory))
        self.commit.after_batch.append(self._after_batch)
        self.stats = GatewayStats()
        self.conns: set[_Connection] = set()
        self.globally_paused: set[_Connection] = set()
        self._server: asyncio.Server | None = None
        self.stopping = False

    @property
    def port(self) -> int:
        assert self._server is not None
        return int(self._server.sockets[0].getsockname()[1])

    async def start(self) -> int:
        await asyncio.to_thread(self.directory.reload)
        self.commit.start()
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            lambda: _Connection(self), self.config.host, self.config.port, backlog=4096
        )
        log.info("HJ 212 gateway listening on %s:%d", self.config.host, self.port)
        return self.port

    def _after_batch(self) -> None:
        if self.globally_paused and self.commit.pending < self.config.max_queue // 2:
            waiting, self.globally_paused = self.globally_paused, set()
            for c in waiting:
                if c.in_flight < self.config.max_in_flight // 2:
                    c._resume()

    async def stop(self) -> None:
        """Graceful: stop accepting and reading, commit and answer in-flight packets, close."""
        if self.stopping:
            return
        self.stopping = True
        if self._server is not None:
            self._server.close()
        for c in list(self.conns):
            c.drain()
        deadline = time.monotonic() + self.config.drain_timeout
        while self.conns and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        for c in list(self.conns):  # the database did not come back in time
            c._close("gateway shutdown (unanswered)", abort=True)
        await asyncio.sleep(0)
        await self.commit.close(self.config.drain_timeout)
        if self._server is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._server.wait_closed(), 1.0)
        log.info("HJ 212 gateway stopped")
