"""Importing a bureau's Excel ledgers: read, find the header row, map columns, validate every
row, write all or nothing.

Generic: an import is a list of :class:`SheetSpec` (sheet name, Chinese column headers, the
natural key) and, for each, a handler that writes that sheet's rows through the services. The
registry workbook (:mod:`qingshan.services.registry.workbook`) is the first user; the sources,
cases and plans imports will be others.

* **Reading**: ``.xlsx`` (openpyxl) and legacy ``.xls`` (xlrd), told apart by their bytes, not
  their names. Cells become Python values; numbers that are whole become ``int`` (so a region
  code typed as a number reads as ``620802``, not ``620802.0``).
* **Header detection**: the header row need not be row 1 (ledgers carry a title, a date, a
  note above it). Of the first 30 rows, the one naming the most known columns is the header.
  Headers match after normalising: spaces removed, full-width brackets and colons turned
  half-width, a required-mark ``*`` dropped, case folded; each column also has aliases.
* **Validation report**: every problem names the sheet, the row number as Excel shows it, the
  column header and a message in Chinese. A missing required column is a problem of the header
  row; a repeated natural key is a problem of the later row.
* **All or nothing**: every row is written inside one transaction, each in a savepoint, so
  that one bad row is reported and undone while the others go on being checked (later rows
  that depend on it report that too). The transaction commits only when the report has no
  problem; a dry run (and :func:`validate`) always rolls back. Nothing is half-imported.
"""

from __future__ import annotations

import io
import re
import unicodedata
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from qingshan.services.errors import ServiceError
from qingshan.storage.db import session_factory

HEADER_SCAN_ROWS = 30
MAX_ROWS = 200_000  # per sheet: a ledger, not a data dump
XLSX_MAGIC = b"PK\x03\x04"
XLS_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # OLE2 compound file (BIFF8 .xls)


class WorkbookError(ServiceError):
    """The file cannot be read as a workbook at all."""


# --------------------------------------------------------------------------- specs


@dataclass(frozen=True, slots=True)
class Column:
    """One column of a sheet: the record field it fills, its header, how its cells read."""

    key: str
    header: str
    kind: str = "text"  # text | int | date | bool
    required: bool = False
    aliases: tuple[str, ...] = ()
    note: str = ""  # shown in the template's note row


@dataclass(frozen=True, slots=True)
class SheetSpec:
    name: str
    columns: tuple[Column, ...]
    key: tuple[str, ...] = ()  # natural key fields: unique within the sheet
    aliases: tuple[str, ...] = ()  # other names the sheet may have
    title: str = ""  # one line above the header in exports and the template

    def column(self, key: str) -> Column:
        for c in self.columns:
            if c.key == key:
                return c
        raise KeyError(key)


# --------------------------------------------------------------------------- report


@dataclass(frozen=True, slots=True)
class Problem:
    sheet: str
    row: int | None  # as Excel numbers it (1-based); None: the sheet as a whole
    column: str | None  # the header text
    message: str

    def __str__(self) -> str:
        where = f"【{self.sheet}】"
        if self.row is not None:
            where += f"第 {self.row} 行"
        if self.column:
            where += f"「{self.column}」"
        return f"{where}：{self.message}"


@dataclass(slots=True)
class SheetCount:
    created: int = 0
    updated: int = 0
    unchanged: int = 0

    @property
    def rows(self) -> int:
        return self.created + self.updated + self.unchanged


@dataclass(slots=True)
class Report:
    """What an import found and (had it been / when it is) written."""

    problems: list[Problem] = field(default_factory=list)
    counts: dict[str, SheetCount] = field(default_factory=dict)
    committed: bool = False

    @property
    def ok(self) -> bool:
        return not self.problems

    def add(self, sheet: str, row: int | None, column: str | None, message: str) -> None:
        self.problems.append(Problem(sheet, row, column, message))

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "committed": self.committed,
            "problems": [
                {"sheet": p.sheet, "row": p.row, "column": p.column, "message": p.message}
                for p in self.problems
            ],
            "counts": {
                k: {"created": v.created, "updated": v.updated, "unchanged": v.unchanged}
                for k, v in self.counts.items()
            },
        }


