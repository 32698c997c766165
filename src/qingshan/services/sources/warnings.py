"""Heavy-pollution response (应急减排清单): warnings, each enterprise's 绩效分级 and measures per
warning level, and the warning board — which enterprises must act and whether their online
data show that they did.

* **Warnings** (``source_warning``): level 黄色 / 橙色 / 红色, a region (it covers the region
  and everything below it in the registry's tree), start and end (CST, end exclusive; open
  while in force), the issuing document (文号). Added and ended by the bureau (admins, staff).
* **清单** (``source_grade``, ``source_measure``): per enterprise its 绩效分级 (A级 … D级,
  引领性) and per warning level one measure (text, e.g. 限产30%、停产) with the expected
  reduction in percent (0–100; 停产 = 100). Imported from an Excel 清单 through
  :mod:`qingshan.services.excel_import` (row-numbered validation, nothing half-imported; a row
  matches an existing measure by 统一社会信用代码 + 预警级别 and updates it; measures absent
  from the file stay).
* **Board** (:func:`board`): the enterprises in the warning's region that have a measure for
  its level; for each, the load of its gas outlets during the warning against its own
  baseline. A hint for inspectors, never a finding of violation.

Load and baseline (choices where the issue is silent):

* Only **gas** outlets count (a heavy-pollution warning is about air emissions); the
  indicators are the emission rate (kg/h, measured concentration × flow a00000 × 3600 s) of
  each pollutant the outlet's permits limit, and, when no pollutant has data, the flue-gas
  flow alone (m³/h).
* **Warning hours**: the whole clock hours inside [start, end) closed by the data cut-off.
  **Baseline hours**: the hours of the 7 days before the start whose clock hour (0–23) occurs
  among the warning hours ("same hours of the 7 days before").
* An hour **counts** for an indicator when every gas outlet of the enterprise that carries it
  has, that hour, either an F (停运) record — a stopped plant emits nothing: 0 — or a valid
  (N) concentration and flow. Other hours are left out (never gap-filled); the counts are
  shown.
* Mean rate = Σ load / counted hours, exact (Fraction). Reduction = 1 − during / baseline.
  Enterprise reduction = the smallest over its pollutants that have both (every pollutant
  must show the drop).
* **Verdict**: 已落实 when the reduction ≥ the expected reduction; 未见下降 when it is smaller
  (including a rise); 无数据 when no indicator has counted hours in both windows or the
  baseline load is zero (nothing to reduce from). Figures are rounded once for display (rates
  3 decimals, reductions 1 decimal in percent, GB/T 8170).
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from qingshan.clock import to_cst, utcnow
from qingshan.roles import Principal
from qingshan.services import excel_import as xi
from qingshan.services import permissions
from qingshan.services.errors import NotFound, ServiceError
from qingshan.services.permits import limits_by_site
from qingshan.services.sources import stats
from qingshan.standards import supervision as sv
from qingshan.standards.rounding import round_half_even
from qingshan.storage.models import Enterprise, Region
from qingshan.storage.models_sources import SourceGrade, SourceMeasure, SourceWarning

HOUR = timedelta(hours=1)
BASELINE_DAYS = 7
FLOW_CODE = "a00000"
EDITORS = permissions.SOURCE_CONFIRMERS  # who adds and ends warnings, imports the 清单

LEVELS: dict[str, str] = {"yellow": "黄色", "orange": "橙色", "red": "红色"}
GRADES: dict[str, str] = {"A": "A级", "B": "B级", "C": "C级", "D": "D级", "leading": "引领性"}
VERDICTS: dict[str, str] = {"done": "已落实", "no_drop": "未见下降", "no_data": "无数据"}


class WarningError(ServiceError):
    """A warning or 清单 request that cannot be done as asked."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


def _editor(p: Principal) -> None:
    if p.role not in EDITORS:
        raise WarningError("只有生态环境局工作人员和系统管理员可以管理重污染天气预警和应急减排清单")


# --------------------------------------------------------------------------- parsing

_LEVEL_NAMES = {
    **{k: k for k in LEVELS},
    **{v: k for k, v in LEVELS.items()},
    **{v[0]: k for k, v in LEVELS.items()},
    **{v + "预警": k for k, v in LEVELS.items()},
    **{v[0] + "色预警": k for k, v in LEVELS.items()},
}
_GRADE_NAMES = {
    **{k.casefold(): k for k in GRADES},
    **{v.casefold(): k for k, v in GRADES.items()},
    "引领性企业": "leading",
    "绩效引领性": "leading",
}


