"""Scale-out through NATS JetStream: stateless gateways publish, writers store.

Optional (``qingshan serve --bus nats://…``); without it the gateway writes to the database
itself (:mod:`qingshan.gateway.commit`), unchanged.

**Gateway side** (:class:`BusCommitQueue`, a :class:`~qingshan.gateway.commit.CommitQueue`
the gateway uses in place of the database one): a packet that passed the access check on the
cached device directory is checked as the ingestion would check it
(:meth:`~qingshan.services.ingest.Ingestor.precheck`: codes, DataTime window, values) and
published to the stream; its callback gets ``stored`` (or ``duplicate``) only once the stream
acknowledged the publish (with R3, once a majority of the nodes holds it), so the gateway
answers 9014 only then. When the publish fails or times out the callback gets ``None``: no
answer, the device re-sends. A packet the checks refuse, refused input (quarantine) and the
connection log still go to the database through the ordinary group commit, so refusals are
answered and recorded exactly as in the embedded mode.

**Message**: subject ``PREFIX.<region>.<ST>.<MN>``; body = the bytes the device sent (every
part of a split packet, in PNO order); headers ``Nats-Msg-Id`` = MN:QN:CN (JetStream drops a
re-publish within the stream's duplicate window), ``Qingshan-Received-At`` (UTC, ISO 8601),
``Qingshan-Peer``, ``Qingshan-MN``/``-QN``/``-CN``/``-ST`` (the parsed key, for consumers that
do not parse HJ 212) and ``Qingshan-Lenient`` when the gateway parses leniently.

**Writer side** (:class:`Writer`, ``qingshan writer``): a durable pull consumer shared by any
number of writer processes; each fetches up to ``batch`` messages, decodes them again with the
protocol library, writes them with one :meth:`~qingshan.services.ingest.Ingestor.write` call
(the embedded path: idempotent by MN + QN + CN, refused packets quarantined) and acknowledges
each message only after that transaction committed. A database outage acknowledges nothing
(the messages come back after ``ack_wait``); a message that cannot be decoded any more is
quarantined and acknowledged.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import re
import time
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import Engine, select

from qingshan.gateway.commit import Callback, CommitQueue
from qingshan.protocol.hj212 import Framer, FramingError, Reason
from qingshan.services.decode import Decoder
from qingshan.services.ingest import Accepted, Ingestor, Item, Outcome, Rejected, idempotency_key
from qingshan.settings import Settings
from qingshan.storage.db import session_scope

if TYPE_CHECKING:
    from nats.aio.client import Client as NATS
    from nats.aio.msg import Msg
    from nats.js import JetStreamContext

log = logging.getLogger("qingshan.bus")

H_RECEIVED = "Qingshan-Received-At"
H_PEER = "Qingshan-Peer"
H_LENIENT = "Qingshan-Lenient"
#: The writer re-parses what a gateway accepted under its own segment limit: the protocol's.
MAX_SEGMENT = 9999
_TOKEN = re.compile(r"[^A-Za-z0-9_-]")


@dataclass(frozen=True)
class BusConfig:
    """The bus settings (``bus_*`` in :class:`~qingshan.settings.Settings`)."""

    servers: tuple[str, ...]
    stream: str = "QINGSHAN_HJ212"
    prefix: str = "qingshan.hj212"
    region: str = ""
    replicas: int = 1
    max_age_s: float = 7 * 86400.0
    max_bytes: int = -1
    duplicate_window_s: float = 300.0
    publish_timeout: float = 5.0
    ack_wait_s: float = 30.0
    max_deliver: int = -1
    max_ack_pending: int = 20000
    batch: int = 500
    connect_timeout_s: float = 30.0

    @classmethod
    def from_settings(cls, s: Settings, servers: str | None = None) -> BusConfig:
        urls = tuple(u.strip() for u in (servers or s.bus_servers).split(",") if u.strip())
        if not urls:
            raise ValueError("no NATS server given (--bus nats://HOST:PORT[,nats://…])")
        for u in urls:
            if not re.fullmatch(r"(nats|tls)://[^\s/]+", u):
                raise ValueError(f"{u!r} is not a NATS URL (nats://HOST:PORT)")
        return cls(
            servers=urls,
            stream=s.bus_stream,
            prefix=s.bus_subject_prefix,
            region=s.bus_region,
            replicas=s.bus_replicas,
            max_age_s=s.bus_max_age_days * 86400.0,
            max_bytes=s.bus_max_bytes,
            duplicate_window_s=s.bus_duplicate_window_seconds,
            publish_timeout=s.bus_publish_timeout,
            ack_wait_s=s.bus_ack_wait_seconds,
            max_deliver=s.bus_max_deliver,
            max_ack_pending=s.bus_max_ack_pending,
            batch=s.bus_batch,
            connect_timeout_s=s.bus_connect_timeout_seconds,
        )

    @property
    def all_subjects(self) -> str:
        return f"{self.prefix}.>"


def token(text: str) -> str:
    """``text`` as one NATS subject token (no dots, spaces or wildcards)."""
    return _TOKEN.sub("_", text) or "_"


def subject(cfg: BusConfig, region: str, item: Accepted) -> str:
    pkt = item.packet
    return f"{cfg.prefix}.{token(region)}.{token(pkt.st)}.{token(pkt.mn)}"


def encode(item: Accepted, *, lenient: bool = False) -> tuple[bytes, dict[str, str]]:
    """The message of an accepted packet: its raw bytes and headers (module doc)."""
    pkt = item.packet
    mn, qn, cn = idempotency_key(pkt)
    headers = {
        "Nats-Msg-Id": f"{mn}:{qn}:{cn}",
        H_RECEIVED: item.received_at.replace(tzinfo=UTC).isoformat(),
        "Qingshan-MN": pkt.mn,
        "Qingshan-QN": pkt.qn or "",
        "Qingshan-CN": pkt.cn,
        "Qingshan-ST": pkt.st,
    }
    if item.peer:
        headers[H_PEER] = item.peer
    if lenient:
        headers[H_LENIENT] = "1"
    return item.raw, headers


def decode_message(
    decoders: dict[bool, Decoder], ingestor: Ingestor, data: bytes, headers: dict[str, str]
) -> Item:
    """A message back into the item the gateway accepted (re-parsed by the protocol
    library; the packet passed the same checks there). Bytes that no longer decode (a
    device's key changed meanwhile…) become a quarantine item."""
    received = headers.get(H_RECEIVED)
    at = (
        datetime.fromisoformat(received).astimezone(UTC).replace(tzinfo=None)
        if received
        else datetime.now(UTC).replace(tzinfo=None)
    )
    peer = headers.get(H_PEER)
    lenient = headers.get(H_LENIENT) == "1"
    frames = Framer(max_segment=MAX_SEGMENT).feed(data)
    errors = [f for f in frames if isinstance(f, FramingError)]
    if errors or not frames:
        why = errors[0].detail if errors else "empty message"
        reason = errors[0].reason if errors else Reason.EMPTY
        return Rejected(data, reason, f"bus message: {why}", peer=peer, received_at=at)
    if len(frames) == 1:
        decoder = decoders.setdefault(
            lenient, Decoder(ingestor.directory, lenient=lenient, max_segment=MAX_SEGMENT)
        )
    else:  # a split packet: its parts alone, so a re-delivery is not taken for duplicates
        decoder = Decoder(ingestor.directory, lenient=lenient, max_segment=MAX_SEGMENT)
    got: Any = None
    for f in frames:
        assert not isinstance(f, FramingError)
        got = decoder.decode(f.raw, peer=peer, now=time.monotonic(), received_at=at, frame=f)
    if isinstance(got, Accepted):
        return Accepted(got.packet, data, peer=peer, received_at=at, parts=got.parts)
    if isinstance(got, Rejected):
        return got
    mn = headers.get("Qingshan-MN")
    detail = f"bus message no longer decodes ({type(got).__name__})"
    return Rejected(data, Reason.BAD_SPLIT, detail, mn=mn, peer=peer, received_at=at)


class BusUnreachable(ConnectionError):
    """No NATS server of the list answered within ``connect_timeout_s`` at start."""


class BusStopped(Exception):
    """Asked to stop (SIGTERM) before the first connection was made."""


async def connect(cfg: BusConfig, name: str, stop: asyncio.Event | None = None) -> NATS:
    """A client that, once connected, reconnects for ever (to any server of the list).

    The first connection must succeed within ``cfg.connect_timeout_s``, else
    :class:`BusUnreachable` names the servers and the last error — a mistyped address or a
    cluster that is not up must not leave a gateway or writer silently waiting. ``stop`` set
    meanwhile ends the attempt (:class:`BusStopped`)."""
    import nats

    errors: list[str] = []

    async def error_cb(exc: Exception) -> None:
        errors.append(f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__)
        log.warning("NATS: %s", errors[-1])

    attempt = asyncio.ensure_future(
        nats.connect(
            servers=list(cfg.servers),
            name=name,
            connect_timeout=2,
            reconnect_time_wait=0.5,
            max_reconnect_attempts=-1,
            allow_reconnect=True,
            error_cb=error_cb,
        )
    )
    waiters: set[asyncio.Future[Any]] = {attempt}
    stopping = asyncio.ensure_future(stop.wait()) if stop is not None else None
    if stopping is not None:
        waiters.add(stopping)
    await asyncio.wait(waiters, timeout=cfg.connect_timeout_s, return_when=asyncio.FIRST_COMPLETED)
    if stopping is not None:
        stopping.cancel()
    if attempt.done() and not attempt.cancelled():
        return attempt.result()
    attempt.cancel()
    with contextlib.suppress(BaseException):
        await attempt
    if stop is not None and stop.is_set():
        raise BusStopped
    last = f" (last error: {errors[-1]})" if errors else ""
    raise BusUnreachable(
        f"no NATS server answered within {cfg.connect_timeout_s:g} s at "
        f"{', '.join(cfg.servers)}{last}"
    )


T = TypeVar("T")


async def until_ready(
    what: str, setup: Callable[[], Awaitable[T]], cfg: BusConfig, stop: asyncio.Event | None = None
) -> T:
    """Run a JetStream set-up request (the stream, a durable consumer) again while the cluster
    cannot answer it yet — a cluster just started, or electing its meta leader, answers with a
    timeout, "no responders" or 503 — for at most ``cfg.connect_timeout_s``; then
    :class:`BusUnreachable` names the last error. Gateways and writers started together with
    the cluster must wait for it, not exit."""
    from nats.errors import NoRespondersError
    from nats.js.errors import ServiceUnavailableError

    loop = asyncio.get_running_loop()
    deadline = loop.time() + cfg.connect_timeout_s
    delay = 0.2
    while True:
        try:
            return await setup()
        except (TimeoutError, NoRespondersError, ServiceUnavailableError) as exc:
            if loop.time() + delay > deadline or (stop is not None and stop.is_set()):
                raise BusUnreachable(
                    f"JetStream could not {what} within {cfg.connect_timeout_s:g} s "
                    f"(last error: {type(exc).__name__}: {exc})"
                ) from exc
            log.warning("JetStream not ready to %s (%s); trying again", what, type(exc).__name__)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 2.0)


