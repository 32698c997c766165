"""The web application as an import string for ``qingshan web`` worker processes.

Each worker process (uvicorn starts them with the ``spawn`` method) builds its own engine and
application from the settings in its environment (``QINGSHAN_DB_URL`` …, set by
``qingshan web`` from its options). Workers share nothing but the database: sessions and API
tokens live there, and the cockpit's payload cache is revalidated against the database's data
version (:mod:`qingshan.services.data_version`), so any number of workers, on any number of
hosts, may serve one database.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import threading
from typing import Any

from qingshan.settings import Settings, get_settings
from qingshan.storage.db import make_engine, session_factory
from qingshan.web.app import create_app
from qingshan.web.gateway_status import GatewayStatus


def app() -> Any:
    s = get_settings()
    # Run by `qingshan serve`: /healthz reports that gateway's counters, read from its socket.
    status = GatewayStatus(s.web_status_socket) if s.web_status_socket else None
    return create_app(s, session_factory(make_engine(s.db_url)), status=status)


def serve_socket(
    s: Settings, sock: socket.socket, workers: int, parent_fd: int | None = None
) -> None:
    """Serve the web app on ``sock`` (bound and listening) until SIGTERM: in this process, or
    as a supervisor of ``workers`` worker processes sharing the socket. ``parent_fd``: the
    read end of a pipe whose writer is the parent (``qingshan serve``); when the parent ends,
    however it ends, the pipe closes and this stops as on SIGTERM (requests under way finish).
    """
    import uvicorn
    from uvicorn.supervisors import Multiprocess

    if parent_fd is not None:

        def watch() -> None:
            with contextlib.suppress(OSError):
                while os.read(parent_fd, 4096):
                    pass
            os.kill(os.getpid(), signal.SIGTERM)

        threading.Thread(target=watch, name="parent-watch", daemon=True).start()
    config = uvicorn.Config(
        "qingshan.web.worker:app",
        factory=True,
        workers=workers,
        log_level="warning",
        access_log=False,
        proxy_headers=True,
        forwarded_allow_ips=s.web_forwarded_allow_ips,
        lifespan="off",
        # A worker that does not answer the supervisor's ping in time is killed and replaced;
        # a spawned worker's imports alone take longer than uvicorn's 5 s on a busy host.
        timeout_worker_healthcheck=60,
    )
    if workers == 1:
        uvicorn.Server(config).run(sockets=[sock])
    else:
        Multiprocess(config, sockets=[sock]).run()
