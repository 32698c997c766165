"""``qingshan ingest-file FILE``: replay a file of HJ 212 packets into the database."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn

from qingshan.cli._db import DB_OPTION_HELP, fail, open_engine
from qingshan.services.replay import replay_file
from qingshan.settings import get_settings


def ingest_file(
    file: Annotated[
        Path, typer.Argument(help="File with one HJ 212 packet per line (logs are fine)")
    ],
    lenient: bool = typer.Option(False, "--lenient", help="Accept known device quirks"),
    db: str | None = typer.Option(None, "--db", help=DB_OPTION_HELP),
) -> None:
    """Load packets through the gateway's validation path; print a rejection summary.

    Exits with status 1 when any packet was rejected (the rejects are in the quarantine).
    """
    if not file.is_file():
        raise fail(f"no such file: {file}", 2)
    engine = open_engine(db)
    settings = get_settings(db_url=db)
    size = file.stat().st_size
    with Progress(
        TextColumn("[bold]ingest"),
        BarColumn(),
        DownloadColumn(),
        TimeRemainingColumn(),
        transient=True,
    ) as bar:
        task = bar.add_task("ingest", total=size)
        summary = replay_file(
            engine,
            file,
            lenient=lenient,
            max_segment=settings.hj212_max_segment,
            progress=lambda done: bar.update(task, completed=done),
        )
    typer.echo(
        f"{summary.packets} packets: {summary.stored} stored, {summary.duplicate} duplicates, "
        f"{summary.seen} heartbeats/replies, {summary.split_parts} split parts, "
        f"{summary.rejected_total} rejected; {summary.other_lines} lines without a packet",
        err=True,
    )
    for reason, n in summary.rejected.most_common():
        typer.echo(f"  rejected {reason}: {n}", err=True)
    if summary.rejected_total:
        raise typer.Exit(1)
