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
    target: str | None = typer.Argument(
        None,
        metavar="[MN|SITE]",
        help="A device MN or a site code (all the site's devices); or use --mn / --site",
    ),
    mn: str | None = typer.Option(None, "--mn", help="Device MN"),
    site: str | None = typer.Option(None, "--site", help="Site code (all its devices)"),
    device: str | None = typer.Option(
        None, "--device", help="With a site: only this device (MN) of the site"
    ),
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
    as received. The records of a site are those of all its devices (each row names its MN);
    --device keeps one of them."""
    if fmt not in obs.FORMATS:
        raise fail(f"--format {fmt!r}：导出格式无效，可选 csv、json、xlsx", 2)
    if sum(x is not None for x in (target, mn, site)) != 1:
        raise fail("请给出一个设备MN或点位编码（位置参数，或 --mn / --site 之一）", 2)
    if device is not None and mn is not None:
        raise fail("--device 只能与点位一起使用（位置参数或 --site）", 2)
    engine = open_engine(db)
    try:
        rng = obs.time_range(
            resolution,
            obs.parse_time(start, "--from"),
            obs.parse_time(end, "--to"),
            bounded=False,
            names=("--from", "--to"),
        )
        if target is not None:
            site, mn = obs.resolve_target(engine, target)
        if device is not None:
            if site is None:
                raise fail(f"{target} 是设备MN，--device 只能与点位一起使用", 2)
            mn = obs.device_of_site(engine, site, device)
            site = None
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
