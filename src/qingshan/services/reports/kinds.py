"""The kinds of report the platform makes, in one place: kind → Chinese name, period parser,
builder.

A period is written as text (the period key): ``2026-02`` for a month, ``2026`` for a year,
``2026-02-03`` for a day, the Monday ``2026-02-02`` for a week. Each kind's parser turns
the text into a :class:`Period` or raises :class:`PeriodError` with a Chinese message saying
what to write. :func:`build` makes the :class:`~qingshan.services.reports.model.Report` of a
kind, period and region from the stored figures, with Chinese messages for what stops it.

Registered: 日报 (``daily``), 周报 (``weekly``), 月报 (``monthly``), 年报 (``annual``). The 日报
and 周报 have no stored-figures check of their own: their builders refuse a period without
stored daily figures with a ReportError, answered like any other.
"""

from __future__ import annotations

import calendar
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy.orm import Session

from qingshan.services import deployment
from qingshan.services.errors import NotFound, ServiceError
from qingshan.services.figures import FiguresError, air_quality
from qingshan.services.reports.content import annual, monthly
from qingshan.services.reports.fonts import FontMissingError
from qingshan.services.reports.model import Report, ReportError
from qingshan.services.reports.periodic import daily as daily_report
from qingshan.services.reports.periodic import weekly as weekly_report
from qingshan.storage.models import Region

FIRST_YEAR, LAST_YEAR = 2000, 2100


class PeriodError(ServiceError):
    """A period text the kind does not accept (the message says what to write)."""


class ReportUnavailable(ServiceError):
    """A report that cannot be made from what is stored (no stored figures …)."""


@dataclass(frozen=True, slots=True)
class Period:
    key: str  # canonical text: 2026-02, 2026, 2026-02-03
    start: date
    end: date  # inclusive
    label: str  # 2026年2月


@dataclass(frozen=True, slots=True)
class ReportKind:
    code: str  # monthly
    name: str  # 环境质量月报
    short: str  # 月报
    period_name: str  # 月份
    period_hint: str  # YYYY-MM
    parse: Callable[[str], Period]
    build: Callable[[Session, Period, str], Report]
    # Raises ReportUnavailable (Chinese) when the stored figures the builder needs are missing.
    check: Callable[[Session, Period, str], None] | None = None


KINDS: dict[str, ReportKind] = {}


def register(kind: ReportKind) -> None:
    KINDS[kind.code] = kind


def get(code: str) -> ReportKind:
    try:
        return KINDS[code]
    except KeyError:
        names = "、".join(f"{k.short}（{k.code}）" for k in KINDS.values())
        raise PeriodError(f"没有“{code}”这种报告，可选：{names}") from None


# ---------------------------------------------------------------------------- periods


def _year(text: str, what: str, example: str) -> int:
    y = int(text)
    if not FIRST_YEAR <= y <= LAST_YEAR:
        raise PeriodError(f"{what}“{text}”超出范围（{FIRST_YEAR}–{LAST_YEAR}年），如 {example}")
    return y


def parse_year(text: str) -> Period:
    t = text.strip()
    if not re.fullmatch(r"[0-9]{4}", t):
        raise PeriodError(f"年份“{text}”无效，请按 YYYY 填写，如 2026")
    y = _year(t, "年份", "2026")
    return Period(t, date(y, 1, 1), date(y, 12, 31), f"{y}年")


def parse_month(text: str) -> Period:
    t = text.strip()
    m = re.fullmatch(r"([0-9]{4})-([0-9]{2})", t)
    if m is None or not 1 <= int(m[2]) <= 12:
        raise PeriodError(f"月份“{text}”无效，请按 YYYY-MM 填写，如 2026-02")
    y, mo = _year(m[1], "月份", "2026-02"), int(m[2])
    end = date(y, mo, calendar.monthrange(y, mo)[1])
    return Period(t, date(y, mo, 1), end, f"{y}年{mo}月")


def _date(text: str, what: str, example: str) -> date:
    t = text.strip()
    m = re.fullmatch(r"([0-9]{4})-([0-9]{2})-([0-9]{2})", t)
    bad = f"{what}“{text}”无效，请按 YYYY-MM-DD 填写，如 {example}"
    if m is None:
        raise PeriodError(bad)
    y = _year(m[1], what, example)
    try:
        return date(y, int(m[2]), int(m[3]))
    except ValueError:
        raise PeriodError(bad) from None


def parse_day(text: str) -> Period:
    d = _date(text, "日期", "2026-02-03")
    return Period(d.isoformat(), d, d, f"{d.year}年{d.month}月{d.day}日")


