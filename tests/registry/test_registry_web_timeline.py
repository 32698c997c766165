"""Every registry change leaves exactly one audit entry and one timeline event of the changed
entity, written together — whether a service call or the command line made it (SQLite and
PostgreSQL)."""

from __future__ import annotations

from typing import Any

from reghelpers import STEEL
from sqlalchemy import Engine, select
from typer.testing import CliRunner

from qingshan.cli.main import app as cli
from qingshan.roles import CLI
from qingshan.services import timeline
from qingshan.services.registry import enterprises, regions
from qingshan.storage.db import session_scope
from qingshan.storage.models_casework import TimelineEvent
from qingshan.storage.models_web import AuditEntry

runner = CliRunner()


def _log(engine: Engine) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    with session_scope(engine) as s:
        audit = [
            (a.entity, a.entity_id, a.action, a.username)
            for a in s.scalars(select(AuditEntry).order_by(AuditEntry.id))
        ]
        events = [
            (e.entity_type, e.entity_id, e.action, e.actor_name)
            for e in s.scalars(select(TimelineEvent).order_by(TimelineEvent.id))
        ]
    return audit, events


def test_a_service_edit_writes_one_audit_entry_and_one_timeline_event(engine: Engine) -> None:
    with session_scope(engine) as s:
        regions.create_region(s, CLI, regions.RegionRecord("620000", "甘肃省"))
        regions.create_region(s, CLI, regions.RegionRecord("620200", "嘉峪关市", "620000"))
    with session_scope(engine) as s:
        enterprises.create_enterprise(
            s,
            CLI,
            enterprises.EnterpriseRecord(
                credit_code=STEEL, name="嘉峪关某钢铁有限公司", region_code="620200"
            ),
        )
    with session_scope(engine) as s:
        _, outcome = enterprises.save_enterprise(
            s,
            CLI,
            enterprises.EnterpriseRecord(
                credit_code=STEEL, name="嘉峪关某钢铁股份有限公司", region_code="620200"
            ),
        )
        assert outcome == "updated"
    # an update that changes nothing records nothing
    with session_scope(engine) as s:
        _, same = enterprises.save_enterprise(
            s,
            CLI,
            enterprises.EnterpriseRecord(
                credit_code=STEEL, name="嘉峪关某钢铁股份有限公司", region_code="620200"
            ),
        )
        assert same == "unchanged"
    audit, events = _log(engine)
    expected = [
        ("region", "620000", "create", CLI.username),
        ("region", "620200", "create", CLI.username),
        ("enterprise", STEEL, "create", CLI.username),
        ("enterprise", STEEL, "update", CLI.username),
    ]
    assert audit == expected
    assert events == expected
    with session_scope(engine) as s:
        history = timeline.events(s, CLI, "enterprise", STEEL)
        assert [e.action for e in history] == ["create", "update"]
        update = history[1]
        before, after = timeline.decode(update.before), timeline.decode(update.after)
        assert before is not None and after is not None
        assert before["name"] == "嘉峪关某钢铁有限公司"
        assert after["name"] == "嘉峪关某钢铁股份有限公司"
        assert update.summary == f"修改登记企业「{STEEL}」"
        entry = s.scalars(select(AuditEntry).where(AuditEntry.action == "update")).one()
        assert entry.before == update.before and entry.after == update.after


def test_a_refused_edit_writes_neither(engine: Engine) -> None:
    with session_scope(engine) as s:
        regions.create_region(s, CLI, regions.RegionRecord("620000", "甘肃省"))
    try:
        with session_scope(engine) as s:
            regions.create_region(s, CLI, regions.RegionRecord("620200", "嘉峪关市", "620000"))
            regions.create_region(s, CLI, regions.RegionRecord("620300", "金昌市", "629999"))
    except Exception:
        pass
    else:  # pragma: no cover - the unknown parent must be refused
        raise AssertionError("an unknown parent code was accepted")
    audit, events = _log(engine)
    assert audit == events == [("region", "620000", "create", CLI.username)]


def test_a_command_line_edit_writes_one_audit_entry_and_one_timeline_event(
    engine: Engine, db_url: str
) -> None:
    for args in (
        ("region", "add", "--code", "620000", "--name", "甘肃省"),
        ("region", "add", "--code", "620200", "--name", "嘉峪关市", "--parent", "620000"),
        (
            "unit",
            "add",
            "--code",
            "SHJJ",
            "--name",
            "嘉峪关市生态环境局",
            "--kind",
            "department",
            "--region",
            "620200",
        ),
    ):
        r = runner.invoke(cli, [*args, "--db", db_url])
        assert r.exit_code == 0, (args, r.output)
    audit, events = _log(engine)
    assert [a[:3] for a in audit] == [
        ("region", "620000", "create"),
        ("region", "620200", "create"),
        ("org_unit", "SHJJ", "create"),
    ]
    assert events == audit
    with session_scope(engine) as s:
        assert {a.client for a in s.scalars(select(AuditEntry))} == {"cli"}
