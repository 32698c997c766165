"""The HJ 212 TCP gateway: sockets → protocol library → group commit → replies.

Each connection is an :class:`asyncio.Protocol` (no per-packet task wake-ups): received bytes
go through a bounded :class:`Framer`; each frame is decoded (device encoding, PNUM/PNO
reassembly: the protocol library's :class:`~qingshan.protocol.hj212.Receiver`) and queued on
the :class:`CommitQueue`. When the batch holding a packet has committed, the queue calls back
in order and the connection answers every packet that asked for it, by the protocol
library's reply rules (:func:`~qingshan.protocol.hj212.reply_to`): 9014 once the data is
durable, 9011 when the access check failed (after the packet was quarantined). Nothing is
acknowledged before its transaction committed. Replies produced by one batch leave in one
write per connection.

Limits against hostile peers (docs/operations.md, "Gateway limits"; the bookkeeping is
:mod:`qingshan.gateway.limits`), every one a :class:`GatewayConfig` field:

* **Connections**: at most ``max_connections`` (kept below the open-file limit by the caller),
  ``max_per_address`` from one address; a connection that has not authenticated a packet is
  closed after ``unauth_idle_timeout`` s of silence (others after ``idle_timeout``) and may
  have only ``unauth_in_flight`` packets awaiting their answer (no pipelined guessing); one
  MN's packets awaiting their commit, over all its connections, at most ``mn_in_flight``.
* **Device look-ups**: an MN missing from the device cache is read from the database (off the
  event loop, that connection waiting meanwhile) at most ``lookup_rate`` times a second in
  all and once per ``lookup_mn_seconds`` per MN; beyond, it is refused as unknown.
* **Passwords**: unknown MN, retired device and wrong PW are answered alike (9011 with QnRtn
  ``auth_refusal_qnrtn``), after the same delays: :class:`~qingshan.gateway.limits.AuthThrottle`
  delays, then disconnects and blocks the address.
* **Split packets**: a part is held only after its MN and PW passed the access check; all
  connections share one :class:`~qingshan.protocol.hj212.receiver.HeldParts` byte budget
  (oldest incomplete packet evicted first, its parts quarantined); a PNUM above
  ``split_max_pnum`` is refused with a reason; a part already held, or of a packet completed
  a moment ago, is ignored (stored and forwarded once; answered when its packet is durable).
* **Quarantine**: at most ``quarantine_rate`` rows a second per address (burst
  ``quarantine_burst``); beyond, refused input is only counted. A connection that sends
  ``reject_cutoff`` refused packets in a row is closed; ``max_strikes`` framing errors too.
* **Replies**: a peer that does not read its replies is not read either once
  ``write_buffer_bytes`` wait for it, and is cut off when they still wait after
  ``write_stall_timeout`` s: server memory per connection stays bounded.
* **Log**: refusals are aggregated (:class:`~qingshan.gateway.limits.RefusalLedger`) into the
  ``gateway_refusal`` table every ``refusal_flush_interval`` s; warnings and the event
  loop's accept errors are rate-limited (:class:`~qingshan.gateway.limits.LogThrottle`).

A connection with ``max_in_flight`` packets awaiting their commit stops being read (TCP
back-pressure), as do all connections while ``max_queue`` items wait for the database.

Shutdown (:meth:`Gateway.stop`): stop accepting and reading, commit and answer what was
already received, then close the connections.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import resource
import socket
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine

from qingshan.clock import utcnow
from qingshan.gateway.commit import Callback, CommitQueue
from qingshan.gateway.limits import (
    AuthPolicy,
    AuthThrottle,
    LogThrottle,
    LookupLimiter,
    RefusalLedger,
    TokenBuckets,
    connection_cap,
)
from qingshan.protocol.hj212 import (
    Frame,
    Framer,
    FramingError,
    Packet,
    Reason,
    Refusal,
    check_access,
    data_reply,
    reply_to,
    request_reply,
)
from qingshan.protocol.hj212.receiver import HeldParts, SplitKey, split_key
from qingshan.protocol.hj212.replies import wants_reply
from qingshan.services.decode import Decoder, Duplicate, Pending, Refused
from qingshan.services.ingest import Accepted, Ingestor, Outcome, Rejected
from qingshan.services.registry import Directory
from qingshan.settings import Settings
from qingshan.storage.models import ConnectionLog, DeviceEvent
from qingshan.storage.models_gateway import GatewayRefusal

log = logging.getLogger("qingshan.gateway")

#: Frames one connection may have decoded in one turn of the event loop.
FRAMES_PER_TURN = 32
#: Bytes of a connection framed at a time (a few frames).
FRAME_SLICE = 4096
#: Refusals that say nothing about whether the MN exists: answered alike and throttled.
AUTH_REASONS = frozenset({Reason.UNKNOWN_MN, Reason.RETIRED_DEVICE, Reason.WRONG_PW})


@dataclass
class GatewayConfig:
    host: str = "127.0.0.1"
    port: int = 0
    reuse_port: bool = False  # SO_REUSEPORT: several gateway processes on one port
    idle_timeout: float = 600.0
    max_segment: int = 1024
    max_strikes: int = 3
    max_in_flight: int = 256
    max_queue: int = 50000
    max_connections: int = 10000
    lenient: bool = False
    drain_timeout: float = 10.0
    # -- limits against hostile peers (qingshan.settings documents each)
    max_per_address: int = 64
    unauth_idle_timeout: float = 30.0
    unauth_in_flight: int = 4
    mn_in_flight: int = 512
    auth: AuthPolicy = field(default_factory=AuthPolicy)
    auth_refusal_qnrtn: int = 3
    split_budget_bytes: int = 8 * 1024 * 1024
    split_max_pnum: int = 1000
    split_max_age: float = 300.0
    quarantine_rate: float = 5.0
    quarantine_burst: float = 50.0
    reject_cutoff: int = 50
    write_buffer_bytes: int = 256 * 1024
    write_stall_timeout: float = 30.0
    refusal_flush_interval: float = 5.0
    lookup_rate: float = 20.0
    lookup_mn_seconds: float = 10.0

    @classmethod
    def from_settings(cls, s: Settings, **overrides: Any) -> GatewayConfig:
        """The gateway's part of the one settings object; the connection cap is kept under
        the process's open-file limit (:func:`~qingshan.gateway.limits.connection_cap`)."""
        soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if soft == resource.RLIM_INFINITY:
            soft = 1 << 20
        reserve = min(s.hj212_fd_reserve, soft // 2)
        values: dict[str, Any] = {
            "host": s.hj212_host,
            "port": s.hj212_port,
            "reuse_port": s.hj212_reuse_port,
            "idle_timeout": s.hj212_idle_timeout,
            "max_segment": s.hj212_max_segment,
            "max_connections": connection_cap(s.hj212_max_connections, soft, reserve),
            "max_per_address": s.hj212_max_per_address,
            "unauth_idle_timeout": s.hj212_unauth_idle_timeout,
            "unauth_in_flight": s.hj212_unauth_in_flight,
            "mn_in_flight": s.hj212_mn_in_flight,
            "auth": AuthPolicy(
                free_failures=s.hj212_auth_free_failures,
                window_s=s.hj212_auth_window_seconds,
                base_delay_s=s.hj212_auth_base_delay_seconds,
                max_delay_s=s.hj212_auth_max_delay_seconds,
                disconnect_after=s.hj212_auth_disconnect_after,
                block_s=s.hj212_auth_block_seconds,
            ),
            "auth_refusal_qnrtn": s.hj212_auth_refusal_qnrtn,
            "split_budget_bytes": s.hj212_split_budget_bytes,
            "split_max_pnum": s.hj212_split_max_pnum,
            "split_max_age": s.hj212_split_max_age,
            "quarantine_rate": s.hj212_quarantine_rate,
            "quarantine_burst": s.hj212_quarantine_burst,
            "reject_cutoff": s.hj212_reject_cutoff,
            "write_buffer_bytes": s.hj212_write_buffer_bytes,
            "write_stall_timeout": s.hj212_write_stall_timeout,
            "refusal_flush_interval": s.hj212_refusal_flush_seconds,
            "lookup_rate": s.hj212_lookup_rate,
            "lookup_mn_seconds": s.hj212_lookup_mn_seconds,
        }
        values.update(overrides)
        return cls(**values)


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
    address: str = "?"
    mn: str | None = None
    packets: int = 0
    reason: str = "closed by peer"
    connected_at: datetime = field(default_factory=utcnow)
    in_flight: int = 0
    strikes: int = 0
    rejects_in_a_row: int = 0
    authenticated: bool = False
    cutting: bool = False  # closed once its last refusal is answered
    pump_scheduled: bool = False
    paused: bool = False
    write_paused: bool = False
    held_until: float = 0.0  # refusals answered late: nothing is read before then
    closed: bool = False
    draining: bool = False
    looking_up: bool = False  # an MN missing from the cache is being read from the database
    last_activity: float = 0.0

    def __post_init__(self) -> None:
        gw = self.gw
        cfg = gw.config
        self.framer = Framer(max_segment=cfg.max_segment)
        self.decoder = Decoder(
            gw.directory,
            lenient=cfg.lenient,
            max_segment=cfg.max_segment,
            held=gw.held,
            admit=self._admit,
        )
        self.transport: asyncio.Transport | None = None
        self.out: list[bytes] = []
        self.backlog: deque[Frame | FramingError] = deque()
        self.inbuf = bytearray()
        self.flush_scheduled = False
        self.idle_handle: asyncio.TimerHandle | None = None
        self.stall_handle: asyncio.TimerHandle | None = None
        self.loop = asyncio.get_running_loop()

    # -- asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        peername = transport.get_extra_info("peername")
        self.address = str(peername[0]) if peername else "?"
        self.peer = f"{peername[0]}:{peername[1]}" if peername else "?"
        gw = self.gw
        now = self.loop.time()
        refused = None
        if gw.stopping:
            refused = "stopping"
        elif gw.stats.connections >= gw.config.max_connections:
            refused = "connection_cap"
        elif gw.throttle.blocked(self.address, now):
            refused = "blocked_address"
        elif gw.per_address.get(self.address, 0) >= gw.config.max_per_address:
            refused = "address_cap"
        if refused is not None:
            gw.stats.refused_connections += 1
            self.closed = True
            transport.abort()
            if refused != "stopping":
                gw.refuse(refused, self.address, "connection refused")
            return
        gw.stats.connections += 1
        gw.stats.accepted_connections += 1
        gw.per_address[self.address] = gw.per_address.get(self.address, 0) + 1
        gw.conns.add(self)
        transport.set_write_buffer_limits(high=gw.config.write_buffer_bytes)
        sock = transport.get_extra_info("socket")
        if sock is not None:
            # The kernel's send buffer holds unread replies too: bound it as well, so a peer
            # that does not read is noticed after write_buffer_bytes, not after megabytes.
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, gw.config.write_buffer_bytes)
        self.last_activity = now
        self.idle_handle = self.loop.call_later(self._idle_timeout(), self._check_idle)

    def data_received(self, data: bytes) -> None:
        if self.closed or self.draining:
            return
        self.last_activity = self.loop.time()
        # Bytes wait unframed, and frames in the backlog, while this connection may not go
        # on (too many packets in flight, a refusal answered late, replies unread): at most
        # one read's worth, since reading is paused then. Bytes are framed a slice at a
        # time, as frames are needed: a flood that is cut off early costs little CPU.
        self.inbuf += data
        self._pump()

    def _pump(self) -> None:
        self.pump_scheduled = False
        n = 0
        while not self.closed and not self._closing() and not self._must_wait():
            if not self.backlog:
                if not self.inbuf:
                    break
                chunk = bytes(self.inbuf[:FRAME_SLICE])
                del self.inbuf[:FRAME_SLICE]
                self.backlog.extend(self.framer.feed(chunk))
                continue
            if n == FRAMES_PER_TURN:
                # Fairness: one connection's burst does not hold the event loop; the rest
                # of its backlog waits for the next turn (its reading stays paused).
                if not self.pump_scheduled:
                    self.pump_scheduled = True
                    self.loop.call_soon(self._pump)
                break
            self._handle(self.backlog.popleft())
            n += 1
        self._update_reading()

    def _closing(self) -> bool:
        """Cut off or closing: ``connection_lost`` comes a loop turn later, and nothing more
        of this connection's backlog may be handled (or counted) meanwhile."""
        return self.transport is not None and self.transport.is_closing()

    def _handle(self, ev: Frame | FramingError, looked_up: bool = False) -> None:
        gw = self.gw
        if isinstance(ev, FramingError):
            self.strikes += 1
            gw.stats.rejected += 1
            self._quarantine(Rejected(ev.skipped, ev.reason, ev.detail, mn=self.mn, peer=self.peer))
            if self.strikes >= gw.config.max_strikes:
                gw.stats.closed_for_garbage += 1
                gw.refuse("cut_off", self.address, f"{self.strikes} bad frames ({ev.reason})")
                self._close(f"cut off: {ev.reason}", abort=True)
                return
            self._count_reject()
            return
        res = self.decoder.decode(ev.raw, peer=self.peer, now=time.monotonic(), frame=ev)
        if not looked_up:
            missing = self._missing_mn(res)
            if missing is not None and gw.lookups.allow(missing, self.loop.time()):
                self._look_up(missing, ev)
                return
        self._take_evicted()
        if isinstance(res, Pending):
            return
        if isinstance(res, Duplicate):
            gw.duplicate_parts += 1
            if res.completed and gw.split_done.get(split_key(res.packet)):
                self._reply([data_reply(res.packet)] if wants_reply(res.packet) else [])
            return
        if isinstance(res, Refused):
            if res.item.reason in AUTH_REASONS:
                self._refuse(res.item, (res.packet,))
            else:  # wrong ST, a value out of format: the PW was right, so say why
                gw.stats.rejected += 1
                self._quarantine(res.item)
                r = reply_to(res.packet, durable=False, reason=res.item.reason)
                self._reply([r] if r is not None else [])
                if not res.content:  # a content refusal is no reason to cut the link off
                    self._count_reject()
            return
        if isinstance(res, Rejected):
            gw.stats.rejected += 1
            self._quarantine(res)
            self._count_reject()
            return
        self._accepted(res)

    def _accepted(self, res: Accepted) -> None:
        gw = self.gw
        pkt = res.packet
        refusal = self._access(pkt)
        if refusal is not None and refusal.reason in AUTH_REASONS:
            rej = Rejected(res.raw, refusal.reason, refusal.detail, mn=pkt.mn, peer=self.peer)
            self._refuse(rej, res.parts or (pkt,))
            return
        self.packets += 1
        if self.mn is None and refusal is None:
            self.mn = pkt.mn
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
        gw.mn_in_flight[pkt.mn] = gw.mn_in_flight.get(pkt.mn, 0) + 1
        gw.commit.enqueue(res, self._make_callback(res))

    def _missing_mn(self, res: Accepted | Rejected | Pending | Refused | Duplicate) -> str | None:
        """The MN of a decoded packet (or split part) that is not in the device cache."""
        unknown = isinstance(res, Refused) and res.item.reason == Reason.UNKNOWN_MN
        if not (isinstance(res, Accepted) or unknown):
            return None
        mn: str = res.packet.mn  # type: ignore[union-attr]  # Rejected is excluded above
        return mn if self.gw.directory.peek(mn) is None else None

    def _look_up(self, mn: str, ev: Frame) -> None:
        """Read an MN missing from the cache from the database (a device registered a moment
        ago), off the event loop, then handle its frame again. This connection takes no
        other frame meanwhile (order is kept); how often an MN may be looked up is
        :class:`~qingshan.gateway.limits.LookupLimiter`'s (per MN and in all)."""
        self.looking_up = True
        gw = self.gw

        async def look_up() -> None:
            try:
                await asyncio.to_thread(gw.directory.load_one, mn)
            except Exception as exc:  # the database may be down: refused as unknown
                gw.log_throttle.log(
                    logging.WARNING, "lookup", time.monotonic(), "device look-up failed: %s", exc
                )
            finally:
                self.looking_up = False
            if not self.closed and not self._closing():
                self._handle(ev, looked_up=True)
                self._pump()

        self.loop.create_task(look_up())

    def _access(self, packet: Packet) -> Refusal | None:
        """The access check, in the event loop on the cached directory, before anything is
        queued or held. An MN not in the cache was looked up in the database before
        (:meth:`_look_up`), within the look-up limits; beyond them it is refused like any
        unknown MN. The committer checks again on its directory."""
        gw = self.gw
        dev = gw.directory.peek(packet.mn)
        refusal = check_access(packet, dev)
        if refusal is None and gw.throttle.suspect(self.address, packet.mn, self.loop.time()):
            refusal = Refusal(Reason.WRONG_PW, f"MN {packet.mn} locked; this address failed")
        if refusal is None:
            self.authenticated = True
        return refusal

    def _admit(self, packet: Packet) -> tuple[Reason, str] | None:
        """The access check a split part passes before it is held (the PW is in every part)."""
        refusal = self._access(packet)
        return None if refusal is None else (refusal.reason, refusal.detail)

    def connection_lost(self, exc: Exception | None) -> None:
        for handle in (self.idle_handle, self.stall_handle):
            if handle is not None:
                handle.cancel()
        self.closed = True
        gw = self.gw
        if self not in gw.conns:  # refused in connection_made
            return
        gw.conns.discard(self)
        gw.globally_paused.discard(self)
        if self.mn is not None:
            gw.mn_waiting.get(self.mn, set()).discard(self)
        gw.stats.connections -= 1
        left = gw.per_address.get(self.address, 1) - 1
        if left > 0:
            gw.per_address[self.address] = left
        else:
            gw.per_address.pop(self.address, None)
        if exc is not None and self.reason == "closed by peer":
            self.reason = "connection reset"
        gw.commit.log(
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
            gw.commit.log(
                DeviceEvent,
                {
                    "at": utcnow(),
                    "mn": self.mn,
                    "kind": "disconnect",
                    "peer": self.peer,
                    "detail": self.reason,
                },
            )

    # -- refusals
    def _quarantine(self, item: Rejected, callback: Callback | None = None) -> bool:
        """Queue ``item`` for the quarantine, within the address's rate; False when over it
        (then it is only counted, and ``callback`` is not called)."""
        if not self.gw.quarantine_allowed(self.address, item.reason):
            return False
        if callback is not None:
            self.in_flight += 1
        self.gw.commit.enqueue(item, callback)
        return True

    def _refuse(self, item: Rejected, parts: Sequence[Packet], stored: bool = False) -> None:
        """Unknown MN, retired device, wrong PW: counted at once, quarantined, then answered
        alike (same QnRtn, same delays) once the quarantine row is committed and the delay
        has passed; disconnect and block when the throttle says so. ``stored``: the committer
        refused and quarantined it already."""
        gw = self.gw
        if not stored:
            gw.stats.rejected += 1
        mn = item.mn
        now = self.loop.time()
        verdict = gw.throttle.failure(self.address, mn, now)
        gw.refuse("auth_failure", self.address, f"MN {mn}")
        if mn is not None:
            gw.refuse("auth_failure_mn", mn, f"from {self.address}")
        if verdict.blocked_until is not None:
            until = utcnow() + timedelta(seconds=verdict.blocked_until - now)
            gw.refuse(
                "address_blocked",
                self.address,
                f"{verdict.failures} access-check failures (last MN {mn})",
                blocked_until=until,
            )
        if verdict.disconnect:
            self.cutting = True  # nothing more is read from this connection
        self._count_reject()
        code = gw.config.auth_refusal_qnrtn
        replies = [request_reply(p, code) for p in parts if wants_reply(p)]
        self.held_until = max(now, self.held_until) + verdict.delay
        due = self.held_until

        def answer() -> None:
            self._reply(replies)
            if verdict.disconnect:
                self._close("cut off: access-check failures")
            self._pump()

        def answer_when_due() -> None:
            wait = due - self.loop.time()
            if wait > 0:
                self.loop.call_later(wait, answer)
            else:
                answer()

        def when_stored(_outcome: Outcome | None) -> None:
            self.in_flight -= 1
            answer_when_due()

        if stored or not self._quarantine(item, when_stored):
            answer_when_due()

    def _count_reject(self) -> None:
        self.rejects_in_a_row += 1
        if self.rejects_in_a_row >= self.gw.config.reject_cutoff and not self.closed:
            self.gw.refuse("cut_off", self.address, f"{self.rejects_in_a_row} refused in a row")
            self._close("cut off: only refused packets")

    def _take_evicted(self) -> None:
        gw = self.gw
        for part, why in gw.held.take_evicted():
            item = Rejected(
                part.raw, Reason.BAD_SPLIT, f"split part evicted: {why}", mn=part.packet.mn
            )
            gw.refuse("split_evicted", part.packet.mn, why)
            if gw.quarantine_allowed(self.address, item.reason):
                gw.commit.enqueue(item, None)

    # -- replies
    def _make_callback(self, item: Accepted) -> Callback:
        def done(outcome: Outcome | None) -> None:
            self.in_flight -= 1
            gw = self.gw
            gw.mn_done(item.packet.mn)
            if outcome is not None:
                if outcome.status == "rejected":
                    gw.stats.rejected += 1
                    # The committer's own access check (fresh directory) may refuse too.
                    if outcome.reason in AUTH_REASONS:
                        rej = Rejected(item.raw, outcome.reason, outcome.detail, mn=item.packet.mn)
                        self._refuse(rej, item.parts or (item.packet,), stored=True)
                    else:
                        # Passed the access check, refused for its content (a value out of
                        # format, a DataTime outside the window, a database refusal): answered
                        # 9011 so the device stops re-sending, and never a reason to cut off
                        # the device's link; the quarantine's rate limit bounds the rows.
                        self._reply_outcome(item, outcome)
                else:
                    if outcome.committed:
                        gw.stats.committed += 1
                        self.rejects_in_a_row = 0
                        self.authenticated = True
                        if len(item.parts) > 1:
                            gw.remember_split(split_key(item.parts[0]))
                    self._reply_outcome(item, outcome)
            self._pump()
            if self.draining and self.in_flight == 0 and not self.flush_scheduled:
                self._close(self.reason)

        return done

    def _reply_outcome(self, item: Accepted, outcome: Outcome) -> None:
        replies = []
        for p in item.parts or (item.packet,):
            r = reply_to(p, durable=outcome.committed, reason=outcome.reason)
            if r is not None:
                replies.append(r)
        self._reply(replies)

    def _reply(self, replies: Sequence[bytes]) -> None:
        if not replies or self.closed:
            return
        self.out.extend(replies)
        if not self.flush_scheduled:
            self.flush_scheduled = True
            self.loop.call_soon(self._flush)

    def _flush(self) -> None:
        self.flush_scheduled = False
        if self.out and not self.closed and self.transport is not None:
            self.transport.write(b"".join(self.out))
        self.out.clear()
        if self.draining and self.in_flight == 0:
            self._close(self.reason)

    # -- flow control and closing
    def pause_writing(self) -> None:
        # The peer does not read its replies: read nothing more from it (no new replies),
        # and cut it off if that lasts.
        self.write_paused = True
        self._update_reading()
        if self.stall_handle is None:
            self.stall_handle = self.loop.call_later(
                self.gw.config.write_stall_timeout, self._check_stall
            )

    def resume_writing(self) -> None:
        self.write_paused = False
        if self.stall_handle is not None:
            self.stall_handle.cancel()
            self.stall_handle = None
        self._pump()

    def _check_stall(self) -> None:
        self.stall_handle = None
        if self.write_paused and not self.closed:
            size = self.transport.get_write_buffer_size() if self.transport else 0
            self.gw.refuse("slow_reader", self.address, f"{size} bytes of replies unread")
            self._close("cut off: replies not read", abort=True)

    def _must_wait(self) -> bool:
        """Whether this connection may not take another frame now."""
        gw = self.gw
        cfg = gw.config
        limit = cfg.max_in_flight if self.authenticated else cfg.unauth_in_flight
        return (
            self.draining
            or self.cutting
            or self.looking_up
            or self.write_paused
            or self.held_until > self.loop.time()
            or self.in_flight >= limit
            or gw.commit.pending >= cfg.max_queue
            or self._mn_busy()
        )

    def _mn_busy(self) -> bool:
        """This connection's device has ``mn_in_flight`` packets awaiting their commit over
        all its connections: one credential cannot fill the shared queue. (A connection's
        first packet is decoded before its MN is known, so the cap can be passed by one
        packet per connection, which the connection caps bound.)"""
        gw = self.gw
        if self.mn is None or gw.mn_in_flight.get(self.mn, 0) < gw.config.mn_in_flight:
            return False
        gw.mn_waiting.setdefault(self.mn, set()).add(self)
        return True

    def _update_reading(self) -> None:
        if self.closed or self.transport is None:
            return
        gw = self.gw
        stop = bool(self.backlog) or bool(self.inbuf) or self._must_wait()
        if stop and not self.paused:
            self.paused = True
            self.transport.pause_reading()
            if gw.commit.pending >= gw.config.max_queue:
                gw.globally_paused.add(self)
        elif not stop and self.paused:
            cfg = gw.config
            limit = cfg.max_in_flight if self.authenticated else cfg.unauth_in_flight
            # Resume only with room to spare (hysteresis), unless nothing is in flight.
            if self.in_flight > limit // 2 and self.in_flight > 0:
                return
            self.paused = False
            self.transport.resume_reading()

    def _idle_timeout(self) -> float:
        cfg = self.gw.config
        if self.authenticated:
            return cfg.idle_timeout
        return min(cfg.idle_timeout, cfg.unauth_idle_timeout)

    def _check_idle(self) -> None:
        if self.closed:
            return
        now = self.loop.time()
        # A refusal still to be answered late is not silence.
        idle = now - max(self.last_activity, self.held_until)
        timeout = self._idle_timeout()
        if idle >= timeout and self.in_flight == 0 and not self.cutting:
            self.gw.stats.closed_idle += 1
            if not self.authenticated:
                self.gw.refuse("idle_unauthenticated", self.address, f"silent {timeout:g} s")
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
                if self.out:  # answers already due leave before the connection closes
                    self.transport.write(b"".join(self.out))
                    self.out.clear()
                self.transport.close()


class Gateway:
    def __init__(
        self,
        engine: Engine,
        config: GatewayConfig | None = None,
        *,
        commit_factory: Callable[[Ingestor], CommitQueue] | None = None,
    ) -> None:
        self.engine = engine
        self.config = cfg = config or GatewayConfig()
        self.directory = Directory(engine)
        # commit_factory: the bus mode's queue (qingshan.gateway.bus), else the database's.
        ingestor = Ingestor(engine, self.directory)
        self.commit = commit_factory(ingestor) if commit_factory else CommitQueue(ingestor)
        self.commit.after_batch.append(self._after_batch)
        self.stats = GatewayStats()
        self.conns: set[_Connection] = set()
        self.globally_paused: set[_Connection] = set()
        self.per_address: dict[str, int] = {}
        self.mn_in_flight: dict[str, int] = {}
        self.mn_waiting: dict[str, set[_Connection]] = {}
        self.throttle = AuthThrottle(cfg.auth)
        self.held = HeldParts(
            max_bytes=cfg.split_budget_bytes,
            max_age_s=cfg.split_max_age,
            max_pnum=cfg.split_max_pnum,
        )
        self.split_done: OrderedDict[SplitKey, bool] = OrderedDict()
        self.duplicate_parts = 0
        self.quarantine_buckets = TokenBuckets(cfg.quarantine_rate, cfg.quarantine_burst)
        self.ledger = RefusalLedger()
        self.log_throttle = LogThrottle(log)
        self._server: asyncio.Server | None = None
        self._flusher: asyncio.Task[None] | None = None
        self.lookups = LookupLimiter(cfg.lookup_rate, cfg.lookup_mn_seconds)
        self.stopping = False

    @property
    def port(self) -> int:
        assert self._server is not None
        return int(self._server.sockets[0].getsockname()[1])

    async def start(self) -> int:
        await asyncio.to_thread(self.directory.reload)
        self.commit.start()
        loop = asyncio.get_running_loop()
        self._install_exception_handler(loop)
        self._server = await loop.create_server(
            lambda: _Connection(self),
            self.config.host,
            self.config.port,
            backlog=4096,
            reuse_port=self.config.reuse_port or None,
        )
        self._flusher = loop.create_task(self._flush_refusals(), name="refusal-ledger")
        log.info(
            "HJ 212 gateway listening on %s:%d (at most %d connections, %d per address)",
            self.config.host,
            self.port,
            self.config.max_connections,
            self.config.max_per_address,
        )
        return self.port

    def _install_exception_handler(self, loop: asyncio.AbstractEventLoop) -> None:
        # asyncio reports every failed accept() (EMFILE …) through the loop's handler: one
        # line per kind of message every interval, not one per failure.
        previous = loop.get_exception_handler()

        def handler(lp: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
            key = str(context.get("message", "?"))[:80]
            if not self.log_throttle.log(
                logging.DEBUG, "loop:" + key, time.monotonic(), "event loop: %s", key
            ):
                return
            if previous is not None:
                previous(lp, context)
            else:
                lp.default_exception_handler(context)

        loop.set_exception_handler(handler)

    # -- shared bookkeeping of the connections
    def refuse(
        self, kind: str, subject: str, detail: str, blocked_until: datetime | None = None
    ) -> None:
        """Count a refusal for the operators (``gateway_refusal``, ``/healthz``) and log it,
        at most once per kind every few seconds."""
        self.ledger.record(kind, subject, utcnow(), detail=detail, blocked_until=blocked_until)
        self.log_throttle.log(
            logging.WARNING,
            kind,
            time.monotonic(),
            "gateway refused (%s) %s: %s",
            kind,
            subject,
            detail,
        )

    def quarantine_allowed(self, address: str, reason: str) -> bool:
        if self.quarantine_buckets.allow(address, time.monotonic()):
            return True
        self.ledger.record("quarantine_suppressed", address, utcnow(), detail=str(reason))
        return False

    def mn_done(self, mn: str) -> None:
        left = self.mn_in_flight.get(mn, 1) - 1
        if left > 0:
            self.mn_in_flight[mn] = left
        else:
            self.mn_in_flight.pop(mn, None)
        if left <= self.config.mn_in_flight // 2:
            for c in self.mn_waiting.pop(mn, ()):
                if not c.pump_scheduled and not c.closed:
                    c.pump_scheduled = True
                    c.loop.call_soon(c._pump)

    def remember_split(self, key: SplitKey) -> None:
        self.split_done[key] = True
        while len(self.split_done) > self.held.remember:
            self.split_done.popitem(last=False)

    def limits_status(self) -> dict[str, Any]:
        """What the limits refused since start (for ``/healthz``, staff only)."""
        now = asyncio.get_running_loop().time()
        return {
            "max_connections": self.config.max_connections,
            "max_per_address": self.config.max_per_address,
            "refused_connections": self.stats.refused_connections,
            "blocked_addresses": self.throttle.blocked_addresses(now),
            "held_split_bytes": self.held.held_bytes,
            "split_budget_bytes": self.held.max_bytes,
            "evicted_split_parts": self.held.evicted_parts,
            "duplicate_split_parts": self.duplicate_parts,
            "device_lookups": self.lookups.done,
            "device_lookups_refused": self.lookups.refused,
            "refusals": dict(sorted(self.ledger.totals.items())),
        }

    async def _flush_refusals(self) -> None:
        while True:
            await asyncio.sleep(self.config.refusal_flush_interval)
            self.flush_refusals()

    def flush_refusals(self) -> None:
        for row in self.ledger.flush():
            self.commit.log(GatewayRefusal, row)

    def _after_batch(self) -> None:
        if self.globally_paused and self.commit.pending < self.config.max_queue // 2:
            waiting, self.globally_paused = self.globally_paused, set()
            for c in waiting:
                c._pump()

    async def stop(self) -> None:
        """Graceful: stop accepting and reading, commit and answer in-flight packets, close."""
        if self.stopping:
            return
        self.stopping = True
        if self._server is not None:
            self._server.close()
        if self._flusher is not None:
            self._flusher.cancel()
        for c in list(self.conns):
            c.drain()
        deadline = time.monotonic() + self.config.drain_timeout
        while self.conns and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        for c in list(self.conns):  # the database did not come back in time
            c._close("gateway shutdown (unanswered)", abort=True)
        await asyncio.sleep(0)
        self.flush_refusals()
        await self.commit.close(self.config.drain_timeout)
        if self._server is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._server.wait_closed(), 1.0)
        log.info("HJ 212 gateway stopped")
