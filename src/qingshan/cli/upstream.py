"""``qingshan upstream add``: forward a device group's data to an upstream platform."""

from __future__ import annotations

import typer

from qingshan.cli._db import DB_OPTION_HELP, fail, open_engine
from qingshan.services.registry import RegistryError, add_upstream

app = typer.Typer(
    help="Upstream platforms that receive forwarded HJ 212 data.", no_args_is_help=True
)


@app.command("add")
def add(
    name: str = typer.Option(..., "--name", help="A name for the upstream, e.g. 省平台"),
    host: str = typer.Option(..., "--host", help="Upstream HJ 212 host"),
    port: int = typer.Option(..., "--port", help="Upstream HJ 212 TCP port"),
    group: str = typer.Option(..., "--group", help="Device group whose packets are forwarded"),
    db: str | None = typer.Option(None, "--db", help=DB_OPTION_HELP),
) -> None:
    """Forward every accepted packet of GROUP's devices to HOST:PORT (store-and-forward)."""
    try:
        add_upstream(open_engine(db), name=name, host=host, port=port, group=group)
    except RegistryError as exc:
        raise fail(str(exc)) from None
    typer.echo(f"upstream {name} ({host}:{port}) receives group {group}", err=True)
