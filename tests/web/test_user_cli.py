"""``qingshan user add/list/password/reset-password/disable/enable`` and the demo account."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import func, select
from typer.testing import CliRunner

from conftest import migrated_sqlite_url
from qingshan.cli.main import app
from qingshan.services.accounts import authenticate, demo_account
from qingshan.storage.db import make_engine, session_factory, session_scope
from qingshan.storage.models import Enterprise
from qingshan.storage.models_web import AuditEntry, WebSession, WebUser
from qingshan.web.auth import new_session

runner = CliRunner()


def _db(tmp_path: Path) -> str:
    url = migrated_sqlite_url(tmp_path / "u.db")
    engine = make_engine(url)
    with session_scope(engine) as s:
        s.add(Enterprise(name="甲公司", credit_code="91620802000000001A"))
    engine.dispose()
    return url


def test_user_add_from_stdin_and_list(tmp_path: Path) -> None:
    url = _db(tmp_path)
    r = runner.invoke(
        app,
        ["user", "add", "--db", url, "--username", "zhang", "--role", "staff", "--password-stdin"],
        input="a-long-password\n",
    )
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout.splitlines()[0])["role"] == "staff"
    r = runner.invoke(
        app,
        [
            "user",
            "add",
            "--db",
            url,
            "--username",
            "qiye",
            "--role",
            "enterprise",
            "--enterprise",
            "91620802000000001A",
            "--password-stdin",
        ],
        input="another-long-pw\n",
    )
    assert r.exit_code == 0, r.output
    listed = [
        json.loads(x) for x in runner.invoke(app, ["user", "list", "--db", url]).stdout.splitlines()
    ]
    assert [u["username"] for u in listed] == ["qiye", "zhang"]
    assert listed[0]["enterprise_id"] is not None
    assert "hash" not in json.dumps(listed) and "password" not in json.dumps(listed)
    engine = make_engine(url)
    with session_scope(engine) as s:
        assert authenticate(s, "zhang", "a-long-password") is not None
        assert authenticate(s, "zhang", "wrong-password") is None
        audit = list(s.scalars(select(AuditEntry)))
        assert len(audit) == 2 and "a-long-password" not in str([a.after for a in audit])
    engine.dispose()


def test_user_add_errors(tmp_path: Path) -> None:
    url = _db(tmp_path)
    cases = [
        (["--username", "x1y", "--role", "boss"], "unknown role"),
        (["--username", "shortpw", "--role", "staff"], "at least 10"),
        (["--username", "unit1", "--role", "unit"], "所属单位"),
        (["--username", "ent1", "--role", "enterprise", "--enterprise", "999"], "no enterprise"),
        (["--username", "a b", "--role", "staff"], "用户名"),
    ]
    for args, message in cases:
        pw = "short\n" if "shortpw" in args else "long-enough-pw\n"
        r = runner.invoke(app, ["user", "add", "--db", url, *args, "--password-stdin"], input=pw)
        assert r.exit_code == 2 and message in r.output, (args, r.output)
    r = runner.invoke(
        app,
        ["user", "add", "--db", url, "--username", "dup", "--role", "leader", "--password-stdin"],
        input="long-enough-pw\n",
    )
    assert r.exit_code == 0
    r = runner.invoke(
        app,
        ["user", "add", "--db", url, "--username", "dup", "--role", "leader", "--password-stdin"],
        input="long-enough-pw\n",
    )
    assert r.exit_code == 2 and "already exists" in r.output


def _password_of(message: str) -> str:
    return message.split("password ")[1].split(" ")[0]


def test_demo_account_printed_again_on_a_later_run(tmp_path: Path) -> None:
    engine = make_engine(migrated_sqlite_url(tmp_path / "d.db"))
    first = _password_of(demo_account(session_factory(engine)))
    with session_scope(engine) as s:
        user = authenticate(s, "demo", first)
        assert user is not None and user.role == "admin"
    # A second `make demo`: the log-in is printed again, with a fresh password (the first
    # was shown only on the earlier console; nobody chose it).
    message = demo_account(session_factory(engine))
    second = _password_of(message)
    assert "user demo" in message and second != first
    with session_scope(engine) as s:
        assert authenticate(s, "demo", first) is None
        assert authenticate(s, "demo", second) is not None
        assert len(list(s.scalars(select(WebUser)))) == 1
    # Once someone set the password, the demo leaves it alone and says how to reset it.
    r = runner.invoke(
        app,
        ["user", "password", "demo", "--db", str(engine.url), "--password-stdin"],
        input="my-own-secret-77\n",
    )
    assert r.exit_code == 0, r.output
    message = demo_account(session_factory(engine))
    assert "was set since" in message and "qingshan user reset-password demo" in message
    with session_scope(engine) as s:
        assert authenticate(s, "demo", "my-own-secret-77") is not None
        log = [a.after or "" for a in s.scalars(select(AuditEntry))]
    assert not any(first in x or second in x for x in log)
    engine.dispose()


def test_demo_account_not_made_beside_other_accounts(tmp_path: Path) -> None:
    url = _db(tmp_path)
    add = ["user", "add", "--db", url, "--username", "zhang", "--role", "staff"]
    assert runner.invoke(app, [*add, "--password-stdin"], input="a-long-password\n").exit_code == 0
    engine = make_engine(url)
    assert "existing accounts" in demo_account(session_factory(engine))
    engine.dispose()


def test_reset_password_generates_or_sets_and_is_audited(tmp_path: Path) -> None:
    url = _db(tmp_path)
    add = ["user", "add", "--db", url, "--username", "wang", "--role", "grid", "--password-stdin"]
    assert runner.invoke(app, add, input="first-password\n").exit_code == 0
    engine = make_engine(url)
    with session_scope(engine) as s:
        user = s.scalar(select(WebUser).where(WebUser.username == "wang"))
        assert user is not None
        new_session(s, user, 8)
    r = runner.invoke(app, ["user", "reset-password", "wang", "--db", url])
    assert r.exit_code == 0, r.output
    line = next(x for x in r.output.splitlines() if x.startswith("new password for wang: "))
    generated = line.split(": ", 1)[1].split(" ")[0]
    assert len(generated) == 16 and json.loads(r.stdout)["username"] == "wang"
    with session_scope(engine) as s:
        assert authenticate(s, "wang", "first-password") is None
        assert authenticate(s, "wang", generated) is not None
        assert s.scalar(select(func.count()).select_from(WebSession)) == 0
    r = runner.invoke(
        app,
        ["user", "reset-password", "wang", "--db", url, "--password-stdin"],
        input="chosen-by-admin-9\n",
    )
    assert r.exit_code == 0 and "new password" not in r.output
    with session_scope(engine) as s:
        assert authenticate(s, "wang", "chosen-by-admin-9") is not None
        log = [(a.username, a.action, a.after) for a in s.scalars(select(AuditEntry))]
    assert [x[1] for x in log] == ["create", "reset_password", "reset_password"]
    assert '"generated"' in str(log[1][2]) and '"set"' in str(log[2][2])
    assert generated not in str(log) and "chosen-by-admin-9" not in str(log)
    r = runner.invoke(
        app,
        ["user", "reset-password", "wang", "--db", url, "--password-stdin"],
        input="my-wang-secret-77\n",
    )
    assert r.exit_code == 2 and "用户名" in r.output
    r = runner.invoke(app, ["user", "reset-password", "nobody", "--db", url])
    assert r.exit_code == 2 and "nobody" in r.output
    engine.dispose()


def test_user_password_disable_enable(tmp_path: Path) -> None:
    url = _db(tmp_path)
    add = ["user", "add", "--db", url, "--username", "lisi", "--role", "grid", "--password-stdin"]
    assert runner.invoke(app, add, input="first-password\n").exit_code == 0
    engine = make_engine(url)
    with session_scope(engine) as s:  # a browser session that must end with the changes
        user = s.scalar(select(WebUser).where(WebUser.username == "lisi"))
        assert user is not None
        new_session(s, user, 8)
    r = runner.invoke(
        app,
        ["user", "password", "lisi", "--db", url, "--password-stdin"],
        input="second-password\n",
    )
    assert r.exit_code == 0, r.output
    with session_scope(engine) as s:
        assert authenticate(s, "lisi", "first-password") is None
        assert authenticate(s, "lisi", "second-password") is not None
        assert s.scalar(select(func.count()).select_from(WebSession)) == 0
    r = runner.invoke(app, ["user", "disable", "lisi", "--db", url])
    assert r.exit_code == 0 and json.loads(r.stdout)["active"] is False
    with session_scope(engine) as s:
        assert authenticate(s, "lisi", "second-password") is None
    assert runner.invoke(app, ["user", "enable", "lisi", "--db", url]).exit_code == 0
    with session_scope(engine) as s:
        assert authenticate(s, "lisi", "second-password") is not None
        log = [(a.username, a.action, a.after) for a in s.scalars(select(AuditEntry))]
    assert [x[:2] for x in log] == [("cli", "create")] + [("cli", "update")] * 3
    assert "second-password" not in str(log) and '"password": "changed"' in str(log)
    r = runner.invoke(app, ["user", "disable", "nobody", "--db", url])
    assert r.exit_code == 2 and "no user nobody" in r.output
    r = runner.invoke(
        app, ["user", "password", "lisi", "--db", url, "--password-stdin"], input="short\n"
    )
    assert r.exit_code == 2 and "at least 10" in r.output
    engine.dispose()
