"""Tables of the casework foundation (issue 12): what cases, tasks and registry changes are
built on.

* ``timeline_event`` — append-only: who did what to which entity, when, with the record before
  and after (JSON text). Database triggers refuse UPDATE and DELETE on both backends.
* ``attachment`` / ``attachment_link`` — files by SHA-256 (one row per content, stored once on
  disk) and the entities they are evidence of (one row per use, with the name it was given).
* ``workflow_instance`` — one entity going through a workflow definition (state, fields).
* ``inbox_message``, ``notification_contact``, ``notification_delivery`` — the in-app inbox,
  where a user can also be reached (e-mail, mobile), and every e-mail/SMS delivery attempt.
* ``scheduled_job`` — reminders, escalations and deliveries, claimed with a lease so that of
  several processes running the scheduler exactly one does each job.
* ``calendar_override`` — a deployment's own holidays and working days.

Times are UTC without a zone (``*_at``); calendar days are dates.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from qingshan.storage.models import Base, BigId

JOB_STATUSES = ("pending", "running", "done", "failed")
DELIVERY_CHANNELS = ("email", "sms")
DELIVERY_STATUSES = ("pending", "sent", "failed")
OVERRIDE_KINDS = ("holiday", "workday")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN (" + ",".join(f"'{v}'" for v in values) + ")"


class TimelineEvent(Base):
    """One thing that happened to an entity. Never updated, never deleted."""

    __tablename__ = "timeline_event"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime)
    entity_type: Mapped[str] = mapped_column(String(40))
    entity_id: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(40))
    actor_user_id: Mapped[int | None] = mapped_column(Integer)
    actor_name: Mapped[str | None] = mapped_column(String(64))
    actor_role: Mapped[str | None] = mapped_column(String(16))
    actor_unit: Mapped[str | None] = mapped_column(String(100))
    summary: Mapped[str | None] = mapped_column(Text)
    before: Mapped[str | None] = mapped_column(Text)
    after: Mapped[str | None] = mapped_column(Text)
    __table_args__ = (Index("ix_timeline_event_entity", "entity_type", "entity_id", "id"),)


class Attachment(Base):
    """A stored file, once per content (SHA-256), with its evidence fields."""

    __tablename__ = "attachment"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    size: Mapped[int] = mapped_column(BigInteger)
    media_type: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(10))  # jpeg png webp pdf xlsx xls docx txt csv
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)
    has_thumbnail: Mapped[bool] = mapped_column(Boolean, default=False)
    # EXIF evidence of a photo: when the camera says it was taken (its local time, no zone,
    # as EXIF records it) and where (WGS-84 degrees).
    taken_at: Mapped[datetime | None] = mapped_column(DateTime)
    gps_lat: Mapped[float | None] = mapped_column(Float)
    gps_lon: Mapped[float | None] = mapped_column(Float)
    camera: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(DateTime)
    created_by: Mapped[int | None] = mapped_column(Integer)


class AttachmentLink(Base):
    """An attachment used as evidence of an entity, under the name it was uploaded with."""

    __tablename__ = "attachment_link"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    attachment_id: Mapped[int] = mapped_column(ForeignKey("attachment.id"), index=True)
    entity_type: Mapped[str] = mapped_column(String(40))
    entity_id: Mapped[str] = mapped_column(String(64))
    evidence: Mapped[str | None] = mapped_column(String(40))  # the workflow's evidence kind
    file_name: Mapped[str] = mapped_column(String(255))
    linked_at: Mapped[datetime] = mapped_column(DateTime)
    linked_by: Mapped[int | None] = mapped_column(Integer)
    linked_by_name: Mapped[str | None] = mapped_column(String(64))
    enterprise_id: Mapped[int | None] = mapped_column(Integer)  # uploader's, for scoping
    __table_args__ = (Index("ix_attachment_link_entity", "entity_type", "entity_id"),)


class WorkflowInstance(Base):
    """One entity on its way through a workflow definition."""

    __tablename__ = "workflow_instance"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    workflow: Mapped[str] = mapped_column(String(40))
    version: Mapped[int] = mapped_column(SmallInteger)
    entity_type: Mapped[str] = mapped_column(String(40))
    entity_id: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(40))
    fields: Mapped[str] = mapped_column(Text)  # JSON object
    entered: Mapped[str] = mapped_column(Text)  # JSON: state → when last entered (UTC ISO)
    assignee_user_id: Mapped[int | None] = mapped_column(ForeignKey("web_user.id"))
    assignee_unit: Mapped[str | None] = mapped_column(String(100))
    due_on: Mapped[date | None] = mapped_column(Date)  # deadline of the current state
    created_at: Mapped[datetime] = mapped_column(DateTime)
    created_by: Mapped[int | None] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(DateTime)
    __table_args__ = (
        UniqueConstraint("workflow", "entity_type", "entity_id"),
        Index("ix_workflow_instance_state", "workflow", "state"),
    )


class InboxMessage(Base):
    """A message in a user's in-app inbox."""

    __tablename__ = "inbox_message"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("web_user.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(DateTime)
    kind: Mapped[str] = mapped_column(String(40))  # reminder, overdue, notice, …
    subject: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    entity_type: Mapped[str | None] = mapped_column(String(40))
    entity_id: Mapped[str | None] = mapped_column(String(64))
    read_at: Mapped[datetime | None] = mapped_column(DateTime)
    __table_args__ = (Index("ix_inbox_message_user_id", "user_id", "read_at", "id"),)


class NotificationContact(Base):
    """Where a user can be reached outside the app."""

    __tablename__ = "notification_contact"
    user_id: Mapped[int] = mapped_column(
        ForeignKey("web_user.id", ondelete="CASCADE"), primary_key=True
    )
    email: Mapped[str | None] = mapped_column(String(254))
    mobile: Mapped[str | None] = mapped_column(String(20))
    email_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    sms_enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime] = mapped_column(DateTime)


