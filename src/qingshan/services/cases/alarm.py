"""Automatic-alarm cases (自动监控报警): every alarm episode of an outlet's online monitoring
(:mod:`qingshan.services.sources.alarms`: 超标, 离线; not the hints) opens one case, and the
case closes when its episode closes.

* :func:`open_for_episode` — idempotent: the case is found by ``case_item.episode_id`` (a unique
  index, so a re-run of detection, or two detections at once, cannot open a second one). The
  case is located at the episode's enterprise and outlet, follows the ``alarm`` workflow
  (报警 → 核查 → 处置 → 已关闭), and is led by the unit the bureau named for online-monitoring
  alarms (:func:`lead_unit_for`: the ``case_alarm_lead`` row of the enterprise's region, else of
  the nearest region above it, else the deployment-wide one; none set: no lead unit, and the
  case page says so until the bureau assigns one by editing the case).
* :func:`close_for_episode` — once the episode is ``closed`` (cleared in the data AND confirmed
  by a person, in either order) the case moves to 已关闭 with that reason on its timeline. It is
  the only way an alarm case closes (:func:`.core.fire` refuses ``close`` by hand); confirming
  "from the case" is confirming its episode (``alarms.confirm_case``), one service path.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from qingshan.clock import utcnow
from qingshan.roles import Principal, Role
from qingshan.services import permissions, timeline
from qingshan.services.cases import core
from qingshan.storage.models import Enterprise, Region, Site
from qingshan.storage.models_cases import CaseAlarmLead, CaseItem
from qingshan.storage.models_registry import OrgUnit
from qingshan.storage.models_sources import SourceEpisode

ALARM_KINDS = ("exceedance", "offline")
KIND_WORDS = {"exceedance": "超标", "offline": "离线"}
# who opens and (on detection) closes the cases: the detection job, acting for the bureau
DETECTION = Principal(role=Role.ADMIN, username="自动监控报警", via="cli")
CATEGORY = {"gas": "大气", "water": "水"}


ALL_REGIONS = ""  # the deployment-wide row of case_alarm_lead
LEAD_SETTERS = permissions.ALARM_LEAD_SETTERS
NO_LEAD_WARNING = (
    "未设置自动监控报警的责任单位：本案件暂无牵头单位。请管理员设置报警责任单位"
    "（案件台「报警责任单位」或 qingshan case alarm-unit set），或修改本案件指定牵头单位。"
)


@dataclass(frozen=True, slots=True)
class AlarmLead:
    region_code: str | None  # None: every region (the deployment-wide rule)
    region_name: str | None
    unit_code: str
    unit_name: str


def alarm_leads(s: Session) -> list[AlarmLead]:
    """The rules as set: the deployment-wide one first, then by region code."""
    rows = s.execute(
        select(CaseAlarmLead, OrgUnit.name, Region.name)
        .join(OrgUnit, OrgUnit.code == CaseAlarmLead.unit_code)
        .outerjoin(Region, Region.code == CaseAlarmLead.region_code)
        .order_by(CaseAlarmLead.region_code)
    )
    return [AlarmLead(r.region_code or None, region, r.unit_code, unit) for r, unit, region in rows]


def set_alarm_lead(
    s: Session, actor: Principal, unit: str | None, *, region: str | None = None
) -> AlarmLead | None:
    """Name the unit answering for the automatic-alarm cases of ``region`` (and the regions
    under it that have no rule of their own; ``None``: every region), or remove the rule
    (``unit`` None). Applies to cases opened from now on; open cases keep their lead unit
    until the bureau edits them. On the timeline of entity ``case_alarm_lead``."""
    if actor.role not in LEAD_SETTERS:
        raise core.CaseError(f"角色「{actor.role_label}」无权设置报警责任单位（须系统管理员）")
    key = (region or "").strip()
    region_name = None
    if key:
        reg = s.get(Region, key)
        if reg is None:
            raise core.CaseError(f"区划 {key} 不存在：先登记区划", "region")
        region_name = reg.name
    row = s.get(CaseAlarmLead, key)
    before = None if row is None else {"region": key or None, "unit": row.unit_code}
    where = region_name or "全部区划"
    if unit is None or not unit.strip():
        if row is None:
            return None
        s.delete(row)
        s.flush()
        timeline.record_change(
            s,
            actor,
            entity_type="case_alarm_lead",
            entity_id=key or "all",
            action="case.alarm_lead",
            summary=f"取消{where}的自动监控报警责任单位",
            before=before,
            after=None,
        )
        return None
    code = core.find_unit(s, unit, "unit", "报警责任单位")
    if row is None:
        row = CaseAlarmLead(region_code=key, unit_code=code, set_by=actor.user_id, set_at=utcnow())
        s.add(row)
    elif row.unit_code == code:
        return _lead(s, row)
    else:
        row.unit_code, row.set_by, row.set_at = code, actor.user_id, utcnow()
    s.flush()
    out = _lead(s, row)
    timeline.record_change(
        s,
        actor,
        entity_type="case_alarm_lead",
        entity_id=key or "all",
        action="case.alarm_lead",
        summary=f"{where}的自动监控报警由{out.unit_name}（{code}）牵头办理",
        before=before,
        after={"region": key or None, "unit": code},
    )
    return out


def _lead(s: Session, row: CaseAlarmLead) -> AlarmLead:
    unit = s.get(OrgUnit, row.unit_code)
    reg = s.get(Region, row.region_code) if row.region_code else None
    return AlarmLead(
        row.region_code or None,
        reg.name if reg else None,
        row.unit_code,
        unit.name if unit else row.unit_code,
    )


def lead_unit_for(s: Session, region_code: str | None) -> str | None:
    """The unit answering for an automatic alarm in ``region_code``: the region's own rule,
    else its nearest ancestor's (``region.parent_code``), else the deployment-wide one."""
    seen: set[str] = set()
    code = region_code
    while code and code not in seen:
        seen.add(code)
        row = s.get(CaseAlarmLead, code)
        if row is not None:
            return row.unit_code
        reg = s.get(Region, code)
        code = reg.parent_code if reg is not None else None
    row = s.get(CaseAlarmLead, ALL_REGIONS)
    return row.unit_code if row is not None else None