def parse_level(text: str | None) -> str:
    """``yellow`` / ``orange`` / ``red`` from 黄色 / 黄 / 黄色预警 / yellow …"""
    t = (text or "").strip()
    key = _LEVEL_NAMES.get(t) or _LEVEL_NAMES.get(t.casefold())
    if key is None:
        raise WarningError(f"预警级别 {t!r} 应为 黄色、橙色 或 红色", "level")
    return key


def parse_grade(text: str | None) -> str:
    t = re.sub(r"\s+", "", text or "").casefold()
    key = _GRADE_NAMES.get(t)
    if key is None:
        raise WarningError(f"绩效分级 {text!r} 应为 A级、B级、C级、D级 或 引领性", "grade")
    return key


def parse_reduction(text: str | None) -> Decimal:
    """Expected reduction in percent: ``30``, ``30%``, ``30％``; 0 ≤ r ≤ 100 (exact)."""
    t = re.sub(r"\s+", "", text or "").rstrip("%％")
    try:
        d = Decimal(t)
    except InvalidOperation:
        raise WarningError(
            f"预期减排比例 {text!r} 应为 0–100 的百分数（如 30 或 30%）", "reduction"
        ) from None
    if not d.is_finite() or d < 0 or d > 100:
        raise WarningError(f"预期减排比例 {text!r} 应在 0 到 100 之间", "reduction")
    return Decimal(format(d.normalize(), "f"))  # 100, not 1E+2


# --------------------------------------------------------------------------- warnings


def add_warning(
    s: Session,
    p: Principal,
    *,
    level: str,
    region: str,
    start: datetime,
    end: datetime | None,
    document: str,
    note: str | None = None,
) -> SourceWarning:
    """Record a warning (times naive CST)."""
    _editor(p)
    code = parse_level(level)
    if s.get(Region, region) is None:
        raise WarningError(f"区划 {region} 不存在", "region")
    doc = document.strip()
    if not doc:
        raise WarningError("请填写发布文号", "document")
    if end is not None and end <= start:
        raise WarningError(f"解除时间 {end:%Y-%m-%d %H:%M} 不晚于发布时间 {start:%Y-%m-%d %H:%M}")
    row = SourceWarning(
        level=code,
        region_code=region,
        starts_at=start,
        ends_at=end,
        document=doc,
        note=(note or "").strip() or None,
        created_at=utcnow(),
        created_by=p.username or p.role,
    )
    s.add(row)
    s.flush()
    return row


def get_warning(s: Session, warning_id: int) -> SourceWarning:
    row = s.get(SourceWarning, warning_id)
    if row is None:
        raise NotFound(f"预警 {warning_id} 不存在")
    return row


def end_warning(s: Session, p: Principal, warning_id: int, end: datetime) -> SourceWarning:
    """解除 a warning at ``end`` (naive CST)."""
    _editor(p)
    row = get_warning(s, warning_id)
    if row.ends_at is not None:
        raise WarningError(f"预警 {warning_id} 已于 {row.ends_at:%Y-%m-%d %H:%M} 解除")
    if end <= row.starts_at:
        raise WarningError(
            f"解除时间 {end:%Y-%m-%d %H:%M} 不晚于发布时间 {row.starts_at:%Y-%m-%d %H:%M}"
        )
    row.ends_at = end
    s.flush()
    return row


def list_warnings(s: Session) -> list[SourceWarning]:
    """Every warning, newest first (warnings are public acts: every reader sees them)."""
    return list(
        s.scalars(select(SourceWarning).order_by(SourceWarning.starts_at.desc(), SourceWarning.id))
    )


def is_active(w: SourceWarning, now: datetime) -> bool:
    return w.starts_at <= now and (w.ends_at is None or now < w.ends_at)


def warning_json(s: Session, w: SourceWarning, now: datetime | None = None) -> dict[str, Any]:
    at = to_cst(utcnow()) if now is None else now
    region = s.get(Region, w.region_code)
    return {
        "id": w.id,
        "level": w.level,
        "level_label": LEVELS[w.level],
        "region": w.region_code,
        "region_name": None if region is None else region.name,
        "start": w.starts_at.isoformat(timespec="minutes") + "+08:00",
        "end": None if w.ends_at is None else w.ends_at.isoformat(timespec="minutes") + "+08:00",
        "document": w.document,
        "note": w.note,
        "active": is_active(w, at),
    }


# --------------------------------------------------------------------------- 清单

