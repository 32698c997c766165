"""The demo's live devices: every sample-district device speaks HJ 212 to a gateway over TCP.

Each device holds its own connection, as a data acquisition unit (数采仪) does (opened when it
has its first packet to send, and again after the gateway closed an idle one), and sends

* CN 2011 real-time data (``Rtd``) every ``realtime_every`` seconds (stations, micro-stations,
  outlets, noise; no reply requested, as is usual for real-time data),
* CN 2051 minute data at every minute boundary, for the minute that just ended,
* CN 2061 hour data at every hour boundary (the water stations every 4 hours, as they sample),

minute and hour uploads with the reply bit set (a few devices never ask for replies). Values
continue the simulated history (模拟数据): the same generator, seed and calendar keys as the
backfill (:func:`qingshan.demo.synth.generate`, one hour at a time, computed in a worker thread
ahead of time), so live data joins the stored history smoothly. A device first uploads the
minutes and hours it "missed" since the end of the stored history (补发), then keeps time.

Field behaviour is imitated: the 2005/2017/2025 editions the district assigns per device
(2005 devices use the 2005 codes), occasional split packets (PNUM/PNO parts of one QN) and
packets written to the socket in two pieces, and occasional reconnects, after which packets
still unacknowledged are sent again with their QN (the platform recognises the repeat).
The scenario's offline device stays silent.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np
import numpy.typing as npt

from qingshan.clock import to_cst, utcnow
from qingshan.demo.district import District
from qingshan.demo.loader import MINUTE_KINDS, DemoDevice, decimals
from qingshan.demo.synth import HOUR, MINUTE, Scenario, SynthResult, generate
from qingshan.protocol.hj212 import Edition, build_packet, build_packets
from qingshan.simulator.client import Ack, DeviceClient

log = logging.getLogger(__name__)
WATER_KINDS = ("section", "source")
F64 = npt.NDArray[np.float64]


def bjt_now() -> datetime:
    """China Standard Time, naive (what devices stamp into DataTime)."""
    return to_cst(utcnow())


@dataclass
class LiveStats:
    connected: int = 0
    sent: int = 0
    acknowledged: int = 0
    # Sent without asking for a reply: real-time data (CN 2011; HJ 212 answers no real-time
    # packet) and the packets of loggers configured not to ask (Flag without the A bit).
    realtime_unanswered: int = 0
    no_reply_asked: int = 0
    rejected: int = 0
    resent: int = 0
    reconnects: int = 0
    split_packets: int = 0
    fragmented_writes: int = 0
    errors: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class _Out:
    qn: str
    parts: tuple[bytes, ...]  # one packet, or the PNUM/PNO parts of one split packet
    reply: bool
    realtime: bool = False  # CN 2011


class _HourData:
    """Generated values of one hour: minute values per (mn, code) and the hour's values."""

    def __init__(self, minute: SynthResult, hour: SynthResult) -> None:
        self.minute: dict[tuple[str, str], tuple[F64, npt.NDArray[np.str_], F64 | None]] = {
            (s.mn, s.pollutant): (s.value, s.flag, s.converted) for s in minute.series
        }
        self.hour: dict[tuple[str, str], tuple[float, str, float | None]] = {}
        # decimals as the generator rounded them (what the backfill stored, too)
        self.digits: dict[tuple[str, str, int], int] = {}
        for s in minute.series:
            self.digits[(s.mn, s.pollutant, MINUTE)] = decimals(s.value[s.received()])
            if s.converted is not None:
                ok = ~np.isnan(s.converted)
                self.digits[(s.mn, "Zs" + s.pollutant, MINUTE)] = decimals(s.converted[ok])
        for s in hour.series:
            if len(s.value) and not np.isnan(s.value[0]):
                zs = None if s.converted is None else float(s.converted[0])
                self.hour[(s.mn, s.pollutant)] = (float(s.value[0]), str(s.flag[0]), zs)
                self.digits[(s.mn, s.pollutant, HOUR)] = decimals(s.value[:1])
                if zs is not None and s.converted is not None:
                    self.digits[(s.mn, "Zs" + s.pollutant, HOUR)] = decimals(s.converted[:1])


def _fmt(v: float, digits: int) -> str:
    return f"{v:.{digits}f}"


