"""One device's packets awaiting their commit, over all its connections, stay under
``mn_in_flight``: a device (or whoever holds its password) flooding from many connections
cannot fill the queue that every device's acknowledgements wait in."""

from __future__ import annotations

import asyncio

from sqlalchemy import Engine

from hostile.harness import GOOD_MN, GOOD_PW, minute_packet, qnrtn, read_replies
from qingshan.gateway.server import Gateway, GatewayConfig
from qingshan.services.registry import add_device


def test_one_mn_never_has_more_than_its_share_in_flight(engine: Engine) -> None:
    add_device(engine, mn=GOOD_MN, pw=GOOD_PW, st="22")

    async def main() -> tuple[int, list[list[tuple[str, str | None]]]]:
        gw = Gateway(engine, GatewayConfig(mn_in_flight=8))
        await gw.start()
        peak = 0
        done = asyncio.Event()

        async def watch() -> None:
            nonlocal peak
            while not done.is_set():
                peak = max(peak, gw.mn_in_flight.get(GOOD_MN, 0))
                await asyncio.sleep(0)

        async def link(k: int) -> list[tuple[str, str | None]]:
            r, w = await asyncio.open_connection("127.0.0.1", gw.port)
            w.write(b"".join(minute_packet(k * 100 + i) for i in range(60)))
            replies, _ = await read_replies(r, timeout=30, want=60)
            w.close()
            return [qnrtn(p) for p in replies]

        watcher = asyncio.create_task(watch())
        try:
            got = await asyncio.gather(*[link(k) for k in range(4)])
        finally:
            done.set()
            await watcher
            await gw.stop()
        return peak, got

    peak, got = asyncio.run(main())
    # The cap, plus the first packet of each link (its MN is known only once decoded).
    assert 8 <= peak <= 8 + 4
    assert all(r == [("9014", None)] * 60 for r in got)  # every packet answered all the same
