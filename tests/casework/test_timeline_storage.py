"""Migration 0410 and the append-only timeline, on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, delete, inspect, select, text, update
from sqlalchemy.exc import DBAPIError

from qingshan.roles import PUBLIC
from qingshan.services import timeline
from qingshan.services.errors import NotFound
from qingshan.storage.db import (
    alembic_config,
    current_revision,
    head_revision,
    init_db,
    migrate,
    session_scope,
)
from qingshan.storage.models import Base
from qingshan.storage.models_casework import TimelineEvent
from qingshan.storage.models_web import AuditEntry

from .conftest import make_users

TABLES = {
    "timeline_event",
    "attachment",
    "attachment_link",
    "workflow_instance",
    "inbox_message",
    "notification_contact",
    "notification_delivery",
    "scheduled_job",
    "calendar_override",
}


def _ours(obj: Any, name: str | None, type_: str, _reflected: bool, _other: Any) -> bool:
    table = name if type_ == "table" else getattr(getattr(obj, "table", None), "name", None)
    return table in TABLES


def test_migration_matches_the_models(engine: Engine) -> None:
    # One chain, one head (tests/backbone/test_migration_chain.py); 0410 is on it.
    script = ScriptDirectory.from_config(alembic_config())
    assert "0410_casework" in {r.revision for r in script.walk_revisions("base", head_revision())}
    assert set(inspect(engine).get_table_names()) >= TABLES
    with engine.connect() as conn:
        mc = MigrationContext.configure(conn, opts={"compare_type": True, "include_object": _ours})
        assert compare_metadata(mc, Base.metadata) == []


def test_downgrade_and_upgrade_again(db_url: str) -> None:
    engine = init_db(db_url)
    migrate(engine, "0400_registry")
    assert current_revision(engine) == "0400_registry"
    assert not TABLES & set(inspect(engine).get_table_names())
    init_db(engine)
    assert set(inspect(engine).get_table_names()) >= TABLES
    # the append-only triggers come back with the table
    with session_scope(engine) as s:
        s.add(TimelineEvent(at=timeline.utcnow(), entity_type="t", entity_id="1", action="a"))
    with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
        conn.execute(delete(TimelineEvent))
    engine.dispose()


def test_events_are_recorded_beside_the_audit_log_and_read_in_order(engine: Engine) -> None:
    users = make_users(engine)
    staff = users["staff"]
    with session_scope(engine) as s:
        timeline.record_change(
            s,
            staff,
            entity_type="registry_import",
            entity_id=7,
            action="registry_import.start",
            summary="发起",
            before=None,
            after={"state": "uploaded", "名称": "登记表"},
            client="127.0.0.1",
        )
        timeline.record(s, staff, entity_type="registry_import", entity_id="7", action="note")
        timeline.record(s, staff, entity_type="registry_import", entity_id="8", action="other")
    with session_scope(engine) as s:
        evs = timeline.events(s, users["leader"], "registry_import", 7)
        assert [e.action for e in evs] == ["registry_import.start", "note"]
        first = evs[0]
        assert (first.actor_name, first.actor_role) == ("staff", "staff")
        assert timeline.decode(first.after) == {"state": "uploaded", "名称": "登记表"}
        assert (
            timeline.events(s, staff, "registry_import", 7, after_id=first.id)[0].action == "note"
        )
        audit = s.scalars(select(AuditEntry).where(AuditEntry.entity == "registry_import")).all()
        assert [(a.action, a.entity_id, a.client) for a in audit] == [
            ("registry_import.start", "7", "127.0.0.1")
        ]
        # enterprise users and the public read no timelines
        for p in (users["ent"], PUBLIC):
            with pytest.raises(NotFound):
                timeline.events(s, p, "registry_import", 7)


def test_the_database_refuses_to_change_or_remove_an_event(engine: Engine) -> None:
    users = make_users(engine)
    with session_scope(engine) as s:
        ev = timeline.record(s, users["admin"], entity_type="x", entity_id="1", action="made")
        ev_id = ev.id
    with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
        conn.execute(update(TimelineEvent).values(action="rewritten"))
    with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
        conn.execute(delete(TimelineEvent).where(TimelineEvent.id == ev_id))
    with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
        conn.execute(text("UPDATE timeline_event SET summary = 'x'"))
    with session_scope(engine) as s:
        assert s.get(TimelineEvent, ev_id) is not None
        assert s.get(TimelineEvent, ev_id).action == "made"  # type: ignore[union-attr]


def test_the_service_offers_no_way_to_change_an_event() -> None:
    public = {n for n in vars(timeline) if not n.startswith("_") and callable(vars(timeline)[n])}
    writers = {n for n in public if any(w in n for w in ("update", "delete", "remove", "edit"))}
    assert writers == set()
    assert {"record", "record_change", "events"} <= public


def test_entity_names_are_bounded(engine: Engine) -> None:
    users = make_users(engine)
    with session_scope(engine) as s, pytest.raises(ValueError, match="实体编号"):
        timeline.record(s, users["admin"], entity_type="x", entity_id="9" * 65, action="a")
