"""Supervision statistics on SQLite and PostgreSQL against the hand-computed day of conftest."""

from __future__ import annotations

import json
from datetime import date, datetime
from fractions import Fraction
from typing import Any

from sqlalchemy import Engine
from typer.testing import CliRunner

from qingshan.cli.main import app
from qingshan.roles import CLI, Principal, Role
from qingshan.services.sources import stats
from qingshan.storage.db import session_scope

DAY = date(2026, 11, 1)
LATER = datetime(2027, 1, 1)


def run(engine: Engine, cutoff: datetime = LATER, **kw: Any) -> list[stats.EnterpriseStats]:
    with session_scope(engine) as s:
        return stats.source_stats(s, kw.pop("principal", CLI), stats.period(DAY, DAY, cutoff), **kw)


def test_rates_exceedance_and_emissions_by_hand(engine: Engine, world: dict[str, Any]) -> None:
    out = {e.name: e for e in run(engine)}
    e1 = out["甲热力公司"]
    gas, water = e1.outlets
    assert (gas.code, water.code) == ("E1-DA001", "E1-DW001")
    assert gas.pollutants == ("a21026", "a34013")
    c = gas.counts
    assert (c.due, c.expected, c.received, c.valid) == (48, 40, 38, 36)
    assert c.transmission_rate == Fraction(38, 40)
    assert c.validity_rate == Fraction(36, 38)
    assert c.effective_transmission_rate == Fraction(36, 40)
    # the 3 hours exceed only after 折算; calibration at 13:00 (400) and the stopped hours do not
    assert gas.exceedance_hours == 3
    (ep,) = gas.episodes
    assert (ep.pollutant, ep.start, ep.end, ep.peak, ep.peak_at, ep.periods) == (
        "a21026",
        datetime(2026, 11, 1, 10),
        datetime(2026, 11, 1, 13),
        Fraction(234),
        datetime(2026, 11, 1, 11),
        3,
    )
    so2 = gas.emissions["a21026"]
    assert (so2.kg, so2.hours, so2.missing_hours) == (Fraction(675, 10), 16, 4)
    # water: daily mean 55 > 50
    assert water.exceedance_days == 1 and water.exceedance_hours == 0
    assert water.episodes[0].peak == 55
    assert water.emissions["w01018"].kg == Fraction(2376, 100)
    # enterprise sums
    assert (e1.counts.expected, e1.counts.received, e1.counts.valid) == (64, 62, 60)
    assert e1.exceedance_hours == 3 and e1.exceedance_days == 1
    # the second enterprise sent nothing: transmission 0
    e2 = out["乙砖厂"]
    assert e2.counts.expected == 24 and e2.counts.transmission_rate == 0
    assert e2.counts.validity_rate is None


def test_cutoff_counts_only_closed_hours(engine: Engine, world: dict[str, Any]) -> None:
    e1 = {e.name: e for e in run(engine, cutoff=datetime(2026, 11, 1, 12, 30))}["甲热力公司"]
    gas = e1.outlets[0]
    assert (gas.counts.expected, gas.counts.received, gas.counts.valid) == (24, 24, 24)
    assert gas.exceedance_hours == 2  # 10:00 and 11:00; 12:00 has not closed
    assert gas.counts.effective_transmission_rate == 1


def test_region_filter_and_enterprise_scope(engine: Engine, world: dict[str, Any]) -> None:
    assert [e.name for e in run(engine, region="620803")] == ["乙砖厂"]
    assert {e.name for e in run(engine, region="620800")} == {"甲热力公司", "乙砖厂"}
    e2_id = {e.name: e for e in run(engine)}["乙砖厂"].enterprise_id
    own = Principal(role=Role.ENTERPRISE, user_id=9, enterprise_id=e2_id)
    assert [e.name for e in run(engine, principal=own)] == ["乙砖厂"]


runner = CliRunner()


def test_cli_stats_json(db_url: str, world: dict[str, Any]) -> None:
    r = runner.invoke(
        app,
        [
            "source",
            "stats",
            "--from",
            "2026-11-01",
            "--to",
            "2026-11-01",
            "--json",
            "--db",
            db_url,
            "--cutoff",
            "2027-01-01T00:00",
        ],
    )
    assert r.exit_code == 0, r.output
    rows = {e["name"]: e for e in json.loads(r.stdout)}
    e1 = rows["甲热力公司"]
    assert e1["transmission_rate"] == 0.9688  # 62/64
    assert e1["validity_rate"] == 0.9677  # 60/62
    assert e1["effective_transmission_rate"] == 0.9375  # 60/64
    assert e1["exceedance_hours"] == 3 and e1["exceedance_days"] == 1
    assert e1["emissions"]["a21026"] == {"kg": "67.500", "hours": 16, "missing_hours": 4}
    gas = e1["outlets"][0]
    assert gas["effective_transmission_rate"] == 0.9 and gas["exceedance_days"] is None
    assert gas["episodes"][0]["peak"] == "234.000" and gas["episodes"][0]["multiple"] == "0.17"
    assert rows["乙砖厂"]["transmission_rate"] == 0.0


def test_cli_refuses_bad_input(db_url: str, world: dict[str, Any]) -> None:
    r = runner.invoke(
        app, ["source", "stats", "--from", "2026-11-02", "--to", "2026-11-01", "--db", db_url]
    )
    assert r.exit_code == 2 and "早于起始日期" in r.stderr
    r = runner.invoke(
        app, ["source", "stats", "--from", "11/01", "--to", "2026-11-01", "--db", db_url]
    )
    assert r.exit_code == 2 and "YYYY-MM-DD" in r.output
    r = runner.invoke(
        app,
        [
            "source",
            "stats",
            "--from",
            "2026-11-01",
            "--to",
            "2026-11-01",
            "--region",
            "999999",
            "--db",
            db_url,
        ],
    )
    assert r.exit_code == 2 and "区划 999999 不存在" in r.stderr
