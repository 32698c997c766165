"""``qingshan demo``: the sample district with simulated history and live devices over TCP."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from sqlalchemy import Engine, inspect, make_url, text
from sqlalchemy.exc import OperationalError

from qingshan.cli._db import DB_OPTION_HELP, fail
from qingshan.demo.cases import load_cases
from qingshan.demo.district import DistrictDataError, load_district
from qingshan.demo.emergency import load_emergency
from qingshan.demo.loader import (
    DEFAULT_MINUTE_DAYS,
    DEFAULT_MONTHS,
    DEFAULT_SEED,
    DemoLoadError,
    PrepareResult,
    counts,
    device_plan,
    prepare,
)
from qingshan.demo.synth import SynthError
from qingshan.roles import CLI
from qingshan.services.plans import LoadResult, PlanError
from qingshan.services.plans import tasks as plan_tasks
from qingshan.services.registry import seed_factors
from qingshan.settings import Settings, get_settings
from qingshan.simulator.live import bjt_now
from qingshan.storage.db import DatabaseURLError, init_db, is_sqlite, make_engine, session_scope

NOTICE = "模拟数据 SIMULATED DATA: every monitoring value in the demo is generated, not measured."


def _reset(url: str) -> None:
    """Remove everything: the SQLite file, or every row of every table on PostgreSQL."""
    if is_sqlite(url):
        path = make_url(url).database
        if path and path != ":memory:":
            for suffix in ("", "-wal", "-shm"):
                Path(path + suffix).unlink(missing_ok=True)
        return
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            # TRUNCATE, not DELETE: the timeline refuses DELETE (it is append-only, migration
            # 0410); wiping the whole demo database is the one legitimate way to empty it.
            # Every table of the schema (not only the models imported here), bar the version.
            names = [f'"{n}"' for n in inspect(conn).get_table_names() if n != "alembic_version"]
            if names:
                conn.execute(text(f"TRUNCATE {', '.join(names)} RESTART IDENTITY CASCADE"))
    finally:
        engine.dispose()


def _load(engine: Engine, console: Console, **kw: Any) -> PrepareResult:
    district = load_district()
    now = bjt_now()
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    ) as bar:
        task = bar.add_task("回填模拟历史数据 (backfill)", total=None)

        def progress(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        result = prepare(engine, district, now=now, progress=progress, **kw)
        bar.update(task, completed=1, total=1)
    return result


def _recompute_figures(engine: Engine, r: PrepareResult, progress: Any = None) -> str:
    """Figures (AQI, air/water/noise evaluations) of the months the backfill wrote: the bulk
    load bypasses ingestion, so no figure marks were set for them."""
    from qingshan.services.figures import recompute_all
    from qingshan.storage.db import session_factory

    b = r.backfill
    if b is None:
        return "figures: up to date"
    stats = recompute_all(
        session_factory(engine),
        start=b.start.date(),
        end=(b.end - timedelta(hours=1)).date(),
        progress=progress,
    )
    return (
        f"figures: {stats.air_hours:,} hourly AQI, {stats.air_days:,} air days, "
        f"{stats.air_periods:,} air periods, {stats.water_months:,} water months, "
        f"{stats.noise_days:,} noise days in {stats.seconds:.1f} s"
    )


async def _figures_beside_live(
    engine: Engine, r: PrepareResult, stop: asyncio.Event, console: Console
) -> None:
    """Figures of the backfilled months while the devices already send: after the first
    live packets are in, one month per call (newest first) with a pause between, so the
    gateway's commits interleave with the figure writes instead of waiting behind one long
    write transaction (SQLite has a single writer)."""
    from qingshan.services.figures import recompute_all
    from qingshan.storage.db import session_factory

    b = r.backfill
    if b is None:
        return
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), 10.0)
    months = []
    m = b.start.date().replace(day=1)
    last = (b.end - timedelta(hours=1)).date()
    while m <= last:
        nxt = (m.replace(day=28) + timedelta(days=4)).replace(day=1)
        months.append((max(m, b.start.date()), min(nxt - timedelta(days=1), last)))
        m = nxt
    t0 = time.perf_counter()
    try:
        for a, z in reversed(months):
            await asyncio.to_thread(recompute_all, session_factory(engine), start=a, end=z)
            await asyncio.sleep(0.5)
    except Exception as exc:  # reported, the live demo carries on
        console.print(f"[red]figures failed: {exc}[/]")
        return
    console.print(f"figures of {len(months)} months computed in {time.perf_counter() - t0:.0f} s")


def _figures_with_bar(engine: Engine, r: PrepareResult, console: Console) -> str:
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        TimeElapsedColumn(),
        console=console,
    ) as bar:
        task = bar.add_task("计算评价指标 (figures)", total=None)

        def progress(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        return _recompute_figures(engine, r, progress)


def demo_command(
    db: str | None = typer.Option(None, "--db", help=DB_OPTION_HELP),
    no_live: bool = typer.Option(
        False, "--no-live", help="Load (or reuse) the district and its history, then exit"
    ),
    reset: bool = typer.Option(False, "--reset", help="Delete the existing data and rebuild"),
    months: int = typer.Option(
        DEFAULT_MONTHS, "--months", min=1, max=24, help="Months of hourly history on a fresh load"
    ),
    history_days: float | None = typer.Option(
        None, "--history-days", help="Days of hourly history instead of --months (tests)"
    ),
    minute_days: float = typer.Option(
        DEFAULT_MINUTE_DAYS,
        "--minute-days",
        min=0,
        max=31,
        help="Last days also stored at minute resolution",
    ),
    seed: int = typer.Option(DEFAULT_SEED, "--seed", min=0, help="Generator seed"),
    hj212_port: int | None = typer.Option(None, "--hj212-port", help="HJ 212 port (0 = any)"),
    http_port: int | None = typer.Option(None, "--http-port", help="HTTP port (0 = any)"),
    realtime_every: float = typer.Option(
        30.0, "--realtime-every", min=0.5, help="Seconds between real-time (CN 2011) uploads"
    ),
    live_seconds: float = typer.Option(
        0.0, "--live-seconds", min=0, help="Stop the live phase after S seconds (0 = Ctrl-C)"
    ),
) -> None:
    """Load the sample district (崆峒区, 模拟数据) with ≥ 13 months of history, then run the
    platform with simulated devices sending HJ 212 over TCP. Stop with Ctrl-C.

    Prints `hj212_port=N` and `http_port=M` on stdout once the gateway listens.
    """
    console = Console(stderr=True)
    s = get_settings(db_url=db, hj212_port=hj212_port, http_port=http_port)
    logging.basicConfig(
        level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    for name, port in (("--hj212-port", s.hj212_port), ("--http-port", s.http_port)):
        if not 0 <= port <= 65535:
            raise fail(f"{name} {port} out of range 0-65535 (0 = any free port)", 2)
    console.print(f"[bold yellow]{NOTICE}[/]")
    t0 = time.perf_counter()
    try:
        if reset:
            _reset(s.db_url)
        # a long busy timeout: commits wait for the single SQLite writer lock (figure writes,
        # roll-ups, a slow disk) instead of failing
        engine = init_db(make_engine(s.db_url, sqlite_busy_timeout_ms=60_000))
        seed_factors(engine)  # as `qingshan init` does
        result = _load(
            engine,
            console,
            months=months,
            history_days=history_days,
            minute_days=minute_days,
            seed=seed,
        )
        case_rows = load_cases(engine)
        emergency = load_emergency(engine, load_district(), result.history_end)
        plan = _load_plan(engine)
        summary = counts(engine)
    except (DatabaseURLError, DemoLoadError, SynthError, DistrictDataError, PlanError) as exc:
        raise fail(str(exc), 2) from None
    except OperationalError as exc:
        raise fail(f"database error: {exc.orig}", 2) from None
    _print_summary(console, result, summary, time.perf_counter() - t0)
    console.print(
        f"  case ledgers (示例数据, 4 inspection rounds): {case_rows['created']} cases created, "
        f"{case_rows['updated']} updated, {case_rows['unchanged']} unchanged "
        "(qingshan case stats)"
    )
    console.print(
        f"  应急减排清单 (示例数据): {emergency['measures']} measures; a past 橙色 warning "
        f"(qingshan source warning board {emergency['warning_id']})"
    )
    verb = "loaded" if plan.created else "already loaded, unchanged"
    console.print(
        f"  plan {plan.template_id} (崆峒区“十四五”生态环境保护规划): {verb}, "
        f"{plan.indicators} indicators; the cockpit's good-day target comes from it "
        f"(qingshan plan status {plan.template_id})"
    )
    _detect_sources(engine, console)
    if no_live:
        try:
            console.print(_figures_with_bar(engine, result, console))
        finally:
            engine.dispose()
        return
    # the pollution-source alarms follow the live packets, as in `qingshan serve`
    alarm_thread = None
    if s.source_alarm_interval > 0:
        from qingshan.services.sources.alarms import AlarmThread

        alarm_thread = AlarmThread(engine, s.source_alarm_interval)
        alarm_thread.start()
    try:
        asyncio.run(_live(engine, s, result, seed, realtime_every, live_seconds, console))
    except OSError as exc:
        raise fail(f"cannot listen: {exc}", 2) from None
    finally:
        if alarm_thread is not None:
            alarm_thread.stop()
        engine.dispose()


DEMO_PLAN = "kongtong-14th"


def _load_plan(engine: Engine) -> LoadResult:
    """The district's own plan, through the same service as `qingshan plan load` (idempotent:
    a second `demo` run finds it loaded and changes nothing)."""
    with session_scope(engine) as s:
        return plan_tasks.load(s, CLI, DEMO_PLAN)


def _detect_sources(engine: Engine, console: Console) -> None:
    """Pollution-source episodes of the loaded history (exceedance, offline, hints)."""
    from qingshan.services.sources import alarms

    with session_scope(engine) as ss:
        found = alarms.detect(ss)
        rows = alarms.list_episodes(ss, CLI, open_only=True)
        kinds: dict[str, int] = {}
        for r in rows:
            kinds[alarms.KIND_LABELS[r.kind]] = kinds.get(alarms.KIND_LABELS[r.kind], 0) + 1
    listed = "，".join(f"{k} {n}" for k, n in sorted(kinds.items())) or "无"
    console.print(
        f"  污染源监管：未关闭的报警和线索事件 {len(rows)} 个（{listed}）；qingshan source alarms；"
        f"新开自动监控报警案件 {found.cases_opened} 件（qingshan case list --origin 自动监控）"
    )


def _print_summary(console: Console, r: PrepareResult, c: dict[str, object], took: float) -> None:
    how = "reused existing data" if r.reused else "loaded"
    b = r.backfill
    added = f"{b.rows:,} rows written" if b else "nothing to add"
    console.print(
        f"示例区县 崆峒区: {how} in {took:.1f} s ({added}); history "
        f"{r.history_start:%Y-%m-%d %H:%M} – {r.history_end:%Y-%m-%d %H:%M} (北京时间)"
        if r.history_start
        else f"示例区县 崆峒区: {how} in {took:.1f} s"
    )
    console.print(
        f"  {c['enterprises']} enterprises (on the air platform by control level: "
        f"{c['gas_platform_enterprises']}), {c['micro_stations']} micro-stations, "
        f"{c['devices']} devices, sites {c['sites']}"
    )
    console.print(
        f"  deployment data: {c['permits']} demo permits (示例编号) with {c['permit_limits']} "
        f"outlet limits, {c['boundaries']} county outlines, {c['targets']} plan target(s)"
    )


def live_line(st: Any) -> str:
    """The demo's live counter. Real-time packets (CN 2011) are answered by nobody (HJ 212
    has no reply to real-time data) and some loggers ask for no reply: both are said, so
    "sent" minus "acknowledged" is not mistaken for loss."""
    return (
        f"live: {st.sent} packets sent, {st.acknowledged} acknowledged, "
        f"{st.realtime_unanswered} real-time (2011, get no reply), "
        f"{st.no_reply_asked} sent without asking for a reply, "
        f"{st.rejected} rejected, {st.connected} connections, "
        f"{st.reconnects} reconnects, {st.split_packets} split packets"
    )


async def _live(
    engine: Engine,
    settings: Settings,
    r: PrepareResult,
    seed: int,
    realtime_every: float,
    live_seconds: float,
    console: Console,
) -> None:
    from qingshan.gateway.runner import serve
    from qingshan.gateway.server import GatewayConfig
    from qingshan.gateway.web_process import WebProcess, bind_http_socket
    from qingshan.simulator.live import LiveFleet

    stop = asyncio.Event()
    ports: asyncio.Future[tuple[int, int]] = asyncio.get_running_loop().create_future()

    def ready(hj: int, web: int) -> None:
        sys.stdout.write(f"hj212_port={hj}\nhttp_port={web}\n")
        sys.stdout.flush()
        ports.set_result((hj, web))

    # The simulated fleet connects from this machine's one address.
    config = GatewayConfig.from_settings(
        settings, max_per_address=max(settings.hj212_max_per_address, 1000)
    )
    from qingshan.services.accounts import demo_account
    from qingshan.storage.db import session_factory

    login = demo_account(session_factory(engine))

    server = asyncio.create_task(
        serve(
            engine,
            config,
            http_host=settings.http_host,
            http_port=settings.http_port,
            retention_days=settings.raw_retention_days,
            ready=ready,
            stop_event=stop,
            web=WebProcess(settings, bind_http_socket(settings.http_host, settings.http_port)),
        )
    )
    waiting: set[asyncio.Future[Any]] = {server, ports}
    done, _ = await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
    if server in done:
        server.result()  # raises the start-up error (port in use …)
        return
    hj, web = ports.result()
    district = load_district()
    fleet = LiveFleet(
        "127.0.0.1",
        hj,
        district,
        device_plan(district),
        history_end=r.history_end,
        seed=seed,
        realtime_every=realtime_every,
    )
    db_url = make_url(settings.db_url).render_as_string(hide_password=True)
    console.print(
        f"\n[bold green]青山 Qingshan demo is running[/] — [bold yellow]模拟数据[/] "
        f"(simulated data)\n"
        f"  HJ 212 gateway : tcp://127.0.0.1:{hj}  ({len(fleet.devices)} simulated devices)\n"
        f"  web            : http://{settings.http_host}:{web}/  (驾驶舱, 一张图; /healthz)\n"
        f"  database       : {db_url}\n"
        f"  login          : {login}\n"
        f"  try            : qingshan data export --db '{db_url}' --help\n"
        f"  stop           : Ctrl-C"
    )
    live = asyncio.create_task(fleet.run(stop))
    figures = asyncio.create_task(_figures_beside_live(engine, r, stop, console))
    t_end = time.monotonic() + live_seconds if live_seconds else None
    try:
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 1.0)
            if t_end is not None and time.monotonic() >= t_end:
                stop.set()
            st = fleet.stats
            if int(time.monotonic()) % 30 == 0 or stop.is_set():
                console.print(live_line(st))
    finally:
        stop.set()
        await asyncio.gather(live, server, return_exceptions=True)
        if not figures.done():
            console.print("waiting for the figures computation to finish …")
        await asyncio.gather(figures, return_exceptions=True)
    console.print("demo stopped cleanly")
