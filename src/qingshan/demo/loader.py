"""Load the sample district (:mod:`qingshan.demo.district`) into the database, with simulated
history. The demo's only way into the application: production code reads the database, never
the demo's files.

Two steps, both idempotent:

* :func:`load_registry` writes the registry through the registry import, exactly as a real
  county's workbook is loaded: :mod:`qingshan.demo.workbook` turns the district's data files
  into the registry workbook (regions province → city → county → township, the county
  outlines, 崆峒区 as the deployment's own region with the 模拟数据 notice, enterprises,
  every site, devices with their factors, one demo permit per enterprise with its outlets'
  limits, the plan target) and :func:`qingshan.services.registry.workbook.apply` writes it,
  all or nothing, matching rows by their natural keys (region code, credit code, site code,
  MN, permit number), so a second run changes nothing (but the demo permits' validity, which
  follows the current year). The HJ 212 factors of both code editions are added beside it.
* :func:`backfill` writes simulated history from :func:`qingshan.demo.synth.generate`
  (模拟数据) for [start, end): hourly values for every station and outlet (4-hourly for the
  water stations, as the national automatic stations publish), minute values for the last
  ``minute_days`` days, as *device-sent* observations (``derived = false``, what the devices'
  CN 2061 / 2051 uploads would have stored), plus the day roll-ups the storage design derives
  from hours (``derived = true``), all through the bulk upsert
  (:func:`qingshan.services.ingest.upsert_observations`, one driver call per batch).

Day roll-ups of whole days inside the window are computed here, vectorised, with exactly the
rules of :mod:`qingshan.services.rollups` (valid = flag N; ≥ 20 valid hours; mean x̄ = Σxᵢ/n in
exact integer arithmetic at the inputs' decimals, rounded half-to-even per GB/T 8170; invalid
days keep ``samples`` and the most frequent invalid flag, or B). Days cut by the window's
edges are marked dirty and left to :func:`qingshan.services.rollups.run_rollups`, which sees
the rows on both sides (earlier history, live data).

History is written in day-aligned chunks, one transaction each, oldest first, so an
interrupted load leaves a consistent prefix and :func:`history_end` tells where to resume.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from importlib import resources
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import Connection, Engine, func, insert, select

from qingshan.clock import utcnow
from qingshan.demo.district import District
from qingshan.demo.synth import (
    AIR_CODES,
    AIR_UNITS,
    GROUND_SOURCE_CODES,
    HOUR,
    MINUTE,
    NOISE_CODE,
    SECTION_CODES,
    WATER_STEP,
    WATER_UNITS,
    Series,
    SynthResult,
    generate,
)
from qingshan.demo.workbook import credit_code, district_records
from qingshan.protocol.hj212.codes import pollutant_info
from qingshan.roles import Principal, Role
from qingshan.services import map_layers
from qingshan.services.registry.workbook import apply as apply_workbook
from qingshan.services.registry.workbook import workbook_from_records
from qingshan.services.rollups import RollupRules, day_coverage, default_rules
from qingshan.storage import bulk, partitions
from qingshan.storage.db import READONLY, session_scope
from qingshan.storage.models import (
    Device,
    Enterprise,
    Factor,
    Observation,
    Region,
    Resolution,
    Site,
    SiteKind,
)
from qingshan.storage.models_registry import (
    IndicatorTarget,
    MapFeature,
    Permit,
    PermitLimit,
    RegionBoundary,
)
from qingshan.storage.writes import dirty_marks, mark_dirty, upsert_observations

DEFAULT_SEED = 2020
DEFAULT_MONTHS = 13
DEFAULT_MINUTE_DAYS = 3
HOURLY_KINDS = ("air", "micro", "section", "source", "outlet", "noise")
MINUTE_KINDS = ("air", "micro", "outlet", "noise")
WATER_KINDS = ("section", "source")  # sampled every WATER_STEP
NOISE_NAME = "等效连续A声级"
Progress = Callable[[int, int], None]  # (hours done, hours total)
_TIME_INDEX = "ix_observation_resolution_data_time"  # declared on Observation


class DemoLoadError(ValueError):
    """The demo data cannot be loaded (bad window, database already holds other data …)."""


@dataclass(frozen=True, slots=True)
class DemoDevice:
    """A registered demo device: what the live simulator needs to speak for it."""

    label: str  # site id or enterprise/outlet
    kind: str  # air / micro / section / source / noise / outlet
    mn: str
    pw: str
    st: str
    edition: str
    codes: tuple[str, ...]


def device_plan(d: District) -> list[DemoDevice]:
    """Every device of the district with its system code (ST) and the factors it measures."""
    out: list[DemoDevice] = []
    for s in d.air_stations:
        out.append(
            DemoDevice(
                s.id, "air", s.device.mn, s.device.password, "22", s.device.edition, AIR_CODES
            )
        )
    for s in d.micro_stations:
        out.append(
            DemoDevice(
                s.id, "micro", s.device.mn, s.device.password, "22", s.device.edition, AIR_CODES
            )
        )
    for ws in d.sections:
        out.append(
            DemoDevice(
                ws.id,
                "section",
                ws.device.mn,
                ws.device.password,
                "21",
                ws.device.edition,
                SECTION_CODES,
            )
        )
    for src in d.water_sources:
        ground = src.water_type == "地下水"
        out.append(
            DemoDevice(
                src.id,
                "source",
                src.device.mn,
                src.device.password,
                "24" if ground else "21",
                src.device.edition,
                GROUND_SOURCE_CODES if ground else SECTION_CODES,
            )
        )
    for ns in d.noise_stations:
        out.append(
            DemoDevice(
                ns.id,
                "noise",
                ns.device.mn,
                ns.device.password,
                "23",
                ns.device.edition,
                (NOISE_CODE,),
            )
        )
    for e, o in d.outlets():
        out.append(
            DemoDevice(
                f"{e.id}/{o.code}",
                "outlet",
                o.device.mn,
                o.device.password,
                "31" if o.medium == "gas" else "32",
                o.device.edition,
                tuple(o.pollutants),
            )
        )
    return out


# --------------------------------------------------------------------------- registry

# Whoever runs ``qingshan demo`` already holds the database: the registry import records the
# demo's rows as made by "demo".
DEMO = Principal(role=Role.ADMIN, username="demo", via="cli")


def _factor_rows(d: District) -> list[dict[str, Any]]:
    rows: dict[tuple[str, str], dict[str, Any]] = {}

    def medium(code: str) -> str:
        return {"a": "air", "w": "water"}.get(code[:1], "noise")

    for p in d.pollutants.values():
        rows[(p.code, "2017")] = dict(
            code=p.code,
            edition="2017",
            name=p.name,
            unit=p.unit,
            medium=medium(p.code),
            code_2017=None,
        )
        if p.code_2005:
            rows[(p.code_2005, "2005")] = dict(
                code=p.code_2005,
                edition="2005",
                name=p.name,
                unit=p.unit,
                medium=medium(p.code),
                code_2017=p.code,
            )
    units = {**AIR_UNITS, **WATER_UNITS}
    for code, unit in units.items():
        if (code, "2017") not in rows:
            info = pollutant_info(code)
            rows[(code, "2017")] = dict(
                code=code,
                edition="2017",
                name=info.name if info else code,
                unit=unit,
                medium=medium(code),
                code_2017=None,
            )
    rows[(NOISE_CODE, "2017")] = dict(
        code=NOISE_CODE,
        edition="2017",
        name=NOISE_NAME,
        unit="dB(A)",
        medium="noise",
        code_2017=None,
    )
    return list(rows.values())


def device_rows(d: District) -> list[dict[str, Any]]:
    """The district's devices as rows of the registry workbook's 设备 sheet."""
    return [
        {
            "mn": p.mn,
            "pw": p.pw,
            "st": p.st,
            "edition": p.edition,
            "encoding": "gbk",
            "site": p.label,
            "minute_interval": 1 if p.kind in MINUTE_KINDS else None,
            # automatic water stations sample every 4 hours (synth.WATER_STEP)
            "report_interval": WATER_STEP // 60 if p.kind in WATER_KINDS else None,
            "factors": ",".join(sorted(set(p.codes))),
            "status": "在用",
        }
        for p in device_plan(d)
    ]


def district_workbook(d: District, now: datetime | None = None) -> bytes:
    """The district's registry as a workbook (.xlsx bytes), generated from its data files:
    what :func:`load_registry` imports."""
    return workbook_from_records(district_records(d, now or utcnow(), device_rows(d)))


def _adopt_credit_codes(engine: Engine, d: District) -> None:
    """Databases loaded before the registry import matched demo enterprises by name and gave
    them no credit code; give them theirs so the import updates instead of duplicating."""
    with session_scope(engine) as s:
        for e in d.enterprises:
            row = s.scalar(
                select(Enterprise).where(
                    Enterprise.name == e.name, Enterprise.credit_code.is_(None)
                )
            )
            if row is not None:
                row.credit_code = credit_code(d, e)


def load_registry(engine: Engine, d: District) -> dict[str, int]:
    """Write the district's registry through the registry import (the same path as a real
    county's workbook) and the HJ 212 factors its devices use; returns MN → device id."""
    _adopt_credit_codes(engine, d)
    report = apply_workbook(engine, district_workbook(d), DEMO)
    if not report.ok:
        problems = "; ".join(str(p) for p in report.problems[:5])
        raise DemoLoadError(f"the demo registry workbook was refused: {problems}")
    with session_scope(engine) as s:
        # codes already present (``qingshan init`` seeds the HJ 212 tables) are kept: the
        # deployment's rows win; the district only adds what is missing (e.g. LAeq)
        known = {(f.code, f.edition) for f in s.scalars(select(Factor))}
        for fr in _factor_rows(d):
            if (fr["code"], fr["edition"]) not in known:
                s.add(Factor(**fr))
        ids = {mn: i for mn, i in s.execute(select(Device.mn, Device.id))}
    load_map_layers(engine)
    return {p.mn: ids[p.mn] for p in device_plan(d)}


