"""Working days in China and deadline arithmetic (pure: dates in, dates and reasons out).

A day is a working day (工作日) when it is Monday to Friday and not a public holiday, or when it
is a weekend day the State Council made a working day (调休上班). The national holidays and
working weekends come from the annual notices 国务院办公厅关于20XX年部分节假日安排的通知,
kept with their sources in ``data/cn_public_holidays.toml``; a deployment's own additions
(local holidays, a year's notice not yet shipped) override them.

Deadlines follow the rule Chinese procedure uses for periods (期间): the day the period starts
is not counted, counting begins the next day, and a period in calendar days (自然日) whose last
day is not a working day ends on the first working day after it (顺延). A period in working
days (工作日) ends on the n-th working day after the start. Every result says why it is what it
is: which days were rolled over and for what reason, and which years had no notice (counted
with weekends only).
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cache
from importlib import resources
from typing import Any, Literal

Unit = Literal["calendar", "working"]
UNIT_LABELS: dict[str, str] = {"calendar": "自然日", "working": "工作日"}
WEEKDAYS = ("星期一", "星期二", "星期三", "星期四", "星期五", "星期六", "星期日")
DATA_FILE = "cn_public_holidays.toml"
# A deadline further away than this is a mistake in the caller, not a period (and would make
# the day-by-day walk long).
MAX_SPAN_DAYS = 3660


class CalendarError(ValueError):
    """A calendar data file or an addition to it that cannot be right."""


@dataclass(frozen=True, slots=True)
class YearNotice:
    """One year's notice: where the dates come from and whether they were checked."""

    year: int
    notice: str
    number: str
    verified: bool
    sources: tuple[str, ...]
    note: str = ""


@dataclass(frozen=True, slots=True)
class DayInfo:
    """One day, whether it is a working day, and why."""

    day: date
    working: bool
    reason: str  # 工作日 / 星期六 / 春节 / 春节调休上班 / a local override's name
    source: str  # "weekday" | "national" | "local"

    def describe(self) -> str:
        kind = "工作日" if self.working else "休息日"
        return f"{self.day.isoformat()}（{WEEKDAYS[self.day.weekday()]}，{self.reason}，{kind}）"


@dataclass(frozen=True)
class WorkCalendar:
    """National holidays and working weekends plus local overrides (which win)."""

    holidays: Mapping[date, str] = field(default_factory=dict)
    workdays: Mapping[date, str] = field(default_factory=dict)
    notices: Mapping[int, YearNotice] = field(default_factory=dict)
    local_holidays: Mapping[date, str] = field(default_factory=dict)
    local_workdays: Mapping[date, str] = field(default_factory=dict)

    def with_overrides(
        self, holidays: Mapping[date, str], workdays: Mapping[date, str]
    ) -> WorkCalendar:
        """This calendar with a deployment's own holidays and working days added."""
        clash = sorted(set(holidays) & set(workdays))
        if clash:
            raise CalendarError(f"{clash[0].isoformat()} 不能同时是节假日和工作日")
        return WorkCalendar(
            self.holidays,
            self.workdays,
            self.notices,
            {**self.local_holidays, **holidays},
            {**self.local_workdays, **workdays},
        )

    def info(self, d: date) -> DayInfo:
        if d in self.local_holidays:
            return DayInfo(d, False, self.local_holidays[d], "local")
        if d in self.local_workdays:
            return DayInfo(d, True, self.local_workdays[d], "local")
        if d in self.holidays:
            return DayInfo(d, False, self.holidays[d], "national")
        if d in self.workdays:
            return DayInfo(d, True, self.workdays[d], "national")
        if d.weekday() >= 5:
            return DayInfo(d, False, WEEKDAYS[d.weekday()], "weekday")
        return DayInfo(d, True, "工作日", "weekday")

    def is_working_day(self, d: date) -> bool:
        return self.info(d).working

    def covers(self, year: int) -> bool:
        """Whether the holidays of ``year`` are known (a notice is listed for it)."""
        return year in self.notices


