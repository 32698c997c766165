"""``qingshan data export``: stored observations to CSV or JSON on stdout."""

from __future__ import annotations

import csv
import json
import sys

import typer

from qingshan.cli._db import DB_OPTION_HELP, fail, open_engine
from qingshan.services.export import ExportError, export_observations, parse_time
from qingshan.storage.models import Resolution

app = typer.Typer(help="Read stored monitoring data.", no_args_is_help=True)


@app.command("export")
def export(
    mn: str = typer.Option(..., "--mn", help="Device MN"),
    resolution: str = typer.Option(..., "--resolution", help="realtime, minute, hour or day"),
    start: str = typer.Option(..., "--from", help="Start time, ISO 8601 (no offset = UTC+8)"),
    end: str = typer.Option(..., "--to", help="End time (inclusive), ISO 8601"),
    fmt: str = typer.Option("csv", "--format", help="csv or json"),
    db: str | None = typer.Option(None, "--db", help=DB_OPTION_HELP),
) -> None:
    """Print observations (code, time, value, flag, derived); values exactly as received."""
    if fmt not in ("csv", "json"):
        raise fail(f"--format {fmt!r}: use csv or json", 2)
    try:
        res = Resolution.parse(resolution)
        t0, t1 = parse_time(start, "--from"), parse_time(end, "--to")
        rows = export_observations(open_engine(db), mn=mn, resolution=res, start=t0, end=t1)
        if fmt == "csv":
            w = csv.writer(sys.stdout, lineterminator="\n")
            w.writerow(["code", "time", "value", "flag", "derived"])
            for r in rows:
                w.writerow(
                    [r.code, r.iso_time, r.value or "", r.flag or "", "1" if r.derived else "0"]
                )
        else:
            out = [
                {
                    "code": r.code,
                    "time": r.iso_time,
                    "value": r.value,
                    "flag": r.flag,
                    "derived": r.derived,
                }
                for r in rows
            ]
            sys.stdout.write(json.dumps(out, ensure_ascii=False, indent=1) + "\n")
    except (ExportError, ValueError) as exc:
        raise fail(str(exc), 2) from None
