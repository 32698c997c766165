"""``qingshan device …``: register, retire and list HJ 212 devices (the same service as the
web's ``POST /api/v1/devices`` and ``PATCH /api/v1/devices/{mn}``)."""

from __future__ import annotations

import json

import typer

from qingshan.cli._db import DB_OPTION_HELP, fail, open_engine
from qingshan.roles import CLI
from qingshan.services.errors import ServiceError
from qingshan.services.registry import list_devices, register_device, retire_device
from qingshan.storage.db import session_scope

app = typer.Typer(
    help="Register, retire and list HJ 212 devices (data acquisition units).",
    no_args_is_help=True,
)


@app.command("add")
def add(
    mn: str = typer.Option(..., "--mn", help="Device MN (HJ 212 2017/2025: 24 hex digits)"),
    pw: str = typer.Option(..., "--pw", help="Access password (PW)"),
    st: str = typer.Option(..., "--st", help="System code ST, e.g. 22 air, 31 flue gas, 32 water"),
    site: str | None = typer.Option(None, "--site", help="Code of the site the device serves"),
    edition: str = typer.Option("2017", "--edition", help="HJ 212 edition: 2005, 2017 or 2025"),
    encoding: str = typer.Option("gbk", "--encoding", help="Text encoding of the device's CP"),
    group: str | None = typer.Option(
        None, "--group", help="Device group (its upstream platforms receive the data)"
    ),
    sm4_key: str | None = typer.Option(
        None, "--sm4-key", help="SM4 key (32 hex digits) of a 2025 device that encrypts CP"
    ),
    minute_interval: int | None = typer.Option(
        None, "--minute-interval", help="Minutes between minute records (default: inferred)"
    ),
    report_interval: int | None = typer.Option(
        None,
        "--report-interval",
        help="Minutes between hourly-or-coarser records, 60-1440, e.g. 240 for a water station "
        "sampling every 4 hours (default: inferred from the data)",
    ),
    db: str | None = typer.Option(None, "--db", help=DB_OPTION_HELP),
) -> None:
    """Register a device (a retired device with the same MN is reactivated)."""
    engine = open_engine(db)
    try:
        with session_scope(engine) as s:
            reg = register_device(
                s,
                CLI,
                mn=mn,
                pw=pw,
                st=st,
                site=site,
                edition=edition,
                encoding=encoding,
                group=group,
                sm4_key=sm4_key,
                minute_interval=minute_interval,
                report_interval=report_interval,
            )
            d = reg.device
            what = "reactivated" if reg.reactivated else "registered"
            line = f"device {d.mn} {what} (ST {d.st}, HJ 212-{d.edition}, {d.encoding})"
    except ServiceError as exc:
        raise fail(str(exc)) from None
    finally:
        engine.dispose()
    typer.echo(line, err=True)


@app.command("retire")
def retire(
    mn: str = typer.Argument(..., help="Device MN"),
    note: str | None = typer.Option(None, "--note", help="Why (kept in the device history)"),
    db: str | None = typer.Option(None, "--db", help=DB_OPTION_HELP),
) -> None:
    """Take a device out of use: the gateway refuses its packets, its data stay; `device add`
    with the same MN re-activates it."""
    engine = open_engine(db)
    try:
        retire_device(engine, mn, note=note)
    except ServiceError as exc:
        raise fail(str(exc)) from None
    finally:
        engine.dispose()
    typer.echo(f"device {mn} retired", err=True)


@app.command("list")
def list_(
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table"),
    db: str | None = typer.Option(None, "--db", help=DB_OPTION_HELP),
) -> None:
    """List registered devices (passwords are not printed)."""
    devices = list_devices(open_engine(db))
    if as_json:
        typer.echo(
            json.dumps(
                [
                    {
                        "mn": d.mn,
                        "st": d.st,
                        "edition": d.edition,
                        "encoding": d.encoding,
                        "site": d.site_code,
                        "group": d.group,
                        "active": d.active,
                    }
                    for d in devices
                ],
                ensure_ascii=False,
                indent=2,
            )
        )
        return
    from rich.console import Console
    from rich.table import Table

    table = Table("MN", "ST", "edition", "encoding", "site", "group", "状态")
    for d in devices:
        table.add_row(
            d.mn,
            d.st,
            d.edition,
            d.encoding,
            d.site_code or "",
            d.group or "",
            "在用" if d.active else "停用",
        )
    Console().print(table)
