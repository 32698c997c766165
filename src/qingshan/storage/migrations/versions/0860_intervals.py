"""device.report_interval: minutes between a device's hourly-or-coarser records (issue 17)

Revision ID: 0860_intervals
Revises: 0845_cases_more
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0860_intervals"
down_revision: str | None = "0855_map_layers"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # NULL: inferred from the stored data (qingshan.services.intervals)
    with op.batch_alter_table("device", schema=None) as batch_op:
        batch_op.add_column(sa.Column("report_interval", sa.SmallInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("device", schema=None) as batch_op:
        batch_op.drop_column("report_interval")