SHEET = xi.SheetSpec(
    name="应急减排清单",
    aliases=("重污染天气应急减排清单", "减排清单"),
    title="重污染天气应急减排清单（每行：一家企业在一个预警级别下的减排措施）",
    key=("credit_code", "level"),
    columns=(
        xi.Column("credit_code", "统一社会信用代码", required=True, aliases=("信用代码",)),
        xi.Column("name", "企业名称", aliases=("单位名称",), note="核对用，按信用代码匹配"),
        xi.Column("grade", "绩效分级", required=True, aliases=("绩效等级",)),
        xi.Column("level", "预警级别", required=True),
        xi.Column("measure", "减排措施", required=True, aliases=("应急减排措施",)),
        xi.Column(
            "reduction",
            "预期减排比例(%)",
            required=True,
            aliases=("预期减排比例", "减排比例(%)", "减排比例"),
            note="0–100，停产填 100",
        ),
    ),
)


def save_measure(
    s: Session,
    p: Principal,
    *,
    credit_code: str,
    grade: str,
    level: str,
    measure: str,
    reduction: str,
    name: str | None = None,
    grades_seen: dict[int, str] | None = None,
) -> str:
    """Write one 清单 row (grade and measure); ``created`` / ``updated`` / ``unchanged``."""
    _editor(p)
    ent = s.scalar(select(Enterprise).where(Enterprise.credit_code == credit_code))
    if ent is None:
        raise WarningError(f"统一社会信用代码 {credit_code} 的企业未登记", "credit_code")
    if name and name.strip() != ent.name:
        raise WarningError(f"企业名称与登记的「{ent.name}」不一致", "name")
    g, lv, red = parse_grade(grade), parse_level(level), parse_reduction(reduction)
    text = measure.strip()
    if grades_seen is not None and grades_seen.setdefault(ent.id, g) != g:
        raise WarningError(
            f"同一企业的绩效分级前后不一致（{GRADES[grades_seen[ent.id]]} / {GRADES[g]}）",
            "grade",
        )
    now = utcnow()
    changed = False
    gr = s.get(SourceGrade, ent.id)
    if gr is None:
        s.add(SourceGrade(enterprise_id=ent.id, grade=g, updated_at=now))
        changed = True
    elif gr.grade != g:
        gr.grade, gr.updated_at = g, now
        changed = True
    row = s.scalar(
        select(SourceMeasure).where(
            SourceMeasure.enterprise_id == ent.id, SourceMeasure.level == lv
        )
    )
    if row is None:
        s.add(
            SourceMeasure(
                enterprise_id=ent.id, level=lv, measure=text, reduction=str(red), updated_at=now
            )
        )
        s.flush()
        return "created"
    if row.measure != text or Decimal(row.reduction) != red:
        row.measure, row.reduction, row.updated_at = text, str(red), now
        changed = True
    s.flush()
    return "updated" if changed else "unchanged"


def _plan(p: Principal) -> xi.Plan:
    def handle(ctx: xi.Context, sheet: xi.ParsedSheet) -> None:
        seen: dict[int, str] = {}
        for row in sheet.rows:
            v = row.values
            ctx.row(
                row,
                SHEET,
                save_measure,
                ctx.session,
                p,
                credit_code=v["credit_code"],
                grade=v["grade"],
                level=v["level"],
                measure=v["measure"],
                reduction=v["reduction"],
                name=v.get("name"),
                grades_seen=seen,
            )

    return xi.Plan(((SHEET, handle),))


def import_measures(engine: Any, p: Principal, data: bytes, *, commit: bool = True) -> xi.Report:
    """Import an Excel 清单: every row checked, all written or none."""
    _editor(p)
    return xi.run(engine, _plan(p), data, commit=commit)


def measures_workbook(rows: Sequence[dict[str, Any]]) -> bytes:
    """A 清单 workbook (the import's layout) from rows keyed as :data:`SHEET`'s columns."""
    return xi.write_workbook([(SHEET, rows)])


def measures_json(s: Session, p: Principal) -> list[dict[str, Any]]:
    """The 清单 within the principal's scope, by enterprise name and level."""
    order = {k: i for i, k in enumerate(LEVELS)}
    q = (
        select(SourceMeasure, Enterprise, SourceGrade.grade)
        .join(Enterprise, Enterprise.id == SourceMeasure.enterprise_id)
        .outerjoin(SourceGrade, SourceGrade.enterprise_id == Enterprise.id)
        .where(permissions.enterprise_scope(p))
    )
    out = [
        {
            "credit_code": e.credit_code,
            "name": e.name,
            "grade": g,
            "grade_label": None if g is None else GRADES[g],
            "level": m.level,
            "level_label": LEVELS[m.level],
            "measure": m.measure,
            "reduction": m.reduction,
        }
        for m, e, g in s.execute(q)
    ]
    out.sort(key=lambda r: (str(r["name"]), order[str(r["level"])]))
    return out


