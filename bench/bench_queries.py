"""Query benchmark on a large observation table: the two questions dashboards ask all day.

* Q1 "one site, a time range": one device's minute data for 30 days (43,200 rows);
* Q2 "all sites, one day of hours": every device's hour values for one day (24 × devices);
* Q3 "all sites, one hour": every device's value for one hour.

The database holds minute data for ``--devices`` devices (default 200) from 2025-01-01, built
month by month until ``--months`` (default 12: 105 M rows) or the ``--budget`` seconds (default
600) run out, whichever is first — the size actually built is printed, with the build rate.
Rows are generated inside the database server (``INSERT … SELECT`` over ``generate_series`` on
PostgreSQL, a recursive CTE on SQLite): a set-wise bulk load with no per-row round trip. Hour
values for the same period are loaded too (Q2, Q3). Queries go through SQLAlchemy Core like the
export service and fetch every row into Python; each figure is the median of 7 runs on
different devices/days after one warm-up.

    python bench/bench_queries.py [--backend sqlite|postgresql|both] [--devices 200]
        [--months 12] [--budget 600] [--keep DIR]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from datetime import datetime, timedelta

from sqlalchemy import Engine, func, insert, select, text

from _scratch_db import scratch_pg
from qingshan.clock import utcnow
from qingshan.storage import partitions
from qingshan.storage.db import READONLY, init_db
from qingshan.storage.models import Device, Observation, Resolution

START = datetime(2025, 1, 1)


def month_start(i: int) -> datetime:
    y, m = divmod(START.month - 1 + i, 12)
    return datetime(START.year + y, m + 1, 1)


def register(engine: Engine, n: int) -> None:
    with engine.begin() as conn:
        conn.execute(
            insert(Device),
            [
                {
                    "mn": f"Q{i:023d}",
                    "pw": "123456",
                    "st": "22",
                    "edition": "2017",
                    "encoding": "gbk",
                    "active": True,
                    "created_at": utcnow(),
                }
                for i in range(n)
            ],
        )


def load_month_pg(engine: Engine, n: int, lo: datetime, hi: datetime) -> None:
    partitions.ensure_months(engine, {(lo.year, lo.month)})
    with engine.begin() as conn:
        conn.execute(text("SET LOCAL synchronous_commit = off"))
        for res, step in ((Resolution.MINUTE, "1 minute"), (Resolution.HOUR, "1 hour")):
            conn.execute(
                text(f"""
                INSERT INTO observation (device_id, resolution, data_time, code, value, flag,
                                         derived)
                SELECT d, {int(res)}, t, 'a34004',
                       to_char(20 + 15 * sin(extract(epoch FROM t) / 5000.0 + d), 'FM990.000'),
                       'N', false
                FROM generate_series(1, :n) AS d,
                     generate_series(CAST(:lo AS timestamp), CAST(:hi AS timestamp)
                                     - interval '{step}', interval '{step}') AS t
            """),
                {"n": n, "lo": lo, "hi": hi},
            )


def load_month_sqlite(engine: Engine, n: int, lo: datetime, hi: datetime) -> None:
    minutes = int((hi - lo).total_seconds() // 60)
    with engine.begin() as conn:
        for res, step, count in (
            (Resolution.MINUTE, 1, minutes),
            (Resolution.HOUR, 60, minutes // 60),
        ):
            conn.execute(
                text(f"""
                WITH RECURSIVE dev(d) AS (SELECT 1 UNION ALL SELECT d + 1 FROM dev WHERE d < :n),
                     k(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM k WHERE i < :count - 1)
                INSERT INTO observation (device_id, resolution, data_time, code, value, flag,
                                         derived)
                SELECT d, {int(res)},
                       strftime('%Y-%m-%d %H:%M:%S.000000', :lo, '+' || (i * {step}) || ' minutes'),
                       'a34004', printf('%.3f', 20 + 15 * ((i * 7 + d * 13) % 100) / 100.0),
                       'N', 0
                FROM dev, k ORDER BY d, i
            """),
                {"n": n, "count": count, "lo": lo.strftime("%Y-%m-%d %H:%M:%S")},
            )


def timed(engine: Engine, stmt: object, runs: int = 7, vary: object = None) -> tuple[float, int]:
    reader = engine.execution_options(**READONLY)
    times, rows = [], 0
    for k in range(runs + 1):
        params = vary(k) if callable(vary) else {}
        t = time.perf_counter()
        with reader.connect() as conn:
            rows = len(conn.execute(stmt, params).all())  # type: ignore[call-overload]
        if k:
            times.append(time.perf_counter() - t)
    return statistics.median(times), rows


def bench(url: str, label: str, args: argparse.Namespace) -> None:
    engine = init_db(url)
    register(engine, args.devices)
    sqlite = engine.dialect.name == "sqlite"
    t0 = time.perf_counter()
    built = 0
    for i in range(args.months):
        lo, hi = month_start(i), month_start(i + 1)
        (load_month_sqlite if sqlite else load_month_pg)(engine, args.devices, lo, hi)
        built = i + 1
        elapsed = time.perf_counter() - t0
        print(f"  built month {lo:%Y-%m} ({elapsed:.0f}s elapsed)", flush=True)
        if elapsed * (built + 1) / built > args.budget:
            break
    build_s = time.perf_counter() - t0
    if not sqlite:
        with engine.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT").execute(
                text("VACUUM ANALYZE observation")
            )
    else:
        with engine.connect() as conn:
            conn.exec_driver_sql("ANALYZE")
    with engine.connect() as conn:
        n = conn.execute(select(func.count()).select_from(Observation)).scalar() or 0
    end = month_start(built)
    print(
        f"== {label}: {n:,} observation rows ({args.devices} devices, {built} month(s) of "
        f"minute data + hour data) built in {build_s:.0f}s = {n / build_s:,.0f} rows/s"
    )
    o = Observation
    days = max(1, (end - START).days - 30)
    q1 = (
        select(o.data_time, o.code, o.value, o.flag)
        .where(
            o.device_id == text(":dev"),
            o.resolution == int(Resolution.MINUTE),
            o.data_time >= text(":lo"),
            o.data_time < text(":hi"),
        )
        .order_by(o.data_time)
    )

    def v1(k: int) -> dict[str, object]:
        lo = START + timedelta(days=(k * 37) % days)
        return {"dev": 1 + (k * 53) % args.devices, "lo": lo, "hi": lo + timedelta(days=30)}

    span = (end - START).days
    q2 = (
        select(o.device_id, o.data_time, o.value, o.flag)
        .where(
            o.resolution == int(Resolution.HOUR),
            o.data_time >= text(":lo"),
            o.data_time < text(":hi"),
        )
        .order_by(o.device_id, o.data_time)
    )

    def v2(k: int) -> dict[str, object]:
        lo = START + timedelta(days=(k * 41) % span)
        return {"lo": lo, "hi": lo + timedelta(days=1)}

    q3 = select(o.device_id, o.value, o.flag).where(
        o.resolution == int(Resolution.HOUR), o.data_time == text(":at")
    )

    def v3(k: int) -> dict[str, object]:
        return {"at": START + timedelta(hours=(k * 977) % (span * 24))}

    if sqlite:  # SQLite compares the stored text form

        def fmt(d: dict[str, object]) -> dict[str, object]:
            return {
                k: (v.isoformat(" ", "microseconds") if isinstance(v, datetime) else v)
                for k, v in d.items()
            }

        v1s, v2s, v3s = (lambda k: fmt(v1(k))), (lambda k: fmt(v2(k))), (lambda k: fmt(v3(k)))
    else:
        v1s, v2s, v3s = v1, v2, v3
    for name, q, v in (
        ("Q1 one site, 30 days of minutes", q1, v1s),
        ("Q2 all sites, one day of hours", q2, v2s),
        ("Q3 all sites, one hour", q3, v3s),
    ):
        med, rows = timed(engine, q, vary=v)
        print(f"  {name:<34} {rows:>7,} rows  median {med * 1000:8.1f} ms")
    engine.dispose()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    ap.add_argument("--devices", type=int, default=200)
    ap.add_argument("--months", type=int, default=12)
    ap.add_argument("--budget", type=float, default=600.0, help="seconds for building the data")
    ap.add_argument("--keep", help="directory for the SQLite file (default: a temp dir)")
    args = ap.parse_args()
    print(f"bench_queries on {os.cpu_count()} CPUs (shared machine)")
    if args.backend in ("sqlite", "both"):
        with tempfile.TemporaryDirectory(dir=args.keep) as d:
            bench(f"sqlite:///{d}/q.db", "SQLite", args)
    if args.backend in ("postgresql", "both"):
        with scratch_pg() as url:
            bench(url, "PostgreSQL (monthly partitions)", args)


if __name__ == "__main__":
    main()
