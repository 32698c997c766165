"""Notifications: the in-app inbox, e-mail over SMTP, and SMS through a pluggable sender.

:func:`notify` puts a message in each recipient's inbox (in the caller's transaction) and, for
recipients with an e-mail address or mobile number, queues one delivery per channel as a
scheduled job (``deliver``). The job sends it and records every attempt on the delivery row
(status, attempts, error, the server's message id); a failed attempt is retried with back-off.

Senders: :class:`SmtpSender` (smtplib: plain, STARTTLS or SSL, optional log-in) and any
:class:`SmsSender` — an SMS gateway is a system edge, so the deployment names its own
(``sms_backend = "package.module:factory"``); ``sms_backend = "outbox"`` appends each message to
a local JSON-lines file (:class:`OutboxSms`, for tests and trial runs).
"""

from __future__ import annotations

import importlib
import json
import re
import smtplib
import ssl
import threading
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from qingshan.clock import utcnow
from qingshan.roles import Principal, Role
from qingshan.services import scheduler
from qingshan.services.errors import NotFound
from qingshan.settings import Settings
from qingshan.storage.models_casework import (
    InboxMessage,
    NotificationContact,
    NotificationDelivery,
)
from qingshan.storage.models_web import WebUser

EMAIL_PATTERN = r"^[^@\s]{1,64}@[^@\s]{1,189}\.[^@\s]{1,63}$"
MOBILE_PATTERN = r"^1[3-9]\d{9}$"  # mainland mobile numbers
DELIVERY_ATTEMPTS = 6  # then the delivery is recorded as failed


class EmailSender(Protocol):
    def send(self, to: str, subject: str, body: str) -> str | None:
        """Send one message; the server's id for it (if any). Raises on failure."""


class SmsSender(Protocol):
    def send(self, mobile: str, text: str) -> str | None:
        """Send one text message; the gateway's id for it (if any). Raises on failure."""


@dataclass(frozen=True)
class SmtpSender:
    host: str
    port: int
    sender: str
    security: str = "none"  # none | starttls | ssl
    username: str = ""
    password: str = ""
    timeout: float = 10.0

    @classmethod
    def of(cls, settings: Settings) -> SmtpSender | None:
        if not settings.smtp_host:
            return None
        if settings.smtp_security not in ("none", "starttls", "ssl"):
            raise ValueError("smtp_security must be none, starttls or ssl")
        return cls(
            settings.smtp_host,
            settings.smtp_port,
            settings.smtp_from or f"qingshan@{settings.smtp_host}",
            settings.smtp_security,
            settings.smtp_username,
            settings.smtp_password,
            settings.smtp_timeout,
        )

    def send(self, to: str, subject: str, body: str) -> str | None:
        msg = EmailMessage()
        msg["From"] = self.sender
        msg["To"] = to
        msg["Subject"] = subject
        msg["Message-ID"] = make_msgid(domain=self.sender.rpartition("@")[2] or None)
        msg.set_content(body, charset="utf-8")
        client: smtplib.SMTP
        if self.security == "ssl":
            client = smtplib.SMTP_SSL(
                self.host, self.port, timeout=self.timeout, context=ssl.create_default_context()
            )
        else:
            client = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        with client:
            if self.security == "starttls":
                client.starttls(context=ssl.create_default_context())
            if self.username:
                client.login(self.username, self.password)
            client.send_message(msg)
        return str(msg["Message-ID"])


class OutboxSms:
    """The local SMS sender: appends ``{"id", "mobile", "text"}`` lines to a file."""

    _lock = threading.Lock()

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def send(self, mobile: str, text: str) -> str | None:
        ident = uuid.uuid4().hex
        line = json.dumps({"id": ident, "mobile": mobile, "text": text}, ensure_ascii=False)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._lock, open(self.path, "a", encoding="utf-8") as fh:
            fh.write(line + "\n")
        return ident

    def sent(self) -> list[dict[str, str]]:
        if not self.path.is_file():
            return []
        return [json.loads(x) for x in self.path.read_text("utf-8").splitlines() if x]


