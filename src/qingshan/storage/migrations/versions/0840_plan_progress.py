"""plan progress: values of 完成上级下达目标 targets entered later, assessment schemes,
task progress reports (issue 15)

Revision ID: 0840_plan_progress
Revises: 0810_alarm_cases
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0840_plan_progress"
down_revision: str | None = "0820_source_warnings"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "plan_assigned_target",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("target_id", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("comparator", sa.String(length=12), nullable=False),
        sa.Column("value", sa.Text(), nullable=True),
        sa.Column("base_year", sa.SmallInteger(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("entered_by", sa.Integer(), nullable=True),
        sa.Column("entered_by_name", sa.String(length=100), nullable=False),
        sa.Column("entered_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["target_id"],
            ["plan_target.id"],
            name=op.f("fk_plan_assigned_target_target_id_plan_target"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plan_assigned_target")),
    )
    op.create_index(
        op.f("ix_plan_assigned_target_target_id"), "plan_assigned_target", ["target_id"]
    )
    op.create_table(
        "plan_assessment_scheme",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("year", sa.SmallInteger(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("entered_by", sa.Integer(), nullable=True),
        sa.Column("entered_by_name", sa.String(length=100), nullable=False),
        sa.Column("entered_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["plan_id"],
            ["plan.id"],
            name=op.f("fk_plan_assessment_scheme_plan_id_plan"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plan_assessment_scheme")),
    )
    op.create_index(
        op.f("ix_plan_assessment_scheme_plan_id"), "plan_assessment_scheme", ["plan_id"]
    )
    op.create_table(
        "plan_task_progress",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("task_id", sa.Integer(), nullable=False),
        sa.Column("unit_code", sa.String(length=100), nullable=True),
        sa.Column("percent", sa.SmallInteger(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("reported_by", sa.Integer(), nullable=True),
        sa.Column("reported_at", sa.DateTime(), nullable=False),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.ForeignKeyConstraint(
            ["task_id"],
            ["plan_task.id"],
            name=op.f("fk_plan_task_progress_task_id_plan_task"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["unit_code"], ["org_unit.code"], name=op.f("fk_plan_task_progress_unit_code_org_unit")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plan_task_progress")),
    )
    op.create_index(op.f("ix_plan_task_progress_task_id"), "plan_task_progress", ["task_id"])
    op.create_index(op.f("ix_plan_task_progress_unit_code"), "plan_task_progress", ["unit_code"])


def downgrade() -> None:
    op.drop_index(op.f("ix_plan_task_progress_unit_code"), table_name="plan_task_progress")
    op.drop_index(op.f("ix_plan_task_progress_task_id"), table_name="plan_task_progress")
    op.drop_table("plan_task_progress")
    op.drop_index(op.f("ix_plan_assessment_scheme_plan_id"), table_name="plan_assessment_scheme")
    op.drop_table("plan_assessment_scheme")
    op.drop_index(op.f("ix_plan_assigned_target_target_id"), table_name="plan_assigned_target")
    op.drop_table("plan_assigned_target")
