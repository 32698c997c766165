"""Attachments, entity timelines, the inbox and notification contacts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from qingshan.services.notifications import EMAIL_PATTERN, MOBILE_PATTERN

# Entity types are short identifiers (registry_import, complaint, …); ids are the entity's
# own id or natural key as text.
ENTITY_TYPE_PATTERN = r"^[a-z][a-z0-9_]{0,39}$"
EVIDENCE_PATTERN = r"^[a-z_][a-z0-9_]{0,39}$"
ENTITY_ID_PATTERN = r"^[^\x00-\x1f\x7f]{1,64}$"  # printable: ids and natural keys


class AttachmentOut(BaseModel):
    id: int = Field(description="the upload (link) id: what the download URLs take")
    attachment_id: int = Field(description="the stored content (shared by identical uploads)")
    entity_type: str
    entity_id: str
    evidence: str | None = Field(description="the workflow's evidence kind, if any")
    file_name: str
    kind: str = Field(description="jpeg png webp pdf xlsx xls docx txt csv")
    media_type: str
    size: int
    sha256: str
    width: int | None
    height: int | None
    has_thumbnail: bool
    taken_at: datetime | None = Field(description="EXIF time taken (camera's local time)")
    gps_lat: float | None = Field(description="EXIF GPS latitude, WGS-84")
    gps_lon: float | None = Field(description="EXIF GPS longitude, WGS-84")
    camera: str | None
    linked_at: datetime
    linked_by: str | None
    deduplicated: bool = Field(False, description="the same content was already stored")


class TimelineEventOut(BaseModel):
    id: int
    at: datetime = Field(description="UTC")
    action: str
    summary: str | None
    actor: str | None
    actor_role: str | None
    actor_unit: str | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None


class InboxMessageOut(BaseModel):
    id: int
    created_at: datetime = Field(description="UTC")
    kind: str
    subject: str
    body: str
    entity_type: str | None
    entity_id: str | None
    read: bool


class InboxOut(BaseModel):
    unread: int
    messages: list[InboxMessageOut]


class ReadAllOut(BaseModel):
    marked: int


class ContactIn(BaseModel):
    email: str | None = Field(None, pattern=EMAIL_PATTERN, max_length=254)
    mobile: str | None = Field(None, pattern=MOBILE_PATTERN)
    email_enabled: bool = True
    sms_enabled: bool = False


class ContactOut(ContactIn):
    pass
