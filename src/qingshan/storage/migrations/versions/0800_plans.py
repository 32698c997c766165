"""plans: plan, indicators, targets, tasks and their responsible units (issue 15)

Revision ID: 0800_plans
Revises: 0510_web_hardening
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0800_plans"
down_revision: str | None = "0700_cases"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "plan",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("template_id", sa.String(length=40), nullable=True),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("issuer", sa.String(length=200), nullable=False),
        sa.Column("document_number", sa.String(length=100), nullable=False),
        sa.Column("issued", sa.String(length=10), nullable=False),
        sa.Column("region_code", sa.String(length=12), nullable=False),
        sa.Column("period_start", sa.SmallInteger(), nullable=False),
        sa.Column("period_end", sa.SmallInteger(), nullable=False),
        sa.Column("milestones", sa.Text(), nullable=False),
        sa.Column("baseline_label", sa.String(length=40), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("responsibility_notes", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["region_code"], ["region.code"], name=op.f("fk_plan_region_code_region")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plan")),
        sa.UniqueConstraint("template_id", name=op.f("uq_plan_template_id")),
    )
    op.create_index(op.f("ix_plan_region_code"), "plan", ["region_code"])
    op.create_table(
        "plan_indicator",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("no", sa.String(length=10), nullable=False),
        sa.Column("position", sa.SmallInteger(), nullable=False),
        sa.Column("category", sa.String(length=100), nullable=False),
        sa.Column("published", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("unit", sa.String(length=40), nullable=False),
        sa.Column("attribute", sa.String(length=10), nullable=False),
        sa.Column("direction", sa.String(length=4), nullable=False),
        sa.Column("baseline_year", sa.SmallInteger(), nullable=True),
        sa.Column("baseline_text", sa.Text(), nullable=True),
        sa.Column("binding", sa.String(length=40), nullable=True),
        sa.Column("dust_deduction", sa.Boolean(), nullable=False),
        sa.Column("source_sentence", sa.Text(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "direction IN ('up','down','none')", name=op.f("ck_plan_indicator_direction")
        ),
        sa.ForeignKeyConstraint(
            ["plan_id"],
            ["plan.id"],
            name=op.f("fk_plan_indicator_plan_id_plan"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plan_indicator")),
        sa.UniqueConstraint("plan_id", "no", name=op.f("uq_plan_indicator_plan_id_no")),
    )
    op.create_index(op.f("ix_plan_indicator_plan_id"), "plan_indicator", ["plan_id"])
    op.create_table(
        "plan_target",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("indicator_id", sa.Integer(), nullable=False),
        sa.Column("year", sa.SmallInteger(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("comparator", sa.String(length=12), nullable=False),
        sa.Column("value", sa.Text(), nullable=True),
        sa.Column("base_year", sa.SmallInteger(), nullable=True),
        sa.Column("soft", sa.Boolean(), nullable=False),
        sa.Column("approx", sa.Boolean(), nullable=False),
        sa.Column("marked", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["indicator_id"],
            ["plan_indicator.id"],
            name=op.f("fk_plan_target_indicator_id_plan_indicator"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plan_target")),
        sa.UniqueConstraint("indicator_id", "year", name=op.f("uq_plan_target_indicator_id_year")),
    )
    op.create_index(op.f("ix_plan_target_indicator_id"), "plan_target", ["indicator_id"])
    op.create_table(
        "plan_task",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("no", sa.String(length=20), nullable=False),
        sa.Column("position", sa.SmallInteger(), nullable=False),
        sa.Column("group", sa.Text(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("deadline", sa.Date(), nullable=True),
        sa.Column("deadline_text", sa.Text(), nullable=True),
        sa.Column("recurrence", sa.Text(), nullable=True),
        sa.Column("completed_on", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(
            ["plan_id"], ["plan.id"], name=op.f("fk_plan_task_plan_id_plan"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plan_task")),
        sa.UniqueConstraint("plan_id", "no", name=op.f("uq_plan_task_plan_id_no")),
    )
    op.create_index(op.f("ix_plan_task_plan_id"), "plan_task", ["plan_id"])
    op.create_table(
        "plan_task_unit",
        sa.Column("task_id", sa.Integer(), nullable=False),
        sa.Column("unit_code", sa.String(length=100), nullable=False),
        sa.Column("role", sa.String(length=8), nullable=False),
        sa.CheckConstraint(
            "role IN ('lead','support','joint','each')", name=op.f("ck_plan_task_unit_role")
        ),
        sa.ForeignKeyConstraint(
            ["task_id"],
            ["plan_task.id"],
            name=op.f("fk_plan_task_unit_task_id_plan_task"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["unit_code"], ["org_unit.code"], name=op.f("fk_plan_task_unit_unit_code_org_unit")
        ),
        sa.PrimaryKeyConstraint("task_id", "unit_code", "role", name=op.f("pk_plan_task_unit")),
    )
    op.create_table(
        "plan_report",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("indicator_id", sa.Integer(), nullable=False),
        sa.Column("year", sa.SmallInteger(), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("unit_code", sa.String(length=100), nullable=True),
        sa.Column("reported_by", sa.Integer(), nullable=True),
        sa.Column("reported_at", sa.DateTime(), nullable=False),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.ForeignKeyConstraint(
            ["indicator_id"],
            ["plan_indicator.id"],
            name=op.f("fk_plan_report_indicator_id_plan_indicator"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["unit_code"], ["org_unit.code"], name=op.f("fk_plan_report_unit_code_org_unit")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plan_report")),
    )
    op.create_index(op.f("ix_plan_report_indicator_id"), "plan_report", ["indicator_id"])
    op.create_index(op.f("ix_plan_report_unit_code"), "plan_report", ["unit_code"])


def downgrade() -> None:
    op.drop_index(op.f("ix_plan_report_unit_code"), table_name="plan_report")
    op.drop_index(op.f("ix_plan_report_indicator_id"), table_name="plan_report")
    op.drop_table("plan_report")
    op.drop_table("plan_task_unit")
    op.drop_index(op.f("ix_plan_task_plan_id"), table_name="plan_task")
    op.drop_table("plan_task")
    op.drop_index(op.f("ix_plan_target_indicator_id"), table_name="plan_target")
    op.drop_table("plan_target")
    op.drop_index(op.f("ix_plan_indicator_plan_id"), table_name="plan_indicator")
    op.drop_table("plan_indicator")
    op.drop_index(op.f("ix_plan_region_code"), table_name="plan")
    op.drop_table("plan")
