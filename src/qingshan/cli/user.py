"""``qingshan user``: web accounts (add, list)."""

from __future__ import annotations

import json
import sys

import typer
from sqlalchemy import select

from qingshan.cli._db import DB_OPTION_HELP, fail, open_engine
from qingshan.clock import utcnow
from qingshan.storage.db import session_scope
from qingshan.storage.models import Enterprise
from qingshan.storage.models_web import ROLES, AuditEntry, WebUser
from qingshan.web.auth import ROLE_LABELS, AccountError, create_user

app = typer.Typer(help="Web accounts: add and list users.", no_args_is_help=True)


def _read_password(stdin: bool) -> str:
    if stdin:
        line = sys.stdin.readline()
        if not line:
            raise fail("no password on stdin", 2)
        return line.rstrip("\r\n")
    first = typer.prompt("Password", hide_input=True)
    second = typer.prompt("Repeat password", hide_input=True)
    if first != second:
        raise fail("the two passwords differ", 2)
    return str(first)


@app.command("add")
def add(
    username: str = typer.Option(..., "--username", help="log-in name (3-64 letters/digits/_.-)"),
    role: str = typer.Option(..., "--role", help=f"one of: {', '.join(ROLES)}"),
    unit: str | None = typer.Option(None, "--unit", help="department (unit role only)"),
    enterprise: str | None = typer.Option(
        None, "--enterprise", help="enterprise id or 统一社会信用代码 (enterprise role only)"
    ),
    name: str | None = typer.Option(None, "--name", help="display name"),
    password_stdin: bool = typer.Option(
        False, "--password-stdin", help="read the password from the first line of stdin"
    ),
    db: str | None = typer.Option(None, "--db", help=DB_OPTION_HELP),
) -> None:
    """Add a web user; the password is prompted for (or read from stdin), never an option."""
    if role not in ROLES:
        raise fail(f"unknown role {role!r}; use one of: {', '.join(ROLES)}", 2)
    engine = open_engine(db)
    password = _read_password(password_stdin)
    try:
        with session_scope(engine) as s:
            ent_id: int | None = None
            if enterprise is not None:
                q = select(Enterprise.id).where(Enterprise.credit_code == enterprise)
                if enterprise.isdigit() and len(enterprise) < 18:
                    q = select(Enterprise.id).where(Enterprise.id == int(enterprise))
                ent_id = s.scalar(q)
                if ent_id is None:
                    raise AccountError(f"no enterprise {enterprise!r} (give its id or credit code)")
            u = create_user(
                s,
                username=username,
                password=password,
                role=role,
                unit=unit,
                enterprise_id=ent_id,
                display_name=name,
            )
            s.add(
                AuditEntry(
                    at=utcnow(),
                    user_id=None,
                    username="cli",
                    action="create",
                    entity="user",
                    entity_id=str(u.id),
                    before=None,
                    after=json.dumps(
                        {
                            "username": u.username,
                            "role": u.role,
                            "unit": u.unit,
                            "enterprise_id": u.enterprise_id,
                        },
                        ensure_ascii=False,
                    ),
                    client="cli",
                )
            )
            uid = u.id
    except AccountError as exc:
        raise fail(str(exc), 2) from None
    finally:
        engine.dispose()
    typer.echo(json.dumps({"id": uid, "username": username, "role": role}, ensure_ascii=False))
    typer.echo(f"user {username} added ({ROLE_LABELS[role]})", err=True)


@app.command("list")
def list_users(db: str | None = typer.Option(None, "--db", help=DB_OPTION_HELP)) -> None:
    """List web users as JSON lines (never password hashes)."""
    engine = open_engine(db)
    try:
        with session_scope(engine) as s:
            for u in s.scalars(select(WebUser).order_by(WebUser.username)):
                typer.echo(
                    json.dumps(
                        {
                            "id": u.id,
                            "username": u.username,
                            "role": u.role,
                            "unit": u.unit,
                            "enterprise_id": u.enterprise_id,
                            "active": u.active,
                            "last_login_at": u.last_login_at.isoformat()
                            if u.last_login_at
                            else None,
                        },
                        ensure_ascii=False,
                    )
                )
    finally:
        engine.dispose()
