"""Browser tests in real headless Chromium (Debian's /usr/bin/chromium, driven by Playwright)
against a real ``qingshan serve`` on 127.0.0.1 with a temporary SQLite database."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update

from conftest import migrated_sqlite_url
from qingshan.services.figures import recompute_all
from qingshan.storage.db import make_engine, session_factory, session_scope
from qingshan.storage.models import Device
from support.web_seed import MNS, PASSWORD, seed

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SHOTS = (
    Path(os.environ.get("QINGSHAN_SCREENSHOTS", ""))
    if os.environ.get("QINGSHAN_SCREENSHOTS")
    else None
)

# `make check` deselects these (-m "not browser"); `make test` installs Chromium first.
pytestmark = pytest.mark.browser


@pytest.fixture(scope="module", autouse=True)
def _chromium_installed() -> None:
    if not Path(CHROMIUM).exists():
        pytest.fail(
            f"{CHROMIUM} missing: run `make test` (apt-get install -y chromium fonts-noto-cjk)",
            pytrace=False,
        )


OPEN_POPUP = """(name) => {
  for (const l of Object.values(window.qingshanMap.map._layers)) {
    const p = l.getPopup && l.getPopup();
    if (p && p.getContent().includes(name)) l.openPopup();
  }
}"""
POST_DEVICE = """async () => {
  const me = await (await fetch("api/v1/auth/me")).json();
  const r = await fetch("api/v1/devices", {
    method: "POST",
    headers: {"Content-Type": "application/json", "X-CSRF-Token": me.csrf_token},
    body: JSON.stringify({mn: "ABC", pw: "1", st: "22"}),
  });
  return r.status;
}"""

sync_playwright = pytest.importorskip("playwright.sync_api").sync_playwright


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    path = tmp_path_factory.mktemp("browser") / "web.db"
    url = migrated_sqlite_url(path)
    engine = make_engine(url)
    with session_scope(engine) as s:
        ids = seed(s)
    recompute_all(session_factory(engine))
    engine.dispose()
    env = {**os.environ, "QINGSHAN_DB_URL": url, "QINGSHAN_LOG_LEVEL": "WARNING"}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from qingshan.cli.main import main; main()",
            "serve",
            "--hj212-port",
            "0",
            "--http-port",
            "0",
            "--hj212-host",
            "127.0.0.1",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=tmp_path_factory.mktemp("cwd"),
    )
    port = None
    deadline = time.monotonic() + 120  # start-up is slow on a loaded machine
    assert proc.stdout is not None
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        if line.startswith("http_port="):
            port = int(line.split("=")[1])
            break
    if port is None:
        proc.kill()
        pytest.fail(f"server did not start: {proc.stderr.read() if proc.stderr else ''}")
    yield {"base": f"http://127.0.0.1:{port}", "ids": ids, "url": url}
    proc.terminate()
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield b
        b.close()


def _page(browser: Any, size: tuple[int, int] = (1366, 768)) -> Any:
    ctx = browser.new_context(
        viewport={"width": size[0], "height": size[1]}, locale="zh-CN", accept_downloads=True
    )
    return ctx.new_page()


def _shot(page: Any, name: str) -> None:
    if SHOTS is not None:
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=False)


def _login(
    browser: Any, server: dict[str, Any], user: str, size: tuple[int, int] = (1366, 768)
) -> Any:
    page = _page(browser, size)
    page.goto(server["base"] + "/login")
    page.fill("#username", user)
    page.fill("#password", PASSWORD)
    page.click("#submit")
    page.wait_for_url(lambda u: "/login" not in u, timeout=10000)
    return page


def test_login_wrong_password_then_right(browser: Any, server: dict[str, Any]) -> None:
    page = _page(browser)
    page.goto(server["base"] + "/")
    page.wait_for_url("**/login**")  # anonymous: sent to the log-in page
    page.fill("#username", "staff")
    page.fill("#password", "not-the-password")
    page.click("#submit")
    page.wait_for_selector("#error:has-text('用户名或密码错误')")
    _shot(page, "login-error")
    page.fill("#password", PASSWORD)
    page.click("#submit")
    page.wait_for_selector("#who:has-text('staff')")
    cookies = {c["name"]: c for c in page.context.cookies()}
    assert cookies["qs_session"]["httpOnly"] is True and cookies["qs_session"]["secure"] is True


def test_cockpit_shows_district_and_updates_live(browser: Any, server: dict[str, Any]) -> None:
    page = _login(browser, server, "leader")
    page.goto(server["base"] + "/?poll=2")
    page.wait_for_selector(".aqi-card")
    cards = page.locator(".aqi-card").all_inner_texts()
    assert any("城区监测站" in c for c in cards) and any("轻度污染" in c for c in cards)
    assert "泾河八里桥" in page.inner_text("#water") and "达标" in page.inner_text("#water")
    assert page.locator("#aqi-chart canvas").count() == 1
    before = page.inner_text("#dev-online")
    assert before == "4/5"
    _shot(page, "cockpit")
    engine = make_engine(server["url"])
    with session_scope(engine) as s:  # the air station's logger falls silent
        s.execute(
            update(Device)
            .where(Device.mn == MNS["air"])
            .values(last_seen_at=datetime.now(UTC).replace(tzinfo=None) - timedelta(hours=5))
        )
    engine.dispose()
    url_before = page.url
    page.wait_for_selector("#dev-online:text-is('3/5')", timeout=20000)
    assert page.url == url_before  # updated without a reload
    big = _login(browser, server, "leader", size=(3840, 2160))
    big.goto(server["base"] + "/")
    big.wait_for_selector(".aqi-card")
    _shot(big, "cockpit-wall")


def test_map_offline_boundaries_markers_layers_click_through(
    browser: Any, server: dict[str, Any]
) -> None:
    page = _login(browser, server, "grid")
    page.goto(server["base"] + "/map")
    page.wait_for_selector("#map[data-count='5']")
    # Boundaries and markers are vector paths in Leaflet's canvas/SVG renderer: no tile images.
    assert page.locator(".leaflet-tile").count() == 0
    assert "离线模式" in page.inner_text("#tiles-note")
    layers = page.locator("#layers input[data-kind]")
    assert layers.count() == 3
    _shot(page, "map")
    # Switch the outlets layer off and on again.
    outlets = page.locator("#layers input[data-kind='enterprise_outlet']")
    outlets.uncheck()
    n_off = page.evaluate("Object.keys(window.qingshanMap.map._layers).length")
    outlets.check()
    n_on = page.evaluate("Object.keys(window.qingshanMap.map._layers).length")
    assert n_on == n_off + 3  # the group and its two markers
    # Click through: open the air station's popup and follow its link.
    page.evaluate(OPEN_POPUP, "城区监测站")
    page.click(".leaflet-popup-content a:has-text('查看详情')")
    page.wait_for_url("**/site?id=*")
    page.wait_for_selector("#site-title:has-text('城区监测站')")


def test_site_chart_with_flags(browser: Any, server: dict[str, Any]) -> None:
    page = _login(browser, server, "staff")
    page.goto(server["base"] + f"/site?id={server['ids']['site_air']}")
    page.wait_for_selector("#series-chart canvas")
    page.wait_for_selector("#series-note:has-text('小时数据')")
    note = page.inner_text("#series-note")
    assert "6 个因子" in note and "（M）1 个" in note  # one PM10 hour flagged M (维护)
    assert "颗粒物" in page.inner_text("#latest")
    assert page.locator("#completeness tbody tr").count() == 6
    _shot(page, "site-chart")
    page.select_option("#resolution", "minute")
    page.wait_for_selector("#series-note:has-text('分钟数据')")


def test_query_and_export_csv(browser: Any, server: dict[str, Any]) -> None:
    page = _login(browser, server, "staff")
    page.goto(server["base"] + "/query")
    page.wait_for_selector("#site option", state="attached")
    page.select_option("#site", str(server["ids"]["site_air"]))
    page.wait_for_selector("#factor-list label:has-text('PM2.5')")
    page.click("#none")  # factors by name, not by code
    page.check("#factor-list label:has-text('PM2.5') input")
    page.click("#query-form button[type=submit]")
    page.wait_for_selector("#results tbody tr")
    assert page.locator("#results tbody tr").count() >= 24
    _shot(page, "query")
    with page.expect_download() as dl:
        page.click("#csv")
    path = dl.value.path()
    rows = list(csv.reader(io.StringIO(Path(path).read_text(encoding="utf-8-sig"))))
    assert rows[0][0] == "时间" and all(r[2] == "a34004" for r in rows[1:]) and len(rows) > 24


def test_permission_refusals(browser: Any, server: dict[str, Any]) -> None:
    page = _login(browser, server, "ent1")
    page.wait_for_url("**/map")  # enterprise users have no cockpit
    page.wait_for_selector("#map[data-count='1']")
    page.goto(server["base"] + f"/site?id={server['ids']['site_out2']}")
    page.wait_for_selector("#site-title:has-text('点位不存在或无权查看')")
    _shot(page, "refused")
    leader = _login(browser, server, "leader")
    leader.goto(server["base"] + "/devices")
    leader.wait_for_selector("#devices tbody tr")
    assert leader.locator("#admin-panel").is_hidden()
    status = leader.evaluate(POST_DEVICE)
    assert status == 403


def test_admin_registers_a_device_with_its_reporting_interval(
    browser: Any, server: dict[str, Any]
) -> None:
    page = _login(browser, server, "admin")
    page.goto(server["base"] + "/devices")
    page.wait_for_selector("#devices tbody tr")
    mn = "010000A8900016F0001W4H01"
    page.fill("#mn", mn)
    page.fill("#pw", "123456")
    page.fill("#st", "21")
    page.fill("#report_interval", "240")  # a water station sampling every 4 hours
    page.click("#add-form button[type=submit]")
    row = page.locator("#devices tbody tr", has_text=mn)
    row.wait_for()
    assert "每4小时" in row.inner_text()
    assert page.inner_text("#add-error") == ""


def test_public_disclosure_without_login(browser: Any, server: dict[str, Any]) -> None:
    page = _page(browser)
    page.goto(server["base"] + "/public")
    page.wait_for_selector("#air tbody tr[data-site]")
    assert "城区监测站" in page.inner_text("#air") and "东关微站" not in page.inner_text("#air")
    page.wait_for_selector("#water tbody tr")
    assert "Ⅱ类" in page.inner_text("#water")
    _shot(page, "public")


def test_api_docs_render_under_the_csp(browser: Any, server: dict[str, Any]) -> None:
    # Swagger UI from the vendored bundle, initialised by a script file: nothing is blocked
    # by the CSP and nothing is loaded from another host.
    page = _page(browser)
    blocked: list[str] = []
    foreign: list[str] = []
    page.on("console", lambda m: blocked.append(m.text) if "Content Security" in m.text else None)
    page.on(
        "request",
        lambda r: foreign.append(r.url) if not r.url.startswith(server["base"]) else None,
    )
    page.goto(server["base"] + "/api/v1/docs")
    page.wait_for_selector(".swagger-ui .info .title", timeout=15000)
    assert "青山" in page.inner_text(".swagger-ui .info .title")
    page.wait_for_selector(".opblock-tag", timeout=15000)
    assert not foreign, foreign
    assert not [m for m in blocked if "script" in m.lower()], blocked