# --------------------------------------------------------------------------- reading


@dataclass(frozen=True, slots=True)
class RawSheet:
    name: str
    rows: list[list[Any]]  # cell values, row by row (row 1 first)


def _cell(v: Any) -> Any:
    if isinstance(v, float) and v.is_integer() and abs(v) < 2**53:
        return int(v)
    if isinstance(v, str):
        v = v.strip()
        return v or None
    return v


def _read_xlsx(data: bytes) -> list[RawSheet]:
    from openpyxl import load_workbook

    wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    try:
        out = []
        for ws in wb.worksheets:
            rows = []
            for i, r in enumerate(ws.iter_rows(values_only=True)):
                if i >= MAX_ROWS:
                    raise WorkbookError(f"工作表「{ws.title}」超过 {MAX_ROWS} 行")
                rows.append([_cell(v) for v in r])
            out.append(RawSheet(ws.title, rows))
        return out
    finally:
        wb.close()


def _read_xls(data: bytes) -> list[RawSheet]:
    import xlrd

    book = xlrd.open_workbook(file_contents=data)
    out = []
    for sh in book.sheets():
        if sh.nrows > MAX_ROWS:
            raise WorkbookError(f"工作表「{sh.name}」超过 {MAX_ROWS} 行")
        rows = []
        for r in range(sh.nrows):
            cells = []
            for c in range(sh.ncols):
                cell = sh.cell(r, c)
                if cell.ctype == xlrd.XL_CELL_DATE:
                    v: Any = xlrd.xldate.xldate_as_datetime(cell.value, book.datemode)
                elif cell.ctype == xlrd.XL_CELL_BOOLEAN:
                    v = bool(cell.value)
                elif cell.ctype in (xlrd.XL_CELL_EMPTY, xlrd.XL_CELL_BLANK, xlrd.XL_CELL_ERROR):
                    v = None
                else:
                    v = cell.value
                cells.append(_cell(v))
            rows.append(cells)
        out.append(RawSheet(sh.name, rows))
    return out


def read_workbook(data: bytes) -> list[RawSheet]:
    """The sheets of an .xlsx or .xls file (by content)."""
    try:
        if data.startswith(XLSX_MAGIC):
            return _read_xlsx(data)
        if data.startswith(XLS_MAGIC):
            return _read_xls(data)
    except WorkbookError:
        raise
    except Exception as exc:  # a damaged file: say so instead of a traceback
        raise WorkbookError(f"无法读取工作簿：{type(exc).__name__}: {exc}") from None
    raise WorkbookError("不是 Excel 工作簿（.xlsx 或 .xls）")


# --------------------------------------------------------------------------- headers

_FULL_WIDTH = str.maketrans({"（": "(", "）": ")", "：": ":", "【": "[", "】": "]", "／": "/"})


def normalise_header(text: Any) -> str:
    """Header text as compared: NFKC, no spaces or required marks, half-width brackets,
    case folded."""
    if text is None:
        return ""
    t = unicodedata.normalize("NFKC", str(text)).translate(_FULL_WIDTH)
    t = re.sub(r"\s+", "", t).replace("*", "").replace("＊", "")
    return t.casefold()


def _names(c: Column) -> set[str]:
    return {normalise_header(n) for n in (c.header, *c.aliases)}


@dataclass(frozen=True, slots=True)
class Located:
    header_row: int  # 1-based
    columns: dict[str, int]  # column key → 0-based index


