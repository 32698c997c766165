"""Air commands: ``qingshan aqi`` (CSV in → CSV out) and ``qingshan air evaluate`` (→ JSON).

Both read CSV on stdin. Bad input (missing column, non-number, negative value, bad time) is
reported on stderr with its line number (the header is line 1) and exit code 2; nothing is
written to stdout then, so scripts never get a partial file.
"""

from __future__ import annotations

import csv
import json
import math
import sys
from collections.abc import Iterator
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, NoReturn, TextIO

import numpy as np
import typer

from qingshan.standards.air.aqi import (
    AqiInputError,
    BulkAqi,
    MissingPolicy,
    daily_aqi_array,
    decode_mask,
    hourly_aqi_array,
    iaqi_array,
)
from qingshan.standards.air.evaluation import EvaluationError, HourlyData, evaluate
from qingshan.standards.air.tables import aqi_table
from qingshan.standards.versions import AUTO, UnknownVersionError, resolve

app = typer.Typer(help="Ambient air quality: evaluation after HJ 663.", no_args_is_help=True)

POLLUTANT_COLUMNS = ("so2", "no2", "co", "o3", "pm10", "pm2_5")
APPENDED = ("aqi", "level", "category", "primary_pollutants", "exceeding_pollutants")
IAQI_LABELS = ("SO2", "NO2", "CO", "O3_1H", "O3_8H", "PM10", "PM2_5", "PM10_24H", "PM2_5_24H")
MAX_ERRORS = 20


class AqiStandard(StrEnum):
    hj633_2012 = "HJ633-2012"
    hj633_2026 = "HJ633-2026"
    auto = "auto"


class Mode(StrEnum):
    hourly = "hourly"
    daily = "daily"


class Missing(StrEnum):
    present = "present"
    strict = "strict"
    na_rule = "na-rule"
    platform = "platform"


class EvalStandard(StrEnum):
    hj663_2013 = "HJ663-2013"
    hj663_2026 = "HJ663-2026"
    auto = "auto"


class DustScopeOpt(StrEnum):
    all = "all"
    concentrations = "concentrations"
    days = "days"


class HourLabelOpt(StrEnum):
    end = "end"
    start = "start"


class InputError(Exception):
    """Collected input errors (each already carries its line number)."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("\n".join(errors))
        self.errors = errors


def _fail(messages: list[str], code: int = 2) -> NoReturn:
    shown = messages[:MAX_ERRORS]
    for m in shown:
        typer.echo(f"error: {m}", err=True)
    if len(messages) > MAX_ERRORS:
        typer.echo(f"error: … and {len(messages) - MAX_ERRORS} more", err=True)
    raise typer.Exit(code)


def _read_csv(stream: TextIO) -> tuple[list[str], list[list[str]]]:
    reader = csv.reader(stream)
    try:
        header = next(reader)
    except StopIteration:
        _fail(["empty input: expected a CSV header line"])
    header = [h.strip() for h in header]
    if header and header[0].startswith("\ufeff"):
        header[0] = header[0][1:]
    rows = list(reader)
    return header, rows


# A float carries a decimal exactly (its shortest text) up to 15 significant digits; longer
# values are refused rather than silently approximated (docs/standards/arithmetic.md).
MAX_DIGITS = 15


def _parse_number(cell: str, column: str, line: int, errors: list[str]) -> float:
    text = cell.strip()
    if text in ("", "NA", "/"):  # empty/NA: missing; "/": not in the monitoring plan
        return math.nan
    try:
        exact = Decimal(text)
    except InvalidOperation:
        errors.append(f"line {line}, column {column}: not a number: {cell!r}")
        return math.nan
    if not exact.is_finite():
        errors.append(f"line {line}, column {column}: not a finite number: {cell!r}")
        return math.nan
    if len(exact.normalize().as_tuple().digits) > MAX_DIGITS:
        errors.append(
            f"line {line}, column {column}: more than {MAX_DIGITS} significant digits: {cell!r}"
        )
        return math.nan
    value = float(exact)
    if not math.isfinite(value):  # beyond the float range, e.g. 1e400
        errors.append(f"line {line}, column {column}: not a finite number: {cell!r}")
        return math.nan
    if value < 0:
        errors.append(f"line {line}, column {column}: negative concentration {cell!r}")
        return math.nan
    return value


def _parse_time(cell: str, line: int, errors: list[str]) -> datetime | None:
    text = cell.strip()
    if not text:
        errors.append(f"line {line}, column time: empty time")
        return None
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        errors.append(f"line {line}, column time: not an ISO date/time: {cell!r}")
        return None


def _columns(
    header: list[str], rows: list[list[str]], wanted: tuple[str, ...]
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Numeric columns (NaN = missing) and, per column, where the cell is "/" (not monitored)."""
    errors: list[str] = []
    index = {name: i for i, name in enumerate(header)}
    out = {c: np.full(len(rows), np.nan) for c in wanted}
    slash = {c: np.zeros(len(rows), dtype=bool) for c in wanted}
    for r, row in enumerate(rows):
        line = r + 2
        if len(row) != len(header):
            errors.append(f"line {line}: {len(row)} fields, the header has {len(header)}")
            continue
        for c in wanted:
            cell = row[index[c]]
            out[c][r] = _parse_number(cell, c, line, errors)
            slash[c][r] = cell.strip() == "/"
    if errors:
        raise InputError(errors)
    return out, slash


