"""supervision cases: case_item, case_supporting_unit, case_accountability (issue 14)

Revision ID: 0700_cases
Revises: 0510_web_hardening
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0700_cases"
down_revision: str | None = "0600_sources"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "case_item",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("origin", sa.String(length=24), nullable=False),
        sa.Column("workflow", sa.String(length=40), nullable=False),
        sa.Column("state", sa.String(length=40), nullable=False),
        sa.Column("round", sa.SmallInteger(), nullable=True),
        sa.Column("batch", sa.String(length=40), nullable=True),
        sa.Column("item_no", sa.String(length=40), nullable=True),
        sa.Column("national_id", sa.String(length=40), nullable=True),
        sa.Column("channel", sa.String(length=12), nullable=True),
        sa.Column("river", sa.String(length=100), nullable=True),
        sa.Column("reach", sa.String(length=100), nullable=True),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("category", sa.String(length=20), nullable=True),
        sa.Column("region_code", sa.String(length=12), nullable=True),
        sa.Column("enterprise_id", sa.Integer(), nullable=True),
        sa.Column("site_id", sa.Integer(), nullable=True),
        sa.Column("longitude", sa.Float(), nullable=True),
        sa.Column("latitude", sa.Float(), nullable=True),
        sa.Column("address", sa.String(length=300), nullable=True),
        sa.Column("lead_unit", sa.String(length=100), nullable=True),
        sa.Column("acceptance_unit", sa.String(length=100), nullable=True),
        sa.Column("received_on", sa.Date(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=True),
        sa.Column("due_basis", sa.String(length=300), nullable=True),
        sa.Column("extended_days", sa.SmallInteger(), nullable=False),
        sa.Column("rectified_on", sa.Date(), nullable=True),
        sa.Column("signed_off_on", sa.Date(), nullable=True),
        sa.Column("closed_on", sa.Date(), nullable=True),
        sa.Column("finding", sa.String(length=8), nullable=True),
        sa.Column("duplicate_of", sa.Integer(), nullable=True),
        sa.Column("repeat_of", sa.Integer(), nullable=True),
        sa.Column("warning", sa.String(length=8), nullable=True),
        sa.Column("supervised_on", sa.Date(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint(
            "kind IN ('problem','complaint','patrol')", name=op.f("ck_case_item_kind")
        ),
        sa.CheckConstraint(
            "origin IN ('central_inspection','provincial_inspection','warning_film','hotline',"
            "'grid_patrol','river_patrol','enforcement')",
            name=op.f("ck_case_item_origin"),
        ),
        sa.CheckConstraint(
            "warning IS NULL OR warning IN ('blue','yellow','red')",
            name=op.f("ck_case_item_warning"),
        ),
        sa.CheckConstraint("extended_days >= 0", name=op.f("ck_case_item_extended_days")),
        sa.CheckConstraint("round IS NULL OR round >= 1", name=op.f("ck_case_item_round")),
        sa.ForeignKeyConstraint(
            ["acceptance_unit"],
            ["org_unit.code"],
            name=op.f("fk_case_item_acceptance_unit_org_unit"),
        ),
        sa.ForeignKeyConstraint(
            ["duplicate_of"], ["case_item.id"], name=op.f("fk_case_item_duplicate_of_case_item")
        ),
        sa.ForeignKeyConstraint(
            ["enterprise_id"], ["enterprise.id"], name=op.f("fk_case_item_enterprise_id_enterprise")
        ),
        sa.ForeignKeyConstraint(
            ["lead_unit"], ["org_unit.code"], name=op.f("fk_case_item_lead_unit_org_unit")
        ),
        sa.ForeignKeyConstraint(
            ["region_code"], ["region.code"], name=op.f("fk_case_item_region_code_region")
        ),
        sa.ForeignKeyConstraint(
            ["repeat_of"], ["case_item.id"], name=op.f("fk_case_item_repeat_of_case_item")
        ),
        sa.ForeignKeyConstraint(["site_id"], ["site.id"], name=op.f("fk_case_item_site_id_site")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_item")),
        sa.UniqueConstraint("code", name=op.f("uq_case_item_code")),
        sa.UniqueConstraint("national_id", name=op.f("uq_case_item_national_id")),
    )
    with op.batch_alter_table("case_item", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_case_item_enterprise_id"), ["enterprise_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_case_item_lead_unit"), ["lead_unit"], unique=False)
        batch_op.create_index(batch_op.f("ix_case_item_region_code"), ["region_code"], unique=False)
        batch_op.create_index("ix_case_item_stats", ["origin", "round", "kind"], unique=False)

    op.create_table(
        "case_accountability",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("step", sa.String(length=4), nullable=False),
        sa.Column("unit_code", sa.String(length=100), nullable=True),
        sa.Column("person", sa.String(length=50), nullable=True),
        sa.Column("position", sa.String(length=100), nullable=True),
        sa.Column("decided_on", sa.Date(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("recorded_by", sa.Integer(), nullable=True),
        sa.Column("recorded_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint(
            "step IN ('通报','约谈','问责')", name=op.f("ck_case_accountability_step")
        ),
        sa.CheckConstraint(
            "unit_code IS NOT NULL OR person IS NOT NULL",
            name=op.f("ck_case_accountability_target"),
        ),
        sa.ForeignKeyConstraint(
            ["case_id"], ["case_item.id"], name=op.f("fk_case_accountability_case_id_case_item")
        ),
        sa.ForeignKeyConstraint(
            ["unit_code"], ["org_unit.code"], name=op.f("fk_case_accountability_unit_code_org_unit")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_accountability")),
    )
    with op.batch_alter_table("case_accountability", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_case_accountability_case_id"), ["case_id"], unique=False
        )

    op.create_table(
        "case_supporting_unit",
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("unit_code", sa.String(length=100), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["case_item.id"], name=op.f("fk_case_supporting_unit_case_id_case_item")
        ),
        sa.ForeignKeyConstraint(
            ["unit_code"],
            ["org_unit.code"],
            name=op.f("fk_case_supporting_unit_unit_code_org_unit"),
        ),
        sa.PrimaryKeyConstraint("case_id", "unit_code", name=op.f("pk_case_supporting_unit")),
    )


def downgrade() -> None:
    op.drop_table("case_supporting_unit")
    with op.batch_alter_table("case_accountability", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_case_accountability_case_id"))

    op.drop_table("case_accountability")
    with op.batch_alter_table("case_item", schema=None) as batch_op:
        batch_op.drop_index("ix_case_item_stats")
        batch_op.drop_index(batch_op.f("ix_case_item_region_code"))
        batch_op.drop_index(batch_op.f("ix_case_item_lead_unit"))
        batch_op.drop_index(batch_op.f("ix_case_item_enterprise_id"))

    op.drop_table("case_item")
