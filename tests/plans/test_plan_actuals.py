"""崆峒区's air and water indicators filled from demo-like monitoring data, with a projection
to the year's end; SQLite and PostgreSQL. Every figure is checked against an independent
computation from the figures services' own daily values and the standards engine."""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import date, datetime
from fractions import Fraction

import pytest
from sqlalchemy import Engine

from conftest import migrated_sqlite_url, truncate_all
from qingshan.demo import loader as demo_loader
from qingshan.demo.district import load_district
from qingshan.demo.synth import generate
from qingshan.roles import CLI
from qingshan.services import plans
from qingshan.services.figures import air_quality, recompute_all
from qingshan.services.figures import water as water_figures
from qingshan.services.figures._common import sites
from qingshan.services.plans import assess
from qingshan.standards import drinking_water, water
from qingshan.storage import partitions
from qingshan.storage.db import make_engine, session_factory, session_scope
from qingshan.storage.models import SiteKind

START = datetime(2026, 1, 1)
END = datetime(2026, 2, 16)  # exclusive
TODAY = date(2026, 2, 16)  # so the year so far is 1 January … 15 February (46 days)
AIR_SITES = ("AQ01", "AQ02", "AQ03", "AQ04", "AQ05")


def _seed(url: str) -> None:
    engine = make_engine(url)
    d = load_district()
    ids = demo_loader.load_registry(engine, d)
    res = generate(d, START, END, kinds=("air", "section", "source"))
    keep = set(AIR_SITES) | {s.id for s in d.sections} | {w.id for w in d.water_sources}
    demo_loader.ingest_rows(engine, demo_loader.result_rows(res, ids, keep))
    recompute_all(session_factory(engine))
    engine.dispose()


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def seeded(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Engine]:
    if request.param == "sqlite":
        url = migrated_sqlite_url(tmp_path_factory.mktemp("plan") / "q.db")
    else:
        url = request.getfixturevalue("pg_module_url")
        e = make_engine(url)
        truncate_all(e)
        partitions.forget(e)
        e.dispose()
    _seed(url)
    engine = make_engine(url)
    with session_scope(engine) as s:
        plans.load_template(s, CLI, "kongtong-14th")
    yield engine
    engine.dispose()


def _status(engine: Engine) -> dict[str, dict[str, object]]:
    with session_scope(engine) as s:
        st = assess.plan_status(s, CLI, "kongtong-14th", year=2026, today=TODAY)
    assert st.through == "2026-02-15"
    return {i["no"]: i for i in st.to_dict()["indicators"]}


def test_good_day_ratio_fills_with_a_projection(seeded: Engine) -> None:
    with session_scope(seeded) as s:
        aq = air_quality(s, region_code="620802", start=date(2026, 1, 1), end=date(2026, 2, 15))
    assert aq.valid_days > 30
    one = _status(seeded)["1"]
    actual = one["actual"]
    assert isinstance(actual, dict)
    assert (actual["good_days"], actual["valid_days"]) == (aq.good_days, aq.valid_days)
    assert actual["standard"] == aq.standard == "HJ663-2013"
    ratio = Fraction(aq.good_days * 100, aq.valid_days)
    assert actual["value"] == f"{float(round(ratio, 1)):.1f}"
    # 46 days counted, 365 − 46 = 319 to come; the year meets 96.7 % with ⌈0.967·N⌉ good days
    n = aq.valid_days + 319
    affordable = (n - math.ceil(Fraction(967, 1000) * n)) - (aq.valid_days - aq.good_days)
    proj = one["projection"]
    assert isinstance(proj, dict)
    assert proj["remaining_days"] == 319
    assert proj["non_good_days_affordable"] == affordable
    expected = (
        "off_track" if affordable < 0 else "on_track" if ratio >= Fraction(967, 10) else "at_risk"
    )
    assert one["status"] == expected
    assert str(affordable) in str(one["reason"])
    # 2026 is after the plan's last milestone (2025): its target is carried over, and said so
    target = one["target"]
    assert isinstance(target, dict) and target["carried_over"] is True and target["year"] == 2025
    assert str(one["reason"]).startswith("沿用2025年目标；")


