"""deployment data: own region, region boundaries, permits and limits, indicator targets

Revision ID: 0300_deployment_data
Revises: 0210_observation_zs_range
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0300_deployment_data"
down_revision = "0210_observation_zs_range"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "deployment",
        sa.Column("id", sa.SmallInteger(), nullable=False),
        sa.Column("region_code", sa.String(length=12), nullable=False),
        sa.Column("data_notice", sa.Text(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint("id = 1", name=op.f("ck_deployment_single")),
        sa.ForeignKeyConstraint(
            ["region_code"], ["region.code"], name=op.f("fk_deployment_region_code_region")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deployment")),
    )
    op.create_table(
        "region_boundary",
        sa.Column("region_code", sa.String(length=12), nullable=False),
        sa.Column("geometry", sa.Text(), nullable=False),
        sa.Column("source", sa.Text(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["region_code"], ["region.code"], name=op.f("fk_region_boundary_region_code_region")
        ),
        sa.PrimaryKeyConstraint("region_code", name=op.f("pk_region_boundary")),
    )
    op.create_table(
        "permit",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=40), nullable=False),
        sa.Column("management_class", sa.String(length=8), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_to", sa.Date(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "management_class IN ('重点管理','简化管理','登记管理')", name=op.f("ck_permit_class")
        ),
        sa.CheckConstraint(
            "valid_to IS NULL OR valid_to >= valid_from", name=op.f("ck_permit_validity")
        ),
        sa.ForeignKeyConstraint(
            ["enterprise_id"], ["enterprise.id"], name=op.f("fk_permit_enterprise_id_enterprise")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_permit")),
        sa.UniqueConstraint("number", name=op.f("uq_permit_number")),
    )
    op.create_index(op.f("ix_permit_enterprise_id"), "permit", ["enterprise_id"])
    op.create_table(
        "permit_limit",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("permit_id", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("pollutant", sa.String(length=16), nullable=False),
        sa.Column("limit_value", sa.Text(), nullable=False),
        sa.Column("lower_value", sa.Text(), nullable=True),
        sa.Column("unit", sa.String(length=20), nullable=False),
        sa.Column("basis", sa.String(length=8), nullable=False),
        sa.Column("o2_ref", sa.Text(), nullable=True),
        sa.Column("standard", sa.String(length=200), nullable=False),
        sa.Column("source_table", sa.Text(), nullable=True),
        sa.CheckConstraint("basis IN ('小时均值','日均值')", name=op.f("ck_permit_limit_basis")),
        sa.ForeignKeyConstraint(
            ["permit_id"], ["permit.id"], name=op.f("fk_permit_limit_permit_id_permit")
        ),
        sa.ForeignKeyConstraint(
            ["site_id"], ["site.id"], name=op.f("fk_permit_limit_site_id_site")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_permit_limit")),
        sa.UniqueConstraint(
            "permit_id",
            "site_id",
            "pollutant",
            "basis",
            name=op.f("uq_permit_limit_permit_id_site_id_pollutant_basis"),
        ),
    )
    op.create_index(op.f("ix_permit_limit_permit_id"), "permit_limit", ["permit_id"])
    op.create_index(op.f("ix_permit_limit_site_id"), "permit_limit", ["site_id"])
    op.create_table(
        "permit_annual_amount",
        sa.Column("permit_id", sa.Integer(), nullable=False),
        sa.Column("pollutant", sa.String(length=16), nullable=False),
        sa.Column("year", sa.SmallInteger(), nullable=False),
        sa.Column("amount", sa.Text(), nullable=False),
        sa.Column("unit", sa.String(length=10), nullable=False),
        sa.ForeignKeyConstraint(
            ["permit_id"], ["permit.id"], name=op.f("fk_permit_annual_amount_permit_id_permit")
        ),
        sa.PrimaryKeyConstraint(
            "permit_id", "pollutant", "year", name=op.f("pk_permit_annual_amount")
        ),
    )
    op.create_table(
        "indicator_target",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("region_code", sa.String(length=12), nullable=False),
        sa.Column("indicator", sa.String(length=40), nullable=False),
        sa.Column("year_from", sa.SmallInteger(), nullable=False),
        sa.Column("year_to", sa.SmallInteger(), nullable=True),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("unit", sa.String(length=20), nullable=False),
        sa.Column("comparison", sa.String(length=10), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.CheckConstraint(
            "comparison IN ('at_least','at_most')", name=op.f("ck_indicator_target_comparison")
        ),
        sa.CheckConstraint(
            "year_to IS NULL OR year_to >= year_from", name=op.f("ck_indicator_target_years")
        ),
        sa.ForeignKeyConstraint(
            ["region_code"], ["region.code"], name=op.f("fk_indicator_target_region_code_region")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_indicator_target")),
        sa.UniqueConstraint(
            "region_code",
            "indicator",
            "year_from",
            name=op.f("uq_indicator_target_region_code_indicator_year_from"),
        ),
    )
    op.create_index(op.f("ix_indicator_target_region_code"), "indicator_target", ["region_code"])


def downgrade() -> None:
    op.drop_index(op.f("ix_indicator_target_region_code"), table_name="indicator_target")
    op.drop_table("indicator_target")
    op.drop_table("permit_annual_amount")
    op.drop_index(op.f("ix_permit_limit_site_id"), table_name="permit_limit")
    op.drop_index(op.f("ix_permit_limit_permit_id"), table_name="permit_limit")
    op.drop_table("permit_limit")
    op.drop_index(op.f("ix_permit_enterprise_id"), table_name="permit")
    op.drop_table("permit")
    op.drop_table("region_boundary")
    op.drop_table("deployment")
