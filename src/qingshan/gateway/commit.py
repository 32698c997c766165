"""Group commit: packets from every connection are written in shared transactions.

Connections :meth:`~CommitQueue.enqueue` items with a callback; one writer task takes everything
queued, writes it with one :meth:`Ingestor.write` call in a worker thread (one transaction,
batched statements) and calls the callbacks in order. While a commit runs, new items accumulate, so
the batch size adapts to the load without any deliberate delay.

Database outages: a batch that fails with a connection-level error is retried, with back-off
up to ``max_backoff`` seconds, until the database is back; nothing is acknowledged meanwhile.
SQLite's write lock held by another writer beyond the busy timeout ("database is locked") is
retried at once instead: no back-off grows while the lock is merely busy.
Each connection bounds its own unacknowledged packets and stops reading from its socket at
the bound (TCP back-pressure) rather than buffer without limit; devices, not receiving
replies, keep their data and re-send.

Packets the database refuses (not an outage): the :class:`Ingestor` splits the batch down to
them and quarantines them (``db_refused``, answered); it *defers* what it should not spend
the others' time on — the packets of a device refused in the last minutes, and the rest of a
batch once a bounded number of failed transactions was spent splitting it. Deferred items wait
in a **slow lane**: after every regular batch at most ``slow_per_turn`` of them are written
(one transaction each), so a device flooding refused packets costs the good devices at most
that many short transactions per batch, never a wait behind the whole flood. A batch that
still fails as a whole (the log rows refused) is bisected here; an item that fails alone is
not acknowledged (logged).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable, Sequence
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


Callback = Callable[[Outcome | None], None]
#: Seconds before a batch refused for SQLite's busy write lock is tried again.
BUSY_RETRY = 0.02


@dataclass(slots=True)
class _Entry:
    item: Item | None
    callback: Callback | None
    log_row: tuple[type[Base], dict[str, Any]] | None = None


def _is_busy(exc: BaseException) -> bool:
    """SQLite's write lock was held by another writer (a background job) for longer than the
    busy timeout: not an outage, the lock is free again any moment."""
    text = str(getattr(exc, "orig", None) or exc)
    return isinstance(exc, OperationalError) and (
        "database is locked" in text or "database is busy" in text
    )


def _is_outage(exc: BaseException) -> bool:
    if isinstance(exc, OperationalError):
        return True
    return isinstance(exc, DBAPIError) and bool(exc.connection_invalidated)


@dataclass
class CommitQueue:
    """Runs in the event loop; :meth:`enqueue` never blocks (callers bound their own load).

    Callbacks run in the event loop thread, in enqueue order, with the item's
    :class:`Outcome` once its transaction has committed, or ``None`` when the item could not
    be stored (it must not be acknowledged).
    """

    ingestor: Ingestor
    max_batch: int = 5000
    max_backoff: float = 5.0
    linger: float = 0.01
    slow_per_turn: int = 8
    stats: CommitStats = field(default_factory=CommitStats)

    def __post_init__(self) -> None:
        self._queue: deque[_Entry] = deque()
        self._slow: deque[_Entry] = deque()  # deferred by the ingestor: written apart
        self._wake = asyncio.Event()
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="qingshan-commit")
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self.after_batch: list[Callable[[], None]] = []

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="group-commit")

    @property
    def pending(self) -> int:
        return len(self._queue) + len(self._slow)

    @property
    def slow_pending(self) -> int:
        return len(self._slow)

    def enqueue(self, item: Item, callback: Callback | None) -> None:
        self._queue.append(_Entry(item, callback))
        self._wake.set()

    def log(self, model: type[Base], row: dict[str, Any]) -> None:
        """Queue a log row (connection, event); written with the next batch."""
        self._queue.append(_Entry(None, None, (model, row)))
        self._wake.set()

    async def close(self, timeout: float) -> None:
        """Commit what is queued (waiting at most ``timeout`` s), then stop the writer."""
        self._closing = True
        self._wake.set()
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
        while True:
            if not self._queue and not self._slow:
                if self._closing:
                    return
                self._wake.clear()
                await self._wake.wait()
                continue
            if self._queue:
                if (
                    self.linger > 0
                    and len(self._queue) < self.max_batch // 10
                    and not self._closing
                ):
                    # Every transaction has a fixed cost (fsync, statements); under a steady
                    # trickle waiting a few ms gathers a bigger batch and saves CPU.
                    await asyncio.sleep(self.linger)
                n = min(len(self._queue), self.max_batch)
                entries = [self._queue.popleft() for _ in range(n)]
                await self._commit(loop, entries, defer=True)
            if self._slow:
                # Fair: a bounded share of the deferred items after each regular batch.
                n = min(len(self._slow), self.slow_per_turn)
                await self._commit(loop, [self._slow.popleft() for _ in range(n)], defer=False)
            for hook in self.after_batch:
                hook()

    async def _commit(
        self, loop: asyncio.AbstractEventLoop, entries: list[_Entry], defer: bool
    ) -> None:
        backoff = 0.1
        while True:
            try:
                outcomes = await loop.run_in_executor(self._executor, self._write, entries, defer)
            except Exception as exc:
                if _is_outage(exc):
                    if self.stats.db_down_since is None:
                        self.stats.db_down_since = time.monotonic()
                        log.error(
                            "database unavailable, not acknowledging packets (%d queued); "
                            "retrying: %s",
                            len(entries) + len(self._queue),
                            _short(exc),
                        )
                    self.stats.failures += 1
                    if _is_busy(exc):
                        # The busy timeout already waited: try again at once, not after a
                        # back-off that grows to seconds (the acks would wait that long
                        # after the other writer let go).
                        await asyncio.sleep(BUSY_RETRY)
                        continue
                    await asyncio.sleep(backoff)
                    backoff = min(backoff * 2, self.max_backoff)
                    continue
                await self._bisect(loop, entries, exc, defer)
                return
            break
        if self.stats.db_down_since is not None:
            log.warning(
                "database available again after %.1f s",
                time.monotonic() - self.stats.db_down_since,
            )
            self.stats.db_down_since = None
        self._resolve(entries, outcomes)

    def _write(self, entries: Sequence[_Entry], defer: bool) -> list[Outcome]:
        items = [e.item for e in entries if e.item is not None]
        rows = [e.log_row for e in entries if e.log_row is not None]
        return self.ingestor.write(items, rows, defer=defer)

    def _resolve(self, entries: list[_Entry], outcomes: list[Outcome]) -> None:
        it = iter(outcomes)
        n = 0
        for e in entries:
            if e.item is None:
                continue
            out = next(it)
            if out.status == "deferred":
                self._slow.append(e)
                continue
            n += 1
            if e.callback is not None:
                _call(e.callback, out)
        self.stats.batches += 1
        self.stats.items += n
        self.stats.last_batch_size = n
        self.stats.largest_batch = max(self.stats.largest_batch, n)

    async def _bisect(
        self, loop: asyncio.AbstractEventLoop, entries: list[_Entry], exc: Exception, defer: bool
    ) -> None:
        if len(entries) == 1:
            e = entries[0]
            log.error("could not store an item (not acknowledged): %s", _short(exc))
            if e.callback is not None:
                _call(e.callback, None)
            return
        mid = len(entries) // 2
        for half in (entries[:mid], entries[mid:]):
            await self._commit(loop, half, defer)


def _call(callback: Callback, outcome: Outcome | None) -> None:
    try:
        callback(outcome)
    except Exception:  # a connection's bug must not stop the writer
        log.exception("reply callback failed")


def _short(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    return text[0][:300] if text else type(exc).__name__
