"""cases: the unit answering for automatic-alarm cases, per region (issue 14)

Revision ID: 0845_cases_more
Revises: 0810_alarm_cases
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0845_cases_more"
down_revision: str | None = "0840_plan_progress"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "case_alarm_lead",
        sa.Column("region_code", sa.String(length=12), nullable=False),
        sa.Column("unit_code", sa.String(length=100), nullable=False),
        sa.Column("set_by", sa.Integer(), nullable=True),
        sa.Column("set_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["unit_code"], ["org_unit.code"], name=op.f("fk_case_alarm_lead_unit_code_org_unit")
        ),
        sa.PrimaryKeyConstraint("region_code", name=op.f("pk_case_alarm_lead")),
    )


def downgrade() -> None:
    op.drop_table("case_alarm_lead")
