"""一张图 in real headless Chromium against a real ``qingshan serve`` on the seeded district with
reference layers imported: the river is drawn as an SVG path under the markers, place names
are visible labels, the layer switches hide and show them, an enterprise outlet over its
limit is a red triangle with the alert ring, a search finds a place, the legend explains the
channels — and no request leaves 127.0.0.1. With a 天地图 key (a local fake WMTS server
standing in for 天地图) the page shows the vector map and its labels through the server's
proxy and starts with the database layers switched off."""

from __future__ import annotations

import struct
import threading
import zlib
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from conftest import migrated_sqlite_url
from qingshan.roles import CLI
from qingshan.services import map_layers
from qingshan.services.figures import recompute_all
from qingshan.storage.db import make_engine, session_factory, session_scope
from support.web_seed import seed
from web.live import serve
from web.test_pages_layout import DESK, Watch
from web.test_registry_browser import ARGS, CHROMIUM

pytestmark = pytest.mark.browser
sync_playwright = pytest.importorskip("playwright.sync_api").sync_playwright

LAYERS = {
    "river": [
        ("泾河", "LineString", [[106.52, 35.53], [106.66, 35.545], [106.715, 35.542]]),
    ],
    "road": [("G312 国道", "LineString", [[106.50, 35.56], [106.70, 35.55], [106.9, 35.5]])],
    "place": [("中街街道", "Point", [106.668, 35.545]), ("崆峒镇", "Point", [106.565, 35.53])],
}


@pytest.fixture(scope="module")
def db_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} missing: run `make test`", pytrace=False)
    url = migrated_sqlite_url(tmp_path_factory.mktemp("map") / "web.db")
    engine = make_engine(url)
    with session_scope(engine) as s:
        seed(s)
        for kind, items in LAYERS.items():
            fc = {
                "type": "FeatureCollection",
                "features": [
                    {
                        "type": "Feature",
                        "properties": {"name": name},
                        "geometry": {"type": t, "coordinates": coords},
                    }
                    for name, t, coords in items
                ],
            }
            map_layers.import_features(s, CLI, map_layers.parse_features(fc, kind), kind)
    recompute_all(session_factory(engine))
    engine.dispose()
    return url


