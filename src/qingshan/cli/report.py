"""``qingshan report``: 日报, 周报, the monthly bulletin (环境质量月报) and annual report (年报)."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path

import typer
from sqlalchemy.orm import Session

from qingshan.cli._db import DB_OPTION_HELP, fail, open_engine
from qingshan.services.reports import (
    Report,
    ReportError,
    annual_report,
    daily_report,
    monthly_report,
    weekly_report,
    write_report,
)
from qingshan.services.reports.fonts import FontMissingError
from qingshan.storage.db import READONLY, session_factory

WEEKDAYS = "一二三四五六日"

app = typer.Typer(
    help="Environmental-quality reports (.docx, .xlsx, .pdf) from stored figures.",
    no_args_is_help=True,
)

OUT_HELP = "Output file: .docx (Word), .xlsx (Excel) or .pdf (needs LibreOffice)"
REGION_HELP = "GB/T 2260 region code (default: the one county-level region in the database)"


@app.command("monthly")
def monthly(
    month: str = typer.Option(..., "--month", help="Month, YYYY-MM"),
    out: str = typer.Option(..., "--out", help=OUT_HELP),
    region: str | None = typer.Option(None, "--region", help=REGION_HELP),
    db: str | None = typer.Option(None, "--db", help=DB_OPTION_HELP),
) -> None:
    """Write the 环境质量月报 of a month."""
    try:
        when = datetime.strptime(month, "%Y-%m")
    except ValueError:
        raise fail(f"--month {month!r}: give YYYY-MM", 2) from None
    engine = open_engine(db)
    try:
        with session_factory(engine.execution_options(**READONLY))() as s:
            rep = monthly_report(s, year=when.year, month=when.month, region=region)
            path = write_report(rep, Path(out))
    except (ReportError, FontMissingError) as exc:
        raise fail(str(exc), 2) from None
    typer.echo(f"wrote {path}", err=True)


@app.command("annual")
def annual(
    year: int = typer.Option(..., "--year", help="Year, YYYY"),
    out: str = typer.Option(..., "--out", help=OUT_HELP),
    region: str | None = typer.Option(None, "--region", help=REGION_HELP),
    db: str | None = typer.Option(None, "--db", help=DB_OPTION_HELP),
) -> None:
    """Write the 环境质量年报 of a year."""
    if not 2000 <= year <= 2100:
        raise fail(f"--year {year}: give a four-digit year", 2)
    engine = open_engine(db)
    try:
        with session_factory(engine.execution_options(**READONLY))() as s:
            rep = annual_report(s, year=year, region=region)
            path = write_report(rep, Path(out))
    except (ReportError, FontMissingError) as exc:
        raise fail(str(exc), 2) from None
    typer.echo(f"wrote {path}", err=True)


def _day(option: str, text: str) -> date:
    try:
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            raise ValueError(text)
        return date.fromisoformat(text)
    except ValueError:
        raise fail(
            f"{option} {text!r}: give a date YYYY-MM-DD（日期格式应为 YYYY-MM-DD）", 2
        ) from None


def _write(db: str | None, out: str, make: Callable[[Session], Report]) -> None:
    engine = open_engine(db)
    try:
        with session_factory(engine.execution_options(**READONLY))() as s:
            path = write_report(make(s), Path(out))
    except (ReportError, FontMissingError) as exc:
        raise fail(str(exc), 2) from None
    typer.echo(f"wrote {path}", err=True)


@app.command("daily")
def daily(
    day: str = typer.Option(..., "--date", help="Day, YYYY-MM-DD (Beijing time)"),
    out: str = typer.Option(..., "--out", help=OUT_HELP),
    region: str | None = typer.Option(None, "--region", help=REGION_HELP),
    db: str | None = typer.Option(None, "--db", help=DB_OPTION_HELP),
) -> None:
    """Write the 环境空气质量日报 of a day."""
    when = _day("--date", day)
    _write(db, out, lambda s: daily_report(s, when, region))


@app.command("weekly")
def weekly(
    week_start: str = typer.Option(..., "--week-start", help="The week's Monday, YYYY-MM-DD"),
    out: str = typer.Option(..., "--out", help=OUT_HELP),
    region: str | None = typer.Option(None, "--region", help=REGION_HELP),
    db: str | None = typer.Option(None, "--db", help=DB_OPTION_HELP),
) -> None:
    """Write the 环境空气质量周报 of a week (Monday to Sunday)."""
    when = _day("--week-start", week_start)
    if when.weekday() != 0:
        raise fail(
            f"--week-start {week_start}: a week starts on Monday; {when} is a "
            f"{when.strftime('%A')}（周报从周一开始，{when} 是星期{WEEKDAYS[when.weekday()]}）",
            2,
        )
    _write(db, out, lambda s: weekly_report(s, when, region))
