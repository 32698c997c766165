"""What every registry service shares: its errors, the one place a change is recorded, and
the small field helpers.

:func:`record_change` is the single call site through which every registry create and update
is written to the audit log and, beside it, to the entity's timeline (one
:func:`qingshan.services.timeline.record_change` call writes both, so the audit entry is never
written twice): services never call :mod:`qingshan.services.audit` directly.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from qingshan.roles import Principal
from qingshan.services import timeline
from qingshan.services.errors import Conflict, NotFound, ServiceError
from qingshan.services.registry.rules import FieldProblem


class RegistryError(ServiceError):
    """A registry operation that cannot be done, with a message for the user. ``field`` names
    the record field at fault (the workbook import turns it into a column)."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class RegistryConflict(RegistryError, Conflict):
    """The natural key (code, credit code, MN, permit number) is already taken."""


class RegistryNotFound(RegistryError, NotFound):
    """No record with that natural key."""


def problem(exc: FieldProblem, field: str) -> RegistryError:
    """A rule's :class:`FieldProblem` as a service error naming the field."""
    return RegistryError(str(exc), field)


# How a registry entity is named in a timeline summary.
ENTITY_LABELS = {
    "region": "行政区划",
    "region_boundary": "区划边界",
    "deployment": "本地区设置",
    "indicator_target": "考核目标",
    "org_unit": "组织单位",
    "enterprise": "企业",
    "site": "点位",
    "permit": "排污许可证",
    "permit_limits": "许可限值",
    "permit_annual_amounts": "许可排放量",
    "device": "设备",
}


def record_change(
    s: Session,
    actor: Principal,
    *,
    entity: str,
    key: str,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
    client: str | None = None,
) -> str:
    """Record one registry change (create: ``before`` None; update: both) in the caller's
    transaction: one audit entry and one timeline event of the entity (``entity``, ``key``).
    Nothing is written when an update changed nothing. Returns the outcome: ``created``,
    ``updated`` or ``unchanged``."""
    if before is not None and before == after:
        return "unchanged"
    created = before is None
    timeline.record_change(
        s,
        actor,
        entity_type=entity,
        entity_id=key,
        action="create" if created else "update",
        summary=("新建" if created else "修改")
        + f"登记{ENTITY_LABELS.get(entity, entity)}「{key}」",
        before=before,
        after=after,
        client=client,
    )
    return "created" if created else "updated"


def plain(value: Any) -> Any:
    """A JSON-ready value for audit snapshots (decimals as their text)."""
    if value is None or isinstance(value, str | int | bool):
        return value
    if isinstance(value, Decimal):
        return decimal_text(value)
    return str(value)


def snapshot(obj: Any, fields: tuple[str, ...]) -> dict[str, Any]:
    return {f: plain(getattr(obj, f)) for f in fields}


def decimal_text(d: Decimal) -> str:
    """Plain decimal text without trailing zeros (``106.700000`` → ``106.7``), never exponent
    notation."""
    text = format(d, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


def text(
    value: str | None, field: str, label: str, *, max_len: int, required: bool = False
) -> str | None:
    """Trimmed text (None when empty); :class:`RegistryError` when required and missing or
    too long."""
    v = value.strip() if isinstance(value, str) else value
    if not v:
        if required:
            raise RegistryError(f"{label}不能为空", field)
        return None
    if len(v) > max_len:
        raise RegistryError(f"{label}最多 {max_len} 个字符，实为 {len(v)} 个", field)
    return v


def choice(value: str | None, field: str, label: str, allowed: tuple[str, ...]) -> str | None:
    v = value.strip() if isinstance(value, str) else value
    if not v:
        return None
    if v not in allowed:
        raise RegistryError(f"{label} {v!r} 不是 {'、'.join(allowed)} 之一", field)
    return v
