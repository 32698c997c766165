"""map: the deployment's reference layers (rivers, roads, place names) for an offline map
(issue 17)

Revision ID: 0855_map_layers
Revises: 0845_cases_more
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0855_map_layers"
down_revision: str | None = "0850_report_issues"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "map_feature",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=True),
        sa.Column("geometry", sa.Text(), nullable=False),
        sa.Column("rank", sa.SmallInteger(), nullable=True),
        sa.Column("source", sa.Text(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint("kind IN ('river','road','place')", name=op.f("ck_map_feature_kind")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_map_feature")),
    )
    op.create_index(op.f("ix_map_feature_kind"), "map_feature", ["kind"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_map_feature_kind"), table_name="map_feature")
    op.drop_table("map_feature")