# --------------------------------------------------------------------------- board


@dataclass(frozen=True, slots=True)
class Rate:
    """Mean hourly rate over the counted hours (exact)."""

    total: Fraction
    hours: int

    @property
    def mean(self) -> Fraction | None:
        return None if self.hours == 0 else self.total / self.hours


def hours_of(start: datetime, end: datetime) -> list[datetime]:
    """The whole clock hours inside [start, end)."""
    t = start.replace(minute=0, second=0, microsecond=0)
    if t < start:
        t += HOUR
    out = []
    while t + HOUR <= end:
        out.append(t)
        t += HOUR
    return out


def baseline_hours(start: datetime, warning_hours: Sequence[datetime]) -> list[datetime]:
    """The hours of the ``BASELINE_DAYS`` days before ``start`` whose clock hour occurs among
    the warning hours."""
    clock = {h.hour for h in warning_hours}
    first = start.replace(minute=0, second=0, microsecond=0) - timedelta(days=BASELINE_DAYS)
    return [h for h in hours_of(first, start) if h.hour in clock]


Rows = dict[str, dict[datetime, sv.Record]]


@dataclass(slots=True)
class Loads:
    """One enterprise's gas outlets' records: pollutant → the outlets that carry it, and all
    of them (for the flow)."""

    by_pollutant: dict[str, list[Rows]] = field(default_factory=dict)
    gas_outlets: list[Rows] = field(default_factory=list)


def _rate(outlets: Sequence[Rows], code: str, hours: Sequence[datetime]) -> Rate:
    """Σ over counted hours of Σ over outlets of the hour's load of ``code`` (kg; m³ for the
    flow itself)."""
    total, n = Fraction(0), 0
    for h in hours:
        hour_total, ok = Fraction(0), True
        for rows in outlets:
            flow = rows.get(FLOW_CODE, {}).get(h)
            rec = flow if code == FLOW_CODE else rows.get(code, {}).get(h)
            if rec is not None and not sv.flag_rule(rec.flag).expected:
                continue  # stopped (F): nothing emitted
            c = _valid(rec)
            q = _valid(flow)
            if c is None or q is None or c < 0 or q < 0:
                ok = False
                break
            if code == FLOW_CODE:
                hour_total += Fraction(q) * 3600
            else:
                hour_total += sv.interval_mass(c, q, 3600, "gas")
        if ok:
            total += hour_total
            n += 1
    return Rate(total, n)


def _valid(rec: sv.Record | None) -> Decimal | Fraction | None:
    if rec is None or rec.value is None or not sv.flag_rule(rec.flag).valid:
        return None
    return rec.value


def _num(x: Fraction | None, places: int) -> str | None:
    return None if x is None else str(round_half_even(x, places))


@dataclass(frozen=True, slots=True)
class Indicator:
    code: str
    unit: str
    baseline: Rate
    during: Rate

    @property
    def reduction(self) -> Fraction | None:
        b, d = self.baseline.mean, self.during.mean
        return None if not b or d is None else 1 - d / b

    def as_dict(self) -> dict[str, Any]:
        red = self.reduction
        return {
            "code": self.code,
            "unit": self.unit,
            "baseline": _num(self.baseline.mean, 3),
            "baseline_hours": self.baseline.hours,
            "during": _num(self.during.mean, 3),
            "during_hours": self.during.hours,
            "reduction_pct": _num(None if red is None else red * 100, 1),
        }


