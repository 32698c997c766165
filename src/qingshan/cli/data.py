"""``qingshan data export``: stored observations as CSV, JSON or xlsx (the same export as the
web's ``GET /api/v1/export``)."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from qingshan.cli._db import DB_OPTION_HELP, fail, open_engine
from qingshan.roles import CLI
from qingshan.services import observations as obs
from qingshan.services.errors import ServiceError

app = typer.Typer(help="Read stored monitoring data.", no_args_is_help=True)


@app.command("export")
def export(
    mn: str | None = typer.Option(None, "--mn", help="Device MN"),
    site: str | None = typer.Option(None, "--site", help="Site code (all its devices)"),
    resolution: str = typer.Option(..., "--resolution", help="realtime, minute, hour or day"),
    start: str = typer.Option(..., "--from", help="Start time, ISO 8601 (no offset = UTC+8)"),
    end: str = typer.Option(..., "--to", help="End time (inclusive), ISO 8601"),
    codes: str | None = typer.Option(None, "--codes", help="Comma-separated factor codes"),
    fmt: str = typer.Option("csv", "--format", help="csv, json or xlsx"),
    output: str | None = typer.Option(
        None, "--output", "-o", help="Write to this file instead of stdout"
    ),
    db: str | None = typer.Option(None, "--db", help=DB_OPTION_HELP),
) -> None:
    """Print every stored field of the records of one device or site (time, MN, code, name,
    unit, value, min, max, cou, zs, zs_min, zs_max, flag, derived, samples); values exactly
    as received."""
    if fmt not in obs.FORMATS:
        raise fail(f"--format {fmt!r}: use csv, json or xlsx", 2)
    if (mn is None) == (site is None):
        raise fail("give exactly one of --mn and --site", 2)
    engine = open_engine(db)
    try:
        rng = obs.time_range(
            resolution,
            obs.parse_time(start, "--from"),
            obs.parse_time(end, "--to"),
            bounded=False,
            names=("--from", "--to"),
        )
        ex = obs.open_export(engine, CLI, rng, mn=mn, site_code=site, codes=obs.parse_codes(codes))
        chunks = ex.chunks(fmt)
        if output is not None:
            with Path(output).open("wb") as fh:
                for chunk in chunks:
                    fh.write(chunk)
        else:
            out = sys.stdout.buffer
            for chunk in chunks:
                out.write(chunk)
            out.flush()
    except ServiceError as exc:
        raise fail(str(exc), 2) from None
    finally:
        engine.dispose()
