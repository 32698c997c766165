"""The timeline: an append-only record of what happened to each entity (a case, a task, a
registry change), beside the audit log.

Events are only ever added: this module has no way to change or remove one, and the database
refuses UPDATE and DELETE on ``timeline_event`` (triggers of migration 0410). An event is
written in the same transaction as the change it records; :func:`record_change` writes the
audit entry too, so a service that changes something calls one function.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from qingshan.clock import utcnow
from qingshan.roles import Principal, Role
from qingshan.services import audit
from qingshan.services.errors import NotFound
from qingshan.services.permissions import TIMELINE_READERS
from qingshan.storage.models_casework import TimelineEvent

# The scheduler and other unattended work act as this principal; events name it "system".
SYSTEM = Principal(role=Role.ADMIN, username="system", via="system")

MAX_TYPE = 40
MAX_ID = 64


def _json(value: dict[str, Any] | None) -> str | None:
    return None if value is None else json.dumps(value, ensure_ascii=False, default=str)


def check_entity(entity_type: str, entity_id: str | int) -> str:
    eid = str(entity_id)
    if not entity_type or len(entity_type) > MAX_TYPE:
        raise ValueError(f"实体类型应为 1–{MAX_TYPE} 个字符")
    if not eid or len(eid) > MAX_ID or any(ord(c) < 32 or ord(c) == 127 for c in eid):
        raise ValueError(f"实体编号应为 1–{MAX_ID} 个可打印字符")
    return eid


def record(
    s: Session,
    actor: Principal,
    *,
    entity_type: str,
    entity_id: str | int,
    action: str,
    summary: str | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> TimelineEvent:
    """Append one event to the session's transaction."""
    eid = check_entity(entity_type, entity_id)
    event = TimelineEvent(
        at=utcnow(),
        entity_type=entity_type,
        entity_id=eid,
        action=action,
        actor_user_id=actor.user_id,
        actor_name=actor.username,
        actor_role=None if actor.is_public else str(actor.role),
        actor_unit=actor.unit,
        summary=summary,
        before=_json(before),
        after=_json(after),
    )
    s.add(event)
    s.flush()
    return event


def record_change(
    s: Session,
    actor: Principal,
    *,
    entity_type: str,
    entity_id: str | int,
    action: str,
    summary: str | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    client: str | None = None,
) -> TimelineEvent:
    """The timeline event and the audit entry of one change, in the same transaction."""
    audit.record(
        s,
        actor,
        action=action,
        entity=entity_type,
        entity_id=entity_id,
        before=before,
        after=after,
        client=client,
    )
    return record(
        s,
        actor,
        entity_type=entity_type,
        entity_id=entity_id,
        action=action,
        summary=summary,
        before=before,
        after=after,
    )


def events(
    s: Session,
    p: Principal,
    entity_type: str,
    entity_id: str | int,
    *,
    limit: int = 200,
    after_id: int | None = None,
) -> list[TimelineEvent]:
    """An entity's events, oldest first; ``after_id`` pages forward."""
    if p.role not in TIMELINE_READERS:
        raise NotFound(f"no timeline for {entity_type} {entity_id}")
    eid = check_entity(entity_type, entity_id)
    q = (
        select(TimelineEvent)
        .where(TimelineEvent.entity_type == entity_type, TimelineEvent.entity_id == eid)
        .order_by(TimelineEvent.id)
        .limit(limit)
    )
    if after_id is not None:
        q = q.where(TimelineEvent.id > after_id)
    return list(s.scalars(q))


def decode(text: str | None) -> dict[str, Any] | None:
    """A stored before/after value back as a dict."""
    if text is None:
        return None
    value = json.loads(text)
    return value if isinstance(value, dict) else {"value": value}
