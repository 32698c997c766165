"""Web under load (issue 16): payloads once per data version with ETag / 304, stale payloads
served while one recomputes, and the documented downsampling of chart series."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from qingshan.clock import utcnow
from qingshan.services.data_version import data_version
from qingshan.services.observations import auto_resolution
from qingshan.storage.models import Device, Quarantine, Resolution
from qingshan.web.cache import VersionedCache, payload_cache
from web.conftest import login

# --------------------------------------------------------------------------- the cache alone


def test_stale_payload_served_while_one_recomputes() -> None:
    version = ["v1"]
    release = threading.Event()
    calls: list[str] = []

    def make() -> bytes:
        calls.append(version[0])
        if len(calls) > 1:
            release.wait(10)  # a slow recomputation (the 5-7 s stall of the issue)
        return f'{{"v": "{version[0]}"}}'.encode()

    vc = VersionedCache(lambda: version[0], probe_seconds=0, min_seconds=0)
    first = vc.get("k", make)
    assert first.body == b'{"v": "v1"}' and first.etag.startswith('"')
    assert vc.get("k", make) is first and calls == ["v1"]  # same version: no recomputation
    version[0] = "v2"
    t0 = time.monotonic()
    for _ in range(20):  # viewers meanwhile: the previous payload at once, one computation
        assert vc.get("k", make) is first
    assert time.monotonic() - t0 < 1.0
    release.set()
    vc.wait_idle()
    second = vc.get("k", make)
    assert second.body == b'{"v": "v2"}' and second.etag != first.etag
    assert calls == ["v1", "v2"]


def test_min_interval_bounds_recomputations() -> None:
    n = iter(range(1000))
    vc = VersionedCache(lambda: str(next(n)), probe_seconds=0, min_seconds=60)
    p = vc.get("k", lambda: b"{}")
    for _ in range(5):  # the version moves every probe, but the payload is young
        assert vc.get("k", lambda: b"[]") is p
    assert vc.computations == 1


@pytest.mark.parametrize(
    ("days", "res"),
    [
        (1, Resolution.MINUTE),
        (2, Resolution.MINUTE),
        (2.001, Resolution.HOUR),
        (30, Resolution.HOUR),
        (60, Resolution.HOUR),
        (60.001, Resolution.DAY),
        (365, Resolution.DAY),
    ],
)
def test_auto_resolution_rule(days: float, res: Resolution) -> None:
    end = datetime(2026, 3, 1, tzinfo=UTC)
    assert auto_resolution(end - timedelta(days=days), end) == res


# --------------------------------------------------------------------------- the web app


@pytest.fixture(scope="module")
def staff(app: Any) -> TestClient:
    # Tests see every version change: probe every request, recompute as soon as it moved.
    app.state.qingshan_payloads = payload_cache(app.state.qingshan, probe_seconds=0, min_seconds=0)
    return login(app, "staff")


def _fresh(app: Any, c: TestClient, path: str) -> Any:
    """GET after any background recomputation has finished."""
    c.get(path)
    app.state.qingshan_payloads.wait_idle()
    return c.get(path)


@pytest.mark.parametrize("path", ["/api/v1/cockpit", "/api/v1/map/sites", "/api/v1/public/air"])
def test_etag_and_not_modified(app: Any, staff: TestClient, path: str) -> None:
    vc = app.state.qingshan_payloads
    vc.min_seconds = 3600  # the payload stays put (the clock's minute moves the version)
    try:
        _validators(app, staff, path)
    finally:
        vc.min_seconds = 0


def _validators(app: Any, staff: TestClient, path: str) -> None:
    r = _fresh(app, staff, path)
    assert r.status_code == 200, r.text
    etag = r.headers["etag"]
    assert etag.startswith('"') and r.headers["cache-control"] == "private, no-cache"
    again = staff.get(path, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    assert again.headers["etag"] == etag
    weak = staff.get(path, headers={"If-None-Match": f'"other", W/{etag}'})
    assert weak.status_code == 304
    assert staff.get(path, headers={"If-None-Match": '"other"'}).status_code == 200


def test_cockpit_recomputed_only_when_the_version_moves(app: Any, staff: TestClient) -> None:
    vc = app.state.qingshan_payloads
    c = app.state.qingshan
    first = _fresh(app, staff, "/api/v1/cockpit")
    body = first.json()
    assert {"air", "water", "outlets", "devices_total", "rejects_24h"} <= body.keys()
    computed = vc.computations
    with c.read() as s:
        v1 = data_version(s)
    for _ in range(5):
        assert staff.get("/api/v1/cockpit").headers["etag"] == first.headers["etag"]
    with c.read() as s:
        same_minute = data_version(s) == v1
    if same_minute:  # (the clock's minute is part of the version)
        assert vc.computations == computed
    # New data: a rejected packet (the cockpit's 24-hour count) moves the version.
    with c.write() as s, s.begin():
        s.add(
            Quarantine(
                received_at=utcnow(), peer="10.0.0.7:1", mn=None, reason="bad_crc", raw=b"##x"
            )
        )
    with c.read() as s:
        assert data_version(s) != v1
    stale = staff.get("/api/v1/cockpit", headers={"If-None-Match": first.headers["etag"]})
    assert stale.status_code in (200, 304)  # the previous payload, or the new one if done
    vc.wait_idle()
    new = staff.get("/api/v1/cockpit", headers={"If-None-Match": first.headers["etag"]})
    assert new.status_code == 200
    assert new.json()["rejects_24h"] == body["rejects_24h"] + 1
    assert new.headers["etag"] != first.headers["etag"]
    assert vc.computations > computed


def test_device_report_moves_the_version(app: Any) -> None:
    c = app.state.qingshan
    with c.read() as s:
        before = data_version(s)
    with c.write() as s, s.begin():
        s.execute(update(Device).values(last_seen_at=utcnow() + timedelta(seconds=1)))
    with c.read() as s:
        assert data_version(s) != before


def _series(c: TestClient, site: int, days: int, resolution: str = "auto") -> Any:
    end = datetime.now(UTC)
    r = c.get(
        f"/api/v1/sites/{site}/series",
        params={
            "resolution": resolution,
            "start": (end - timedelta(days=days)).isoformat(),
            "end": end.isoformat(),
        },
    )
    assert r.status_code == 200, r.text
    return r.json()


def test_series_auto_resolution(staff: TestClient, ids: dict[str, int]) -> None:
    site = ids["site_air"]
    day = _series(staff, site, 1)
    assert day["resolution"] == "minute" and day["requested_resolution"] == "auto"
    assert "2天" in day["resolution_rule"]
    assert {s["code"] for s in day["series"]} == {"a34004"}  # the seeded minute data
    month = _series(staff, site, 30)
    assert month["resolution"] == "hour" and month["resolution_label"] == "小时数据"
    hourly = _series(staff, site, 30, "hour")
    assert month["series"] == hourly["series"]  # the same rows, nothing averaged on the fly
    assert hourly["requested_resolution"] == "hour" and hourly["resolution_rule"] is None
    assert _series(staff, site, 90)["resolution"] == "day"