async def ensure_stream(js: JetStreamContext, cfg: BusConfig) -> None:
    """Create the stream if it does not exist (an existing one is left as configured)."""
    from nats.js.api import DiscardPolicy, RetentionPolicy, StorageType, StreamConfig
    from nats.js.errors import NotFoundError

    try:
        await js.stream_info(cfg.stream)
        return
    except NotFoundError:
        pass
    await js.add_stream(
        StreamConfig(
            name=cfg.stream,
            subjects=[cfg.all_subjects],
            retention=RetentionPolicy.LIMITS,
            max_age=cfg.max_age_s,
            max_bytes=cfg.max_bytes,
            storage=StorageType.FILE,
            num_replicas=cfg.replicas,
            duplicate_window=cfg.duplicate_window_s,
            discard=DiscardPolicy.OLD,
        )
    )
    log.info("created stream %s (R%d) on %s", cfg.stream, cfg.replicas, cfg.all_subjects)


def default_region(engine: Engine) -> str:
    from qingshan.storage.models_registry import Deployment

    with session_scope(engine) as s:
        code = s.execute(select(Deployment.region_code)).scalar()
    return str(code) if code else "default"


def bus_queue_factory(
    engine: Engine, cfg: BusConfig, *, lenient: bool = False
) -> Callable[[Ingestor], BusCommitQueue]:
    """What :class:`~qingshan.gateway.server.Gateway` builds its queue with in bus mode (on
    the gateway's own ingestor and directory)."""
    region = cfg.region or default_region(engine)

    def make(ingestor: Ingestor) -> BusCommitQueue:
        return BusCommitQueue(ingestor, bus=cfg, region=region, lenient=lenient)

    return make


