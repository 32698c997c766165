"""A year's assessment (考核) of units from a scheme (:mod:`qingshan.plans.assessment`): the
indicator results come from the plan's status in the year (computed or accepted reported
values), the task results from the unit's overdue tasks at the year's end (or today, if
earlier); exported to Excel (.xlsx) with a summary sheet and the lines behind each score."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Font
from sqlalchemy import select
from sqlalchemy.orm import Session

from qingshan.clock import cst_today, to_cst, utcnow
from qingshan.plans import assessment as rules
from qingshan.roles import Principal
from qingshan.services import timeline
from qingshan.services.errors import NotFound
from qingshan.services.permissions import PLAN_EDITORS
from qingshan.services.plans import PlanError, assess, find_plan, tasks
from qingshan.storage.models_plans import PlanAssessmentScheme
from qingshan.storage.models_registry import OrgUnit

__all__ = ["SCHEME_ENTITY", "Assessment", "run", "save_scheme", "scheme_of", "stored", "workbook"]
SCHEME_ENTITY = "plan_assessment_scheme"


@dataclass(slots=True)
class Assessment:
    year: int
    plan_title: str
    units: list[tuple[str, rules.UnitResult]]  # (unit name, result)

    def to_dict(self) -> dict[str, Any]:
        return {
            "year": self.year,
            "plan": self.plan_title,
            "units": [
                {
                    "code": r.code,
                    "name": name,
                    "score": str(r.total - r.bonus),
                    "total": str(r.total),
                    "bonus": str(r.bonus),
                    "grade": r.grade,
                    "vetoed_by": r.vetoed_by,
                    "lines": [
                        {
                            "item": ln.label,
                            "points": str(ln.points),
                            "score": str(ln.score),
                            "reason": ln.reason,
                        }
                        for ln in r.lines
                    ],
                }
                for name, r in self.units
            ],
        }


def _result(i: assess.IndicatorStatus) -> rules.IndicatorResult:
    met = {"achieved": True, "on_track": True, "at_risk": False, "off_track": False}.get(i.status)
    shortfall = None
    t, a = i.target, i.actual
    if met is False and t and a and t.get("value") is not None and a.get("value") is not None:
        target, actual = Decimal(str(t["value"])), Decimal(str(a["value"]))
        if t["comparator"] == "at_least":
            shortfall = max(Decimal(0), target - actual)
        elif t["comparator"] == "at_most":
            shortfall = max(Decimal(0), actual - target)
    return rules.IndicatorResult(met, shortfall, i.status == "off_track", i.reason)


def run(s: Session, actor: Principal, scheme_text: str, *, today: date | None = None) -> Assessment:
    """Compute the scheme's assessment (see the module docstring)."""
    if actor.role not in PLAN_EDITORS:
        raise PlanError("没有权限：只有管理员和局工作人员可以计算考核")
    try:
        scheme = rules.parse_scheme(scheme_text)
    except rules.SchemeError as exc:
        raise PlanError(str(exc)) from None
    today = today or cst_today()
    status = assess.plan_status(s, actor, scheme.plan, year=scheme.year, today=today)
    results = {i.no: (i.name, _result(i)) for i in status.indicators}
    cutoff = min(today, date(scheme.year, 12, 31))
    out: list[tuple[str, rules.UnitResult]] = []
    for u in scheme.units:
        unit = s.get(OrgUnit, u.code)
        if unit is None:
            raise PlanError(f"考核方案中的单位 {u.code} 未登记（qingshan unit add）")
        overdue = sum(
            1
            for v in tasks.task_list(s, actor, status.plan_id, unit=u.code, today=cutoff)
            if v.overdue
        )
        out.append((unit.name, rules.score_unit(u, scheme.bands, results, overdue)))
    return Assessment(scheme.year, status.title, out)


