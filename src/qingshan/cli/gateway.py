"""``qingshan gateway refusals``: what the HJ 212 gateway's limits refused, and from whom."""

from __future__ import annotations

import json
from datetime import timedelta

import typer

from qingshan.cli._db import DB_OPTION_HELP, fail, open_engine
from qingshan.clock import to_cst, utcnow
from qingshan.services.refusals import KINDS, refusal_summary

app = typer.Typer(help="The HJ 212 gateway's limits (docs/operations.md).", no_args_is_help=True)


@app.command("refusals")
def refusals(
    hours: float = typer.Option(24.0, "--hours", help="Look back this many hours"),
    kind: str | None = typer.Option(None, "--kind", help="Only this kind: " + ", ".join(KINDS)),
    limit: int = typer.Option(100, "--limit", help="At most this many rows"),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table"),
    db: str | None = typer.Option(None, "--db", help=DB_OPTION_HELP),
) -> None:
    """Refusals per kind and subject (address or MN): throttled and blocked addresses,
    refused connections, cut-off links, counted instead of quarantined, evicted split parts.

    Written by a running `qingshan serve` every few seconds."""
    if hours <= 0 or limit < 1:
        raise fail("--hours must be > 0 and --limit ≥ 1", 2)
    now = utcnow()
    try:
        rows = refusal_summary(open_engine(db), now - timedelta(hours=hours), kind, limit)
    except ValueError as exc:
        raise fail(str(exc), 2) from None
    if as_json:
        typer.echo(json.dumps([r.as_json() for r in rows], ensure_ascii=False, indent=2))
        return
    if not rows:
        typer.echo(f"no refusals in the last {hours:g} h", err=True)
        return
    from rich.console import Console
    from rich.table import Table

    # Times for people in 北京时间 (stored as UTC); --json keeps the stored UTC values.
    table = Table(
        "kind",
        "类别",
        "subject",
        "count",
        "首次（北京时间）",
        "最近（北京时间）",
        "封禁至（北京时间）",
        "detail",
    )
    for r in rows:
        blocked = ""
        if r.blocked_until is not None and r.blocked_until > now:
            blocked = f"{to_cst(r.blocked_until):%Y-%m-%d %H:%M:%S}"
        table.add_row(
            r.kind,
            r.label,
            r.subject,
            str(r.count),
            f"{to_cst(r.first_at):%Y-%m-%d %H:%M:%S}",
            f"{to_cst(r.last_at):%Y-%m-%d %H:%M:%S}",
            blocked,
            r.detail or "",
        )
    Console(width=200).print(table)
