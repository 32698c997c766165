"""The cockpit's good-day-ratio target comes from the loaded plan, falling back to the
deployment's recorded target; SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from qingshan.roles import CLI
from qingshan.services import deployment, plans
from qingshan.services.accounts import create_user
from qingshan.services.plans.assess import good_day_target
from qingshan.settings import get_settings
from qingshan.storage.db import session_factory, session_scope
from qingshan.storage.models import Region, Site
from qingshan.web import create_app
from support.web_seed import PASSWORD
from web.conftest import login

SOURCE = "测试用目标（非真实规划文本）：优良天数比率 88.8%"


@pytest.fixture
def county(engine: Engine) -> Iterator[Engine]:
    with session_scope(engine) as s:
        s.add(Region(code="620000", name="甘肃省", level="province"))
        s.flush()
        s.add(Region(code="620200", name="嘉峪关市", level="city", parent_code="620000"))
        s.flush()
        # the cockpit summarises a region with an evaluation air station
        s.add(
            Site(
                code="JYG-A01",
                name="嘉峪关测试站",
                kind="air_station",
                region_code="620200",
                longitude=98.29,
                latitude=39.77,
                control_level="国控",
            )
        )
        deployment.set_own_region(s, "620200")
        deployment.set_target(
            s, "620200", "good_day_ratio", "88.8", "%", year_from=2021, source=SOURCE
        )
        create_user(s, CLI, username="leader", password=PASSWORD, role="leader")
    yield engine


def test_plan_target_replaces_the_recorded_one(county: Engine) -> None:
    with session_scope(county) as s:
        before = good_day_target(s, "620200", 2024)
        assert before is not None and before.value == Decimal("88.8") and before.source == SOURCE
        plans.load_template(s, CLI, "kongtong-14th", region="620200")
    with session_scope(county) as s:
        for year in (2023, 2025, 2026):  # a milestone year, before it, and carried over after
            t = good_day_target(s, "620200", year)
            assert t is not None and t.value == Decimal("96.7") and t.comparison == "at_least"
            assert "崆峒区“十四五”生态环境保护规划" in t.source and "2025年目标" in t.source
        assert good_day_target(s, "620802", 2025) is None  # nothing for a region without either


def test_cockpit_shows_the_plan_target(county: Engine, db_url: str) -> None:
    settings = get_settings(db_url=db_url, web_cookie_secure=False)

    def cockpit_air() -> dict[str, object]:
        # a new app each time: the cockpit's answer is cached for a while within one app
        c: TestClient = login(create_app(settings, session_factory(county)), "leader")
        try:
            air: dict[str, object] = c.get("/api/v1/cockpit").json()["air"]
            return air
        finally:
            c.close()

    assert cockpit_air()["target_ratio"] == 88.8
    with session_scope(county) as s:
        plans.load_template(s, CLI, "kongtong-14th", region="620200")
    air = cockpit_air()
    assert air["target_ratio"] == 96.7
    assert "十四五" in str(air["target_source"])
