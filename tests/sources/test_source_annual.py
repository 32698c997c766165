"""Emissions against the permitted annual amounts with the projected year-end use."""

from __future__ import annotations

import json
from datetime import datetime
from fractions import Fraction
from typing import Any

import pytest
from sqlalchemy import Engine, select
from typer.testing import CliRunner

from qingshan.cli.main import app
from qingshan.roles import CLI
from qingshan.services.permits import replace_annual_amounts
from qingshan.services.sources import annual, stats
from qingshan.standards import supervision as sv
from qingshan.storage.db import session_scope
from qingshan.storage.models_registry import Permit

CUTOFF = datetime(2026, 11, 2)  # CST: 1 Jan – 1 Nov elapsed, 305 days = 7320 hours


def permit_amounts(engine: Engine) -> None:
    with session_scope(engine) as s:
        p1 = s.scalar(select(Permit).where(Permit.number == "91620802MA00000001001P"))
        assert p1 is not None
        replace_annual_amounts(s, p1, {("a21026", 2026): "0.5", ("w01018", 2026): "20"})


def test_use_share_and_projection_by_hand(engine: Engine, world: dict[str, Any]) -> None:
    permit_amounts(engine)
    with session_scope(engine) as s:
        rows = {e["name"]: e for e in annual.annual_use(s, CLI, 2026, cutoff=CUTOFF)}
    so2, dust, cod = rows["甲热力公司"]["pollutants"]
    assert (so2["pollutant"], dust["pollutant"], cod["pollutant"]) == ("a21026", "a34013", "w01018")
    # 67.5 kg = 0.0675 t of 0.5 t; projected 0.0675 × 8760 / 7320 = 0.08078… t
    assert so2["emitted_t"] == "0.068" and so2["permitted_t"] == "0.500"  # half-even: 0.0675
    assert so2["share"] == "0.1350"
    assert so2["projected_t"] == "0.081" and so2["projected_share"] == "0.1616"
    assert so2["over"] is False
    assert so2["missing_hours"] == 7296 + 4  # nothing before 1 Nov; 4 hours that day
    assert dust["permitted_t"] is None and dust["share"] is None  # no annual amount
    assert cod["emitted_t"] == "0.024" and cod["share"] == "0.0012"


def test_projection_rule() -> None:
    assert sv.projected_year_end(Fraction(1), 4380, 8760) == 2
    with pytest.raises(sv.InvalidValueError):
        sv.projected_year_end(Fraction(1), 0, 8760)
    with pytest.raises(sv.InvalidValueError):
        sv.projected_year_end(Fraction(1), 9000, 8760)


def test_future_year_is_refused(engine: Engine, world: dict[str, Any]) -> None:
    with session_scope(engine) as s, pytest.raises(stats.StatsError, match="尚未开始"):
        annual.annual_use(s, CLI, 2027, cutoff=CUTOFF)


def test_cli_emissions(db_url: str, world: dict[str, Any]) -> None:
    from qingshan.storage.db import make_engine

    engine = make_engine(db_url)
    permit_amounts(engine)
    engine.dispose()
    r = CliRunner().invoke(
        app,
        ["source", "emissions", "--year", "2026", "--cutoff", "2026-11-02T00:00", "--json",
         "--db", db_url],
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    rows = {e["name"]: e for e in json.loads(r.stdout)}
    assert rows["甲热力公司"]["pollutants"][0]["projected_share"] == "0.1616"


def test_region_table_and_one_enterprise(engine: Engine, world: dict[str, Any]) -> None:
    permit_amounts(engine)
    with session_scope(engine) as s:
        regions = annual.region_use(s, CLI, 2026, cutoff=CUTOFF)
        (one,) = annual.annual_use(s, CLI, 2026, cutoff=CUTOFF, enterprise_id=1)
    rows = {(r["region_name"], r["pollutant"]): r for r in regions}
    so2 = rows[("崆峒区", "a21026")]
    assert (so2["emitted_t"], so2["permitted_t"], so2["share"]) == ("0.068", "0.500", "0.1350")
    assert so2["projected_t"] == "0.081" and so2["enterprises"] == 1 and so2["over"] == 0
    assert rows[("崆峒区", "a34013")]["permitted_t"] is None  # no annual amount: no share
    other = rows[("另一县", "a21026")]  # 乙砖厂: nothing received
    assert other["emitted_t"] == "0.000" and other["share"] is None
    assert one["name"] == "甲热力公司" and one["region"] == "620802"