@pytest.fixture(scope="module")
def base(db_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    cwd = tmp_path_factory.mktemp("cwd")
    with serve(db_url, cwd, attachments_dir=str(cwd / "files")) as (web, _port):
        yield web


def _png() -> bytes:
    """A valid 1 × 1 grey PNG (a tile the browser decodes)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    ihdr = struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\x00\xc0"))
        + chunk(b"IEND", b"")
    )


class _Tianditu(BaseHTTPRequestHandler):
    """Answers 天地图's WMTS GetTile URLs (``/t0/vec_w/wmts?…&tk=…``) with a PNG."""

    seen: list[str] = []  # noqa: RUF012  (one module, one server)

    def do_GET(self) -> None:
        _Tianditu.seen.append(self.path)
        body = _png()
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def tianditu_base(db_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    srv = ThreadingHTTPServer(("127.0.0.1", 0), _Tianditu)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    cwd = tmp_path_factory.mktemp("cwd-tdt")
    try:
        with serve(
            db_url,
            cwd,
            attachments_dir=str(cwd / "files"),
            map_tianditu_key="tdt-test-key",
            map_tianditu_url=f"http://127.0.0.1:{srv.server_address[1]}/{{s}}",
        ) as (web, _port):
            yield web
    finally:
        srv.shutdown()
        srv.server_close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield b
        b.close()


def test_offline_map_has_bearings_shapes_and_switches(browser: Any, base: str) -> None:
    w = Watch(browser, base, DESK, "staff")
    page = w.page()
    page.goto(base + "/map")
    page.wait_for_selector("#map[data-count='5']", timeout=30000)
    # the river and the road: SVG paths in the reference pane, under the markers
    river = page.locator(".leaflet-refs-pane path.ref-river")
    assert river.count() == 1 and river.get_attribute("stroke") == "#3b82c4"
    assert page.locator(".leaflet-refs-pane path.ref-road").count() == 1
    panes = page.evaluate(
        "['refs', 'places', 'marker'].map((n) => +getComputedStyle("
        "document.querySelector('.leaflet-' + n + '-pane')).zIndex)"
    )
    assert panes[0] < panes[2] and panes[1] < panes[2]
    # place names are visible text labels
    labels = page.locator(".map-place span")
    assert sorted(labels.all_inner_texts()) == ["中街街道", "崆峒镇"]
    assert labels.first.is_visible()
    # switches: the river and the labels go and come back
    page.uncheck("#layers input[data-kind='ref_river']")
    assert page.locator("path.ref-river").count() == 0
    page.uncheck("#layers input[data-kind='ref_place']")
    assert page.locator(".map-place").count() == 0
    page.check("#layers input[data-kind='ref_river']")
    page.check("#layers input[data-kind='ref_place']")
    assert page.locator("path.ref-river").count() == 1 and labels.count() == 2
    # a shape per layer; the outlet over its limit: red triangle with the alert ring
    out = page.locator("svg[data-code='E1-DA001']")
    assert out.get_attribute("data-status") == "exceeding"
    assert out.locator("polygon").get_attribute("fill") == "#E60012"
    assert out.locator("circle[stroke='#E60012']").count() == 1
    assert out.locator("polygon").get_attribute("stroke-dasharray") is None  # online: solid
    off = page.locator("svg[data-code='E2-DW001']")  # silent for 3 hours: dashed outline
    assert off.locator("polygon").get_attribute("stroke-dasharray") == "3 2"
    assert page.locator("svg[data-code='WS01'] rect").count() == 1  # a section: square
    assert page.locator("svg[data-code='A01'] circle").count() == 1  # an air station: circle
    page.uncheck("#layers input[data-kind='enterprise_outlet']")
    assert page.locator("svg[data-code='E1-DA001']").count() == 0
    page.check("#layers input[data-kind='enterprise_outlet']")
    # the legend explains the channels with the standards' terms
    legend = page.inner_text("#legend")
    for term in ("优", "轻度污染", "严重污染", "劣Ⅴ类", "超标", "实线：在线", "虚线：离线", "河流"):
        assert term in legend, term
    assert "离线模式" in page.inner_text("#tiles-note") and "河流" in page.inner_text("#tiles-note")
    # search finds a place name and an outlet, and opens the outlet's popup with values
    page.fill("#map-search", "崆峒")
    page.wait_for_selector("#map-hits button:has-text('崆峒镇')")
    page.fill("#map-search", "E1-DA001")
    page.click("#map-hits button")
    page.wait_for_selector(".leaflet-popup-content .pop-latest table", timeout=15000)
    assert "超标" in page.inner_text(".leaflet-popup-content")
    assert w.errors == [] and w.external == []
    w.ctx.close()


def test_tianditu_vector_map_and_labels_through_the_proxy(browser: Any, tianditu_base: str) -> None:
    base = tianditu_base
    w = Watch(browser, base, DESK, "grid")
    page = w.page()
    tiles: list[str] = []
    page.on("requestfinished", lambda r: tiles.append(r.url) if "/map/tianditu/" in r.url else None)
    page.goto(base + "/map")
    page.wait_for_selector("#map[data-count='5']", timeout=30000)
    page.wait_for_selector("img.leaflet-tile-loaded", timeout=20000)
    page.wait_for_load_state("networkidle")
    assert "天地图" in page.inner_text("#tiles-note")
    # both layers, each through the app's own proxy; the key only ever on the server side
    assert any("/api/v1/map/tianditu/vec/" in u for u in tiles)
    assert any("/api/v1/map/tianditu/cva/" in u for u in tiles)
    assert all(u.startswith(base) and "tdt-test-key" not in u for u in tiles)
    assert any("/vec_w/wmts?" in p and "tk=tdt-test-key" in p for p in _Tianditu.seen)
    assert any("/cva_w/wmts?" in p for p in _Tianditu.seen)
    assert page.locator(".tile-labels img.leaflet-tile-loaded").count() > 0
    # the base map has its own rivers and names: the database layers start switched off
    assert not page.is_checked("#layers input[data-kind='ref_river']")
    assert page.locator("path.ref-river").count() == 0
    page.check("#layers input[data-kind='ref_river']")
    assert page.locator("path.ref-river").count() == 1
    assert w.errors == [] and w.external == []
    w.ctx.close()
