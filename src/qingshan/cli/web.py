"""``qingshan web``: the web application (pages, /api/v1/) in its own worker processes."""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import sys
import threading

import typer

from qingshan.cli._db import DB_OPTION_HELP, fail, open_engine
from qingshan.settings import get_settings


def web(
    db: str | None = typer.Option(None, "--db", help=DB_OPTION_HELP),
    http_port: int | None = typer.Option(
        None, "--http-port", help="HTTP port (0 = any free port; default 8000)"
    ),
    http_host: str | None = typer.Option(None, "--http-host", help="Address to listen on"),
    workers: int | None = typer.Option(
        None, "--workers", min=1, max=64, help="worker processes (default 1)"
    ),
    socket_fd: int | None = typer.Option(
        None, "--socket-fd", hidden=True, help="serve on this inherited listening socket"
    ),
    exit_on_stdin_eof: bool = typer.Option(
        False, "--exit-on-stdin-eof", hidden=True, help="stop when standard input closes"
    ),
) -> None:
    """Serve the web app without the gateway, in WORKERS processes sharing one socket.

    Safe to run several times, on one host (the port is opened with SO_REUSEPORT: a second
    `qingshan web` on the same port shares it) or on several hosts behind a proxy. Run the
    gateway with `qingshan serve --no-web`. Prints `http_port=M` on stdout; stops on SIGTERM."""
    import uvicorn
    from uvicorn.supervisors import Multiprocess

    overrides = {"db_url": db, "http_port": http_port, "http_host": http_host}
    s = get_settings(**{k: v for k, v in overrides.items() if v is not None})
    n = workers or s.web_workers
    if not 0 <= s.http_port <= 65535:
        raise fail(f"--http-port {s.http_port} out of range 0-65535 (0 = any free port)", 2)
    logging.basicConfig(
        level=s.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    if socket_fd is None:  # (as serve's web process: serve checked the database already)
        open_engine(s.db_url).dispose()  # fail here, once, if the database is not ready
    os.environ["QINGSHAN_DB_URL"] = s.db_url  # the workers read their settings from here
    if socket_fd is not None:
        # `qingshan serve` bound it and runs this as its web process (gateway.web_process).
        sock = socket.socket(fileno=socket_fd)
    else:
        family = socket.AF_INET6 if ":" in s.http_host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # see web_process
        try:
            sock.bind((s.http_host, s.http_port))
        except OSError as exc:
            sock.close()
            raise fail(f"cannot listen: {exc}", 2) from None
        sock.listen(512)
    sys.stdout.write(f"http_port={sock.getsockname()[1]}\n")
    sys.stdout.flush()
    if exit_on_stdin_eof:
        # The parent holds the other end: when it ends (even by kill -9) this process stops
        # as on SIGTERM (uvicorn finishes the requests under way).
        def watch() -> None:
            with contextlib.suppress(OSError, ValueError):
                while sys.stdin.buffer.read(4096):
                    pass
            os.kill(os.getpid(), signal.SIGTERM)

        threading.Thread(target=watch, name="parent-watch", daemon=True).start()
    config = uvicorn.Config(
        "qingshan.web.worker:app",
        factory=True,
        workers=n,
        log_level="warning",
        access_log=False,
        proxy_headers=True,
        forwarded_allow_ips=s.web_forwarded_allow_ips,
        lifespan="off",
        # A worker that does not answer the supervisor's ping in time is killed and replaced;
        # a spawned worker's imports alone take longer than uvicorn's 5 s on a busy host.
        timeout_worker_healthcheck=60,
    )
    server = uvicorn.Server(config)
    if n == 1:
        server.run(sockets=[sock])
    else:
        Multiprocess(config, sockets=[sock]).run()
