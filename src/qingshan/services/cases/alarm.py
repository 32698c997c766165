"""Automatic-alarm cases (自动监控报警): every alarm episode of an outlet's online monitoring
(:mod:`qingshan.services.sources.alarms`: 超标, 离线; not the hints) opens one case, and the
case closes when its episode closes.

* :func:`open_for_episode` — idempotent: the case is found by ``case_item.episode_id`` (a unique
  index, so a re-run of detection, or two detections at once, cannot open a second one). The
  case is located at the episode's enterprise and outlet, follows the ``alarm`` workflow
  (报警 → 核查 → 处置 → 已关闭), and has no lead unit: the registry has no mark for a unit
  answering for pollution sources, so the bureau assigns one by editing the case.
* :func:`close_for_episode` — once the episode is ``closed`` (cleared in the data AND confirmed
  by a person, in either order) the case moves to 已关闭 with that reason on its timeline. It is
  the only way an alarm case closes (:func:`.core.fire` refuses ``close`` by hand); confirming
  "from the case" is confirming its episode (``alarms.confirm_case``), one service path.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from qingshan.roles import Principal, Role
from qingshan.services.cases import core
from qingshan.storage.models import Enterprise, Site
from qingshan.storage.models_cases import CaseItem
from qingshan.storage.models_sources import SourceEpisode

ALARM_KINDS = ("exceedance", "offline")
KIND_WORDS = {"exceedance": "超标", "offline": "离线"}
# who opens and (on detection) closes the cases: the detection job, acting for the bureau
DETECTION = Principal(role=Role.ADMIN, username="自动监控报警", via="cli")
CATEGORY = {"gas": "大气", "water": "水"}


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
