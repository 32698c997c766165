"""Task deadlines as an iCalendar file (RFC 5545), for the units' own calendars (行事历).

One all-day VEVENT per task with a deadline (DTSTART;VALUE=DATE = the deadline, DTEND the day
after), a VALARM a week before, UID stable per task so a re-import updates instead of
duplicating. Text is escaped (backslash, semicolon, comma, newline) and lines are folded at
75 octets without splitting a UTF-8 character (RFC 5545 §3.1, §3.3.11).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta


@dataclass(frozen=True, slots=True)
class Event:
    uid: str
    day: date
    summary: str
    description: str


def escape(text: str) -> str:
    return (
        text.replace("\\", "\\\\")
        .replace(";", "\\;")
        .replace(",", "\\,")
        .replace("\r\n", "\\n")
        .replace("\n", "\\n")
    )


def fold(line: str) -> str:
    """A content line folded into chunks of at most 75 octets (continuations start with a
    space, which counts in the 75)."""
    out: list[str] = []
    chunk, size, limit = "", 0, 75
    for ch in line:
        n = len(ch.encode("utf-8"))
        if size + n > limit:
            out.append(chunk)
            chunk, size, limit = " ", 1, 75
        chunk += ch
        size += n
    out.append(chunk)
    return "\r\n".join(out)


def calendar(name: str, events: Iterable[Event], *, stamp: datetime) -> str:
    """The VCALENDAR text (CRLF line ends); ``stamp`` is DTSTAMP, UTC."""
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//Qingshan//plans//ZH",
        "CALSCALE:GREGORIAN",
        f"X-WR-CALNAME:{escape(name)}",
    ]
    ts = stamp.strftime("%Y%m%dT%H%M%SZ")
    for e in events:
        lines += [
            "BEGIN:VEVENT",
            f"UID:{e.uid}",
            f"DTSTAMP:{ts}",
            f"DTSTART;VALUE=DATE:{e.day.strftime('%Y%m%d')}",
            f"DTEND;VALUE=DATE:{(e.day + timedelta(days=1)).strftime('%Y%m%d')}",
            f"SUMMARY:{escape(e.summary)}",
            f"DESCRIPTION:{escape(e.description)}",
            "BEGIN:VALARM",
            "ACTION:DISPLAY",
            "TRIGGER:-P7D",
            f"DESCRIPTION:{escape('任务期限将至：' + e.summary)}",
            "END:VALARM",
            "END:VEVENT",
        ]
    lines.append("END:VCALENDAR")
    return "".join(fold(x) + "\r\n" for x in lines)
