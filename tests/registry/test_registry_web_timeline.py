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
from qingshan.services.registry import devices, enterprises, regions
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


def test_every_device_change_writes_one_audit_entry_and_one_timeline_event_secrets_masked(
    engine: Engine, db_url: str
) -> None:
    mn, pw, key = "620200110001AAAAAAAAAAAA", "s3cret!", "0123456789ABCDEF0123456789ABCDEF"
    r = runner.invoke(cli, ["device", "add", "--mn", mn, "--pw", pw, "--st", "31", "--db", db_url])
    assert r.exit_code == 0, r.output
    with session_scope(engine) as s:  # a key change, an edit, an edit changing nothing
        devices.update_device(s, CLI, mn, sm4_key=key)
    with session_scope(engine) as s:
        devices.update_device(s, CLI, mn, pw="n3w-pw", minute_interval=5)
    with session_scope(engine) as s:
        devices.update_device(s, CLI, mn, st="31")
    with session_scope(engine) as s:  # retired, then taken back into use by registering again
        devices.update_device(s, CLI, mn, active=False)
    with session_scope(engine) as s:
        devices.register_device(s, CLI, mn=mn, pw=pw, st="31")
    audit, events = _log(engine)
    assert audit == events
    assert [a[:3] for a in audit] == [
        ("device", mn, "create"),
        ("device", mn, "update"),
        ("device", mn, "update"),
        ("device", mn, "update"),
        ("device", mn, "update"),
    ]
    with session_scope(engine) as s:
        rows = list(
            s.scalars(
                select(TimelineEvent)
                .where(TimelineEvent.entity_type == "device")
                .order_by(TimelineEvent.id)
            )
        )
        assert rows[0].summary == f"新建登记设备「{mn}」"
        assert timeline.decode(rows[1].after)["sm4_key"] == "changed"  # type: ignore[index]
        assert timeline.decode(rows[2].after)["pw"] == "changed"  # type: ignore[index]
        assert timeline.decode(rows[2].after)["minute_interval"] == 5  # type: ignore[index]
        assert timeline.decode(rows[3].after)["active"] is False  # type: ignore[index]
        assert timeline.decode(rows[4].after)["active"] is True  # type: ignore[index]
        logged = " ".join(f"{e.before} {e.after}" for e in rows)
        logged += " ".join(f"{a.before} {a.after}" for a in s.scalars(select(AuditEntry)))
    for secret in (pw, "n3w-pw", key):
        assert secret not in logged
