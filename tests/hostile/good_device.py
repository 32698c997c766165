"""The good device's loop, run as its own process by :class:`hostile.harness.GoodDevice`.

``python good_device.py PORT INTERVAL``: connects to 127.0.0.1:PORT, sends a minute packet
with the reply bit every INTERVAL s and waits for each answer (at most 5 s); on SIGTERM it
prints JSON ``{"latencies": [...], "acked": [...], "unanswered": n, "error": text}``. In its
own process, the attackers' CPU work in the test process never counts as its latency.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import sys
from datetime import datetime, timedelta

from qingshan.simulator.client import DeviceClient, data_packet, make_qn

GOOD_MN = "010000A8900016F000169G00"
GOOD_PW = "123456"
T0 = datetime(2026, 3, 1, 8, 0)


def qn(i: int) -> str:
    return make_qn(T0 + timedelta(minutes=i), i % 1000)


def packet(i: int) -> bytes:
    when = T0 + timedelta(minutes=i)
    return data_packet(
        mn=GOOD_MN,
        pw=GOOD_PW,
        st="22",
        cn="2051",
        when=when,
        qn=qn(i),
        values={"a21026": {"Avg": f"{10 + i % 7}.5", "Flag": "N"}},
    )


async def run(port: int, interval: float) -> dict[str, object]:
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    out: dict[str, object] = {"latencies": [], "acked": [], "unanswered": 0, "error": None}
    latencies: list[float] = out["latencies"]  # type: ignore[assignment]
    acked: list[str] = out["acked"]  # type: ignore[assignment]
    dev = await DeviceClient("127.0.0.1", port).connect()
    print("ready", flush=True)
    i = 0
    try:
        while not stop.is_set():
            fut = await dev.send(packet(i), qn(i))
            assert fut is not None
            try:
                ack = await asyncio.wait_for(fut, 5.0)
            except (TimeoutError, ConnectionError) as exc:
                out["unanswered"] = 1
                out["error"] = f"packet {i}: {type(exc).__name__} {exc}"
                break
            if ack.reply.cn == "9014":
                latencies.append(ack.latency)
                acked.append(qn(i))
            i += 1
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), interval)
    finally:
        await dev.close()
    await stop.wait()
    return out


if __name__ == "__main__":
    result = asyncio.run(run(int(sys.argv[1]), float(sys.argv[2])))
    print(json.dumps(result), flush=True)
