"""``qingshan water``: surface-water classes (GB 3838-2002) for CSV rows on stdin."""

from __future__ import annotations

import csv
import io
import sys
from datetime import date, datetime
from decimal import Decimal

import typer

from qingshan.standards._checks import InvalidValueError, parse_cell
from qingshan.standards.versions import UnknownVersionError, resolve
from qingshan.standards.water import (
    FAMILY,
    WaterbodyType,
    classify_sample,
    item_limits,
)

app = typer.Typer(
    name="water",
    help="Surface-water quality (GB 3838-2002, 地表水环境质量评价办法(试行) 2011).",
    no_args_is_help=True,
)

# ph,do,codmn,cod,bod5,nh3n,tp,tn,cu,zn,f,se,as,hg,cd,cr6,pb,cn,vp,oil,las,s2,fc (Table 1 order)
ITEM_COLUMNS = tuple(item_limits())
OUTPUT_COLUMNS = ("class", "status", "failing_items")


class _RowError(Exception):
    pass


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code=2)


def _row_date(row: dict[str, str], line: int) -> date:
    text = (row.get("time") or "").strip()
    if not text:
        raise _RowError(f"line {line}: --standard auto needs a 'time' value")
    try:
        return datetime.fromisoformat(text).date()
    except ValueError:
        raise _RowError(f"line {line}: time {text!r} is not an ISO 8601 date/time") from None


def _read_stdin() -> str:
    """Stdin as text: UTF-8 (with or without BOM), else GB 18030 — the encoding Excel on
    Chinese Windows writes CSV in. Output is always UTF-8."""
    raw = sys.stdin.buffer.read()
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return raw.decode("gb18030")
    except UnicodeDecodeError:
        raise _fail("stdin is neither UTF-8 nor GB 18030 text") from None


@app.command("classify")
def classify(
    standard: str = typer.Option(
        "GB3838-2002", "--standard", help="Rule set id (GB3838-2002) or 'auto' (by 'time')."
    ),
    include_tn: bool = typer.Option(
        False,
        "--include-tn",
        help="Count total nitrogen at lakes/reservoirs (the 2011 method evaluates it apart).",
    ),
) -> None:
    """Read CSV on stdin and write it back with class, status and failing_items appended.

    Input: a 'waterbody' column (river|lake) and any of the item columns
    ph,do,codmn,cod,bod5,nh3n,tp,tn,cu,zn,f,se,as,hg,cd,cr6,pb,cn,vp,oil,las,s2,fc
    (mg/L; pH unitless; fc 个/L). Empty cells are missing data; other columns pass through.
    Output: class (I II III IV V 劣V, empty when no item has a value), status (优 良好 轻度污染
    中度污染 重度污染), failing_items (items worse than Class III, ';'-joined).
    """
    if standard != "auto":
        try:
            resolve(FAMILY, standard)
        except UnknownVersionError as exc:
            raise _fail(str(exc)) from None
    text = _read_stdin()
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = reader.fieldnames
    if not header:
        raise _fail("no CSV header on stdin")
    if "waterbody" not in header:
        raise _fail("missing required column 'waterbody' (river|lake)")
    clash = [c for c in OUTPUT_COLUMNS if c in header]
    if clash:
        raise _fail(f"input already has output column(s) {', '.join(clash)}")
    items = [c for c in header if c in ITEM_COLUMNS]
    known = item_limits()
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([*header, *OUTPUT_COLUMNS])
    try:
        for row in reader:
            line = reader.line_num
            if None in row:
                raise _RowError(f"line {line}: more cells than header columns")
            body_text = (row["waterbody"] or "").strip()
            try:
                body = WaterbodyType(body_text)
            except ValueError:
                raise _RowError(
                    f"line {line}: waterbody {body_text!r} is not 'river' or 'lake'"
                ) from None
            values: dict[str, Decimal | None] = {}  # exact cell text, never a float
            for code in items:
                what = f"line {line}: column {code!r} ({known[code].name})"
                values[code] = parse_cell(row[code] or "", what)
            when = _row_date(row, line) if standard == "auto" else None
            try:
                result = classify_sample(
                    values, body, include_tn=include_tn, standard=standard, when=when
                )
            except InvalidValueError as exc:
                raise _RowError(f"line {line}: {exc}") from None
            cls = result.water_class
            writer.writerow(
                [
                    *(row[c] for c in header),
                    "" if cls is None else cls.code,
                    result.status or "",
                    ";".join(result.failing_items),
                ]
            )
    except (_RowError, InvalidValueError, UnknownVersionError) as exc:
        raise _fail(str(exc)) from None
    except csv.Error as exc:
        raise _fail(f"line {reader.line_num}: malformed CSV: {exc}") from None
    sys.stdout.buffer.write(out.getvalue().encode("utf-8"))
    sys.stdout.flush()
