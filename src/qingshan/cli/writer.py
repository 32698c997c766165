"""``qingshan writer``: store the packets the bus gateways published (NATS JetStream)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys

import typer

from qingshan.cli._db import DB_OPTION_HELP, fail, open_engine
from qingshan.settings import get_settings


def writer_command(
    bus: str | None = typer.Option(
        None, "--bus", help="NATS servers nats://HOST:PORT[,nats://…] (default: bus_servers)"
    ),
    db: str | None = typer.Option(None, "--db", help=DB_OPTION_HELP),
    durable: str = typer.Option(
        "qingshan-writer",
        "--durable",
        help="durable consumer name; writers with the same name share the work",
    ),
    batch: int | None = typer.Option(
        None, "--batch", min=1, help="messages fetched and committed at once (default bus_batch)"
    ),
) -> None:
    """Consume the HJ 212 stream and write it to the database (idempotent, explicit acks).

    Run as many as needed with the same --durable. Prints `writer_ready=1` once consuming;
    stops on SIGTERM after committing and acknowledging the batch in hand."""
    from qingshan.gateway.bus import BusConfig, Writer

    s = get_settings(db_url=db)
    logging.basicConfig(
        level=s.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        cfg = BusConfig.from_settings(s, bus)
    except ValueError as exc:
        raise fail(f"--bus: {exc}", 2) from None
    if batch is not None:
        from dataclasses import replace

        cfg = replace(cfg, batch=batch)
    engine = open_engine(s.db_url)

    async def main() -> None:
        w = Writer(engine, cfg, durable=durable)
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, w.stop)
        ready = asyncio.Event()
        task = asyncio.create_task(w.run(ready))
        waiter = asyncio.create_task(ready.wait())
        await asyncio.wait({task, waiter}, return_when=asyncio.FIRST_COMPLETED)
        if ready.is_set():
            sys.stdout.write("writer_ready=1\n")
            sys.stdout.flush()
        waiter.cancel()
        await task
        logging.getLogger("qingshan.bus").info(
            "writer stopped: %d messages, %d stored, %d duplicates",
            w.stats.messages,
            w.stats.stored,
            w.stats.duplicates,
        )

    try:
        asyncio.run(main())
    except OSError as exc:
        raise fail(f"cannot reach the bus: {exc}", 2) from None
