"""Annual assessment (考核) of units against a scheme: points per indicator and task item,
deductions, bonuses, 一票否决 and grade bands. Pure: the caller gives each item's result.

A scheme is TOML data the bureau writes for a year (format in ``docs/plans.md``)::

    year = 2026
    plan = "kongtong-14th"
    bands = [{ grade = "优秀", min = "90" }, { grade = "良好", min = "80" },
             { grade = "合格", min = "60" }, { grade = "不合格", min = "0" }]
    [[unit]]
    code = "LCJ"
    [[unit.item]]                     # an indicator: full points when its target is met
    indicator = "20"
    points = "10"
    per = "0.1"                       # when missed: −deduct for every `per` (or part) short,
    deduct = "1"                      # 扣完为止 (never below zero)
    [[unit.item]]                     # the unit's tasks: −deduct per overdue task
    tasks = true
    points = "10"
    deduct = "2"
    [[unit.bonus]]
    points = "2"
    reason = "获评省级生态文明建设示范区"
    [[unit.veto]]                     # 一票否决: the grade is the lowest band
    indicator = "1"                   # when this indicator is off track (or achieved=false)

Rules (exact decimals): an indicator item scores its points when met; when missed with a
known shortfall s, points − ⌈s / per⌉ × deduct, not below 0; when missed without a
measurable shortfall, or not assessable, 0 — with the reason. A task item scores
points − overdue × deduct, not below 0. Bonuses add; the total is not capped. A veto that
applies sets the grade to the lowest band whatever the score; otherwise the grade is the first
band whose ``min`` the total reaches.
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any


class SchemeError(ValueError):
    """A scheme that cannot be used; ``problems`` lists every fault found."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("考核方案有误：" + "；".join(problems))


@dataclass(frozen=True, slots=True)
class Item:
    points: Decimal
    deduct: Decimal
    indicator: str | None = None  # 序号 of the plan's indicator
    per: Decimal | None = None
    tasks: bool = False


@dataclass(frozen=True, slots=True)
class Bonus:
    points: Decimal
    reason: str


@dataclass(frozen=True, slots=True)
class UnitScheme:
    code: str
    items: tuple[Item, ...]
    bonuses: tuple[Bonus, ...] = ()
    vetoes: tuple[str, ...] = ()  # indicator 序号


@dataclass(frozen=True, slots=True)
class Band:
    grade: str
    min: Decimal


@dataclass(frozen=True, slots=True)
class Scheme:
    year: int
    plan: str
    bands: tuple[Band, ...]
    units: tuple[UnitScheme, ...]


@dataclass(frozen=True, slots=True)
class IndicatorResult:
    """What the assessment needs of an indicator: met or not (None: not assessable) and,
    when missed, the shortfall in the indicator's unit (None when not measurable)."""

    met: bool | None
    shortfall: Decimal | None
    off_track: bool
    reason: str


@dataclass(slots=True)
class Line:
    label: str
    points: Decimal
    score: Decimal
    reason: str


@dataclass(slots=True)
class UnitResult:
    code: str
    lines: list[Line] = field(default_factory=list)
    bonus: Decimal = Decimal(0)
    total: Decimal = Decimal(0)
    vetoed_by: list[str] = field(default_factory=list)
    grade: str = ""


def _dec(v: Any, where: str, problems: list[str], *, positive: bool = False) -> Decimal:
    try:
        d = Decimal(str(v))
    except (InvalidOperation, ValueError):
        problems.append(f"{where}：{v!r} 不是数值")
        return Decimal(0)
    if not d.is_finite() or d < 0 or (positive and d == 0):
        problems.append(f"{where}：{v!r} 应为{'正数' if positive else '非负数'}")
    return d


