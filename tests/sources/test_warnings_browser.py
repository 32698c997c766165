"""The warning board (/warnings) in real headless Chromium against a real ``qingshan serve``:
the active warning is shown first, a past one is chosen from the list and shows the
hand-computed verdicts (``warning_world``); an enterprise user sees its own row only."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from conftest import migrated_sqlite_url
from qingshan.roles import CLI
from qingshan.services import excel_import as xi
from qingshan.services.accounts import create_user
from qingshan.services.sources import exports, warnings
from qingshan.storage.db import make_engine, session_scope
from support.web_seed import PASSWORD
from web.live import serve

from . import warning_world as ww
from .test_sources_browser import ARGS, CHROMIUM, _login

pytestmark = pytest.mark.browser
sync_playwright = pytest.importorskip("playwright.sync_api").sync_playwright


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} missing: run `make test`", pytrace=False)
    url = migrated_sqlite_url(tmp_path_factory.mktemp("warnbrowser") / "web.db")
    engine = make_engine(url)
    world = ww.build(engine)
    with session_scope(engine) as s:
        past = warnings.add_warning(
            s, CLI, level="橙色", region="620802", start=ww.START, end=ww.END,
            document="区指〔2026〕7号",
        )  # fmt: skip
        active = warnings.add_warning(
            s, CLI, level="黄色", region="620802", start=datetime(2026, 11, 30, 20),
            end=None, document="区指〔2026〕9号",
        )  # fmt: skip
        ids = {"past": past.id, "active": active.id}
        create_user(s, CLI, username="staff", password=PASSWORD, role="staff")
        create_user(s, CLI, username="yichang", password=PASSWORD, role="enterprise",
                    enterprise_id=world["ids"]["乙厂"])  # fmt: skip
    engine.dispose()
    cwd = tmp_path_factory.mktemp("cwd")
    with serve(url, cwd) as (base, _hj212_port):
        yield {"base": base, **ids}


def test_warning_board(server: dict[str, Any]) -> None:
    base = server["base"]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        page = _login(browser, base, "staff")
        page.goto(base + "/warnings")
        page.wait_for_selector("header nav a.active:text-is('重污染预警')")
        # the warning in force comes first: 黄色, 己厂 must act (no data in this world)
        page.wait_for_selector("#summary:has-text('黄色预警')")
        assert "持续中" in page.inner_text("#summary")
        page.wait_for_selector("#board tbody tr:has-text('己厂')")
        assert "无数据" in page.inner_text("#board tbody")
        # the past 橙色 warning
        page.select_option("#warning", str(server["past"]))
        page.wait_for_selector("#board tbody tr:has-text('甲厂')")
        row = page.locator("#board tbody tr:has-text('甲厂')")
        assert "已落实" in row.inner_text() and "62.5%" in row.inner_text()
        assert "限产30%" in row.inner_text() and "B级" in row.inner_text()
        assert "未见下降" in page.inner_text("#board tbody tr:has-text('乙厂')")
        assert "烟气流量" in page.inner_text("#board tbody tr:has-text('丁厂')")
        assert "已落实 1，未见下降 2，无数据 1" in page.inner_text("#summary")
        assert "不是违法认定" in page.inner_text("main")
        # the table as Excel, from the page's link
        href = page.get_attribute("#export", "href")
        assert href == f"api/v1/sources/warnings/{server['past']}/export"
        r = page.request.get(base + "/" + href)
        assert r.status == 200 and r.headers["content-type"].startswith(exports.XLSX)
        (sheet,) = xi.sheet_values(r.body()).values()
        assert "橙色预警" in sheet[0][0] and sheet[1][0] == "企业"
        got = {row[0]: (row[4], row[5], row[8]) for row in sheet[2:]}
        assert got["甲厂"] == ("30%", "62.5%", "已落实") and got["丙厂"][2] == "无数据"

        own = _login(browser, base, "yichang")
        own.goto(base + f"/warnings?id={server['past']}")
        own.wait_for_selector("#board tbody tr:has-text('乙厂')")
        assert "甲厂" not in own.inner_text("#board")
        r = own.request.get(base + f"/api/v1/sources/warnings/{server['past']}")
        assert r.status == 200 and [e["name"] for e in r.json()["enterprises"]] == ["乙厂"]
        r = own.request.get(base + f"/api/v1/sources/warnings/{server['past']}/export")
        (sheet,) = xi.sheet_values(r.body()).values()
        assert [row[0] for row in sheet[2:]] == ["乙厂"]
        r = own.request.get(base + "/api/v1/sources/measures")
        assert [e["name"] for e in r.json()] == ["乙厂"]
        browser.close()