@dataclass(frozen=True, slots=True)
class Deadline:
    """The end of a period and why it falls there."""

    start: date
    amount: int
    unit: Unit
    due: date
    nominal: date  # where the count itself ended, before any rolling
    rolled_over: tuple[DayInfo, ...]  # non-working days the end was moved past
    skipped: int  # non-working days passed over while counting working days
    uncovered_years: tuple[int, ...]  # years counted with weekends only (no notice)

    def explain(self) -> str:
        """A sentence for people: the period, where it ends and why."""
        head = (
            f"自{self.start.isoformat()}起{self.amount}个{UNIT_LABELS[self.unit]}（起算日不计入），"
        )
        if self.unit == "calendar":
            if self.rolled_over:
                first = self.rolled_over[0]
                text = (
                    f"{head}届满日{self.nominal.isoformat()}为{first.reason}（休息日），"
                    f"顺延至{self.due.isoformat()}（{WEEKDAYS[self.due.weekday()]}）"
                )
                if len(self.rolled_over) > 1:
                    text += f"，共顺延{len(self.rolled_over)}天"
            else:
                text = f"{head}届满日{self.due.isoformat()}（{WEEKDAYS[self.due.weekday()]}）"
        else:
            text = f"{head}期限至{self.due.isoformat()}（{WEEKDAYS[self.due.weekday()]}）"
            if self.skipped:
                text += f"，其间跳过休息日{self.skipped}天"
        if self.uncovered_years:
            years = "、".join(str(y) for y in self.uncovered_years)
            text += f"；{years}年节假日安排未收录，按周六、周日休息计算"
        return text


# ---------------------------------------------------------------------------- loading


def _as_date(value: Any, where: str) -> date:
    if isinstance(value, date):
        return value
    raise CalendarError(f"{where}: 应为日期（YYYY-MM-DD），而不是 {value!r}")


