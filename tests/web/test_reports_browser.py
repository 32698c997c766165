"""The 报告 page in real headless Chromium against a real ``qingshan serve``: a member of staff
types 问题与建议 and saves it, a leader records 审核 and 签发, and the monthly report downloaded
from the page as Word holds the title, the typed text and the 签发 line (read back with
python-docx); a bad period and a month without stored figures show their Chinese messages;
the server answers other requests while it builds a report."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import docx
import httpx
import pytest

from conftest import migrated_sqlite_url
from qingshan.services.figures import recompute_all
from qingshan.storage.db import make_engine, session_factory, session_scope
from support.web_seed import PASSWORD, seed
from web.live import serve
from web.test_registry_browser import ARGS, CHROMIUM
from web.test_reports_api import stored_month

pytestmark = pytest.mark.browser
sync_playwright = pytest.importorskip("playwright.sync_api").sync_playwright

TYPED = "一是本月城区臭氧浓度偏高，建议加强挥发性有机物治理。\n二是请各乡镇落实扬尘管控责任。"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} missing: run `make test`", pytrace=False)
    url = migrated_sqlite_url(tmp_path_factory.mktemp("reports") / "web.db")
    engine = make_engine(url)
    with session_scope(engine) as s:
        seed(s)  # two days of data: the figures of their month are stored
    recompute_all(session_factory(engine))
    engine.dispose()
    month = stored_month(url)
    cwd = tmp_path_factory.mktemp("cwd")
    with serve(url, cwd, attachments_dir=str(cwd / "files")) as (base, _hj212_port):
        yield base, month


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield b
        b.close()


def _page(browser: Any, base: str, user: str, errors: list[str]) -> Any:
    ctx = browser.new_context(locale="zh-CN", timezone_id="UTC", accept_downloads=True)
    r = ctx.request.post(base + "/api/v1/auth/login", data={"username": user, "password": PASSWORD})
    assert r.status == 200, r.text()
    page = ctx.new_page()
    page.on("pageerror", lambda e: errors.append(str(e)))
    return page


def _open(page: Any, base: str, kind: str, period: str) -> None:
    page.goto(f"{base}/reports?kind={kind}&period={period}")
    # generous: the machine may be busy with other test runs
    page.wait_for_selector("header nav a.active:text-is('报告')", timeout=60_000)
    page.wait_for_selector("#issue:not([hidden]) #status[data-status]", timeout=60_000)


def test_staff_writes_leader_signs_and_the_word_file_has_it(
    browser: Any, server: tuple[str, str], tmp_path: Path
) -> None:
    base, month = server
    y, m = (int(x) for x in month.split("-"))
    errors: list[str] = []
    staff = _page(browser, base, "staff", errors)
    _open(staff, base, "monthly", month)
    assert staff.inner_text("#issue-title") == f"{y}年{m}月环境质量月报"
    assert staff.inner_text("#status") == "草稿"
    assert staff.locator("#approve").is_hidden()  # staff write, leaders approve
    staff.fill("#advice", TYPED)
    staff.click("#save")
    staff.wait_for_selector("#saved:has-text('已保存')")

    leader = _page(browser, base, "leader", errors)
    _open(leader, base, "monthly", month)
    assert leader.input_value("#advice") == TYPED
    assert leader.locator("#save").is_hidden()  # leaders do not write the text
    leader.fill("#approver", "李四")
    leader.click("#review")
    leader.wait_for_selector("#status:has-text('已审核')")
    assert "审核：李四（" in leader.inner_text("#signoff")
    leader.fill("#approver", "王五")
    leader.click("#sign")
    leader.wait_for_selector("#status:has-text('已签发')")
    assert "签发：王五（" in leader.inner_text("#signoff")
    assert leader.locator("#approve").is_hidden()

    staff.reload()
    staff.wait_for_selector("#status:has-text('已签发')")
    assert staff.locator("#save").is_hidden()  # issued: frozen
    with staff.expect_download(timeout=120_000) as dl:
        staff.click("#docx")
    download = dl.value
    name = f"崆峒区{y}年{m}月环境质量月报.docx"
    assert download.suggested_filename == name
    path = tmp_path / name
    download.save_as(path)
    text = [p.text for p in docx.Document(str(path)).paragraphs]
    assert "崆峒区环境质量月报" in text
    assert "一是本月城区臭氧浓度偏高，建议加强挥发性有机物治理。" in text
    assert "二是请各乡镇落实扬尘管控责任。" in text
    assert any(t.startswith("签发：王五（") for t in text)
    staff.wait_for_selector(f"#download-status:has-text('{name}')")
    assert not errors, errors


def test_bad_period_and_month_without_figures_show_messages(
    browser: Any, server: tuple[str, str]
) -> None:
    base = server[0]
    errors: list[str] = []
    page = _page(browser, base, "staff", errors)
    _open(page, base, "monthly", "2019-02")  # a month is editable before its figures exist
    page.click("#docx")
    page.wait_for_selector("#download-error:has-text('2019年2月没有已存储的空气质量计算结果')")
    page.fill("#period", "2026-13")
    page.click("#pick button[type=submit]")
    page.wait_for_selector("#pick-error:has-text('请按 YYYY-MM 填写')")
    assert page.locator("#issue").is_hidden()
    page.select_option("#kind", "annual")
    assert page.inner_text("#period-name") == "年份"
    page.fill("#period", "26")
    page.click("#pick button[type=submit]")
    page.wait_for_selector("#pick-error:has-text('请按 YYYY 填写')")
    assert not errors, errors


def test_generation_runs_off_the_event_loop(server: tuple[str, str]) -> None:
    """While a report is being built, the same server answers other requests: the
    build runs in a worker thread (on the event loop, /healthz would wait for it)."""
    base, month = server
    with httpx.Client(base_url=base, timeout=120) as c:
        r = c.post("/api/v1/auth/login", json={"username": "leader", "password": PASSWORD})
        assert r.status_code == 200, r.text
        # the session cookie is Secure: httpx keeps it off plain http, so send it by hand
        cookie = "; ".join(f"{k}={v}" for k, v in r.cookies.items())
        done: list[httpx.Response] = []
        t = threading.Thread(
            target=lambda: done.append(
                c.get(
                    f"/api/v1/reports/download?kind=monthly&period={month}&format=docx",
                    headers={"Cookie": cookie},
                )
            )
        )
        t.start()
        answered_during = 0
        while t.is_alive():
            with httpx.Client(base_url=base, timeout=120) as other:
                ok = other.get("/healthz").status_code == 200
            if ok and t.is_alive():
                answered_during += 1
            time.sleep(0.05)
        t.join()
    assert done and done[0].status_code == 200, done and done[0].text
    # on the event loop, at most one answer could slip in before the build and one after
    assert answered_during >= 3, answered_during