def _assess(
    loads: Loads, warn: list[datetime], base: list[datetime], expected: Decimal
) -> dict[str, Any]:
    """Indicators and the verdict of one enterprise."""
    indicators = [
        Indicator(code, "kg/h", _rate(rows, code, base), _rate(rows, code, warn))
        for code, rows in sorted(loads.by_pollutant.items())
    ]
    usable = [r for i in indicators if (r := i.reduction) is not None]
    basis = "emission"
    if not usable and loads.gas_outlets:
        flow = Indicator(
            FLOW_CODE,
            "m³/h",
            _rate(loads.gas_outlets, FLOW_CODE, base),
            _rate(loads.gas_outlets, FLOW_CODE, warn),
        )
        indicators.append(flow)
        if (r := flow.reduction) is not None:
            usable, basis = [r], "flow"
    worst = min(usable) if usable else None
    if worst is None:
        verdict, basis = "no_data", ""
    else:
        verdict = "done" if worst * 100 >= Fraction(expected) else "no_drop"
    return {
        "indicators": [i.as_dict() for i in indicators],
        "basis": basis,
        "reduction_pct": _num(None if worst is None else worst * 100, 1),
        "verdict": verdict,
        "verdict_label": VERDICTS[verdict],
    }


def board(
    s: Session, p: Principal, warning_id: int, cutoff: datetime | None = None
) -> dict[str, Any]:
    """Which enterprises must act on the warning, their measure and expected reduction, and
    what their online data show (module docstring)."""
    w = get_warning(s, warning_id)
    now = to_cst(utcnow()) if cutoff is None else cutoff
    end = now if w.ends_at is None else min(w.ends_at, now)
    warn = hours_of(w.starts_at, end)
    base = baseline_hours(w.starts_at, warn or hours_of(w.starts_at, w.starts_at + HOUR))
    regions = stats.region_codes(s, w.region_code)
    q = (
        select(SourceMeasure, Enterprise, SourceGrade.grade)
        .join(Enterprise, Enterprise.id == SourceMeasure.enterprise_id)
        .outerjoin(SourceGrade, SourceGrade.enterprise_id == Enterprise.id)
        .where(
            SourceMeasure.level == w.level,
            Enterprise.region_code.in_(sorted(regions)),
            permissions.enterprise_scope(p),
        )
        .order_by(Enterprise.name)
    )
    found = list(s.execute(q))
    rows: list[dict[str, Any]] = []
    if found:
        first = base[0] if base else w.starts_at
        last = (warn[-1] + HOUR) if warn else w.starts_at
        per_ent = _loads(s, p, [e.id for _m, e, _g in found], first, last, now, w.starts_at)
        for m, e, g in found:
            loads = per_ent.get(e.id, Loads())
            rows.append(
                {
                    "credit_code": e.credit_code,
                    "name": e.name,
                    "region": e.region_code,
                    "grade": g,
                    "grade_label": None if g is None else GRADES[g],
                    "measure": m.measure,
                    "expected_pct": m.reduction,
                    **_assess(loads, warn, base, Decimal(m.reduction)),
                }
            )
    counts = {k: sum(1 for r in rows if r["verdict"] == k) for k in VERDICTS}
    return {
        "warning": warning_json(s, w, now),
        "cutoff": now.isoformat(timespec="minutes") + "+08:00",
        "warning_hours": len(warn),
        "baseline": {
            "from": None if not base else base[0].isoformat(timespec="minutes") + "+08:00",
            "to": w.starts_at.isoformat(timespec="minutes") + "+08:00",
            "hours": len(base),
        },
        "counts": counts,
        "enterprises": rows,
    }


def _loads(
    s: Session,
    p: Principal,
    enterprise_ids: list[int],
    first: datetime,
    last: datetime,
    cutoff: datetime,
    limits_day: datetime,
) -> dict[int, Loads]:
    """Each enterprise's gas outlets' hourly records over [first, last), by the pollutants
    their permits limit on the warning's first day."""
    wanted = set(enterprise_ids)
    outlets = [
        o
        for o in stats.outlets_in_scope(s, p, None, None)
        if o.enterprise.id in wanted and (o.site.outlet_medium or "gas") == "gas"
    ]
    limits = limits_by_site(s, limits_day.date())
    limited = {
        o.site.id: sorted({lim.pollutant for lim in limits.get(o.site.id, ())}) for o in outlets
    }
    codes = sorted({c for cs in limited.values() for c in cs} | {FLOW_CODE})
    period = stats.Period(first, last, cutoff)
    by_dev = stats.observations(s, [d for o in outlets for d in o.devices], codes, period)
    out: dict[int, Loads] = {}
    for o in outlets:
        rows: Rows = defaultdict(dict)
        for d in sorted(o.devices):
            for code, recs in by_dev.get(d, {}).items():
                rows[code].update(recs)
        ent = out.setdefault(o.enterprise.id, Loads())
        ent.gas_outlets.append(rows)
        for pol in limited[o.site.id]:
            ent.by_pollutant.setdefault(pol, []).append(rows)
    return out