def case_of(s: Session, episode_id: int) -> CaseItem | None:
    return s.scalar(select(CaseItem).where(CaseItem.episode_id == episode_id))


def open_for_episode(s: Session, row: SourceEpisode) -> CaseItem | None:
    """The case of an alarm episode, opened now if it has none (hints: None)."""
    if row.kind not in ALARM_KINDS:
        return None
    existing = case_of(s, row.id)
    if existing is not None:
        return existing
    site = s.get(Site, row.site_id)
    ent = s.get(Enterprise, row.enterprise_id)
    assert site is not None and ent is not None  # foreign keys of the episode
    what = KIND_WORDS[row.kind]
    pollutant = f" {row.pollutant}" if row.pollutant else ""
    detail = (
        f"，峰值 {row.peak_value} {row.unit or ''}（限值 {row.limit_value}，{row.basis}）"
        if row.kind == "exceedance"
        else ""
    )
    inp = core.CaseInput(
        origin=core.ALARM_ORIGIN,
        kind="alarm",
        title=f"{ent.name} {site.name}（{site.code}）{pollutant}{what}"[:300],
        received_on=row.started_at.date(),  # started_at is CST data time
        description=(
            f"报警事件 {row.id}：{ent.name} {site.name}（{site.code}）{pollutant}{what}，"
            f"自 {row.started_at:%Y-%m-%d %H:%M}（北京时间）起{detail}。"
        ),
        category=CATEGORY.get(site.outlet_medium or ""),
        enterprise=ent.credit_code,
        site=site.code,
        lead_unit=lead_unit_for(s, ent.region_code),
    )
    case = core.open_case(s, DETECTION, inp, episode_id=row.id)
    if case.enterprise_id is None:  # an enterprise without a credit code: link it by id
        case.enterprise_id, case.region_code = ent.id, case.region_code or ent.region_code
    return case


def close_for_episode(s: Session, actor: Principal, row: SourceEpisode) -> CaseItem | None:
    """Close the episode's case once the episode is closed (cleared and confirmed)."""
    if row.status != "closed":
        return None
    case = case_of(s, row.id)
    if case is None or "closed" in core.state_tags(case):
        return case
    assert row.ended_at is not None and row.confirmed_at is not None
    reason = (
        f"报警已恢复（{row.ended_at:%Y-%m-%d %H:%M} 北京时间）并经 {row.confirmed_name} "
        f"核实确认：{row.confirm_note}"
    )
    return core.fire(
        s, actor, case.code, core.ALARM_CLOSE, fields={"close_reason": reason}, by_episode=True
    )