# The demo's schematic reference layers (data/SOURCES.md), imported like any deployment's
# files (``qingshan map import``): layer kind → file in the data folder.
MAP_LAYER_FILES = {
    "river": "map_rivers.geojson",
    "road": "map_roads.geojson",
    "place": "map_places.geojson",
}


def load_map_layers(engine: Engine) -> dict[str, int]:
    """Import the district's schematic rivers, roads and place names through the map layer
    service (each layer replaced, so a second load leaves no duplicates); kind → features."""
    root = resources.files("qingshan.demo").joinpath("data")
    parsed = {
        kind: map_layers.parse_features(
            map_layers.load_file_text(root.joinpath(name).read_text("utf-8")), kind
        )
        for kind, name in MAP_LAYER_FILES.items()
    }
    with session_scope(engine) as s:
        return {
            kind: map_layers.import_features(
                s, DEMO, feats, kind, source=f"{MAP_LAYER_FILES[kind]}（演示区县示意图层）"
            ).total
            for kind, feats in parsed.items()
        }


def history_end(engine: Engine, device_ids: Iterable[int]) -> datetime | None:
    """End (exclusive) of the stored hourly history of the demo devices, None if none."""
    ids = list(device_ids)
    o = Observation.__table__.c
    with engine.execution_options(**READONLY).connect() as conn:
        last = conn.execute(
            select(func.max(o.data_time)).where(
                o.resolution == int(Resolution.HOUR),
                o.device_id.in_(ids),
                o.derived.is_(False),
            )
        ).scalar()
        conn.rollback()
    if last is None:
        return None
    if isinstance(last, str):  # SQLite without a typed column in an aggregate
        last = datetime.fromisoformat(last)
    return last.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)


