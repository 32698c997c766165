"""Entry point of the ``qingshan`` console script: assembles the command groups."""

from __future__ import annotations

import typer

from qingshan import __version__
from qingshan.cli import air as air_cli
from qingshan.cli import calendar as calendar_cli
from qingshan.cli import (
    case,
    data,
    demo,
    device,
    enterprise,
    gateway,
    hj212,
    ingest,
    jobs,
    plan,
    quality,
    region,
    registry,
    report,
    serve,
    simulate,
    site,
    source,
    storage,
    unit,
    upstream,
    user,
    web,
    writer,
)
from qingshan.cli import map as map_cli
from qingshan.cli import water as water_cli

app = typer.Typer(
    name="qingshan",
    help="青山 Qingshan: ecological-environment protection platform.",
    no_args_is_help=True,
    add_completion=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"qingshan {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version."
    ),
) -> None:
    """青山 Qingshan: ecological-environment protection platform."""


app.command("aqi")(air_cli.aqi_command)
app.add_typer(air_cli.app, name="air")
app.add_typer(hj212.app, name="hj212")
app.add_typer(water_cli.app, name="water")
app.command("init")(storage.init)
app.command("ingest-file")(ingest.ingest_file)
app.command("serve")(serve.serve)
app.command("web")(web.web)
app.add_typer(data.app, name="data")
app.add_typer(device.app, name="device")
app.add_typer(region.app, name="region")
app.add_typer(map_cli.app, name="map")
app.add_typer(unit.app, name="unit")
app.add_typer(enterprise.app, name="enterprise")
app.add_typer(site.app, name="site")
app.add_typer(source.app, name="source")
app.add_typer(registry.app, name="registry")
app.add_typer(registry.deployment_app, name="deployment")
app.add_typer(upstream.app, name="upstream")
app.add_typer(gateway.app, name="gateway")
app.add_typer(user.app, name="user")
app.add_typer(quality.app, name="quality")
app.add_typer(report.app, name="report")
app.command("simulate")(simulate.simulate_command)
app.command("demo")(demo.demo_command)
app.add_typer(jobs.app, name="jobs")
app.add_typer(calendar_cli.app, name="calendar")
app.add_typer(plan.app, name="plan")
app.add_typer(case.app, name="case")
app.command("writer")(writer.writer_command)


def main() -> None:
    app()


if __name__ == "__main__":  # `python -m qingshan.cli.main`: how serve starts its web process
    main()
