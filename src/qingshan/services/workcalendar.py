"""The deployment's working-day calendar: the national one (:mod:`qingshan.workdays`) with the
administrator's own holidays and working days (``calendar_override``) on top."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from qingshan.clock import utcnow
from qingshan.roles import Principal
from qingshan.services import timeline
from qingshan.services.errors import NotFound
from qingshan.storage.models_casework import CalendarOverride
from qingshan.workdays import CalendarError, DayInfo, WorkCalendar, national_calendar

KIND_LABELS = {"holiday": "节假日", "workday": "工作日"}


def calendar(s: Session) -> WorkCalendar:
    """National holidays and working weekends plus this deployment's overrides."""
    holidays: dict[date, str] = {}
    workdays: dict[date, str] = {}
    for o in s.scalars(select(CalendarOverride)):
        (holidays if o.kind == "holiday" else workdays)[o.day] = o.name
    return national_calendar().with_overrides(holidays, workdays)


def set_day(s: Session, actor: Principal, day: date, kind: str, name: str) -> CalendarOverride:
    """Make ``day`` a holiday or a working day of this deployment (replacing an earlier
    override of that day); recorded on the calendar's timeline and in the audit log."""
    if kind not in KIND_LABELS:
        raise CalendarError(f"类型应为 holiday 或 workday，而不是 {kind!r}")
    name = name.strip()
    if not name or len(name) > 100:
        raise CalendarError("请填写 1–100 个字的名称（如：县庆放假、调休上班）")
    national = national_calendar().info(day)
    if kind == "holiday" and not national.working:
        raise CalendarError(f"{national.describe()} 本来就是休息日")
    if kind == "workday" and national.working:
        raise CalendarError(f"{national.describe()} 本来就是工作日")
    row = s.get(CalendarOverride, day)
    before = None if row is None else {"kind": row.kind, "name": row.name}
    if row is None:
        row = CalendarOverride(day=day)
        s.add(row)
    row.kind, row.name = kind, name
    row.created_at, row.created_by = utcnow(), actor.username
    s.flush()
    timeline.record_change(
        s,
        actor,
        entity_type="calendar",
        entity_id=day.isoformat(),
        action="calendar.set",
        summary=f"{day.isoformat()} 设为{KIND_LABELS[kind]}（{name}）",
        before=before,
        after={"kind": kind, "name": name},
    )
    return row


def remove_day(s: Session, actor: Principal, day: date) -> None:
    """Drop this deployment's override of ``day`` (the national calendar applies again)."""
    row = s.get(CalendarOverride, day)
    if row is None:
        raise NotFound(f"{day.isoformat()} 没有本地设置")
    before = {"kind": row.kind, "name": row.name}
    s.delete(row)
    s.flush()
    timeline.record_change(
        s,
        actor,
        entity_type="calendar",
        entity_id=day.isoformat(),
        action="calendar.remove",
        summary=f"取消 {day.isoformat()} 的本地设置",
        before=before,
        after=None,
    )


def special_days(s: Session, year: int) -> list[DayInfo]:
    """The days of ``year`` that differ from a plain Monday–Friday week, or are set locally."""
    cal = calendar(s)
    days = set(d for d in cal.holidays if d.year == year)
    days |= {d for d in cal.workdays if d.year == year}
    days |= {d for d in cal.local_holidays if d.year == year}
    days |= {d for d in cal.local_workdays if d.year == year}
    return [cal.info(d) for d in sorted(days)]
