"""A water section's page in real headless Chromium against a real ``qingshan serve`` on the
seeded district (issue 17): the section's class and each factor's class against its target,
the device's interval and last report, completeness at the 4-hour interval, and the chart —
one y-axis per unit, a calibration (C) value off the line and hidden by default, summarised as
counts per flag and day on a range longer than 7 days; no sideways scrolling on a phone."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from conftest import migrated_sqlite_url
from qingshan.storage.db import make_engine, session_scope
from qingshan.storage.models import Device, Observation, Site
from support.web_seed import PASSWORD, seed
from web.live import serve

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]

pytestmark = pytest.mark.browser
sync_playwright = pytest.importorskip("playwright.sync_api").sync_playwright


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int]]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} missing: run `make test`", pytrace=False)
    url = migrated_sqlite_url(tmp_path_factory.mktemp("section") / "web.db")
    engine = make_engine(url)
    with session_scope(engine) as s:
        seed(s)
        site = s.scalars(select(Site).where(Site.code == "WS01")).one()
        dev = s.scalars(select(Device.id).where(Device.site_id == site.id)).one()
        # the latest NH3-N sample but one is a calibration spike (C): off the line, not counted
        second = sorted(
            set(
                s.scalars(
                    select(Observation.data_time).where(
                        Observation.device_id == dev, Observation.code == "w21003"
                    )
                )
            )
        )[-2]
        s.execute(
            update(Observation)
            .where(
                Observation.device_id == dev,
                Observation.code == "w21003",
                Observation.data_time == second,
            )
            .values(value="2.50", flag="C")
        )
        site_id = site.id
    engine.dispose()
    with serve(url, tmp_path_factory.mktemp("cwd"), source_alarm_interval="0") as (web, _port):
        yield web, site_id


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield b
        b.close()


def _page(browser: Any, size: tuple[int, int], errors: list[str], base: str) -> Any:
    ctx = browser.new_context(viewport={"width": size[0], "height": size[1]}, locale="zh-CN")
    page = ctx.new_page()
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("response", lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    page.on(
        "request",
        lambda r: (
            None if r.url.startswith((base, "data:", "blob:")) else errors.append("left: " + r.url)
        ),
    )
    page.goto(base + "/login")
    page.fill("#username", "staff")
    page.fill("#password", PASSWORD)
    page.click("#submit")
    page.wait_for_url(lambda u: "/login" not in u)
    return page


CHART = """() => {
  const o = echarts.getInstanceByDom(document.getElementById("series-chart")).getOption();
  return { axes: o.yAxis.map((a) => a.name), selected: o.legend[0].selected,
    series: o.series.map((s) => ({ name: s.name, type: s.type, axis: s.yAxisIndex,
      nulls: s.data.filter((p) => p[1] === null).length, data: s.data })) };
}"""


def test_section_page_class_interval_and_chart(browser: Any, base: tuple[str, int]) -> None:
    web, site_id = base
    errors: list[str] = []
    page = _page(browser, (1366, 768), errors, web)
    page.goto(f"{web}/site?id={site_id}")
    page.wait_for_selector("#water-panel:not([hidden]) .wq-line")
    # DO 7.5 Ⅰ, CODMn 3.2 Ⅱ, NH3-N 0.4 Ⅱ (the C spike 2.50 not counted), TP 0.08 Ⅱ: Ⅱ, 目标 Ⅲ
    day = page.inner_text(".wq-line[data-period='day']")
    assert "水质类别 Ⅱ类" in day and "目标 Ⅲ类" in day and "达标" in day and "超标" not in day
    rows = {
        r.split("\t")[0]: r.split("\t")[1:]
        for r in page.locator("#water-class table").first.inner_text().splitlines()[1:]
    }
    assert rows["氨氮（mg/L）"][0] == "0.4" and rows["氨氮（mg/L）"][2].startswith("Ⅱ类")
    assert rows["溶解氧（mg/L）"][2].startswith("Ⅰ类") and rows["pH值"][2].startswith("Ⅰ类")
    devices = page.inner_text("#site-devices")
    assert "最后上报" in devices and "每4小时上报" in devices and "从未上报" not in devices
    # completeness at the 4-hour interval (hour data): every factor reports at 4 hours
    page.wait_for_selector("#completeness tbody tr")
    intervals = page.locator("#completeness tbody tr td:nth-child(2)").all_inner_texts()
    assert intervals and set(intervals) == {"每4小时"}
    # the chart: 毫克/升 (HJ 212 code table) and pH's 无量纲 on their own axes; the C value
    # off the line, hidden
    page.wait_for_selector("#series-note:has-text('因子')")
    c = page.evaluate(CHART)
    assert sorted(c["axes"]) == ["无量纲", "毫克/升"]
    nh3n = next(s for s in c["series"] if s["name"] == "氨氮（毫克/升）")
    assert nh3n["type"] == "line" and nh3n["nulls"] == 1
    flagged = [s for s in c["series"] if s["type"] == "scatter"]
    assert [s["name"] for s in flagged] == ["氨氮（毫克/升） 标记数据"]
    assert flagged[0]["data"][0][1:] == [2.5, "C"]
    assert c["selected"] == {"氨氮（毫克/升） 标记数据": False}
    # 30 days: no pin per value, one bar series per flag counting per Beijing day
    page.select_option("#days", "30")
    page.wait_for_function(
        "() => echarts.getInstanceByDom(document.getElementById('series-chart'))"
        ".getOption().series.some((s) => s.type === 'bar')"
    )
    c = page.evaluate(CHART)
    assert not [s for s in c["series"] if s["type"] == "scatter"]
    bars = [s for s in c["series"] if s["type"] == "bar"]
    assert [b["name"] for b in bars] == ["标记 C 校准（个/日）"]
    assert [p[1:] for p in bars[0]["data"]] == [[1, "C"]]
    assert c["axes"][bars[0]["axis"]] == "标记数（个/日）"
    assert c["selected"] == {"标记 C 校准（个/日）": False}
    assert "按日汇总" in page.inner_text("#series-note")
    page.check("#show-flags")
    assert page.evaluate(CHART)["selected"]["标记 C 校准（个/日）"] is True
    assert errors == []


def test_section_page_on_a_phone(browser: Any, base: tuple[str, int]) -> None:
    web, site_id = base
    errors: list[str] = []
    page = _page(browser, (390, 844), errors, web)
    page.goto(f"{web}/site?id={site_id}")
    page.wait_for_selector("#water-panel:not([hidden]) .wq-line")
    page.wait_for_selector("#series-note:has-text('因子')")
    wide = page.evaluate("() => document.scrollingElement.scrollWidth - window.innerWidth")
    assert wide <= 0
    assert errors == []
