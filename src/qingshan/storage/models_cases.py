"""Tables of supervision cases (issue 14): 督察整改 items, 信访 / 12369 complaints and patrol
findings, each a closed loop from 交办 to 销号 / 办结.

* ``case_item`` — one case: where it came from (origin, inspection round, batch, item number,
  the national id of a 督察转办信访件, the channel of a complaint, the river and reach of a
  river-chief patrol), what and where it is (title, category, region, enterprise or site, or a
  point), who answers for it (lead unit, acceptance unit), its deadline, its workflow state
  (mirrored from ``workflow_instance`` so statistics are one query), the days it was rectified,
  signed off and closed, and the links between complaints (merged duplicate, repeat).
* ``case_supporting_unit`` — the 配合单位 of a case.
* ``case_accountability`` — 通报 → 约谈 → 问责 recorded against a unit and a person.

Nothing here is deleted: a case is voided (its workflow's ``voided`` state) with a reason;
history is on the timeline (``timeline_event``, entity ``case``, id = the case code).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    CheckConstraint,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from qingshan.storage import (
    models_registry,  # noqa: F401  (org_unit, which cases refer to)
    models_sources,  # noqa: F401  (source_episode, alarm cases)
)
from qingshan.storage.models import Base

CASE_KINDS = ("problem", "complaint", "patrol", "alarm")
CASE_ORIGINS = (
    "central_inspection",
    "provincial_inspection",
    "warning_film",
    "hotline",
    "grid_patrol",
    "river_patrol",
    "enforcement",
    "automatic_alarm",
)
WARNING_LEVELS = ("blue", "yellow", "red")
ACCOUNTABILITY_STEPS = ("通报", "约谈", "问责")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN (" + ",".join(f"'{v}'" for v in values) + ")"


class CaseItem(Base):
    """One supervision case."""

    __tablename__ = "case_item"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)  # 案件编号 (natural key)
    kind: Mapped[str] = mapped_column(String(12))
    origin: Mapped[str] = mapped_column(String(24))
    workflow: Mapped[str] = mapped_column(String(40))
    state: Mapped[str] = mapped_column(String(40))
    round: Mapped[int | None] = mapped_column(SmallInteger)  # 督察轮次
    batch: Mapped[str | None] = mapped_column(String(40))  # 交办批次
    item_no: Mapped[str | None] = mapped_column(String(40))  # 问题序号 / 件号
    national_id: Mapped[str | None] = mapped_column(String(40), unique=True)  # D3SX…
    channel: Mapped[str | None] = mapped_column(String(12))  # 12369 来信 来访 电话 网络
    river: Mapped[str | None] = mapped_column(String(100))
    reach: Mapped[str | None] = mapped_column(String(100))
    title: Mapped[str] = mapped_column(String(300))
    description: Mapped[str | None] = mapped_column(Text)
    category: Mapped[str | None] = mapped_column(String(20))
    region_code: Mapped[str | None] = mapped_column(ForeignKey("region.code"), index=True)
    enterprise_id: Mapped[int | None] = mapped_column(ForeignKey("enterprise.id"), index=True)
    site_id: Mapped[int | None] = mapped_column(ForeignKey("site.id"))
    longitude: Mapped[float | None] = mapped_column(Float)
    latitude: Mapped[float | None] = mapped_column(Float)
    address: Mapped[str | None] = mapped_column(String(300))
    lead_unit: Mapped[str | None] = mapped_column(ForeignKey("org_unit.code"), index=True)
    acceptance_unit: Mapped[str | None] = mapped_column(ForeignKey("org_unit.code"))
    received_on: Mapped[date] = mapped_column(Date)  # 交办 / 受理 / 发现 day
    due_on: Mapped[date | None] = mapped_column(Date)  # 整改时限 / 办结时限
    due_basis: Mapped[str | None] = mapped_column(String(300))  # how the deadline was set
    extended_days: Mapped[int] = mapped_column(SmallInteger, default=0)
    rectified_on: Mapped[date | None] = mapped_column(Date)
    signed_off_on: Mapped[date | None] = mapped_column(Date)
    closed_on: Mapped[date | None] = mapped_column(Date)
    finding: Mapped[str | None] = mapped_column(String(8))  # 属实 基本属实 部分属实 不属实
    duplicate_of: Mapped[int | None] = mapped_column(ForeignKey("case_item.id"))
    repeat_of: Mapped[int | None] = mapped_column(ForeignKey("case_item.id"))
    warning: Mapped[str | None] = mapped_column(String(8))  # 蓝 / 黄 / 红 单
    supervised_on: Mapped[date | None] = mapped_column(Date)  # 挂牌督办
    note: Mapped[str | None] = mapped_column(Text)
    # the alarm episode (source_episode) an automatic-alarm case was opened for: one case each
    episode_id: Mapped[int | None] = mapped_column(ForeignKey("source_episode.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime)
    created_by: Mapped[int | None] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(DateTime)
    __table_args__ = (
        CheckConstraint(_in("kind", CASE_KINDS), name="kind"),
        CheckConstraint(_in("origin", CASE_ORIGINS), name="origin"),
        CheckConstraint("warning IS NULL OR " + _in("warning", WARNING_LEVELS), name="warning"),
        CheckConstraint("round IS NULL OR round >= 1", name="round"),
        CheckConstraint("extended_days >= 0", name="extended_days"),
        Index("ix_case_item_stats", "origin", "round", "kind"),
        Index("ix_case_item_episode_id", "episode_id", unique=True),
    )


class CaseSupportingUnit(Base):
    """A 配合单位 of a case."""

    __tablename__ = "case_supporting_unit"
    case_id: Mapped[int] = mapped_column(ForeignKey("case_item.id"), primary_key=True)
    unit_code: Mapped[str] = mapped_column(ForeignKey("org_unit.code"), primary_key=True)


class CaseAccountability(Base):
    """One accountability step (通报, 约谈, 问责) taken over a case against a unit and/or a
    person."""

    __tablename__ = "case_accountability"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case_item.id"), index=True)
    step: Mapped[str] = mapped_column(String(4))
    unit_code: Mapped[str | None] = mapped_column(ForeignKey("org_unit.code"))
    person: Mapped[str | None] = mapped_column(String(50))
    position: Mapped[str | None] = mapped_column(String(100))
    decided_on: Mapped[date] = mapped_column(Date)
    note: Mapped[str | None] = mapped_column(Text)
    recorded_by: Mapped[int | None] = mapped_column(Integer)
    recorded_at: Mapped[datetime] = mapped_column(DateTime)
    __table_args__ = (
        CheckConstraint(_in("step", ACCOUNTABILITY_STEPS), name="step"),
        CheckConstraint("unit_code IS NOT NULL OR person IS NOT NULL", name="target"),
    )


class CaseAlarmLead(Base):
    """The unit answering for the automatic-alarm cases (自动监控报警) of a region: the bureau's
    rule, set by an administrator. ``region_code`` ``""`` is the deployment-wide default; a
    region's own row wins over its ancestors' and the default."""

    __tablename__ = "case_alarm_lead"
    region_code: Mapped[str] = mapped_column(String(12), primary_key=True)
    unit_code: Mapped[str] = mapped_column(ForeignKey("org_unit.code"))
    set_by: Mapped[int | None] = mapped_column(Integer)
    set_at: Mapped[datetime] = mapped_column(DateTime)


__all__ = [
    "ACCOUNTABILITY_STEPS",
    "CASE_KINDS",
    "CASE_ORIGINS",
    "WARNING_LEVELS",
    "CaseAccountability",
    "CaseAlarmLead",
    "CaseItem",
    "CaseSupportingUnit",
]
