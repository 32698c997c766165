"""The HJ 212 TCP gateway: sockets → protocol library → group commit → replies.

Per connection: a bounded :class:`Framer` cuts frames from the byte stream; each frame is
decoded (device encoding, PNUM/PNO reassembly) and submitted to the :class:`CommitQueue`; a
reply task answers, in order, each packet that asked for it — 9014 after the data is durably
committed, 9011 with QnRtn 3/4/5 when authentication failed (after the packet was
quarantined). Nothing is acknowledged before its transaction has committed.

Limits: frames longer than ``max_segment`` are skipped by the framer and count as a strike;
``max_strikes`` strikes (garbage, oversized frames) close the connection; at most
``max_in_flight`` packets per connection wait for their commit before the gateway stops reading
that socket; a connection silent for ``idle_timeout`` seconds is closed; ``max_connections``
bounds the number of connections.

Shutdown (:meth:`Gateway.stop`): stop accepting, stop reading, commit and answer what was
already received, then close the connections.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass, field

from sqlalchemy import Engine

from qingshan.gateway.commit import CommitQueue
from qingshan.protocol.hj212 import Framer, FramingError, Packet, data_reply, request_reply
from qingshan.services.decode import Decoder, Pending
from qingshan.services.ingest import SEEN_ONLY_CN, Accepted, Ingestor, Outcome, Rejected
from qingshan.services.registry import Directory, utcnow
from qingshan.storage.models import ConnectionLog, DeviceEvent

log = logging.getLogger("qingshan.gateway")

_NO_REPLY_CN = SEEN_ONLY_CN - {"9015"}  # a device's own replies are never answered


@dataclass
class GatewayConfig:
    host: str = "127.0.0.1"
    port: int = 0
    idle_timeout: float = 600.0
    max_segment: int = 1024
    max_strikes: int = 3
    max_in_flight: int = 512
    max_connections: int = 20000
    lenient: bool = False
    drain_timeout: float = 10.0
    read_size: int = 65536


@dataclass
class GatewayStats:
    connections: int = 0
    accepted_connections: int = 0
    refused_connections: int = 0
    committed: int = 0
    rejected: int = 0
    closed_for_garbage: int = 0
    closed_idle: int = 0


@dataclass
class _Conn:
    peer: str
    connected_at: object = field(default_factory=utcnow)
    mn: str | None = None
    packets: int = 0
    reason: str = "closed by peer"


def reply_for(packet: Packet, outcome: Outcome) -> bytes | None:
    """The reply one (part of a) packet gets, or None."""
    if not packet.needs_reply or packet.cn in _NO_REPLY_CN:
        return None
    if outcome.committed:
        reply: bytes = data_reply(packet)
        return reply
    if outcome.qn_rtn is not None:
        refusal: bytes = request_reply(packet, outcome.qn_rtn)
        return refusal
    return None


class Gateway:
    def __init__(self, engine: Engine, config: GatewayConfig | None = None) -> None:
        self.engine = engine
        self.config = config or GatewayConfig()
        self.directory = Directory(engine)
        self.commit = CommitQueue(Ingestor(engine, self.directory))
        self.stats = GatewayStats()
        self._server: asyncio.Server | None = None
        self._readers: set[asyncio.Task[None]] = set()
        self._handlers: set[asyncio.Task[None]] = set()
        self._stopping = False

    @property
    def port(self) -> int:
        assert self._server is not None
        return int(self._server.sockets[0].getsockname()[1])

    async def start(self) -> int:
        await asyncio.to_thread(self.directory.reload)
        self.commit.start()
        self._server = await asyncio.start_server(
            self._handle,
            self.config.host,
            self.config.port,
            limit=self.config.read_size,
            backlog=4096,
        )
        log.info("HJ 212 gateway listening on %s:%d", self.config.host, self.port)
        return self.port

    async def stop(self) -> None:
        """Graceful: stop accepting and reading, commit and answer in-flight packets, close."""
        if self._stopping:
            return
        self._stopping = True
        if self._server is not None:
            self._server.close()
        for t in list(self._readers):
            t.cancel()
        if self._handlers:
            await asyncio.wait(list(self._handlers), timeout=self.config.drain_timeout)
        await self.commit.close(self.config.drain_timeout)
        if self._server is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 1.0)
        log.info("HJ 212 gateway stopped")

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)
        try:
            await self._serve_connection(reader, writer)
        finally:
            self._handlers.discard(task)

    async def _serve_connection(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        peername = writer.get_extra_info("peername")
        peer = f"{peername[0]}:{peername[1]}" if peername else "?"
        if self._stopping or self.stats.connections >= self.config.max_connections:
            self.stats.refused_connections += 1
            writer.close()
            return
        self.stats.connections += 1
        self.stats.accepted_connections += 1
        conn = _Conn(peer)
        replies: asyncio.Queue[tuple[asyncio.Future[Outcome], Accepted | Rejected] | None] = (
            asyncio.Queue(self.config.max_in_flight)
        )
        replier = asyncio.create_task(self._reply_loop(replies, writer))
        read = asyncio.create_task(self._read_loop(reader, conn, replies))
        self._readers.add(read)
        try:
            await read
        except asyncio.CancelledError:
            if not self._stopping:
                raise
            conn.reason = "gateway shutdown"
        except Exception as exc:  # a bug must cost one connection, not the gateway
            log.exception("connection %s failed", peer)
            conn.reason = f"error: {type(exc).__name__}"
        finally:
            self._readers.discard(read)
            await replies.put(None)
            with contextlib.suppress(Exception):
                await asyncio.wait_for(replier, self.config.drain_timeout)
            writer.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(writer.wait_closed(), 1.0)
            self.stats.connections -= 1
            self.commit.log(
                ConnectionLog,
                {
                    "peer": peer,
                    "mn": conn.mn,
                    "connected_at": conn.connected_at,
                    "disconnected_at": utcnow(),
                    "packets": conn.packets,
                    "reason": conn.reason,
                },
            )
            if conn.mn is not None:
                self.commit.log(
                    DeviceEvent,
                    {
                        "at": utcnow(),
                        "mn": conn.mn,
                        "kind": "disconnect",
                        "peer": peer,
                        "detail": conn.reason,
                    },
                )

    async def _read_loop(
        self,
        reader: asyncio.StreamReader,
        conn: _Conn,
        replies: asyncio.Queue[tuple[asyncio.Future[Outcome], Accepted | Rejected] | None],
    ) -> None:
        framer = Framer(max_segment=self.config.max_segment)
        decoder = Decoder(
            self.directory, lenient=self.config.lenient, max_segment=self.config.max_segment
        )
        strikes = 0
        while True:
            try:
                data = await asyncio.wait_for(
                    reader.read(self.config.read_size), self.config.idle_timeout
                )
            except TimeoutError:
                conn.reason = "idle timeout"
                self.stats.closed_idle += 1
                return
            except (ConnectionError, OSError):
                conn.reason = "connection reset"
                return
            if not data:
                return
            for ev in framer.feed(data):
                if isinstance(ev, FramingError):
                    strikes += 1
                    rej = Rejected(ev.skipped, ev.reason, ev.detail, mn=conn.mn, peer=conn.peer)
                    await self.commit.submit(rej)  # quarantined; never answered
                    self.stats.rejected += 1
                    if strikes >= self.config.max_strikes:
                        conn.reason = f"cut off: {ev.reason}"
                        self.stats.closed_for_garbage += 1
                        log.warning(
                            "%s cut off after %d bad frames (%s)", conn.peer, strikes, ev.reason
                        )
                        return
                    continue
                res = decoder.decode(ev.raw, peer=conn.peer, now=time.monotonic(), frame=ev)
                if isinstance(res, Pending):
                    continue
                if isinstance(res, Accepted):
                    conn.packets += 1
                    if conn.mn is None:
                        conn.mn = res.packet.mn
                        self.commit.log(
                            DeviceEvent,
                            {
                                "at": utcnow(),
                                "mn": conn.mn,
                                "kind": "connect",
                                "peer": conn.peer,
                                "detail": None,
                            },
                        )
                fut = await self.commit.submit(res)
                await replies.put((fut, res))

    async def _reply_loop(
        self,
        replies: asyncio.Queue[tuple[asyncio.Future[Outcome], Accepted | Rejected] | None],
        writer: asyncio.StreamWriter,
    ) -> None:
        broken = False  # after a write error keep consuming so the reader never blocks
        while True:
            batch = [await replies.get()]
            # Everything else already queued goes out in the same write (one syscall).
            while not replies.empty():
                batch.append(replies.get_nowait())
            out: list[bytes] = []
            stop = False
            for entry in batch:
                if entry is None:
                    stop = True
                    break
                fut, item = entry
                try:
                    outcome = await fut
                except asyncio.CancelledError:
                    return
                except Exception:
                    continue  # not stored, not acknowledged (logged by the commit queue)
                if not isinstance(item, Accepted):
                    continue
                if outcome.status == "rejected":
                    self.stats.rejected += 1
                elif outcome.committed:
                    self.stats.committed += 1
                for p in item.parts:
                    r = reply_for(p, outcome)
                    if r is not None:
                        out.append(r)
            if out and not broken and not writer.is_closing():
                writer.write(b"".join(out))
                try:
                    await writer.drain()
                except (ConnectionError, OSError):
                    broken = True
            if stop:
                return
