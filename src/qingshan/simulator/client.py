"""Simulated HJ 212 devices (asyncio): used by ``qingshan simulate``, the demo, tests, benchmarks.

A :class:`DeviceClient` holds one TCP connection like a data acquisition unit: it sends packets
and matches the platform's replies (9014 / 9011) to them by QN, so the caller can await the
acknowledgement of each packet and measure its latency. Re-sending unacknowledged packets after
a reconnect is the caller's decision (as on a real device).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from qingshan.protocol.hj212 import (
    Edition,
    Frame,
    Framer,
    Packet,
    ProtocolError,
    build_packet,
    parse_frame,
)


@dataclass(frozen=True, slots=True)
class Ack:
    reply: Packet
    latency: float  # seconds from send to reply


def make_qn(when: datetime, seq: int) -> str:
    """A 17-digit QN (YYYYMMDDhhmmsszzz) unique per device for ``seq`` < 1000 per second."""
    return when.strftime("%Y%m%d%H%M%S") + f"{seq % 1000:03d}"


def data_packet(
    *,
    mn: str,
    pw: str,
    st: str,
    cn: str,
    when: datetime,
    values: Mapping[str, Mapping[str, str]],
    qn: str,
    reply: bool = True,
    edition: Edition = Edition.V2017,
    rf: bool = False,
) -> bytes:
    """An upload packet; ``values`` maps code → {suffix: text}, e.g. {"a21026": {"Avg": "1.2"}}."""
    # One group per code, its fields joined by "," (HJ 212 CP layout).
    groups = [f"DataTime={when:%Y%m%d%H%M%S}"]
    groups += [
        ",".join(f"{code}-{k}={v}" for k, v in fields.items()) for code, fields in values.items()
    ]
    cp = ";".join(groups)
    packet: bytes = build_packet(
        st=st, cn=cn, pw=pw, mn=mn, cp=cp, qn=qn, edition=edition, needs_reply=reply, rf=rf
    )
    return packet


class DeviceClient:
    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self._waiting: dict[str, list[tuple[float, asyncio.Future[Ack]]]] = {}
        self._task: asyncio.Task[None] | None = None
        self.replies: list[Packet] = []
        self.bad_replies = 0  # frames from the platform that fail framing, CRC or parsing
        self.closed = asyncio.Event()

    async def connect(self, timeout: float = 10.0) -> DeviceClient:
        self.reader, self.writer = await asyncio.wait_for(
            asyncio.open_connection(self.host, self.port), timeout
        )
        self.closed.clear()
        self._task = asyncio.create_task(self._read())
        return self

    async def send(self, raw: bytes, qn: str | None = None) -> asyncio.Future[Ack] | None:
        """Send ``raw``; with ``qn``, returns a future resolved by the reply carrying that QN."""
        assert self.writer is not None
        fut: asyncio.Future[Ack] | None = None
        if qn is not None:
            fut = asyncio.get_running_loop().create_future()
            self._waiting.setdefault(qn, []).append((time.perf_counter(), fut))
        self.writer.write(raw)
        await self.writer.drain()
        return fut

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            with contextlib.suppress(Exception):
                await self.writer.wait_closed()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        self._fail_all(ConnectionError("closed"))

    def _fail_all(self, exc: Exception) -> None:
        for waiters in self._waiting.values():
            for _, fut in waiters:
                if not fut.done():
                    fut.set_exception(exc)
                    fut.exception()  # mark retrieved: callers may not await every future
        self._waiting.clear()

    async def _read(self) -> None:
        assert self.reader is not None
        framer = Framer()
        try:
            while True:
                data = await self.reader.read(65536)
                if not data:
                    break
                for ev in framer.feed(data):
                    if not isinstance(ev, Frame):
                        self.bad_replies += 1
                        continue
                    try:
                        pkt = parse_frame(ev, lenient=True)
                    except ProtocolError:  # bad CRC, bad header: not an acknowledgement
                        self.bad_replies += 1
                        continue
                    self.replies.append(pkt)
                    qn = pkt.qn or pkt.cp.params.get("QN")
                    waiters = self._waiting.get(qn or "")
                    if waiters:
                        sent, fut = waiters.pop(0)
                        if not waiters:
                            del self._waiting[qn or ""]
                        if not fut.done():
                            fut.set_result(Ack(pkt, time.perf_counter() - sent))
        except (ConnectionError, OSError):
            pass
        finally:
            self.closed.set()
            self._fail_all(ConnectionError("connection closed by the platform"))
