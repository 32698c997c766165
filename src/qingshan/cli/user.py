"""``qingshan user``: web accounts (add, list, password, reset-password, disable, enable),
through the same service as the web's user administration; every change is audited as made
by "cli"."""

from __future__ import annotations

import json
import sys

import typer

from qingshan.cli._db import DB_OPTION_HELP, fail, open_engine
from qingshan.roles import CLI, ROLE_LABELS, ROLE_NAMES
from qingshan.services import accounts
from qingshan.services.errors import ServiceError
from qingshan.storage.db import session_scope

app = typer.Typer(help="Web accounts: add, list, set passwords, disable.", no_args_is_help=True)


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


PASSWORD_STDIN = typer.Option(
    False, "--password-stdin", help="read the password from the first line of stdin"
)


@app.command("add")
def add(
    username: str = typer.Option(..., "--username", help="log-in name (3-64 letters/digits/_.-)"),
    role: str = typer.Option(..., "--role", help=f"one of: {', '.join(ROLE_NAMES)}"),
    unit: str | None = typer.Option(None, "--unit", help="department (unit role only)"),
    enterprise: str | None = typer.Option(
        None, "--enterprise", help="enterprise id or 统一社会信用代码 (enterprise role only)"
    ),
    name: str | None = typer.Option(None, "--name", help="display name"),
    password_stdin: bool = PASSWORD_STDIN,
    db: str | None = typer.Option(None, "--db", help=DB_OPTION_HELP),
) -> None:
    """Add a web user; the password is prompted for (or read from stdin), never an option."""
    if role not in ROLE_NAMES:
        raise fail(f"unknown role {role!r}; use one of: {', '.join(ROLE_NAMES)}", 2)
    engine = open_engine(db)
    password = _read_password(password_stdin)
    try:
        with session_scope(engine) as s:
            ent_id = accounts.enterprise_id_of(s, enterprise) if enterprise is not None else None
            u = accounts.create_user(
                s,
                CLI,
                username=username,
                password=password,
                role=role,
                unit=unit,
                enterprise_id=ent_id,
                display_name=name,
            )
            uid = u.id
    except ServiceError as exc:
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
            for u in accounts.list_users(s):
                typer.echo(json.dumps(accounts.user_summary(u), ensure_ascii=False))
    finally:
        engine.dispose()


def _update(
    db: str | None,
    username: str,
    done: str,
    *,
    active: bool | None = None,
    password: str | None = None,
) -> None:
    engine = open_engine(db)
    try:
        with session_scope(engine) as s:
            u = accounts.update_user(s, CLI, username, active=active, password=password)
            summary = accounts.user_summary(u)
    except ServiceError as exc:
        raise fail(str(exc), 2) from None
    finally:
        engine.dispose()
    typer.echo(json.dumps(summary, ensure_ascii=False))
    typer.echo(f"user {username} {done}", err=True)


@app.command("password")
def password(
    username: str = typer.Argument(..., help="log-in name"),
    password_stdin: bool = PASSWORD_STDIN,
    db: str | None = typer.Option(None, "--db", help=DB_OPTION_HELP),
) -> None:
    """Set a user's password (ends its browser sessions)."""
    _update(db, username, "password changed", password=_read_password(password_stdin))


@app.command("disable")
def disable(
    username: str = typer.Argument(..., help="log-in name"),
    db: str | None = typer.Option(None, "--db", help=DB_OPTION_HELP),
) -> None:
    """Disable a user: no log-in, its sessions end, its API tokens stop working."""
    _update(db, username, "disabled", active=False)


@app.command("enable")
def enable(
    username: str = typer.Argument(..., help="log-in name"),
    db: str | None = typer.Option(None, "--db", help=DB_OPTION_HELP),
) -> None:
    """Enable a disabled user again."""
    _update(db, username, "enabled", active=True)


@app.command("reset-password")
def reset_password(
    username: str = typer.Argument(..., help="log-in name"),
    password_stdin: bool = typer.Option(
        False,
        "--password-stdin",
        help="set the password read from stdin instead of generating one",
    ),
    db: str | None = typer.Option(None, "--db", help=DB_OPTION_HELP),
) -> None:
    """Reset a user's password: a random one printed once (or one read from stdin); its
    browser sessions end and its API tokens are revoked. Audited as reset_password."""
    given = _read_password(True) if password_stdin else None
    engine = open_engine(db)
    try:
        with session_scope(engine) as s:
            u, generated = accounts.reset_password(s, CLI, username, password=given)
            summary = accounts.user_summary(u)
    except ServiceError as exc:
        raise fail(str(exc), 2) from None
    finally:
        engine.dispose()
    typer.echo(json.dumps(summary, ensure_ascii=False))
    if generated is not None:
        # On the terminal of whoever ran the command; never logged or stored.
        typer.echo(f"new password for {username}: {generated} (shown only now)", err=True)
    else:
        typer.echo(f"user {username} password reset", err=True)