# --------------------------------------------------------------------------- rows


def decimals(v: npt.NDArray[np.float64]) -> int:
    """The fewest decimals (0-6) that represent every value exactly (after synth's rounding)."""
    if v.size == 0:
        return 0
    for d in range(7):
        x = v * 10.0**d
        if np.all(np.abs(x - np.rint(x)) < 1e-6 * np.maximum(1.0, np.abs(x))):
            return d
    return 6


def _texts(v: npt.NDArray[np.float64], d: int) -> list[str]:
    fmt = f"{{:.{d}f}}".format
    return [fmt(x) for x in v.tolist()]


def _times(t: npt.NDArray[np.datetime64], text: bool = False) -> list[Any]:
    """Python datetimes, or (``text``) the exact text SQLAlchemy stores for them on SQLite
    (``YYYY-MM-DD HH:MM:SS.ffffff``), made by numpy instead of row by row in the driver
    layer: the bulk path passes text through unchanged."""
    if text:
        iso = np.datetime_as_string(t.astype("datetime64[us]"), unit="us")
        texts: list[str] = np.char.replace(iso, "T", " ").tolist()
        return texts
    out: list[datetime] = t.astype("datetime64[us]").astype(object).tolist()
    return out


def _quant_text(q: int, d: int) -> str:
    """``q`` × 10⁻ᵈ as decimal text with exactly d decimals (what Decimal.quantize prints)."""
    if d == 0:
        return str(q)
    sign = "-" if q < 0 else ""
    a = abs(q)
    return f"{sign}{a // 10**d}.{a % 10**d:0{d}d}"


