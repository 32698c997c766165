"""An entity's timeline: who did what to it and when, with the record before and after."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Path, Query
from sqlalchemy.orm import Session

from qingshan.roles import Principal
from qingshan.services import timeline
from qingshan.services.permissions import TIMELINE_READERS
from qingshan.web.deps import QueryId, read_db, require
from qingshan.web.schemas.casework import ENTITY_ID_PATTERN, ENTITY_TYPE_PATTERN, TimelineEventOut

router = APIRouter(tags=["timeline"])


@router.get("/timeline/{entity_type}/{entity_id}", response_model=list[TimelineEventOut])
def entity_timeline(
    entity_type: str = Path(..., pattern=ENTITY_TYPE_PATTERN),
    entity_id: str = Path(..., pattern=ENTITY_ID_PATTERN),
    limit: int = Query(200, ge=1, le=1000),
    after_id: QueryId = None,
    p: Principal = Depends(require(*TIMELINE_READERS)),
    s: Session = Depends(read_db),
) -> list[TimelineEventOut]:
    """The entity's events, oldest first (``after_id`` pages forward)."""
    return [
        TimelineEventOut(
            id=e.id,
            at=e.at,
            action=e.action,
            summary=e.summary,
            actor=e.actor_name,
            actor_role=e.actor_role,
            actor_unit=e.actor_unit,
            before=timeline.decode(e.before),
            after=timeline.decode(e.after),
        )
        for e in timeline.events(s, p, entity_type, entity_id, limit=limit, after_id=after_id)
    ]
