"""The demo district's simulated episodes are found by the supervision code: an exceedance on
N-flagged data (E09 NOx, 30 h before the anchor), an offline device (E12, 9 days), a
constant-value device (E15, 40 days) and a stopped plant (E01 cement, 错峰生产 in December) —
on the registry loaded through the workbook and 11 days of hourly history.

On the same registry (loading it is most of the time), the demo's 应急减排 scenario: the demo
清单 (imported like any county's) and its past 橙色 warning, with the simulated data of the
listed kilns from 16 days before the anchor: E08 (限产50%, cut to 40 %) and E10 (停产) 已落实,
E13 (限产30%, runs on) 未见下降, E12 (offline by then) 无数据."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import Engine, select

from qingshan.clock import from_cst
from qingshan.demo import loader as dl
from qingshan.demo.district import District, load_district
from qingshan.demo.emergency import load_emergency
from qingshan.demo.synth import generate, warning_window
from qingshan.roles import CLI
from qingshan.services.sources import alarms, stats, warnings
from qingshan.storage import partitions
from qingshan.storage.db import session_scope
from qingshan.storage.models_cases import CaseItem

ANCHOR = datetime(2026, 12, 3)  # CST, the demo scenario's "now"

pytestmark = pytest.mark.slow


def test_demo_episodes_are_detected(engine: Engine) -> None:
    d = load_district()
    ids = dl.load_registry(engine, d)
    partitions.ensure_months(engine, [(2026, 11), (2026, 12)])
    dl.backfill(engine, d, ids, start=ANCHOR - timedelta(days=11), end=ANCHOR, minute_days=0)
    _check_warning_board(engine, d, ids)
    with session_scope(engine) as s:
        alarms.detect(s, now=from_cst(ANCHOR))
        found = alarms.episodes_json(s, alarms.list_episodes(s, CLI))
        period = stats.period(date(2026, 12, 1), date(2026, 12, 2), ANCHOR)
        by_name = {e.credit_code: e for e in stats.source_stats(s, CLI, period)}
        # each alarm episode (not the hints) opened one automatic-alarm case at its outlet
        cased = {
            (c.episode_id, c.site_id, c.origin, c.state)
            for c in s.scalars(select(CaseItem).where(CaseItem.episode_id.is_not(None)))
        }
    alarm_eps = {
        (e["id"], e["site_id"], "automatic_alarm", "alarmed")
        for e in found
        if e["kind"] in alarms.ALARM_KINDS
    }
    assert cased == alarm_eps and len(cased) == 2
    exceed = {(e["outlet"], e["pollutant"]) for e in found if e["kind"] == "exceedance"}
    assert exceed == {("E09/DA001", "a21002")}  # calibration reads (2 × limit) are not
    (nox,) = [e for e in found if e["kind"] == "exceedance"]
    assert nox["periods"] == 3 and nox["status"] == "cleared"
    assert {e["outlet"] for e in found if e["kind"] == "offline"} == {"E12/DA001"}
    constant = {e["outlet"] for e in found if e["kind"] == "constant"}
    assert "E15/DA001" in constant
    # the stopped cement plant: nothing due, so not assessed, not invalid, no exceedance
    cement = next(e for e in by_name.values() if "水泥" in e.name)
    kiln = cement.outlets[0]
    assert kiln.counts.expected == 0 and kiln.counts.by_flag.get("F", 0) > 0
    assert kiln.counts.effective_transmission_rate is None and not kiln.episodes
    # the offline brick kiln: due and not received
    e12 = next(e for e in by_name.values() if any(o.code == "E12/DA001" for o in e.outlets))
    assert e12.counts.received == 0 and e12.counts.transmission_rate == 0


LISTED = ("E08/DA001", "E10/DA001", "E12/DA001", "E13/DA001")


def _check_warning_board(engine: Engine, d: District, ids: dict[str, int]) -> None:
    start, end = warning_window(ANCHOR)
    assert ANCHOR - timedelta(days=30) <= start and end < ANCHOR  # inside the last 30 days
    # the listed kilns' baseline week before the backfilled 11 days
    early = ANCHOR - timedelta(days=11)
    res = generate(d, ANCHOR - timedelta(days=16), early, anchor=ANCHOR, kinds=("outlet",))
    dl.ingest_rows(engine, dl.result_rows(res, ids, labels=LISTED))
    first = load_emergency(engine, d, ANCHOR)
    again = load_emergency(engine, d, ANCHOR + timedelta(days=1))  # nothing changes
    assert again["warning_id"] == first["warning_id"] and first["measures"] == 12
    with session_scope(engine) as s:
        b = warnings.board(s, CLI, first["warning_id"], cutoff=ANCHOR)
        (w,) = warnings.list_warnings(s)
        assert (w.starts_at, w.ends_at, w.level) == (start, end, "orange")
    got = {r["name"][:9]: (r["verdict_label"], r["expected_pct"]) for r in b["enterprises"]}
    assert got == {
        "青山示范第一机砖厂": ("已落实", "50"),
        "青山示范第三机砖厂": ("已落实", "100"),
        "青山示范第五机砖厂": ("无数据", "50"),
        "青山示范第六机砖厂": ("未见下降", "30"),
    }, b["enterprises"]
    assert b["warning_hours"] == 72 and b["baseline"]["hours"] == 7 * 24
    e08 = next(r for r in b["enterprises"] if r["verdict"] == "done" and r["expected_pct"] == "50")
    assert 55 <= float(e08["reduction_pct"]) <= 65  # production at 40 %
