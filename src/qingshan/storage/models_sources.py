"""Tables of pollution-source supervision (issue 13, migration ``0600_sources``).

``source_episode`` — one condition of one outlet (an exceedance of one pollutant's limit, a
device offline, a screening hint: constant values, zeros, pinned at the range limit) from its
start to its end: the single record the cases issue turns into cases. ``started_at`` /
``last_at`` / ``ended_at`` are data times (CST, naive, period labels; ``ended_at`` exclusive);
``*_at`` system columns (``detected_at``, ``updated_at``, ``confirmed_at``) are UTC. Values are
exact decimal text. ``status``: ``open`` (the condition holds), ``cleared`` (it ended, nobody
confirmed yet), ``closed`` (ended and confirmed by a person).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from qingshan.storage import models_web  # noqa: F401  (web_user, which confirmed_by refers to)
from qingshan.storage.models import Base

EPISODE_KINDS = ("exceedance", "offline", "constant", "zeros", "pinned")
EPISODE_STATUSES = ("open", "cleared", "closed")


class SourceEpisode(Base):
    __tablename__ = "source_episode"
    __table_args__ = (
        UniqueConstraint("site_id", "kind", "pollutant", "basis", "started_at"),
        CheckConstraint(
            "kind IN ('exceedance', 'offline', 'constant', 'zeros', 'pinned')", name="kind"
        ),
        CheckConstraint("status IN ('open', 'cleared', 'closed')", name="status"),
        Index("ix_source_episode_status_started", "status", "started_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("site.id"), index=True)  # the outlet
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprise.id"), index=True)
    kind: Mapped[str] = mapped_column(String(12))
    pollutant: Mapped[str] = mapped_column(String(16), default="")  # "" for offline
    basis: Mapped[str] = mapped_column(String(8), default="")  # 小时均值 / 日均值; "" otherwise
    started_at: Mapped[datetime] = mapped_column(DateTime)  # CST data time
    last_at: Mapped[datetime] = mapped_column(DateTime)  # last period in the condition
    ended_at: Mapped[datetime | None] = mapped_column(DateTime)  # exclusive; None: ongoing
    periods: Mapped[int] = mapped_column(Integer)
    peak_value: Mapped[str | None] = mapped_column(Text)
    peak_at: Mapped[datetime | None] = mapped_column(DateTime)
    limit_value: Mapped[str | None] = mapped_column(Text)
    unit: Mapped[str | None] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(8))
    detected_at: Mapped[datetime] = mapped_column(DateTime)
    updated_at: Mapped[datetime] = mapped_column(DateTime)
    confirmed_by: Mapped[int | None] = mapped_column(ForeignKey("web_user.id"))
    confirmed_name: Mapped[str | None] = mapped_column(String(100))
    confirmed_at: Mapped[datetime | None] = mapped_column(DateTime)
    confirm_note: Mapped[str | None] = mapped_column(Text)


# --------------------------------------------------------------------------- 应急减排清单
# (migration ``0820_source_warnings``): heavy-pollution warnings and each enterprise's
# 绩效分级 and measures per warning level.

WARNING_LEVELS = ("yellow", "orange", "red")  # 黄色 / 橙色 / 红色预警
PERFORMANCE_GRADES = ("A", "B", "C", "D", "leading")  # A级 … D级, 引领性


class SourceWarning(Base):
    """One heavy-pollution warning (重污染天气预警): level, region (and everything below it),
    start and end (CST data times, end exclusive; None while it is in force) and the issuing
    document (文号)."""

    __tablename__ = "source_warning"
    __table_args__ = (
        CheckConstraint("level IN ('yellow', 'orange', 'red')", name="level"),
        Index("ix_source_warning_starts_at", "starts_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    level: Mapped[str] = mapped_column(String(8))
    region_code: Mapped[str] = mapped_column(String(12), ForeignKey("region.code"))
    starts_at: Mapped[datetime] = mapped_column(DateTime)  # CST
    ends_at: Mapped[datetime | None] = mapped_column(DateTime)  # CST, exclusive
    document: Mapped[str] = mapped_column(String(200))  # 文号
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime)  # UTC
    created_by: Mapped[str] = mapped_column(String(100))


class SourceGrade(Base):
    """An enterprise's 绩效分级 in the 应急减排清单."""

    __tablename__ = "source_grade"
    __table_args__ = (CheckConstraint("grade IN ('A', 'B', 'C', 'D', 'leading')", name="grade"),)

    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprise.id"), primary_key=True)
    grade: Mapped[str] = mapped_column(String(8))
    updated_at: Mapped[datetime] = mapped_column(DateTime)  # UTC


class SourceMeasure(Base):
    """An enterprise's measure at one warning level (减排措施) with its expected reduction
    (预期减排比例, percent of its emissions, exact decimal text 0–100; 停产 = 100)."""

    __tablename__ = "source_measure"
    __table_args__ = (
        UniqueConstraint("enterprise_id", "level"),
        CheckConstraint("level IN ('yellow', 'orange', 'red')", name="level"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprise.id"), index=True)
    level: Mapped[str] = mapped_column(String(8))
    measure: Mapped[str] = mapped_column(Text)
    reduction: Mapped[str] = mapped_column(String(12))
    updated_at: Mapped[datetime] = mapped_column(DateTime)  # UTC
