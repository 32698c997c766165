"""The gateway's counters for the web app's ``/healthz`` when the two run in separate
processes: ``qingshan serve`` answers them on a Unix socket in a private directory
(:mod:`qingshan.gateway.web_process`) and names it in ``QINGSHAN_WEB_STATUS_SOCKET``."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

#: What the web app is given to report the gateway's health: a function (the gateway in the
#: same process, as in tests) or a coroutine function (:class:`GatewayStatus`).
GatewayStatusSource = Callable[[], dict[str, Any] | Awaitable[dict[str, Any]]]

#: What ``/healthz`` says while the gateway process does not answer.
UNREACHABLE: dict[str, Any] = {"status": "degraded", "gateway": "unreachable"}


class GatewayStatus:
    """Reads the status from the gateway's socket at each call: a local round trip of about
    a millisecond, and a cached answer would show counters from before the caller's packets."""

    def __init__(self, path: str, *, timeout: float = 2.0) -> None:
        self.path = path
        self.timeout = timeout

    async def __call__(self) -> dict[str, Any]:
        try:
            return await self._read()
        except (OSError, TimeoutError, ValueError):
            return dict(UNREACHABLE)

    async def _read(self) -> dict[str, Any]:
        reader, writer = await asyncio.wait_for(
            asyncio.open_unix_connection(self.path), self.timeout
        )
        try:
            writer.write(b"GET /healthz HTTP/1.0\r\n\r\n")
            await writer.drain()
            answer = await asyncio.wait_for(reader.read(), self.timeout)
        finally:
            writer.close()
        head, _, body = answer.partition(b"\r\n\r\n")
        if not head.startswith(b"HTTP/1.1 200"):
            raise ValueError(head[:60].decode("latin-1"))
        data = json.loads(body)
        if not isinstance(data, dict):
            raise ValueError("not a JSON object")
        return data
