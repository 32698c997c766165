"""When a case's warnings are due: one ``case_warning`` job per colour, queued whenever the
case's due day is set or moves (see :mod:`.escalation` for the job and the colours)."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy.orm import Session

from qingshan.clock import from_cst, utcnow
from qingshan.services import scheduler, workcalendar
from qingshan.services import workflows as wfs
from qingshan.services.cases import vocab
from qingshan.storage.models_cases import CaseItem
from qingshan.workdays import WorkCalendar

JOB_KIND = "case_warning"
LEVELS = ("blue", "yellow", "red")
WARN_AT = (9, 0)  # China Standard Time, as the workflow reminders


def _at_9(day: date) -> datetime:
    return from_cst(datetime(day.year, day.month, day.day, *WARN_AT))


def _working_days_before(cal: WorkCalendar, day: date, n: int) -> date:
    d = day
    for _ in range(n):
        d -= timedelta(days=1)
        while not cal.is_working_day(d):
            d -= timedelta(days=1)
    return d


def warning_days(cal: WorkCalendar, due: date) -> dict[str, date]:
    """The day each colour is raised for a due day."""
    lim = vocab.limits()
    return {
        "blue": _working_days_before(cal, due, lim.blue_before),
        "yellow": due + timedelta(days=lim.yellow_after),
        "red": due + timedelta(days=lim.red_after),
    }


def schedule(s: Session, case: CaseItem) -> None:
    """Queue the warnings of the case's current due day (once per due day and colour)."""
    if case.due_on is None:
        return
    tags = wfs.definition(case.workflow).states[case.state].tags
    if "closed" in tags or "excluded" in tags:
        return
    now = utcnow()
    days = warning_days(workcalendar.calendar(s), case.due_on)
    for level in LEVELS:
        scheduler.enqueue(
            s,
            JOB_KIND,
            {"case": case.code, "due": case.due_on.isoformat(), "level": level},
            run_at=max(now, _at_9(days[level])),
            dedup_key=f"case:{case.id}:{case.due_on.isoformat()}:{level}",
        )