def locate_header(spec: SheetSpec, rows: Sequence[Sequence[Any]]) -> Located | None:
    """The header row: of the first rows, the one naming the most of the sheet's columns."""
    best: tuple[int, int, dict[str, int]] | None = None
    for i, r in enumerate(rows[:HEADER_SCAN_ROWS]):
        found: dict[str, int] = {}
        for j, v in enumerate(r):
            n = normalise_header(v)
            if not n:
                continue
            for c in spec.columns:
                if c.key not in found and n in _names(c):
                    found[c.key] = j
                    break
        if found and (best is None or len(found) > best[1]):
            best = (i, len(found), found)
    if best is None:
        return None
    return Located(best[0] + 1, best[2])


# --------------------------------------------------------------------------- cells

_TRUE = {"是", "true", "yes", "y", "1", "√", "✓"}
_FALSE = {"否", "false", "no", "n", "0", "×", "✗"}
_DATE = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?$")


class CellError(ValueError):
    pass


def as_text(v: Any) -> str | None:
    """A cell as text: numbers without a spurious ``.0``, floats as their shortest text."""
    if v is None:
        return None
    if isinstance(v, bool):
        return "是" if v else "否"
    if isinstance(v, float):
        return repr(v) if not v.is_integer() else str(int(v))
    if isinstance(v, datetime):
        return v.date().isoformat() if v.time() == datetime.min.time() else v.isoformat()
    if isinstance(v, date | Decimal | int):
        return str(v)
    return str(v).strip() or None


def as_int(v: Any) -> int | None:
    if v is None:
        return None
    if isinstance(v, bool):
        raise CellError("应为整数")
    if isinstance(v, int):
        return v
    t = as_text(v) or ""
    if re.fullmatch(r"[+-]?\d+", t):
        return int(t)
    raise CellError(f"{t!r} 不是整数")


def as_date(v: Any) -> date | None:
    if v is None:
        return None
    if isinstance(v, datetime):
        return v.date()
    if isinstance(v, date):
        return v
    t = as_text(v) or ""
    m = _DATE.match(t)
    if m:
        try:
            return date(int(m[1]), int(m[2]), int(m[3]))
        except ValueError:
            pass
    raise CellError(f"{t!r} 不是日期（如 2026-01-31）")


def as_bool(v: Any) -> bool | None:
    if v is None:
        return None
    if isinstance(v, bool):
        return v
    t = (as_text(v) or "").casefold()
    if t in _TRUE:
        return True
    if t in _FALSE:
        return False
    raise CellError(f"{t!r} 应为 是 或 否")


_READERS: dict[str, Callable[[Any], Any]] = {
    "text": as_text,
    "int": as_int,
    "date": as_date,
    "bool": as_bool,
}


# --------------------------------------------------------------------------- rows


@dataclass(frozen=True, slots=True)
class Row:
    sheet: str
    number: int  # as Excel shows it
    values: dict[str, Any]  # column key → value (None when empty)


@dataclass(frozen=True, slots=True)
class ParsedSheet:
    spec: SheetSpec
    present: bool  # the workbook has this sheet
    rows: list[Row]


def _find_sheet(spec: SheetSpec, sheets: Sequence[RawSheet]) -> RawSheet | None:
    names = {normalise_header(n) for n in (spec.name, *spec.aliases)}
    for sh in sheets:
        if normalise_header(sh.name) in names:
            return sh
    return None


