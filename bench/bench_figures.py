"""Figures benchmark on the demo district (崆峒区 sample: 5 national stations, 40 micro-stations,
3 sections, 10 drinking-water sources, 5 noise stations; all data simulated).

1. seed one year of hourly data (2025-03-01 … 2026-02-28) through the ingestion bulk path;
2. recompute every figure of that year (``recompute_all``): hourly AQI, daily figures, month
   and year evaluations of every station and region, water months, noise days;
3. one new hour for every device (the hour after the data), then ``update_dirty``;
4. the monthly report (2026-02) as .docx and .xlsx from the stored figures.

    python bench/bench_figures.py [--backend sqlite|postgresql|both] [--keep DIR]

The machine has 2 cores shared with other work: figures are indicative.
"""

from __future__ import annotations

import argparse
import secrets
import tempfile
import time
from datetime import datetime
from pathlib import Path

from _scratch_db import scratch_pg
from qingshan.demo import loader as demo_loader
from qingshan.demo.district import load_district
from qingshan.demo.synth import generate
from qingshan.services.figures import recompute_all, update_dirty
from qingshan.services.reports import monthly_report, to_docx, to_xlsx
from qingshan.storage.db import init_db, session_factory

START, END = datetime(2025, 3, 1), datetime(2026, 3, 1)


def run(url: str, label: str) -> None:
    engine = init_db(url)
    d = load_district()
    t = time.perf_counter()
    ids = demo_loader.load_registry(engine, d)
    res = generate(d, START, END, kinds=("air", "micro", "section", "source", "noise"))
    rows = demo_loader.result_rows(res, ids)
    t_gen = time.perf_counter() - t
    t = time.perf_counter()
    demo_loader.ingest_rows(engine, rows)
    t_write = time.perf_counter() - t
    devices = len({r["device_id"] for r in rows})
    print(
        f"[{label}] seeded {len(rows):,} hourly values of {devices} devices "
        f"(generate {t_gen:.1f} s, write {t_write:.1f} s)"
    )
    sf = session_factory(engine)

    t = time.perf_counter()
    stats = recompute_all(sf)
    t_all = time.perf_counter() - t
    print(
        f"[{label}] recompute a full year: {t_all:.1f} s — {stats.air_hours:,} hourly AQI, "
        f"{stats.air_days:,} daily, {stats.air_periods:,} month/year evaluations, "
        f"{stats.water_months} water months, {stats.noise_days:,} noise days"
    )

    nxt = datetime(2026, 3, 1, 0)
    hour = [
        {**r, "data_time": nxt}
        for r in demo_loader.result_rows(
            generate(d, datetime(2026, 2, 28, 23), END, kinds=("air", "micro", "noise")), ids
        )
    ]
    t = time.perf_counter()
    demo_loader.ingest_rows(engine, hour)
    t_w = time.perf_counter() - t
    t = time.perf_counter()
    st = update_dirty(sf)
    t_up = time.perf_counter() - t
    print(
        f"[{label}] one new hour for {st.marks} devices ({len(hour)} values): write "
        f"{t_w * 1000:.0f} ms, update figures {t_up:.2f} s ({st.air_days} daily, "
        f"{st.air_hours} hourly, {st.air_periods} month/year figures rewritten)"
    )

    with sf() as s:
        t = time.perf_counter()
        rep = monthly_report(s, year=2026, month=2)
        t_build = time.perf_counter() - t
    t = time.perf_counter()
    docx = to_docx(rep)
    t_docx = time.perf_counter() - t
    t = time.perf_counter()
    xlsx = to_xlsx(rep)
    t_xlsx = time.perf_counter() - t
    print(
        f"[{label}] monthly report 2026-02: content+charts {t_build:.2f} s, .docx "
        f"{t_docx:.2f} s ({len(docx) // 1024} KiB), .xlsx {t_xlsx:.2f} s "
        f"({len(xlsx) // 1024} KiB)"
    )
    engine.dispose()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="sqlite")
    ap.add_argument("--keep", type=Path, help="keep the SQLite database in this directory")
    a = ap.parse_args()
    if a.backend in ("sqlite", "both"):
        with tempfile.TemporaryDirectory() as tmp:
            where = a.keep or Path(tmp)
            where.mkdir(parents=True, exist_ok=True)
            db = where / f"bench-figures-{secrets.token_hex(3)}.db"
            run(f"sqlite:///{db}", "sqlite")
    if a.backend in ("postgresql", "both"):
        with scratch_pg() as url:
            run(url, "postgresql")


if __name__ == "__main__":
    main()