def parse_calendar(text: str) -> WorkCalendar:
    """A calendar from the TOML text of a holidays file; CalendarError on anything wrong."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise CalendarError(f"节假日文件不是有效的 TOML：{exc}") from None
    holidays: dict[date, str] = {}
    workdays: dict[date, str] = {}
    notices: dict[int, YearNotice] = {}
    for entry in data.get("year", []):
        year = entry.get("year")
        if not isinstance(year, int):
            raise CalendarError(f"year 应为整数，而不是 {year!r}")
        if year in notices:
            raise CalendarError(f"{year}年重复出现")
        verified = entry.get("verified")
        if not isinstance(verified, bool):
            raise CalendarError(f"{year}年: 缺少 verified = true/false")
        note = str(entry.get("note", ""))
        if not verified and not note:
            raise CalendarError(f"{year}年: 未核实的年份须在 note 中说明原因")
        sources = tuple(str(s) for s in entry.get("sources", []))
        if verified and not sources:
            raise CalendarError(f"{year}年: 已核实的年份须列出来源 sources")
        notice, number = str(entry.get("notice", "")), str(entry.get("number", ""))
        notices[year] = YearNotice(year, notice, number, verified, sources, note)
        for h in entry.get("holidays", []):
            where = f"{year}年 {h.get('name', '?')}"
            first = _as_date(h.get("first"), where)
            last = _as_date(h.get("last"), where)
            if last < first or (last - first).days > 14:
                raise CalendarError(f"{where}: 起止日期 {first}–{last} 不合理")
            if year not in (first.year, last.year):
                raise CalendarError(f"{where}: 日期不在{year}年")
            d = first
            while d <= last:
                if d in holidays:
                    raise CalendarError(f"{where}: {d} 重复列为节假日")
                holidays[d] = str(h["name"])
                d += timedelta(days=1)
        for w in entry.get("workdays", []):
            where = f"{year}年 调休上班"
            d = _as_date(w.get("day"), where)
            if d.weekday() < 5:
                raise CalendarError(f"{where}: {d} 是周一至周五，不需要调休上班")
            if d.year != year:
                raise CalendarError(f"{where}: {d} 不在{year}年")
            workdays[d] = str(w.get("name", "调休上班"))
    clash = sorted(set(holidays) & set(workdays))
    if clash:
        raise CalendarError(f"{clash[0]} 同时列为节假日和调休上班日")
    return WorkCalendar(holidays, workdays, notices)


@cache
def national_calendar() -> WorkCalendar:
    """The shipped national calendar (``data/cn_public_holidays.toml``), read once: every
    deadline asks for it, and parsing the file each time dominated a ledger import."""
    text = resources.files(__name__).joinpath("data", DATA_FILE).read_text("utf-8")
    return parse_calendar(text)


# ---------------------------------------------------------------------------- arithmetic


def _check_amount(amount: int) -> None:
    if amount < 0:
        raise ValueError("期限天数不能为负数")
    if amount > MAX_SPAN_DAYS:
        raise ValueError(f"期限天数 {amount} 超过上限 {MAX_SPAN_DAYS}")


def _uncovered(cal: WorkCalendar, start: date, end: date) -> tuple[int, ...]:
    return tuple(y for y in range(start.year, end.year + 1) if not cal.covers(y))


def next_working_day(cal: WorkCalendar, d: date) -> date:
    """``d`` itself when it is a working day, else the first working day after it."""
    for _ in range(MAX_SPAN_DAYS):
        if cal.is_working_day(d):
            return d
        d += timedelta(days=1)
    raise CalendarError("找不到工作日：节假日设置有误")


def add_calendar_days(cal: WorkCalendar, start: date, days: int, *, roll: bool = True) -> Deadline:
    """The end of a period of ``days`` calendar days from ``start`` (start not counted); a
    last day that is not a working day rolls to the next working day unless ``roll`` is off."""
    _check_amount(days)
    nominal = start + timedelta(days=days)
    due = next_working_day(cal, nominal) if roll else nominal
    rolled = tuple(cal.info(nominal + timedelta(days=i)) for i in range((due - nominal).days))
    return Deadline(start, days, "calendar", due, nominal, rolled, 0, _uncovered(cal, start, due))


def add_working_days(cal: WorkCalendar, start: date, days: int) -> Deadline:
    """The ``days``-th working day after ``start`` (0: ``start`` or the next working day)."""
    _check_amount(days)
    if days == 0:
        due = next_working_day(cal, start)
        skipped = (due - start).days
    else:
        d, counted, skipped = start, 0, 0
        while counted < days:
            d += timedelta(days=1)
            if cal.is_working_day(d):
                counted += 1
            else:
                skipped += 1
            if (d - start).days > MAX_SPAN_DAYS:
                raise CalendarError("期限过长：节假日设置有误")
        due = d
    return Deadline(start, days, "working", due, due, (), skipped, _uncovered(cal, start, due))


def add_period(cal: WorkCalendar, start: date, amount: int, unit: Unit) -> Deadline:
    """A period in either unit (workflow definitions name the unit)."""
    if unit == "calendar":
        return add_calendar_days(cal, start, amount)
    if unit == "working":
        return add_working_days(cal, start, amount)
    raise ValueError(f"unknown unit {unit!r}: use calendar or working")


def working_days_between(cal: WorkCalendar, start: date, end: date) -> int:
    """How many working days lie in (start, end] (0 when end <= start)."""
    n, d = 0, start
    while d < end:
        d += timedelta(days=1)
        n += cal.is_working_day(d)
    return n


def days_in(cal: WorkCalendar, first: date, last: date) -> Iterable[DayInfo]:
    """Every day from ``first`` to ``last`` with its status (for listings)."""
    d = first
    while d <= last:
        yield cal.info(d)
        d += timedelta(days=1)


__all__ = [
    "UNIT_LABELS",
    "WEEKDAYS",
    "CalendarError",
    "DayInfo",
    "Deadline",
    "Unit",
    "WorkCalendar",
    "YearNotice",
    "add_calendar_days",
    "add_period",
    "add_working_days",
    "days_in",
    "national_calendar",
    "next_working_day",
    "parse_calendar",
    "working_days_between",
]
