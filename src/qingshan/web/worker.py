"""The web application as an import string for ``qingshan web`` worker processes.

Each worker process (uvicorn starts them with the ``spawn`` method) builds its own engine and
application from the settings in its environment (``QINGSHAN_DB_URL`` …, set by
``qingshan web`` from its options). Workers share nothing but the database: sessions and API
tokens live there, and the cockpit's payload cache is revalidated against the database's data
version (:mod:`qingshan.services.data_version`), so any number of workers, on any number of
hosts, may serve one database.
"""

from __future__ import annotations

from typing import Any

from qingshan.settings import get_settings
from qingshan.storage.db import make_engine, session_factory
from qingshan.web.app import create_app
from qingshan.web.gateway_status import GatewayStatus


def app() -> Any:
    s = get_settings()
    # Run by `qingshan serve`: /healthz reports that gateway's counters, read from its socket.
    status = GatewayStatus(s.web_status_socket) if s.web_status_socket else None
    return create_app(s, session_factory(make_engine(s.db_url)), status=status)
