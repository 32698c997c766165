"""Registry detail and edit in real headless Chromium against a real ``qingshan serve``: a staff
member opens an enterprise from the registry page, edits it and sees the change on its
timeline; a bad edit is refused with the message beside the field and nothing changes; the
inbox page lists a notice, marks it read and the header's unread count follows."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from conftest import migrated_sqlite_url
from qingshan.roles import CLI
from qingshan.services import notifications
from qingshan.services.accounts import create_user
from qingshan.services.registry import enterprises, regions
from qingshan.services.registry.rules import credit_check_char
from qingshan.storage.db import make_engine, session_scope
from qingshan.storage.models import Enterprise
from qingshan.storage.models_web import AuditEntry
from support.web_seed import PASSWORD
from web.live import serve
from web.test_registry_browser import ARGS, CHROMIUM, _wait_text

pytestmark = pytest.mark.browser
sync_playwright = pytest.importorskip("playwright.sync_api").sync_playwright

BODY = "91620200MA71ABCD1"
STEEL = BODY + credit_check_char(BODY)  # invented


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} missing: run `make test`", pytrace=False)
    url = migrated_sqlite_url(tmp_path_factory.mktemp("regedit") / "web.db")
    engine = make_engine(url)
    with session_scope(engine) as s:
        regions.create_region(s, CLI, regions.RegionRecord("620000", "甘肃省"))
        regions.create_region(s, CLI, regions.RegionRecord("620200", "嘉峪关市", "620000"))
        enterprises.create_enterprise(
            s,
            CLI,
            enterprises.EnterpriseRecord(
                STEEL,
                "嘉峪关某钢铁有限公司",
                "620200",
                industry_code="C3120",
                industry="炼钢",
                control_level="国控",
                permit_class="重点管理",
                longitude="98.3",
                latitude="39.8",
            ),
        )
        staff = create_user(s, CLI, username="staff", password=PASSWORD, role="staff")
        s.flush()
        notifications.notify(
            s,
            [staff.id],
            kind="registry_import",
            subject="登记表「嘉峪关.xlsx」已导入",
            body="写入 3 行。",
            entity_type="enterprise",
            entity_id=STEEL,
            email=False,
        )
    engine.dispose()
    cwd = tmp_path_factory.mktemp("cwd")
    with serve(url, cwd, attachments_dir=str(cwd / "files")) as (base, _hj212_port):
        yield {"base": base, "url": url}


def _enterprise(url: str) -> tuple[str, str | None, int]:
    engine = make_engine(url)
    with session_scope(engine) as s:
        e = s.scalar(select(Enterprise).where(Enterprise.credit_code == STEEL))
        assert e is not None
        audits = s.scalar(select(func.count()).select_from(AuditEntry)) or 0
        out = (e.name, None if e.longitude is None else str(e.longitude), audits)
    engine.dispose()
    return out


def test_staff_edits_an_enterprise_and_a_bad_edit_is_refused(server: dict[str, Any]) -> None:
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        page = browser.new_context(locale="zh-CN").new_page()
        page.goto(server["base"] + "/login")
        page.fill("#username", "staff")
        page.fill("#password", PASSWORD)
        page.click("#submit")
        page.wait_for_url(lambda u: "/login" not in u, timeout=10000)
        page.goto(server["base"] + "/registry")
        page.click(f"#enterprises a:text-is('{STEEL}')")
        page.wait_for_url(lambda u: "registry-item" in u, timeout=10000)
        page.wait_for_selector("#title:has-text('嘉峪关某钢铁有限公司')")
        assert page.input_value("#f-industry_code") == "C3120"
        assert page.locator("#f-credit_code").is_disabled()
        _wait_text(page, "#timeline", "新建登记企业")

        # a good edit: saved, on the timeline with the old and new name
        page.fill("#f-name", "嘉峪关钢铁集团有限公司")
        page.click("#save")
        page.wait_for_selector("#edit-done:has-text('已保存')")
        _wait_text(page, "#timeline tbody tr:first-child", "修改登记企业", "嘉峪关钢铁集团有限公司")
        assert "嘉峪关某钢铁有限公司" in page.inner_text("#timeline tbody tr:first-child")
        name, lon, audits = _enterprise(server["url"])
        assert (name, lon) == ("嘉峪关钢铁集团有限公司", "98.300000")

        # a bad edit: refused, the message beside the field, nothing written
        page.fill("#f-longitude", "8.3")
        page.fill("#f-name", "不应保存的名称")
        page.click("#save")
        page.wait_for_selector("#edit-error:has-text('不在中国境内')")
        assert "不在中国境内" in page.inner_text("#e-longitude")
        assert page.locator("#l-longitude.bad-field").count() == 1
        assert page.input_value("#f-name") == "不应保存的名称"  # what was typed is kept
        assert _enterprise(server["url"]) == ("嘉峪关钢铁集团有限公司", "98.300000", audits)
        assert page.locator("#timeline tbody tr").count() == 2

        # the inbox: the header counts the unread notice; reading it clears the count
        page.wait_for_selector("#unread:has-text('1')")
        page.click("#nav-inbox")
        page.wait_for_selector("#messages tr.unread:has-text('嘉峪关.xlsx')")
        assert page.locator(f"#messages a:text-is('{STEEL}')").count() == 1
        with page.expect_response(lambda r: r.url.endswith("/read")) as marked:
            page.click("#messages button.mark")
        assert marked.value.json()["read"] is True
        # The inbox API commits after its answer is sent (FastAPI's default dependency scope),
        # so the list is read again until the commit shows (at most 30 s).
        for _ in range(30):
            if "未读 0 条" in page.inner_text("#unread-line"):
                break
            page.wait_for_timeout(1000)
            page.reload()
            page.wait_for_selector("#messages tbody tr")
        assert "未读 0 条" in page.inner_text("#unread-line")
        assert page.locator("#messages tr.unread").count() == 0
        # another page's header asks for the unread count: none, so no badge
        with page.expect_response(lambda r: "inbox?unread_only" in r.url) as answer:
            page.goto(server["base"] + "/registry")
        assert answer.value.json()["unread"] == 0
        page.wait_for_selector("#enterprises tbody tr")
        assert page.locator("#unread").is_hidden()
        browser.close()
