"""Scheduled jobs (reminders, escalations, deliveries) that any number of processes may run.

A job is a row of ``scheduled_job``: a kind, a JSON payload and when it is due. A runner
*claims* a due job by taking its lease (an UPDATE that only succeeds while the job is still
pending, or running under an expired lease; on PostgreSQL the candidate row is also locked
with ``FOR UPDATE SKIP LOCKED``, on SQLite the write transaction is exclusive), then runs the
handler and marks the job done **in one transaction, guarded by the lease**: if the lease was
lost meanwhile (the runner stalled past ``lease_seconds`` and another took over), the handler's
writes are rolled back. So of two processes running the scheduler, exactly one does each job's
database work; a side effect outside the database (an e-mail) is sent at least once — by the
runner that crashed and by the one that took over — and never twice by two healthy runners.

A handler returns ``None`` (done) or :class:`Retry` (try again later; its writes, e.g. the
record of a failed delivery attempt, are kept). An exception rolls the handler back and
retries the job with back-off until ``max_attempts``, then marks it ``failed``.

Runs inside ``qingshan serve`` (:class:`SchedulerThread`) and as ``qingshan jobs run``.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, and_, or_, select, update
from sqlalchemy.orm import Session

from qingshan.clock import utcnow
from qingshan.storage.db import session_scope
from qingshan.storage.models_casework import ScheduledJob

log = logging.getLogger("qingshan.scheduler")

MAX_BACKOFF = timedelta(hours=1)


@dataclass(frozen=True)
class Retry:
    """A handler's answer: not done yet, try again after ``delay``."""

    delay: timedelta
    error: str


@dataclass
class JobContext:
    """What handlers get besides the session: the runner's id and its collaborators
    (senders, settings) by name."""

    worker: str
    services: dict[str, Any] = field(default_factory=dict)


Handler = Callable[[Session, JobContext, dict[str, Any]], Retry | None]


@dataclass
class RunSummary:
    done: int = 0
    retried: int = 0
    failed: int = 0
    lost: int = 0  # lease taken over by another runner before this one finished
    ids: list[int] = field(default_factory=list)

    @property
    def ran(self) -> int:
        return self.done + self.retried + self.failed


def worker_id() -> str:
    """A name unique to this runner: host, process and a random part."""
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def enqueue(
    s: Session,
    kind: str,
    payload: dict[str, Any],
    *,
    run_at: datetime | None = None,
    dedup_key: str | None = None,
    max_attempts: int = 5,
) -> ScheduledJob:
    """Add a job to the session's transaction (due now unless ``run_at``, naive UTC). With a
    ``dedup_key`` an existing job of that key is returned instead of adding another."""
    if dedup_key is not None:
        existing = s.scalar(select(ScheduledJob).where(ScheduledJob.dedup_key == dedup_key))
        if existing is not None:
            return existing
    now = utcnow()
    job = ScheduledJob(
        kind=kind,
        payload=json.dumps(payload, ensure_ascii=False, default=str),
        dedup_key=dedup_key,
        run_at=run_at or now,
        status="pending",
        attempts=0,
        max_attempts=max_attempts,
        created_at=now,
    )
    s.add(job)
    s.flush()
    return job


def _claimable(now: datetime) -> Any:
    return or_(
        and_(ScheduledJob.status == "pending", ScheduledJob.run_at <= now),
        and_(ScheduledJob.status == "running", ScheduledJob.lease_expires_at < now),
    )


def claim(engine: Engine, worker: str, *, lease_seconds: float = 300.0) -> int | None:
    """Take the lease of one due job (committed); its id, or None when nothing is due."""
    for _ in range(20):  # another runner may win each candidate; try the next one
        with session_scope(engine) as s:
            now = utcnow()
            q = (
                select(ScheduledJob.id)
                .where(_claimable(now))
                .order_by(ScheduledJob.run_at, ScheduledJob.id)
                .limit(1)
            )
            if engine.dialect.name == "postgresql":
                q = q.with_for_update(skip_locked=True)
            job_id = s.scalar(q)
            if job_id is None:
                return None
            taken = s.execute(
                update(ScheduledJob)
                .where(ScheduledJob.id == job_id, _claimable(now))
                .values(
                    status="running",
                    lease_owner=worker,
                    lease_expires_at=now + timedelta(seconds=lease_seconds),
                    attempts=ScheduledJob.attempts + 1,
                )
                .execution_options(synchronize_session=False)
            )
            if taken.rowcount == 1:  # type: ignore[attr-defined]
                return int(job_id)
    return None


class LeaseLost(RuntimeError):
    """The job's lease passed to another runner before this one finished."""


