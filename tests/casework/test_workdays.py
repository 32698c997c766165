"""The working-day calendar: the shipped national data (2024–2026 notices), local overrides,
and deadline arithmetic in calendar and working days (properties with hypothesis)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from qingshan.workdays import (
    CalendarError,
    WorkCalendar,
    add_calendar_days,
    add_working_days,
    national_calendar,
    next_working_day,
    parse_calendar,
    working_days_between,
)

CAL = national_calendar()


def test_the_three_notices_are_listed_verified_with_sources() -> None:
    for year in (2024, 2025, 2026):
        notice = CAL.notices[year]
        assert notice.verified, year
        assert notice.sources, year
        assert notice.notice == f"国务院办公厅关于{year}年部分节假日安排的通知"
    assert CAL.notices[2024].number == "国办发明电〔2023〕7号"
    assert CAL.notices[2025].number == "国办发明电〔2024〕12号"


@pytest.mark.parametrize(
    ("day", "working", "reason"),
    [
        # 2024: 春节 2月10日至17日, 2月4日(日)、2月18日(日)上班
        (date(2024, 2, 10), False, "春节"),
        (date(2024, 2, 17), False, "春节"),
        (date(2024, 2, 4), True, "春节调休上班"),
        (date(2024, 2, 18), True, "春节调休上班"),
        (date(2024, 5, 11), True, "劳动节调休上班"),
        (date(2024, 10, 12), True, "国庆节调休上班"),
        # 2025: 国庆节、中秋节 10月1日至8日, 9月28日(日)、10月11日(六)上班
        (date(2025, 10, 8), False, "国庆节、中秋节"),
        (date(2025, 9, 28), True, "国庆节、中秋节调休上班"),
        (date(2025, 1, 28), False, "春节"),
        (date(2025, 2, 8), True, "春节调休上班"),
        # 2026: 元旦 1月1日至3日, 1月4日(日)上班; 春节 2月15日至23日 (9 days)
        (date(2026, 1, 2), False, "元旦"),
        (date(2026, 1, 4), True, "元旦调休上班"),
        (date(2026, 2, 23), False, "春节"),
        (date(2026, 2, 14), True, "春节调休上班"),
        (date(2026, 2, 28), True, "春节调休上班"),
        (date(2026, 9, 20), True, "国庆节调休上班"),
        # ordinary days
        (date(2026, 3, 7), False, "星期六"),
        (date(2026, 3, 9), True, "工作日"),
    ],
)
def test_days_of_the_notices(day: date, working: bool, reason: str) -> None:
    info = CAL.info(day)
    assert (info.working, info.reason) == (working, reason)


def test_holiday_counts_per_year_match_the_notices() -> None:
    def off_in(year: int, first: tuple[int, int], last: tuple[int, int]) -> int:
        d, n = date(year, *first), 0
        while d <= date(year, *last):
            n += not CAL.is_working_day(d)
            d += timedelta(days=1)
        return n

    assert off_in(2024, (2, 10), (2, 17)) == 8  # 共8天
    assert off_in(2025, (1, 28), (2, 4)) == 8  # 共8天
    assert off_in(2025, (10, 1), (10, 8)) == 8  # 共8天
    assert off_in(2026, (2, 15), (2, 23)) == 9  # 共9天
    assert off_in(2026, (5, 1), (5, 5)) == 5  # 共5天


def test_calendar_day_period_rolls_off_the_spring_festival_and_says_why() -> None:
    d = add_calendar_days(CAL, date(2026, 2, 5), 10)
    assert d.nominal == date(2026, 2, 15)
    assert d.due == date(2026, 2, 24)
    assert len(d.rolled_over) == 9
    text = d.explain()
    assert "届满日2026-02-15为春节" in text and "顺延至2026-02-24（星期二）" in text


def test_working_day_period_counts_the_adjusted_saturday() -> None:
    # 2026-02-13 (Fri), 2026-02-14 (Sat, 调休上班), then the holiday, then 2026-02-24.
    d = add_working_days(CAL, date(2026, 2, 12), 3)
    assert d.due == date(2026, 2, 24)
    assert d.skipped == 9
    assert "期限至2026-02-24" in d.explain()


def test_years_without_a_notice_are_counted_with_weekends_and_flagged() -> None:
    d = add_working_days(CAL, date(2027, 3, 5), 1)  # Friday → Monday
    assert d.due == date(2027, 3, 8)
    assert d.uncovered_years == (2027,)
    assert "2027年节假日安排未收录" in d.explain()
    assert add_working_days(CAL, date(2026, 3, 5), 1).uncovered_years == ()


def test_local_overrides_win() -> None:
    cal = CAL.with_overrides({date(2026, 3, 9): "县庆放假"}, {date(2026, 3, 7): "调休上班"})
    assert cal.info(date(2026, 3, 9)).reason == "县庆放假"
    assert not cal.is_working_day(date(2026, 3, 9))
    assert cal.is_working_day(date(2026, 3, 7))
    assert add_working_days(cal, date(2026, 3, 6), 2).due == date(2026, 3, 10)
    with pytest.raises(CalendarError):
        CAL.with_overrides({date(2026, 3, 9): "a"}, {date(2026, 3, 9): "b"})


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[[year]]\nyear = 2030\nverified = false\n", "note"),
        ("[[year]]\nyear = 2030\nverified = true\n", "sources"),
        (
            "[[year]]\nyear = 2030\nverified = false\nnote='x'\n"
            "workdays = [{ day = 2030-03-06, name = 'x' }]\n",
            "周一至周五",
        ),
        (
            "[[year]]\nyear = 2030\nverified = false\nnote='x'\n"
            "holidays = [{ name = 'a', first = 2030-05-05, last = 2030-05-01 }]\n",
            "不合理",
        ),
        ("not toml [", "TOML"),
    ],
)
def test_bad_calendar_files_are_refused(text: str, message: str) -> None:
    with pytest.raises(CalendarError, match=message):
        parse_calendar(text)


def test_negative_periods_are_refused() -> None:
    with pytest.raises(ValueError):
        add_calendar_days(CAL, date(2026, 1, 1), -1)


days_2023_2028 = st.dates(min_value=date(2023, 6, 1), max_value=date(2027, 12, 31))
local = st.dictionaries(days_2023_2028, st.just("本地"), max_size=6)


@st.composite
def calendars(draw: st.DrawFn) -> WorkCalendar:
    holidays = draw(local)
    workdays = {d: n for d, n in draw(local).items() if d not in holidays}
    return CAL.with_overrides(holidays, workdays)


@given(calendars(), days_2023_2028, st.integers(0, 120))
def test_working_day_deadline_properties(cal: WorkCalendar, start: date, n: int) -> None:
    d = add_working_days(cal, start, n)
    assert cal.is_working_day(d.due)
    assert d.due >= start
    if n > 0:
        # exactly n working days in (start, due], the last of them the due day itself
        assert working_days_between(cal, start, d.due) == n
        assert working_days_between(cal, start, d.due - timedelta(days=1)) == n - 1
        assert d.skipped == (d.due - start).days - n
    else:
        assert d.due == next_working_day(cal, start)


@given(calendars(), days_2023_2028, st.integers(0, 400))
def test_calendar_day_deadline_properties(cal: WorkCalendar, start: date, n: int) -> None:
    d = add_calendar_days(cal, start, n)
    assert d.nominal == start + timedelta(days=n)
    assert d.due >= d.nominal
    assert cal.is_working_day(d.due)
    # every day rolled over is a non-working day, and they are exactly the days skipped
    assert [x.day for x in d.rolled_over] == [
        d.nominal + timedelta(days=i) for i in range((d.due - d.nominal).days)
    ]
    assert all(not x.working for x in d.rolled_over)
    assert add_calendar_days(cal, start, n, roll=False).due == d.nominal


@given(calendars(), days_2023_2028, st.integers(0, 60), st.integers(0, 60))
def test_longer_periods_never_end_earlier(cal: WorkCalendar, start: date, a: int, b: int) -> None:
    lo, hi = sorted((a, b))
    assert add_working_days(cal, start, lo).due <= add_working_days(cal, start, hi).due
    assert add_calendar_days(cal, start, lo).due <= add_calendar_days(cal, start, hi).due
