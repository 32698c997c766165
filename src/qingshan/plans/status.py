"""Status of an indicator in a year, and projections to the year's end. Exact arithmetic
(:class:`fractions.Fraction`); no rounding until a figure is shown.

Statuses: ``achieved`` (the year is complete and the target is met), ``on_track`` (met so far
and still reachable), ``at_risk`` (not met so far but still reachable), ``off_track`` (can no
longer be met, or the complete year missed it), ``not_assessable`` (no value, no numeric
target, or a target entered later) — each with its reason in Chinese.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

from qingshan.plans.comparators import Comparator, meets

STATUSES = ("achieved", "on_track", "at_risk", "off_track", "not_assessable")
STATUS_LABELS = {
    "achieved": "已完成",
    "on_track": "进度正常",
    "at_risk": "有风险",
    "off_track": "难以完成",
    "not_assessable": "暂无法评估",
}


@dataclass(frozen=True, slots=True)
class Status:
    status: str
    reason: str
    projection: dict[str, str | int] | None = None


def _fmt(x: Fraction, places: int = 1) -> str:
    """``x`` rounded half-even to ``places`` decimals, as text (display only)."""
    q = round(x, places)
    return f"{float(q):.{places}f}"


def good_day_projection(good: int, valid: int, remaining: int, comparator: Comparator) -> Status:
    """Status of an 优良天数比率 target (%) from the year so far.

    ``good`` of ``valid`` days so far were good; ``remaining`` calendar days of the year are
    still to come, assumed valid. The year's ratio is good_total / N with N = valid +
    remaining; the target t (%) holds when good_total ≥ t·N/100, so the year can have at most
    N − ⌈t·N/100⌉ non-good days; ``affordable`` = that − (valid − good) more non-good days.
    Reference: HJ 663 (优良天数比率 = 优良天数 / 有效监测天数 × 100 %).
    """
    if comparator.kind != "at_least" or comparator.value is None:
        return Status("not_assessable", f"目标“{comparator.describe()}”不是下限值，无法推算")
    t = Fraction(comparator.number or 0)
    if valid == 0:
        return Status("not_assessable", "本年尚无有效监测天数")
    n = valid + remaining
    need_good = math.ceil(t * n / 100)
    affordable = (n - need_good) - (valid - good)
    ratio = Fraction(good * 100, valid)
    proj: dict[str, str | int] = {
        "good_days": good,
        "valid_days": valid,
        "remaining_days": remaining,
        "ratio_so_far": _fmt(ratio),
        "year_days": n,
        "good_days_needed": need_good,
        "non_good_days_affordable": affordable,
    }
    if remaining == 0:
        if good * 100 >= t * valid:
            return Status("achieved", f"全年优良天数比率{_fmt(ratio)}%，达到目标{t}%", proj)
        return Status("off_track", f"全年优良天数比率{_fmt(ratio)}%，未达到目标{t}%", proj)
    if affordable < 0:
        return Status(
            "off_track",
            f"即使余下{remaining}天全部优良，全年优良天数比率也达不到{comparator.value}%",
            proj,
        )
    if ratio >= t:
        return Status(
            "on_track",
            f"目前优良天数比率{_fmt(ratio)}%；年内还可容许{affordable}个非优良天",
            proj,
        )
    return Status(
        "at_risk",
        f"目前优良天数比率{_fmt(ratio)}%，低于目标{comparator.value}%；"
        f"年内最多还可容许{affordable}个非优良天",
        proj,
    )


def mean_projection(mean: Fraction, days: int, remaining: int, comparator: Comparator) -> Status:
    """Status of an annual mean concentration ceiling (PM2.5, PM10) from the year so far.

    The annual mean (HJ 663: mean of the valid daily means) over N = days + remaining days
    stays ≤ L when the remaining days average at most (L·N − mean·days) / remaining.
    """
    if comparator.kind != "at_most" or comparator.value is None:
        return Status("not_assessable", f"目标“{comparator.describe()}”不是上限值，无法推算")
    limit = Fraction(comparator.number or 0)
    if days == 0:
        return Status("not_assessable", "本年尚无有效监测天数")
    proj: dict[str, str | int] = {
        "mean_so_far": _fmt(mean),
        "valid_days": days,
        "remaining_days": remaining,
    }
    if remaining == 0:
        verdict = "达到" if mean <= limit else "未达到"
        return Status(
            "achieved" if mean <= limit else "off_track",
            f"全年均值{_fmt(mean)}，{verdict}目标≤{comparator.value}",
            proj,
        )
    allowed = (limit * (days + remaining) - mean * days) / remaining
    proj["remaining_mean_allowed"] = _fmt(allowed)
    if allowed < 0:
        return Status("off_track", f"即使余下{remaining}天浓度为0，全年均值也超过目标", proj)
    if mean <= limit:
        return Status(
            "on_track",
            f"目前均值{_fmt(mean)}；余下{remaining}天日均不超过{_fmt(allowed)}即可达标",
            proj,
        )
    return Status(
        "at_risk",
        f"目前均值{_fmt(mean)}，高于目标{comparator.value}；余下{remaining}天日均须不超过"
        f"{_fmt(allowed)}",
        proj,
    )


def value_status(
    comparator: Comparator | None,
    actual: Fraction | None,
    *,
    final: bool,
    baseline: Fraction | None = None,
) -> Status:
    """Status of a value with no projection (reported values, whole-year evaluations so far):
    met → achieved when the year is complete (``final``), else on track; not met → off track
    when final, else at risk."""
    if comparator is None:
        return Status("not_assessable", "本年没有目标值")
    if comparator.kind == "assigned":
        return Status("not_assessable", "目标为完成上级下达目标，下达值尚未录入")
    if comparator.kind == "qualitative":
        return Status("not_assessable", f"定性目标“{comparator.describe()}”，需人工评价")
    if actual is None:
        return Status("not_assessable", "尚无实际值")
    ok = meets(comparator, actual, baseline)
    if ok is None:
        return Status("not_assessable", f"目标“{comparator.describe()}”需基准值，基准值未知")
    if ok:
        return Status("achieved" if final else "on_track", f"实际值满足{comparator.describe()}")
    return Status("off_track" if final else "at_risk", f"实际值未满足{comparator.describe()}")
