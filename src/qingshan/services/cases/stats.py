"""Case statistics as the seeds and inspection reports state them, per origin, round and kind.

What counts is read from the workflow definitions' state tags, never from state names:

* ``total``: cases not voided, merged or refused (tag ``excluded``);
* ``rectified`` (完成整改, including those later 销号): tag ``rectified``;
* ``signed_off`` (销号): tag ``signed_off``;
* ``closed``: tag ``closed`` — for problems the same as rectified, for complaints 办结
  (阶段性办结 is not 办结);
* ``in_progress`` = total − closed (正在整改 / 正在办理, including 阶段性办结);
* ``overdue``: not closed and past the due day (China Standard Time);
* ``closure_rate`` = closed / total × 100, one decimal, rounded half up;
* ``on_time_rate`` (按期办结率) = closed on or before the due day / closed with a due day × 100;
* ``average_handling_days`` (平均办结时间) = mean of (closed day − received day) over the closed
  cases, in calendar days, one decimal;
* ``repeat``: complaints linked as a repeat of an earlier one.

Seed 000: "第二轮省级生态环境保护督察反馈的30个问题完成整改17个，正在整改13个，84件信访问题已
办结82件" is ``{total: 30, rectified: 17, in_progress: 13}`` and ``{total: 84, closed: 82}``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from qingshan.clock import cst_today
from qingshan.roles import Principal
from qingshan.services.cases import core, vocab
from qingshan.storage.models_cases import CASE_KINDS, CASE_ORIGINS, CaseItem
from qingshan.storage.models_registry import OrgUnit

ONE_DECIMAL = Decimal("0.1")


def percent(part: int, whole: int) -> float | None:
    """part / whole × 100 to one decimal, half up (None when whole is 0)."""
    if whole == 0:
        return None
    return float((Decimal(part * 100) / Decimal(whole)).quantize(ONE_DECIMAL, ROUND_HALF_UP))


def mean_days(days: Iterable[int]) -> float | None:
    """The mean of whole days to one decimal, half up (None when there are none)."""
    values = list(days)
    if not values:
        return None
    return float((Decimal(sum(values)) / Decimal(len(values))).quantize(ONE_DECIMAL, ROUND_HALF_UP))


@dataclass(slots=True)
class Row:
    origin: str
    origin_label: str
    round: int | None
    kind: str
    kind_label: str
    total: int = 0
    rectified: int = 0
    signed_off: int = 0
    closed: int = 0
    in_progress: int = 0
    overdue: int = 0
    closure_rate: float | None = None
    on_time_rate: float | None = None
    average_handling_days: float | None = None
    repeat: int = 0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class Fact:
    """What statistics need of one case (pure: no database)."""

    origin: str
    round: int | None
    kind: str
    tags: tuple[str, ...]
    received_on: date
    due_on: date | None
    closed_on: date | None
    repeat: bool


def tally(facts: Iterable[Fact], today: date) -> list[Row]:
    """The rows, ordered by origin, round and kind."""
    groups: dict[tuple[str, int | None, str], list[Fact]] = {}
    for f in facts:
        if "excluded" in f.tags:
            continue
        groups.setdefault((f.origin, f.round, f.kind), []).append(f)
    rows = []
    for (origin, rnd, kind), items in groups.items():
        r = Row(origin, vocab.ORIGIN_LABELS[origin], rnd, kind, vocab.KIND_LABELS[kind])
        on_time = with_due = 0
        handling: list[int] = []
        for f in items:
            r.total += 1
            r.rectified += "rectified" in f.tags
            r.signed_off += "signed_off" in f.tags
            closed = "closed" in f.tags
            r.closed += closed
            r.repeat += f.repeat
            if not closed and f.due_on is not None and f.due_on < today:
                r.overdue += 1
            if closed and f.closed_on is not None:
                handling.append((f.closed_on - f.received_on).days)
                if f.due_on is not None:
                    with_due += 1
                    on_time += f.closed_on <= f.due_on
        r.in_progress = r.total - r.closed
        r.closure_rate = percent(r.closed, r.total)
        r.on_time_rate = percent(on_time, with_due)
        r.average_handling_days = mean_days(handling)
        rows.append(r)
    rows.sort(key=lambda r: (CASE_ORIGINS.index(r.origin), r.round or 0, CASE_KINDS.index(r.kind)))
    return rows


def compute(s: Session, p: Principal, *, region: str | None = None) -> list[Row]:
    """The statistics of the cases the principal may see (of a region and those under it)."""
    return tally(_facts(s, p, region), cst_today())


# ---------------------------------------------------------------------------- 公示


@dataclass(frozen=True, slots=True)
class PublicRow:
    """One line of the public table: nothing about reporters, only the item and its result."""

    code: str
    origin_label: str
    round: int | None
    kind_label: str
    batch: str | None
    item_no: str | None
    national_id: str | None
    title: str
    category: str | None
    lead_unit: str | None
    state_label: str
    finding: str | None
    rectified_on: date | None
    signed_off_on: date | None
    closed_on: date | None


def public_table(s: Session, *, limit: int = 2000) -> list[PublicRow]:
    """The 公示 table (信息公开): inspection problems whose rectification result is announced or
    signed off (state tag ``public``), and every complaint transferred by an inspection
    (督察转办信访件) with its result — the 公开一览表 bureaus publish. By origin, round, code."""
    q = (
        select(CaseItem)
        .where(CaseItem.origin.in_(vocab.INSPECTIONS))
        .order_by(CaseItem.origin, CaseItem.round, CaseItem.code)
    )
    units = {code: name for code, name in s.execute(select(OrgUnit.code, OrgUnit.name))}
    out = []
    for c in s.scalars(q):
        tags = core.state_tags(c)
        if "excluded" in tags or (c.kind == "problem" and "public" not in tags):
            continue
        out.append(
            PublicRow(
                c.code,
                vocab.ORIGIN_LABELS[c.origin],
                c.round,
                vocab.KIND_LABELS[c.kind],
                c.batch,
                c.item_no,
                c.national_id,
                c.title,
                c.category,
                units.get(c.lead_unit or "", c.lead_unit),
                core.state_label(c),
                c.finding,
                c.rectified_on,
                c.signed_off_on,
                c.closed_on,
            )
        )
        if len(out) >= limit:
            break
    return out


# ---------------------------------------------------------------------------- 同比


def change_rate(now: int, before: int) -> float | None:
    """同比增减 (now − before) / before × 100 to one decimal, half up (None when before is 0)."""
    if before == 0:
        return None
    return float(
        (Decimal((now - before) * 100) / Decimal(before)).quantize(ONE_DECIMAL, ROUND_HALF_UP)
    )


@dataclass(slots=True)
class YearRow:
    """One origin and kind in a year against the year before (同比). A case counts in the year
    it was received (交办 / 受理 / 发现, ``received_on``) and, if closed, in the year it was
    closed (``closed_on``: 完成整改 for problems, 办结 for complaints); voided, merged and
    refused cases (tag ``excluded``) do not count."""

    origin: str
    origin_label: str
    kind: str
    kind_label: str
    year: int
    previous_year: int
    received: int = 0
    received_previous: int = 0
    received_change: int = 0
    received_change_rate: float | None = None
    closed: int = 0
    closed_previous: int = 0
    closed_change: int = 0
    closed_change_rate: float | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def year_on_year(facts: Iterable[Fact], year: int) -> list[YearRow]:
    """Per origin and kind (rounds together), ``year`` against ``year - 1``; an origin and kind
    with nothing in either year has no row. Ordered by origin and kind."""
    rows: dict[tuple[str, str], YearRow] = {}
    for f in facts:
        if "excluded" in f.tags:
            continue
        got = []
        if f.received_on.year in (year, year - 1):
            got.append(("received", f.received_on.year))
        if "closed" in f.tags and f.closed_on is not None and f.closed_on.year in (year, year - 1):
            got.append(("closed", f.closed_on.year))
        if not got:
            continue
        r = rows.get((f.origin, f.kind))
        if r is None:
            r = rows[(f.origin, f.kind)] = YearRow(
                f.origin,
                vocab.ORIGIN_LABELS[f.origin],
                f.kind,
                vocab.KIND_LABELS[f.kind],
                year,
                year - 1,
            )
        for what, y in got:
            field_name = what if y == year else f"{what}_previous"
            setattr(r, field_name, getattr(r, field_name) + 1)
    for r in rows.values():
        r.received_change = r.received - r.received_previous
        r.received_change_rate = change_rate(r.received, r.received_previous)
        r.closed_change = r.closed - r.closed_previous
        r.closed_change_rate = change_rate(r.closed, r.closed_previous)
    return sorted(
        rows.values(), key=lambda r: (CASE_ORIGINS.index(r.origin), CASE_KINDS.index(r.kind))
    )


def _facts(s: Session, p: Principal, region: str | None) -> list[Fact]:
    q = select(CaseItem).where(core.case_scope(p))
    if region:
        q = q.where(CaseItem.region_code.startswith(core.region_prefix(region)))
    return [
        Fact(
            c.origin,
            c.round,
            c.kind,
            core.state_tags(c),
            c.received_on,
            c.due_on,
            c.closed_on,
            c.repeat_of is not None,
        )
        for c in s.scalars(q)
    ]


def compute_year_on_year(
    s: Session, p: Principal, year: int, *, region: str | None = None
) -> list[YearRow]:
    """:func:`year_on_year` of the cases the principal may see (of a region and below)."""
    return year_on_year(_facts(s, p, region), year)


__all__ = [
    "Fact",
    "PublicRow",
    "Row",
    "YearRow",
    "change_rate",
    "compute",
    "compute_year_on_year",
    "mean_days",
    "percent",
    "public_table",
    "tally",
    "year_on_year",
]
