"""sources: source_warning, source_grade, source_measure (应急减排清单, heavy-pollution warnings)

Revision ID: 0820_source_warnings
Revises: 0810_alarm_cases
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0820_source_warnings"
down_revision: str | None = "0810_alarm_cases"
branch_labels = None
depends_on = None

LEVELS = "level IN ('yellow', 'orange', 'red')"


def upgrade() -> None:
    op.create_table(
        "source_warning",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("level", sa.String(length=8), nullable=False),
        sa.Column("region_code", sa.String(length=12), nullable=False),
        sa.Column("starts_at", sa.DateTime(), nullable=False),
        sa.Column("ends_at", sa.DateTime(), nullable=True),
        sa.Column("document", sa.String(length=200), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.CheckConstraint(LEVELS, name=op.f("ck_source_warning_level")),
        sa.ForeignKeyConstraint(
            ["region_code"], ["region.code"], name=op.f("fk_source_warning_region_code_region")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_source_warning")),
    )
    op.create_index("ix_source_warning_starts_at", "source_warning", ["starts_at"])
    op.create_table(
        "source_grade",
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("grade", sa.String(length=8), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint(
            "grade IN ('A', 'B', 'C', 'D', 'leading')", name=op.f("ck_source_grade_grade")
        ),
        sa.ForeignKeyConstraint(
            ["enterprise_id"],
            ["enterprise.id"],
            name=op.f("fk_source_grade_enterprise_id_enterprise"),
        ),
        sa.PrimaryKeyConstraint("enterprise_id", name=op.f("pk_source_grade")),
    )
    op.create_table(
        "source_measure",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("level", sa.String(length=8), nullable=False),
        sa.Column("measure", sa.Text(), nullable=False),
        sa.Column("reduction", sa.String(length=12), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint(LEVELS, name=op.f("ck_source_measure_level")),
        sa.ForeignKeyConstraint(
            ["enterprise_id"],
            ["enterprise.id"],
            name=op.f("fk_source_measure_enterprise_id_enterprise"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_source_measure")),
        sa.UniqueConstraint(
            "enterprise_id", "level", name=op.f("uq_source_measure_enterprise_id_level")
        ),
    )
    op.create_index(op.f("ix_source_measure_enterprise_id"), "source_measure", ["enterprise_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_source_measure_enterprise_id"), table_name="source_measure")
    op.drop_table("source_measure")
    op.drop_table("source_grade")
    op.drop_index("ix_source_warning_starts_at", table_name="source_warning")
    op.drop_table("source_warning")
