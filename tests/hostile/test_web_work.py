"""Probe: heavy web use beside the devices. Eight clients download a year of hourly data as
xlsx over and over while 40 log-ins (argon2 each) arrive at once and a reader hammers the
cockpit: the good device keeps its acknowledgements under a second, the web app answers
every request (200, or 429/503 where a documented bound refuses it), never a 500 ("database
is locked" was one), and nothing acknowledged is lost."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from argon2 import PasswordHasher
from sqlalchemy import insert

from hostile.conftest import Target
from hostile.harness import GoodDevice, assert_acked_stored, assert_good_device_held
from qingshan.roles import Principal, Role
from qingshan.services import accounts
from qingshan.services.accounts import create_user
from qingshan.services.registry import add_device
from qingshan.storage.db import session_scope
from qingshan.storage.models import Observation, Region, Site
from qingshan.storage.partitions import ensure_months

EXPORT_MN = "010000A8900016F000169F00"
USERS = 10  # each logs in four times: 40 log-ins (bench_web_isolation.py runs 120)
PASSWORD = "long-enough-pw-81"
AIR = {"a21026": 8.0, "a21004": 30.0, "a21005": 0.6, "a05024": 80.0, "a34002": 70.0, "a34004": 35.0}


@pytest.fixture(scope="module")
def export_site(target: Target) -> int:
    """An air station with a year of hourly data (52,560 values), and the log-in users."""
    now = datetime.now(UTC).replace(tzinfo=None, minute=0, second=0, microsecond=0)
    with session_scope(target.engine) as s:
        if s.get(Region, "620899") is None:
            s.add(Region(code="620899", name="探测区", level="county"))
            s.flush()
        site = Site(code="WEBLOAD", name="导出站", kind="air_station", region_code="620899")
        s.add(site)
        s.flush()
        site_id = site.id
        admin = Principal(Role.ADMIN, via="cli")
        suite_cost, accounts._hasher = accounts._hasher, PasswordHasher()  # production cost
        try:
            for i in range(USERS):
                create_user(s, admin, username=f"web-load-{i}", password=PASSWORD, role="staff")
        finally:
            accounts._hasher = suite_cost
    dev_id = add_device(target.engine, mn=EXPORT_MN, pw="123456", st="22", site="WEBLOAD").id
    rows = [
        {
            "device_id": dev_id,
            "resolution": 2,
            "data_time": now - timedelta(hours=h),
            "code": code,
            "value": f"{base * (0.6 + (h % 17) / 20):.2f}",
            "flag": "N",
            "derived": False,
        }
        for h in range(365 * 24)
        for code, base in AIR.items()
    ]
    ensure_months(target.engine, {(r["data_time"].year, r["data_time"].month) for r in rows})
    with target.engine.begin() as conn:
        for k in range(0, len(rows), 10_000):
            conn.execute(insert(Observation), rows[k : k + 10_000])
    return site_id


async def exporter(base: str, token: str, site: int, until: float, codes: Counter[int]) -> None:
    end = datetime.now(UTC)
    params = {
        "site_id": str(site),
        "resolution": "hour",
        "start": (end - timedelta(days=365)).isoformat(),
        "end": end.isoformat(),
        "format": "xlsx",
    }
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=120) as c:
        while time.monotonic() < until:
            async with c.stream("GET", "/api/v1/export", params=params) as r:
                async for _ in r.aiter_bytes():
                    pass
                codes[r.status_code] += 1
            if r.status_code == 503:
                await asyncio.sleep(0.5)


async def log_in(base: str, i: int, codes: Counter[int]) -> None:
    # Each user from its own loopback address, as staff behind different desks would be.
    transport = httpx.AsyncHTTPTransport(local_address=f"127.0.{60 + i % USERS}.1")
    async with httpx.AsyncClient(base_url=base, transport=transport, timeout=120) as c:
        r = await c.post(
            "/api/v1/auth/login", json={"username": f"web-load-{i % USERS}", "password": PASSWORD}
        )
        codes[r.status_code] += 1


async def cockpit_reader(base: str, token: str, until: float, codes: Counter[int]) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=120) as c:
        while time.monotonic() < until:
            r = await c.get("/api/v1/cockpit")
            codes[r.status_code] += 1


def test_heavy_web_use_does_not_slow_the_devices(target: Target, export_site: int) -> None:
    base = f"http://127.0.0.1:{target.srv.http_port}"

    async def probe() -> tuple[GoodDevice, Counter[int], Counter[int], Counter[int]]:
        good = await GoodDevice(target.srv.hj212_port).start()
        exports: Counter[int] = Counter()
        logins: Counter[int] = Counter()
        reads: Counter[int] = Counter()
        until = time.monotonic() + 8
        work = [exporter(base, target.token, export_site, until, exports) for _ in range(8)]
        work += [cockpit_reader(base, target.token, until, reads) for _ in range(4)]
        busy = asyncio.gather(*work)
        await asyncio.sleep(2)  # the exports are under way
        await asyncio.gather(*(log_in(base, i, logins) for i in range(4 * USERS)))
        await busy
        await good.stop()
        return good, exports, logins, reads

    good, exports, logins, reads = asyncio.run(probe())
    assert_good_device_held(good)
    assert_acked_stored(target.engine, good)
    assert exports[200] >= 1 and set(exports) <= {200, 503}, exports
    assert set(logins) <= {200, 429} and logins[200] >= USERS, logins
    assert reads[200] >= 1 and set(reads) <= {200}, reads