def workbook(a: Assessment) -> bytes:
    """The assessment as .xlsx: 考核结果 (one row per unit) and 评分明细 (every line)."""
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "考核结果"
    ws.append([f"{a.year}年度考核结果（{a.plan_title}）"])
    ws["A1"].font = Font(bold=True)
    ws.append(["单位代码", "单位", "得分", "加分", "总分", "等级", "一票否决"])
    for name, r in a.units:
        ws.append(
            [
                r.code,
                name,
                float(r.total - r.bonus),
                float(r.bonus),
                float(r.total),
                r.grade,
                "、".join(r.vetoed_by) or "无",
            ]
        )
    detail = wb.create_sheet("评分明细")
    detail.append(["单位", "考核项", "分值", "得分", "说明"])
    for name, r in a.units:
        for ln in r.lines:
            detail.append([name, ln.label, float(ln.points), float(ln.score), ln.reason])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def save_scheme(
    s: Session, actor: Principal, plan_ref: str | int, text: str
) -> PlanAssessmentScheme:
    """Keep a year's scheme for the plan (the year is the scheme's own): refused with every
    fault at once when it does not parse, names another plan or an unregistered unit."""
    if actor.role not in PLAN_EDITORS:
        raise PlanError("没有权限：只有管理员和局工作人员可以录入考核方案")
    plan = find_plan(s, actor, plan_ref)
    try:
        scheme = rules.parse_scheme(text)
    except rules.SchemeError as exc:
        raise PlanError(str(exc)) from None
    problems: list[str] = []
    try:
        if find_plan(s, actor, scheme.plan).id != plan.id:
            problems.append(f"考核方案的规划 {scheme.plan} 不是“{plan.title}”")
    except (NotFound, PlanError):  # reported with the other faults
        problems.append(f"考核方案的规划 {scheme.plan} 未载入")
    problems += [
        f"考核方案中的单位 {u.code} 未登记" for u in scheme.units if s.get(OrgUnit, u.code) is None
    ]
    if problems:
        raise PlanError("考核方案有误：" + "；".join(problems))
    row = PlanAssessmentScheme(
        plan_id=plan.id,
        year=scheme.year,
        text=text,
        entered_by=actor.user_id,
        entered_by_name=actor.username or "cli",
        entered_at=utcnow(),
    )
    s.add(row)
    s.flush()
    timeline.record_change(
        s,
        actor,
        entity_type=SCHEME_ENTITY,
        entity_id=row.id,
        action="plan_assessment_scheme.save",
        summary=f"录入{scheme.year}年度考核方案（{plan.title}，{len(scheme.units)}个单位）",
        after={"plan": plan.id, "year": scheme.year},
    )
    return row


def scheme_of(
    s: Session, actor: Principal, plan_ref: str | int, year: int
) -> PlanAssessmentScheme | None:
    """The plan's latest scheme of ``year`` (None: none entered)."""
    if actor.role not in PLAN_EDITORS:
        raise PlanError("没有权限：只有管理员和局工作人员可以查看考核")
    plan = find_plan(s, actor, plan_ref)
    return s.scalar(
        select(PlanAssessmentScheme)
        .where(PlanAssessmentScheme.plan_id == plan.id, PlanAssessmentScheme.year == year)
        .order_by(PlanAssessmentScheme.id.desc())
        .limit(1)
    )


def stored(
    s: Session, actor: Principal, plan_ref: str | int, year: int, *, today: date | None = None
) -> tuple[dict[str, Any], Assessment]:
    """The latest stored scheme of the plan and year (who entered it, when, its text) and
    the assessment computed from it now."""
    row = scheme_of(s, actor, plan_ref, year)
    if row is None:
        raise PlanError(f"尚未录入{year}年度考核方案")
    info = {
        "id": row.id,
        "year": row.year,
        "text": row.text,
        "entered_by": row.entered_by_name,
        "entered_at": to_cst(row.entered_at).strftime("%Y-%m-%d %H:%M"),
    }
    return info, run(s, actor, row.text, today=today)
