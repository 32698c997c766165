"""Supervision statistics benchmark: a month of ``source_stats`` (rates, 折算 exceedance,
episodes, emissions) for N gas outlets from hourly values.

Seeds N outlets (two per enterprise, each with a permit limiting SO2 and NOx at a reference O2
of 9 %), and a month of hourly SO2, NOx, O2 and flow records per outlet (with F, C, M flags,
gaps and a few exceedances), then times ``source_stats`` over the month and the alarm
detection (``alarms.detect``, 48-hour look-back) over the same data.

    python bench/bench_sources_stats.py [--outlets 2000] [--days 30] \
        [--backend sqlite|postgresql|both]

The machine has 2 cores shared with other work: figures are indicative.
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path

from _scratch_db import scratch_pg
from qingshan.clock import from_cst, utcnow
from qingshan.roles import CLI
from qingshan.services.permits import LimitSpec, replace_limits, save_permit
from qingshan.services.sources import alarms, stats
from qingshan.storage import partitions
from qingshan.storage.db import init_db, session_scope
from qingshan.storage.models import Device, Enterprise, Region, Site
from qingshan.storage.writes import upsert_observations

START = datetime(2026, 11, 1)
CODES = ("a21026", "a21002", "a19001", "a00000")


def seed(engine: object, outlets: int, days: int) -> int:
    from sqlalchemy import Engine

    assert isinstance(engine, Engine)
    partitions.ensure_months(engine, [(2026, 11), (2026, 12)])
    devices: list[int] = []
    with session_scope(engine) as s:
        s.add(Region(code="620802", name="崆峒区", level="county"))
        s.flush()
        for i in range(outlets // 2):
            e = Enterprise(name=f"基准企业{i:04d}", credit_code=None, region_code="620802")
            s.add(e)
            s.flush()
            permit = save_permit(
                s, enterprise_id=e.id, number=f"BENCH{i:06d}", management_class="重点管理",
                valid_from=date(2026, 1, 1), valid_to=None,
            )  # fmt: skip
            specs = []
            for k in range(2):
                site = Site(
                    code=f"B{i:04d}-DA{k:03d}",
                    name=f"排放口{k}",
                    kind="enterprise_outlet",
                    enterprise_id=e.id,
                    outlet_medium="gas",
                    region_code="620802",
                )
                s.add(site)
                s.flush()
                d = Device(mn=f"BENCH{i:06d}{k:02d}", pw="123456", st="31", site_id=site.id,
                           created_at=utcnow())  # fmt: skip
                s.add(d)
                s.flush()
                devices.append(d.id)
                for code, lim in (("a21026", "200"), ("a21002", "300")):
                    specs.append(LimitSpec(site.id, code, lim, "mg/m³", "小时均值",
                                           "GB 13271-2014", o2_ref="9"))  # fmt: skip
            replace_limits(s, permit, specs)
    rng = random.Random(13)
    n = 0
    hours = days * 24
    with engine.begin() as conn:
        for dev in devices:
            rows = []
            for h in range(hours):
                r = rng.random()
                if r < 0.02:
                    continue  # missing hour
                flag = "F" if r < 0.06 else "C" if r < 0.07 else "M" if r < 0.075 else "N"
                t = START + timedelta(hours=h)
                so2 = "250.5" if r > 0.995 else f"{80 + rng.random() * 60:.2f}"
                for code, value in zip(
                    CODES, (so2, f"{150 + rng.random() * 80:.2f}", f"{9 + rng.random():.2f}",
                            f"{20 + rng.random() * 5:.2f}"),
                    strict=True,
                ):  # fmt: skip
                    rows.append({"device_id": dev, "resolution": 2, "data_time": t, "code": code,
                                 "value": value, "flag": flag, "derived": False})  # fmt: skip
            upsert_observations(conn, rows, derived=False)
            n += len(rows)
    return n


def run(url: str, label: str, outlets: int, days: int) -> None:
    engine = init_db(url)
    t = time.perf_counter()
    n = seed(engine, outlets, days)
    took = time.perf_counter() - t
    print(f"[{label}] seeded {outlets} outlets, {n:,} hourly values in {took:.1f} s", flush=True)
    end_day = START.date() + timedelta(days=days - 1)
    period = stats.period(START.date(), end_day, START + timedelta(days=days))
    t, cpu = time.perf_counter(), time.process_time()
    with session_scope(engine) as s:
        res = stats.source_stats(s, CLI, period)
    dt, dcpu = time.perf_counter() - t, time.process_time() - cpu
    n_out = sum(len(e.outlets) for e in res)
    n_ep = sum(len(o.episodes) for e in res for o in e.outlets)
    print(
        f"[{label}] source_stats for {days} days: {dt:.1f} s for {n_out} outlets "
        f"({dt / n_out * 1000:.1f} ms per outlet, {n / dt:,.0f} values/s; this process's CPU "
        f"{dcpu:.1f} s, the rest is waiting on the database and a busy machine), {n_ep} episodes",
        flush=True,
    )
    t = time.perf_counter()
    with session_scope(engine) as s:
        summary = alarms.detect(s, now=from_cst(START + timedelta(days=days)))
    print(
        f"[{label}] alarm detection (48 h look-back): {time.perf_counter() - t:.1f} s, "
        f"{summary.created} episodes created",
        flush=True,
    )
    t = time.perf_counter()
    with session_scope(engine) as s:
        again = alarms.detect(s, now=from_cst(START + timedelta(days=days)))
    print(
        f"[{label}] detection again, nothing new: {time.perf_counter() - t:.1f} s "
        f"({again.created} created, {again.updated} updated)",
        flush=True,
    )
    engine.dispose()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--outlets", type=int, default=2000)
    ap.add_argument("--days", type=int, default=30)
    ap.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    a = ap.parse_args()
    if a.backend in ("sqlite", "both"):
        with tempfile.TemporaryDirectory() as tmp:
            run(f"sqlite:///{Path(tmp) / 'bench.db'}", "sqlite", a.outlets, a.days)
    if a.backend in ("postgresql", "both"):
        with scratch_pg() as url:
            run(url, "postgresql", a.outlets, a.days)


if __name__ == "__main__":
    main()
