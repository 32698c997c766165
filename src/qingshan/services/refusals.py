"""What the HJ 212 gateway's limits refused, for operators (``qingshan gateway refusals``).

A running gateway writes its refusal counters to ``gateway_refusal`` every few seconds
(:class:`~qingshan.gateway.limits.RefusalLedger`): one row per kind and subject (an address
or an MN) per interval. :func:`refusal_summary` adds them up per kind and subject over a
period; an address is blocked while its latest ``blocked_until`` is in the future.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, delete, func, select

from qingshan.clock import utcnow
from qingshan.storage.models_gateway import GatewayRefusal

#: Kinds of refusal, as the operators' documentation (docs/operations.md) names them.
KINDS: dict[str, str] = {
    "auth_failure": "接入认证失败（按来源地址）",
    "auth_failure_mn": "接入认证失败（按设备MN）",
    "address_blocked": "来源地址被临时封禁",
    "blocked_address": "封禁期间拒绝连接",
    "connection_cap": "超过连接总数上限，拒绝连接",
    "address_cap": "超过单地址连接数上限，拒绝连接",
    "idle_unauthenticated": "未认证连接空闲超时断开",
    "cut_off": "连续拒收或错误帧，断开连接",
    "slow_reader": "不读取应答，断开连接",
    "quarantine_suppressed": "超过隔离记录速率，仅计数",
    "split_evicted": "分包未收齐被清除（已隔离）",
}


@dataclass(frozen=True, slots=True)
class RefusalTotal:
    kind: str
    label: str
    subject: str
    count: int
    first_at: datetime
    last_at: datetime
    blocked_until: datetime | None
    detail: str | None

    def as_json(self) -> dict[str, Any]:
        d = asdict(self)
        for k in ("first_at", "last_at", "blocked_until"):
            if d[k] is not None:
                d[k] = d[k].isoformat()
        return d


def refusal_summary(
    engine: Engine, since: datetime, kind: str | None = None, limit: int = 100
) -> list[RefusalTotal]:
    """Refusals since ``since`` (UTC), per kind and subject, largest counts first."""
    if kind is not None and kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r}; use one of: {', '.join(KINDS)}")
    r = GatewayRefusal
    total = func.sum(r.count).label("total")
    q = (
        select(
            r.kind,
            r.subject,
            total,
            func.min(r.first_at),
            func.max(r.last_at),
            func.max(r.blocked_until),
        )
        .where(r.last_at >= since)
        .group_by(r.kind, r.subject)
        .order_by(total.desc(), r.kind, r.subject)
        .limit(limit)
    )
    if kind is not None:
        q = q.where(r.kind == kind)
    with engine.connect() as conn:
        rows = conn.execute(q).all()
        out = []
        for k, subject, count, first, last, blocked in rows:
            detail = conn.execute(
                select(r.detail)
                .where(r.kind == k, r.subject == subject)
                .order_by(r.last_at.desc(), r.id.desc())
                .limit(1)
            ).scalar()
            out.append(
                RefusalTotal(k, KINDS.get(k, k), subject, int(count), first, last, blocked, detail)
            )
    return out


def purge_refusals(engine: Engine, retention_days: int, now: datetime | None = None) -> int:
    """Delete counters older than the retention period (as raw packets); returns rows."""
    cutoff = (now or utcnow()) - timedelta(days=retention_days)
    with engine.begin() as conn:
        res = conn.execute(delete(GatewayRefusal).where(GatewayRefusal.last_at < cutoff))
    return int(res.rowcount or 0)
