"""The case pages in real headless Chromium against a real ``qingshan serve``: a unit user takes
an inspection item from 交办 to 申请销号 with evidence, a staff user accepts, announces and signs
it off (销号); another unit's user is told the case is not there."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from casework import files
from conftest import migrated_sqlite_url
from qingshan.roles import CLI
from qingshan.services.accounts import create_user
from qingshan.services.cases import core
from qingshan.storage.db import make_engine, session_scope
from qingshan.storage.models import Region
from qingshan.storage.models_cases import CaseItem
from qingshan.storage.models_casework import AttachmentLink
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

pytestmark = pytest.mark.browser
sync_playwright = pytest.importorskip("playwright.sync_api").sync_playwright


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} missing: run `make test`", pytrace=False)
    url = migrated_sqlite_url(tmp_path_factory.mktemp("casebrowser") / "web.db")
    engine = make_engine(url)
    with session_scope(engine) as s:
        s.add(Region(code="620802", name="崆峒区", level="county"))
        s.flush()
        for code, name in (("SWJ", "水务局"), ("SHJ", "生态环境分局"), ("ZJJ", "住建局")):
            s.add(OrgUnit(code=code, name=name, kind="department", region_code="620802"))
        s.flush()
        create_user(s, CLI, username="staff", password=PASSWORD, role="staff")
        create_user(s, CLI, username="swj", password=PASSWORD, role="unit", unit="SWJ")
        create_user(s, CLI, username="zjj", password=PASSWORD, role="unit", unit="ZJJ")
        create_user(s, CLI, username="grid", password=PASSWORD, role="grid")
        core.open_case(
            s,
            CLI,
            core.CaseInput(
                origin="central_inspection",
                round=2,
                code="ZY2-W07",
                item_no="7",
                title="城区燃煤锅炉淘汰改造不到位",
                received_on=date(2026, 3, 2),
                lead_unit="SWJ",
                acceptance_unit="SHJ",
                region="620802",
                category="大气",
                due_on=date(2026, 12, 31),
            ),
        )
    engine.dispose()
    cwd = tmp_path_factory.mktemp("cwd")
    with serve(url, cwd, attachments_dir=str(cwd / "files")) as (base, _hj212_port):
        yield {"base": base, "url": url}


def _state(url: str) -> str:
    engine = make_engine(url)
    with session_scope(engine) as s:
        state = s.scalar(select(CaseItem.state).where(CaseItem.code == "ZY2-W07"))
    engine.dispose()
    return str(state)


def _login(browser: Any, base: str, user: str) -> Any:
    page = browser.new_context(locale="zh-CN").new_page()
    page.goto(base + "/login")
    page.fill("#username", user)
    page.fill("#password", PASSWORD)
    page.click("#submit")
    page.wait_for_url(lambda u: "/login" not in u, timeout=10000)
    return page


def _upload(page: Any, kind: str, name: str) -> None:
    page.select_option("#evidence-kind", kind)
    page.set_input_files(
        "#evidence-file",
        files=[{"name": name, "buffer": files.pdf(), "mimeType": "application/pdf"}],
    )
    page.click("#upload-form button[type=submit]")
    page.wait_for_selector(f"#evidence li:has-text('{name}')", timeout=15000)


def _do(page: Any, action: str, state: str, **fields: str) -> None:
    for name, value in fields.items():
        page.fill(f"#f-{action}-{name}", value)
    page.click(f"#do-{action}")
    page.wait_for_selector(f"#facts tr:has-text('状态'):has-text('{state}')", timeout=15000)


def test_unit_applies_for_sign_off_and_staff_closes(server: dict[str, Any]) -> None:
    base = server["base"]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        # the unit's inbox of cases, then the case
        page = _login(browser, base, "swj")
        page.goto(base + "/cases")
        page.wait_for_selector("#desk-title:has-text('本单位案件')")
        page.click("#cases a:text-is('ZY2-W07')")
        page.wait_for_selector("#title:has-text('城区燃煤锅炉')")
        _do(page, "begin", "整改中", measures="拆除燃煤锅炉，改为天然气供热")
        # completing without the evidence is refused with the reason, nothing changes
        page.fill("#f-complete-result", "已完成改造")
        page.click("#do-complete")
        page.wait_for_selector("#action-error:has-text('须上传「整改佐证材料」')")
        assert _state(server["url"]) == "rectifying"
        _upload(page, "rectification_report", "整改佐证.pdf")
        _do(page, "complete", "已完成整改", result="已完成改造")
        _upload(page, "statement", "销号申请.pdf")
        _do(page, "apply_sign_off", "已申请销号", application="申请销号")
        assert page.locator("#do-accept_district").count() == 0  # the acceptance unit's step
        assert _state(server["url"]) == "sign_off_requested"
        # another unit's user: not there
        other = _login(browser, base, "zjj")
        other.goto(base + "/case?code=ZY2-W07")
        other.wait_for_selector("#case-error:has-text('没有这件案件')")
        # the bureau accepts, announces and signs it off
        staff = _login(browser, base, "staff")
        staff.goto(base + "/case?code=ZY2-W07")
        staff.wait_for_selector("#title:has-text('ZY2-W07')")
        _upload(staff, "acceptance_record", "验收意见书.pdf")
        _do(staff, "accept_district", "区级验收通过", acceptance_opinion="同意销号")
        _upload(staff, "notice", "公示截图.pdf")
        _upload(staff, "sign_off_sheet", "销号审批表.pdf")
        _do(staff, "announce", "已公示", notice_start="2026-11-02", notice_end="2026-11-09")
        _do(staff, "close", "已销号")
        staff.wait_for_selector("#timeline li:has-text('销号')")
        timeline = staff.inner_text("#timeline")
        for text in ("签收整改", "完成整改", "申请销号", "区级验收", "swj（SWJ）"):
            assert text in timeline
        assert _state(server["url"]) == "closed"
        browser.close()


def test_grid_member_reports_from_a_phone_without_signal_then_sends(
    server: dict[str, Any],
) -> None:
    base = server["base"]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        ctx = browser.new_context(
            locale="zh-CN", viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True
        )
        page = ctx.new_page()
        page.goto(base + "/login")
        page.fill("#username", "grid")
        page.fill("#password", PASSWORD)
        page.click("#submit")
        page.wait_for_url(lambda u: "/login" not in u, timeout=10000)
        page.goto(base + "/report")
        page.wait_for_selector("#report-form")
        assert page.evaluate("document.documentElement.scrollWidth") <= 390  # fits the phone
        page.fill("#r-title", "河道内堆放生活垃圾")
        page.select_option("#r-category", "固体废物")
        page.fill("#r-lon", "106.684512")
        page.fill("#r-lat", "35.541230")
        photo = {"name": "现场.jpg", "buffer": files.jpeg_with_exif(), "mimeType": "image/jpeg"}
        page.set_input_files("#r-photo", files=[photo])
        ctx.set_offline(True)  # no signal in the field
        page.click("#r-submit")
        page.wait_for_selector("#r-result:has-text('已保存为草稿')")
        page.wait_for_selector("#drafts-count:has-text('1 条草稿待发送')")
        assert _patrols(server["url"]) == []
        ctx.set_offline(False)
        page.click("#send-drafts")
        page.wait_for_selector("#r-result:has-text('已发送')", timeout=15000)
        assert page.locator("#drafts-panel").is_hidden()
        ((code, title, lon, photos),) = _patrols(server["url"])
        assert (title, lon, photos) == ("河道内堆放生活垃圾", 106.684512, ["photo"])
        assert code.startswith("WG")
        browser.close()


def _patrols(url: str) -> list[tuple[str, str, float | None, list[str | None]]]:
    engine = make_engine(url)
    with session_scope(engine) as s:
        out = []
        for c in s.scalars(select(CaseItem).where(CaseItem.kind == "patrol")):
            links = s.scalars(
                select(AttachmentLink.evidence).where(AttachmentLink.entity_id == c.code)
            )
            out.append((c.code, c.title, c.longitude, list(links)))
    engine.dispose()
    return out
