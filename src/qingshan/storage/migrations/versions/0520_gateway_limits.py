"""gateway limits: what the HJ 212 gateway refused, as counters (gateway_refusal)

Revision ID: 0520_gateway_limits
Revises: 0510_web_hardening
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0520_gateway_limits"
down_revision = "0510_web_hardening"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "gateway_refusal",
        sa.Column("id", BigId, nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("subject", sa.String(length=64), nullable=False),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.Column("first_at", sa.DateTime(), nullable=False),
        sa.Column("last_at", sa.DateTime(), nullable=False),
        sa.Column("blocked_until", sa.DateTime(), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gateway_refusal")),
    )
    op.create_index(
        op.f("ix_gateway_refusal_last_at"), "gateway_refusal", ["last_at"], unique=False
    )
    op.create_index(
        "ix_gateway_refusal_kind_subject", "gateway_refusal", ["kind", "subject"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_gateway_refusal_kind_subject", table_name="gateway_refusal")
    op.drop_index(op.f("ix_gateway_refusal_last_at"), table_name="gateway_refusal")
    op.drop_table("gateway_refusal")
