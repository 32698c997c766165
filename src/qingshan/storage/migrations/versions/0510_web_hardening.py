"""web hardening: API tokens get a scope (read / write) and an expiry

Revision ID: 0510_web_hardening
Revises: 0410_casework
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from alembic import op

revision = "0510_web_hardening"
down_revision = "0410_casework"
branch_labels = None
depends_on = None

# Tokens made before scopes could do everything their user may; they keep that, and expire
# after the default lifetime instead of never.
EXISTING_TOKEN_DAYS = 90


def upgrade() -> None:
    with op.batch_alter_table("api_token") as batch:
        batch.add_column(
            sa.Column("scope", sa.String(length=8), server_default="read", nullable=False)
        )
        batch.add_column(sa.Column("expires_at", sa.DateTime(), nullable=True))
        batch.create_check_constraint(op.f("ck_api_token_scope"), "scope IN ('read', 'write')")
    token = sa.table(
        "api_token", sa.column("scope", sa.String), sa.column("expires_at", sa.DateTime)
    )
    expiry = datetime.now(UTC).replace(tzinfo=None) + timedelta(days=EXISTING_TOKEN_DAYS)
    op.execute(token.update().values(scope="write", expires_at=expiry))


def downgrade() -> None:
    with op.batch_alter_table("api_token") as batch:
        batch.drop_constraint(op.f("ck_api_token_scope"), type_="check")
        batch.drop_column("expires_at")
        batch.drop_column("scope")
