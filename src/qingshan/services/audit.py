"""The audit log: who changed what, when, with the record before and after.

An entry is written in the same transaction as the change it records, by the service that
makes the change, whether the web or the command line asked for it. Secrets never enter it:
callers replace passwords and keys by ``"changed"``.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from qingshan.clock import utcnow
from qingshan.roles import Principal
from qingshan.services.permissions import audit_scope
from qingshan.storage.models_web import AuditEntry


def _plain(value: Any) -> Any:
    return value if value is None or isinstance(value, (str, int, float, bool)) else str(value)


def snapshot(obj: Any, fields: tuple[str, ...]) -> dict[str, Any]:
    """The named attributes of ``obj`` as JSON-ready values."""
    return {f: _plain(getattr(obj, f)) for f in fields}


def record(
    s: Session,
    actor: Principal,
    *,
    action: str,
    entity: str,
    entity_id: str | int | None,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
    client: str | None = None,
) -> None:
    """Add one entry to the session's transaction."""
    s.add(
        AuditEntry(
            at=utcnow(),
            user_id=actor.user_id,
            username=actor.username,
            unit=actor.unit,
            action=action,
            entity=entity,
            entity_id=None if entity_id is None else str(entity_id),
            before=None if before is None else json.dumps(before, ensure_ascii=False),
            after=None if after is None else json.dumps(after, ensure_ascii=False),
            client=client if client is not None else ("cli" if actor.via == "cli" else None),
        )
    )


def entries(
    s: Session,
    p: Principal,
    *,
    entity: str | None = None,
    limit: int = 100,
    before_id: int | None = None,
) -> list[AuditEntry]:
    """The entries the principal may read, newest first; ``before_id`` pages back."""
    q = select(AuditEntry).where(audit_scope(p)).order_by(AuditEntry.id.desc()).limit(limit)
    if entity:
        q = q.where(AuditEntry.entity == entity)
    if before_id:
        q = q.where(AuditEntry.id < before_id)
    return list(s.scalars(q))
