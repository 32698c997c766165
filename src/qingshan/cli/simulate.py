"""``qingshan simulate``: an HJ 212 device simulator that drives any platform over TCP."""

from __future__ import annotations

import asyncio
import json
import sys

import typer
from rich.console import Console
from rich.table import Table

from qingshan.cli._db import fail
from qingshan.simulator.drive import EDITIONS, SimReport, SimulateError, make_devices, simulate
from qingshan.simulator.profiles import PROFILES, get_profile


def _table(report: SimReport) -> Table:
    t = Table(title=f"HJ 212 simulation → {report.target} (模拟数据)")
    t.add_column("item")
    t.add_column("value", justify="right")
    d = report.as_dict()
    for key in (
        "profile",
        "edition",
        "devices",
        "connected",
        "connect_failures",
        "reconnects",
        "sent",
        "acknowledged",
        "rejected",
        "unanswered",
        "bad_replies",
        "elapsed_s",
        "sent_per_s",
        "latency_p50_ms",
        "latency_p99_ms",
    ):
        v = d[key]
        t.add_row(key, "–" if v is None else str(v))
    for code, n in sorted(report.reject_codes.items()):
        t.add_row(f"rejected {code}", str(n))
    return t


def simulate_command(
    target: str = typer.Option(..., "--target", help="Platform address HOST:PORT"),
    devices: int = typer.Option(10, "--devices", min=1, max=20000, help="Simulated devices"),
    rate: float = typer.Option(10.0, "--rate", help="Packets per second, all devices together"),
    edition: str = typer.Option("2017", "--edition", help="HJ 212 edition: 2005, 2017, 2025"),
    profile: str = typer.Option(
        "flue-gas", "--profile", help=f"Device profile: {', '.join(PROFILES)}"
    ),
    duration: float = typer.Option(10.0, "--duration", help="Seconds of sending"),
    timeout: float = typer.Option(10.0, "--timeout", help="Seconds to wait for each reply"),
    mn_prefix: str = typer.Option("QS", "--mn-prefix", help="MN = prefix + zero-padded number"),
    pw: str = typer.Option("123456", "--pw", help="Access password of every device"),
    list_devices: bool = typer.Option(
        False, "--list-devices", help="Print the devices (mn,pw,st,edition CSV) and exit"
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON on stdout"),
) -> None:
    """Connect N simulated devices to an HJ 212 platform, send at R packets/s, check replies.

    Counts sent / acknowledged (9014, matching QN, valid CRC) / rejected (9011) / unanswered
    packets and the acknowledgement latency (p50, p99). Register the devices on the platform
    first (`--list-devices` prints them; for Qingshan: `qingshan device add`).
    """
    try:
        prof = get_profile(profile)
        if edition not in EDITIONS:
            raise SimulateError(f"edition {edition!r} unknown; use one of {', '.join(EDITIONS)}")
        devs = make_devices(devices, edition, mn_prefix, pw)
        if list_devices:
            sys.stdout.write("mn,pw,st,edition\n")
            for d in devs:
                sys.stdout.write(f"{d.mn},{d.pw},{prof.st},{edition}\n")
            return
        report = asyncio.run(
            simulate(
                target,
                prof,
                devices=devs,
                rate=rate,
                duration=duration,
                edition=edition,
                timeout=timeout,
            )
        )
    except (SimulateError, ValueError) as exc:
        raise fail(str(exc), 2) from None
    if as_json:
        sys.stdout.write(json.dumps(report.as_dict(), ensure_ascii=False) + "\n")
    else:
        Console().print(_table(report))
    if report.connected == 0:
        raise fail(f"no device could connect to {target}", 1)
