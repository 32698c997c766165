"""``qingshan serve``: run the HJ 212 gateway and the web application."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import typer

from qingshan.cli._db import DB_OPTION_HELP, fail, open_engine
from qingshan.settings import get_settings


def serve(
    db: str | None = typer.Option(None, "--db", help=DB_OPTION_HELP),
    hj212_port: int | None = typer.Option(
        None, "--hj212-port", help="HJ 212 TCP port (0 = any free port; default 9212)"
    ),
    http_port: int | None = typer.Option(
        None, "--http-port", help="HTTP port (0 = any free port; default 8000)"
    ),
    hj212_host: str | None = typer.Option(None, "--hj212-host", help="Address to listen on"),
    bus: str | None = typer.Option(
        None,
        "--bus",
        help="NATS servers nats://HOST:PORT[,nats://…]: publish accepted packets to JetStream "
        "(stored by `qingshan writer`) instead of writing them here",
    ),
    no_web: bool = typer.Option(
        False,
        "--no-web",
        help="gateway and background workers only: the HTTP port answers GET /healthz; "
        "serve the web app with `qingshan web`",
    ),
    reuse_port: bool = typer.Option(
        False,
        "--reuse-port",
        help="share the HJ 212 port with other `qingshan serve` processes on this host "
        "(SO_REUSEPORT)",
    ),
) -> None:
    """Run the gateway and the web app (pages, /api/v1/).

    Several processes may serve one database: exactly one of them (the leader, by a database
    lock) runs the forwarder, roll-ups, figures and alarm detection; another takes over
    within seconds when it dies. Prints `hj212_port=N` and `http_port=M` on stdout; stops on
    SIGTERM."""
    from qingshan.gateway.runner import print_ports
    from qingshan.gateway.runner import serve as run
    from qingshan.gateway.server import GatewayConfig

    s = get_settings(db_url=db, hj212_port=hj212_port, http_port=http_port, hj212_host=hj212_host)
    if reuse_port:
        s = s.model_copy(update={"hj212_reuse_port": True})
    logging.basicConfig(
        level=s.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("alembic").setLevel(logging.WARNING)
    for name, port in (("--hj212-port", s.hj212_port), ("--http-port", s.http_port)):
        if not 0 <= port <= 65535:
            raise fail(f"{name} {port} out of range 0-65535 (0 = any free port)", 2)
    bus_config = None
    if bus or s.bus_servers:
        from qingshan.gateway.bus import BusConfig

        try:
            bus_config = BusConfig.from_settings(s, bus)
        except ValueError as exc:
            raise fail(f"--bus: {exc}", 2) from None
    engine = open_engine(s.db_url)
    config = GatewayConfig.from_settings(s)
    # Reminders, escalations and deliveries (qingshan.services.scheduler): a thread beside the
    # event loop, so a slow SMTP server never delays an HJ 212 acknowledgement.
    jobs_thread = None
    if s.scheduler_enabled:
        from qingshan.cli.jobs import job_context
        from qingshan.services.job_kinds import JOB_HANDLERS
        from qingshan.services.scheduler import SchedulerThread

        try:
            jobs_thread = SchedulerThread(
                engine,
                lambda worker: job_context(s, worker),
                JOB_HANDLERS,
                interval=s.scheduler_interval,
                lease_seconds=s.scheduler_lease_seconds,
            )
        except (ValueError, ImportError, AttributeError) as exc:
            raise fail(f"通知发送设置有误：{exc}", 2) from None
    web = None
    if not no_web:
        from qingshan.gateway.web_process import WebProcess, bind_http_socket

        try:
            web = WebProcess(s, bind_http_socket(s.http_host, s.http_port))
        except OSError as exc:
            raise fail(f"cannot listen: {exc}", 2) from None
        # Before this process starts any thread: the web process is forked with the web
        # app already imported (the engine's connections stay the parent's).
        web.fork(in_child=lambda: engine.dispose(close=False))
    if jobs_thread is not None:
        jobs_thread.start()
    # Pollution-source alarms (qingshan.services.sources.alarms): detection over newly
    # arrived data every few seconds, beside the event loop like the scheduler; in the
    # leader only (two detectors would open every case twice).
    duties = []
    if s.source_alarm_interval > 0:
        from qingshan.services.sources.alarms import AlarmThread

        def alarms() -> Any:
            thread = AlarmThread(engine, s.source_alarm_interval)
            thread.start()
            return thread.stop

        duties.append(alarms)
    from qingshan.services.leadership import Leadership

    try:
        asyncio.run(
            run(
                engine,
                config,
                http_host=s.http_host,
                http_port=s.http_port,
                retention_days=s.raw_retention_days,
                ready=print_ports,
                web=web,
                bus=bus_config,
                leadership=Leadership(engine),
                leader_check_seconds=s.leader_check_seconds,
                duties=duties,
            )
        )
    except OSError as exc:  # port in use, address not available; the bus not reachable
        from qingshan.gateway.bus import BusUnreachable
        from qingshan.gateway.web_process import WebProcessFailed

        if isinstance(exc, BusUnreachable):
            raise fail(f"cannot reach the bus: {exc}", 2) from None
        if isinstance(exc, WebProcessFailed):
            raise fail(f"the web app did not start: {exc}", 2) from None
        raise fail(f"cannot listen: {exc}", 2) from None
    finally:
        if jobs_thread is not None:
            jobs_thread.stop()
