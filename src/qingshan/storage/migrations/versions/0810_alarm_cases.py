"""alarm cases: origin automatic_alarm, kind alarm, case_item.episode_id (issues 13 × 14)

Revision ID: 0810_alarm_cases
Revises: 0800_plans
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0810_alarm_cases"
down_revision: str | None = "0800_plans"
branch_labels = None
depends_on = None

KINDS_OLD = "kind IN ('problem','complaint','patrol')"
KINDS_NEW = "kind IN ('problem','complaint','patrol','alarm')"
ORIGINS_OLD = (
    "origin IN ('central_inspection','provincial_inspection','warning_film','hotline',"
    "'grid_patrol','river_patrol','enforcement')"
)
ORIGINS_NEW = (
    "origin IN ('central_inspection','provincial_inspection','warning_film','hotline',"
    "'grid_patrol','river_patrol','enforcement','automatic_alarm')"
)


def _checks(kinds: str, origins: str) -> None:
    # batch mode: SQLite rebuilds the table to change a CHECK constraint
    with op.batch_alter_table("case_item", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_case_item_kind"), type_="check")
        batch_op.drop_constraint(batch_op.f("ck_case_item_origin"), type_="check")
        batch_op.create_check_constraint("kind", sa.text(kinds))
        batch_op.create_check_constraint("origin", sa.text(origins))


def upgrade() -> None:
    with op.batch_alter_table("case_item", schema=None) as batch_op:
        batch_op.add_column(sa.Column("episode_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_case_item_episode_id_source_episode"),
            "source_episode",
            ["episode_id"],
            ["id"],
        )
        batch_op.create_index("ix_case_item_episode_id", ["episode_id"], unique=True)
    _checks(KINDS_NEW, ORIGINS_NEW)


def downgrade() -> None:
    op.execute("DELETE FROM case_item WHERE episode_id IS NOT NULL")
    _checks(KINDS_OLD, ORIGINS_OLD)
    with op.batch_alter_table("case_item", schema=None) as batch_op:
        batch_op.drop_index("ix_case_item_episode_id")
        batch_op.drop_constraint(
            batch_op.f("fk_case_item_episode_id_source_episode"), type_="foreignkey"
        )
        batch_op.drop_column("episode_id")
