"""computed figures (issue 7): air hour/day/period, water sample/month, noise day, dirty set

Revision ID: 0200_figures
Revises: 0100_web (re-chained on the web branch: 0001 → 0100_web → 0200_figures)
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0200_figures"
down_revision = "0100_web"
branch_labels = None
depends_on = None


def _scoped(name: str, *cols: sa.Column[Any], key: tuple[str, ...]) -> None:
    op.create_table(name, *cols, sa.PrimaryKeyConstraint(*key, name=f"pk_{name}"))


def upgrade() -> None:
    op.create_table(
        "figure_dirty",
        sa.Column("device_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.DateTime(), nullable=False),
        sa.Column("marked_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("device_id", "day", name="pk_figure_dirty"),
    )
    _scoped(
        "fig_air_hour",
        sa.Column("scope", sa.String(8), nullable=False),
        sa.Column("scope_code", sa.String(40), nullable=False),
        sa.Column("data_time", sa.DateTime(), nullable=False),
        sa.Column("standard", sa.String(16), nullable=False),
        sa.Column("aqi", sa.SmallInteger(), nullable=True),
        sa.Column("level", sa.String(8), nullable=True),
        sa.Column("category", sa.String(16), nullable=True),
        sa.Column("primary_pollutants", sa.String(60), nullable=True),
        sa.Column("iaqi", sa.Text(), nullable=False),
        sa.Column("concentrations", sa.Text(), nullable=False),
        sa.Column("provenance", sa.Text(), nullable=False),
        key=("scope", "scope_code", "data_time", "standard"),
    )
    _scoped(
        "fig_air_day",
        sa.Column("scope", sa.String(8), nullable=False),
        sa.Column("scope_code", sa.String(40), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("standard", sa.String(16), nullable=False),
        sa.Column("aqi_standard", sa.String(16), nullable=False),
        sa.Column("aqi", sa.SmallInteger(), nullable=True),
        sa.Column("level", sa.String(8), nullable=True),
        sa.Column("category", sa.String(16), nullable=True),
        sa.Column("primary_pollutants", sa.String(60), nullable=True),
        sa.Column("valid", sa.Boolean(), nullable=False),
        *[
            sa.Column(c, sa.Float(), nullable=True)
            for c in ("so2", "no2", "co", "o3_1h", "o3_8h", "pm10", "pm2_5")
        ],
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("provenance", sa.Text(), nullable=False),
        sa.Column("computed_at", sa.DateTime(), nullable=False),
        key=("scope", "scope_code", "day", "standard"),
    )
    _scoped(
        "fig_air_period",
        sa.Column("scope", sa.String(8), nullable=False),
        sa.Column("scope_code", sa.String(40), nullable=False),
        sa.Column("period", sa.String(10), nullable=False),
        sa.Column("standard", sa.String(16), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("period_end", sa.Date(), nullable=False),
        sa.Column("valid_days", sa.Integer(), nullable=False),
        sa.Column("good_days", sa.Integer(), nullable=False),
        sa.Column("good_day_ratio", sa.Float(), nullable=True),
        sa.Column("heavy_days", sa.Integer(), nullable=False),
        sa.Column("composite_index", sa.Float(), nullable=True),
        sa.Column("attained", sa.Boolean(), nullable=True),
        sa.Column("result", sa.Text(), nullable=False),
        sa.Column("provenance", sa.Text(), nullable=False),
        sa.Column("computed_at", sa.DateTime(), nullable=False),
        key=("scope", "scope_code", "period", "standard"),
    )
    _scoped(
        "fig_water_sample",
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("data_time", sa.DateTime(), nullable=False),
        sa.Column("water_class", sa.SmallInteger(), nullable=True),
        sa.Column("failing", sa.String(200), nullable=True),
        sa.Column("sample_values", sa.Text(), nullable=False),
        key=("site_id", "data_time"),
    )
    _scoped(
        "fig_water_month",
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("month", sa.String(7), nullable=False),
        sa.Column("kind", sa.String(30), nullable=False),
        sa.Column("water_class", sa.SmallInteger(), nullable=True),
        sa.Column("target_class", sa.SmallInteger(), nullable=True),
        sa.Column("meets_target", sa.Boolean(), nullable=True),
        sa.Column("result", sa.Text(), nullable=False),
        sa.Column("provenance", sa.Text(), nullable=False),
        sa.Column("computed_at", sa.DateTime(), nullable=False),
        key=("site_id", "month"),
    )
    _scoped(
        "fig_noise_day",
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("zone", sa.String(4), nullable=False),
        sa.Column("ld", sa.Float(), nullable=True),
        sa.Column("ln", sa.Float(), nullable=True),
        sa.Column("day_ok", sa.Boolean(), nullable=True),
        sa.Column("night_ok", sa.Boolean(), nullable=True),
        sa.Column("provenance", sa.Text(), nullable=False),
        sa.Column("computed_at", sa.DateTime(), nullable=False),
        key=("site_id", "day"),
    )


def downgrade() -> None:
    for name in (
        "fig_noise_day",
        "fig_water_month",
        "fig_water_sample",
        "fig_air_period",
        "fig_air_day",
        "fig_air_hour",
        "figure_dirty",
    ):
        op.drop_table(name)