def parse_scheme(text: str) -> Scheme:
    """Check and build a scheme from TOML text; every fault is listed in the error."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SchemeError([f"TOML 语法错误：{exc}"]) from None
    problems: list[str] = []
    year = raw.get("year")
    if not isinstance(year, int) or not 1949 <= year <= 2200:
        problems.append("缺少年份 year（如 2026）")
        year = 0
    plan = raw.get("plan")
    if not isinstance(plan, str) or not plan:
        problems.append("缺少规划 plan（规划编号或模板编号）")
        plan = ""
    bands = tuple(
        Band(str(b.get("grade", "")), _dec(b.get("min"), f"等级 {b.get('grade')}", problems))
        for b in raw.get("bands", [])
    )
    if not bands or any(not b.grade for b in bands):
        problems.append("缺少等级 bands（每档有 grade 和 min）")
    elif [b.min for b in bands] != sorted((b.min for b in bands), reverse=True):
        problems.append("等级 bands 应按 min 从高到低排列")
    elif bands[-1].min != 0:
        problems.append("最低一档等级的 min 应为 0")
    units: list[UnitScheme] = []
    for ui, u in enumerate(raw.get("unit", []), start=1):
        code = u.get("code")
        where = f"第 {ui} 个单位"
        if not isinstance(code, str) or not code:
            problems.append(f"{where}：缺少单位代码 code")
            continue
        items: list[Item] = []
        for ii, it in enumerate(u.get("item", []), start=1):
            w = f"单位 {code} 第 {ii} 项"
            points = _dec(it.get("points"), f"{w} 分值", problems, positive=True)
            deduct = _dec(it.get("deduct", "0"), f"{w} 扣分", problems)
            if it.get("tasks") is True:
                items.append(Item(points, deduct, tasks=True))
            elif isinstance(it.get("indicator"), str):
                per = _dec(it["per"], f"{w} per", problems, positive=True) if "per" in it else None
                items.append(Item(points, deduct, indicator=it["indicator"], per=per))
            else:
                problems.append(f"{w}：应为指标项（indicator = 序号）或任务项（tasks = true）")
        bonuses = tuple(
            Bonus(_dec(b.get("points"), f"单位 {code} 加分", problems), str(b.get("reason", "")))
            for b in u.get("bonus", [])
        )
        vetoes = tuple(str(v.get("indicator", "")) for v in u.get("veto", []))
        if any(not v for v in vetoes):
            problems.append(f"单位 {code}：一票否决项应写明 indicator（序号）")
        units.append(UnitScheme(code, tuple(items), bonuses, vetoes))
    if not units:
        problems.append("没有考核单位 [[unit]]")
    if problems:
        raise SchemeError(problems)
    return Scheme(year, plan, bands, tuple(units))


def score_unit(
    u: UnitScheme,
    bands: tuple[Band, ...],
    indicators: dict[str, tuple[str, IndicatorResult]],
    overdue_tasks: int,
) -> UnitResult:
    """The unit's lines, bonus, total, vetoes and grade (see the module docstring).
    ``indicators`` maps 序号 → (name, result); ``overdue_tasks`` counts the unit's tasks past
    their deadline and not complete."""
    out = UnitResult(u.code)
    for it in u.items:
        if it.tasks:
            score = max(Decimal(0), it.points - it.deduct * overdue_tasks)
            why = f"逾期任务 {overdue_tasks} 项，每项扣 {it.deduct} 分"
            out.lines.append(Line("任务完成情况", it.points, score, why))
            continue
        assert it.indicator is not None
        got = indicators.get(it.indicator)
        if got is None:
            out.lines.append(
                Line(f"指标 {it.indicator}", it.points, Decimal(0), "规划中没有此序号的指标")
            )
            continue
        name, r = got
        if r.met is True:
            out.lines.append(Line(name, it.points, it.points, r.reason))
        elif r.met is False and r.shortfall is not None and it.per is not None:
            steps = math.ceil(r.shortfall / it.per)
            score = max(Decimal(0), it.points - it.deduct * steps)
            why = f"差 {r.shortfall}，每差 {it.per} 扣 {it.deduct} 分，扣完为止"
            out.lines.append(Line(name, it.points, score, why))
        else:
            out.lines.append(Line(name, it.points, Decimal(0), r.reason))
    out.bonus = sum((b.points for b in u.bonuses), Decimal(0))
    out.total = sum((ln.score for ln in out.lines), Decimal(0)) + out.bonus
    for no in u.vetoes:
        hit = indicators.get(no)
        if hit is not None and hit[1].off_track:
            out.vetoed_by.append(hit[0])
    if out.vetoed_by:
        out.grade = bands[-1].grade
    else:
        out.grade = next(b.grade for b in bands if out.total >= b.min)
    return out