def parse_week(text: str) -> Period:
    """A week is named by its Monday (weeks run Monday to Sunday)."""
    d = _date(text, "周起始日", "2026-02-02")
    if d.weekday() != 0:
        monday = d - timedelta(days=d.weekday())
        raise PeriodError(
            f"周报按周一至周日编排，请填写该周的周一：{d.isoformat()} 所在周的周一是 "
            f"{monday.isoformat()}"
        )
    end = d + timedelta(days=6)
    return Period(
        d.isoformat(),
        d,
        end,
        f"{d.year}年{d.month}月{d.day}日—{end.year}年{end.month}月{end.day}日",
    )


# ---------------------------------------------------------------------------- builders


def _stored_air(session: Session, period: Period, region: str) -> None:
    """Reports read stored figures only: say so, in Chinese, before drawing anything."""
    try:
        air_quality(
            session, region_code=region, start=period.start, end=period.end, stored_only=True
        )
    except FiguresError:
        raise ReportUnavailable(
            f"{period.label}没有已存储的空气质量计算结果，无法生成报告（报告只用已存储的计算结果；"
            "请先计算该时段的环境质量：qingshan quality recompute）"
        ) from None


register(
    ReportKind(
        code="monthly",
        name="环境质量月报",
        short="月报",
        period_name="月份",
        period_hint="YYYY-MM",
        parse=parse_month,
        build=lambda s, p, r: monthly(s, year=p.start.year, month=p.start.month, region=r),
        check=_stored_air,
    )
)
register(
    ReportKind(
        code="annual",
        name="环境质量年报",
        short="年报",
        period_name="年份",
        period_hint="YYYY",
        parse=parse_year,
        build=lambda s, p, r: annual(s, year=p.start.year, region=r),
        check=_stored_air,
    )
)


register(
    ReportKind(
        code="daily",
        name="环境空气质量日报",
        short="日报",
        period_name="日期",
        period_hint="YYYY-MM-DD",
        parse=parse_day,
        build=lambda s, p, r: daily_report(s, p.start, region=r),
    )
)
register(
    ReportKind(
        code="weekly",
        name="环境空气质量周报",
        short="周报",
        period_name="周一日期",
        period_hint="YYYY-MM-DD（周一）",
        parse=parse_week,
        build=lambda s, p, r: weekly_report(s, p.start, region=r),
    )
)


@dataclass(frozen=True, slots=True)
class ReportRef:
    """One issue of a report: its kind, period and region."""

    kind: ReportKind
    period: Period
    region: str

    @property
    def ref(self) -> str:
        return f"{self.kind.code}/{self.region}/{self.period.key}"


def resolve(session: Session, kind: str, period: str, region: str | None = None) -> ReportRef:
    """The issue named by a kind code, period text and (optional) region code; Chinese errors
    for an unknown kind, a bad period or an unknown region."""
    k = get(kind)
    return ReportRef(k, k.parse(period), region_of(session, region).code)


def region_of(session: Session, code: str | None) -> Region:
    """The region asked for, else the deployment's own."""
    if code is None:
        code = deployment.region_code(session)
        if code is None:
            raise ReportUnavailable(
                "数据库未记录本局所辖地区（也没有唯一的县级地区），请指定地区代码"
            )
    row = session.get(Region, code)
    if row is None:
        raise NotFound(f"没有代码为 {code} 的地区")
    return row


# matplotlib's pyplot (the charts) keeps global state and is not thread-safe: concurrent web
# generations draw one at a time (the gate bounds how many wait).
_DRAW = threading.Lock()


def build(session: Session, kind: ReportKind, period: Period, region: str) -> Report:
    """The report of ``kind`` for ``period`` and ``region``, from the stored figures."""
    if kind.check is not None:
        kind.check(session, period, region)
    try:
        with _DRAW:
            return kind.build(session, period, region)
    except FontMissingError:
        raise ReportUnavailable(
            "服务器上没有中文字体，无法绘制报告图表（请管理员安装 fonts-noto-cjk）"
        ) from None
    except (ReportError, FiguresError) as exc:  # the builder's own reasons, kept
        raise ReportUnavailable(f"{period.label}{kind.short}无法生成：{exc}") from None


def file_name(rep: Report, kind: ReportKind, ext: str) -> str:
    """崆峒区2026年2月环境质量月报.docx"""
    return f"{rep.issuer.removesuffix('生态环境局')}{rep.period_label}{kind.name}.{ext}"
