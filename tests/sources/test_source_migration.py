"""Migration 0600_sources: the table as the model describes it, down and up again."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect

from qingshan.storage.db import init_db, migrate
from qingshan.storage.models import Base
from qingshan.storage.models_sources import SourceEpisode


def _ours(obj: Any, name: str | None, type_: str, _reflected: bool, _other: Any) -> bool:
    table = name if type_ == "table" else getattr(getattr(obj, "table", None), "name", None)
    return table == SourceEpisode.__tablename__


def test_migration_matches_the_model(engine: Engine) -> None:
    assert "source_episode" in inspect(engine).get_table_names()
    with engine.connect() as conn:
        mc = MigrationContext.configure(conn, opts={"compare_type": True, "include_object": _ours})
        assert compare_metadata(mc, Base.metadata) == []


def test_downgrade_and_upgrade_again(db_url: str) -> None:
    engine = init_db(db_url)
    migrate(engine, "0510_web_hardening")
    assert "source_episode" not in inspect(engine).get_table_names()
    init_db(engine)
    assert "source_episode" in inspect(engine).get_table_names()
    engine.dispose()