def parse_sheet(spec: SheetSpec, sheets: Sequence[RawSheet], report: Report) -> ParsedSheet:
    """The sheet's data rows, cells read by column kind; problems go to ``report``."""
    raw = _find_sheet(spec, sheets)
    if raw is None:
        return ParsedSheet(spec, False, [])
    located = locate_header(spec, raw.rows)
    if located is None:
        if any(any(v is not None for v in r) for r in raw.rows):
            report.add(
                spec.name,
                None,
                None,
                "找不到表头行（应含 "
                + "、".join(c.header for c in spec.columns if c.required)
                + " 等列）",
            )
        return ParsedSheet(spec, True, [])
    missing = [c.header for c in spec.columns if c.required and c.key not in located.columns]
    if missing:
        report.add(spec.name, located.header_row, None, "缺少必填列：" + "、".join(missing))
        return ParsedSheet(spec, True, [])
    rows: list[Row] = []
    seen: dict[tuple[Any, ...], int] = {}
    for i in range(located.header_row, len(raw.rows)):
        cells = raw.rows[i]
        if all(v is None for v in cells):
            continue
        number = i + 1
        values: dict[str, Any] = {}
        bad = False
        for c in spec.columns:
            j = located.columns.get(c.key)
            v = cells[j] if j is not None and j < len(cells) else None
            try:
                values[c.key] = _READERS[c.kind](v)
            except CellError as exc:
                report.add(spec.name, number, c.header, str(exc))
                bad = True
                continue
            if c.required and values[c.key] is None:
                report.add(spec.name, number, c.header, f"「{c.header}」不能为空")
                bad = True
        if bad:
            continue
        if spec.key:
            k = tuple(values.get(x) for x in spec.key)
            if k in seen:
                cols = "、".join(spec.column(x).header for x in spec.key)
                report.add(
                    spec.name,
                    number,
                    spec.column(spec.key[0]).header,
                    f"与第 {seen[k]} 行重复（{cols} 相同）",
                )
                continue
            seen[k] = number
        rows.append(Row(spec.name, number, values))
    return ParsedSheet(spec, True, rows)


# --------------------------------------------------------------------------- writing


Outcome = str  # "created" | "updated" | "unchanged"


@dataclass(slots=True)
class Context:
    """What a handler gets: the session and the report, and :meth:`row` to write one row."""

    session: Session
    report: Report

    def row(
        self,
        row: Row,
        spec: SheetSpec,
        write: Callable[..., Any],
        *args: Any,
        count: int = 1,
        **kw: Any,
    ) -> bool:
        """Run ``write(*args, **kw)`` for ``row`` in a savepoint; a service error becomes a
        problem of the row (its column from the error's ``field``) and the row's writes are
        undone. ``write`` returns the outcome (``created`` / ``updated`` / ``unchanged``), or
        a tuple whose second item is it (what the registry's ``save_*`` functions return).
        ``count``: how many rows the outcome counts for (0 for a check that writes nothing,
        n for the write of a table that n rows made up)."""
        tally = self.report.counts.setdefault(spec.name, SheetCount())
        sp = self.session.begin_nested()
        try:
            result = write(*args, **kw)
            outcome: Outcome = result[1] if isinstance(result, tuple) else result
            sp.commit()
        except ServiceError as exc:
            sp.rollback()
            self.report.add(spec.name, row.number, _header(spec, exc), str(exc))
            return False
        except SQLAlchemyError as exc:
            sp.rollback()
            self.report.add(spec.name, row.number, None, f"数据库拒绝写入：{type(exc).__name__}")
            return False
        setattr(tally, outcome, getattr(tally, outcome) + count)
        return True


def _header(spec: SheetSpec, exc: Exception) -> str | None:
    key = getattr(exc, "field", None)
    if key is None:
        return None
    for c in spec.columns:
        if c.key == key:
            return c.header
    return None


Handler = Callable[[Context, ParsedSheet], None]


@dataclass(frozen=True, slots=True)
class Plan:
    """An import: its sheets in the order they are written, each with its handler."""

    steps: tuple[tuple[SheetSpec, Handler], ...]

    @property
    def specs(self) -> tuple[SheetSpec, ...]:
        return tuple(spec for spec, _h in self.steps)


def _parsed(plan: Plan, data: bytes, report: Report) -> list[ParsedSheet] | None:
    """The plan's sheets read from ``data`` (None, with the problem reported, when none can
    be)."""
    try:
        sheets = read_workbook(data)
    except WorkbookError as exc:
        report.add("工作簿", None, None, str(exc))
        return None
    parsed = [parse_sheet(spec, sheets, report) for spec in plan.specs]
    if not any(p.present for p in parsed):
        names = "、".join(spec.name for spec in plan.specs)
        report.add("工作簿", None, None, f"没有可导入的工作表（应为 {names} 之一）")
        return None
    return parsed


