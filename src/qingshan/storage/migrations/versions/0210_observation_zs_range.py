"""observation.zs_min / zs_max: the converted minimum and maximum (ZsMin, ZsMax) of a record

Revision ID: 0210_observation_zs_range
Revises: 0200_figures
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0210_observation_zs_range"
down_revision = "0200_figures"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMN on both backends: PostgreSQL adds it to every partition of the
    # partitioned table, SQLite to its WITHOUT ROWID table (a batch copy would lose that).
    op.add_column("observation", sa.Column("zs_min", sa.Text(), nullable=True))
    op.add_column("observation", sa.Column("zs_max", sa.Text(), nullable=True))


def downgrade() -> None:
    op.drop_column("observation", "zs_max")
    op.drop_column("observation", "zs_min")
