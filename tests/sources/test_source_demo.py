"""The demo district's simulated episodes are found by the supervision code: an exceedance on
N-flagged data (E09 NOx, 30 h before the anchor), an offline device (E12, 9 days), a
constant-value device (E15, 40 days) and a stopped plant (E01 cement, 错峰生产 in December) —
on the registry loaded through the workbook and 11 days of hourly history."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import Engine, select

from qingshan.clock import from_cst
from qingshan.demo import loader as dl
from qingshan.demo.district import load_district
from qingshan.roles import CLI
from qingshan.services.sources import alarms, stats
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
