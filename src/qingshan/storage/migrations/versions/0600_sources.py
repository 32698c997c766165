"""sources: source_episode (exceedance, offline and screening-hint episodes of outlets)

Revision ID: 0600_sources
Revises: 0510_web_hardening
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0600_sources"
down_revision: str | None = "0520_gateway_limits"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "source_episode",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("pollutant", sa.String(length=16), nullable=False),
        sa.Column("basis", sa.String(length=8), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("last_at", sa.DateTime(), nullable=False),
        sa.Column("ended_at", sa.DateTime(), nullable=True),
        sa.Column("periods", sa.Integer(), nullable=False),
        sa.Column("peak_value", sa.Text(), nullable=True),
        sa.Column("peak_at", sa.DateTime(), nullable=True),
        sa.Column("limit_value", sa.Text(), nullable=True),
        sa.Column("unit", sa.String(length=20), nullable=True),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("detected_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("confirmed_by", sa.Integer(), nullable=True),
        sa.Column("confirmed_name", sa.String(length=100), nullable=True),
        sa.Column("confirmed_at", sa.DateTime(), nullable=True),
        sa.Column("confirm_note", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "kind IN ('exceedance', 'offline', 'constant', 'zeros', 'pinned')",
            name=op.f("ck_source_episode_kind"),
        ),
        sa.CheckConstraint(
            "status IN ('open', 'cleared', 'closed')", name=op.f("ck_source_episode_status")
        ),
        sa.ForeignKeyConstraint(
            ["confirmed_by"], ["web_user.id"], name=op.f("fk_source_episode_confirmed_by_web_user")
        ),
        sa.ForeignKeyConstraint(
            ["enterprise_id"],
            ["enterprise.id"],
            name=op.f("fk_source_episode_enterprise_id_enterprise"),
        ),
        sa.ForeignKeyConstraint(
            ["site_id"], ["site.id"], name=op.f("fk_source_episode_site_id_site")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_source_episode")),
        sa.UniqueConstraint(
            "site_id",
            "kind",
            "pollutant",
            "basis",
            "started_at",
            name=op.f("uq_source_episode_site_id_kind_pollutant_basis_started_at"),
        ),
    )
    op.create_index("ix_source_episode_status_started", "source_episode", ["status", "started_at"])
    op.create_index(op.f("ix_source_episode_site_id"), "source_episode", ["site_id"])
    op.create_index(op.f("ix_source_episode_enterprise_id"), "source_episode", ["enterprise_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_source_episode_enterprise_id"), table_name="source_episode")
    op.drop_index(op.f("ix_source_episode_site_id"), table_name="source_episode")
    op.drop_index("ix_source_episode_status_started", table_name="source_episode")
    op.drop_table("source_episode")
