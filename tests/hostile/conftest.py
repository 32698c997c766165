"""One real ``qingshan serve`` per backend for the whole hostile-input suite.

Starting ``qingshan serve`` takes seconds, so every probe of a backend runs against the same
server (package scope), each attacker from its own loopback addresses so that the probes do
not meet. The server runs with the suite's limits (:data:`LIMITS`, on top of the harness's
short delays) and an open-file limit of 1024, so its connection cap is 512.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import Engine

from conftest import create_pg_database, drop_pg_database, migrated_sqlite_url
from hostile.harness import GOOD_MN, GOOD_PW, Server, serve, staff_token
from qingshan.services.registry import add_device, add_upstream
from qingshan.storage import models_gateway  # noqa: F401  (its table is in the metadata)
from qingshan.storage.db import make_engine


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every probe against the live server asserts a good device's latency: they run alone
    (``make pytest`` runs ``serial`` tests after the parallel part). The pure bookkeeping rules
    in ``test_limits.py`` need no server and stay parallel."""
    here = Path(__file__).parent
    for item in items:
        if item.path.parent == here and item.path.name != "test_limits.py":
            item.add_marker(pytest.mark.serial)


ATTACKER_MN = "010000A8900016F000169A00"  # a registered device in an attacker's hands
ATTACKER_PW = "654321"
SLOW_MN = "010000A8900016F000169B00"  # an HJ 212-2025 device whose link never reads
DUP_MN = "010000A8900016F000169D00"  # its data is forwarded to an upstream platform
FLOOD_MN = "010000A8900016F000169E00"  # split parts with a wrong PW are sent for it
NOFILE = 1024
LIMITS = {
    "hj212_split_budget_bytes": str(64 * 1024),
    "hj212_split_max_pnum": "100",
    "hj212_write_buffer_bytes": str(16 * 1024),
    # A deployment's Argon2id cost (the suite runs with the lowest, tests/conftest.py): the
    # log-in storm of test_web_work.py must cost what it costs in production.
    "password_hash_time_cost": "3",
    "password_hash_memory_kib": "65536",
    "password_hash_parallelism": "4",
}


@dataclass
class Target:
    url: str
    engine: Engine
    srv: Server
    token: str  # a staff user's API token (for /healthz)
    cwd: Path


@pytest.fixture(
    scope="package", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def target(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Target]:
    cwd = tmp_path_factory.mktemp(f"hostile-{request.param}")
    pg: str | None = None
    if request.param == "sqlite":
        url = migrated_sqlite_url(cwd / "qingshan.db")
    else:
        pg = request.getfixturevalue("pg_server")
        url = create_pg_database(pg)
    engine = make_engine(url)
    add_device(engine, mn=GOOD_MN, pw=GOOD_PW, st="22")
    add_device(engine, mn=ATTACKER_MN, pw=ATTACKER_PW, st="22")
    add_device(engine, mn=SLOW_MN, pw=ATTACKER_PW, st="22", edition="2025")
    add_device(engine, mn=FLOOD_MN, pw=ATTACKER_PW, st="22")
    add_device(engine, mn=DUP_MN, pw=ATTACKER_PW, st="22", group="province")
    # Port 1 refuses connections: forwarded packets stay queued, so they can be counted.
    add_upstream(engine, name="省平台", host="127.0.0.1", port=1, group="province")
    token = staff_token(engine)
    try:
        with serve(url, cwd, nofile=NOFILE, **LIMITS) as srv:
            yield Target(url, engine, srv, token, cwd)
    finally:
        engine.dispose()
        if pg is not None:
            drop_pg_database(pg, url)