class LiveFleet:
    """All live devices of the district; :meth:`run` until ``stop`` is set."""

    def __init__(
        self,
        host: str,
        port: int,
        district: District,
        devices: Sequence[DemoDevice],
        *,
        history_end: datetime,
        seed: int,
        realtime_every: float = 30.0,
        reconnect_per_hour: float = 2.0,
        split_share: float = 0.1,
        rng_seed: int = 5,
    ) -> None:
        self.host, self.port = host, port
        self.district = district
        self.seed = seed
        self.history_end = history_end
        self.realtime_every = realtime_every
        # checked about once a second per device (idle) or per packet sent
        self.reconnect_p = min(1.0, reconnect_per_hour / 3600.0)
        self.split_share = split_share  # share of outlet hour packets sent as PNUM/PNO parts
        self.rng = random.Random(rng_seed)
        offline = Scenario().offline
        self.devices = [d for d in devices if d.label != offline]
        self.stats = LiveStats()
        self._hours: dict[datetime, asyncio.Task[_HourData]] = {}
        self._queues: dict[str, asyncio.Queue[_Out]] = {d.mn: asyncio.Queue() for d in self.devices}
        self._seq: dict[str, int] = {d.mn: 0 for d in self.devices}
        self._codes_2005 = {p.code: p.code_2005 for p in district.pollutants.values()}

    # ------------------------------------------------------------------ values

    def _generate(self, hour: datetime) -> _HourData:
        end = hour + timedelta(hours=1)
        # anchor = the end of the window: the offline device stays off, the frozen one frozen
        m = generate(
            self.district, hour, end, step=MINUTE, seed=self.seed, anchor=end, kinds=MINUTE_KINDS
        )
        h = generate(self.district, hour, end, step=HOUR, seed=self.seed, anchor=end)
        return _HourData(m, h)

    async def _hour(self, hour: datetime) -> _HourData:
        task = self._hours.get(hour)
        if task is None:
            task = asyncio.ensure_future(asyncio.to_thread(self._generate, hour))
            self._hours[hour] = task
            for old in [k for k in self._hours if k < hour - timedelta(hours=2)]:
                del self._hours[old]
        return await task

    # ------------------------------------------------------------------ packets

    def _qn(self, dev: DemoDevice) -> str:
        self._seq[dev.mn] += 1
        now = bjt_now()
        return f"{now:%Y%m%d%H%M%S}{self._seq[dev.mn] % 1000:03d}"

    def _cp(self, dev: DemoDevice, when: datetime, fields: dict[str, dict[str, str]]) -> str:
        groups = [f"DataTime={when:%Y%m%d%H%M%S}"]
        for code, f in fields.items():
            out = code
            if dev.edition == "2005":
                old = self._codes_2005.get(code)
                if old is None:
                    continue  # the 2005 code table has no code for it: the logger cannot send it
                out = old
                f = {k: v for k, v in f.items() if not k.startswith("Zs")}
            groups.append(",".join(f"{out}-{k}={v}" for k, v in f.items()))
        return ";".join(groups)

    def _packet(
        self,
        dev: DemoDevice,
        cn: str,
        when: datetime,
        fields: dict[str, dict[str, str]],
        *,
        split_ok: bool,
    ) -> _Out:
        qn = self._qn(dev)
        reply = cn != "2011" and not dev.label.endswith("5")  # a few loggers never ask
        cp = self._cp(dev, when, fields)
        ed = Edition(dev.edition)
        if split_ok and self.rng.random() < self.split_share:
            parts = build_packets(
                st=dev.st,
                cn=cn,
                pw=dev.pw,
                mn=dev.mn,
                cp=cp,
                qn=qn,
                edition=ed,
                needs_reply=reply,
                max_segment=220,
            )
            if len(parts) > 1:
                self.stats.split_packets += 1
            return _Out(qn, tuple(parts), reply, cn == "2011")
        # A 2005 logger with a 24-character MN states Flag (bits 2-7 = 0 = 2005) even when it
        # wants no reply: the gateway reads it per the registered edition anyway, but the bytes
        # then also parse as 2005 where the device is not registered (hj212 check, archives).
        flag = int(reply) if ed is Edition.V2005 else None
        raw = build_packet(
            st=dev.st,
            cn=cn,
            pw=dev.pw,
            mn=dev.mn,
            cp=cp,
            qn=qn,
            edition=ed,
            needs_reply=reply,
            flag=flag,
        )
        return _Out(qn, (raw,), reply, cn == "2011")

    def _minute_fields(
        self, dev: DemoDevice, data: _HourData, minute: int, suffix: str
    ) -> dict[str, dict[str, str]]:
        out: dict[str, dict[str, str]] = {}
        for code in dev.codes:
            got = data.minute.get((dev.mn, code))
            if got is None:
                continue
            v, flags, conv = got
            if minute >= len(v) or np.isnan(v[minute]):
                continue
            f = {suffix: _fmt(float(v[minute]), data.digits[(dev.mn, code, MINUTE)])}
            if conv is not None and not np.isnan(conv[minute]):
                zd = data.digits[(dev.mn, "Zs" + code, MINUTE)]
                f["Zs" + suffix] = _fmt(float(conv[minute]), zd)
            f["Flag"] = str(flags[minute]) or "N"
            out[code] = f
        return out

    def _hour_fields(self, dev: DemoDevice, data: _HourData) -> dict[str, dict[str, str]]:
        out: dict[str, dict[str, str]] = {}
        for code in dev.codes:
            got = data.hour.get((dev.mn, code))
            if got is None:
                continue
            value, flag, zs = got
            d = data.digits[(dev.mn, code, HOUR)]
            f: dict[str, str] = {}
            mins = data.minute.get((dev.mn, code))
            seen = mins is not None and not np.all(np.isnan(mins[0]))
            if mins is not None and seen:
                f["Min"] = _fmt(float(np.nanmin(mins[0])), data.digits[(dev.mn, code, MINUTE)])
            f["Avg"] = _fmt(value, d)
            if mins is not None and seen:
                f["Max"] = _fmt(float(np.nanmax(mins[0])), data.digits[(dev.mn, code, MINUTE)])
            if zs is not None and not np.isnan(zs):
                f["ZsAvg"] = _fmt(zs, data.digits[(dev.mn, "Zs" + code, HOUR)])
            f["Flag"] = flag or "N"
            out[code] = f
        return out

    async def _enqueue_minute(self, minute: datetime) -> None:
        hour = minute.replace(minute=0)
        data = await self._hour(hour)
        for dev in self.devices:
            if dev.kind not in MINUTE_KINDS:
                continue
            fields = self._minute_fields(dev, data, minute.minute, "Avg")
            if fields:
                self._queues[dev.mn].put_nowait(
                    self._packet(dev, "2051", minute, fields, split_ok=False)
                )

    async def _enqueue_hour(self, hour: datetime) -> None:
        data = await self._hour(hour)
        for dev in self.devices:
            if dev.kind in WATER_KINDS and hour.hour % 4:
                continue
            fields = self._hour_fields(dev, data)
            if fields:
                self._queues[dev.mn].put_nowait(
                    self._packet(dev, "2061", hour, fields, split_ok=dev.kind == "outlet")
                )

    async def _enqueue_realtime(self, now: datetime) -> None:
        data = await self._hour(now.replace(minute=0, second=0, microsecond=0))
        for dev in self.devices:
            if dev.kind not in MINUTE_KINDS:
                continue
            fields = self._minute_fields(dev, data, now.minute, "Rtd")
            if fields:
                self._queues[dev.mn].put_nowait(
                    self._packet(dev, "2011", now.replace(microsecond=0), fields, split_ok=False)
                )

    # ------------------------------------------------------------------ sockets

    async def _write(self, client: DeviceClient, out: _Out) -> list[asyncio.Future[Ack]]:
        futs: list[asyncio.Future[Ack]] = []
        for raw in out.parts:
            if self.rng.random() < 0.03 and len(raw) > 20:  # one packet in two TCP segments
                cut = self.rng.randrange(10, len(raw) - 5)
                await client.send(raw[:cut])
                await asyncio.sleep(0.05)
                fut = await client.send(raw[cut:], out.qn if out.reply else None)
                self.stats.fragmented_writes += 1
            else:
                fut = await client.send(raw, out.qn if out.reply else None)
            self.stats.sent += 1
            if out.realtime:
                self.stats.realtime_unanswered += 1
            elif not out.reply:
                self.stats.no_reply_asked += 1
            if fut is not None:
                futs.append(fut)
        return futs

    async def _device(self, dev: DemoDevice, stop: asyncio.Event) -> None:
        queue = self._queues[dev.mn]
        unacked: list[_Out] = []
        client: DeviceClient | None = None
        pending: _Out | None = None
        while not stop.is_set():
            if pending is None:
                try:
                    pending = await asyncio.wait_for(queue.get(), 1.0)
                except TimeoutError:
                    if client is not None and self.rng.random() < self.reconnect_p:
                        await self._reconnect(client)
                    continue
            # Connect when there is something to send: a device whose next record is hours
            # away does not sit on a connection that has sent nothing (the gateway closes
            # those after hj212_unauth_idle_timeout, as it should).
            if client is None or client.closed.is_set():
                if client is not None:
                    await client.close()
                client = DeviceClient(self.host, self.port)
                try:
                    await client.connect(timeout=5.0)
                except (OSError, TimeoutError):
                    client = None
                    await asyncio.sleep(2.0)
                    continue
                self.stats.connected += 1
                for old in list(unacked):  # resend what the platform never acknowledged
                    self.stats.resent += 1
                    try:
                        await self._send_and_check(client, old, unacked, resend=True)
                    except (ConnectionError, OSError):
                        break  # the new link dropped too: try again on the next one
            out, pending = pending, None
            try:
                await self._send_and_check(client, out, unacked, resend=False)
            except (ConnectionError, OSError):
                if out.reply and out not in unacked:
                    unacked.append(out)
            if self.rng.random() < self.reconnect_p:
                await self._reconnect(client)
        if client is not None:
            await client.close()

    async def _reconnect(self, client: DeviceClient) -> None:
        self.stats.reconnects += 1
        await client.close()
        await asyncio.sleep(self.rng.uniform(1.0, 4.0))

    async def _send_and_check(
        self, client: DeviceClient, out: _Out, unacked: list[_Out], *, resend: bool
    ) -> None:
        futs = await self._write(client, out)
        if not futs:
            return
        if not resend:
            unacked.append(out)
        ok = True
        for fut in futs:
            try:
                ack = await asyncio.wait_for(fut, 10.0)
            except (TimeoutError, ConnectionError):
                ok = False
                continue
            if ack.reply.cn == "9014":
                self.stats.acknowledged += 1
            else:
                ok = False
                self.stats.rejected += 1
                self.stats.errors.append(f"QN {out.qn}: reply CN {ack.reply.cn}")
        refused = not ok and ack_rejected(futs)  # e.g. wrong password: resending won't help
        if (ok or refused) and out in unacked:
            unacked.remove(out)

    # ------------------------------------------------------------------ clock

    async def run(self, stop: asyncio.Event) -> None:
        start = bjt_now()
        cur_minute = start.replace(second=0, microsecond=0)
        # catch up (补发) from the end of the stored history to the current minute
        t = self.history_end
        hour = self.history_end
        tasks = [asyncio.create_task(self._device(d, stop)) for d in self.devices]
        try:
            while hour + timedelta(hours=1) <= cur_minute:
                await self._enqueue_hour(hour)
                hour += timedelta(hours=1)
            while t < cur_minute:
                await self._enqueue_minute(t)
                t += timedelta(minutes=1)
            next_rt = 0.0
            loop = asyncio.get_running_loop()
            while not stop.is_set():
                now = bjt_now()
                if loop.time() >= next_rt:
                    await self._enqueue_realtime(now)
                    next_rt = loop.time() + self.realtime_every
                m = now.replace(second=0, microsecond=0)
                while t < m:
                    await self._enqueue_minute(t)
                    t += timedelta(minutes=1)
                while hour + timedelta(hours=1) <= m:
                    await self._enqueue_hour(hour)
                    hour += timedelta(hours=1)
                nxt = m.replace(minute=0) + timedelta(hours=1)
                if now.minute == 59 and nxt not in self._hours:  # compute the next hour ahead
                    self._hours[nxt] = asyncio.ensure_future(asyncio.to_thread(self._generate, nxt))
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), 0.5)
        finally:
            stop.set()
            await asyncio.gather(*tasks, return_exceptions=True)


def ack_rejected(futs: Sequence[asyncio.Future[Ack]]) -> bool:
    """Whether the platform answered (any reply) but did not acknowledge."""
    return any(
        f.done() and not f.cancelled() and f.exception() is None and f.result().reply.cn != "9014"
        for f in futs
    )
