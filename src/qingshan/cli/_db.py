"""Shared by the storage-backed commands: settings → engine, errors → stderr + exit code."""

from __future__ import annotations

import typer
from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError

from qingshan.settings import get_settings
from qingshan.storage.db import DatabaseURLError, SchemaNotReadyError, check_schema, make_engine

DB_OPTION_HELP = "Database URL (default: QINGSHAN_DB_URL, qingshan.toml, or ./var/qingshan.db)"


def fail(message: str, code: int = 1) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


def open_engine(db: str | None, *, check: bool = True) -> Engine:
    url = get_settings(db_url=db).db_url
    try:
        engine = make_engine(url)
        if check:
            check_schema(engine)
    except (DatabaseURLError, SchemaNotReadyError) as exc:
        raise fail(str(exc), 2) from None
    except OperationalError as exc:
        raise fail(f"cannot open the database: {exc.orig}", 2) from None
    return engine
