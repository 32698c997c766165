"""The 规划指标 page in real headless Chromium against a real ``qingshan serve``: a unit user
reports an indicator value with its evidence file, a staff member accepts it from the review
queue, and the plan board shows the value with its status colour."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from conftest import migrated_sqlite_url
from qingshan.roles import CLI
from qingshan.services import plans
from qingshan.services.accounts import create_user
from qingshan.storage.db import make_engine, session_scope
from qingshan.storage.models_casework import AttachmentLink
from qingshan.storage.models_plans import PlanReport
from qingshan.storage.models_registry import OrgUnit
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
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"

pytestmark = pytest.mark.browser
sync_playwright = pytest.importorskip("playwright.sync_api").sync_playwright


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} missing: run `make test`", pytrace=False)
    url = migrated_sqlite_url(tmp_path_factory.mktemp("planbrowser") / "web.db")
    engine = make_engine(url)
    with session_scope(engine) as s:
        plans.load_template(s, CLI, "kongtong-14th")
        s.add(OrgUnit(code="LCJ", name="区林草局", kind="department", region_code="620802"))
        s.flush()
        create_user(s, CLI, username="forest", password=PASSWORD, role="unit", unit="LCJ")
        create_user(s, CLI, username="staff", password=PASSWORD, role="staff")
    engine.dispose()
    cwd = tmp_path_factory.mktemp("cwd")
    with serve(url, cwd, attachments_dir=str(cwd / "files")) as (base, _hj212_port):
        yield {"base": base, "url": url}


def _login(page: Any, base: str, user: str) -> None:
    page.goto(base + "/login")
    page.fill("#username", user)
    page.fill("#password", PASSWORD)
    page.click("#submit")
    page.wait_for_url(lambda u: "/login" not in u, timeout=10000)
    page.goto(base + "/plans")
    page.wait_for_selector("header nav a.active:text-is('规划指标')")
    page.wait_for_selector("#board tbody tr[data-no='21']")


def test_a_unit_reports_with_evidence_and_staff_accept(server: dict[str, Any]) -> None:
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        unit = browser.new_context(locale="zh-CN").new_page()
        _login(unit, server["base"], "forest")
        assert unit.locator("#board tbody tr").count() == 21
        assert unit.locator("#review-panel").is_hidden()
        unit.select_option("#indicator", "20")
        unit.fill("#value", "24.95")
        unit.fill("#note", "2026年森林资源年报")
        unit.set_input_files(
            "#evidence",
            files=[{"name": "森林资源年报.pdf", "buffer": PDF, "mimeType": "application/pdf"}],
        )
        unit.click("#report-form button[type=submit]")
        unit.wait_for_selector("#report-result:has-text('已报送')")
        unit.wait_for_selector("#my-reports tbody tr:has-text('已报送')")

        staff = browser.new_context(locale="zh-CN").new_page()
        _login(staff, server["base"], "staff")
        row = staff.locator("#queue tbody tr:has-text('森林覆盖率')")
        row.wait_for()
        assert "24.95" in row.inner_text() and "1 份" in row.inner_text()
        row.locator("button.accept").click()
        staff.wait_for_selector("#queue tbody tr", state="detached")
        forest = staff.locator("#board tbody tr[data-no='20']")
        staff.wait_for_selector("#board tbody tr[data-no='20'] .st-on_track")
        assert "24.95" in forest.inner_text() and "进度正常" in forest.inner_text()

        unit.reload()
        unit.wait_for_selector("#my-reports tbody tr:has-text('已采纳')")
        browser.close()
    engine = make_engine(server["url"])
    with session_scope(engine) as s:
        r = s.scalars(select(PlanReport)).one()
        assert (r.state, r.value, r.unit_code) == ("accepted", "24.95", "LCJ")
        link = s.scalars(
            select(AttachmentLink).where(AttachmentLink.entity_type == "plan_report")
        ).one()
        assert (link.entity_id, link.evidence, link.file_name) == (
            str(r.id),
            "evidence",
            "森林资源年报.pdf",
        )
    engine.dispose()
