"""The 规划指标 board's drill-down in real headless Chromium against a real ``qingshan serve``:
the surface-water share of 崆峒区 is computed from the sections' data, shows its year-end
projection, and opens the sections behind the number (with their classes and items over Ⅲ);
the drinking-water compliance opens its sources; an indicator without data says why."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from conftest import migrated_sqlite_url
from qingshan.clock import cst_today
from qingshan.demo import loader as demo_loader
from qingshan.demo.district import load_district
from qingshan.demo.synth import generate
from qingshan.roles import CLI
from qingshan.services import plans
from qingshan.services.accounts import create_user
from qingshan.services.plans import assess
from qingshan.storage.db import make_engine, session_scope
from qingshan.storage.models_registry import OrgUnit
from support.web_seed import PASSWORD
from web.live import serve

CHROMIUM = "/usr/bin/chromium"
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]

pytestmark = pytest.mark.browser
sync_playwright = pytest.importorskip("playwright.sync_api").sync_playwright
if TYPE_CHECKING:
    from playwright.sync_api import APIResponse, Route


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} missing: run `make test`", pytrace=False)
    url = migrated_sqlite_url(tmp_path_factory.mktemp("plandrill") / "web.db")
    engine = make_engine(url)
    d = load_district()
    ids = demo_loader.load_registry(engine, d)
    # one day of section and source data: yesterday (China Standard Time)
    last = cst_today() - timedelta(days=1)
    end = datetime.combine(last + timedelta(days=1), datetime.min.time())
    res = generate(d, end - timedelta(days=1), end, kinds=("section", "source"))
    keep = {s.id for s in d.sections} | {w.id for w in d.water_sources}
    demo_loader.ingest_rows(engine, demo_loader.result_rows(res, ids, keep))
    with session_scope(engine) as s:
        plans.load_template(s, CLI, "kongtong-14th")
        s.add(OrgUnit(code="SWJ", name="区水务局", kind="department", region_code="620802"))
        s.flush()
        create_user(s, CLI, username="staff", password=PASSWORD, role="staff")
    with session_scope(engine) as s:
        expected = assess.plan_status(s, CLI, "kongtong-14th", year=last.year).to_dict()
    engine.dispose()
    cwd = tmp_path_factory.mktemp("cwd")
    with serve(url, cwd, attachments_dir=str(cwd / "files")) as (base, _hj212_port):
        yield {"base": base, "year": last.year, "expected": expected}


def test_drill_down_from_the_board_to_the_sections(server: dict[str, Any]) -> None:
    rows = {i["no"]: i for i in server["expected"]["indicators"]}
    share = rows["4"]
    assert share["actual"] is not None and share["projection"] is not None
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        page = browser.new_context(locale="zh-CN").new_page()
        page.goto(server["base"] + "/login")
        page.fill("#username", "staff")
        page.fill("#password", PASSWORD)
        page.click("#submit")
        page.wait_for_url(lambda u: "/login" not in u, timeout=10000)
        page.goto(server["base"] + "/plans")
        page.wait_for_selector("#board tbody tr[data-no='21']")
        page.fill("#year", str(server["year"]))
        page.dispatch_event("#year", "change")
        row = page.locator("#board tbody tr[data-no='4']")
        row.locator("a.drill").wait_for()
        assert share["actual"]["value"] in row.inner_text()
        assert "推算" in row.inner_text()  # the projection is in the reason
        row.locator("a.drill").click()
        box = page.locator("#drill")
        box.wait_for(state="visible")
        assert "推算依据" in box.inner_text()
        assert "还可容许（负数为尚缺）断面数" in box.inner_text()
        data = page.locator("#drill-data tbody tr")
        assert data.count() == len(share["actual"]["data"]) == 3  # the district's sections
        for sec in share["actual"]["data"]:
            tr = page.locator(f"#drill-data tbody tr[data-code='{sec['code']}']")
            assert sec["class"] in tr.inner_text() and sec["name"] in tr.inner_text()
            assert tr.locator("a").get_attribute("href") == f"site?id={sec['site_id']}"
        # the drinking-water sources behind 序号6
        page.locator("#board tbody tr[data-no='6'] a.drill").click()
        page.wait_for_selector("#drill h3:has-text('城市集中式饮用水水源地水质达标率')")
        assert page.locator("#drill-data tbody tr").count() == len(rows["6"]["actual"]["data"])
        # an indicator with no data has no drill-down link and says why
        forest = page.locator("#board tbody tr[data-no='20']")
        assert forest.locator("a.drill").count() == 0
        assert "尚无实际值" in forest.inner_text()
        browser.close()


def test_staff_enter_an_assigned_target_with_its_letter(server: dict[str, Any]) -> None:
    """The board drawn after the save shows the new target even when the board asked for
    before the save answers last (CI once saw exactly that under load): the first 2025 status
    answer is held back and delivered after the fresh one, and must not be drawn."""
    held: list[tuple[Route, APIResponse]] = []
    asked: list[str] = []

    def hold_first(route: Route) -> None:
        asked.append(route.request.url)
        if len(asked) > 1:
            route.continue_()
        else:
            held.append((route, route.fetch()))  # fetched now: the board before the save

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        page = browser.new_context(locale="zh-CN").new_page()
        page.goto(server["base"] + "/login")
        page.fill("#username", "staff")
        page.fill("#password", PASSWORD)
        page.click("#submit")
        page.wait_for_url(lambda u: "/login" not in u, timeout=10000)
        page.goto(server["base"] + "/plans")
        page.wait_for_selector("#board tbody tr[data-no='21']")
        page.route(re.compile(r".*/api/v1/plans/[^/]+/status\?year=2025$"), hold_first)
        page.fill("#year", "2025")
        page.dispatch_event("#year", "change")
        while not held:  # the request before the save has been answered by the server
            page.wait_for_timeout(50)
        page.wait_for_selector("#assigned-indicator option[value='12']", state="attached")
        page.select_option("#assigned-indicator", "12")
        page.fill("#assigned-text", "320")
        page.fill("#assigned-note", "平市环发12号")
        page.set_input_files(
            "#assigned-evidence",
            files=[{"name": "下达通知.pdf", "buffer": PDF, "mimeType": "application/pdf"}],
        )
        page.click("#assigned-form button[type=submit]")
        page.wait_for_selector("#assigned-result:has-text('已录入：320')")
        row = page.locator("#board tbody tr[data-no='12']")
        page.wait_for_selector("#board tbody tr[data-no='12']:has-text('上级下达目标320（staff于')")
        assert "尚缺佐证材料" not in row.inner_text()  # the letter was attached
        assert len(held) == 1
        stale_route, stale = held[0]
        assert "上级下达目标320" not in stale.text()  # it really is the board before the save
        with page.expect_response(lambda r: r.url == stale_route.request.url):
            stale_route.fulfill(response=stale)
        page.evaluate("() => new Promise((done) => setTimeout(done, 300))")  # let it be drawn
        assert "上级下达目标320（staff于" in row.inner_text()
        browser.close()


SCHEME = """year = 2025
plan = "kongtong-14th"
bands = [{ grade = "优秀", min = "90" }, { grade = "良好", min = "80" },
         { grade = "合格", min = "60" }, { grade = "不合格", min = "0" }]