def _finish(s: Session, job_id: int, worker: str, **values: Any) -> None:
    done = s.execute(
        update(ScheduledJob)
        .where(
            ScheduledJob.id == job_id,
            ScheduledJob.lease_owner == worker,
            ScheduledJob.status == "running",
        )
        .values(lease_owner=None, lease_expires_at=None, **values)
        .execution_options(synchronize_session=False)
    )
    if done.rowcount != 1:  # type: ignore[attr-defined]
        raise LeaseLost(f"job {job_id}")


def _backoff(attempts: int) -> timedelta:
    return min(timedelta(seconds=30 * 2 ** max(attempts - 1, 0)), MAX_BACKOFF)


def run_one(engine: Engine, job_id: int, ctx: JobContext, handlers: Mapping[str, Handler]) -> str:
    """Run a claimed job: ``done``, ``retried``, ``failed`` or ``lost``."""
    try:
        with session_scope(engine) as s:
            job = s.get(ScheduledJob, job_id)
            if job is None or job.lease_owner != ctx.worker:
                raise LeaseLost(f"job {job_id}")
            handler = handlers.get(job.kind)
            if handler is None:
                raise LookupError(f"no handler for job kind {job.kind!r}")
            result = handler(s, ctx, json.loads(job.payload))
            now = utcnow()
            if result is None:
                _finish(s, job_id, ctx.worker, status="done", finished_at=now, last_error=None)
                return "done"
            if job.attempts >= job.max_attempts:
                _finish(s, job_id, ctx.worker, status="failed", finished_at=now,
                        last_error=result.error[:2000])  # fmt: skip
                return "failed"
            _finish(s, job_id, ctx.worker, status="pending", run_at=now + result.delay,
                    last_error=result.error[:2000])  # fmt: skip
            return "retried"
    except LeaseLost:
        log.warning("job %s: lease lost to another runner; its work was rolled back", job_id)
        return "lost"
    except Exception as exc:
        log.warning("job %s failed: %s", job_id, exc)
        try:
            with session_scope(engine) as s:
                job = s.get(ScheduledJob, job_id)
                if job is None:
                    return "lost"
                now = utcnow()
                if job.attempts >= job.max_attempts:
                    _finish(s, job_id, ctx.worker, status="failed", finished_at=now,
                            last_error=f"{type(exc).__name__}: {exc}"[:2000])  # fmt: skip
                    return "failed"
                _finish(s, job_id, ctx.worker, status="pending",
                        run_at=now + _backoff(job.attempts),
                        last_error=f"{type(exc).__name__}: {exc}"[:2000])  # fmt: skip
                return "retried"
        except LeaseLost:
            return "lost"


def run_due(
    engine: Engine,
    ctx: JobContext,
    handlers: Mapping[str, Handler],
    *,
    max_jobs: int = 100,
    lease_seconds: float = 300.0,
) -> RunSummary:
    """Claim and run due jobs, one at a time, until none is due or ``max_jobs`` ran."""
    summary = RunSummary()
    for _ in range(max_jobs):
        job_id = claim(engine, ctx.worker, lease_seconds=lease_seconds)
        if job_id is None:
            break
        outcome = run_one(engine, job_id, ctx, handlers)
        setattr(summary, outcome, getattr(summary, outcome) + 1)
        summary.ids.append(job_id)
    return summary


def jobs(s: Session, *, status: str | None = None, limit: int = 100) -> list[ScheduledJob]:
    """Jobs, newest first (for ``qingshan jobs list``)."""
    q = select(ScheduledJob).order_by(ScheduledJob.id.desc()).limit(limit)
    if status is not None:
        q = q.where(ScheduledJob.status == status)
    return list(s.scalars(q))


class SchedulerThread(threading.Thread):
    """Runs due jobs every ``interval`` seconds until :meth:`stop` (``qingshan serve``)."""

    def __init__(
        self,
        engine: Engine,
        make_context: Callable[[str], JobContext],
        handlers: Mapping[str, Handler],
        *,
        interval: float = 30.0,
        lease_seconds: float = 300.0,
    ) -> None:
        super().__init__(name="qingshan-scheduler", daemon=True)
        self.engine = engine
        self.ctx = make_context(worker_id())
        self.handlers = handlers
        self.interval = interval
        self.lease_seconds = lease_seconds
        self._stop_event = threading.Event()
        self.runs = 0

    def run(self) -> None:
        while not self._stop_event.is_set():
            try:
                run_due(self.engine, self.ctx, self.handlers, lease_seconds=self.lease_seconds)
            except Exception as exc:  # the database may be down: try again next round
                log.warning("scheduler run failed (will retry): %s", exc)
            self.runs += 1
            self._stop_event.wait(self.interval)

    def stop(self, timeout: float = 10.0) -> None:
        self._stop_event.set()
        self.join(timeout)
