"""Secrets are masked wherever they are shown (device PW, SM4 keys, the tile key), /healthz
says little to strangers, HSTS over TLS, the API docs page under the CSP with vendored
Swagger UI."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import pytest
from fastapi.testclient import TestClient

from qingshan.settings import get_settings
from qingshan.storage.db import make_engine, session_factory, session_scope
from qingshan.storage.models import Quarantine
from qingshan.web import create_app
from web.conftest import login

READER_ROLES = ("admin", "staff", "unit", "grid", "leader", "ent1")
DEVICE_PW = "Zq7x9k"
SM4_KEY = "0123456789ABCDEF0123456789ABCDEF"


def _texts(c: TestClient, paths: list[str]) -> str:
    return "\n".join(c.get(p).text for p in paths)


def test_no_role_ever_sees_a_device_password_or_sm4_key(app: Any, web_db: tuple[str, Any]) -> None:
    admin = login(app, "admin")
    r = admin.post(
        "/api/v1/devices",
        json={"mn": "SECRET000000001", "pw": DEVICE_PW, "st": "32", "sm4_key": SM4_KEY},
    )
    assert r.status_code == 201 and DEVICE_PW not in r.text and SM4_KEY not in r.text
    r = admin.patch("/api/v1/devices/SECRET000000001", json={"pw": "Kx81pq"})
    assert r.status_code == 200 and "Kx81pq" not in r.text
    engine = make_engine(web_db[0])
    now = datetime.now(UTC).replace(tzinfo=None)
    with session_scope(engine) as s:
        for reason, detail, raw in (
            ("bad_field", f"PW='{DEVICE_PW}X' is not 1–6 letters/digits", b"##0101QN=1;pw="),
            ("bad_password", "wrong PW", f"##0101QN=3;ST=32;pw={DEVICE_PW};MN=S".encode()),
            ("bad_crc", "CRC", f"##0101QN=3;PW={DEVICE_PW}".encode()),
        ):
            s.add(
                Quarantine(
                    received_at=now,
                    peer="10.0.0.1:1",
                    mn="SECRET000000001",
                    reason=reason,
                    detail=detail,
                    raw=raw,
                )
            )
    engine.dispose()
    paths = ["/api/v1/devices", "/api/v1/devices/SECRET000000001", "/api/v1/rejects"]
    for role in READER_ROLES:
        seen = _texts(login(app, role), [*paths, "/api/v1/audit", "/api/v1/rejects?limit=1000"])
        for secret in (DEVICE_PW, "Kx81pq", SM4_KEY, SM4_KEY.lower()):
            assert secret not in seen, (role, secret)
    rejects = admin.get("/api/v1/rejects").json()
    assert sum("******" in (x["detail"] or "") + x["preview"] for x in rejects) >= 3


class _Tiles(BaseHTTPRequestHandler):
    seen: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        _Tiles.seen.append(self.path)
        if "/bad/" in self.path:
            body, kind = b"<html>not a tile</html>", "text/html"
        else:
            body = b"\x89PNG\r\n\x1a\n" + self.path.split("?")[0].encode()
            kind = "image/png"
        self.send_response(200)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def tile_server() -> Iterator[str]:
    srv = ThreadingHTTPServer(("127.0.0.1", 0), _Tiles)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{srv.server_address[1]}"
    srv.shutdown()
    srv.server_close()


def test_tile_key_stays_on_the_server(web_db: tuple[str, Any], tile_server: str) -> None:
    engine = make_engine(web_db[0])
    key = "tk-5ecret-0f-the-county"
    settings = get_settings(
        db_url=web_db[0],
        web_cookie_secure=False,
        map_tile_url=tile_server + "/{s}/{z}/{x}/{y}.png?tk={key}",
        map_tile_key=key,
    )
    app = create_app(settings, session_factory(engine))
    anon = TestClient(app)
    cfg = anon.get("/api/v1/map/config")
    assert key not in cfg.text and cfg.json()["tile_url"] == "api/v1/map/tiles/{z}/{x}/{y}"
    csp = anon.get("/map").headers["content-security-policy"]
    assert "127.0.0.1" not in csp and "img-src 'self' data:" in csp
    assert anon.get("/api/v1/map/tiles/3/1/2").status_code == 401  # no key quota for strangers
    c = login(app, "grid")
    r = c.get("/api/v1/map/tiles/3/1/2")
    assert r.status_code == 200 and r.headers["content-type"] == "image/png"
    assert key not in r.text and "private" in r.headers["cache-control"]
    assert _Tiles.seen[-1] == f"/t3/3/1/2.png?tk={key}"  # the server filled in the key
    n = len(_Tiles.seen)
    assert c.get("/api/v1/map/tiles/3/1/2").content == r.content and len(_Tiles.seen) == n
    assert c.get("/api/v1/map/tiles/3/8/0").status_code == 404  # x outside 0..2^z-1
    assert c.get("/api/v1/map/tiles/30/0/0").status_code == 422
    bad = create_app(
        get_settings(
            db_url=web_db[0], web_cookie_secure=False, map_tile_url=tile_server + "/bad/{z}"
        ),
        session_factory(engine),
    )
    assert login(bad, "grid").get("/api/v1/map/tiles/1/0/0").status_code == 502
    offline = login(
        create_app(
            get_settings(db_url=web_db[0], web_cookie_secure=False), session_factory(engine)
        ),
        "grid",
    )
    assert offline.get("/api/v1/map/config").json()["tile_url"] == ""
    assert offline.get("/api/v1/map/tiles/1/0/0").status_code == 404
    engine.dispose()


def test_healthz_is_minimal_for_strangers(web_db: tuple[str, Any]) -> None:
    engine = make_engine(web_db[0])

    def status() -> dict[str, Any]:
        return {
            "status": "degraded",
            "database": "unavailable",
            "forward_errors": "ConnectionRefusedError: [Errno 111] 10.1.2.3:9000",
            "connections": 12,
        }

    app = create_app(
        get_settings(db_url=web_db[0], web_cookie_secure=False),
        session_factory(engine),
        status=status,
    )
    anon = TestClient(app).get("/healthz")
    minimal = {"status": "degraded", "database": "unavailable", "connections": 12}
    assert anon.status_code == 200 and anon.json() == minimal  # no error text
    bad_token = TestClient(app, headers={"Authorization": "Bearer qst_nope"}).get("/healthz")
    assert bad_token.json() == minimal
    full = login(app, "staff").get("/healthz").json()
    assert full["forward_errors"].startswith("ConnectionRefusedError") and full["connections"] == 12
    engine.dispose()


def test_hsts_over_tls_only(web_db: tuple[str, Any]) -> None:
    engine = make_engine(web_db[0])
    plain = create_app(get_settings(db_url=web_db[0]), session_factory(engine))
    assert "strict-transport-security" not in TestClient(plain).get("/login").headers
    tls = TestClient(plain, base_url="https://testserver").get("/login")
    assert tls.headers["strict-transport-security"] == "max-age=31536000"
    behind = create_app(
        get_settings(db_url=web_db[0], web_behind_tls=True), session_factory(engine)
    )
    r = TestClient(behind).get("/api/v1/public/air")
    assert r.headers["strict-transport-security"] == "max-age=31536000"
    off = create_app(
        get_settings(db_url=web_db[0], web_behind_tls=True, web_hsts_seconds=0),
        session_factory(engine),
    )
    assert "strict-transport-security" not in TestClient(off).get("/login").headers
    engine.dispose()


def test_api_docs_page_under_csp_with_vendored_swagger(app: Any) -> None:
    c = TestClient(app)
    r = c.get("/api/v1/docs")
    assert r.status_code == 200 and "swagger-ui" in r.text
    assert "http://" not in r.text and "https://" not in r.text and "<script>" not in r.text
    csp = r.headers["content-security-policy"]
    assert "script-src 'self';" in csp and "default-src 'self'" in csp
    for src in (
        "/static/vendor/swagger-ui/swagger-ui-bundle.js",
        "/static/vendor/swagger-ui/swagger-ui.css",
        "/static/js/apidocs.js",
    ):
        assert c.get(src).status_code == 200, src
    assert "Apache License" in c.get("/static/vendor/swagger-ui/LICENSE").text
    assert c.get("/api/v1/openapi.json").json()["info"]["title"].startswith("青山")
