"""Alarm episodes open one automatic-alarm case each and close it when they close (cleared +
confirmed, either order, from the episode or from the case) — on SQLite and PostgreSQL, with the
hand-computed day of conftest."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.exc import IntegrityError
from typer.testing import CliRunner

from qingshan.cli.main import app
from qingshan.roles import CLI
from qingshan.services.cases import core, stats
from qingshan.services.sources import alarms
from qingshan.storage.db import session_scope
from qingshan.storage.models import Site
from qingshan.storage.models_cases import CaseItem
from qingshan.storage.models_casework import TimelineEvent
from qingshan.storage.models_sources import SourceEpisode

from .conftest import H, obs
from .test_source_alarms import NEXT_MIDNIGHT, detect, users


def alarm_cases(engine: Engine) -> dict[int, tuple[str, str]]:
    """episode id → (case code, state) of every case opened for an episode"""
    with session_scope(engine) as s:
        rows = s.scalars(select(CaseItem).where(CaseItem.episode_id.is_not(None)))
        return {c.episode_id: (c.code, c.state) for c in rows if c.episode_id is not None}


def episode_of(engine: Engine, kind: str, pollutant: str, outlet: str = "E1-DA001") -> int:
    with session_scope(engine) as s:
        ep = s.scalar(
            select(SourceEpisode.id)
            .join(Site, Site.id == SourceEpisode.site_id)
            .where(
                SourceEpisode.kind == kind,
                SourceEpisode.pollutant == pollutant,
                Site.code == outlet,
            )
        )
        assert ep is not None
        return ep


def test_each_alarm_episode_opens_exactly_one_case(engine: Engine, world: dict[str, Any]) -> None:
    r = detect(engine)
    with session_scope(engine) as s:
        eps = list(s.scalars(select(SourceEpisode)))
        alarm_ids = {e.id for e in eps if e.kind in alarms.ALARM_KINDS}
    assert len(alarm_ids) == 2  # SO2 and COD exceedances; the three hints open no case
    cases = alarm_cases(engine)
    assert set(cases) == alarm_ids and r.cases_opened == 2
    assert all(code.startswith("BJ20261101-") and st == "alarmed" for code, st in cases.values())
    # detection runs again (every 5 s in serve): no second case
    assert detect(engine).cases_opened == 0
    assert alarm_cases(engine) == cases
    so2_ep = episode_of(engine, "exceedance", "a21026")
    with session_scope(engine) as s:
        so2 = s.scalar(select(CaseItem).where(CaseItem.episode_id == so2_ep))
        assert so2 is not None
        site = s.get(Site, so2.site_id)
        assert site is not None and site.code == "E1-DA001"
        assert so2.enterprise_id == site.enterprise_id and so2.origin == "automatic_alarm"
        assert so2.kind == "alarm" and so2.category == "大气" and so2.lead_unit is None
        assert "a21026超标" in so2.title and "峰值 234.000" in (so2.description or "")
    # the database itself refuses a second case for one episode (unique index)
    with pytest.raises(IntegrityError), session_scope(engine) as s:
        other = s.scalar(select(CaseItem).where(CaseItem.episode_id != so2_ep))
        assert other is not None
        other.episode_id = so2_ep
        s.flush()
    # nobody opens an automatic-alarm case by hand
    with session_scope(engine) as s, pytest.raises(core.CaseError, match="自动生成"):
        core.open_case(s, CLI, core.CaseInput("automatic_alarm", "手工报警", so2.received_on))
    # 案件统计 counts the new origin
    with session_scope(engine) as s:
        rows = [x for x in stats.compute(s, CLI) if x.origin == "automatic_alarm"]
    assert [(x.origin_label, x.kind_label, x.total) for x in rows] == [("自动监控报警", "报警", 2)]


def test_clearing_and_confirming_closes_episode_and_case(
    engine: Engine, world: dict[str, Any]
) -> None:
    people = users(engine)
    detect(engine)
    so2_ep = episode_of(engine, "exceedance", "a21026")  # cleared in the data
    code = alarm_cases(engine)[so2_ep][0]
    # closing by hand is refused: it goes through the episode
    with session_scope(engine) as s, pytest.raises(core.CaseError, match="核实确认"):
        core.fire(s, people["staff"], code, "close", fields={"close_reason": "手工关闭"})
    with session_scope(engine) as s:  # a person confirms from the case
        row = alarms.confirm_case(s, people["staff"], code, "已核实：脱硫剂供应中断")
        assert row.id == so2_ep and row.status == "closed"
    assert alarm_cases(engine)[so2_ep] == (code, "closed")
    with session_scope(engine) as s:
        case = core.get(s, CLI, code)
        assert case.closed_on is not None
        events = s.scalars(
            select(TimelineEvent).where(
                TimelineEvent.entity_type == "case", TimelineEvent.entity_id == code
            )
        ).all()
        assert any(
            "已关闭" in (e.summary or "") and "已核实：脱硫剂供应中断" in (e.after or "")
            for e in events
        ), [e.summary for e in events]
    # the other order: confirmed while the condition goes on, closed when the data clear it
    later = NEXT_MIDNIGHT + 5 * H  # 05:00 CST: nothing since 23:00 → offline
    detect(engine, later)
    off = episode_of(engine, "offline", "")
    off_code = alarm_cases(engine)[off][0]
    with session_scope(engine) as s:
        assert alarms.confirm(s, people["staff"], off, "已联系企业，数采仪断电").status == "open"
    assert alarm_cases(engine)[off] == (off_code, "alarmed")
    with session_scope(engine) as s:
        s.add(obs(world["devices"]["DA001"], 29, "a21026", "100", "N"))  # 05:00 data again
    r = detect(engine, later + 2 * H)
    assert r.cases_closed == 1 and alarm_cases(engine)[off] == (off_code, "closed")
    with session_scope(engine) as s:
        assert s.get(SourceEpisode, off).status == "closed"  # type: ignore[union-attr]


def test_enterprise_user_cannot_see_another_enterprises_case(
    engine: Engine, world: dict[str, Any]
) -> None:
    people = users(engine)  # e2: a user of 乙砖厂
    detect(engine)
    code = alarm_cases(engine)[episode_of(engine, "exceedance", "a21026")][0]
    with session_scope(engine) as s:
        assert core.get(s, people["staff"], code).code == code
        with pytest.raises(core.CaseNotFound):
            core.get(s, people["e2"], code)
        assert core.listing(s, people["e2"], core.Filters(origin="automatic_alarm")) == []
        with pytest.raises(core.CaseNotFound):
            alarms.confirm_case(s, people["e2"], code, "想关掉")


def test_cli_case_confirm(db_url: str, engine: Engine, world: dict[str, Any]) -> None:
    detect(engine)
    so2_ep = episode_of(engine, "exceedance", "a21026")
    code = alarm_cases(engine)[so2_ep][0]
    runner = CliRunner()
    r = runner.invoke(app, ["case", "confirm", code, "--note", "已核实", "--db", db_url])
    assert r.exit_code == 0, r.output
    assert "已确认关闭" in r.stderr and "已关闭" in r.stderr
    r = runner.invoke(app, ["case", "confirm", "NOPE-1", "--note", "x", "--db", db_url])
    assert r.exit_code != 0 and "NOPE-1" in r.stderr
