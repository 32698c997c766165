"""The registry page in real headless Chromium against a real ``qingshan serve``: a bad
workbook shows its row-numbered report and writes nothing; a good one shows its report before
anything is written, and the administrator's 导入 writes it and the lists show it."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from conftest import migrated_sqlite_url
from qingshan.roles import CLI
from qingshan.services.accounts import create_user
from qingshan.services.registry import workbook
from qingshan.storage.db import make_engine, session_scope
from qingshan.storage.models import Region
from support.web_seed import PASSWORD
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


def _regions(rows: list[list[Any]]) -> bytes:
    wb = load_workbook(io.BytesIO(workbook.template()))
    for r in rows:
        wb["行政区划"].append(r)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


GOOD = [["620000", "甘肃省", None, None], ["620200", "嘉峪关市", "地级", "620000"]]
BAD = [["620000", "甘肃省", None, None], ["620200", "嘉峪关市", "地级", "629999"]]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} missing: run `make test`", pytrace=False)
    url = migrated_sqlite_url(tmp_path_factory.mktemp("regbrowser") / "web.db")
    engine = make_engine(url)
    with session_scope(engine) as s:
        create_user(s, CLI, username="admin", password=PASSWORD, role="admin")
    engine.dispose()
    cwd = tmp_path_factory.mktemp("cwd")
    with serve(url, cwd, attachments_dir=str(cwd / "files")) as (base, _hj212_port):
        yield {"base": base, "url": url}


def _region_count(url: str) -> int:
    engine = make_engine(url)
    with session_scope(engine) as s:
        n = s.scalar(select(func.count()).select_from(Region)) or 0
    engine.dispose()
    return n


def _wait_text(page: Any, selector: str, *texts: str) -> None:
    page.wait_for_function(
        "([sel, texts]) => { const e = document.querySelector(sel);"
        " return !!e && texts.every((t) => e.innerText.includes(t)); }",
        arg=[selector, list(texts)],
        timeout=30000,
    )


def test_registry_page_checks_then_imports_a_workbook(server: dict[str, Any]) -> None:
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        page = browser.new_context(locale="zh-CN").new_page()
        page.goto(server["base"] + "/login")
        page.fill("#username", "admin")
        page.fill("#password", PASSWORD)
        page.click("#submit")
        page.wait_for_url(lambda u: "/login" not in u, timeout=10000)
        page.goto(server["base"] + "/registry")
        page.wait_for_selector("header nav a.active:text-is('登记管理')")

        def choose(name: str, data: bytes) -> None:
            xlsx = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
            page.set_input_files(
                "#workbook", files=[{"name": name, "buffer": data, "mimeType": xlsx}]
            )
            page.click("#upload-form button[type=submit]")

        choose("错误.xlsx", _regions(BAD))
        page.wait_for_selector("#upload-error:has-text('未写入任何数据')")
        problem = page.locator("#problems tbody tr").first.inner_text()
        assert "行政区划" in problem and "4" in problem and "629999" in problem
        assert page.locator("#actions").is_hidden()
        assert _region_count(server["url"]) == 0

        choose("嘉峪关.xlsx", _regions(GOOD))
        page.wait_for_selector("#report-title:has-text('校验通过')")
        assert "尚未写入" in page.inner_text("#report-title")
        counts = page.locator("#counts tbody").inner_text()
        assert "行政区划" in counts and "2" in counts
        assert page.locator("#problems").is_hidden()
        # the list of imports refreshes on its own request after the report: wait for it
        _wait_text(page, "#imports", "嘉峪关.xlsx", "已校验")
        assert _region_count(server["url"]) == 0  # the report comes before anything is written

        page.click("#do-import")
        page.wait_for_selector("#import-result:has-text('已导入')")
        page.wait_for_selector("#regions tbody tr:has-text('嘉峪关市')")
        _wait_text(page, "#imports", "已导入")
        assert _region_count(server["url"]) == 2
        browser.close()
