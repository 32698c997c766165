"""``qingshan jobs``: run due reminders, escalations and deliveries (for cron), list jobs.

``qingshan serve`` runs the same scheduler in a thread; both may run at once, and several
cron runners too: each job is done by exactly one of them (leases, see
:mod:`qingshan.services.scheduler`).
"""

from __future__ import annotations

import json
import time

import typer

from qingshan.cli._db import DB_OPTION_HELP, fail, open_engine
from qingshan.clock import to_cst
from qingshan.services import scheduler
from qingshan.services.job_kinds import JOB_HANDLERS
from qingshan.services.notifications import Senders
from qingshan.settings import Settings, get_settings
from qingshan.storage.db import session_scope

app = typer.Typer(help="Scheduled jobs: reminders, escalations, e-mail/SMS deliveries.",
                  no_args_is_help=True)  # fmt: skip

STATUS_LABELS = {"pending": "待执行", "running": "执行中", "done": "已完成", "failed": "失败"}


def job_context(settings: Settings, worker: str) -> scheduler.JobContext:
    """The collaborators job handlers use (senders from the settings)."""
    return scheduler.JobContext(worker, {"senders": Senders.of(settings), "settings": settings})


@app.command("run")
def run(
    db: str | None = typer.Option(None, "--db", help=DB_OPTION_HELP),
    max_jobs: int = typer.Option(1000, "--max", min=1, help="stop after this many jobs"),
    loop: bool = typer.Option(False, "--loop", help="keep running every --interval seconds"),
    interval: float | None = typer.Option(None, "--interval", min=0.1, help="seconds (--loop)"),
    as_json: bool = typer.Option(False, "--json", help="print the summary as JSON"),
) -> None:
    """Run the jobs that are due now, then exit (or keep going with --loop)."""
    settings = get_settings(db_url=db, scheduler_interval=interval)
    engine = open_engine(settings.db_url)
    try:
        ctx = job_context(settings, scheduler.worker_id())
    except (ValueError, ImportError, AttributeError) as exc:
        raise fail(f"通知发送设置有误：{exc}", 2) from None
    try:
        while True:
            summary = scheduler.run_due(
                engine,
                ctx,
                JOB_HANDLERS,  # every job kind (workflows, notices, plan tasks, case warnings)
                max_jobs=max_jobs,
                lease_seconds=settings.scheduler_lease_seconds,
            )
            out = {"done": summary.done, "retried": summary.retried,
                   "failed": summary.failed, "lost": summary.lost}  # fmt: skip
            if as_json:
                typer.echo(json.dumps(out))
            else:
                typer.echo(
                    f"已完成 {summary.done} 项，稍后重试 {summary.retried} 项，"
                    f"失败 {summary.failed} 项，被其他进程接管 {summary.lost} 项"
                )
            if not loop:
                break
            time.sleep(settings.scheduler_interval)
    except KeyboardInterrupt:
        pass
    finally:
        engine.dispose()


@app.command("list")
def list_jobs(
    db: str | None = typer.Option(None, "--db", help=DB_OPTION_HELP),
    status: str | None = typer.Option(None, "--status", help="pending, running, done or failed"),
    limit: int = typer.Option(50, "--limit", min=1, max=10000),
    as_json: bool = typer.Option(False, "--json", help="JSON lines"),
) -> None:
    """Jobs, newest first."""
    if status is not None and status not in STATUS_LABELS:
        raise fail(f"未知状态 {status!r}；可选：{', '.join(STATUS_LABELS)}", 2)
    engine = open_engine(db)
    try:
        with session_scope(engine) as s:
            rows = scheduler.jobs(s, status=status, limit=limit)
            for j in rows:
                if as_json:
                    typer.echo(json.dumps({
                        "id": j.id, "kind": j.kind, "status": j.status,
                        "run_at": j.run_at.isoformat(), "attempts": j.attempts,
                        "last_error": j.last_error, "payload": json.loads(j.payload),
                    }, ensure_ascii=False))  # fmt: skip
                else:
                    typer.echo(
                        f"{j.id}\t{j.kind}\t{STATUS_LABELS[j.status]}"
                        f"\t{to_cst(j.run_at):%Y-%m-%d %H:%M}（北京时间）"
                        f"\t尝试 {j.attempts} 次" + (f"\t{j.last_error}" if j.last_error else "")
                    )
    finally:
        engine.dispose()