@dataclass
class BusStats:
    published: int = 0
    duplicates: int = 0
    failed: int = 0
    down_since: float | None = None


@dataclass
class BusCommitQueue(CommitQueue):
    """The gateway's queue in bus mode (module doc): accepted packets that pass the checks go
    to the stream, everything else to the database as in the embedded mode."""

    bus: BusConfig | None = None
    region: str = "default"
    lenient: bool = False
    reload_every: float = 30.0
    bus_stats: BusStats = field(default_factory=BusStats)

    def __post_init__(self) -> None:
        super().__post_init__()
        assert self.bus is not None
        self._nc: NATS | None = None
        self._js: JetStreamContext | None = None
        # Packets waiting to be published, and publishes waiting for the stream's ack (with
        # their deadlines, in send order): one publisher task and one timer for all of them,
        # no task or timer per packet.
        self._outbox: deque[tuple[Accepted, Callback | None]] = deque()
        self._deadlines: deque[tuple[float, asyncio.Future[Any]]] = deque()
        self._awaiting_ack = 0
        self._wake_publisher = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    async def connect(self) -> None:
        assert self.bus is not None
        self._nc = await connect(self.bus, "qingshan-gateway")
        self._js = js = self._nc.jetstream(timeout=self.bus.publish_timeout)
        bus = self.bus
        await until_ready("create the stream", lambda: ensure_stream(js, bus), bus)

    def start(self) -> None:
        super().start()
        loop = asyncio.get_running_loop()
        self._tasks = [
            loop.create_task(self._publisher(), name="bus-publisher"),
            loop.create_task(self._expire(), name="bus-ack-timeouts"),
            loop.create_task(self._reload_directory(), name="bus-directory"),
        ]

    async def _reload_directory(self) -> None:
        # The embedded committer reloads the directory as it writes; here nothing is written
        # for accepted packets, so a retired device or a new password is picked up on a timer.
        while True:
            await asyncio.sleep(self.reload_every)
            try:
                await asyncio.to_thread(self.ingestor.directory.reload)
            except Exception as exc:
                log.debug("directory reload failed: %s", exc)

    @property
    def pending(self) -> int:
        return super().pending + len(self._outbox) + self._awaiting_ack

    def status(self) -> dict[str, Any]:
        """The bus part of ``/healthz``."""
        b = self.bus_stats
        return {
            "state": "unavailable" if b.down_since is not None else "ok",
            "stream": self.bus.stream if self.bus else None,
            "published": b.published,
            "duplicates": b.duplicates,
            "failed_publishes": b.failed,
            "awaiting_ack": self._awaiting_ack + len(self._outbox),
        }

    def enqueue(self, item: Item, callback: Callback | None) -> None:
        if isinstance(item, Accepted) and self.ingestor.precheck(item) is None:
            self._outbox.append((item, callback))
            self._wake_publisher.set()
            return
        super().enqueue(item, callback)  # refused: quarantined and answered by the database

    async def _publisher(self) -> None:
        assert self._js is not None and self.bus is not None
        js, cfg = self._js, self.bus
        loop = asyncio.get_running_loop()
        while True:
            if not self._outbox:
                self._wake_publisher.clear()
                await self._wake_publisher.wait()
                continue
            item, callback = self._outbox.popleft()
            data, headers = encode(item, lenient=self.lenient)
            try:
                fut = await js.publish_async(
                    subject(cfg, self.region, item),
                    data,
                    wait_stall=cfg.publish_timeout,
                    stream=cfg.stream,
                    headers=headers,
                )
            except Exception as exc:  # disconnected for good, too many waiting: no answer
                self._failed(exc)
                self._answer(callback, None)
                continue
            self._awaiting_ack += 1
            self._deadlines.append((loop.time() + cfg.publish_timeout, fut))
            fut.add_done_callback(functools.partial(self._acked, callback=callback))

    async def _expire(self) -> None:
        """Publishes the stream has not acknowledged in ``publish_timeout`` are given up:
        the packet is not answered (the device re-sends; a late copy is de-duplicated)."""
        assert self.bus is not None
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(min(0.2, self.bus.publish_timeout / 4))
            now = loop.time()
            while self._deadlines and (
                self._deadlines[0][1].done() or self._deadlines[0][0] <= now
            ):
                _, fut = self._deadlines.popleft()
                if not fut.done():
                    fut.cancel()

    def _acked(self, fut: asyncio.Future[Any], *, callback: Callback | None) -> None:
        self._awaiting_ack -= 1
        outcome: Outcome | None = None
        if fut.cancelled():
            self._failed(TimeoutError("no publish ack in time"))
        elif fut.exception() is not None:
            self._failed(fut.exception())
        else:
            b = self.bus_stats
            if b.down_since is not None:
                log.warning(
                    "bus publish acknowledged again after %.1f s", time.monotonic() - b.down_since
                )
                b.down_since = None
            if fut.result().duplicate:
                b.duplicates += 1
                outcome = Outcome("duplicate")
            else:
                b.published += 1
                outcome = Outcome("stored")
        self._answer(callback, outcome)

    def _failed(self, exc: BaseException | None) -> None:
        b = self.bus_stats
        b.failed += 1
        if b.down_since is None:
            b.down_since = time.monotonic()
            log.error("bus publish failed, not acknowledging packets: %r", exc)

    def _answer(self, callback: Callback | None, outcome: Outcome | None) -> None:
        if callback is not None:
            try:
                callback(outcome)
            except Exception:
                log.exception("reply callback failed")
        for hook in self.after_batch:
            hook()

    async def close(self, timeout: float) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while (self._outbox or self._awaiting_ack) and loop.time() < deadline:
            await asyncio.sleep(0.02)
        for t in self._tasks:
            t.cancel()
        await super().close(max(0.1, deadline - loop.time()))
        if self._nc is not None:
            try:
                await asyncio.wait_for(self._nc.drain(), 5.0)
            except Exception:
                await self._nc.close()


