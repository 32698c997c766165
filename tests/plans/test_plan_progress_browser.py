"""Task progress on the 规划指标 page in real headless Chromium against a real
``qingshan serve``: a responsible unit reports progress on its task with an evidence file,
staff accept it from the list, and the task list shows the accepted progress."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from conftest import migrated_sqlite_url
from qingshan.roles import CLI
from qingshan.services.accounts import create_user
from qingshan.services.plans import tasks
from qingshan.storage.db import make_engine, session_scope
from qingshan.storage.models_registry import OrgUnit
from support.web_seed import PASSWORD
from web.live import serve

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"

pytestmark = pytest.mark.browser
sync_playwright = pytest.importorskip("playwright.sync_api").sync_playwright


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} missing: run `make test`", pytrace=False)
    url = migrated_sqlite_url(tmp_path_factory.mktemp("planprogress") / "web.db")
    engine = make_engine(url)
    with session_scope(engine) as s:
        tasks.load(s, CLI, "jiayuguan-2020")
        hw = s.scalar(select(OrgUnit.code).where(OrgUnit.name == "市环卫局"))
        create_user(s, CLI, username="huanwei", password=PASSWORD, role="unit", unit=hw)
        create_user(s, CLI, username="staff", password=PASSWORD, role="staff")
    engine.dispose()
    cwd = tmp_path_factory.mktemp("cwd")
    with serve(url, cwd, attachments_dir=str(cwd / "files")) as (base, _hj212_port):
        yield base


def _login(page: Any, base: str, user: str) -> None:
    page.goto(base + "/login")
    page.fill("#username", user)
    page.fill("#password", PASSWORD)
    page.click("#submit")
    page.wait_for_url(lambda u: "/login" not in u, timeout=10000)
    page.goto(base + "/plans")
    page.wait_for_selector("#tasks tbody tr[data-no='15']")


def test_a_unit_reports_task_progress_and_staff_accept(server: str) -> None:
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        unit = browser.new_context(locale="zh-CN").new_page()
        _login(unit, server, "huanwei")
        # the unit's own tasks only (15 and 7)
        unit.wait_for_selector("#progress-task option[value='15']", state="attached")
        assert unit.locator("#progress-task option").count() == 2
        unit.select_option("#progress-task", "15")
        unit.fill("#progress-percent", "60")
        unit.fill("#progress-text", "已建成垃圾转运站2座")
        unit.set_input_files(
            "#progress-evidence",
            files=[{"name": "转运站验收.pdf", "buffer": PDF, "mimeType": "application/pdf"}],
        )
        unit.click("#progress-form button[type=submit]")
        unit.wait_for_selector("#progress-result:has-text('已报送：任务 15 进度 60%')")
        unit.wait_for_selector("#progress-reports tbody tr:has-text('已报送')")
        assert unit.locator("#progress-reports button.p-accept").count() == 0

        staff = browser.new_context(locale="zh-CN").new_page()
        _login(staff, server, "staff")
        row = staff.locator("#progress-reports tbody tr:has-text('已建成垃圾转运站2座')")
        row.wait_for()
        assert "1 份" in row.inner_text()
        row.locator("button.p-accept").click()
        staff.wait_for_selector("#progress-reports tbody tr:has-text('已采纳')")
        done = "#tasks tbody tr[data-no='15']:has-text('60%：已建成垃圾转运站2座')"
        staff.wait_for_selector(done)
        browser.close()
