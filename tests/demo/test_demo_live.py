"""`qingshan demo` and `qingshan simulate` end to end (short windows; the default is 13 months)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from conftest import create_pg_database, drop_pg_database, migrated_sqlite_url
from qingshan.cli.main import app
from qingshan.demo import loader as dl
from qingshan.demo.district import load_district
from qingshan.services.registry import add_device
from qingshan.services.reports.content import default_region
from qingshan.services.rollups import run_rollups
from qingshan.simulator.drive import SimulateError, make_devices, parse_target
from qingshan.simulator.profiles import PROFILES, cp_fields
from qingshan.storage.db import make_engine, session_factory
from qingshan.storage.models import (
    Device,
    Observation,
    Quarantine,
    ReceivedPacket,
    Resolution,
    Site,
)
from qingshan.storage.writes import mark_dirty

QINGSHAN = str(Path(sys.executable).parent / "qingshan")
runner = CliRunner()


def _obs_count(engine: object, res: Resolution | None = None, derived: bool | None = None) -> int:
    from sqlalchemy import Engine

    assert isinstance(engine, Engine)
    q = select(func.count()).select_from(Observation)
    if res is not None:
        q = q.where(Observation.resolution == int(res))
    if derived is not None:
        q = q.where(Observation.derived.is_(derived))
    with engine.connect() as conn:
        return int(conn.execute(q).scalar() or 0)


def _check_registry(c: dict[str, object]) -> None:
    assert c["enterprises"] == 24  # 23 on the air platform + the waste-water plant (water only)
    assert c["gas_platform_enterprises"] == {"国控": 3, "省市控": 4, "区控": 16}
    assert c["micro_stations"] == 40
    sites = c["sites"]
    assert isinstance(sites, dict)
    assert sites["surface_water_section"] == 3
    assert sites["drinking_water_source"] == 10
    assert sites["groundwater_point"] == 4
    assert sites["enterprise_outlet"] == 29
    assert c["devices"] == 92
    assert c["regions"] == 1 + 1 + 7 + 21


def test_default_history_is_at_least_13_months() -> None:
    end = datetime(2026, 3, 31, 17)
    start, stop = dl.history_window(end, dl.DEFAULT_MONTHS, None)
    assert stop == end and start <= datetime(2025, 2, 28, 17)
    assert (stop - start) >= timedelta(days=395)
    start, _ = dl.history_window(end, 13, 2.5)
    assert start == datetime(2026, 3, 29, 5)


def test_demo_no_live_then_reuse_sqlite(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # the default database is ./var/qingshan.db
    monkeypatch.delenv("QINGSHAN_DB_URL", raising=False)
    args = ["demo", "--no-live", "--history-days", "21", "--minute-days", "0.25"]
    r = runner.invoke(app, args)
    assert r.exit_code == 0, r.output
    assert "模拟数据" in r.output and "loaded" in r.output
    assert "figures:" in r.output and "hourly AQI" in r.output
    db = tmp_path / "var" / "qingshan.db"
    assert db.is_file()
    engine = make_engine(f"sqlite:///{db}")
    _check_registry(dl.counts(engine))
    with session_factory(engine)() as s:
        # the 对照点 and the micro-stations are marked so the figures leave them out of the
        # official evaluation; reports default to the one county that holds the sites
        levels = {
            c: lvl
            for c, lvl in s.execute(
                select(Site.code, Site.control_level).where(Site.code.in_(["AQ01", "AQ05", "WZ01"]))
            )
        }
        assert levels == {"AQ01": "国控", "AQ05": "国控（对照点）", "WZ01": "微站"}
        assert default_region(s) == "620802"
    hours = _obs_count(engine, Resolution.HOUR)
    minutes = _obs_count(engine, Resolution.MINUTE)
    days = _obs_count(engine, Resolution.DAY, derived=True)
    assert hours > 21 * 24 * 300 and minutes > 0 and days > 0
    ids = list(dl.load_registry(engine, load_district()).values())
    end = dl.history_end(engine, ids)
    assert end is not None
    # the second run reuses the data: only hours since the first run's end are added
    r2 = runner.invoke(app, args)
    assert r2.exit_code == 0, r2.output
    assert "reused existing data" in r2.output
    _check_registry(dl.counts(engine))
    added_hours = (dl.history_end(engine, ids) or end) - end
    assert _obs_count(engine, Resolution.HOUR) - hours <= 1000 * (added_hours.seconds // 3600)
    if not added_hours:
        assert _obs_count(engine, Resolution.HOUR) == hours
    # --reset rebuilds from nothing
    engine.dispose()  # (an open SQLite connection would keep reading the deleted file)
    r3 = runner.invoke(app, [*args[:2], "--reset", "--history-days", "2", "--minute-days", "0"])
    assert r3.exit_code == 0, r3.output
    assert "loaded" in r3.output
    engine = make_engine(f"sqlite:///{db}")
    assert _obs_count(engine, Resolution.HOUR) < hours / 10
    assert _obs_count(engine, Resolution.MINUTE) == 0
    engine.dispose()


def test_day_rollups_equal_the_rollup_service(tmp_path: Path) -> None:
    """The vectorised day roll-ups of the backfill are what run_rollups computes."""
    engine = make_engine(migrated_sqlite_url(tmp_path / "q.db"))
    d = load_district()
    ids = dl.load_registry(engine, d)
    end = datetime(2026, 1, 20, 6)  # heating season: stopped outlets (F), calibration (C)
    dl.backfill(engine, d, ids, start=end - timedelta(days=5), end=end, minute_days=0)
    o = Observation.__table__.c
    cols = (o.device_id, o.data_time, o.code, o.value, o.vmin, o.vmax, o.zs, o.flag, o.samples)
    with engine.connect() as conn:
        before = sorted(conn.execute(select(*cols).where(o.resolution == 3)).all())
    whole_days = {(r.device_id, r.data_time) for r in before}
    assert len(whole_days) == 4 * 91  # 4 whole days × 92 devices but the offline one (E12)
    assert {r.flag for r in before} >= {"N", "F", "B"}
    with engine.begin() as conn:
        mark_dirty(conn, [(dev, int(Resolution.DAY), t) for dev, t in whole_days])
    run_rollups(engine)
    with engine.connect() as conn:
        after = sorted(conn.execute(select(*cols).where(o.resolution == 3)).all())
    after_whole = [r for r in after if (r.device_id, r.data_time) in whole_days]
    assert after_whole == before
    engine.dispose()


@pytest.mark.postgres
def test_demo_load_and_reuse_postgresql(pg_server: str) -> None:
    url = create_pg_database(pg_server)
    try:
        engine = make_engine(url)
        d = load_district()
        now = datetime(2026, 11, 26, 12, 30)
        r1 = dl.prepare(engine, d, now=now, history_days=4, minute_days=0.2)
        assert not r1.reused and r1.backfill is not None
        _check_registry(dl.counts(engine))
        n = _obs_count(engine)
        assert r1.history_start == datetime(2026, 11, 22, 12)
        assert r1.history_end == datetime(2026, 11, 26, 12)
        r2 = dl.prepare(engine, d, now=now, history_days=4, minute_days=0.2)
        assert r2.reused and r2.backfill is None and _obs_count(engine) == n
        r3 = dl.prepare(engine, d, now=now + timedelta(hours=2), history_days=4)
        assert r3.reused and r3.backfill is not None and r3.backfill.hour_rows > 0
        assert r3.history_end == datetime(2026, 11, 26, 14)
        engine.dispose()
    finally:
        drop_pg_database(pg_server, url)


def _start(args: list[str], cwd: Path, **settings: str) -> tuple[subprocess.Popen[str], int]:
    env = {**os.environ, "QINGSHAN_LOG_LEVEL": "WARNING"}
    env.update({f"QINGSHAN_{k.upper()}": v for k, v in settings.items()})
    env.pop("QINGSHAN_DB_URL", None)
    proc = subprocess.Popen(
        [QINGSHAN, *args],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line.startswith("hj212_port="):
        proc.kill()
        raise AssertionError(f"no port line: {line!r} {proc.stderr.read() if proc.stderr else ''}")
    proc.stdout.readline()
    return proc, int(line.split("=")[1])


def test_demo_live_devices_reach_the_gateway(tmp_path: Path) -> None:
    proc, _port = _start(
        [
            "demo",
            "--history-days",
            "1",
            "--minute-days",
            "0.05",
            "--hj212-port",
            "0",
            "--http-port",
            "0",
            "--realtime-every",
            "1",
        ],
        tmp_path,
    )
    engine = make_engine(f"sqlite:///{tmp_path / 'var' / 'qingshan.db'}")
    try:

        def editions_seen() -> set[str]:
            with engine.connect() as conn:
                return set(
                    conn.execute(
                        select(Device.edition)
                        .join(Observation, Observation.device_id == Device.id)
                        .where(Observation.resolution == int(Resolution.REALTIME))
                        .distinct()
                    ).scalars()
                )

        # Wait for both conditions: the few 2005 devices may send after 200 rows from others
        # (generously: on a loaded machine the fleet connects slowly).
        deadline = time.monotonic() + 120
        realtime, seen = 0, set()
        while time.monotonic() < deadline:
            realtime = _obs_count(engine, Resolution.REALTIME)
            seen = editions_seen()
            if realtime > 200 and seen == {"2005", "2017", "2025"}:
                break
            time.sleep(0.5)
        assert realtime > 200  # every minute-capable device's CN 2011 uploads, via TCP
        assert seen == {"2005", "2017", "2025"}
        with engine.connect() as conn:
            editions = set(conn.execute(select(Quarantine.reason)).scalars())
        assert editions == set(), editions  # nothing the devices sent was refused
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            _, err = proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise
    assert proc.returncode == 0, err
    assert "demo stopped cleanly" in err
    assert "模拟数据" in err
    engine.dispose()


def test_simulate_counts_match_the_database(tmp_path: Path) -> None:
    url = migrated_sqlite_url(tmp_path / "q.db")
    engine = make_engine(url)
    devices = make_devices(6, "2017", "SIM")
    for dev in devices[:5]:  # the sixth is unknown to the platform
        add_device(engine, mn=dev.mn, pw=dev.pw, st="32")
    proc, port = _start(
        [
            "serve",
            "--db",
            url,
            "--hj212-host",
            "127.0.0.1",
            "--hj212-port",
            "0",
            "--http-port",
            "0",
        ],
        tmp_path,
        # This test counts what simulate reports against the database. The unknown sixth
        # device shares 127.0.0.1 with the others, so the gateway's PW-guessing throttle
        # (tests/hostile/test_passwords.py) would delay it and then block the address; let
        # every failure be answered at once here.
        hj212_auth_free_failures="1000",
        hj212_auth_disconnect_after="1000",
    )
    try:
        out = subprocess.run(
            [
                QINGSHAN,
                "simulate",
                "--target",
                f"127.0.0.1:{port}",
                "--devices",
                "6",
                "--rate",
                "60",
                "--duration",
                "2",
                "--profile",
                "wastewater",
                "--mn-prefix",
                "SIM",
                "--json",
            ],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=30)
    assert out.returncode == 0, out.stderr
    rep = json.loads(out.stdout)
    assert rep["sent"] == 6 * 20
    assert rep["acknowledged"] == 5 * 20
    # unknown MN and wrong PW are answered alike (3), so the answer tells no one which MNs exist
    assert rep["rejected"] == 20 and rep["reject_codes"] == {"9011/QnRtn=3": 20}
    assert rep["unanswered"] == 0 and rep["bad_replies"] == 0
    assert rep["latency_p50_ms"] > 0 and rep["latency_p99_ms"] >= rep["latency_p50_ms"]
    with engine.connect() as conn:
        stored = conn.execute(select(func.count()).select_from(ReceivedPacket)).scalar()
        refused = conn.execute(select(func.count()).select_from(Quarantine)).scalar()
    assert stored == rep["acknowledged"]
    assert refused == rep["rejected"]
    assert _obs_count(engine, Resolution.HOUR) == 5 * 20 * 6  # 6 factors per packet
    engine.dispose()


def test_simulate_rejects_bad_arguments() -> None:
    r = runner.invoke(app, ["simulate", "--target", "nohost", "--duration", "1"])
    assert r.exit_code == 2 and "HOST:PORT" in r.output
    r = runner.invoke(app, ["simulate", "--target", "127.0.0.1:1", "--profile", "x"])
    assert r.exit_code == 2 and "unknown profile" in r.output
    r = runner.invoke(app, ["simulate", "--target", "127.0.0.1:1", "--edition", "2019"])
    assert r.exit_code == 2 and "edition" in r.output
    with pytest.raises(SimulateError):
        parse_target("127.0.0.1:70000")
    assert [len(d.mn) for d in make_devices(3, "2005")] == [14] * 3
    assert [len(d.mn) for d in make_devices(3, "2025")] == [24] * 3


def test_profiles_use_the_district_codes() -> None:
    d = load_district()
    for p in PROFILES.values():
        assert {f.code for f in p.factors} <= set(d.pollutants)
    fields = cp_fields(
        PROFILES["flue-gas"], {f.code: 1.0 for f in PROFILES["flue-gas"].factors}, "2005"
    )
    assert "02" in fields and "a21026" not in fields and "ZsAvg" not in fields["02"]


def test_live_split_packets_and_reconnects(tmp_path: Path) -> None:
    """Outlet hour packets split into PNUM/PNO parts and devices that reconnect after nearly
    every packet still get every hour stored exactly once."""
    import asyncio

    from qingshan.simulator.live import LiveFleet, bjt_now

    url = migrated_sqlite_url(tmp_path / "q.db")
    engine = make_engine(url)
    d = load_district()
    dl.load_registry(engine, d)
    outlets = [p for p in dl.device_plan(d) if p.kind == "outlet"][:6]
    proc, port = _start(
        [
            "serve",
            "--db",
            url,
            "--hj212-host",
            "127.0.0.1",
            "--hj212-port",
            "0",
            "--http-port",
            "0",
        ],
        tmp_path,
    )
    hour = bjt_now().replace(minute=0, second=0, microsecond=0) - timedelta(hours=3)
    fleet = LiveFleet(
        "127.0.0.1",
        port,
        d,
        outlets,
        history_end=hour,
        seed=dl.DEFAULT_SEED,
        split_share=1.0,
        reconnect_per_hour=1800.0,
    )

    expected: list[str] = []  # device-hours with something received (a few are lost)

    async def go() -> None:
        stop = asyncio.Event()
        tasks = [asyncio.create_task(fleet._device(dev, stop)) for dev in fleet.devices]
        for k in range(3):
            await fleet._enqueue_hour(hour + timedelta(hours=k))
            data = await fleet._hour(hour + timedelta(hours=k))
            expected.extend(dev.mn for dev in fleet.devices if fleet._hour_fields(dev, data))
        deadline = time.monotonic() + 40
        while time.monotonic() < deadline and any(not q.empty() for q in fleet._queues.values()):
            await asyncio.sleep(0.2)
        await asyncio.sleep(3.0)  # the last replies
        stop.set()
        await asyncio.gather(*tasks)

    try:
        asyncio.run(go())
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=30)
    assert fleet.stats.split_packets >= 10
    assert fleet.stats.reconnects > 0
    assert fleet.stats.rejected == 0
    with engine.connect() as conn:
        hours = conn.execute(
            select(Observation.device_id, Observation.data_time)
            .where(Observation.resolution == int(Resolution.HOUR))
            .distinct()
        ).all()
        refused = conn.execute(select(func.count()).select_from(Quarantine)).scalar()
    assert refused == 0
    assert len(expected) >= 3 * len(fleet.devices) - 2
    assert len(hours) == len(expected)  # every device-hour stored, all parts joined
    engine.dispose()
