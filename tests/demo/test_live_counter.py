"""The demo's live counter says that real-time packets (CN 2011) get no reply, so "sent"
minus "acknowledged" is not read as loss; the fleet counts them as it sends."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from qingshan.cli.demo import live_line
from qingshan.clock import to_cst, utcnow
from qingshan.demo import loader as dl
from qingshan.demo.district import load_district
from qingshan.simulator.live import LiveFleet, LiveStats


class _Client:
    """Stands in for a device's socket: takes bytes, returns no acknowledgement future."""

    async def send(self, raw: bytes, qn: str | None = None) -> None:
        return None


def test_live_line_names_the_unanswered_realtime_packets() -> None:
    line = live_line(
        LiveStats(sent=120, acknowledged=80, realtime_unanswered=30, no_reply_asked=10)
    )
    assert "120 packets sent, 80 acknowledged" in line
    assert "30 real-time (2011, get no reply)" in line
    assert "10 sent without asking for a reply" in line


def test_fleet_counts_realtime_packets_apart() -> None:
    d = load_district()
    plan = dl.device_plan(d)[:3]
    now = to_cst(utcnow()).replace(microsecond=0)
    fleet = LiveFleet("127.0.0.1", 1, d, plan, history_end=now - timedelta(hours=1), seed=7)
    dev = next(x for x in fleet.devices if not x.label.endswith("5"))
    fields = {"a34004": {"Rtd": "35"}}
    realtime = fleet._packet(dev, "2011", now, fields, split_ok=False)
    hourly = fleet._packet(dev, "2061", now, fields, split_ok=False)
    assert realtime.realtime and not realtime.reply
    assert hourly.reply and not hourly.realtime

    async def write() -> None:
        for out in (realtime, realtime, hourly):
            await fleet._write(_Client(), out)  # type: ignore[arg-type]

    asyncio.run(write())
    assert (fleet.stats.sent, fleet.stats.realtime_unanswered, fleet.stats.no_reply_asked) == (
        3,
        2,
        0,
    )
    assert "2 real-time (2011, get no reply)" in live_line(fleet.stats)
