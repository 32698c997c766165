"""What the HJ 212 gateway's limits refused (docs/operations.md, "Gateway limits").

``gateway_refusal``: one row per kind of refusal and subject (an address, or an MN) per flush
interval of a running gateway, with the number of refusals, the first and last time, the last
detail and, for a blocked address, until when. A flood writes a counter, not a row per packet.
Kinds: ``auth_failure`` (address), ``auth_failure_mn`` (MN), ``address_blocked``,
``connection_cap``, ``address_cap``, ``blocked_address`` (connections refused),
``idle_unauthenticated``, ``cut_off``, ``slow_reader``, ``quarantine_suppressed``,
``split_evicted``. Times are UTC without a zone.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, DateTime, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from qingshan.storage.models import Base, BigId


class GatewayRefusal(Base):
    __tablename__ = "gateway_refusal"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    subject: Mapped[str] = mapped_column(String(64))
    count: Mapped[int] = mapped_column(BigInteger)
    first_at: Mapped[datetime] = mapped_column(DateTime)
    last_at: Mapped[datetime] = mapped_column(DateTime, index=True)
    blocked_until: Mapped[datetime | None] = mapped_column(DateTime)
    detail: Mapped[str | None] = mapped_column(Text)
    __table_args__ = (Index("ix_gateway_refusal_kind_subject", "kind", "subject"),)
