"""Migration 0400_registry on SQLite and PostgreSQL: the models match the migrated schema,
free-text units become registered 责任单位, and it goes down and up again."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text

import qingshan.storage.models_web  # noqa: F401  (its tables and org_unit into the metadata)
from qingshan.storage.db import current_revision, make_engine, migrate
from qingshan.storage.models import Base

OURS = {"org_unit", "enterprise", "web_user"}  # the tables 0400 creates or changes


def _ours(obj: Any, name: str | None, type_: str, _reflected: bool, _other: Any) -> bool:
    table = name if type_ == "table" else getattr(getattr(obj, "table", None), "name", None)
    return table in OURS


def test_models_match_the_migrated_schema(db_url: str) -> None:
    engine = make_engine(db_url)
    with engine.connect() as conn:
        mc = MigrationContext.configure(conn, opts={"compare_type": True, "include_object": _ours})
        assert compare_metadata(mc, Base.metadata) == []
    engine.dispose()


def test_free_text_units_become_org_units_and_back(db_url: str) -> None:
    engine = make_engine(db_url)
    migrate(engine, "0300_deployment_data")
    assert "org_unit" not in inspect(engine).get_table_names()
    with engine.begin() as conn:
        for name, unit in (
            ("u1", " 水务局 "),
            ("u2", "水务局"),
            ("u3", "自然资源局"),
            ("u4", None),
        ):
            role = "unit" if unit else "staff"
            conn.execute(
                text(
                    "INSERT INTO web_user (username, password_hash, role, unit, active, created_at)"
                    " VALUES (:n, 'x', :r, :u, true, '2026-01-01 00:00:00')"
                ),
                {"n": name, "r": role, "u": unit},
            )
    migrate(engine, "0400_registry")
    assert current_revision(engine) == "0400_registry"
    with engine.connect() as conn:
        units = conn.execute(text("SELECT code, name, kind FROM org_unit ORDER BY code")).all()
        users = dict(conn.execute(text("SELECT username, unit FROM web_user")).all())  # type: ignore[arg-type]
    assert [tuple(u) for u in units] == [
        ("水务局", "水务局", "department"),
        ("自然资源局", "自然资源局", "department"),
    ]
    assert users == {"u1": "水务局", "u2": "水务局", "u3": "自然资源局", "u4": None}
    fks = inspect(engine).get_foreign_keys("web_user")
    assert any(fk["referred_table"] == "org_unit" for fk in fks)
    cols = {c["name"] for c in inspect(engine).get_columns("enterprise")}
    assert {"industry_code", "control_level", "permit_class", "contact_phone"} <= cols
    migrate(engine, "0300_deployment_data")
    assert "org_unit" not in inspect(engine).get_table_names()
    assert "industry_code" not in {c["name"] for c in inspect(engine).get_columns("enterprise")}
    migrate(engine, "0400_registry")
    assert current_revision(engine) == "0400_registry"
    engine.dispose()
