"""``qingshan init``: create or upgrade the database schema."""

from __future__ import annotations

import typer
from sqlalchemy.exc import OperationalError

from qingshan.cli._db import DB_OPTION_HELP, fail, open_engine
from qingshan.services.registry import seed_factors
from qingshan.storage.db import current_revision, head_revision, init_db


def init(db: str | None = typer.Option(None, "--db", help=DB_OPTION_HELP)) -> None:
    """Create or upgrade the schema (safe to run on every upgrade)."""
    engine = open_engine(db, check=False)
    try:
        before = current_revision(engine)
        init_db(engine)
        added = seed_factors(engine)
    except OperationalError as exc:
        raise fail(f"cannot initialise the database: {exc.orig}", 2) from None
    url = engine.url.render_as_string(hide_password=True)
    head = head_revision()
    if before == head:
        typer.echo(f"schema of {url} is up to date ({head})", err=True)
    else:
        typer.echo(f"schema of {url} upgraded from {before or 'nothing'} to {head}", err=True)
    if added:
        typer.echo(f"{added} HJ 212 pollutant codes added to the factor table", err=True)
