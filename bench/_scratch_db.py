"""A throw-away PostgreSQL database for a benchmark run (created, yielded, dropped)."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from sqlalchemy import make_url

PG_URL = os.environ.get(
    "QINGSHAN_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


def _libpq(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@contextmanager
def scratch_pg() -> Iterator[str]:
    """Create ``qingshan_bench_<random>`` on the server of ``PG_URL``, yield its SQLAlchemy
    URL, and drop it afterwards (even when the benchmark fails). Raises ``psycopg.Error``
    when the server cannot be reached."""
    name = f"qingshan_bench_{secrets.token_hex(4)}"
    with psycopg.connect(_libpq(PG_URL), autocommit=True, connect_timeout=3) as c:
        c.execute(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(_libpq(PG_URL), autocommit=True) as c:
            c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
