"""The case desk's forms and map in real headless Chromium against a real ``qingshan serve``:
the bureau opens a complaint from the desk (units, region, working-day deadline), edits it,
extends it with a reason and voids it with a reason, each on the timeline; the desk's map
shows the listed cases coloured by warning and follows the filters; an alarm case's 确认
button is the bureau's only and closes the cleared episode's case; an enterprise user reads
its own case and is told another is not there; an administrator sets the alarm cases' unit;
the statistics show year on year."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from conftest import migrated_sqlite_url
from qingshan.roles import CLI
from qingshan.services.accounts import create_user
from qingshan.services.cases import core
from qingshan.services.sources import alarms
from qingshan.storage.db import make_engine, session_scope
from qingshan.storage.models import Enterprise
from qingshan.storage.models_cases import CaseItem
from qingshan.storage.models_registry import OrgUnit
from sources.conftest import build
from sources.test_source_alarms import NEXT_MIDNIGHT
from support.web_seed import PASSWORD
from web.live import serve

from .test_cases_browser import ARGS, CHROMIUM

pytestmark = pytest.mark.browser
sync_playwright = pytest.importorskip("playwright.sync_api").sync_playwright


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} missing: run `make test`", pytrace=False)
    url = migrated_sqlite_url(tmp_path_factory.mktemp("caseforms") / "web.db")
    engine = make_engine(url)
    build(engine)  # regions 620802 / 620803, two enterprises with outlets and their data
    with session_scope(engine) as s:
        for code, name in (("SWJ", "水务局"), ("SHJ", "生态环境分局"), ("ZJJ", "住建局")):
            s.add(OrgUnit(code=code, name=name, kind="department", region_code="620802"))
        s.flush()
        e1 = s.scalar(select(Enterprise).where(Enterprise.name == "甲热力公司"))
        e2 = s.scalar(select(Enterprise).where(Enterprise.name == "乙砖厂"))
        assert e1 is not None and e2 is not None
        e1.longitude, e1.latitude = Decimal("106.700000"), Decimal("35.550000")
        e1_id = e1.id
        create_user(s, CLI, username="staff", password=PASSWORD, role="staff")
        create_user(s, CLI, username="admin", password=PASSWORD, role="admin")
        create_user(s, CLI, username="swj", password=PASSWORD, role="unit", unit="SWJ")
        create_user(
            s, CLI, username="ent1", password=PASSWORD, role="enterprise", enterprise_id=e1.id
        )
        create_user(
            s, CLI, username="ent2", password=PASSWORD, role="enterprise", enterprise_id=e2.id
        )
        # an overdue item at a point (red: 30 days late), one at an enterprise not yet due,
        # one nowhere
        for code, kw in (
            ("ZY1-P", {"longitude": "106.66", "latitude": "35.54"}),
            ("ZY1-E", {"enterprise": e1.credit_code, "due_on": date(2027, 9, 30)}),
            ("ZY1-N", {}),
        ):
            core.open_case(
                s,
                CLI,
                core.CaseInput(
                    origin="central_inspection", round=1, code=code, title=f"示例问题 {code}",
                    received_on=date(2025, 3, 2), lead_unit="SWJ", acceptance_unit="SHJ",
                    region="620802", category="大气", **{"due_on": date(2025, 9, 30), **kw},
                ),
            )  # fmt: skip
        s.flush()
        s.scalar(select(CaseItem).where(CaseItem.code == "ZY1-P")).warning = "red"  # type: ignore[union-attr]
        alarms.detect(s, now=NEXT_MIDNIGHT)  # the two exceedances of 甲热力公司 open cases
    engine.dispose()
    cwd = tmp_path_factory.mktemp("cwd")
    with serve(url, cwd, attachments_dir=str(cwd / "files")) as (base, _hj212_port):
        yield {"base": base, "url": url, "e1": e1_id}


def _case(url: str, code: str) -> CaseItem:
    engine = make_engine(url)
    with session_scope(engine) as s:
        c = s.scalar(select(CaseItem).where(CaseItem.code == code))
        assert c is not None
        s.expunge(c)
    engine.dispose()
    return c


def _alarm_codes(url: str) -> list[str]:
    engine = make_engine(url)
    with session_scope(engine) as s:
        out = list(
            s.scalars(
                select(CaseItem.code)
                .where(CaseItem.origin == "automatic_alarm")
                .order_by(CaseItem.code)
            )
        )
    engine.dispose()
    return out


def _login(browser: Any, base: str, user: str) -> Any:
    page = browser.new_context(locale="zh-CN").new_page()
    page.goto(base + "/login")
    page.fill("#username", user)
    page.fill("#password", PASSWORD)
    page.click("#submit")
    page.wait_for_url(lambda u: "/login" not in u, timeout=30000, wait_until="commit")
    return page


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield b
        b.close()


def test_bureau_opens_edits_extends_and_voids_a_case(server: dict[str, Any], browser: Any) -> None:
    base = server["base"]
    page = _login(browser, base, "staff")
    page.goto(base + "/cases")
    page.wait_for_selector("body[data-ready='1']", timeout=20000)
    page.click("#new-toggle")
    page.select_option("#n-origin", "hotline")
    page.select_option("#n-channel", "12369")
    assert page.locator("#n-round").is_hidden()  # no rounds outside inspections
    page.fill("#n-title", "反映砖厂夜间噪声扰民")
    page.select_option("#n-category", "噪声")
    page.select_option("#n-region", "620802")
    page.select_option("#n-lead_unit", "SWJ")
    page.select_option("#n-supporting_units", ["ZJJ"])
    page.fill("#n-received_on", "2026-11-02")
    page.select_option("#n-deadline_mode", "working")
    page.fill("#n-deadline_days", "10")
    page.click("#n-submit")
    page.wait_for_url(lambda u: "/case?code=XF" in u, timeout=15000)
    page.wait_for_selector("#title:has-text('反映砖厂夜间噪声扰民')")
    code = page.url.split("code=")[1]
    c = _case(server["url"], code)
    assert (c.kind, c.channel, c.lead_unit, c.category) == ("complaint", "12369", "SWJ", "噪声")
    assert c.due_basis is not None and "10个工作日" in c.due_basis
    assert c.due_on == date(2026, 11, 16)
    # edit: another lead unit and title; on the timeline
    page.click("#edit-toggle")
    page.wait_for_selector("#e-title")
    page.fill("#e-title", "反映砖厂夜间噪声和粉尘扰民")
    page.select_option("#e-lead_unit", "ZJJ")
    page.select_option("#e-supporting_units", ["SWJ"])
    page.click("#edit-submit")
    page.wait_for_selector("#facts tr:has-text('牵头单位'):has-text('ZJJ')", timeout=15000)
    page.wait_for_selector("#timeline li:has-text('修改案件信息')")
    c2 = _case(server["url"], code)
    assert (c2.title, c2.lead_unit, c2.due_on) == ("反映砖厂夜间噪声和粉尘扰民", "ZJJ", c.due_on)
    # a refused edit says why and changes nothing
    page.click("#edit-toggle")
    page.wait_for_selector("#e-title")
    page.select_option("#e-acceptance_unit", "ZJJ")
    page.click("#edit-submit")
    page.wait_for_selector("#manage-error:has-text('验收单位须与整改牵头单位不同')")
    # 延期办理 with a reason
    page.fill("#extend-days", "15")
    page.fill("#extend-reason", "需委托监测夜间噪声")
    page.click("#extend-submit")
    page.wait_for_selector("#timeline li:has-text('延期办理15日')", timeout=15000)
    assert page.locator("#extend-form").is_hidden()  # once only
    # 作废 with a reason
    page.fill("#f-void-void_reason", "与已登记案件重复")
    page.click("#do-void")
    page.wait_for_selector("#facts tr:has-text('状态'):has-text('已作废')", timeout=15000)
    assert page.locator("#manage").is_hidden()
    assert _case(server["url"], code).state == "voided"


def test_desk_map_follows_the_filters(server: dict[str, Any], browser: Any) -> None:
    base = server["base"]
    page = _login(browser, base, "staff")
    page.goto(base + "/cases")
    page.wait_for_selector("body[data-ready='1']", timeout=20000)
    page.wait_for_selector("#map-note:has-text('地图上')")
    markers = {
        m["code"]: m["colour"]
        for m in json.loads(page.get_attribute("#case-map", "data-markers") or "[]")
    }
    assert markers["ZY1-P"] == "red" and markers["ZY1-E"] == "ok"
    assert "ZY1-N" not in markers  # no location
    # one SVG marker per located case, with its code
    assert page.locator("#case-map path.leaflet-interactive[data-code='ZY1-P']").count() == 1
    assert page.locator("#case-map path.leaflet-interactive[data-code='ZY1-N']").count() == 0
    page.select_option("#f-kind", "alarm")
    page.click("#filters button[type=submit]")
    page.wait_for_function(
        "() => JSON.parse(document.querySelector('#case-map').dataset.markers)"
        ".every((m) => m.code.startsWith('BJ'))"
    )
    alarm_markers = json.loads(page.get_attribute("#case-map", "data-markers") or "[]")
    assert alarm_markers  # alarm cases sit at their outlet or, here, their enterprise
    for m in alarm_markers:
        c = _case(server["url"], m["code"])
        assert (c.origin, c.enterprise_id) == ("automatic_alarm", server["e1"])
    # statistics: year on year
    page.fill("#yoy-year", "2026")
    page.click("#yoy-form button[type=submit]")
    page.wait_for_selector("#yoy tbody tr:has-text('自动监控报警')")
    page.wait_for_selector("#yoy thead th:has-text('2025年受理')")


def test_confirm_an_alarm_case_enterprise_reads_its_own_admin_sets_unit(
    server: dict[str, Any], browser: Any
) -> None:
    base = server["base"]
    codes = _alarm_codes(server["url"])
    assert codes
    # the cleared SO2 exceedance (first of the day's alarm cases)
    code = codes[0]
    unit = _login(browser, base, "swj")
    assert unit.goto(base + f"/case?code={code}") is not None
    unit.wait_for_selector("#case-error:has-text('没有这件案件')")  # not its case
    staff = _login(browser, base, "staff")
    staff.goto(base + f"/case?code={code}")
    staff.wait_for_selector(f"#title:has-text('{code}')")
    staff.wait_for_selector(".notice:has-text('未设置自动监控报警的责任单位')")
    assert staff.locator("#confirm-form").is_visible()
    staff.fill("#confirm-note", "已核实：脱硫剂供应中断")
    staff.click("#confirm-submit")
    staff.wait_for_selector("#timeline li:has-text('已核实：脱硫剂供应中断')", timeout=15000)
    assert staff.locator("#confirm-form").is_hidden()
    ent = _login(browser, base, "ent1")
    ent.goto(base + "/cases")
    ent.wait_for_selector("#desk-title:has-text('本企业案件')")
    ent.wait_for_selector("body[data-ready='1']", timeout=20000)
    ent.uncheck("#f-open")  # the confirmed case is closed now
    ent.click("#filters button[type=submit]")
    ent.wait_for_selector(f"#cases a:text-is('{code}')")
    assert ent.locator("#cases a:text-is('ZY1-P')").count() == 0
    ent.goto(base + f"/case?code={code}")
    ent.wait_for_selector(f"#title:has-text('{code}')")
    for hidden in ("#upload-form", "#comment-form", "#timeline-panel", "#confirm-form", "#manage"):
        assert ent.locator(hidden).is_hidden(), hidden
    other = _login(browser, base, "ent2")
    other.goto(base + f"/case?code={code}")
    other.wait_for_selector("#case-error:has-text('没有这件案件')")
    # an administrator names the unit for 崆峒区's alarms
    admin = _login(browser, base, "admin")
    admin.goto(base + "/cases")
    admin.wait_for_selector("body[data-ready='1']", timeout=20000)
    admin.wait_for_selector("#alarm-leads-none")
    admin.select_option("#al-region", "620802")
    admin.select_option("#al-unit", "SHJ")
    admin.click("#al-submit")
    admin.wait_for_selector("#alarm-leads tr[data-region='620802']:has-text('生态环境分局')")
    staff.goto(base + "/cases")
    staff.wait_for_selector("body[data-ready='1']", timeout=20000)
    assert staff.locator("#alarm-lead-form").is_hidden()  # staff read the rule
    staff.wait_for_selector("#alarm-leads tr[data-region='620802']")
