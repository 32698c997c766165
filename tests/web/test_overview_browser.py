"""A deployment that records no boundary and no target, in real headless Chromium against a
real ``qingshan serve``: the map draws its sites without a boundary layer, the cockpit shows
its own name and no target — no script error, nothing of the demo district."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session

from conftest import migrated_sqlite_url
from qingshan.clock import utcnow
from qingshan.roles import CLI
from qingshan.services import deployment
from qingshan.services.accounts import create_user
from qingshan.storage.db import make_engine, session_scope
from qingshan.storage.models import Device, Region, Site
from support.web_seed import PASSWORD

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]

pytestmark = pytest.mark.browser
sync_playwright = pytest.importorskip("playwright.sync_api").sync_playwright


def _seed(s: Session) -> None:
    s.add(Region(code="620200", name="嘉峪关市", level="city"))
    s.flush()
    now = utcnow()
    for i, (kind, lon) in enumerate((("air_station", 98.27), ("noise_station", 98.31))):
        site = Site(code=f"S{i}", name=f"测试点位{i}", kind=kind, region_code="620200")
        site.longitude, site.latitude = lon, 39.78  # type: ignore[assignment]
        s.add(site)
        s.flush()
        mn = f"62020001000{i}AAAAAAAAAAAA"
        s.add(
            Device(mn=mn, pw="123456", st="22", site_id=site.id, created_at=now, last_seen_at=now)
        )
    deployment.set_own_region(s, "620200")
    create_user(s, CLI, username="leader", password=PASSWORD, role="leader")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} missing: run `make test`", pytrace=False)
    url = migrated_sqlite_url(tmp_path_factory.mktemp("bare") / "web.db")
    engine = make_engine(url)
    with session_scope(engine) as s:
        _seed(s)
    engine.dispose()
    env = {**os.environ, "QINGSHAN_DB_URL": url, "QINGSHAN_LOG_LEVEL": "WARNING"}
    cmd = [sys.executable, "-c", "from qingshan.cli.main import main; main()", "serve"]
    cmd += ["--hj212-port", "0", "--http-port", "0", "--hj212-host", "127.0.0.1"]
    proc = subprocess.Popen(
        cmd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=tmp_path_factory.mktemp("cwd"),
    )
    port = None
    deadline = time.monotonic() + 120  # start-up is slow on a loaded machine
    assert proc.stdout is not None
    while port is None and time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        if line.startswith("http_port="):
            port = int(line.split("=")[1])
    if port is None:
        proc.kill()
        pytest.fail(f"server did not start: {proc.stderr.read() if proc.stderr else ''}")
    yield f"http://127.0.0.1:{port}"
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


def _logged_in(browser: Any, base: str) -> tuple[Any, list[str]]:
    page = browser.new_context(locale="zh-CN").new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(base + "/login")
    page.fill("#username", "leader")
    page.fill("#password", PASSWORD)
    page.click("#submit")
    page.wait_for_url(lambda u: "/login" not in u, timeout=10000)
    return page, errors


def test_map_without_boundaries_shows_the_sites(browser: Any, server: str) -> None:
    page, errors = _logged_in(browser, server)
    page.goto(server + "/map")
    page.wait_for_selector("#map[data-count='2']")
    assert page.locator("#boundary-toggle").count() == 0
    assert page.locator("#layers input[data-kind]").count() == 2
    assert "未登记行政区划边界" in page.inner_text("#tiles-note")
    centre = page.evaluate(
        "(() => { const c = qingshanMap.map.getCenter(); return [c.lng, c.lat]; })()"
    )
    assert 98.2 < centre[0] < 98.4 and 39.7 < centre[1] < 39.9  # fitted to the two sites
    assert errors == []


def test_cockpit_without_target_names_the_deployment(browser: Any, server: str) -> None:
    page, errors = _logged_in(browser, server)
    page.goto(server + "/")
    page.wait_for_selector("#updated:has-text('嘉峪关市')")
    # no target recorded: the cockpit says so instead of borrowing one
    page.wait_for_selector("#good:has-text('本年没有优良天数比率目标')")
    text = page.inner_text("body")
    assert "全年目标" not in page.inner_text("#good") and "崆峒" not in text
    assert errors == []