class NotificationDelivery(Base):
    """One e-mail or SMS to send, and what happened each time it was tried."""

    __tablename__ = "notification_delivery"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    message_id: Mapped[int | None] = mapped_column(
        ForeignKey("inbox_message.id", ondelete="SET NULL"), index=True
    )
    channel: Mapped[str] = mapped_column(String(8))
    recipient: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(8))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    last_attempt_at: Mapped[datetime | None] = mapped_column(DateTime)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime)
    provider_id: Mapped[str | None] = mapped_column(String(200))  # the gateway's message id
    last_error: Mapped[str | None] = mapped_column(Text)
    __table_args__ = (
        CheckConstraint(_in("channel", DELIVERY_CHANNELS), name="channel"),
        CheckConstraint(_in("status", DELIVERY_STATUSES), name="status"),
    )


class ScheduledJob(Base):
    """A job due at ``run_at``; a runner claims it by taking its lease."""

    __tablename__ = "scheduled_job"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    payload: Mapped[str] = mapped_column(Text)  # JSON object
    # Set when at most one pending job of a kind and key may exist (e.g. one reminder per
    # workflow instance and state entry); NULLs never collide.
    dedup_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    run_at: Mapped[datetime] = mapped_column(DateTime)
    status: Mapped[str] = mapped_column(String(8))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer, default=5)
    lease_owner: Mapped[str | None] = mapped_column(String(100))
    lease_expires_at: Mapped[datetime | None] = mapped_column(DateTime)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    __table_args__ = (
        CheckConstraint(_in("status", JOB_STATUSES), name="status"),
        Index("ix_scheduled_job_due", "status", "run_at"),
    )


class CalendarOverride(Base):
    """A deployment's own holiday or working day; wins over the national calendar."""

    __tablename__ = "calendar_override"
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    kind: Mapped[str] = mapped_column(String(8))
    name: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(DateTime)
    created_by: Mapped[str | None] = mapped_column(String(64))
    __table_args__ = (CheckConstraint(_in("kind", OVERRIDE_KINDS), name="kind"),)


__all__ = [
    "Attachment",
    "AttachmentLink",
    "CalendarOverride",
    "InboxMessage",
    "NotificationContact",
    "NotificationDelivery",
    "ScheduledJob",
    "TimelineEvent",
    "WorkflowInstance",
]
