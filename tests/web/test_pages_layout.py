"""Every page in real headless Chromium on a phone (390 × 844) and a desk (1366 × 768), as the
role that uses it, against one real ``qingshan serve`` on the seeded district (plus a case):
no sideways scrolling, the page reachable from the navigation (after opening the ☰ drawer on
the phone), no console errors, touch-sized controls on the phone, and no request leaving the
machine (every request to another host fails the test). Also the API docs page with external
requests blocked, the favicon, the map's layer drawer and tables as cards."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from conftest import migrated_sqlite_url
from qingshan.roles import CLI
from qingshan.services.cases import core
from qingshan.services.figures import recompute_all
from qingshan.storage.db import make_engine, session_factory, session_scope
from support.web_seed import PASSWORD, seed
from web.live import serve
from web.test_registry_browser import ARGS, CHROMIUM

pytestmark = pytest.mark.browser
sync_playwright = pytest.importorskip("playwright.sync_api").sync_playwright

PHONE = (390, 844)
DESK = (1366, 768)
ENT = "91620802000000001A"
CASE = "ZY2-W07"
LOCAL = {"127.0.0.1", "localhost", "::1", "[::1]"}

# path, role (None: anonymous), the navigation entry that leads there, and for detail pages
# the list page (and its link) they are reached from.
PAGES: list[tuple[str, str | None, str, tuple[str, str] | None]] = [
    ("/", "leader", "cockpit", None),
    ("/map", "grid", "map", None),
    ("/site?id={site_air}", "staff", "map", ("/devices", "a[href^='site?id=']")),
    ("/query", "staff", "query", None),
    ("/devices", "admin", "devices", None),
    ("/registry", "staff", "registry", None),
    (
        "/registry-item?type=enterprise&key=" + ENT,
        "staff",
        "registry",
        ("/registry", "a[href^='registry-item?type=enterprise']"),
    ),
    ("/sources", "staff", "sources", None),
    ("/warnings", "staff", "warnings", None),
    ("/enterprise?code=" + ENT, "staff", "sources", ("/sources", "a[href^='enterprise?code=']")),
    ("/plans", "staff", "plans", None),
    ("/reports", "leader", "reports", None),
    ("/cases", "staff", "cases", None),
    ("/case?code=" + CASE, "staff", "cases", ("/cases", f"a[href='case?code={CASE}']")),
    ("/report", "grid", "report", None),
    ("/inbox", "staff", "inbox", None),
    ("/users", "admin", "users", None),
    ("/account", "unit", "account", None),
    # 信息公开 for an anonymous visitor: a plain banner, no navigation, no link into the platform
    ("/public", None, None, None),
    ("/login", None, "", None),
]
# Controls a thumb must hit on a phone (checkboxes count by their label; files by the
# browser's own button).
SMALL_CONTROLS = """() => [...document.querySelectorAll("button, select, input:not([type=checkbox])"
  + ":not([type=radio]):not([type=file]):not([type=hidden])")]
  .filter((e) => e.offsetParent !== null && !e.closest(".leaflet-container"))
  .map((e) => [e.id || e.textContent.trim() || e.name || e.tagName,
               e.getBoundingClientRect().height])
  .filter(([, h]) => h < 40)"""
OVERFLOW = "() => [document.scrollingElement.scrollWidth, window.innerWidth]"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} missing: run `make test`", pytrace=False)
    url = migrated_sqlite_url(tmp_path_factory.mktemp("layout") / "web.db")
    engine = make_engine(url)
    with session_scope(engine) as s:
        ids = seed(s)
        core.open_case(
            s,
            CLI,
            core.CaseInput(
                origin="central_inspection",
                round=2,
                code=CASE,
                item_no="7",
                title="城区燃煤锅炉淘汰改造不到位，群众反映冬季烟尘较大，需限期整改到位",
                received_on=date(2026, 3, 2),
                lead_unit="水务局",
                region="620802",
                category="大气",
                due_on=date(2026, 12, 31),
            ),
        )
    recompute_all(session_factory(engine))
    engine.dispose()
    cwd = tmp_path_factory.mktemp("cwd")
    with serve(url, cwd, attachments_dir=str(cwd / "files")) as (base, _hj212_port):
        yield {"base": base, "ids": ids}


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield b
        b.close()


class Watch:
    """A browser context (one role, one size) that fails every request to another host and
    records it, and collects console errors and uncaught exceptions of its pages."""

    def __init__(self, browser: Any, base: str, size: tuple[int, int], role: str | None) -> None:
        self.external: list[str] = []
        self.errors: list[str] = []
        # The bureau's people read 北京时间 whatever the machine's zone: browse from UTC.
        self.ctx = browser.new_context(
            viewport={"width": size[0], "height": size[1]},
            locale="zh-CN",
            timezone_id="UTC",
            has_touch=size == PHONE,
            is_mobile=size == PHONE,
        )
        self.ctx.route("**/*", self._route)
        if role is not None:
            r = self.ctx.request.post(
                base + "/api/v1/auth/login", data={"username": role, "password": PASSWORD}
            )
            assert r.status == 200, r.text()

    def _route(self, route: Any) -> None:
        host = urlsplit(route.request.url).hostname or ""
        if route.request.url.startswith(("data:", "blob:")) or host in LOCAL:
            route.continue_()
        else:
            self.external.append(route.request.url)
            route.abort()

    def page(self) -> Any:
        page = self.ctx.new_page()
        page.on(
            "console",
            lambda m: self.errors.append(f"{page.url}: {m.text}") if m.type == "error" else None,
        )
        page.on("pageerror", lambda e: self.errors.append(f"{page.url}: {e}"))
        return page


@pytest.fixture(scope="module")
def watches(browser: Any, server: dict[str, Any]) -> Iterator[dict[Any, Watch]]:
    made: dict[Any, Watch] = {}
    yield made
    for w in made.values():
        w.ctx.close()


def _watch(
    watches: dict[Any, Watch], browser: Any, base: str, size: tuple[int, int], role: str | None
) -> Watch:
    key = (size, role)
    if key not in watches:
        watches[key] = Watch(browser, base, size, role)
    return watches[key]


def _open(page: Any, url: str) -> None:
    page.goto(url)
    if "/login" not in url:
        page.wait_for_selector("header.top nav a, header.pub", state="attached", timeout=20000)
    page.wait_for_load_state("networkidle")


@pytest.mark.parametrize("size", [PHONE, DESK], ids=["phone", "desk"])
def test_every_page_fits_is_reachable_and_stays_local(
    browser: Any, server: dict[str, Any], watches: dict[Any, Watch], size: tuple[int, int]
) -> None:
    base, ids = server["base"], server["ids"]
    problems: list[str] = []
    for path, role, nav, parent in PAGES:
        w = _watch(watches, browser, base, size, role)
        page = w.page()
        url = base + path.format(**ids)
        _open(page, url)
        scroll, width = page.evaluate(OVERFLOW)
        if scroll > width:
            problems.append(f"{path} as {role}: {scroll} px wide in a {width} px window")
        if nav:
            link = page.locator(f"header.top [data-nav='{nav}']")
            if size == PHONE:
                if link.is_visible():
                    problems.append(f"{path}: navigation not folded away on a phone")
                page.click("#nav-toggle")
                assert page.get_attribute("#nav-toggle", "aria-expanded") == "true"
            if not link.is_visible():
                problems.append(f"{path} as {role}: no visible navigation entry {nav!r}")
            elif "active" not in (link.get_attribute("class") or ""):
                problems.append(f"{path}: navigation entry {nav!r} not marked active")
            if size == PHONE:
                small = page.locator("#nav-drawer a:visible").evaluate_all(
                    "(as) => as.filter((a) => a.getBoundingClientRect().height < 40).length"
                )
                if small:
                    problems.append(f"{path}: {small} navigation links under 40 px")
                page.click("#nav-toggle")
                assert not link.is_visible()
        if size == PHONE:
            small = page.evaluate(SMALL_CONTROLS)
            if small:
                problems.append(f"{path}: controls under 40 px high: {small}")
        if path == "/public" and role is None and page.locator("main a, header a").count():
            problems.append(f"{path}: links into the platform for an anonymous visitor")
        if parent is not None and size == DESK:
            # a detail page is reached from a list page's link
            list_page = w.page()
            _open(list_page, base + parent[0])
            if list_page.locator(parent[1]).count() == 0:
                problems.append(f"{path}: no link {parent[1]} on {parent[0]}")
            list_page.close()
        page.close()
    errors = [e for w in watches.values() for e in w.errors]
    external = [u for w in watches.values() for u in w.external]
    assert not problems, "\n".join(problems)
    assert not errors, "\n".join(errors)
    assert not external, external


def test_phone_map_full_width_with_layer_drawer_and_tables_as_cards(
    browser: Any, server: dict[str, Any], watches: dict[Any, Watch]
) -> None:
    base = server["base"]
    page = _watch(watches, browser, base, PHONE, "grid").page()
    _open(page, base + "/map")
    page.wait_for_selector("#map[data-count]")
    box = page.locator("#map").bounding_box()
    assert box is not None and box["width"] >= PHONE[0] - 24 and box["height"] >= 500
    toggle = page.locator("button.drawer-toggle")
    assert toggle.is_visible() and not page.locator("#layers").is_visible()
    toggle.click()
    page.wait_for_selector("#layers input[data-kind]", state="visible")
    # measured once it has slid in (a 0.2 s transition)
    page.wait_for_function(
        "() => getComputedStyle(document.querySelector('aside.drawer')).transform === 'none'"
    )
    panel = page.locator("aside.drawer").bounding_box()
    assert panel is not None and panel["x"] + panel["width"] <= PHONE[0] + 1
    toggle.click()
    page.wait_for_selector("aside.drawer", state="hidden")
    page.close()
    page = _watch(watches, browser, base, PHONE, "admin").page()
    _open(page, base + "/devices")
    table = page.locator("table.cards-table").first
    head = table.locator("thead").bounding_box()
    assert head is not None and head["height"] <= 1  # folded away (kept for screen readers)
    cell = table.locator("tbody tr").first.locator("td").first
    label = cell.get_attribute("data-label")
    assert label, "cells carry their column's heading"
    before = cell.evaluate("(td) => getComputedStyle(td, '::before').content")
    assert label in before
    assert cell.evaluate("(td) => getComputedStyle(td).display") == "flex"
    page.close()
    desk = _watch(watches, browser, base, DESK, "admin").page()
    _open(desk, base + "/devices")
    assert desk.locator("table.cards-table thead").first.is_visible()
    assert not desk.locator("button.nav-toggle").is_visible()
    desk.close()


def test_api_docs_and_favicon_offline(
    browser: Any, server: dict[str, Any], watches: dict[Any, Watch]
) -> None:
    base = server["base"]
    w = _watch(watches, browser, base, DESK, "staff")
    page = w.page()
    page.goto(base + "/api/v1/docs")
    page.wait_for_selector(".swagger-ui .info .title", timeout=30000)
    assert "Qingshan" in page.inner_text(".swagger-ui .info .title")
    page.wait_for_selector(".opblock-tag", timeout=30000)
    page.wait_for_load_state("networkidle")
    links = page.evaluate(
        "() => [...document.querySelectorAll('link[href], script[src]')]"
        ".map((e) => e.href || e.src)"
    )
    assert links and all(urlsplit(u).hostname in LOCAL for u in links), links
    icon = page.evaluate("() => document.querySelector('link[rel=icon]').href")
    r = page.request.get(icon)
    assert r.status == 200 and r.headers["content-type"].startswith("image/svg+xml")
    r = page.request.get(base + "/favicon.ico")
    assert r.status == 200 and r.headers["content-type"] == "image/x-icon"
    assert r.body()[:4] == b"\x00\x00\x01\x00"  # an ICO file
    page.close()
    assert not w.external, w.external
    assert not w.errors, w.errors


def test_accounts_flow_admin_creates_resets_user_changes_own_password(
    browser: Any, server: dict[str, Any], watches: dict[Any, Watch]
) -> None:
    base = server["base"]
    w = _watch(watches, browser, base, PHONE, "admin")  # on a phone, tables as cards
    admin = w.page()
    admin.on("dialog", lambda d: d.accept())
    _open(admin, base + "/users")
    admin.wait_for_selector("#users tbody tr")
    admin.click("#new-user")
    admin.fill("#u-username", "zhouwei")
    admin.fill("#u-display", "周伟")
    admin.select_option("#u-role", "unit")
    admin.select_option("#u-unit", "水务局")
    assert admin.locator("#u-enterprise").is_hidden()
    admin.fill("#u-password", "short")
    admin.click("#u-save")
    admin.wait_for_selector("#edit-error:has-text('至少需要 10 个字符')")  # the policy, in Chinese
    admin.fill("#u-password", "first-spring-rain-3")
    admin.click("#u-save")
    row = admin.locator("#users tbody tr", has_text="zhouwei")
    row.wait_for()
    assert "水务局" in row.inner_text() and "部门（单位）用户" in row.inner_text()
    row.locator("button[data-act='reset']").click()
    admin.wait_for_selector("#one-time-password")
    one_time = admin.inner_text("#one-time-password").strip()
    assert len(one_time) == 16
    # the user logs in with the one-time password and sets its own
    user = browser.new_context(viewport={"width": PHONE[0], "height": PHONE[1]}, locale="zh-CN")
    page = user.new_page()
    page.goto(base + "/login")
    page.fill("#username", "zhouwei")
    page.fill("#password", one_time)
    page.click("#submit")
    page.wait_for_url(lambda u: "/login" not in u, timeout=20000)
    page.wait_for_selector("#nav-toggle")
    page.click("#nav-toggle")
    page.click("#who")  # the name in the menu leads to 账户设置
    page.wait_for_selector("#me tbody tr")
    assert "水务局" in page.inner_text("#me")
    page.fill("#p-current", one_time)
    page.fill("#p-new", "mountain-river-42")
    page.fill("#p-repeat", "mountain-river-4")
    page.click("#p-submit")
    page.wait_for_selector("#p-error:has-text('两次输入的新密码不一致')")
    page.fill("#p-repeat", "mountain-river-42")
    page.click("#p-submit")
    page.wait_for_selector("#changed:has-text('密码已修改')")
    page.fill("#username", "zhouwei")
    page.fill("#password", "mountain-river-42")
    page.click("#submit")
    page.wait_for_url(lambda u: "/login" not in u, timeout=20000)
    user.close()
    # the administrator disables the account
    row.locator("button[data-act='disable']").click()
    admin.wait_for_selector("#list-done:has-text('已停用用户 zhouwei')")
    assert "已停用" in admin.locator("#users tbody tr", has_text="zhouwei").inner_text()
    admin.close()
    # the one refusal asked for above (the short password) is the only failed request
    refused = [e for e in w.errors if "/users: Failed to load resource" in e and "422" in e]
    assert len(refused) == 1 and len(w.errors) == 1, w.errors