def sms_sender(settings: Settings) -> SmsSender | None:
    """The SMS sender ``sms_backend`` names (None: SMS is off)."""
    backend = settings.sms_backend.strip()
    if not backend:
        return None
    if backend == "outbox":
        return OutboxSms(settings.sms_outbox)
    module, _, attr = backend.partition(":")
    if not module or not attr:
        raise ValueError("sms_backend must be empty, 'outbox' or 'package.module:factory'")
    factory = getattr(importlib.import_module(module), attr)
    sender: SmsSender = factory(settings)
    return sender


@dataclass(frozen=True)
class Senders:
    email: EmailSender | None = None
    sms: SmsSender | None = None

    @classmethod
    def of(cls, settings: Settings) -> Senders:
        return cls(SmtpSender.of(settings), sms_sender(settings))


# ---------------------------------------------------------------------------- recipients


def users_with_roles(s: Session, roles: Iterable[str], *, unit: str | None = None) -> list[int]:
    """Active users with any of ``roles``; unit users only of ``unit`` (none without one)."""
    wanted = [r for r in roles if r != Role.UNIT]
    ids = set(
        s.scalars(select(WebUser.id).where(WebUser.active.is_(True), WebUser.role.in_(wanted)))
    )
    if Role.UNIT in roles and unit is not None:
        ids |= set(
            s.scalars(
                select(WebUser.id).where(
                    WebUser.active.is_(True), WebUser.role == Role.UNIT, WebUser.unit == unit
                )
            )
        )
    return sorted(ids)


def set_contact(
    s: Session,
    user_id: int,
    *,
    email: str | None,
    mobile: str | None,
    email_enabled: bool = True,
    sms_enabled: bool = False,
) -> NotificationContact:
    """Where a user is reached outside the app (their own setting)."""
    if email is not None and email != "" and not re.match(EMAIL_PATTERN, email):
        raise ValueError(f"电子邮箱地址格式不正确：{email}")
    if mobile is not None and mobile != "" and not re.match(MOBILE_PATTERN, mobile):
        raise ValueError(f"手机号码格式不正确：{mobile}（应为 11 位手机号）")
    row = s.get(NotificationContact, user_id)
    if row is None:
        row = NotificationContact(user_id=user_id)
        s.add(row)
    row.email = email or None
    row.mobile = mobile or None
    row.email_enabled = email_enabled
    row.sms_enabled = sms_enabled
    row.updated_at = utcnow()
    s.flush()
    return row


def contact(s: Session, user_id: int) -> NotificationContact | None:
    return s.get(NotificationContact, user_id)


# ---------------------------------------------------------------------------- sending


def notify(
    s: Session,
    user_ids: Iterable[int],
    *,
    kind: str,
    subject: str,
    body: str,
    entity_type: str | None = None,
    entity_id: str | int | None = None,
    email: bool = True,
    sms: bool = False,
) -> list[InboxMessage]:
    """An inbox message for each active user, plus queued e-mail / SMS deliveries for those
    who can be reached that way (in the caller's transaction)."""
    ids = sorted(set(user_ids))
    active = set(s.scalars(select(WebUser.id).where(WebUser.id.in_(ids), WebUser.active)))
    contacts = {
        c.user_id: c
        for c in s.scalars(select(NotificationContact).where(NotificationContact.user_id.in_(ids)))
    }
    now = utcnow()
    out: list[InboxMessage] = []
    for uid in ids:
        if uid not in active:
            continue
        msg = InboxMessage(
            user_id=uid,
            created_at=now,
            kind=kind,
            subject=subject[:200],
            body=body,
            entity_type=entity_type,
            entity_id=None if entity_id is None else str(entity_id),
        )
        s.add(msg)
        s.flush()
        out.append(msg)
        c = contacts.get(uid)
        targets: list[tuple[str, str]] = []
        if email and c is not None and c.email and c.email_enabled:
            targets.append(("email", c.email))
        if sms and c is not None and c.mobile and c.sms_enabled:
            targets.append(("sms", c.mobile))
        for channel, recipient in targets:
            d = NotificationDelivery(
                message_id=msg.id,
                channel=channel,
                recipient=recipient,
                subject=subject[:200],
                body=body,
                status="pending",
                attempts=0,
                created_at=now,
            )
            s.add(d)
            s.flush()
            scheduler.enqueue(
                s, "deliver", {"delivery_id": d.id}, max_attempts=DELIVERY_ATTEMPTS + 1
            )
    return out