def _exact_means(
    ints: npt.NDArray[np.int64], groups: npt.NDArray[np.int64], n_groups: int
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Per group: mean of integers rounded half-to-even (as integer), and the count."""
    sums = np.zeros(n_groups, dtype=np.int64)
    np.add.at(sums, groups, ints)
    cnt = np.bincount(groups, minlength=n_groups).astype(np.int64)
    safe = np.maximum(cnt, 1)
    q = np.floor_divide(sums, safe)
    r = sums - q * safe  # 0 <= r < n
    up = (2 * r > safe) | ((2 * r == safe) & (q % 2 == 1))
    return q + up.astype(np.int64), cnt


def day_rollups(
    s: Series,
    device_id: int,
    lo: np.datetime64,
    hi: np.datetime64,
    rules: RollupRules,
    *,
    text_times: bool = False,
) -> list[dict[str, Any]]:
    """Derived day rows of one hourly series for the whole days in [lo, hi).

    Same result as :func:`qingshan.services.rollups.aggregate` over the stored hour rows.
    """
    rec = s.received()
    day = s.time.astype("datetime64[D]")
    whole = rec & (day >= lo) & (day + np.timedelta64(1, "D") <= hi)
    if not whole.any():
        return []
    t_days, idx = np.unique(day[whole], return_inverse=True)
    n_days = len(t_days)
    v = s.value[whole]
    flags = s.flag[whole]
    valid = np.isin(flags, list(rules.valid_flags))
    d = decimals(s.value[rec])
    scale = 10**d
    ints = np.rint(v * scale).astype(np.int64)
    means, cnt_valid = _exact_means(ints[valid], idx[valid], n_days)
    big = np.iinfo(np.int64).max
    vmin = np.full(n_days, big, dtype=np.int64)
    vmax = np.full(n_days, -big, dtype=np.int64)
    np.minimum.at(vmin, idx[valid], ints[valid])
    np.maximum.at(vmax, idx[valid], ints[valid])
    zs_means: npt.NDArray[np.int64] | None = None
    zs_cnt: npt.NDArray[np.int64] | None = None
    zd = 0
    if s.converted is not None:
        zv = s.converted[whole]
        zok = valid & ~np.isnan(zv)
        if zok.any():
            zd = decimals(zv[zok])
            zints = np.rint(zv[zok] * 10**zd).astype(np.int64)
            zs_means, zs_cnt = _exact_means(zints, idx[zok], n_days)
    times = _times(t_days, text_times)
    # each value covers the series' interval: 20 hourly values, or 5 of a water station's 6
    unit, needed = day_coverage(rules, timedelta(seconds=s.interval_s))
    ok = cnt_valid * unit >= needed
    order = {f: i for i, f in enumerate(rules.invalid_flag_order)}
    rows: list[dict[str, Any]] = []
    bad_by_day: dict[int, Counter[str]] = {}
    if not ok.all():
        bad_idx = idx[~valid]
        bad_flags = flags[~valid]
        for i, f in zip(bad_idx.tolist(), bad_flags.tolist(), strict=True):
            if not ok[i]:
                bad_by_day.setdefault(i, Counter())[f] += 1
    for i in range(n_days):
        row: dict[str, Any] = {
            "device_id": device_id,
            "resolution": int(Resolution.DAY),
            "data_time": times[i],
            "code": s.pollutant,
            "value": None,
            "vmin": None,
            "vmax": None,
            "zs": None,
            "flag": "B",
            "derived": True,
            "samples": int(cnt_valid[i]),
        }
        if ok[i]:
            row["value"] = _quant_text(int(means[i]), d)
            row["vmin"] = _quant_text(int(vmin[i]), d)
            row["vmax"] = _quant_text(int(vmax[i]), d)
            if zs_means is not None and zs_cnt is not None and zs_cnt[i] > 0:
                row["zs"] = _quant_text(int(zs_means[i]), zd)
            row["flag"] = "N"
        else:
            bad = bad_by_day.get(i)
            if bad:
                row["flag"] = min(bad, key=lambda f: (-bad[f], order.get(f or "", 99), f or ""))
        rows.append(row)
    return rows


def observation_rows(
    s: Series, device_id: int, resolution: Resolution, *, text_times: bool = False
) -> list[dict[str, Any]]:
    """Device-sent rows (value, 折算 value, flag) of the received values of one series
    (``text_times``: SQLite's stored text instead of datetimes, see :func:`_times`)."""
    rec = s.received()
    if not rec.any():
        return []
    v = s.value[rec]
    texts = _texts(v, decimals(v))
    zs: list[str | None]
    if s.converted is not None:
        z = s.converted[rec]
        zok = ~np.isnan(z)
        zt = _texts(np.where(zok, z, 0.0), decimals(z[zok]))
        zs = [t if k else None for t, k in zip(zt, zok.tolist(), strict=True)]
    else:
        zs = [None] * len(texts)
    res = int(resolution)
    code = s.pollutant
    return [
        {
            "device_id": device_id,
            "resolution": res,
            "data_time": t,
            "code": code,
            "value": x,
            "zs": z,
            "flag": f or None,
            "derived": False,
        }
        for t, x, z, f in zip(
            _times(s.time[rec], text_times), texts, zs, s.flag[rec].tolist(), strict=True
        )
    ]


def result_rows(
    res: SynthResult,
    device_ids: dict[str, int],
    labels: Iterable[str] | None = None,
    resolution: Resolution = Resolution.HOUR,
) -> list[dict[str, Any]]:
    """:func:`observation_rows` of every series of ``res`` whose device is registered (only the
    sites / outlets in ``labels`` when given), as datetimes."""
    wanted = None if labels is None else set(labels)
    rows: list[dict[str, Any]] = []
    for s in res.series:
        if (wanted is None or s.site_id in wanted) and s.mn in device_ids:
            rows += observation_rows(s, device_ids[s.mn], resolution)
    return rows


def ingest_rows(engine: Engine, rows: list[dict[str, Any]], batch: int = 20_000) -> None:
    """Store device rows as live ingestion does, one transaction per batch: upsert, then the
    roll-up and figure dirty marks of the touched buckets (:func:`dirty_marks`), so
    :func:`~qingshan.services.rollups.run_rollups` and the figures' ``update_dirty`` pick
    them up. Slower than :func:`backfill` (no pre-computed roll-ups); for tests, benchmarks
    and late data."""
    partitions.ensure_months(engine, {partitions.month_of(r["data_time"]) for r in rows})
    for i in range(0, len(rows), batch):
        chunk = rows[i : i + batch]
        with engine.begin() as conn:
            upsert_observations(conn, chunk, derived=False)
            mark_dirty(conn, dirty_marks(chunk))


# --------------------------------------------------------------------------- backfill


@dataclass
class BackfillStats:
    start: datetime
    end: datetime
    hour_rows: int = 0
    minute_rows: int = 0
    day_rows: int = 0
    edge_marks: int = 0

    @property
    def rows(self) -> int:
        return self.hour_rows + self.minute_rows + self.day_rows


def _key(r: dict[str, Any]) -> tuple[int, int, Any, str]:
    return r["device_id"], r["resolution"], r["data_time"], r["code"]


def _write(
    conn: Connection,
    rows: list[dict[str, Any]],
    *,
    derived: bool,
    fresh: bool,
    batch: int = 100_000,
) -> None:
    """Upsert ``rows`` in primary-key order (B-tree appends instead of random page writes),
    one transaction. ``fresh``: the table was empty and chunks never overlap, so a plain
    INSERT (no conflict handling) is enough."""
    if not rows:
        return
    rows.sort(key=_key)
    if conn.dialect.name == "postgresql":
        months = {partitions.month_of(r["data_time"]) for r in rows}
        partitions.ensure_months(conn.engine, months)
    with conn.begin():
        for i in range(0, len(rows), batch):
            if fresh:
                bulk.executemany(
                    conn, "demo-observation-insert", insert(Observation), rows[i : i + batch]
                )
            else:
                upsert_observations(conn, rows[i : i + batch], derived=derived)


@contextmanager
def _loading(engine: Engine) -> Iterator[tuple[Connection, bool]]:
    """One connection for the whole load. On SQLite into an empty ``observation`` table
    (a fresh demo), the secondary time index is built once at the end instead of row by row
    and the load is not fsynced per chunk (an interrupted fresh load is redone with
    ``--reset``); the durable settings are restored afterwards."""
    with engine.connect() as conn:
        sqlite = conn.dialect.name == "sqlite"
        fresh = conn.execute(select(Observation.device_id).limit(1)).first() is None
        conn.rollback()
        if sqlite:
            dbapi: Any = conn.connection.driver_connection
            dbapi.execute("PRAGMA cache_size=-131072")  # index pages stay in memory
            if fresh:
                dbapi.execute("PRAGMA synchronous=OFF")
                dbapi.execute(f"DROP INDEX IF EXISTS {_TIME_INDEX}")
        try:
            yield conn, fresh
        finally:
            if sqlite:
                dbapi = conn.connection.driver_connection
                # unconditionally: also repairs a fresh load that was killed half-way
                dbapi.execute(
                    f"CREATE INDEX IF NOT EXISTS {_TIME_INDEX} "
                    "ON observation (resolution, data_time)"
                )
                dbapi.execute("PRAGMA synchronous=FULL")
                dbapi.execute("PRAGMA cache_size=-2000")


def _chunks(start: datetime, end: datetime, days: int) -> list[tuple[datetime, datetime]]:
    out = []
    a = start
    while a < end:
        b = (
            (a.replace(hour=0) + timedelta(days=days)).replace(day=1)
            if days >= 28
            else (a.replace(hour=0) + timedelta(days=days))
        )
        b = min(max(b, a + timedelta(hours=1)), end)
        out.append((a, b))
        a = b
    return out


def backfill(
    engine: Engine,
    d: District,
    device_ids: dict[str, int],
    *,
    start: datetime,
    end: datetime,
    minute_days: float = DEFAULT_MINUTE_DAYS,
    seed: int = DEFAULT_SEED,
    progress: Progress | None = None,
) -> BackfillStats:
    """Write simulated history for [start, end) (Beijing time, whole hours); see the module
    docstring. ``end`` is the scenario's anchor ("now" of the offline / frozen devices)."""
    if start.minute or start.second or end.minute or end.second:
        raise DemoLoadError(f"backfill window {start} – {end} must be whole hours")
    if end <= start:
        raise DemoLoadError(f"empty backfill window: {start} – {end}")
    if minute_days < 0:
        raise DemoLoadError(f"minute_days must be ≥ 0, got {minute_days}")
    rules = default_rules()
    stats = BackfillStats(start, end)
    m_start = max(start, end - timedelta(days=minute_days))
    total = int((end - start).total_seconds() // 3600) + int(
        (end - m_start).total_seconds() // 3600
    )
    done = 0
    lo_day = np.datetime64(start, "s")
    hi_day = np.datetime64(end, "s")
    edges: set[tuple[int, int, datetime]] = set()
    sqlite = engine.dialect.name == "sqlite"

    def hourly(
        a: datetime, b: datetime
    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]], set[tuple[int, int, datetime]]]:
        res = generate(d, a, b, step=HOUR, seed=seed, anchor=end, kinds=HOURLY_KINDS)
        rows: list[dict[str, Any]] = []
        days: list[dict[str, Any]] = []
        marks: set[tuple[int, int, datetime]] = set()
        for s in res.series:
            dev = device_ids[s.mn]
            rows += observation_rows(s, dev, Resolution.HOUR, text_times=sqlite)
            days += day_rollups(s, dev, lo_day, hi_day, rules, text_times=sqlite)
            for t in {a.replace(hour=0), (b - timedelta(hours=1)).replace(hour=0)}:
                if t < start or t + timedelta(days=1) > end:
                    marks.add((dev, int(Resolution.DAY), t))
        return rows, days, marks

    def minutes(
        a: datetime, b: datetime
    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]], set[tuple[int, int, datetime]]]:
        res = generate(d, a, b, step=MINUTE, seed=seed, anchor=end, kinds=MINUTE_KINDS)
        rows: list[dict[str, Any]] = []
        for s in res.series:
            rows += observation_rows(s, device_ids[s.mn], Resolution.MINUTE, text_times=sqlite)
        return rows, [], set()

    jobs: list[tuple[Resolution, datetime, datetime]] = [
        (Resolution.HOUR, a, b) for a, b in _chunks(start, end, 31)
    ]
    if m_start < end:
        jobs += [(Resolution.MINUTE, a, b) for a, b in _chunks(m_start, end, 1)]
    # numpy and row building for the next chunk overlap the database writes of this one
    with _loading(engine) as (conn, fresh), ThreadPoolExecutor(max_workers=1) as pool:
        futures = [
            pool.submit(hourly if r == Resolution.HOUR else minutes, a, b) for r, a, b in jobs[:1]
        ]
        for k, (res_kind, a, b) in enumerate(jobs):
            if k + 1 < len(jobs):
                r2, a2, b2 = jobs[k + 1]
                futures.append(pool.submit(hourly if r2 == Resolution.HOUR else minutes, a2, b2))
            rows, days, marks = futures[k].result()
            futures[k] = pool.submit(lambda: ([], [], set()))  # drop the reference early
            _write(conn, rows, derived=False, fresh=fresh)
            _write(conn, days, derived=True, fresh=fresh)
            edges |= marks
            if res_kind == Resolution.HOUR:
                stats.hour_rows += len(rows)
            else:
                stats.minute_rows += len(rows)
            stats.day_rows += len(days)
            del rows, days
            done += int((b - a).total_seconds() // 3600)
            if progress is not None:
                progress(done, total)
    with engine.begin() as conn:
        mark_dirty(conn, edges)
    stats.edge_marks = len(edges)
    return stats


def counts(engine: Engine) -> dict[str, Any]:
    """What the database holds of the registry (for the demo's summary and the tests)."""
    with session_scope(engine.execution_options(**READONLY)) as s:
        by_kind = {
            str(k): int(n)
            for k, n in s.execute(select(Site.kind, func.count()).group_by(Site.kind))
        }
        gas = (
            select(Site.enterprise_id, Site.control_level)
            .where(Site.kind == SiteKind.OUTLET.value, Site.outlet_medium == "gas")
            .distinct()
            .subquery()
        )
        levels = {
            str(k): int(n)
            for k, n in s.execute(
                select(gas.c.control_level, func.count()).group_by(gas.c.control_level)
            )
        }
        micro = s.scalar(
            select(func.count())
            .select_from(Site)
            .where(Site.kind == SiteKind.AIR_STATION.value, Site.control_level == "微站")
        )
        return {
            "regions": s.scalar(select(func.count()).select_from(Region)),
            "enterprises": s.scalar(select(func.count()).select_from(Enterprise)),
            "gas_platform_enterprises": levels,
            "sites": by_kind,
            "micro_stations": micro,
            "devices": s.scalar(select(func.count()).select_from(Device)),
            "factors": s.scalar(select(func.count()).select_from(Factor)),
            "permits": s.scalar(select(func.count()).select_from(Permit)),
            "permit_limits": s.scalar(select(func.count()).select_from(PermitLimit)),
            "boundaries": s.scalar(select(func.count()).select_from(RegionBoundary)),
            "map_features": s.scalar(select(func.count()).select_from(MapFeature)),
            "targets": s.scalar(select(func.count()).select_from(IndicatorTarget)),
        }


# --------------------------------------------------------------------------- the whole load


def months_before(t: datetime, months: int) -> datetime:
    """The same day and hour ``months`` calendar months earlier (day clipped to 28)."""
    y, m = divmod(t.year * 12 + (t.month - 1) - months, 12)
    return t.replace(year=y, month=m + 1, day=min(t.day, 28))


def history_window(
    now: datetime, months: int, history_days: float | None
) -> tuple[datetime, datetime]:
    """[start, end) of a fresh history: ``months`` calendar months (or ``history_days``) up to
    ``now`` floored to the hour."""
    end = now.replace(minute=0, second=0, microsecond=0)
    start = end - timedelta(days=history_days) if history_days else months_before(end, months)
    return start.replace(minute=0, second=0, microsecond=0), end


@dataclass
class PrepareResult:
    device_ids: dict[str, int]
    reused: bool
    history_start: datetime | None
    history_end: datetime
    backfill: BackfillStats | None
    rollup_rows: int


def prepare(
    engine: Engine,
    d: District,
    *,
    now: datetime,
    months: int = DEFAULT_MONTHS,
    history_days: float | None = None,
    minute_days: float = DEFAULT_MINUTE_DAYS,
    seed: int = DEFAULT_SEED,
    progress: Progress | None = None,
) -> PrepareResult:
    """Registry + history up to ``now`` (Beijing time, floored to the hour).

    A database that already holds the demo history is reused: only the hours since its end
    are added (same seed, so the series continue).
    """
    from qingshan.services.rollups import run_rollups

    if months < 1 and history_days is None:
        raise DemoLoadError(f"months must be ≥ 1, got {months}")
    if history_days is not None and history_days <= 0:
        raise DemoLoadError(f"history_days must be > 0, got {history_days}")
    start, end = history_window(now, months, history_days)
    ids = load_registry(engine, d)
    last = history_end(engine, ids.values())
    reused = last is not None
    if last is not None:
        start = last
    stats = None
    if start < end:
        stats = backfill(
            engine,
            d,
            ids,
            start=start,
            end=end,
            minute_days=minute_days,
            seed=seed,
            progress=progress,
        )
    rolled = run_rollups(engine)
    first = None
    o = Observation.__table__.c
    with engine.execution_options(**READONLY).connect() as conn:
        first = conn.execute(
            select(func.min(o.data_time)).where(
                o.resolution == int(Resolution.HOUR), o.device_id.in_(list(ids.values()))
            )
        ).scalar()
        conn.rollback()
    if isinstance(first, str):
        first = datetime.fromisoformat(first)
    return PrepareResult(ids, reused, first, max(end, last or end), stats, rolled)
