"""`qingshan demo` live and `qingshan simulate` against a running gateway, end to end."""

import json
import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from conftest import migrated_sqlite_url
from qingshan.cli.main import app
from qingshan.demo import loader as dl
from qingshan.demo.district import load_district
from qingshan.services.registry import add_device
from qingshan.simulator.drive import SimulateError, make_devices, parse_target
from qingshan.simulator.profiles import PROFILES, cp_fields
from qingshan.storage.db import make_engine
from qingshan.storage.models import (
    Device,
    Observation,
    Quarantine,
    ReceivedPacket,
    Resolution,
)

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
