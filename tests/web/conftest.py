from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from conftest import create_pg_database, drop_pg_database, migrated_sqlite_url
from qingshan.services.figures import recompute_all
from qingshan.settings import get_settings
from qingshan.storage.db import make_engine, session_factory, session_scope
from qingshan.storage.partitions import ensure_months, month_of
from support.web_seed import PASSWORD, seed


def _seeded(url: str) -> dict[str, int]:
    engine = make_engine(url)
    now = datetime.now(UTC) + timedelta(hours=8)
    # PostgreSQL: monthly partitions of the seeded days (no-op on SQLite).
    ensure_months(engine, {month_of(now - timedelta(days=d)) for d in range(4)})
    with session_scope(engine) as s:
        ids = seed(s)
    recompute_all(session_factory(engine))
    engine.dispose()
    return ids


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def web_db(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, dict[str, int]]]:
    """The seeded district on SQLite (a temp file) and on a fresh PostgreSQL database."""
    if request.param == "sqlite":
        path: Path = tmp_path_factory.mktemp("web") / "web.db"
        url = migrated_sqlite_url(path)
        yield url, _seeded(url)
        return
    server: str = request.getfixturevalue("pg_server")
    url = create_pg_database(server)
    try:
        yield url, _seeded(url)
    finally:
        drop_pg_database(server, url)


@pytest.fixture(scope="module")
def app(
    web_db: tuple[str, dict[str, int]], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Any]:
    from qingshan.web import create_app

    engine = make_engine(web_db[0])
    # Plain HTTP in tests: Secure cookies would not be sent back by the test client.
    # Uploaded files go to a temporary directory, never under the working directory.
    settings = get_settings(
        db_url=web_db[0],
        attachments_dir=str(tmp_path_factory.mktemp("attachments")),
        web_cookie_secure=False,
        web_login_max_failures=3,
        web_login_window_seconds=60,
        # long enough that a slow (loaded) machine cannot outlast the first delay between tries
        web_login_base_delay_seconds=120,
    )
    yield create_app(settings, session_factory(engine))
    engine.dispose()


@pytest.fixture(scope="module")
def ids(web_db: tuple[str, dict[str, int]]) -> dict[str, int]:
    return web_db[1]


def login(app: Any, username: str) -> TestClient:
    """A client with a browser session of ``username`` and its CSRF header set."""
    c = TestClient(app)
    r = c.post("/api/v1/auth/login", json={"username": username, "password": PASSWORD})
    assert r.status_code == 200, r.text
    c.headers["X-CSRF-Token"] = r.json()["csrf_token"]
    return c
