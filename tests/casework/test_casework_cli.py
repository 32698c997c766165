"""``qingshan calendar`` and ``qingshan jobs``, and the scheduler inside ``qingshan serve``."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from conftest import migrated_sqlite_url
from qingshan.cli.main import app
from qingshan.services import scheduler
from qingshan.storage.db import init_db, make_engine, session_scope
from qingshan.storage.models_casework import CalendarOverride, InboxMessage
from qingshan.storage.models_web import AuditEntry

from .conftest import make_users

QINGSHAN = str(Path(sys.executable).parent / "qingshan")


def _run(*args: str) -> tuple[int, str, str]:
    r = CliRunner().invoke(app, list(args))
    return r.exit_code, r.stdout, r.stderr


def test_calendar_commands(db_url: str) -> None:
    code, out, _ = _run("calendar", "list", "--year", "2026", "--db", db_url)
    assert code == 0
    assert out.splitlines()[0].startswith("2026年：国务院办公厅关于2026年部分节假日安排的通知")
    assert "2026-02-14（星期六，春节调休上班，工作日）\t国务院通知" in out
    code, out, _ = _run(
        "calendar",
        "add-holiday",
        "2026-03-09",
        "--to",
        "2026-03-10",
        "--name",
        "县庆放假",
        "--db",
        db_url,
    )
    assert code == 0 and "2026-03-09、2026-03-10" in out
    code, out, _ = _run("calendar", "add-workday", "2026-03-07", "--name", "补班", "--db", db_url)
    assert code == 0
    code, out, err = _run(
        "calendar", "deadline", "2026-03-06", "--days", "2", "--working", "--db", db_url
    )
    assert code == 0 and out.strip() == "2026-03-11"  # 03-07 (补班), 03-09/10 off, 03-11
    assert "期限至2026-03-11" in err
    code, out, _ = _run("calendar", "list", "--year", "2026", "--json", "--db", db_url)
    local = [json.loads(x) for x in out.splitlines() if '"local"' in x]
    assert [(d["day"], d["working"]) for d in local] == [
        ("2026-03-07", True),
        ("2026-03-09", False),
        ("2026-03-10", False),
    ]
    # refusals: exit 2 with the reason
    code, _, err = _run("calendar", "add-holiday", "2026-02-16", "--name", "x", "--db", db_url)
    assert code == 0  # a day that is already off is skipped, not an error …
    code, _, err = _run("calendar", "add-workday", "2026-03-11", "--name", "x", "--db", db_url)
    assert code == 2 and "本来就是工作日" in err  # … making a working day a working day is
    code, _, err = _run("calendar", "add-holiday", "2026-13-01", "--name", "x", "--db", db_url)
    assert code == 2 and "不是 YYYY-MM-DD" in err
    code, out, _ = _run("calendar", "remove", "2026-03-10", "--db", db_url)
    assert code == 0
    code, _, err = _run("calendar", "remove", "2026-03-10", "--db", db_url)
    assert code == 2 and "没有本地设置" in err
    engine = make_engine(db_url)
    with session_scope(engine) as s:
        assert s.scalar(select(func.count()).select_from(CalendarOverride)) == 2
        actions = list(s.scalars(select(AuditEntry.action).where(AuditEntry.entity == "calendar")))
        assert actions == ["calendar.set"] * 3 + ["calendar.remove"]
    engine.dispose()


def test_jobs_commands(db_url: str) -> None:
    engine = make_engine(db_url)
    users = make_users(engine)
    with session_scope(engine) as s:
        for i in range(3):
            scheduler.enqueue(
                s, "notify", {"user_ids": [users["admin"].user_id], "subject": f"{i}"}
            )
    code, out, _ = _run("jobs", "list", "--status", "pending", "--db", db_url)
    assert code == 0 and len(out.splitlines()) == 3 and "待执行" in out
    code, out, _ = _run("jobs", "run", "--db", db_url, "--json")
    assert code == 0 and json.loads(out) == {"done": 3, "retried": 0, "failed": 0, "lost": 0}
    code, out, _ = _run("jobs", "run", "--db", db_url)
    assert code == 0 and out.startswith("已完成 0 项")
    code, out, _ = _run("jobs", "list", "--json", "--db", db_url)
    assert {json.loads(x)["status"] for x in out.splitlines()} == {"done"}
    code, _, err = _run("jobs", "list", "--status", "lost", "--db", db_url)
    assert code == 2 and "未知状态" in err
    with session_scope(engine) as s:
        assert s.scalar(select(func.count()).select_from(InboxMessage)) == 3
    engine.dispose()


@pytest.mark.slow
def test_serve_runs_the_scheduler(tmp_path: Path) -> None:
    url = migrated_sqlite_url(tmp_path / "serve.db")
    engine = make_engine(url)
    users = make_users(engine)
    with session_scope(engine) as s:
        scheduler.enqueue(s, "notify", {"user_ids": [users["staff"].user_id], "subject": "serve"})
    env = dict(os.environ, QINGSHAN_SCHEDULER_INTERVAL="0.2")
    cmd = [
        QINGSHAN,
        "serve",
        "--db",
        url,
        "--hj212-port",
        "0",
        "--http-port",
        "0",
        "--hj212-host",
        "127.0.0.1",
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        assert proc.stdout is not None
        started = [proc.stdout.readline(), proc.stdout.readline()]  # the ports: serving
        assert all(line.startswith(("hj212_port=", "http_port=")) for line in started), started
        deadline = time.monotonic() + 120  # start-up is slow on a loaded machine
        found = 0
        while time.monotonic() < deadline and not found:
            time.sleep(0.2)
            with session_scope(engine) as s:
                found = s.scalar(select(func.count()).select_from(InboxMessage)) or 0
        assert found == 1
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
        engine.dispose()
    assert proc.returncode == 0


def test_demo_reset_empties_the_append_only_timeline_too(db_url: str) -> None:
    from qingshan.cli.demo import _reset
    from qingshan.roles import CLI
    from qingshan.services import timeline
    from qingshan.storage.models_casework import TimelineEvent

    engine = make_engine(db_url)
    with session_scope(engine) as s:
        timeline.record(s, CLI, entity_type="registry_import", entity_id="1", action="x")
    engine.dispose()
    _reset(db_url)  # the whole database goes: TRUNCATE is not refused like DELETE
    engine = init_db(db_url)
    with session_scope(engine) as s:
        assert s.scalar(select(func.count()).select_from(TimelineEvent)) == 0
    engine.dispose()
