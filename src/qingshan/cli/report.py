"""``qingshan report``: the monthly bulletin (环境质量月报) and annual report (年报)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import typer

from qingshan.cli._db import DB_OPTION_HELP, fail, open_engine
from qingshan.services.reports import ReportError, annual_report, monthly_report, write_report
from qingshan.services.reports.fonts import FontMissingError
from qingshan.storage.db import READONLY, session_factory

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