[[unit]]
code = "SWJ"
[[unit.item]]
indicator = "8"
points = "15"
[[unit.item]]
tasks = true
points = "85"
deduct = "2"
"""


def test_staff_keep_a_scheme_and_see_the_assessment(server: dict[str, Any]) -> None:
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        page = browser.new_context(locale="zh-CN").new_page()
        page.goto(server["base"] + "/login")
        page.fill("#username", "staff")
        page.fill("#password", PASSWORD)
        page.click("#submit")
        page.wait_for_url(lambda u: "/login" not in u, timeout=10000)
        page.goto(server["base"] + "/plans")
        page.wait_for_selector("#board tbody tr[data-no='21']")
        page.fill("#year", "2025")
        page.dispatch_event("#year", "change")
        page.wait_for_selector("#assessment-error:has-text('尚未录入2025年度考核方案')")
        page.fill("#scheme-input", SCHEME)
        page.click("#scheme-form button[type=submit]")
        row = page.locator("#assessment tbody tr[data-code='SWJ']")
        row.wait_for()
        # 农村生活污水治理率 has no value (0 of 15); no task of the unit is overdue (85)
        assert "区水务局" in row.inner_text() and row.locator(".grade").inner_text() == "良好"
        assert "85" in row.inner_text() and "尚无实际值" in row.inner_text()
        assert "staff于" in page.locator("#assessment-info").inner_text()
        assert 'code = "SWJ"' in page.locator("#scheme-text").text_content()
        href = page.locator("#assessment-xlsx").get_attribute("href")
        r = page.request.get(server["base"] + "/" + href)
        assert r.status == 200 and r.body()[:2] == b"PK"
        browser.close()
