"""The query page in real headless Chromium against a real ``qingshan serve``: factors picked by
name, a time × factor table headed 名称 (单位) with flags marked and the stored value one click
away, paging, Chinese messages for a bad range (from the page and from the server), and on a
phone no sideways scrolling."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from conftest import migrated_sqlite_url
from qingshan.storage.db import make_engine, session_scope
from support.web_seed import PASSWORD, seed
from web.live import serve

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

pytestmark = pytest.mark.browser
sync_playwright = pytest.importorskip("playwright.sync_api").sync_playwright


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} missing: run `make test`", pytrace=False)
    url = migrated_sqlite_url(tmp_path_factory.mktemp("query") / "web.db")
    engine = make_engine(url)
    with session_scope(engine) as s:
        seed(s)
    engine.dispose()
    cwd = tmp_path_factory.mktemp("cwd")
    with serve(url, cwd, attachments_dir=str(cwd / "files")) as (base, _):
        yield base


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield b
        b.close()


def _open(browser: Any, base: str, **viewport: int) -> tuple[Any, Any, list[str]]:
    ctx = browser.new_context(locale="zh-CN", viewport=viewport or None)
    page = ctx.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(base + "/login")
    page.fill("#username", "staff")
    page.fill("#password", PASSWORD)
    page.click("#submit")
    page.wait_for_url(lambda u: "/login" not in u, timeout=20000)
    page.goto(base + "/query")
    page.wait_for_selector("#factor-list input[type=checkbox]", timeout=20000)
    return ctx, page, errors


def _cst(t: datetime) -> str:
    return (t + timedelta(hours=8)).strftime("%Y-%m-%dT%H:%M")


def _pick(page: Any, site: str, *names: str) -> None:
    page.select_option("#site", label=site)
    page.wait_for_selector(f"#factor-list label:has-text('{names[0]}')")
    page.click("#none")
    for n in names:
        page.check(f"#factor-list label:has-text('{n}') input")


def test_pick_two_factors_by_name_and_read_a_wide_table(browser: Any, server: str) -> None:
    ctx, page, errors = _open(browser, server, width=1366, height=768)
    now = datetime.now(UTC).replace(tzinfo=None)
    _pick(page, "城区监测站（环境空气质量监测站）", "PM10", "一氧化碳")
    page.fill("#start", _cst(now - timedelta(hours=8)))
    page.fill("#end", _cst(now))
    page.click("#submit")
    page.wait_for_selector("#results tbody tr td.num")
    heads = page.locator("#results thead th").all_inner_texts()
    assert heads[0] == "时间（北京时间）"
    assert len(heads) == 3
    assert any("PM10" in h and h.endswith("(μg/m³)") for h in heads)
    assert "一氧化碳 (mg/m³)" in heads
    co_col = heads.index("一氧化碳 (mg/m³)")
    rows = page.locator("#results tbody tr")
    assert rows.count() >= 7
    first_co = rows.first.locator("td").nth(co_col)
    assert first_co.inner_text().strip() == "0.6"
    # PM10 five hours ago was flagged M: the cell carries the letter, titled with its meaning
    mark = page.locator("#results abbr.flag-mark").first
    assert mark.inner_text() == "M" and mark.get_attribute("title") == "维护"
    assert "M 维护" in page.inner_text("#flags-legend")
    # the stored value one click away (and in the title)
    val = rows.first.locator("td.num .val").first
    assert (val.get_attribute("title") or "").startswith("存储值：")
    val.click()
    assert "exact" in (val.get_attribute("class") or "")
    assert val.inner_text() == val.get_attribute("data-exact")
    # a time beyond the page is one more request away
    page.fill("#start", _cst(now - timedelta(hours=47)))
    page.select_option("#rows", "20")
    page.click("#submit")
    page.wait_for_selector("#more:not([hidden])")
    assert "第 1 页" in page.inner_text("#count")
    page.click("#more")
    page.wait_for_selector("#count:has-text('第 2 页')")
    assert page.locator("#prev").is_visible()
    assert errors == []
    ctx.close()


def test_bad_ranges_give_chinese_messages(browser: Any, server: str) -> None:
    ctx, page, errors = _open(browser, server, width=1366, height=768)
    now = datetime.now(UTC).replace(tzinfo=None)
    page.fill("#start", _cst(now))
    page.fill("#end", _cst(now - timedelta(hours=3)))
    page.click("#submit")
    page.wait_for_selector("#error:has-text('结束时间不能早于开始时间')")
    # the server's own refusal (too long for minute data), shown in Chinese
    page.select_option("#resolution", "minute")
    page.fill("#start", _cst(now - timedelta(days=9)))
    page.fill("#end", _cst(now))
    page.click("#submit")
    page.wait_for_selector("#error:has-text('分钟数据每次最多查询 7 天')")
    page.click("#none")
    page.click("#submit")
    page.wait_for_selector("#error:has-text('请至少选择一个监测因子')")
    # an export with a bad range is refused on the page, before any download
    page.click("#all")
    page.click("#csv")
    page.wait_for_selector("#error:has-text('分钟数据每次最多查询 7 天')")
    assert "/query" in page.url
    assert errors == [e for e in errors if "422" in e]  # only the refused requests themselves
    ctx.close()


def test_phone_table_without_sideways_scroll(browser: Any, server: str) -> None:
    ctx, page, _ = _open(browser, server, width=390, height=844)
    now = datetime.now(UTC).replace(tzinfo=None)
    page.fill("#start", _cst(now - timedelta(hours=6)))
    page.fill("#end", _cst(now))
    page.click("#submit")
    page.wait_for_selector("#results tbody tr td.num")
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= 390
    # one card per time: each value labelled with its factor's header
    label = page.locator("#results tbody tr").first.locator("td.num").first
    assert "(" in (label.get_attribute("data-label") or "")
    ctx.close()
