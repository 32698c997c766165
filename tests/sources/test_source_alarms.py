"""Alarm and hint episodes: detection, one row per condition, notification, clearing and
confirmation, scope — on SQLite and PostgreSQL, with the hand-computed day of conftest."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, func, select
from typer.testing import CliRunner

from qingshan.cli.main import app
from qingshan.clock import from_cst
from qingshan.roles import CLI, Principal, Role
from qingshan.services.errors import NotFound
from qingshan.services.sources import alarms
from qingshan.storage.db import session_scope
from qingshan.storage.models import Enterprise
from qingshan.storage.models_casework import InboxMessage, TimelineEvent
from qingshan.storage.models_sources import SourceEpisode
from qingshan.storage.models_web import WebUser

from .conftest import H, obs

NEXT_MIDNIGHT = from_cst(datetime(2026, 11, 2))  # naive UTC: the data cut-off 2026-11-02 00:00 CST


def users(engine: Engine) -> dict[str, Principal]:
    out = {}
    with session_scope(engine) as s:
        e2 = s.scalar(select(Enterprise.id).where(Enterprise.name == "乙砖厂"))
        for name, role, ent in (("staff", Role.STAFF, None), ("e2", Role.ENTERPRISE, e2)):
            u = WebUser(username=name, password_hash="x", role=role, active=True,
                        created_at=datetime(2026, 1, 1), enterprise_id=ent)  # fmt: skip
            s.add(u)
            s.flush()
            out[name] = Principal(role=role, user_id=u.id, username=name, enterprise_id=ent)
    return out


def detect(engine: Engine, now: datetime = NEXT_MIDNIGHT) -> alarms.DetectSummary:
    with session_scope(engine) as s:
        return alarms.detect(s, now=now)


def episodes(engine: Engine, p: Principal = CLI, **kw: Any) -> list[dict[str, Any]]:
    with session_scope(engine) as s:
        return alarms.episodes_json(s, alarms.list_episodes(s, p, **kw))


def test_detection_makes_one_episode_per_condition(engine: Engine, world: dict[str, Any]) -> None:
    people = users(engine)
    r = detect(engine)
    rows = episodes(engine)
    got = sorted((e["kind"], e["pollutant"], e["start"], e["end"], e["status"]) for e in rows)
    assert got == [
        # dust 10 mg/m³ for all 20 running hours: a hint, still going on at the cut-off
        ("constant", "a34013", "2026-11-01T00:00:00+08:00", None, "open"),
        # COD 60 for 12 hours, then 50 for 12 hours: two runs of 12
        ("constant", "w01018", "2026-11-01T00:00:00+08:00", "2026-11-01T12:00:00+08:00", "cleared"),
        ("constant", "w01018", "2026-11-01T12:00:00+08:00", None, "open"),
        # SO2 10:00–13:00 after 折算; judged hours follow, so it has cleared
        ("exceedance", "a21026", "2026-11-01T10:00:00+08:00", "2026-11-01T13:00:00+08:00",
         "cleared"),
        # the day's COD mean 55 > 50: the day is the last judged one, still open
        ("exceedance", "w01018", "2026-11-01T00:00:00+08:00", None, "open"),
    ]  # fmt: skip
    so2 = next(e for e in rows if e["pollutant"] == "a21026")
    assert (so2["peak"], so2["peak_at"], so2["periods"], so2["limit"]) == (
        "234.000", "2026-11-01T11:00:00+08:00", 3, "200"
    )  # fmt: skip
    assert so2["outlet"] == "E1-DA001" and so2["enterprise"] == "甲热力公司"
    assert (r.created, r.notified) == (5, 2)  # alarms notify the staff user; hints do not
    with session_scope(engine) as s:
        inbox = s.scalars(
            select(InboxMessage).where(InboxMessage.user_id == people["staff"].user_id)
        ).all()
        assert sorted(m.subject for m in inbox) == [
            "【超标】甲热力公司 E1-DA001 a21026",
            "【超标】甲热力公司 E1-DW001 w01018",
        ]
        assert all(m.entity_type == "source_episode" for m in inbox)
    # running again changes nothing and notifies nobody again
    again = detect(engine)
    assert (again.created, again.updated, again.notified) == (0, 0, 0)
    assert len(episodes(engine)) == 5


def test_an_episode_grows_and_stays_one_row(engine: Engine, world: dict[str, Any]) -> None:
    dev = world["devices"]["DA001"]
    with session_scope(engine) as s:  # SO2 keeps exceeding on the next day's first hours
        for h in range(24, 27):
            s.add(obs(dev, h, "a21026", "300", "N"))
            s.add(obs(dev, h, "a19001", "9", "N"))
        for h in range(21, 24):  # and the evening before
            s.merge(obs(dev, h, "a21026", "250", "N"))
    detect(engine)
    (ep,) = [e for e in episodes(engine) if e["pollutant"] == "a21026" and e["end"] is None]
    assert ep["start"] == "2026-11-01T21:00:00+08:00" and ep["periods"] == 3
    # one hour later the next hour's packet continues the same episode
    detect(engine, NEXT_MIDNIGHT + 3 * H)
    (ep2,) = [e for e in episodes(engine) if e["pollutant"] == "a21026" and e["end"] is None]
    assert ep2["id"] == ep["id"] and ep2["periods"] == 6 and ep2["peak"] == "300.000"


def test_offline_device_and_its_return(engine: Engine, world: dict[str, Any]) -> None:
    later = NEXT_MIDNIGHT + 5 * H  # 05:00 CST: nothing since 23:00
    detect(engine, later)
    off = [e for e in episodes(engine, kinds=["offline"])]
    assert {e["outlet"] for e in off} == {"E1-DA001", "E1-DW001"}
    assert all(e["start"] == "2026-11-02T00:00:00+08:00" and e["status"] == "open" for e in off)
    dev = world["devices"]["DA001"]
    with session_scope(engine) as s:
        s.add(obs(dev, 29, "a21026", "100", "N"))  # 2026-11-02 05:00
    detect(engine, later + 2 * H)
    by_outlet = {e["outlet"]: e for e in episodes(engine, kinds=["offline"])}
    assert by_outlet["E1-DA001"]["end"] == "2026-11-02T05:00:00+08:00"
    assert by_outlet["E1-DA001"]["status"] == "cleared"
    assert by_outlet["E1-DW001"]["status"] == "open" and by_outlet["E1-DW001"]["periods"] == 7


def test_closing_needs_clearing_and_a_person(engine: Engine, world: dict[str, Any]) -> None:
    people = users(engine)
    detect(engine)
    rows = {(e["kind"], e["pollutant"], e["status"]): e["id"] for e in episodes(engine)}
    cleared = rows[("exceedance", "a21026", "cleared")]
    still = rows[("exceedance", "w01018", "open")]
    with session_scope(engine) as s:
        assert (
            alarms.confirm(s, people["staff"], cleared, "已核实：脱硫剂供应中断").status == "closed"
        )
        assert alarms.confirm(s, people["staff"], still, "已通知企业整改").status == "open"
        with pytest.raises(alarms.EpisodeError, match="已于"):
            alarms.confirm(s, people["staff"], cleared, "again")
        with pytest.raises(alarms.EpisodeError, match="不能为空"):
            alarms.confirm(s, CLI, still, "  ")
        events = s.scalars(
            select(TimelineEvent).where(TimelineEvent.entity_type == "source_episode")
        ).all()
        assert sorted(e.action for e in events) == ["confirm", "confirm"]
    assert {e["id"] for e in episodes(engine, open_only=True)} >= {still}
    assert cleared not in {e["id"] for e in episodes(engine, open_only=True)}
    # the open one closes when data show it cleared: next day's COD complies
    dev = world["devices"]["DW001"]
    with session_scope(engine) as s:
        for h in range(24, 48):
            s.add(obs(dev, h, "w01018", "20", "N"))
    detect(engine, NEXT_MIDNIGHT + timedelta(days=1))
    with session_scope(engine) as s:
        assert alarms.get_episode(s, CLI, still).status == "closed"


def test_enterprise_user_sees_only_its_own(engine: Engine, world: dict[str, Any]) -> None:
    people = users(engine)
    detect(engine)
    assert episodes(engine, people["e2"]) == []
    some = episodes(engine)[0]["id"]
    with session_scope(engine) as s, pytest.raises(NotFound):
        alarms.get_episode(s, people["e2"], some)
    with session_scope(engine) as s, pytest.raises(alarms.EpisodeError):
        alarms.confirm(s, people["e2"], some, "想关掉")


def test_cli_detect_alarms_confirm(db_url: str, world: dict[str, Any]) -> None:
    runner = CliRunner()
    r = runner.invoke(app, ["source", "detect", "--json", "--db", db_url])
    assert r.exit_code == 0, r.output
    # now (2026-12 or later) every device has been silent for weeks: offline episodes too
    r = runner.invoke(app, ["source", "alarms", "--open", "--json", "--db", db_url])
    assert r.exit_code == 0, r.output
    rows = json.loads(r.stdout)
    assert {e["kind"] for e in rows} >= {"offline"}
    r = runner.invoke(app, ["source", "alarms", "--kind", "bogus", "--db", db_url])
    assert r.exit_code == 2 and "未知的事件类型" in r.stderr
    first = rows[0]["id"]
    r = runner.invoke(app, ["source", "confirm", str(first), "--note", "已核实", "--db", db_url])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["confirmed_by"] == "cli"
    r = runner.invoke(app, ["source", "confirm", "999999", "--note", "x", "--db", db_url])
    assert r.exit_code == 2 and "不存在" in r.stderr


def test_episode_ids_are_stable(engine: Engine, world: dict[str, Any]) -> None:
    detect(engine)
    with session_scope(engine) as s:
        n = s.scalar(select(func.count()).select_from(SourceEpisode))
    detect(engine)
    detect(engine)
    with session_scope(engine) as s:
        assert s.scalar(select(func.count()).select_from(SourceEpisode)) == n
