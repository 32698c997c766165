"""report issues: the editorial fields of a report issue — 问题与建议, 审核, 签发 (issue 17)

Revision ID: 0850_report_issues
Revises: 0845_cases_more
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0850_report_issues"
down_revision: str | None = "0845_cases_more"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "report_issue",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("region_code", sa.String(length=12), nullable=False),
        sa.Column("period", sa.String(length=10), nullable=False),
        sa.Column("advice", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_by", sa.Integer(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("reviewer_name", sa.String(length=100), nullable=True),
        sa.Column("reviewed_by", sa.Integer(), nullable=True),
        sa.Column("reviewed_at", sa.DateTime(), nullable=True),
        sa.Column("signer_name", sa.String(length=100), nullable=True),
        sa.Column("signed_by", sa.Integer(), nullable=True),
        sa.Column("signed_at", sa.DateTime(), nullable=True),
        sa.CheckConstraint(
            "status IN ('draft','reviewed','issued')", name=op.f("ck_report_issue_status")
        ),
        sa.ForeignKeyConstraint(
            ["region_code"], ["region.code"], name=op.f("fk_report_issue_region_code_region")
        ),
        sa.ForeignKeyConstraint(
            ["updated_by"], ["web_user.id"], name=op.f("fk_report_issue_updated_by_web_user")
        ),
        sa.ForeignKeyConstraint(
            ["reviewed_by"], ["web_user.id"], name=op.f("fk_report_issue_reviewed_by_web_user")
        ),
        sa.ForeignKeyConstraint(
            ["signed_by"], ["web_user.id"], name=op.f("fk_report_issue_signed_by_web_user")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report_issue")),
        sa.UniqueConstraint(
            "kind", "region_code", "period", name=op.f("uq_report_issue_kind_region_code_period")
        ),
    )
    op.create_index(op.f("ix_report_issue_region_code"), "report_issue", ["region_code"])


def downgrade() -> None:
    op.drop_index(op.f("ix_report_issue_region_code"), table_name="report_issue")
    op.drop_table("report_issue")