def _times(header: list[str], rows: list[list[str]]) -> list[datetime]:
    errors: list[str] = []
    i = header.index("time")
    out: list[datetime] = []
    for r, row in enumerate(rows):
        t = _parse_time(row[i] if i < len(row) else "", r + 2, errors)
        if t is not None:
            out.append(t)
    if errors:
        raise InputError(errors)
    return out


def _fmt_iaqi(x: float) -> str:
    return "" if math.isnan(x) else str(int(x))


def aqi_command(
    standard: Annotated[
        AqiStandard,
        typer.Option("--standard", help="HJ 633 edition; auto picks it by the row's time."),
    ] = AqiStandard.auto,
    mode: Annotated[
        Mode,
        typer.Option(
            "--mode",
            help="hourly: 1-hour values (实时报); daily: 24-hour means, o3 = daily max 1-hour, "
            "o3_8h = daily max 8-hour (日报).",
        ),
    ] = Mode.hourly,
    missing: Annotated[
        Missing,
        typer.Option(
            "--missing",
            help="present: AQI over the pollutants present; strict: no AQI if any is missing; "
            "na-rule: HJ 633-2026 §5.3.1 (AQI only if > 100, else NA); platform: as the "
            "national platform publishes (na-rule; since 2026 a missing PM10 is ignored).",
        ),
    ] = Missing.present,
    with_iaqi: Annotated[
        bool, typer.Option("--iaqi", help="Also append iaqi_<indicator> columns.")
    ] = False,
    prefix: Annotated[
        str, typer.Option("--prefix", help="Prefix for the appended column names (e.g. qs_).")
    ] = "",
) -> None:
    """Compute the AQI of each CSV row (stdin → stdout, columns appended).

    Input columns: time (for auto), so2,no2,co,o3,pm10,pm2_5 (µg/m³, CO mg/m³); optional
    o3_8h (required in daily mode), so2_24h (needed under HJ633-2012 when SO2 1-hour > 800),
    pm10_24h, pm2_5_24h (hourly: 24-hour moving means, indexed beside the AQI with --iaqi).
    Appended: aqi,level,category,primary_pollutants,exceeding_pollutants; pollutants as
    SO2 NO2 CO O3_1H O3_8H PM10 PM2_5 joined by ';'. Empty and NA cells are missing data;
    "/" marks an indicator outside the monitoring plan (never counted as missing).
    """
    header, rows = _read_csv(sys.stdin)
    needed = list(POLLUTANT_COLUMNS)
    if mode is Mode.daily:
        needed.append("o3_8h")
    if standard is AqiStandard.auto:
        needed.append("time")
    absent = [c for c in needed if c not in header]
    if absent:
        _fail([f"missing column(s): {', '.join(absent)} (header: {','.join(header)})"])
    appended = [prefix + c for c in APPENDED]
    if with_iaqi:
        appended += [f"{prefix}iaqi_{lab.lower()}" for lab in IAQI_LABELS]
    clash = [c for c in appended if c in header]
    if clash:
        _fail([f"input already has column(s) {', '.join(clash)}; use --prefix"])
    extra = tuple(c for c in ("so2_24h", "o3_8h", "pm10_24h", "pm2_5_24h") if c in header)
    try:
        cols, slash = _columns(header, rows, (*POLLUTANT_COLUMNS, *extra))
        if standard is AqiStandard.auto:
            times = _times(header, rows)
            versions = [resolve("HJ633", AUTO, t).id for t in times]
        else:
            versions = [standard.value] * len(rows)
    except InputError as exc:
        _fail(exc.errors)
    except UnknownVersionError as exc:
        _fail([str(exc)])
    policies: dict[Missing, MissingPolicy] = {
        Missing.present: "present",
        Missing.strict: "strict",
        Missing.na_rule: "na_rule",
        Missing.platform: "platform",
    }
    labels = {"so2": "SO2", "no2": "NO2", "co": "CO", "o3": "O3", "pm10": "PM10", "pm2_5": "PM2_5"}
    policy = policies[missing]
    n = len(rows)
    aqi = np.full(n, np.nan)
    na = np.zeros(n, dtype=bool)
    prim = np.zeros(n, dtype=np.uint8)
    exc_mask = np.zeros(n, dtype=np.uint8)
    iaqi_cols = {lab: np.full(n, np.nan) for lab in IAQI_LABELS}
    ver = np.array(versions)
    for v in sorted(set(versions)):
        m = np.flatnonzero(ver == v)
        sub = {k: a[m] for k, a in cols.items()}
        not_monitored = {labels[c]: slash[c][m] for c in POLLUTANT_COLUMNS if slash[c].any()}
        if mode is Mode.daily and "o3_8h" in slash and slash["o3_8h"].any():
            not_monitored["O3"] = slash["o3_8h"][m] | slash["o3"][m]
        try:
            res: BulkAqi
            if mode is Mode.hourly:
                res = hourly_aqi_array(
                    v,
                    so2=sub["so2"],
                    no2=sub["no2"],
                    co=sub["co"],
                    o3=sub["o3"],
                    pm10=sub["pm10"],
                    pm2_5=sub["pm2_5"],
                    so2_24h=sub.get("so2_24h"),
                    missing=policy,
                    not_monitored=not_monitored,
                )
            else:
                res = daily_aqi_array(
                    v,
                    so2=sub["so2"],
                    no2=sub["no2"],
                    co=sub["co"],
                    o3_8h=sub["o3_8h"],
                    pm10=sub["pm10"],
                    pm2_5=sub["pm2_5"],
                    o3_1h=sub["o3"],
                    missing=policy,
                    not_monitored=not_monitored,
                )
        except AqiInputError as exc:
            _fail([_with_line(str(exc), m)])
        aqi[m], na[m], prim[m], exc_mask[m] = res.aqi, res.na, res.primary_mask, res.exceeding_mask
        for lab, arr in res.iaqi.items():
            iaqi_cols[lab][m] = arr
        if mode is Mode.hourly and "o3_8h" in sub:
            # Published beside the hourly AQI, never part of it; 2012 does not index > 800.
            beside = iaqi_array("O3_8H", sub["o3_8h"], v)
            iaqi_cols["O3_8H"][m] = np.where(beside < 0, np.nan, beside)
        if mode is Mode.hourly:
            # 2012 实时报 Table 4 also lists the PM 24-hour moving means with their IAQI.
            for col, lab in (("pm10_24h", "PM10_24H"), ("pm2_5_24h", "PM2_5_24H")):
                if col in sub:
                    iaqi_cols[lab][m] = iaqi_array(lab, sub[col], v)
    out = csv.writer(sys.stdout, lineterminator="\n")
    out.writerow(header + appended)
    for r, row in enumerate(rows):
        a = float(aqi[r])
        if math.isnan(a):
            tail = ["NA"] * 3 if na[r] else ["", "", ""]
        else:
            cat = aqi_table(versions[r]).category_of(int(a))
            tail = [str(int(a)), cat.level, cat.category]
        tail += [";".join(decode_mask(int(prim[r]))), ";".join(decode_mask(int(exc_mask[r])))]
        if with_iaqi:
            tail += [_fmt_iaqi(float(iaqi_cols[lab][r])) for lab in IAQI_LABELS]
        out.writerow(row + tail)


