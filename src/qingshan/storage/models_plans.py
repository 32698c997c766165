"""Tables of plans (规划), their indicators, targets and tasks (issue 15; migration 0800).

* ``plan`` — one loaded plan: title, issuing body, document number, region, period,
  milestones, the template it was loaded from, and the document's inconsistencies as notes.
* ``plan_indicator`` — an indicator as published (category, name, unit, 约束性/预期性,
  direction, baseline year and text) and, where the platform computes it, its binding.
* ``plan_target`` — an indicator's target for one milestone year: the published text and the
  parsed comparator (kind, exact decimal text value, base year, 力争, 左右).
* ``plan_task`` / ``plan_task_unit`` — the plan's tasks and the 责任单位 carrying each, with
  the form of responsibility (lead 牵头, support 配合, joint 负责, each 分别负责).

Numbers are exact decimal text, as everywhere in storage.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from qingshan.storage.models import Base

TASK_ROLES = ("lead", "support", "joint", "each")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN (" + ",".join(f"'{v}'" for v in values) + ")"


class Plan(Base):
    __tablename__ = "plan"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    template_id: Mapped[str | None] = mapped_column(String(40), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    issuer: Mapped[str] = mapped_column(String(200))
    document_number: Mapped[str] = mapped_column(String(100))
    issued: Mapped[str] = mapped_column(String(10))  # ISO date as published
    region_code: Mapped[str] = mapped_column(ForeignKey("region.code"), index=True)
    period_start: Mapped[int] = mapped_column(SmallInteger)
    period_end: Mapped[int] = mapped_column(SmallInteger)
    milestones: Mapped[str] = mapped_column(Text)  # JSON list of years
    baseline_label: Mapped[str] = mapped_column(String(40))
    source: Mapped[str] = mapped_column(Text)
    notes: Mapped[str] = mapped_column(Text)  # JSON list of the document's inconsistencies
    responsibility_notes: Mapped[str] = mapped_column(Text)  # JSON list
    created_at: Mapped[datetime] = mapped_column(DateTime)


class PlanIndicator(Base):
    __tablename__ = "plan_indicator"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plan.id", ondelete="CASCADE"), index=True)
    no: Mapped[str] = mapped_column(String(10))  # 序号 as published
    position: Mapped[int] = mapped_column(SmallInteger)
    category: Mapped[str] = mapped_column(String(100))
    published: Mapped[str] = mapped_column(Text)
    name: Mapped[str] = mapped_column(Text)
    unit: Mapped[str] = mapped_column(String(40))
    attribute: Mapped[str] = mapped_column(String(10))  # 约束性 / 预期性 / ''
    direction: Mapped[str] = mapped_column(String(4))  # up / down / none
    baseline_year: Mapped[int | None] = mapped_column(SmallInteger)
    baseline_text: Mapped[str | None] = mapped_column(Text)
    binding: Mapped[str | None] = mapped_column(String(40))
    dust_deduction: Mapped[bool] = mapped_column(Boolean, default=False)
    source_sentence: Mapped[str | None] = mapped_column(Text)
    note: Mapped[str | None] = mapped_column(Text)
    __table_args__ = (
        UniqueConstraint("plan_id", "no"),
        CheckConstraint(_in("direction", ("up", "down", "none")), name="direction"),
    )


class PlanTarget(Base):
    __tablename__ = "plan_target"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    indicator_id: Mapped[int] = mapped_column(
        ForeignKey("plan_indicator.id", ondelete="CASCADE"), index=True
    )
    year: Mapped[int] = mapped_column(SmallInteger)
    text: Mapped[str] = mapped_column(Text)  # as published
    comparator: Mapped[str] = mapped_column(String(12))
    value: Mapped[str | None] = mapped_column(Text)  # exact decimal text
    base_year: Mapped[int | None] = mapped_column(SmallInteger)
    soft: Mapped[bool] = mapped_column(Boolean, default=False)  # 力争
    approx: Mapped[bool] = mapped_column(Boolean, default=False)  # 左右
    marked: Mapped[bool] = mapped_column(Boolean, default=False)  # a footnote mark (*)
    __table_args__ = (UniqueConstraint("indicator_id", "year"),)


class PlanTask(Base):
    __tablename__ = "plan_task"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plan.id", ondelete="CASCADE"), index=True)
    no: Mapped[str] = mapped_column(String(20))
    position: Mapped[int] = mapped_column(SmallInteger)
    group: Mapped[str] = mapped_column(Text)
    text: Mapped[str] = mapped_column(Text)
    deadline: Mapped[date | None] = mapped_column(Date)
    deadline_text: Mapped[str | None] = mapped_column(Text)  # as published (2019年底前)
    recurrence: Mapped[str | None] = mapped_column(Text)  # as published
    completed_on: Mapped[date | None] = mapped_column(Date)  # recorded by the bureau
    __table_args__ = (UniqueConstraint("plan_id", "no"),)


class PlanTaskUnit(Base):
    __tablename__ = "plan_task_unit"
    task_id: Mapped[int] = mapped_column(
        ForeignKey("plan_task.id", ondelete="CASCADE"), primary_key=True
    )
    unit_code: Mapped[str] = mapped_column(ForeignKey("org_unit.code"), primary_key=True)
    role: Mapped[str] = mapped_column(String(8), primary_key=True)
    __table_args__ = (CheckConstraint(_in("role", TASK_ROLES), name="role"),)


class PlanReport(Base):
    """A value of an indicator for a year reported by a unit (workflow ``plan_report``; its
    state is mirrored here so the status query needs no join to the workflow instance)."""

    __tablename__ = "plan_report"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    indicator_id: Mapped[int] = mapped_column(
        ForeignKey("plan_indicator.id", ondelete="CASCADE"), index=True
    )
    year: Mapped[int] = mapped_column(SmallInteger)
    value: Mapped[str] = mapped_column(Text)  # exact decimal text
    note: Mapped[str | None] = mapped_column(Text)
    unit_code: Mapped[str | None] = mapped_column(ForeignKey("org_unit.code"), index=True)
    reported_by: Mapped[int | None] = mapped_column(Integer)  # web_user.id (None: CLI)
    reported_at: Mapped[datetime] = mapped_column(DateTime)
    state: Mapped[str] = mapped_column(String(12))  # draft / submitted / returned / accepted


class PlanAssignedTarget(Base):
    """The value of a 完成上级下达目标 target once the higher level assigns it, entered by
    bureau staff (who and when kept here and on the timeline; its evidence is an attachment
    of entity ``plan_assigned_target``). The latest entry with evidence applies
    (migration 0840)."""

    __tablename__ = "plan_assigned_target"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    target_id: Mapped[int] = mapped_column(
        ForeignKey("plan_target.id", ondelete="CASCADE"), index=True
    )
    text: Mapped[str] = mapped_column(Text)  # as entered, e.g. "较2020年降低18%" or "42"
    comparator: Mapped[str] = mapped_column(String(12))
    value: Mapped[str | None] = mapped_column(Text)  # exact decimal text
    base_year: Mapped[int | None] = mapped_column(SmallInteger)
    note: Mapped[str | None] = mapped_column(Text)
    entered_by: Mapped[int | None] = mapped_column(Integer)  # web_user.id (None: CLI)
    entered_by_name: Mapped[str] = mapped_column(String(100))
    entered_at: Mapped[datetime] = mapped_column(DateTime)


class PlanAssessmentScheme(Base):
    """A year's assessment (考核) scheme of a plan as the bureau wrote it (TOML text, see
    :mod:`qingshan.plans.assessment`); the latest one of a plan and year applies; earlier
    ones are kept (migration 0840)."""

    __tablename__ = "plan_assessment_scheme"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plan.id", ondelete="CASCADE"), index=True)
    year: Mapped[int] = mapped_column(SmallInteger)
    text: Mapped[str] = mapped_column(Text)
    entered_by: Mapped[int | None] = mapped_column(Integer)  # web_user.id (None: CLI)
    entered_by_name: Mapped[str] = mapped_column(String(100))
    entered_at: Mapped[datetime] = mapped_column(DateTime)


class PlanTaskProgress(Base):
    """Progress on a task reported by one of its responsible units (workflow
    ``plan_task_progress``; state mirrored here): percent done and what was done
    (migration 0840)."""

    __tablename__ = "plan_task_progress"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("plan_task.id", ondelete="CASCADE"), index=True)
    unit_code: Mapped[str | None] = mapped_column(ForeignKey("org_unit.code"), index=True)
    percent: Mapped[int] = mapped_column(SmallInteger)  # 0–100
    text: Mapped[str] = mapped_column(Text)
    reported_by: Mapped[int | None] = mapped_column(Integer)  # web_user.id (None: CLI)
    reported_at: Mapped[datetime] = mapped_column(DateTime)
    state: Mapped[str] = mapped_column(String(12))  # draft / submitted / returned / accepted


__all__ = [
    "TASK_ROLES",
    "Plan",
    "PlanAssessmentScheme",
    "PlanAssignedTarget",
    "PlanIndicator",
    "PlanReport",
    "PlanTarget",
    "PlanTask",
    "PlanTaskProgress",
    "PlanTaskUnit",
]
