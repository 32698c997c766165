"""Plans (规划): load a shipped template into the database, list plans, read one back.

Loading (:func:`load_template`) is idempotent: a template already loaded is answered with
the plan it became, unchanged. It inserts the template's region chain (province → city →
county) where missing, through the registry's own region service (so the audit log and the
timeline record it), creates the 责任单位 its tasks name where no unit of that name exists in
the region, and writes the plan, its indicators, targets and tasks in the caller's
transaction. With ``region`` the plan is bound to that (existing) region instead of the
template's own, e.g. a county that adopts a neighbour's plan layout.

Status and computed actual values live in :mod:`qingshan.services.plans.assess`.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from qingshan import plans as rules
from qingshan.clock import utcnow
from qingshan.roles import Principal
from qingshan.services.errors import NotFound, ServiceError
from qingshan.services.permissions import PLAN_EDITORS, PLAN_READERS
from qingshan.services.registry import regions as region_service
from qingshan.services.registry import units as unit_service
from qingshan.storage.models import Region
from qingshan.storage.models_plans import Plan, PlanIndicator, PlanTarget, PlanTask, PlanTaskUnit
from qingshan.storage.models_registry import OrgUnit

__all__ = [
    "LoadResult",
    "PlanError",
    "find_plan",
    "indicators",
    "list_plans",
    "load_template",
    "task_rows",
    "templates",
]


class PlanError(ServiceError):
    """A plan request that cannot be carried out as asked."""


@dataclass(frozen=True, slots=True)
class LoadResult:
    plan_id: int
    template_id: str
    created: bool  # False: the template had been loaded already (nothing written)
    regions_added: list[str]
    units_added: list[str]
    indicators: int
    tasks: int


def _may(actor: Principal, roles: tuple[object, ...]) -> None:
    """Readers who may not read are told there is nothing (as elsewhere: no probing);
    others are told what they lack."""
    if actor.role in roles:
        return
    if roles is PLAN_READERS:
        raise NotFound("没有此规划")
    raise PlanError("没有权限：只有管理员和局工作人员可以载入规划")


def templates() -> list[rules.Template]:
    """The shipped templates."""
    return [rules.load_template(t) for t in rules.template_ids()]


def _unit_kind(name: str) -> str:
    """The registry's unit kind from a published unit name (乡镇 / 园区 / 县区 / 部门)."""
    if name.endswith(("乡", "镇", "街道", "街道办事处", "乡镇", "乡镇（街道）")):
        return "township"
    if "园区" in name or "开发区" in name or "工业园" in name:
        return "park"
    if name.startswith("各县") or name.endswith(("县", "人民政府")):
        return "county"
    return "department"


def _unit_code(region: str, name: str) -> str:
    """A stable code for a unit the plan names but the registry lacks: region + a digest of
    the name (the bureau replaces it by the unit's own code when it registers the unit)."""
    return f"{region}-plan-{hashlib.sha256(name.encode()).hexdigest()[:12]}"


def _ensure_unit(s: Session, actor: Principal, region: str, name: str, added: list[str]) -> str:
    found = s.scalars(
        select(OrgUnit.code).where(OrgUnit.name == name).order_by(OrgUnit.code)
    ).first()
    if found is not None:
        return found
    code = _unit_code(region, name)
    if s.get(OrgUnit, code) is None:
        rec = unit_service.UnitRecord(code, name, _unit_kind(name), region)
        unit_service.save_unit(s, actor, rec)
        added.append(name)
    return code