def deliver(
    s: Session, ctx: scheduler.JobContext, payload: dict[str, Any]
) -> scheduler.Retry | None:
    """The ``deliver`` job: send one e-mail or SMS and record the attempt."""
    d = s.get(NotificationDelivery, int(payload["delivery_id"]))
    if d is None or d.status == "sent":
        return None
    senders: Senders = ctx.services.get("senders") or Senders()
    sender = senders.email if d.channel == "email" else senders.sms
    d.attempts += 1
    d.last_attempt_at = utcnow()
    if sender is None:
        d.status = "failed"
        d.last_error = f"no {d.channel} sender configured"
        return None
    try:
        if d.channel == "email":
            assert senders.email is not None
            d.provider_id = senders.email.send(d.recipient, d.subject, d.body)
        else:
            assert senders.sms is not None
            head = d.subject if d.subject.startswith("【") else f"【{d.subject}】"
            text = d.body if d.body.startswith(d.subject) else head + d.body
            d.provider_id = senders.sms.send(d.recipient, text)
    except Exception as exc:  # every failure of the far side is recorded and retried
        d.last_error = f"{type(exc).__name__}: {exc}"[:2000]
        if d.attempts >= DELIVERY_ATTEMPTS:
            d.status = "failed"
            return None
        d.status = "pending"
        return scheduler.Retry(timedelta(seconds=60 * 2 ** min(d.attempts, 6)), d.last_error)
    d.status = "sent"
    d.sent_at = utcnow()
    d.last_error = None
    return None


def notify_job(s: Session, ctx: scheduler.JobContext, payload: dict[str, Any]) -> None:
    """The ``notify`` job: a notice scheduled for later (to users and/or roles)."""
    users = [int(u) for u in payload.get("user_ids", [])]
    roles = [str(r) for r in payload.get("roles", [])]
    if roles:
        users += users_with_roles(s, roles, unit=payload.get("unit"))
    notify(
        s,
        users,
        kind=str(payload.get("kind", "notice")),
        subject=str(payload["subject"]),
        body=str(payload.get("body", "")),
        entity_type=payload.get("entity_type"),
        entity_id=payload.get("entity_id"),
        email=bool(payload.get("email", True)),
        sms=bool(payload.get("sms", False)),
    )
    return None


JOB_HANDLERS: dict[str, scheduler.Handler] = {"deliver": deliver, "notify": notify_job}


# ---------------------------------------------------------------------------- the inbox


def inbox(
    s: Session,
    p: Principal,
    *,
    unread_only: bool = False,
    limit: int = 50,
    before_id: int | None = None,
) -> list[InboxMessage]:
    """The principal's own messages, newest first."""
    if p.user_id is None:
        return []
    q = (
        select(InboxMessage)
        .where(InboxMessage.user_id == p.user_id)
        .order_by(InboxMessage.id.desc())
        .limit(limit)
    )
    if unread_only:
        q = q.where(InboxMessage.read_at.is_(None))
    if before_id is not None:
        q = q.where(InboxMessage.id < before_id)
    return list(s.scalars(q))


def unread_count(s: Session, p: Principal) -> int:
    if p.user_id is None:
        return 0
    n = s.scalar(
        select(func.count())
        .select_from(InboxMessage)
        .where(InboxMessage.user_id == p.user_id, InboxMessage.read_at.is_(None))
    )
    return int(n or 0)


def mark_read(s: Session, p: Principal, message_id: int) -> InboxMessage:
    """Mark one of the principal's own messages read (NotFound for anyone else's)."""
    msg = s.get(InboxMessage, message_id)
    if msg is None or p.user_id is None or msg.user_id != p.user_id:
        raise NotFound(f"no message {message_id}")
    if msg.read_at is None:
        msg.read_at = utcnow()
    return msg


def mark_all_read(s: Session, p: Principal) -> int:
    if p.user_id is None:
        return 0
    result = s.execute(
        update(InboxMessage)
        .where(InboxMessage.user_id == p.user_id, InboxMessage.read_at.is_(None))
        .values(read_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def deliveries(s: Session, message_id: int) -> list[NotificationDelivery]:
    return list(
        s.scalars(
            select(NotificationDelivery)
            .where(NotificationDelivery.message_id == message_id)
            .order_by(NotificationDelivery.id)
        )
    )