@dataclass
class WriterStats:
    batches: int = 0
    messages: int = 0
    stored: int = 0
    duplicates: int = 0
    rejected: int = 0
    failures: int = 0


class Writer:
    """One writer process's consumer loop (module doc)."""

    def __init__(
        self, engine: Engine, cfg: BusConfig, durable: str = "qingshan-writer", name: str = ""
    ) -> None:
        self.engine = engine
        self.cfg = cfg
        self.durable = durable
        self.name = name or durable
        self.ingestor = Ingestor(engine)
        self.decoders: dict[bool, Decoder] = {}
        self.stats = WriterStats()
        self._stop = asyncio.Event()

    def stop(self) -> None:
        self._stop.set()

    async def run(self, ready: asyncio.Event | None = None) -> None:
        from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

        await asyncio.to_thread(self.ingestor.directory.reload)
        try:
            nc = await connect(self.cfg, f"qingshan-writer-{self.name}", self._stop)
        except BusStopped:
            return
        try:
            js = nc.jetstream(timeout=10.0)
            cfg = self.cfg
            await until_ready("create the stream", lambda: ensure_stream(js, cfg), cfg, self._stop)
            psub = await until_ready(
                "create the consumer",
                lambda: js.pull_subscribe(
                    cfg.all_subjects,
                    durable=self.durable,
                    stream=cfg.stream,
                    config=ConsumerConfig(
                        durable_name=self.durable,
                        ack_policy=AckPolicy.EXPLICIT,
                        deliver_policy=DeliverPolicy.ALL,
                        ack_wait=cfg.ack_wait_s,
                        max_deliver=cfg.max_deliver,
                        max_ack_pending=cfg.max_ack_pending,
                        num_replicas=cfg.replicas,
                    ),
                ),
                cfg,
                self._stop,
            )
            if ready is not None:
                ready.set()
            backoff = 0.1
            while not self._stop.is_set():
                try:
                    msgs = await psub.fetch(self.cfg.batch, timeout=1.0)
                except TimeoutError:  # nothing to fetch (nats' own TimeoutError is one too)
                    continue
                except Exception as exc:  # a node down, leader moving: fetch again
                    log.warning("fetch failed: %r", exc)
                    await asyncio.sleep(0.5)
                    continue
                if not msgs:
                    continue
                try:
                    await self.write(msgs)
                    backoff = 0.1
                except Exception as exc:  # outage: nothing acknowledged, re-delivered later
                    self.stats.failures += 1
                    log.error(
                        "database write failed, %d messages not acknowledged: %s", len(msgs), exc
                    )
                    for m in msgs:
                        with contextlib.suppress(Exception):
                            await m.nak(delay=backoff)
                    await asyncio.sleep(backoff)
                    backoff = min(backoff * 2, 5.0)
        finally:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(nc.drain(), 5.0)

    async def write(self, msgs: Sequence[Msg]) -> None:
        """Store a batch in one transaction, then acknowledge each message."""
        items = [
            decode_message(self.decoders, self.ingestor, m.data, dict(m.headers or {}))
            for m in msgs
        ]
        outcomes = await asyncio.to_thread(self.ingestor.write, items)
        self.stats.batches += 1
        self.stats.messages += len(msgs)
        for out in outcomes:
            if out.status == "stored":
                self.stats.stored += 1
            elif out.status == "duplicate":
                self.stats.duplicates += 1
            elif out.status == "rejected":
                self.stats.rejected += 1
        # Committed: acknowledge (a lost ack only re-delivers a duplicate, which is not stored).
        for m in msgs:
            with contextlib.suppress(Exception):
                await m.ack()
