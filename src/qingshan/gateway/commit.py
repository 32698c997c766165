"""Group commit: packets from every connection are written in shared transactions.

Handlers :meth:`~CommitQueue.submit` items and get a future; one writer task takes everything
queued, writes it with one :meth:`Ingestor.write` call in a worker thread (one transaction,
batched statements) and resolves the futures. While a commit runs, new items accumulate, so
the batch size adapts to the load without any deliberate delay.

Database outages: a batch that fails with a connection-level error is retried, with back-off
up to ``max_backoff`` seconds, until the database is back; nothing is acknowledged meanwhile.
The queue is bounded, so handlers stop reading from their sockets (TCP back-pressure) rather
than buffer without limit; devices, not receiving replies, keep their data and re-send. A batch
that fails for any other reason is bisected so one poisonous packet cannot block the rest; that
packet alone fails (not acknowledged, logged).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.exc import DBAPIError, OperationalError

from qingshan.services.ingest import Ingestor, Item, Outcome
from qingshan.storage.models import Base

log = logging.getLogger("qingshan.gateway.commit")


@dataclass
class CommitStats:
    batches: int = 0
    items: int = 0
    failures: int = 0
    db_down_since: float | None = None
    last_batch_size: int = 0
    largest_batch: int = 0


@dataclass
class _Entry:
    item: Item | None
    future: asyncio.Future[Outcome] | None
    log_row: tuple[type[Base], dict[str, Any]] | None = None


def _is_outage(exc: BaseException) -> bool:
    if isinstance(exc, OperationalError):
        return True
    return isinstance(exc, DBAPIError) and bool(exc.connection_invalidated)


@dataclass
class CommitQueue:
    ingestor: Ingestor
    max_queue: int = 20000
    max_batch: int = 5000
    max_backoff: float = 5.0
    stats: CommitStats = field(default_factory=CommitStats)

    def __post_init__(self) -> None:
        self._queue: asyncio.Queue[_Entry] = asyncio.Queue(self.max_queue)
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="qingshan-commit")
        self._task: asyncio.Task[None] | None = None
        self._closing = False

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="group-commit")

    @property
    def pending(self) -> int:
        return self._queue.qsize()

    async def submit(self, item: Item) -> asyncio.Future[Outcome]:
        """Queue ``item``; waits while the queue is full (back-pressure)."""
        fut: asyncio.Future[Outcome] = asyncio.get_running_loop().create_future()
        await self._queue.put(_Entry(item, fut))
        return fut

    def log(self, model: type[Base], row: dict[str, Any]) -> None:
        """Queue a log row (connection, event); written with the next batch, never blocks."""
        try:
            self._queue.put_nowait(_Entry(None, None, (model, row)))
        except asyncio.QueueFull:
            log.warning("commit queue full: dropped a %s log row", model.__tablename__)

    async def close(self, timeout: float) -> None:
        """Commit what is queued (waiting at most ``timeout`` s), then stop the writer."""
        self._closing = True
        await self._queue.put(_Entry(None, None))  # sentinel
        if self._task is not None:
            try:
                await asyncio.wait_for(asyncio.shield(self._task), timeout)
            except TimeoutError:
                log.error(
                    "shutdown: database did not accept the last batch in %.0f s; "
                    "those packets were not acknowledged",
                    timeout,
                )
                self._task.cancel()
        self._executor.shutdown(wait=False, cancel_futures=True)

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        stop = False
        while not stop:
            entries = [await self._queue.get()]
            while len(entries) < self.max_batch:
                try:
                    entries.append(self._queue.get_nowait())
                except asyncio.QueueEmpty:
                    break
            if any(e.item is None and e.log_row is None for e in entries):
                stop = True
            entries = [e for e in entries if e.item is not None or e.log_row is not None]
            if entries:
                try:
                    await self._commit(loop, entries)
                except asyncio.CancelledError:
                    for e in entries:
                        if e.future is not None and not e.future.done():
                            e.future.cancel()
                    raise

    async def _commit(self, loop: asyncio.AbstractEventLoop, entries: list[_Entry]) -> None:
        backoff = 0.1
        while True:
            try:
                outcomes = await loop.run_in_executor(self._executor, self._write, entries)
            except Exception as exc:
                if _is_outage(exc):
                    if self.stats.db_down_since is None:
                        self.stats.db_down_since = time.monotonic()
                        log.error(
                            "database unavailable, not acknowledging packets (%d queued); "
                            "retrying: %s",
                            len(entries),
                            _short(exc),
                        )
                    self.stats.failures += 1
                    await asyncio.sleep(backoff)
                    backoff = min(backoff * 2, self.max_backoff)
                    continue
                await self._bisect(loop, entries, exc)
                return
            break
        if self.stats.db_down_since is not None:
            log.warning(
                "database available again after %.1f s", time.monotonic() - self.stats.db_down_since
            )
            self.stats.db_down_since = None
        self._resolve(entries, outcomes)

    def _write(self, entries: Sequence[_Entry]) -> list[Outcome]:
        items = [e.item for e in entries if e.item is not None]
        rows = [e.log_row for e in entries if e.log_row is not None]
        return self.ingestor.write(items, rows)

    def _resolve(self, entries: list[_Entry], outcomes: list[Outcome]) -> None:
        it = iter(outcomes)
        n = 0
        for e in entries:
            if e.item is None:
                continue
            out = next(it)
            n += 1
            if e.future is not None and not e.future.done():
                e.future.set_result(out)
        self.stats.batches += 1
        self.stats.items += n
        self.stats.last_batch_size = n
        self.stats.largest_batch = max(self.stats.largest_batch, n)

    async def _bisect(
        self, loop: asyncio.AbstractEventLoop, entries: list[_Entry], exc: Exception
    ) -> None:
        if len(entries) == 1:
            e = entries[0]
            log.error("could not store an item (not acknowledged): %s", _short(exc))
            if e.future is not None and not e.future.done():
                e.future.set_exception(exc)
            return
        mid = len(entries) // 2
        for half in (entries[:mid], entries[mid:]):
            await self._commit(loop, half)


def _short(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    return text[0][:300] if text else type(exc).__name__
