"""The supervision board and 一企一档 in real headless Chromium against a real ``qingshan serve``
(whose alarm thread runs): staff see every enterprise, confirm a cleared episode and it closes;
an enterprise user sees only its own enterprise — another one's page is 404."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from conftest import migrated_sqlite_url
from qingshan.roles import CLI
from qingshan.services import excel_import as xi
from qingshan.services.accounts import create_user
from qingshan.services.sources import alarms
from qingshan.storage.db import make_engine, session_scope
from qingshan.storage.models import Enterprise
from qingshan.storage.models_sources import SourceEpisode
from support.web_seed import PASSWORD
from web.live import serve

from .conftest import build
from .test_source_alarms import NEXT_MIDNIGHT
from .test_source_annual import permit_amounts

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]  # fmt: skip

pytestmark = pytest.mark.browser
sync_playwright = pytest.importorskip("playwright.sync_api").sync_playwright


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} missing: run `make test`", pytrace=False)
    url = migrated_sqlite_url(tmp_path_factory.mktemp("srcbrowser") / "web.db")
    engine = make_engine(url)
    world = build(engine)
    permit_amounts(engine)  # SO2 0.5 t and COD 20 t a year for 甲热力公司
    with session_scope(engine) as s:  # the enterprise layer of the map needs coordinates
        for i, ent in enumerate(s.scalars(select(Enterprise).order_by(Enterprise.id))):
            ent.longitude, ent.latitude = Decimal("106.6") + i, Decimal("35.5")
    with session_scope(engine) as s:
        alarms.detect(s, now=NEXT_MIDNIGHT)  # the day's episodes, as the thread found them then
        e2 = s.scalar(select(Enterprise.id).where(Enterprise.name == "乙砖厂"))
        create_user(s, CLI, username="staff", password=PASSWORD, role="staff")
        create_user(s, CLI, username="brick", password=PASSWORD, role="enterprise",
                    enterprise_id=e2)  # fmt: skip
    engine.dispose()
    cwd = tmp_path_factory.mktemp("cwd")
    with serve(url, cwd) as (base, _hj212_port):
        yield {"base": base, "url": url, **world}


def _login(browser: Any, base: str, user: str) -> Any:
    page = browser.new_context(locale="zh-CN").new_page()
    page.goto(base + "/login")
    page.fill("#username", user)
    page.fill("#password", PASSWORD)
    page.click("#submit")
    page.wait_for_url(lambda u: "/login" not in u, timeout=10000)
    return page


def _status(url: str, pollutant: str) -> set[str]:
    engine = make_engine(url)
    with session_scope(engine) as s:
        out = set(
            s.scalars(
                select(SourceEpisode.status).where(
                    SourceEpisode.kind == "exceedance", SourceEpisode.pollutant == pollutant
                )
            )
        )
    engine.dispose()
    return out


def test_board_dossier_and_enterprise_scope(server: dict[str, Any]) -> None:
    base = server["base"]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        page = _login(browser, base, "staff")
        page.goto(base + "/sources")
        page.wait_for_selector("header nav a.active:text-is('污染源监管')")
        page.wait_for_selector("#exceeding tbody tr:has-text('E1-DW001')")
        page.wait_for_selector("#ranking tbody tr:has-text('乙砖厂')")
        assert "甲热力公司" in page.inner_text("#ranking")
        assert "数据恒值（线索）" in page.inner_text("#suspicious")
        # the board's tables as Excel, from the page's link
        r = page.request.get(base + "/" + (page.get_attribute("#export", "href") or ""))
        assert r.status == 200
        book = xi.sheet_values(r.body())
        assert list(book) == ["正在超标", "当前离线", "数据线索", "有效传输率排名"]
        assert any("E1-DW001" in row for row in book["正在超标"][2:])
        assert {row[0] for row in book["有效传输率排名"][2:]} == {"甲热力公司", "乙砖厂"}
        # the SO2 episode has cleared: confirm it with a finding and it closes
        row = page.locator("#to-confirm tbody tr:has-text('超标')").first
        episode_id = row.locator("td").first.inner_text()
        row.locator("button").click()
        page.wait_for_selector("#confirm-error:has-text('请填写核实情况')")
        page.fill(f"input[data-note='{episode_id}']", "已核实：脱硫剂供应中断，已恢复")
        page.click(f"button[data-confirm='{episode_id}']")
        page.wait_for_selector(f"button[data-confirm='{episode_id}']", state="detached")
        assert _status(server["url"], "a21026") == {"closed"}
        # 一企一档 from the ranking
        page.click("#ranking a:has-text('甲热力公司')")
        page.wait_for_selector("#ent-name:has-text('甲热力公司')")
        page.wait_for_selector("#limits tbody tr:has-text('GB 13271-2014')")
        assert "E1-DA001" in page.inner_text("#outlets")
        assert "已确认关闭" in page.inner_text("#episodes")
        # emissions against the permit: 67.5 kg of SO2 on 1 November, 0.5 t permitted
        so2 = page.locator("#emissions tbody tr:has-text('a21026')").inner_text()
        assert "0.068" in so2 and "0.500" in so2 and "13.50%" in so2
        assert "未核定" in page.inner_text("#emissions tbody tr:has-text('a34013')")
        # the map's enterprise layer: 甲热力公司 exceeding now (its COD episode holds)
        page.goto(base + "/map")
        page.wait_for_selector("#layers label:has-text('污染源企业')")
        status = page.evaluate("window.qingshanMap.enterprises")
        assert set(status) == {"甲热力公司", "乙砖厂"} and status["甲热力公司"] == "exceeding"
        # the region table on the board (computed after the board's tables)
        page.goto(base + "/sources")
        page.wait_for_selector("#regions tbody tr:has-text('a21026')")
        row = page.locator("#regions tbody tr:has-text('崆峒区'):has-text('a21026')").inner_text()
        assert "0.068" in row and "0.500" in row and "13.50%" in row

        # the enterprise user: its own enterprise only
        own = _login(browser, base, "brick")
        own.goto(base + "/sources")
        own.wait_for_selector("#ranking tbody tr:has-text('乙砖厂')")
        assert "甲热力公司" not in own.inner_text("main")
        own.wait_for_selector("#regions tbody tr:has-text('另一县')")
        assert "崆峒区" not in own.inner_text("#regions")
        own.goto(base + "/map")
        own.wait_for_selector("#layers label:has-text('污染源企业（1）')")
        assert list(own.evaluate("window.qingshanMap.enterprises")) == ["乙砖厂"]
        book = xi.sheet_values(own.request.get(base + "/api/v1/sources/board/export").body())
        assert [row[0] for row in book["有效传输率排名"][2:]] == ["乙砖厂"]
        own.goto(base + "/enterprise?code=" + server["e1"])
        own.wait_for_selector("#load-error:has-text('没有这家企业，或无权查看')")
        assert own.locator("#dossier").is_hidden()
        r = own.request.get(base + "/api/v1/sources/enterprises/" + server["e1"])
        assert r.status == 404
        r = own.request.get(base + "/api/v1/sources/alarms")
        assert r.status == 200 and r.json() == []
        own.goto(base + "/enterprise?code=" + server["e2"])
        own.wait_for_selector("#ent-name:has-text('乙砖厂')")
        browser.close()
