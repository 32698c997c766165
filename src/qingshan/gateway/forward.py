"""Upward forwarding: store-and-forward of accepted packets to upstream platforms.

Packets are queued in ``forward_queue`` in the same transaction that stores them, so a packet
acknowledged to a device is also durably queued for every upstream of the device's group. One
task per upstream delivers its queue in order over one TCP connection, sending each packet's
original bytes. A packet whose Flag asks for a reply counts as delivered when the upstream's
9014 (or 9011) with the same QN arrives; others when the bytes were written and drained. Only
then is the row deleted. On any failure (refused, reset, timeout, missing reply) the
connection is dropped and retried with exponential back-off (``base`` · 2ⁿ, capped at
``max_backoff``), in order (the head is retried before anything behind it is sent);
``attempts``, ``last_error`` and ``next_attempt_at`` of the head row record the failures for
operators. Delivery is at-least-once: a packet may reach the upstream twice
if the gateway dies between the upstream's reply and the delete; HJ 212 receivers de-duplicate
on MN + QN + CN.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import Engine, delete, select, update

from qingshan.clock import utcnow
from qingshan.protocol.hj212 import (
    Frame,
    Framer,
    FramingError,
    ProtocolError,
    Reason,
    answered_qn,
    parse_frame,
    sniff_reply_qn,
)
from qingshan.storage.models import ForwardItem, Upstream

log = logging.getLogger("qingshan.gateway.forward")


@dataclass
class ForwardStats:
    delivered: int = 0
    failures: int = 0
    last_error: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class _Target:
    id: int
    name: str
    host: str
    port: int


def _frames(raw: bytes) -> list[Frame]:
    framer = Framer(max_segment=max(1024, len(raw)))
    return [f for f in framer.feed(raw) if isinstance(f, Frame)]


class Forwarder:
    def __init__(
        self,
        engine: Engine,
        *,
        poll: float = 0.5,
        batch: int = 200,
        reply_timeout: float = 10.0,
        base_backoff: float = 0.5,
        max_backoff: float = 300.0,
        refresh: float = 30.0,
    ) -> None:
        self.engine = engine
        self.poll = poll
        self.batch = batch
        self.reply_timeout = reply_timeout
        self.base_backoff = base_backoff
        self.max_backoff = max_backoff
        self.refresh = refresh
        self.stats = ForwardStats()
        self._tasks: dict[int, asyncio.Task[None]] = {}
        self._main: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._main = asyncio.get_running_loop().create_task(self._supervise(), name="forwarder")

    async def stop(self) -> None:
        tasks = [t for t in (self._main, *self._tasks.values()) if t is not None]
        for t in tasks:
            t.cancel()
        for t in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await t

    def backlog(self) -> int:
        from sqlalchemy import func

        with self.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(ForwardItem)).scalar() or 0)

    async def _supervise(self) -> None:
        while True:
            try:
                targets = await asyncio.to_thread(self._targets)
            except Exception as exc:
                log.warning("cannot read upstream targets: %s", exc)
                targets = []
            for t in targets:
                if t.id not in self._tasks or self._tasks[t.id].done():
                    self._tasks[t.id] = asyncio.create_task(self._deliver(t), name=f"fwd-{t.name}")
            wanted = {t.id for t in targets}
            for tid in [k for k in self._tasks if k not in wanted and targets]:
                self._tasks.pop(tid).cancel()
            await asyncio.sleep(self.refresh)

    def _targets(self) -> list[_Target]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(Upstream.id, Upstream.name, Upstream.host, Upstream.port).where(
                    Upstream.active
                )
            ).all()
        return [_Target(*r) for r in rows]

    def _due(self, target: _Target) -> list[tuple[int, bytes, int]]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(ForwardItem.id, ForwardItem.raw, ForwardItem.attempts)
                .where(ForwardItem.upstream_id == target.id)
                .order_by(ForwardItem.id)
                .limit(self.batch)
            ).all()
        return [(r[0], bytes(r[1]), r[2]) for r in rows]

    def _done(self, ids: list[int]) -> None:
        with self.engine.begin() as conn:
            conn.execute(delete(ForwardItem).where(ForwardItem.id.in_(ids)))

    def _failed(self, item_id: int, attempts: int, error: str, delay: float) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                update(ForwardItem)
                .where(ForwardItem.id == item_id)
                .values(
                    attempts=attempts + 1,
                    last_error=error[:500],
                    next_attempt_at=utcnow() + timedelta(seconds=delay),
                )
            )

    async def _deliver(self, target: _Target) -> None:
        failures = 0
        conn: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
        try:
            while True:
                try:
                    due = await asyncio.to_thread(self._due, target)
                except Exception as exc:
                    log.warning("forwarding to %s paused, database error: %s", target.name, exc)
                    await asyncio.sleep(min(self.max_backoff, 5.0))
                    continue
                if not due:
                    await asyncio.sleep(self.poll)
                    continue
                delivered: list[int] = []
                try:
                    if conn is None:
                        conn = await asyncio.wait_for(
                            asyncio.open_connection(target.host, target.port), self.reply_timeout
                        )
                    for item_id, raw, _attempts in due:
                        await self._send(conn, raw)
                        delivered.append(item_id)
                    failures = 0
                except (
                    OSError,
                    TimeoutError,
                    ProtocolError,
                    asyncio.IncompleteReadError,
                    ConnectionError,
                ) as exc:
                    failures += 1
                    delay = min(self.max_backoff, self.base_backoff * 2 ** (failures - 1))
                    msg = f"{type(exc).__name__}: {exc}"
                    self.stats.failures += 1
                    self.stats.last_error[target.name] = msg
                    log.warning(
                        "forwarding to %s (%s:%d) failed (%s); retry in %.1f s",
                        target.name,
                        target.host,
                        target.port,
                        msg,
                        delay,
                    )
                    if conn is not None:
                        conn[1].close()
                        conn = None
                    if delivered:
                        await asyncio.to_thread(self._done, delivered)
                        self.stats.delivered += len(delivered)
                    head = next(d for d in due if d[0] not in set(delivered))
                    with contextlib.suppress(Exception):
                        await asyncio.to_thread(self._failed, head[0], head[2], msg, delay)
                    await asyncio.sleep(delay)
                    continue
                await asyncio.to_thread(self._done, delivered)
                self.stats.delivered += len(delivered)
        finally:
            if conn is not None:
                conn[1].close()

    async def _send(
        self, conn: tuple[asyncio.StreamReader, asyncio.StreamWriter], raw: bytes
    ) -> None:
        reader, writer = conn
        frames = _frames(raw)
        if not frames:
            raise ProtocolError(Reason.NO_HEADER, "queued item holds no HJ 212 frame")
        waiting: list[str] = []
        for f in frames:
            writer.write(f.raw)
            # Sniffed, not parsed: the segment may be in the device's own encoding.
            qn = sniff_reply_qn(f.segment)
            if qn is not None:
                waiting.append(qn)
        await asyncio.wait_for(writer.drain(), self.reply_timeout)
        if waiting:
            await asyncio.wait_for(self._await_replies(reader, waiting), self.reply_timeout)

    async def _await_replies(self, reader: asyncio.StreamReader, qns: list[str]) -> None:
        framer = Framer()
        left = list(qns)
        while left:
            data = await reader.read(4096)
            if not data:
                raise ConnectionError("upstream closed the connection before replying")
            for ev in framer.feed(data):
                if isinstance(ev, FramingError):
                    continue
                qn = answered_qn(parse_frame(ev, lenient=True))
                if qn in left:
                    left.remove(qn)
