"""`qingshan demo` loads the district's own plan (kongtong-14th) through the plan service:
its air and water indicators then carry actual values computed from the demo's data, with a
projection for the year; a second run leaves the plan as it was (SQLite)."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from qingshan.cli.main import app
from qingshan.clock import utcnow
from qingshan.services.plans.assess import good_day_target
from qingshan.storage.db import make_engine, session_scope

runner = CliRunner()

pytestmark = pytest.mark.slow

AIR = (
    "中心城区空气质量优良天数比率",
    "中心城区细颗粒物(PM2.5)浓度",
    "中心城区可吸入颗粒物(PM10)浓度",
)
WATER = ("地表水质量达到或优于类水体比例", "地表水质量劣类水体比例")


def test_demo_loads_the_plan_and_fills_air_and_water(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("QINGSHAN_DB_URL", raising=False)
    db = f"sqlite:///{tmp_path / 'demo.db'}"
    args = ["demo", "--db", db, "--no-live", "--history-days", "6", "--minute-days", "0"]
    r = runner.invoke(app, args)
    assert r.exit_code == 0, r.output
    out = " ".join(r.output.split())  # (rich wraps lines)
    assert "plan kongtong-14th (崆峒区“十四五”生态环境保护规划): loaded, 21 indicators" in out
    # the year the demo's history falls in (China Standard Time, counted up to yesterday)
    year = (utcnow() + timedelta(hours=8) - timedelta(days=1)).year
    st = runner.invoke(
        app, ["plan", "status", "kongtong-14th", "--year", str(year), "--json", "--db", db]
    )
    assert st.exit_code == 0, st.output
    status = json.loads(st.stdout)
    rows = {i["name"]: i for i in status["indicators"]}
    assert len(rows) == 21
    for name in AIR + WATER:
        item = rows[name]
        assert item["actual"] is not None, (name, item["reason"])
        assert item["actual"]["value"] not in (None, ""), item
        assert item["status"] != "not_assessable", (name, item["reason"])
    # the year-end projection is computed for the air indicators (docs/plans.md)
    good = rows["中心城区空气质量优良天数比率"]["projection"]
    assert good is not None and "non_good_days_affordable" in good
    for name in AIR[1:] + WATER:
        assert rows[name]["projection"] is not None, name
    assert "sections_affordable" in rows[WATER[0]]["projection"]
    # the cockpit's target is the plan's indicator, not the recorded deployment target
    engine = make_engine(db)
    with session_scope(engine) as s:
        target = good_day_target(s, "620802", year)
        assert target is not None and target.value == Decimal("96.7")
        assert "规划" in target.source
    engine.dispose()
    # a second run changes nothing in the plan
    r2 = runner.invoke(app, args)
    assert r2.exit_code == 0, r2.output
    assert "already loaded, unchanged" in " ".join(r2.output.split())  # (rich wraps lines)
    listed = runner.invoke(app, ["plan", "list", "--json", "--db", db])
    assert [p["template_id"] for p in json.loads(listed.stdout)] == ["kongtong-14th"]
