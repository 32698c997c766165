"""Air figures: hourly AQI, daily AQI and values, month / year evaluation, per site and region.

Every number comes from :mod:`qingshan.standards.air` on the stored hourly observations:

* hourly values: HOUR-resolution observations with a valid flag (``services/data/rollup.toml``
  ``valid_flags``; a missing flag counts as N) and a value; the row at ``t`` is the hour
  beginning at ``t`` (China Standard Time), as the roll-ups label buckets;
* real-time AQI: :func:`~qingshan.standards.air.aqi.hourly_aqi_array`, missing-data policy
  ``platform`` (what the national platform publishes), HJ 633 edition in force that hour;
* daily values, daily AQI, month and year evaluation: :func:`~qingshan.standards.air.evaluation.
  evaluate_many` (HJ 663 / GB 3095) with ``standard="auto"`` (each day's AQI under the HJ 633
  edition in force that day; the period's method and limits those in force at its end);
* a region's series: :func:`~qingshan.standards.air.evaluation.city_hourly` over its evaluation
  stations (national/provincial/city stations inside the region; micro-stations and 对照点 are
  shown but never enter it), then evaluated like one station.

Stored values are decimal text; each is carried as the float whose shortest text is that
decimal (exact for up to 15 significant digits; a value that is not a finite decimal of at
most 15 significant digits is refused as invalid and counted, never silently approximated).
All arithmetic is exact in the standards engine (docs/standards/arithmetic.md).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from math import isfinite
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import String, select, type_coerce
from sqlalchemy.engine import Connection

from qingshan.services.figures._common import (
    Regions,
    SiteInfo,
    air_codes,
    dumps,
)
from qingshan.services.rollups import default_rules
from qingshan.standards.air.aqi import decode_mask, hourly_aqi_array, iaqi_array
from qingshan.standards.air.evaluation import (
    EvaluationError,
    HourlyData,
    StationEvaluation,
    city_hourly,
    evaluate_many,
    hourly_moving_mean,
    o3_8h_window_counts,
)
from qingshan.standards.air.tables import POLLUTANTS, aqi_table, evaluation_rules, limit_set
from qingshan.standards.versions import AUTO, resolve
from qingshan.storage.models import Observation, Resolution

FloatArray = npt.NDArray[np.float64]

#: Display names of pollutants and daily indicators (GB 3095 / HJ 633 usage).
NAMES = {
    "SO2": "SO₂",
    "NO2": "NO₂",
    "CO": "CO",
    "O3": "O₃",
    "O3_1H": "O₃-1h",
    "O3_8H": "O₃-8h",
    "PM10": "PM₁₀",
    "PM2_5": "PM₂.₅",
}
DAY_COLUMNS = {
    "SO2": "so2",
    "NO2": "no2",
    "CO": "co",
    "O3_1H": "o3_1h",
    "O3_8H": "o3_8h",
    "PM10": "pm10",
    "PM2_5": "pm2_5",
}


@dataclass(slots=True)
class Grid:
    """Hourly values of several sites on a day × 24 grid: ``values[p]`` (sites, days, 24).
    ``rejected`` counts stored values refused as not exactly carried (see module doc)."""

    start: date
    n_days: int
    sites: list[SiteInfo]
    values: dict[str, FloatArray]
    rejected: int = 0

    def index(self, site_id: int) -> int:
        return next(i for i, s in enumerate(self.sites) if s.id == site_id)

    def hourly(self, idx: Sequence[int]) -> HourlyData:
        return HourlyData(self.start, {p: self.values[p][list(idx)] for p in POLLUTANTS})

    def station(self, i: int) -> HourlyData:
        return HourlyData(self.start, {p: self.values[p][i] for p in POLLUTANTS})


def load_grid(conn: Connection, air_sites: Sequence[SiteInfo], first: date, last: date) -> Grid:
    """Read the valid hourly values of ``air_sites`` for the days ``first`` … ``last``."""
    n = (last - first).days + 1
    values = {p: np.full((len(air_sites), n, 24), np.nan) for p in POLLUTANTS}
    where_dev: dict[int, int] = {}
    for i, s in enumerate(air_sites):
        for d in s.devices:
            where_dev[d] = i
    if not where_dev or n <= 0:
        return Grid(first, max(n, 0), list(air_sites), values)
    codes = air_codes()
    valid = default_rules().valid_flags
    o = Observation.__table__.c
    lo = datetime.combine(first, datetime.min.time())
    hi = lo + timedelta(days=n)
    # SQLite stores times as ISO text; reading it raw skips a datetime parse per row (the
    # bulk of the work for a year of data).
    sqlite = conn.dialect.name == "sqlite"
    tcol = type_coerce(o.data_time, String) if sqlite else o.data_time
    q = select(o.device_id, tcol, o.code, o.value, o.flag).where(
        o.resolution == int(Resolution.HOUR),
        o.device_id.in_(list(where_dev)),
        o.data_time >= lo,
        o.data_time < hi,
        o.code.in_(list(codes)),
    )
    day_index: dict[str, int] = {}
    arrays = {c: values[p] for c, p in codes.items()}
    rejected = 0
    for dev, t, code, value, flag in conn.execute(q):
        if value is None or (flag or "N") not in valid:
            continue
        # carried(), inlined: this loop runs for every stored hourly value.
        try:
            number = float(value)
        except ValueError:
            rejected += 1
            continue
        if not isfinite(number) or (len(value) > _FAST_TEXT and carried(value) is None):
            rejected += 1
            continue
        if sqlite:
            if t[14:16] != "00" or t[17:19] not in ("", "00"):
                continue  # not an hourly label; never produced by the roll-ups
            key = t[:10]
            cached = day_index.get(key)
            if cached is None:
                cached = day_index[key] = (date.fromisoformat(key) - first).days
            d = cached
            hour = int(t[11:13])
        else:
            if t.minute or t.second:
                continue
            d, hour = (t.date() - first).days, t.hour
        arrays[code][where_dev[dev], d, hour] = number
    return Grid(first, n, list(air_sites), values, rejected)


_FAST_TEXT = 15  # a text this short has at most 15 significant digits


def carried(text: str) -> float | None:
    """The float carrying the decimal ``text`` (its shortest repr is that decimal), or None
    when the text is not a finite decimal of at most 15 significant digits (refused)."""
    try:
        number = float(text)
    except ValueError:
        return None
    if not isfinite(number):
        return None
    if len(text) > _FAST_TEXT:
        try:
            digits = len(Decimal(text).normalize().as_tuple().digits)
        except InvalidOperation:
            return None
        if digits > _FAST_TEXT:
            return None
    return number


# ------------------------------------------------------------------------------ validity words


def _day_reason(
    hours: dict[str, int], o3_windows: int, vals: dict[str, Any], min_hours: int, min_windows: int
) -> str | None:
    parts: list[str] = []
    for p in ("SO2", "NO2", "CO", "PM10", "PM2_5"):
        if vals.get(p) is None:
            parts.append(f"{NAMES[p]} 仅 {hours[p]} 个有效小时值（需 ≥ {min_hours}）")
    if vals.get("O3_8H") is None:
        parts.append(
            f"{NAMES['O3_8H']} 仅 {o3_windows} 个有效8小时滑动平均值（需 ≥ {min_windows}）"
        )
    return "；".join(parts) if parts else None


# ------------------------------------------------------------------------------ computations


@dataclass(slots=True)
class Scope:
    """A site or a region, with the stations behind it."""

    scope: str  # "site" | "region"
    code: str
    name: str
    members: list[int]  # grid indices
    kind: str  # site air kind, or "region"


def screen(grid: Grid) -> dict[str, str]:
    """Blank (NaN) every station whose own hourly data the evaluation refuses; returns site code
    → the evaluation's reason.

    One station with a negative concentration, CO in µg/m³ or an infinite value made every
    figure of the district fail, since regions stack their stations (issue 18). Such a station
    is left out whole for the grid's days — never a partial, silently edited series — and
    reported, so that the others' figures (and the regions, from the remaining stations) are
    computed. The checks are those of :class:`~qingshan.standards.air.evaluation.HourlyData`.
    """
    failed: dict[str, str] = {}
    for i, site in enumerate(grid.sites):
        try:
            grid.station(i)
        except EvaluationError as exc:
            failed[site.code] = str(exc)
            for p in POLLUTANTS:
                grid.values[p][i] = np.nan
    return failed


def without_failed(scs: Iterable[Scope], failed: Iterable[str]) -> list[Scope]:
    """``scs`` without the site scopes of stations :func:`screen` left out."""
    out = set(failed)
    return [sc for sc in scs if not (sc.scope == "site" and sc.code in out)]


def scopes(grid: Grid, reg: Regions, also: str | None = None) -> list[Scope]:
    """Every air site, and every county-or-higher region holding evaluation stations (plus the
    region ``also``, e.g. a township asked for on request)."""
    out = [Scope("site", s.code, s.name, [i], s.air_kind) for i, s in enumerate(grid.sites)]
    members: dict[str, list[int]] = {}
    for i, s in enumerate(grid.sites):
        if not s.evaluation:
            continue
        for code in reg.ancestors(s.region_code):
            if reg.level.get(code) in ("county", "city", "province") or code == also:
                members.setdefault(code, []).append(i)
    for code in sorted(members):
        out.append(Scope("region", code, reg.name[code], members[code], "region"))
    return out


def scope_series(grid: Grid, sc: Scope) -> HourlyData:
    if sc.scope == "site":
        return grid.station(sc.members[0])
    return city_hourly([grid.station(i) for i in sc.members])


def _hours_valid(h: HourlyData) -> dict[str, npt.NDArray[np.intp]]:
    return {p: (~np.isnan(h.get(p))).sum(axis=-1) for p in POLLUTANTS}


def day_rows(
    grid: Grid, scs: Sequence[Scope], standard: str = AUTO, *, now: datetime
) -> list[dict[str, Any]]:
    """fig_air_day rows for every day of ``grid`` and every scope."""
    if not scs or grid.n_days == 0:
        return []
    series = [scope_series(grid, sc) for sc in scs]
    stacked = HourlyData.stack(series)
    evals = evaluate_many(stacked, standard, include_days=True)
    last = grid.start + timedelta(days=grid.n_days - 1)
    rules = evaluation_rules(resolve("HJ663", standard, last).id)
    lim = limit_set(rules.limits, last)
    hours = _hours_valid(stacked)
    windows = o3_8h_window_counts(
        ~np.isnan(stacked.get("O3")),
        lim.validity.o3_8h_min_hours,
        rules.mda8_first_window_end_hour,
    )
    rows: list[dict[str, Any]] = []
    for k, (sc, ev) in enumerate(zip(scs, evals, strict=True)):
        for j, d in enumerate(ev.days):
            h = {p: int(hours[p][k, j]) for p in POLLUTANTS}
            vals = d["values"]
            valid = d["aqi"] is not None
            reason = None
            if not valid:
                reason = _day_reason(
                    h,
                    int(windows[k, j]),
                    vals,
                    lim.validity.daily_min_hours,
                    rules.mda8_min_windows,
                )
                if reason is None:
                    reason = "有污染物缺测且已测指标 AQI ≤ 100，按 HJ 633 记为 NA"
            prov = {
                "valid_hours": h,
                "o3_8h_valid_windows": int(windows[k, j]),
                "rules": {
                    "HJ663": ev.standard,
                    "HJ633": d["aqi_standard"],
                    "GB3095": ev.limits_standard,
                    "rollup": "rollup.toml",
                },
                "stations": [grid.sites[i].code for i in sc.members],
            }
            row: dict[str, Any] = {
                "scope": sc.scope,
                "scope_code": sc.code,
                "day": date.fromisoformat(d["date"]),
                "standard": standard,
                "aqi_standard": d["aqi_standard"],
                "aqi": d["aqi"],
                "level": d["level"],
                "category": d["category"],
                "primary_pollutants": ",".join(d["primary_pollutants"]) or None,
                "valid": valid,
                "reason": reason,
                "provenance": dumps(prov),
                "computed_at": now,
            }
            for lab, col in DAY_COLUMNS.items():
                row[col] = vals.get(lab)
            rows.append(row)
    return rows


def hour_rows(
    grid: Grid, scs: Sequence[Scope], *, standard: str = AUTO, only_days: set[date] | None = None
) -> list[dict[str, Any]]:
    """fig_air_hour rows (real-time AQI) for every hour that has at least one value (of the
    days ``only_days`` when given). Beside the AQI, the O₃ 8-hour moving mean (≥ 6 of the last
    8 hours, GB 3095 表4) and its IAQI are recorded (``O3_8H``); moving means look back only
    within ``grid`` (a month when figures are computed)."""
    if not scs or grid.n_days == 0:
        return []
    series = HourlyData.stack([scope_series(grid, sc) for sc in scs])
    conc = {p: series.get(p).reshape(len(scs), -1) for p in POLLUTANTS}
    n_hours = grid.n_days * 24
    times = [
        datetime.combine(grid.start, datetime.min.time()) + timedelta(hours=i)
        for i in range(n_hours)
    ]
    versions = np.array([resolve("HJ633", standard, t.date()).id for t in times])
    so2_24h = _so2_24h(series)
    aqi = np.full((len(scs), n_hours), np.nan)
    prim = np.zeros((len(scs), n_hours), dtype=np.uint8)
    iaqi: dict[str, FloatArray] = {}
    for v in sorted(set(versions.tolist())):
        m = versions == v
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            b = hourly_aqi_array(
                v,
                so2=conc["SO2"][:, m],
                no2=conc["NO2"][:, m],
                co=conc["CO"][:, m],
                o3=conc["O3"][:, m],
                pm10=conc["PM10"][:, m],
                pm2_5=conc["PM2_5"][:, m],
                so2_24h=so2_24h[:, m],
                missing="platform",
            )
        aqi[:, m] = b.aqi
        prim[:, m] = b.primary_mask
        for lab, arr in b.iaqi.items():
            iaqi.setdefault(lab, np.full((len(scs), n_hours), np.nan))[:, m] = arr
    # O3 8-hour moving mean: exact, shown to 0.1 and indexed from its integer value (both
    # rounded once, half-even, from the exact mean).
    o3_8h = hourly_moving_mean(series, "O3", 8, 6, 1)
    o3_8h_int = hourly_moving_mean(series, "O3", 8, 6, 0)
    iaqi_8h = np.full((len(scs), n_hours), np.nan)
    for v in sorted(set(versions.tolist())):
        m = versions == v
        x = iaqi_array("O3_8H", o3_8h_int[:, m], v)
        iaqi_8h[:, m] = np.where(x < 0, np.nan, x)  # 2012: not indexed above 800
    present = np.zeros((len(scs), n_hours), dtype=np.bool_)
    for p in POLLUTANTS:
        present |= ~np.isnan(conc[p])
    if only_days is not None:
        keep = np.array([t.date() in only_days for t in times])
        present &= keep[None, :]
    rows: list[dict[str, Any]] = []
    vers = versions.tolist()
    labels = sorted(iaqi)
    # Plain Python lists: per-element numpy indexing dominates otherwise.
    for k, sc in enumerate(scs):
        prov = {
            v: dumps(
                {
                    "HJ633": v,
                    "missing_policy": "platform",
                    "stations": [grid.sites[i].code for i in sc.members],
                }
            )
            for v in set(vers)
        }
        ck = {p: conc[p][k].tolist() for p in POLLUTANTS}
        ik = {lab: iaqi[lab][k].tolist() for lab in labels}
        o8, i8 = o3_8h[k].tolist(), iaqi_8h[k].tolist()
        ak, pk = aqi[k].tolist(), prim[k].tolist()
        for j in np.flatnonzero(present[k]).tolist():
            a = ak[j]
            ok = a == a  # not NaN
            cat = aqi_table(vers[j]).category_of(int(a)) if ok else None
            c = {p: (None if ck[p][j] != ck[p][j] else ck[p][j]) for p in POLLUTANTS}
            c["O3_8H"] = None if o8[j] != o8[j] else o8[j]
            beside = {"O3_8H": int(i8[j])} if i8[j] == i8[j] else {}
            rows.append(
                {
                    "scope": sc.scope,
                    "scope_code": sc.code,
                    "data_time": times[j],
                    "standard": standard,
                    "aqi": int(a) if ok else None,
                    "level": cat.level if cat else None,
                    "category": cat.category if cat else None,
                    "primary_pollutants": ",".join(decode_mask(int(pk[j]))) or None,
                    "iaqi": dumps(
                        {
                            **{lab: int(ik[lab][j]) for lab in labels if ik[lab][j] == ik[lab][j]},
                            **beside,
                        }
                    ),
                    "concentrations": dumps(c),
                    "provenance": prov[vers[j]],
                }
            )
    return rows


def _so2_24h(series: HourlyData) -> FloatArray:
    """24-hour moving mean of SO2 (≥ 20 hours), needed only when an hour exceeds 800 µg/m³;
    exact, rounded once to an integer as the IAQI step does."""
    return hourly_moving_mean(series, "SO2", 24, 20, 0)


def evaluate_scopes(
    grid: Grid, scs: Sequence[Scope], standard: str = AUTO
) -> list[StationEvaluation]:
    """HJ 663 evaluation of each scope over the whole grid period."""
    stacked = HourlyData.stack([scope_series(grid, sc) for sc in scs])
    return evaluate_many(stacked, standard, include_days=False)


def period_rows(
    grid: Grid, scs: Sequence[Scope], period: str, standard: str = AUTO, *, now: datetime
) -> list[dict[str, Any]]:
    if not scs or grid.n_days == 0:
        return []
    evals = evaluate_scopes(grid, scs, standard)
    rows: list[dict[str, Any]] = []
    for sc, ev in zip(scs, evals, strict=True):
        h = scope_series(grid, sc)
        vh = {p: int((~np.isnan(h.get(p))).sum()) for p in POLLUTANTS}
        prov = {
            "valid_hours": vh,
            "valid_days": ev.valid_days,
            "rules": {
                "HJ663": ev.standard,
                "GB3095": ev.limits_standard,
                "GB3095_phase": ev.limits_phase,
            },
            "stations": [grid.sites[i].code for i in sc.members],
            "complete": ev.complete,
            "incomplete_reasons": ev.incomplete_reasons,
            "verdict_reason": ev.verdict_reason,
            "rejected_values": grid.rejected,
        }
        d = ev.to_dict()
        d.pop("days", None)
        rows.append(
            {
                "scope": sc.scope,
                "scope_code": sc.code,
                "period": period,
                "standard": standard,
                "period_start": ev.start,
                "period_end": ev.end,
                "valid_days": ev.valid_days,
                "good_days": ev.good_days,
                "good_day_ratio": None if ev.good_day_ratio is None else float(ev.good_day_ratio),
                "heavy_days": ev.heavy_pollution_days,
                "composite_index": None
                if ev.composite_index is None
                else float(ev.composite_index),
                "attained": ev.attained,
                "result": dumps(d),
                "provenance": dumps(prov),
                "computed_at": now,
            }
        )
    return rows


def affected_scopes(all_scopes: Iterable[Scope], grid: Grid, site_ids: set[int]) -> list[Scope]:
    idx = {i for i, s in enumerate(grid.sites) if s.id in site_ids}
    return [sc for sc in all_scopes if idx & set(sc.members)]