def load_template(
    s: Session, actor: Principal, template_id: str, *, region: str | None = None
) -> LoadResult:
    """Load a shipped template (see the module docstring)."""
    _may(actor, PLAN_EDITORS)
    try:
        t = rules.load_template(template_id)
    except rules.TemplateError as exc:
        raise PlanError(str(exc)) from None
    existing = s.scalar(select(Plan).where(Plan.template_id == t.id))
    if existing is not None:
        return LoadResult(
            existing.id,
            t.id,
            False,
            [],
            [],
            len(indicators(s, actor, existing.id)),
            len(task_rows(s, actor, existing.id)),
        )
    added_regions: list[str] = []
    parent: str | None = None
    for link in t.region:
        if s.get(Region, link.code) is None:
            region_service.save_region(
                s, actor, region_service.RegionRecord(link.code, link.name, parent)
            )
            added_regions.append(link.code)
        parent = link.code
    own = region or t.region_code
    if s.get(Region, own) is None:
        raise PlanError(f"区划 {own} 不存在：先登记该区划（qingshan region add）")
    plan = Plan(
        template_id=t.id,
        title=t.title,
        issuer=t.issuer,
        document_number=t.document_number,
        issued=t.issued,
        region_code=own,
        period_start=t.period[0],
        period_end=t.period[1],
        milestones=json.dumps(list(t.milestones)),
        baseline_label=t.baseline_label,
        source=t.source,
        notes=json.dumps(list(t.notes), ensure_ascii=False),
        responsibility_notes=json.dumps(list(t.responsibility_notes), ensure_ascii=False),
        created_at=utcnow(),
    )
    s.add(plan)
    s.flush()
    for pos, ind in enumerate(t.indicators):
        row = PlanIndicator(
            plan_id=plan.id,
            no=ind.no,
            position=pos,
            category=ind.category,
            published=ind.published,
            name=ind.name,
            unit=ind.unit,
            attribute=ind.attribute,
            direction=ind.direction,
            baseline_year=ind.baseline.year if ind.baseline else None,
            baseline_text=ind.baseline.text if ind.baseline else None,
            binding=ind.binding.kind if ind.binding else None,
            dust_deduction=bool(ind.binding and ind.binding.dust_deduction),
            source_sentence=ind.source_sentence,
            note=ind.note,
        )
        s.add(row)
        s.flush()
        for tg in ind.targets:
            c = tg.comparator
            s.add(
                PlanTarget(
                    indicator_id=row.id,
                    year=tg.year,
                    text=tg.text,
                    comparator=c.kind,
                    value=c.value,
                    base_year=c.base_year,
                    soft=c.soft,
                    approx=c.approx,
                    marked=c.marked,
                )
            )
    added_units: list[str] = []
    for pos, task in enumerate(t.tasks):
        trow = PlanTask(
            plan_id=plan.id,
            no=task.no,
            position=pos,
            group=task.group,
            text=task.text,
            deadline=date.fromisoformat(task.deadline) if task.deadline else None,
            deadline_text=task.deadline_text,
            recurrence=task.recurrence,
        )
        s.add(trow)
        s.flush()
        seen: set[tuple[str, str]] = set()
        for u in task.units:
            code = _ensure_unit(s, actor, own, u.name, added_units)
            if (code, u.role) not in seen:
                seen.add((code, u.role))
                s.add(PlanTaskUnit(task_id=trow.id, unit_code=code, role=u.role))
    s.flush()
    return LoadResult(
        plan.id, t.id, True, added_regions, added_units, len(t.indicators), len(t.tasks)
    )


def list_plans(s: Session, actor: Principal) -> list[Plan]:
    _may(actor, PLAN_READERS)
    return list(s.scalars(select(Plan).order_by(Plan.id)))


def find_plan(s: Session, actor: Principal, ref: str | int) -> Plan:
    """A plan by id or by the template id it was loaded from."""
    _may(actor, PLAN_READERS)
    plan: Plan | None = None
    if isinstance(ref, int) or str(ref).isdigit():
        plan = s.get(Plan, int(ref))
    else:
        plan = s.scalar(select(Plan).where(Plan.template_id == ref))
    if plan is None:
        raise NotFound(f"没有规划 {ref}（可用规划编号或模板编号，如 kongtong-14th）")
    return plan


def indicators(s: Session, actor: Principal, plan_id: int) -> list[PlanIndicator]:
    _may(actor, PLAN_READERS)
    return list(
        s.scalars(
            select(PlanIndicator)
            .where(PlanIndicator.plan_id == plan_id)
            .order_by(PlanIndicator.position)
        )
    )


def targets_of(s: Session, indicator_ids: list[int]) -> dict[int, list[PlanTarget]]:
    out: dict[int, list[PlanTarget]] = {i: [] for i in indicator_ids}
    for t in s.scalars(
        select(PlanTarget)
        .where(PlanTarget.indicator_id.in_(indicator_ids))
        .order_by(PlanTarget.year)
    ):
        out[t.indicator_id].append(t)
    return out


def task_rows(s: Session, actor: Principal, plan_id: int) -> list[PlanTask]:
    _may(actor, PLAN_READERS)
    return list(
        s.scalars(select(PlanTask).where(PlanTask.plan_id == plan_id).order_by(PlanTask.position))
    )
