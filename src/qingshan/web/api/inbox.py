"""The caller's own inbox and where notices reach them (e-mail, mobile)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query
from sqlalchemy.orm import Session

from qingshan.roles import Principal
from qingshan.services import notifications
from qingshan.services.permissions import INBOX_USERS
from qingshan.storage.models_casework import InboxMessage
from qingshan.web.deps import PathId, QueryId, read_db, require, write_db
from qingshan.web.schemas.casework import (
    ContactIn,
    ContactOut,
    InboxMessageOut,
    InboxOut,
    ReadAllOut,
)

router = APIRouter(tags=["inbox"])


def message_out(m: InboxMessage) -> InboxMessageOut:
    return InboxMessageOut(
        id=m.id,
        created_at=m.created_at,
        kind=m.kind,
        subject=m.subject,
        body=m.body,
        entity_type=m.entity_type,
        entity_id=m.entity_id,
        read=m.read_at is not None,
    )


@router.get("/inbox", response_model=InboxOut)
def inbox(
    unread_only: bool = False,
    limit: int = Query(50, ge=1, le=500),
    before_id: QueryId = None,
    p: Principal = Depends(require(*INBOX_USERS)),
    s: Session = Depends(read_db),
) -> InboxOut:
    """The caller's messages, newest first, and how many are unread."""
    return InboxOut(
        unread=notifications.unread_count(s, p),
        messages=[
            message_out(m)
            for m in notifications.inbox(
                s, p, unread_only=unread_only, limit=limit, before_id=before_id
            )
        ],
    )


@router.post("/inbox/{message_id}/read", response_model=InboxMessageOut)
def mark_read(
    message_id: PathId,
    p: Principal = Depends(require(*INBOX_USERS)),
    s: Session = Depends(write_db, scope="function"),
) -> InboxMessageOut:
    """Mark one of the caller's own messages read."""
    return message_out(notifications.mark_read(s, p, message_id))


@router.post("/inbox/read-all", response_model=ReadAllOut)
def mark_all_read(
    p: Principal = Depends(require(*INBOX_USERS)),
    s: Session = Depends(write_db, scope="function"),
) -> ReadAllOut:
    """Mark all of the caller's messages read."""
    return ReadAllOut(marked=notifications.mark_all_read(s, p))


@router.get("/inbox/contact", response_model=ContactOut)
def get_contact(
    p: Principal = Depends(require(*INBOX_USERS)),
    s: Session = Depends(read_db),
) -> ContactOut:
    """Where the caller's notices are also sent (e-mail, SMS)."""
    c = notifications.contact(s, p.user_id) if p.user_id is not None else None
    if c is None:
        return ContactOut()
    return ContactOut(
        email=c.email, mobile=c.mobile, email_enabled=c.email_enabled, sms_enabled=c.sms_enabled
    )


@router.put("/inbox/contact", response_model=ContactOut)
def put_contact(
    body: ContactIn,
    p: Principal = Depends(require(*INBOX_USERS)),
    s: Session = Depends(write_db, scope="function"),
) -> ContactOut:
    """Set the caller's own e-mail address and mobile number for notices."""
    if p.user_id is None:
        raise ValueError("只有登录用户可以设置通知方式")
    c = notifications.set_contact(
        s,
        p.user_id,
        email=body.email,
        mobile=body.mobile,
        email_enabled=body.email_enabled,
        sms_enabled=body.sms_enabled,
    )
    return ContactOut(
        email=c.email, mobile=c.mobile, email_enabled=c.email_enabled, sms_enabled=c.sms_enabled
    )
