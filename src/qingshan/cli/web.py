"""``qingshan web``: the web application (pages, /api/v1/) in its own worker processes."""

from __future__ import annotations

import logging
import os
import socket
import sys

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
    from qingshan.web.worker import serve_socket

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
    serve_socket(s, sock, n, 0 if exit_on_stdin_eof else None)
