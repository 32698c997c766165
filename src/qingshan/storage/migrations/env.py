"""Alembic environment: always driven programmatically by :func:`qingshan.storage.db.init_db`."""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from qingshan.storage.models import Base

config = context.config
connection = config.attributes.get("connection")
if not isinstance(connection, Connection):
    raise RuntimeError("run migrations through `qingshan init` (qingshan.storage.db.init_db)")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=True,  # SQLite ALTER TABLE goes through batch mode
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
