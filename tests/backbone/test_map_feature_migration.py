"""Migration 0855_map_layers: the ``map_feature`` table matches its model, refuses a kind
outside river / road / place, and goes down and up again (SQLite and PostgreSQL)."""

from __future__ import annotations

from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect
from sqlalchemy.exc import IntegrityError

from qingshan.clock import utcnow
from qingshan.storage.db import current_revision, init_db, migrate, session_scope
from qingshan.storage.models import Base
from qingshan.storage.models_registry import MapFeature


def _ours(obj: Any, name: str | None, type_: str, _reflected: bool, _other: Any) -> bool:
    table = name if type_ == "table" else getattr(getattr(obj, "table", None), "name", None)
    return table == "map_feature"


def test_the_table_is_the_models_and_checks_the_kind(engine: Engine) -> None:
    with engine.connect() as conn:
        mc = MigrationContext.configure(conn, opts={"compare_type": True, "include_object": _ours})
        assert compare_metadata(mc, Base.metadata) == []
    point = '{"type":"Point","coordinates":[106.6,35.5]}'
    with session_scope(engine) as s:
        s.add(MapFeature(kind="place", name="崆峒镇", geometry=point, updated_at=utcnow()))
    with pytest.raises(IntegrityError), session_scope(engine) as s:
        s.add(MapFeature(kind="lake", name="x", geometry=point, updated_at=utcnow()))


def test_downgrade_removes_the_table_and_upgrade_restores_it(db_url: str) -> None:
    engine = init_db(db_url)
    migrate(engine, "0845_cases_more")
    assert current_revision(engine) == "0845_cases_more"
    assert "map_feature" not in inspect(engine).get_table_names()
    init_db(engine)
    assert "map_feature" in inspect(engine).get_table_names()
    engine.dispose()
