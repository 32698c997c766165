"""Migrations 0600_sources and 0820_source_warnings: the tables as the models describe them,
down and up again."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect

from qingshan.storage.db import init_db, migrate
from qingshan.storage.models import Base
from qingshan.storage.models_sources import (
    SourceEpisode,
    SourceGrade,
    SourceMeasure,
    SourceWarning,
)

OURS = {m.__tablename__ for m in (SourceEpisode, SourceWarning, SourceGrade, SourceMeasure)}


def _ours(obj: Any, name: str | None, type_: str, _reflected: bool, _other: Any) -> bool:
    table = name if type_ == "table" else getattr(getattr(obj, "table", None), "name", None)
    return table in OURS


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


def test_warning_tables_down_and_up(db_url: str) -> None:
    engine = init_db(db_url)
    migrate(engine, "0810_alarm_cases")
    names = set(inspect(engine).get_table_names())
    assert not names & {"source_warning", "source_grade", "source_measure"}
    init_db(engine)
    assert {"source_warning", "source_grade", "source_measure"} <= set(
        inspect(engine).get_table_names()
    )
    engine.dispose()