def test_pm_means_fill_from_the_daily_values(seeded: Engine) -> None:
    with session_scope(seeded) as s:
        aq = air_quality(s, region_code="620802", start=date(2026, 1, 1), end=date(2026, 2, 15))
    by_no = _status(seeded)
    for no, code, limit in (("2", "PM2_5", 21), ("3", "PM10", 54)):
        vals = [
            Fraction(str(d.values[code]))
            for d in aq.daily
            if d.valid and d.values.get(code) is not None
        ]
        mean = sum(vals, Fraction(0)) / len(vals)
        ind = by_no[no]
        actual, proj = ind["actual"], ind["projection"]
        assert isinstance(actual, dict) and isinstance(proj, dict)
        assert actual["valid_days"] == len(vals)
        assert actual["value"] == f"{float(round(mean, 1)):.1f}"
        allowed = (limit * (len(vals) + 319) - mean * len(vals)) / 319
        assert proj["remaining_mean_allowed"] == f"{float(round(allowed, 1)):.1f}"
        assert ind["status"] == (
            "off_track" if allowed < 0 else "on_track" if mean <= limit else "at_risk"
        )


def test_water_shares_fill_from_an_annual_section_evaluation(seeded: Engine) -> None:
    by_no = _status(seeded)
    good, bad = by_no["4"], by_no["5"]
    ga, ba = good["actual"], bad["actual"]
    assert isinstance(ga, dict) and isinstance(ba, dict)
    classes = ga["classes"]
    assert isinstance(classes, dict) and len(classes) == 3  # the district's three sections
    n_good = sum(1 for c in classes.values() if c in ("Ⅰ", "Ⅱ", "Ⅲ"))
    assert ga["value"] == f"{float(round(Fraction(n_good * 100, 3), 1)):.1f}"
    n_bad = sum(1 for c in classes.values() if c == "劣Ⅴ")
    assert ba["value"] == f"{float(round(Fraction(n_bad * 100, 3), 1)):.1f}"
    assert good["status"] == ("on_track" if n_good == 3 else "at_risk")
    assert bad["status"] == ("on_track" if n_bad == 0 else "at_risk")
    # the year-end projection: each section keeps its class so far (target 100 % / 0 %)
    gp, bp = good["projection"], bad["projection"]
    assert isinstance(gp, dict) and isinstance(bp, dict)
    assert (gp["sections"], gp["counted"], gp["sections_needed"]) == (3, n_good, 3)
    assert gp["sections_affordable"] == n_good - 3
    assert gp["share_year_end"] == ga["value"]
    assert [x["code"] for x in gp["sections_to_improve"]] == sorted(
        k for k, c in classes.items() if c not in ("Ⅰ", "Ⅱ", "Ⅲ")
    )
    assert (bp["sections_allowed"], bp["sections_affordable"]) == (0, -n_bad)
    assert "推算" in str(good["reason"]) and "推算" in str(bad["reason"])
    # indicators the platform does not compute wait for a reported value
    assert by_no["8"]["status"] == "not_assessable"


def test_drinking_water_compliance_fills_from_the_sources(seeded: Engine) -> None:
    """序号6 城市集中式饮用水水源地水质达标率: each registered source judged over the year so
    far (surface: the mean of each item against GB 3838 Ⅲ; groundwater: every sample against
    GB/T 14848 Ⅲ), complying sources / sources with data."""
    expected: dict[str, bool] = {}
    with session_scope(seeded) as s:
        conn = s.connection()
        for site in sites(s, [SiteKind.DRINKING_WATER]):
            samples = water_figures.load_samples(conn, site, date(2026, 1, 1), date(2026, 2, 15))
            vals = [v for _t, v in samples]
            if site.source_type == "groundwater":
                c = drinking_water.groundwater_source_compliance(vals, mode="every")
            else:
                lake = site.water_body == "lake_reservoir"
                body = water.WaterbodyType.LAKE if lake else water.WaterbodyType.RIVER
                c = drinking_water.surface_source_compliance(vals, body, mode="mean")
            if c.complies is not None:
                expected[site.code] = c.complies
    assert len(expected) == 10  # the district's ten sources (4 city, 6 township)
    six = _status(seeded)["6"]
    actual, proj = six["actual"], six["projection"]
    assert isinstance(actual, dict) and isinstance(proj, dict)
    ok = sum(expected.values())
    assert (actual["sources"], actual["counted"]) == (10, ok)
    assert actual["value"] == f"{float(round(Fraction(ok * 100, 10), 1)):.1f}"
    assert {d["code"]: d["counted"] for d in actual["data"]} == expected
    assert (proj["sources_needed"], proj["sources_affordable"]) == (10, ok - 10)
    assert six["status"] == ("on_track" if ok == 10 else "at_risk")
