"""initial schema

Revision ID: 0001
Revises: (none)
Create Date: 2026-11-26 11:25:40.371693
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "connection_log",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("peer", sa.String(length=64), nullable=False),
        sa.Column("mn", sa.String(length=32), nullable=True),
        sa.Column("connected_at", sa.DateTime(), nullable=False),
        sa.Column("disconnected_at", sa.DateTime(), nullable=True),
        sa.Column("packets", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=60), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_connection_log")),
    )
    with op.batch_alter_table("connection_log", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_connection_log_connected_at"), ["connected_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_connection_log_mn"), ["mn"], unique=False)

    op.create_table(
        "device_event",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("mn", sa.String(length=32), nullable=True),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("peer", sa.String(length=64), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_device_event")),
    )
    with op.batch_alter_table("device_event", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_device_event_at"), ["at"], unique=False)
        batch_op.create_index(batch_op.f("ix_device_event_mn"), ["mn"], unique=False)

    op.create_table(
        "device_group",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_device_group")),
        sa.UniqueConstraint("name", name=op.f("uq_device_group_name")),
    )
    op.create_table(
        "device_status",
        sa.Column("device_id", sa.Integer(), nullable=False),
        sa.Column("data_time", sa.DateTime(), nullable=False),
        sa.Column("cn", sa.String(length=4), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("value", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint(
            "device_id", "data_time", "cn", "code", name=op.f("pk_device_status")
        ),
    )
    op.create_table(
        "factor",
        sa.Column("code", sa.String(length=16), nullable=False),
        sa.Column("edition", sa.String(length=4), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("unit", sa.String(length=30), nullable=True),
        sa.Column("medium", sa.String(length=20), nullable=True),
        sa.Column("code_2017", sa.String(length=16), nullable=True),
        sa.PrimaryKeyConstraint("code", "edition", name=op.f("pk_factor")),
    )
    op.create_table(
        "observation",
        sa.Column("device_id", sa.Integer(), nullable=False),
        sa.Column("resolution", sa.SmallInteger(), nullable=False),
        sa.Column("data_time", sa.DateTime(), nullable=False),
        sa.Column("code", sa.String(length=16), nullable=False),
        sa.Column("value", sa.Text(), nullable=True),
        sa.Column("vmin", sa.Text(), nullable=True),
        sa.Column("vmax", sa.Text(), nullable=True),
        sa.Column("cou", sa.Text(), nullable=True),
        sa.Column("zs", sa.Text(), nullable=True),
        sa.Column("flag", sa.String(length=2), nullable=True),
        sa.Column("derived", sa.Boolean(), nullable=False),
        sa.Column("samples", sa.SmallInteger(), nullable=True),
        sa.PrimaryKeyConstraint(
            "device_id", "resolution", "data_time", "code", name=op.f("pk_observation")
        ),
        postgresql_partition_by="RANGE (data_time)",
        sqlite_with_rowid=False,
    )
    with op.batch_alter_table("observation", schema=None) as batch_op:
        batch_op.create_index(
            "ix_observation_resolution_data_time", ["resolution", "data_time"], unique=False
        )

    op.create_table(
        "quarantine",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("received_at", sa.DateTime(), nullable=False),
        sa.Column("peer", sa.String(length=64), nullable=True),
        sa.Column("mn", sa.String(length=32), nullable=True),
        sa.Column("reason", sa.String(length=40), nullable=False),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("raw", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quarantine")),
    )
    with op.batch_alter_table("quarantine", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_quarantine_received_at"), ["received_at"], unique=False
        )

    op.create_table(
        "raw_packet",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("received_at", sa.DateTime(), nullable=False),
        sa.Column("mn", sa.String(length=32), nullable=False),
        sa.Column("qn", sa.String(length=24), nullable=True),
        sa.Column("cn", sa.String(length=4), nullable=False),
        sa.Column("peer", sa.String(length=64), nullable=True),
        sa.Column("raw", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_raw_packet")),
    )
    with op.batch_alter_table("raw_packet", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_raw_packet_received_at"), ["received_at"], unique=False
        )

    op.create_table(
        "received_packet",
        sa.Column("mn", sa.String(length=32), nullable=False),
        sa.Column("qn", sa.String(length=64), nullable=False),
        sa.Column("cn", sa.String(length=4), nullable=False),
        sa.Column("received_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("mn", "qn", "cn", name=op.f("pk_received_packet")),
    )
    with op.batch_alter_table("received_packet", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_received_packet_received_at"), ["received_at"], unique=False
        )

    op.create_table(
        "region",
        sa.Column("code", sa.String(length=12), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("level", sa.String(length=10), nullable=False),
        sa.Column("parent_code", sa.String(length=12), nullable=True),
        sa.CheckConstraint(
            "level IN ('province','city','county','township')", name=op.f("ck_region_level")
        ),
        sa.ForeignKeyConstraint(
            ["parent_code"], ["region.code"], name=op.f("fk_region_parent_code_region")
        ),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_region")),
    )
    with op.batch_alter_table("region", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_region_parent_code"), ["parent_code"], unique=False)

    op.create_table(
        "rollup_dirty",
        sa.Column("device_id", sa.Integer(), nullable=False),
        sa.Column("resolution", sa.SmallInteger(), nullable=False),
        sa.Column("bucket", sa.DateTime(), nullable=False),
        sa.Column("marked_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("device_id", "resolution", "bucket", name=op.f("pk_rollup_dirty")),
    )
    op.create_table(
        "enterprise",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("credit_code", sa.String(length=18), nullable=True),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("region_code", sa.String(length=12), nullable=True),
        sa.Column("industry", sa.String(length=100), nullable=True),
        sa.Column("key_discharger", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["region_code"], ["region.code"], name=op.f("fk_enterprise_region_code_region")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_enterprise")),
        sa.UniqueConstraint("credit_code", name=op.f("uq_enterprise_credit_code")),
    )
    op.create_table(
        "upstream",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("host", sa.String(length=200), nullable=False),
        sa.Column("port", sa.Integer(), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["group_id"], ["device_group.id"], name=op.f("fk_upstream_group_id_device_group")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_upstream")),
        sa.UniqueConstraint("name", name=op.f("uq_upstream_name")),
    )
    with op.batch_alter_table("upstream", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_upstream_group_id"), ["group_id"], unique=False)

    op.create_table(
        "forward_queue",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("upstream_id", sa.Integer(), nullable=False),
        sa.Column("raw", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["upstream_id"], ["upstream.id"], name=op.f("fk_forward_queue_upstream_id_upstream")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_forward_queue")),
    )
    with op.batch_alter_table("forward_queue", schema=None) as batch_op:
        batch_op.create_index(
            "ix_forward_queue_upstream_id_next",
            ["upstream_id", "next_attempt_at", "id"],
            unique=False,
        )

    op.create_table(
        "site",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("region_code", sa.String(length=12), nullable=True),
        sa.Column("longitude", sa.Numeric(precision=10, scale=6), nullable=True),
        sa.Column("latitude", sa.Numeric(precision=10, scale=6), nullable=True),
        sa.Column("control_level", sa.String(length=20), nullable=True),
        sa.Column("water_body", sa.String(length=20), nullable=True),
        sa.Column("water_body_name", sa.String(length=100), nullable=True),
        sa.Column("target_class", sa.String(length=8), nullable=True),
        sa.Column("source_level", sa.String(length=20), nullable=True),
        sa.Column("source_type", sa.String(length=20), nullable=True),
        sa.Column("noise_zone", sa.String(length=4), nullable=True),
        sa.Column("enterprise_id", sa.Integer(), nullable=True),
        sa.Column("outlet_medium", sa.String(length=10), nullable=True),
        sa.CheckConstraint(
            "kind <> 'enterprise_outlet' OR "
            "(enterprise_id IS NOT NULL AND outlet_medium IN ('gas','water'))",
            name=op.f("ck_site_outlet"),
        ),
        sa.CheckConstraint(
            "kind IN ('air_station','surface_water_section','drinking_water_source',"
            "'groundwater_point','noise_station','enterprise_outlet')",
            name=op.f("ck_site_kind"),
        ),
        sa.CheckConstraint(
            "latitude IS NULL OR (latitude >= -90 AND latitude <= 90)", name=op.f("ck_site_lat")
        ),
        sa.CheckConstraint(
            "longitude IS NULL OR (longitude >= -180 AND longitude <= 180)",
            name=op.f("ck_site_lon"),
        ),
        sa.ForeignKeyConstraint(
            ["enterprise_id"], ["enterprise.id"], name=op.f("fk_site_enterprise_id_enterprise")
        ),
        sa.ForeignKeyConstraint(
            ["region_code"], ["region.code"], name=op.f("fk_site_region_code_region")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_site")),
        sa.UniqueConstraint("code", name=op.f("uq_site_code")),
    )
    with op.batch_alter_table("site", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_site_enterprise_id"), ["enterprise_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_site_region_code"), ["region_code"], unique=False)

    op.create_table(
        "device",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("mn", sa.String(length=32), nullable=False),
        sa.Column("pw", sa.String(length=16), nullable=False),
        sa.Column("st", sa.String(length=4), nullable=False),
        sa.Column("edition", sa.String(length=4), nullable=False),
        sa.Column("encoding", sa.String(length=16), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=True),
        sa.Column("group_id", sa.Integer(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("minute_interval", sa.SmallInteger(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(), nullable=True),
        sa.Column("last_peer", sa.String(length=64), nullable=True),
        sa.CheckConstraint("edition IN ('2005','2017','2025')", name=op.f("ck_device_edition")),
        sa.ForeignKeyConstraint(
            ["group_id"], ["device_group.id"], name=op.f("fk_device_group_id_device_group")
        ),
        sa.ForeignKeyConstraint(["site_id"], ["site.id"], name=op.f("fk_device_site_id_site")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_device")),
        sa.UniqueConstraint("mn", name=op.f("uq_device_mn")),
    )
    with op.batch_alter_table("device", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_device_group_id"), ["group_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_device_site_id"), ["site_id"], unique=False)

    op.create_table(
        "device_factor",
        sa.Column("device_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(
            ["device_id"], ["device.id"], name=op.f("fk_device_factor_device_id_device")
        ),
        sa.PrimaryKeyConstraint("device_id", "code", name=op.f("pk_device_factor")),
    )
    op.create_table(
        "device_history",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("device_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("change", sa.String(length=20), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["device_id"], ["device.id"], name=op.f("fk_device_history_device_id_device")
        ),
        sa.ForeignKeyConstraint(
            ["site_id"], ["site.id"], name=op.f("fk_device_history_site_id_site")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_device_history")),
    )
    with op.batch_alter_table("device_history", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_device_history_device_id"), ["device_id"], unique=False
        )


def downgrade() -> None:

    with op.batch_alter_table("device_history", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_device_history_device_id"))

    op.drop_table("device_history")
    op.drop_table("device_factor")
    with op.batch_alter_table("device", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_device_site_id"))
        batch_op.drop_index(batch_op.f("ix_device_group_id"))

    op.drop_table("device")
    with op.batch_alter_table("site", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_site_region_code"))
        batch_op.drop_index(batch_op.f("ix_site_enterprise_id"))

    op.drop_table("site")
    with op.batch_alter_table("forward_queue", schema=None) as batch_op:
        batch_op.drop_index("ix_forward_queue_upstream_id_next")

    op.drop_table("forward_queue")
    with op.batch_alter_table("upstream", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_upstream_group_id"))

    op.drop_table("upstream")
    op.drop_table("enterprise")
    op.drop_table("rollup_dirty")
    with op.batch_alter_table("region", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_region_parent_code"))

    op.drop_table("region")
    with op.batch_alter_table("received_packet", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_received_packet_received_at"))

    op.drop_table("received_packet")
    with op.batch_alter_table("raw_packet", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_raw_packet_received_at"))

    op.drop_table("raw_packet")
    with op.batch_alter_table("quarantine", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_quarantine_received_at"))

    op.drop_table("quarantine")
    with op.batch_alter_table("observation", schema=None) as batch_op:
        batch_op.drop_index("ix_observation_resolution_data_time")

    op.drop_table("observation")
    op.drop_table("factor")
    op.drop_table("device_status")
    op.drop_table("device_group")
    with op.batch_alter_table("device_event", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_device_event_mn"))
        batch_op.drop_index(batch_op.f("ix_device_event_at"))

    op.drop_table("device_event")
    with op.batch_alter_table("connection_log", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_connection_log_mn"))
        batch_op.drop_index(batch_op.f("ix_connection_log_connected_at"))

    op.drop_table("connection_log")
