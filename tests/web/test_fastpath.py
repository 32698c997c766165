"""The ASGI fast path (issue 16): cached payloads answered before FastAPI exactly as the routes
answer them, only for callers and requests the routes would admit; the cache's version probe
and recomputation bounds; credentials revalidated ahead of expiry (SQLite and PostgreSQL)."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from qingshan.services.accounts import create_token, principal_of, revoke_token, sha256
from qingshan.storage.models import Device
from qingshan.storage.models_web import WebUser
from qingshan.web.cache import VersionedCache, payload_cache
from qingshan.web.deps import AUTH_REFRESH_SECONDS, cached_principal
from qingshan.web.fastpath import FastPayloads
from web.conftest import login

# --------------------------------------------------------------------------- the cache alone


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def test_version_probe_bounds_how_long_a_moved_version_is_missed() -> None:
    """lookup() judges by a probe at most 2 × probe_seconds old: within one probe interval
    the old payload is served as current, then a background probe runs, beyond two intervals
    the caller must go to get() (which probes itself)."""
    clock = Clock()
    version = ["v1"]
    vc = VersionedCache(lambda: version[0], probe_seconds=1.0, min_seconds=0, clock=clock)
    first = vc.get("k", lambda: version[0].encode())
    assert vc.probes == 1
    version[0] = "v2"
    clock.t += 0.5
    assert vc.lookup("k") is first and vc.probes == 1  # within the interval: no probe
    clock.t += 0.6  # 1.1 s: a background probe starts; the last version judges meanwhile
    assert vc.lookup("k") is first
    vc.wait_idle()
    assert vc.probes == 2
    # Probed: the version moved, so the next caller starts the recomputation (and still
    # gets the previous payload at once).
    assert vc.lookup("k") is first
    vc.wait_idle()
    second = vc.lookup("k")
    assert second is not None and second.body == b"v2" and vc.computations == 2
    clock.t += 2.0  # the last probe is 2 s old: too old to judge by
    assert vc.lookup("k") is None
    assert vc.get("k", lambda: b"v2") is second and vc.probes == 3


def test_single_flight_on_a_version_change() -> None:
    """Many concurrent callers when the version moves: one computation; they all get an
    answer at once (the previous payload), none waits for the slow recomputation."""
    version = ["v1"]
    started = threading.Event()
    release = threading.Event()
    calls: list[str] = []

    def make() -> bytes:
        calls.append(version[0])
        if len(calls) > 1:
            started.set()
            release.wait(10)
        return version[0].encode()

    vc = VersionedCache(lambda: version[0], probe_seconds=0, min_seconds=0)
    first = vc.get("k", make)
    version[0] = "v2"
    got: list[Any] = []
    barrier = threading.Barrier(16)

    def viewer(i: int) -> None:
        barrier.wait()
        t0 = time.monotonic()
        p = vc.lookup("k") if i % 2 else vc.get("k", make)
        got.append((p, time.monotonic() - t0))

    threads = [threading.Thread(target=viewer, args=(i,)) for i in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert started.wait(5)
    # lookup() with probe_seconds = 0 defers to get(); get() serves the previous payload
    assert all(p is None or p is first for p, _ in got)
    assert all(dt < 2.0 for _, dt in got)
    release.set()
    vc.wait_idle()
    assert calls == ["v1", "v2"] and vc.computations == 2
    assert vc.get("k", make).body == b"v2"


# --------------------------------------------------------------------------- the web app


@pytest.fixture(scope="module")
def fast(app: Any) -> FastPayloads:
    app.state.qingshan_payloads = payload_cache(app.state.qingshan, min_seconds=3600)
    TestClient(app).get("/healthz")  # builds the middleware stack
    m = app.middleware_stack
    while m is not None and not isinstance(m, FastPayloads):
        m = getattr(m, "app", None)
    assert isinstance(m, FastPayloads)
    return m


def _same(a: Any, b: Any) -> None:
    assert a.status_code == b.status_code
    assert a.content == b.content
    for h in ("etag", "cache-control", "content-type", "content-length", "content-security-policy"):
        assert a.headers.get(h) == b.headers.get(h), h


def _two(c: TestClient, fast: FastPayloads, path: str, **kw: Any) -> tuple[Any, Any, int]:
    """The same GET twice; how many of the two the fast path answered."""
    n = fast.answered
    a = c.get(path, **kw)
    b = c.get(path, **kw)
    return a, b, fast.answered - n


def test_cockpit_fast_answer_equals_the_route(app: Any, fast: FastPayloads) -> None:
    staff = login(app, "staff")
    slow = staff.get("/api/v1/cockpit")  # computes the payload, caches the credential
    assert slow.status_code == 200
    a, b, n = _two(staff, fast, "/api/v1/cockpit")
    assert n == 2
    _same(a, slow)
    _same(b, slow)
    tag = slow.headers["etag"]
    n0 = fast.answered
    nm = staff.get("/api/v1/cockpit", headers={"If-None-Match": tag})
    assert nm.status_code == 304 and nm.content == b"" and nm.headers["etag"] == tag
    assert fast.answered == n0 + 1


def test_refused_callers_never_answered_fast(app: Any, fast: FastPayloads) -> None:
    login(app, "staff").get("/api/v1/cockpit")  # the payload exists
    ent = login(app, "ent1")
    ent.get("/api/v1/auth/me")  # its credential is cached
    n = fast.answered
    assert ent.get("/api/v1/cockpit").status_code == 403  # enterprise users: no cockpit
    assert TestClient(app).get("/api/v1/cockpit").status_code == 401
    bad = TestClient(app).get("/api/v1/cockpit", headers={"Authorization": "Bearer nope"})
    assert bad.status_code == 401
    assert fast.answered == n


def _series_path(site: int, days: int = 30, **extra: str) -> tuple[str, dict[str, str]]:
    end = datetime.now(UTC).replace(microsecond=0)
    params = {
        "resolution": "hour",
        "start": (end - timedelta(days=days)).isoformat(),
        "end": end.isoformat(),
        **extra,
    }
    return f"/api/v1/sites/{site}/series", params


def test_series_fast_answer_equals_the_route(
    app: Any, fast: FastPayloads, ids: dict[str, int]
) -> None:
    staff = login(app, "staff")
    path, params = _series_path(ids["site_air"])
    slow = staff.get(path, params=params)
    assert slow.status_code == 200, slow.text
    a, b, n = _two(staff, fast, path, params=params)
    assert n == 2
    _same(a, slow)
    _same(b, slow)
    # A request the fast path does not read itself (an unknown parameter, a time with a
    # space) goes to the route, which answers alike.
    n0 = fast.answered
    odd = staff.get(path, params={**params, "x": "1"})
    spaced = staff.get(path, params={**params, "start": params["start"].replace("T", " ")})
    assert fast.answered == n0
    _same(odd, slow)
    _same(spaced, slow)
    # Another range: a different head (the request's echo) on the same cached part.
    later = {**params, "end": params["end"].replace("+00:00", "+08:00")}
    r = staff.get(path, params=later)
    assert r.status_code == 200 and r.json()["end"] != slow.json()["end"]
    bad = staff.get(path, params={**params, "end": "2000-01-01T00:00:00"})  # end < start
    assert bad.status_code == 422


def test_series_of_another_enterprise_stays_404(
    app: Any, fast: FastPayloads, ids: dict[str, int]
) -> None:
    path, params = _series_path(ids["site_out2"])
    assert login(app, "staff").get(path, params=params).status_code == 200  # payload cached
    ent1 = login(app, "ent1")
    n = fast.answered
    for _ in range(2):
        assert ent1.get(path, params=params).status_code == 404
    assert fast.answered == n
    own, own_params = _series_path(ids["site_out1"])
    assert ent1.get(own, params=own_params).status_code == 200
    a, _, k = _two(ent1, fast, own, params=own_params)
    assert a.status_code == 200 and k == 2


# --------------------------------------------------------------------------- credentials


def test_credential_revalidated_ahead_and_revocation_seen(app: Any) -> None:
    c = app.state.qingshan
    with c.write() as s, s.begin():
        user = s.query(WebUser).filter_by(username="staff").one()
        token, row = create_token(s, principal_of(user, "session"), "fastpath")
        token_id = row.id
    client = TestClient(app, headers={"Authorization": f"Bearer {token}"})
    assert client.get("/api/v1/cockpit").status_code == 200
    key = "t:" + sha256(token)
    entry = c.auth_cache._data[key]
    # Age the entry past the refresh point (not past expiry): requests go on being served
    # from it while one background revalidation renews it.
    c.auth_cache._data[key] = (time.monotonic() - AUTH_REFRESH_SECONDS - 0.5, *entry[1:])
    for _ in range(5):
        assert client.get("/api/v1/cockpit").status_code == 200
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and c.auth_cache.entry(key)[2] > AUTH_REFRESH_SECONDS:
        time.sleep(0.05)
    assert c.auth_cache.entry(key)[2] < AUTH_REFRESH_SECONDS  # renewed
    # Revoked behind this process's back (another worker): the next revalidation drops it.
    with c.write() as s, s.begin():
        revoke_token(s, principal_of(user, "cli"), token_id)
    entry = c.auth_cache._data[key]
    c.auth_cache._data[key] = (time.monotonic() - AUTH_REFRESH_SECONDS - 0.5, *entry[1:])
    request = type("R", (), {"headers": {"authorization": f"Bearer {token}"}, "cookies": {}})
    assert cached_principal(c, request) is not None  # still within its 10 s
    while time.monotonic() < deadline and c.auth_cache.entry(key) is not None:
        time.sleep(0.05)
    assert c.auth_cache.entry(key) is None
    assert client.get("/api/v1/cockpit").status_code == 401


def test_concurrent_misses_read_a_credential_once(app: Any, monkeypatch: Any) -> None:
    """A page of clients arriving at once at a worker whose cache lacks their credential:
    one database read, the others wait for it (before, each queued its own)."""
    import qingshan.web.deps as deps

    c = app.state.qingshan
    with c.write() as s, s.begin():
        user = s.query(WebUser).filter_by(username="staff").one()
        token, _ = create_token(s, principal_of(user, "session"), "storm")
    reads: list[str] = []
    real = deps._token_lookup

    def counted(ctx: Any, secret: str) -> Any:
        reads.append(secret)
        time.sleep(0.2)  # a slow database: the others arrive meanwhile
        return real(ctx, secret)

    monkeypatch.setattr(deps, "_token_lookup", counted)
    key = "t:" + sha256(token)
    barrier = threading.Barrier(8)
    got: list[Any] = []

    def caller() -> None:
        barrier.wait()
        got.append(c.auth_cache.load(c, key, token))

    threads = [threading.Thread(target=caller) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    assert len(reads) == 1
    assert len(got) == 8 and all(g is not None and g[0].username == "staff" for g in got)


def test_token_use_not_recorded_when_sqlite_is_locked(
    app: Any, web_db: tuple[str, dict[str, int]]
) -> None:
    """Recording a token's use is bookkeeping: with SQLite's write lock held past the busy
    timeout (the gateway's commits, a roll-up) the read is answered, not failed with 500."""
    import sqlite3

    url = web_db[0]
    if not url.startswith("sqlite"):
        pytest.skip(
            "the failure is SQLite's single write lock held past the busy timeout; "
            "PostgreSQL row locks never make a read wait for another writer"
        )
    c = app.state.qingshan
    with c.write() as s, s.begin():
        user = s.query(WebUser).filter_by(username="staff").one()
        token, _ = create_token(s, principal_of(user, "session"), "locked")
    holder = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")
        r = TestClient(app).get("/api/v1/cockpit", headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 200, r.text
    finally:
        holder.execute("ROLLBACK")
        holder.close()


def test_cockpit_keeps_reporting_intervals(app: Any, monkeypatch: Any) -> None:
    """The cockpit's recomputation reads the devices' reporting intervals once per
    INTERVALS_SECONDS (every active device), and a device not among them at once."""
    from qingshan.services import cockpit as cockpit_svc
    from qingshan.web.api import overview
    from qingshan.web.cache import TTLCache

    calls: list[list[int]] = []
    real = cockpit_svc.reporting_intervals

    def counted(s: Any, ids: list[int], now_cst: datetime) -> Any:
        calls.append(sorted(ids))
        return real(s, ids, now_cst)

    monkeypatch.setattr(cockpit_svc, "reporting_intervals", counted)
    intervals = overview._cached_intervals(TTLCache())
    now_cst = datetime.now(UTC).replace(tzinfo=None) + timedelta(hours=8)
    with app.state.qingshan.read() as s:
        active = sorted(s.scalars(select(Device.id).where(Device.active.is_(True))))
        first = intervals(s, active[:1], now_cst)
        again = intervals(s, active, now_cst)
        unknown = intervals(s, [2**31 - 1], now_cst)
    assert calls[0] == active and len(calls) == 2 and calls[1] == [2**31 - 1]
    assert first == {active[0]: again[active[0]]} and set(again) == set(active)
    assert unknown == {2**31 - 1: timedelta(hours=1)}
