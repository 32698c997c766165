"""The log-in throttle: atomic, counted before the hash, delays instead of lockouts, trusted
proxies only when named; argon2 outside the write transaction. Concurrency is real: threads
against a real ``qingshan serve`` on 127.0.0.1."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from conftest import migrated_sqlite_url
from qingshan.services import accounts
from qingshan.storage.db import make_engine, session_scope
from qingshan.web.auth import LoginLimiter
from support.web_seed import PASSWORD, seed
from web.live import serve

# Bursts of concurrent log-ins and a hash timed against a writer: run alone.
pytestmark = pytest.mark.serial


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _limiter(clock: Clock, **kw: Any) -> LoginLimiter:
    return LoginLimiter(5, 900.0, base_delay=1.0, max_delay=300.0, clock=clock, **kw)


def test_free_failures_then_doubling_delays_capped_never_a_lockout() -> None:
    clock = Clock()
    lim = _limiter(clock)
    keys = LoginLimiter.keys("Staff", "10.0.0.1")
    assert [lim.attempt(*keys) for _ in range(5)] == [0] * 5
    waits = []
    for _ in range(12):
        wait = lim.attempt(*keys)
        assert wait > 0  # refused, and a refusal does not lengthen the delay
        assert lim.attempt(*keys) == wait
        waits.append(wait)
        clock.now += wait
        assert lim.attempt(*keys) == 0  # after the delay, one more try is evaluated
    assert waits[:5] == [1, 2, 4, 8, 16]
    assert max(waits) == 300 and waits[-1] == 300  # capped: slowed down, never closed


def test_others_failures_slow_the_owner_at_most_user_max_delay() -> None:
    clock = Clock()
    lim = _limiter(clock, user_max_delay=30.0)
    # A guesser spread over 40 addresses, each address trying its free failures.
    for i in range(40):
        for _ in range(5):
            lim.attempt(*LoginLimiter.keys("leader", f"203.0.113.{i}"))
    owner = LoginLimiter.keys("leader", "10.1.1.1")
    assert 0 < lim.attempt(*owner) <= 30
    clock.now += 30
    assert lim.attempt(*owner) == 0
    lim.succeeded(*owner)  # the right password clears the user name's counts
    assert lim.attempt(*owner) == 0


def test_success_returns_the_address_reservation() -> None:
    clock = Clock()
    lim = _limiter(clock)
    for i in range(200):  # an office of 200 people behind one address, all logging in
        keys = LoginLimiter.keys(f"user{i}", "192.0.2.7")
        assert lim.attempt(*keys) == 0
        lim.succeeded(*keys)


@settings(max_examples=50, deadline=None)
@given(
    threads=st.integers(1, 40),
    free=st.integers(1, 8),
    users=st.lists(st.sampled_from(["a", "b", "c"]), min_size=1, max_size=40),
)
def test_concurrent_attempts_admit_only_the_free_ones(
    threads: int, free: int, users: list[str]
) -> None:
    lim = LoginLimiter(free, 900.0, base_delay=1.0, max_delay=300.0)
    barrier = threading.Barrier(threads)
    admitted: list[str] = []
    lock = threading.Lock()

    def go(i: int) -> None:
        user = users[i % len(users)]
        barrier.wait()
        if lim.attempt(*LoginLimiter.keys(user, "198.51.100.1")) == 0:
            with lock:
                admitted.append(user)

    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(go, range(threads)))
    for u in set(admitted):
        assert admitted.count(u) <= free
    assert len(admitted) <= 4 * free  # the address's own bound


# ------------------------------------------------------------------ a real qingshan serve


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    path = tmp_path_factory.mktemp("limits") / "web.db"
    url = migrated_sqlite_url(path)
    engine = make_engine(url)
    with session_scope(engine) as s:
        seed(s)
    engine.dispose()
    return url, tmp_path_factory.mktemp("cwd")


@pytest.fixture(scope="module")
def untrusting(seeded: tuple[str, Path]) -> Iterator[str]:
    """Default settings (no proxy is trusted), except a first delay long enough that a burst
    slowed by a loaded machine cannot outlast it and legitimately earn a sixth evaluation."""
    with serve(*seeded, web_login_base_delay_seconds="120") as (base, _):
        yield base


def _burst(base: str, n: int, username: str, password: str, xff: bool = False) -> list[int]:
    barrier = threading.Barrier(n)

    def one(i: int) -> int:
        headers = {"X-Forwarded-For": f"203.0.113.{i}"} if xff else {}
        with httpx.Client(base_url=base, timeout=60) as c:
            barrier.wait()
            r = c.post(
                "/api/v1/auth/login",
                json={"username": username, "password": password},
                headers=headers,
            )
            return r.status_code

    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(one, range(n)))


def test_thirty_concurrent_guesses_only_the_free_ones_are_evaluated(untrusting: str) -> None:
    codes = _burst(untrusting, 30, "grid", "wrong-guess-000")
    assert codes.count(401) == 5 and codes.count(429) == 25, codes


def test_forwarded_for_from_an_untrusted_peer_is_ignored(untrusting: str) -> None:
    # Thirty spoofed addresses from one peer are one address: still five evaluated.
    codes = _burst(untrusting, 30, "unit", "wrong-guess-000", xff=True)
    assert codes.count(401) == 5 and codes.count(429) == 25, codes


def test_owner_gets_in_while_another_address_is_throttled(seeded: tuple[str, Path]) -> None:
    # A trusted proxy on 127.0.0.1 tells the addresses apart: the guesser at one address is
    # throttled, the owner at another logs in at once.
    with serve(*seeded, web_forwarded_allow_ips="127.0.0.1") as (base, _):
        bad = {"X-Forwarded-For": "203.0.113.66"}
        codes = [
            httpx.post(
                base + "/api/v1/auth/login",
                json={"username": "leader", "password": "wrong-guess-000"},
                headers=bad,
            ).status_code
            for _ in range(8)
        ]
        assert codes[:5] == [401] * 5 and set(codes[5:]) == {429}
        ok = httpx.post(
            base + "/api/v1/auth/login",
            json={"username": "leader", "password": PASSWORD},
            headers={"X-Forwarded-For": "198.51.100.20"},
        )
        assert ok.status_code == 200, ok.text


def test_password_hash_runs_outside_the_write_transaction(
    seeded: tuple[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    from qingshan.settings import get_settings
    from qingshan.storage.db import session_factory
    from qingshan.web import create_app

    url = seeded[0]
    engine = make_engine(url)
    app = create_app(get_settings(db_url=url, web_cookie_secure=False), session_factory(engine))
    real = accounts.hasher()
    hashing = threading.Event()

    class SlowHasher:
        """The real hasher, made slow enough to be seen."""

        def verify(self, h: str, pw: str) -> bool:
            hashing.set()
            time.sleep(1.5)
            return real.verify(h, pw)

        def check_needs_rehash(self, h: str) -> bool:
            return real.check_needs_rehash(h)

        def hash(self, pw: str) -> str:
            return real.hash(pw)

    monkeypatch.setattr(accounts, "_hasher", SlowHasher())
    result: dict[str, int] = {}

    def log_in() -> None:
        r = TestClient(app).post(
            "/api/v1/auth/login", json={"username": "staff", "password": PASSWORD}
        )
        result["code"] = r.status_code

    t = threading.Thread(target=log_in)
    t.start()
    assert hashing.wait(10)
    # While the hash runs, another writer (the gateway) gets the write lock at once.
    other = make_engine(url, sqlite_busy_timeout_ms=200)
    started = time.monotonic()
    with other.begin() as conn:  # BEGIN IMMEDIATE (qingshan.storage.db): the write lock
        conn.execute(text("UPDATE web_user SET display_name = display_name WHERE id = 1"))
    assert time.monotonic() - started < 1.0
    t.join(20)
    assert result["code"] == 200
    other.dispose()
    engine.dispose()