def run_in(s: Session, plan: Plan, data: bytes, *, commit: bool) -> Report:
    """:func:`run` inside the caller's transaction, in a savepoint that is kept only when
    ``commit`` and there is no problem — so the caller can record the import (workflow,
    timeline, notices) in the same transaction as the rows. ``committed`` then means "kept";
    the caller's commit makes it durable."""
    report = Report()
    parsed = _parsed(plan, data, report)
    if parsed is None:
        return report
    sp = s.begin_nested()
    try:
        ctx = Context(s, report)
        for (_spec, handler), sheet in zip(plan.steps, parsed, strict=True):
            if sheet.present:
                handler(ctx, sheet)
    except BaseException:
        sp.rollback()
        raise
    if commit and report.ok:
        sp.commit()
        report.committed = True
    else:
        sp.rollback()
    return report


def run(engine: Engine, plan: Plan, data: bytes, *, commit: bool) -> Report:
    """Read ``data``, check every row and write them in one transaction; commit only when
    ``commit`` and there is no problem."""
    report = Report()
    parsed = _parsed(plan, data, report)
    if parsed is None:
        return report
    with session_factory(engine)() as s:
        tx = s.begin()
        try:
            ctx = Context(s, report)
            for (_spec, handler), sheet in zip(plan.steps, parsed, strict=True):
                if sheet.present:
                    handler(ctx, sheet)
            if commit and report.ok:
                tx.commit()
                report.committed = True
            else:
                tx.rollback()
        except BaseException:
            tx.rollback()
            raise
    return report


def validate(engine: Engine, plan: Plan, data: bytes) -> Report:
    """Check everything an import would write, write nothing (the dry run)."""
    return run(engine, plan, data, commit=False)


def apply(engine: Engine, plan: Plan, data: bytes) -> Report:
    """Write the workbook if, and only if, every row is good."""
    return run(engine, plan, data, commit=True)


# --------------------------------------------------------------------------- export


def write_workbook(sheets: Sequence[tuple[SheetSpec, Sequence[dict[str, Any]]]]) -> bytes:
    """A workbook with one sheet per spec: its title in row 1, the headers in row 2, the
    records from row 3 (values as given: text stays text, dates are dates)."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    wb = Workbook()
    default = wb.active
    assert default is not None
    wb.remove(default)
    bold = Font(bold=True)
    required = PatternFill("solid", fgColor="FFF2CC")
    for spec, records in sheets:
        ws = wb.create_sheet(spec.name)
        ws.append([spec.title or spec.name])
        ws.append([c.header for c in spec.columns])
        for j, c in enumerate(spec.columns, start=1):
            cell = ws.cell(row=2, column=j)
            cell.font = bold
            if c.required:
                cell.fill = required
            ws.column_dimensions[get_column_letter(j)].width = max(10, 2 * len(c.header) + 4)
        ws.freeze_panes = "A3"
        for rec in records:
            ws.append([_export_cell(rec.get(c.key)) for c in spec.columns])
        for row in ws.iter_rows(min_row=3):
            for cell in row:
                if isinstance(cell.value, str):
                    cell.number_format = "@"  # codes stay text when edited in Excel
                    if cell.value.startswith("="):
                        cell.data_type = "s"  # text that looks like a formula stays text
                cell.alignment = Alignment(vertical="top")
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _export_cell(v: Any) -> Any:
    if isinstance(v, bool):
        return "是" if v else "否"
    if isinstance(v, Decimal):
        return str(v)
    return v


def sheet_values(data: bytes) -> dict[str, list[list[Any]]]:
    """Every sheet's cell values (for comparing two workbooks cell by cell)."""
    return {sh.name: sh.rows for sh in read_workbook(data)}


def iter_problems(report: Report) -> Iterator[str]:
    for p in report.problems:
        yield str(p)
