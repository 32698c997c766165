"""casework foundation: timeline, attachments, workflows, inbox and deliveries, scheduled jobs,
calendar overrides

Revision ID: 0410_casework
Revises: 0400_registry
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0410_casework"
down_revision = "0400_registry"
branch_labels = None
depends_on = None

APPEND_ONLY = "timeline_event is append-only: events are never changed or removed"

# The timeline is append-only in the database itself, not only in the service: whatever
# connects (a script, a future module) cannot rewrite history.
SQLITE_TRIGGERS = (
    "CREATE TRIGGER timeline_event_no_update BEFORE UPDATE ON timeline_event "
    f"BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY}'); END",
    "CREATE TRIGGER timeline_event_no_delete BEFORE DELETE ON timeline_event "
    f"BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY}'); END",
)
PG_TRIGGERS = (
    "CREATE FUNCTION timeline_event_append_only() RETURNS trigger LANGUAGE plpgsql AS "
    f"$$ BEGIN RAISE EXCEPTION '{APPEND_ONLY}'; END $$",
    "CREATE TRIGGER timeline_event_append_only BEFORE UPDATE OR DELETE ON timeline_event "
    "FOR EACH ROW EXECUTE FUNCTION timeline_event_append_only()",
)


def upgrade() -> None:
    op.create_table(
        "attachment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("media_type", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("width", sa.Integer(), nullable=True),
        sa.Column("height", sa.Integer(), nullable=True),
        sa.Column("has_thumbnail", sa.Boolean(), nullable=False),
        sa.Column("taken_at", sa.DateTime(), nullable=True),
        sa.Column("gps_lat", sa.Float(), nullable=True),
        sa.Column("gps_lon", sa.Float(), nullable=True),
        sa.Column("camera", sa.String(length=100), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_attachment")),
        sa.UniqueConstraint("sha256", name=op.f("uq_attachment_sha256")),
    )
    op.create_table(
        "calendar_override",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=True),
        sa.CheckConstraint("kind IN ('holiday','workday')", name=op.f("ck_calendar_override_kind")),
        sa.PrimaryKeyConstraint("day", name=op.f("pk_calendar_override")),
    )
    op.create_table(
        "scheduled_job",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("dedup_key", sa.String(length=200), nullable=True),
        sa.Column("run_at", sa.DateTime(), nullable=False),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("max_attempts", sa.Integer(), nullable=False),
        sa.Column("lease_owner", sa.String(length=100), nullable=True),
        sa.Column("lease_expires_at", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "status IN ('pending','running','done','failed')", name=op.f("ck_scheduled_job_status")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scheduled_job")),
        sa.UniqueConstraint("dedup_key", name=op.f("uq_scheduled_job_dedup_key")),
    )
    op.create_index("ix_scheduled_job_due", "scheduled_job", ["status", "run_at"], unique=False)
    op.create_table(
        "timeline_event",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("entity_type", sa.String(length=40), nullable=False),
        sa.Column("entity_id", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=40), nullable=False),
        sa.Column("actor_user_id", sa.Integer(), nullable=True),
        sa.Column("actor_name", sa.String(length=64), nullable=True),
        sa.Column("actor_role", sa.String(length=16), nullable=True),
        sa.Column("actor_unit", sa.String(length=100), nullable=True),
        sa.Column("summary", sa.Text(), nullable=True),
        sa.Column("before", sa.Text(), nullable=True),
        sa.Column("after", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_timeline_event")),
    )
    op.create_index(
        "ix_timeline_event_entity",
        "timeline_event",
        ["entity_type", "entity_id", "id"],
        unique=False,
    )
    op.create_table(
        "attachment_link",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("attachment_id", sa.Integer(), nullable=False),
        sa.Column("entity_type", sa.String(length=40), nullable=False),
        sa.Column("entity_id", sa.String(length=64), nullable=False),
        sa.Column("evidence", sa.String(length=40), nullable=True),
        sa.Column("file_name", sa.String(length=255), nullable=False),
        sa.Column("linked_at", sa.DateTime(), nullable=False),
        sa.Column("linked_by", sa.Integer(), nullable=True),
        sa.Column("linked_by_name", sa.String(length=64), nullable=True),
        sa.Column("enterprise_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["attachment_id"],
            ["attachment.id"],
            name=op.f("fk_attachment_link_attachment_id_attachment"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_attachment_link")),
    )
    op.create_index(
        op.f("ix_attachment_link_attachment_id"), "attachment_link", ["attachment_id"], unique=False
    )
    op.create_index(
        "ix_attachment_link_entity", "attachment_link", ["entity_type", "entity_id"], unique=False
    )
    op.create_table(
        "inbox_message",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("entity_type", sa.String(length=40), nullable=True),
        sa.Column("entity_id", sa.String(length=64), nullable=True),
        sa.Column("read_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["web_user.id"],
            name=op.f("fk_inbox_message_user_id_web_user"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inbox_message")),
    )
    op.create_index(
        "ix_inbox_message_user_id", "inbox_message", ["user_id", "read_at", "id"], unique=False
    )
    op.create_table(
        "notification_contact",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column("mobile", sa.String(length=20), nullable=True),
        sa.Column("email_enabled", sa.Boolean(), nullable=False),
        sa.Column("sms_enabled", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["web_user.id"],
            name=op.f("fk_notification_contact_user_id_web_user"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_notification_contact")),
    )
    op.create_table(
        "workflow_instance",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workflow", sa.String(length=40), nullable=False),
        sa.Column("version", sa.SmallInteger(), nullable=False),
        sa.Column("entity_type", sa.String(length=40), nullable=False),
        sa.Column("entity_id", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=40), nullable=False),
        sa.Column("fields", sa.Text(), nullable=False),
        sa.Column("entered", sa.Text(), nullable=False),
        sa.Column("assignee_user_id", sa.Integer(), nullable=True),
        sa.Column("assignee_unit", sa.String(length=100), nullable=True),
        sa.Column("due_on", sa.Date(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["assignee_user_id"],
            ["web_user.id"],
            name=op.f("fk_workflow_instance_assignee_user_id_web_user"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_workflow_instance")),
        sa.UniqueConstraint(
            "workflow",
            "entity_type",
            "entity_id",
            name=op.f("uq_workflow_instance_workflow_entity_type_entity_id"),
        ),
    )
    op.create_index(
        "ix_workflow_instance_state", "workflow_instance", ["workflow", "state"], unique=False
    )
    op.create_table(
        "notification_delivery",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "message_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("channel", sa.String(length=8), nullable=False),
        sa.Column("recipient", sa.String(length=254), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("last_attempt_at", sa.DateTime(), nullable=True),
        sa.Column("sent_at", sa.DateTime(), nullable=True),
        sa.Column("provider_id", sa.String(length=200), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "channel IN ('email','sms')", name=op.f("ck_notification_delivery_channel")
        ),
        sa.CheckConstraint(
            "status IN ('pending','sent','failed')", name=op.f("ck_notification_delivery_status")
        ),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["inbox_message.id"],
            name=op.f("fk_notification_delivery_message_id_inbox_message"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification_delivery")),
    )
    op.create_index(
        op.f("ix_notification_delivery_message_id"),
        "notification_delivery",
        ["message_id"],
        unique=False,
    )

    triggers = SQLITE_TRIGGERS if op.get_bind().dialect.name == "sqlite" else PG_TRIGGERS
    for statement in triggers:
        op.execute(statement)


def downgrade() -> None:
    op.drop_index(op.f("ix_notification_delivery_message_id"), table_name="notification_delivery")
    op.drop_table("notification_delivery")
    op.drop_index("ix_workflow_instance_state", table_name="workflow_instance")
    op.drop_table("workflow_instance")
    op.drop_table("notification_contact")
    op.drop_index("ix_inbox_message_user_id", table_name="inbox_message")
    op.drop_table("inbox_message")
    op.drop_index("ix_attachment_link_entity", table_name="attachment_link")
    op.drop_index(op.f("ix_attachment_link_attachment_id"), table_name="attachment_link")
    op.drop_table("attachment_link")
    op.drop_index("ix_timeline_event_entity", table_name="timeline_event")
    op.drop_table("timeline_event")
    op.drop_index("ix_scheduled_job_due", table_name="scheduled_job")
    op.drop_table("scheduled_job")
    op.drop_table("calendar_override")
    op.drop_table("attachment")

    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS timeline_event_append_only()")