def _with_line(message: str, rows: np.ndarray) -> str:
    # Bulk errors name an index into the version group; translate it to a CSV line.
    marker = "at index "
    if marker in message:
        head, _, tail = message.partition(marker)
        num, _, rest = tail.partition(":")
        if num.strip().isdigit():
            line = int(rows[int(num)]) + 2
            detail = f"{head.strip()}{rest}".strip()
            return f"line {line}: {detail}"
    return message


def _dust_days(spec: str | None) -> set[date]:
    if not spec:
        return set()
    path = Path(spec)
    text = path.read_text(encoding="utf-8") if path.exists() else spec
    out: set[date] = set()
    for tok in text.replace(",", "\n").split():
        try:
            out.add(date.fromisoformat(tok.strip()))
        except ValueError:
            _fail([f"--dust-days: not a date: {tok!r}"])
    return out


@app.command("evaluate")
def evaluate_command(
    standard: Annotated[
        EvalStandard,
        typer.Option(
            "--standard", help="HJ 663 edition; auto: the one in force at the end of the data."
        ),
    ] = EvalStandard.auto,
    air_class: Annotated[
        int, typer.Option("--class", help="GB 3095 class: 1 (一类区) or 2 (二类区).")
    ] = 2,
    phase: Annotated[
        str | None,
        typer.Option("--phase", help="GB 3095-2026 phase (过渡阶段/最终阶段); default by date."),
    ] = None,
    dust_days: Annotated[
        str | None,
        typer.Option(
            "--dust-days",
            help="Dust-storm days to deduct (扣沙): a file or a comma list of YYYY-MM-DD.",
        ),
    ] = None,
    dust_scope: Annotated[
        DustScopeOpt,
        typer.Option(
            "--dust-scope",
            help="What the dust days are deducted from: all day-based statistics; only PM10/PM2.5 "
            "and the composite index (national monthly reports); or only the day counts.",
        ),
    ] = DustScopeOpt.all,
    hour_label: Annotated[
        HourLabelOpt,
        typer.Option(
            "--hour-label",
            help="end: a time labels the hour ending then (national platform); start: beginning.",
        ),
    ] = HourLabelOpt.end,
    no_days: Annotated[bool, typer.Option("--no-days", help="Leave out the per-day list.")] = False,
) -> None:
    """Evaluate one station's hourly CSV (time,so2,no2,co,o3,pm10,pm2_5) → JSON on stdout.

    Per day: validity, daily values and daily AQI; per pollutant: the period statistics, their
    limits, attainment and exceedance multiples; valid days, good days, good-day ratio,
    超标天数 and 达标率 per daily indicator, heavy-pollution days, composite index and primary
    pollutant. A calendar month or year that fails GB 3095 表4 gets no verdict: ``attained``
    null, ``verdict`` 数据不足 and ``verdict_reason`` saying why.
    """
    if air_class not in (1, 2):
        _fail([f"--class must be 1 or 2, not {air_class}"])
    header, rows = _read_csv(sys.stdin)
    absent = [c for c in ("time", *POLLUTANT_COLUMNS) if c not in header]
    if absent:
        _fail([f"missing column(s): {', '.join(absent)} (header: {','.join(header)})"])
    try:
        cols, _slash = _columns(header, rows, POLLUTANT_COLUMNS)
        times = _times(header, rows)
    except InputError as exc:
        _fail(exc.errors)
    if not rows:
        _fail(["no data rows"])
    names = {"so2": "SO2", "no2": "NO2", "co": "CO", "o3": "O3", "pm10": "PM10", "pm2_5": "PM2_5"}

    def records() -> Iterator[tuple[datetime, dict[str, float | None]]]:
        for r, t in enumerate(times):
            yield (
                t,
                {
                    names[c]: (None if math.isnan(cols[c][r]) else float(cols[c][r]))
                    for c in POLLUTANT_COLUMNS
                },
            )

    if hour_label is HourLabelOpt.end and times and min(times).hour == 0:
        # A series starting at 00:00 is usually labelled by the hour's start; under "end" its
        # first hour belongs to the previous day. Say so; the result is still what was asked.
        typer.echo(
            "note: the data start at 00:00, which --hour-label end reads as the last hour of "
            "the previous day; use --hour-label start if times label the hour's beginning",
            err=True,
        )
    try:
        data = HourlyData.from_records(records(), hour_label=hour_label.value)
        result = evaluate(
            data,
            standard.value,
            air_class=air_class,
            phase=phase,
            dust_days=_dust_days(dust_days),
            dust_scope=dust_scope.value,
            include_days=not no_days,
        )
    except (EvaluationError, UnknownVersionError, ValueError) as exc:
        _fail([str(exc)])
    payload: dict[str, Any] = result.to_dict()
    json.dump(payload, sys.stdout, ensure_ascii=False, indent=2)
    sys.stdout.write("\n")
