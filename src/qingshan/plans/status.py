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
from typing import Any

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
    projection: dict[str, Any] | None = None


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


@dataclass(frozen=True, slots=True)
class SectionClass:
    """One section's class so far (1–6, 6 = 劣Ⅴ) and its items over the Class Ⅲ limit
    (item name → exact multiple over Ⅲ; empty for a section in Ⅰ–Ⅲ)."""

    code: str
    water_class: int
    over_iii: dict[str, Fraction]


_ROMAN = {1: "Ⅰ", 2: "Ⅱ", 3: "Ⅲ", 4: "Ⅳ", 5: "Ⅴ", 6: "劣Ⅴ"}
WATER_PROJECTION_BASIS = (
    "按各断面年初至今各项目均值评价的水质类别推算全年（假定余下时段水质与目前持平，"
    "年度评价取各项目全年均值，GB 3838-2002、2011年评价办法）"
)


def _over(sec: SectionClass) -> str:
    items = "、".join(f"{k}超Ⅲ类{_fmt(m, 2)}倍" for k, m in sorted(sec.over_iii.items()))
    return f"{sec.code}（{_ROMAN[sec.water_class]}类{'：' + items if items else ''}）"


def section_share_projection(
    kind: str, sections: list[SectionClass], comparator: Comparator | None, *, final: bool
) -> Status:
    """Status of a surface-water share (Ⅰ–Ⅲ or 劣Ⅴ, %) with its year-end projection.

    Basis (:data:`WATER_PROJECTION_BASIS`): a section's annual class is the class of the
    annual mean of each item, so with the rest of the year at the level so far each section
    ends the year in the class it has now, and the year's share is the share so far:
    ``share = counted / n × 100``. For a floor t (Ⅰ–Ⅲ ≥ t %) the year needs ⌈t·n/100⌉
    sections in Ⅰ–Ⅲ, so ``sections_affordable`` = counted − ⌈t·n/100⌉ more sections may fall
    below Ⅲ (negative: that many more must reach Ⅲ); for a ceiling t (劣Ⅴ ≤ t %) at most
    ⌊t·n/100⌋ sections may be 劣Ⅴ, so ``sections_affordable`` = ⌊t·n/100⌋ − counted.
    ``sections_to_improve`` lists the sections that keep the share from its target with
    the items over the Class Ⅲ limit (multiples, 2 decimals), i.e. what has to come down.
    Water means can still move either way, so a share short of its target is at risk (never
    off track) until the year is complete.
    """
    if kind not in ("water.share_i_iii", "water.share_worse_than_v"):
        raise ValueError(f"not a surface-water share: {kind}")
    good = kind == "water.share_i_iii"
    n = len(sections)
    if n == 0:
        return Status("not_assessable", "区域内本年没有可评价的地表水断面")
    hit = [x for x in sections if (x.water_class <= 3 if good else x.water_class == 6)]
    share = Fraction(len(hit) * 100, n)
    label = "Ⅰ～Ⅲ类" if good else "劣Ⅴ类"
    expected_kind = "at_least" if good else "at_most"
    if comparator is None or comparator.kind != expected_kind or comparator.value is None:
        return value_status(comparator, share, final=final)
    t = Fraction(comparator.number or 0)
    if good:
        limit = math.ceil(t * n / 100)
        affordable = len(hit) - limit
        short = sorted((x for x in sections if x.water_class > 3), key=lambda x: x.code)
    else:
        limit = math.floor(t * n / 100)
        affordable = limit - len(hit)
        short = sorted(hit, key=lambda x: x.code)
    proj: dict[str, Any] = {
        "basis": WATER_PROJECTION_BASIS,
        "sections": n,
        "counted": len(hit),
        "share_so_far": _fmt(share),
        "share_year_end": _fmt(share),
        ("sections_needed" if good else "sections_allowed"): limit,
        "sections_affordable": affordable,
        "sections_to_improve": [
            {
                "code": x.code,
                "class": _ROMAN[x.water_class],
                "over_iii": {k: _fmt(m, 2) for k, m in sorted(x.over_iii.items())},
            }
            for x in (short if affordable < 0 else [])
        ],
    }
    target = f"{'≥' if good else '≤'}{comparator.value}%"
    if final:
        verdict = "达到" if affordable >= 0 else "未达到"
        return Status(
            "achieved" if affordable >= 0 else "off_track",
            f"全年{label}断面比例{_fmt(share)}%（{len(hit)}/{n}），{verdict}目标{target}",
            proj,
        )
    if affordable >= 0:
        room = (
            f"还可容许{affordable}个断面劣于Ⅲ类" if good else f"还可容许{affordable}个断面为劣Ⅴ类"
        )
        return Status(
            "on_track",
            f"目前{label}断面比例{_fmt(share)}%（{len(hit)}/{n}），按目前水质推算全年同此，"
            f"达到目标{target}；{room}",
            proj,
        )
    need = (
        f"须再有{-affordable}个断面达到或好于Ⅲ类" if good else f"须再有{-affordable}个断面脱离劣Ⅴ类"
    )
    return Status(
        "at_risk",
        f"目前{label}断面比例{_fmt(share)}%（{len(hit)}/{n}），按目前水质推算全年未达到目标"
        f"{target}；{need}：{'、'.join(_over(x) for x in short)}",
        proj,
    )


@dataclass(frozen=True, slots=True)
class SourceResult:
    """One drinking-water source over the year so far: 达标 (meets Class Ⅲ) and the items
    that keep it from complying."""

    code: str
    complies: bool
    failing_items: tuple[str, ...]


DRINKING_PROJECTION_BASIS = (
    "按各水源地年初至今的达标情况推算全年（地表水水源地：各项目年内均值达到GB 3838-2002 Ⅲ类"
    "及补充项目限值；地下水水源地：每次监测均达到GB/T 14848-2017 Ⅲ类；假定余下时段与目前持平）"
)


def source_share_projection(
    sources: list[SourceResult], comparator: Comparator | None, *, final: bool
) -> Status:
    """Status of 集中式饮用水水源地水质达标率 (%) with its year-end projection.

    达标率 = complying sources / sources with data × 100 (by number of sources; the volume-
    weighted rate needs the volumes drawn, which the registry does not hold). Basis
    (:data:`DRINKING_PROJECTION_BASIS`): each source ends the year as it stands now. For a
    floor t the year needs ⌈t·n/100⌉ complying sources; ``sources_affordable`` = complying −
    that (negative: that many more must comply), ``sources_to_improve`` the sources that do
    not comply with their failing items."""
    n = len(sources)
    if n == 0:
        return Status("not_assessable", "区域内本年没有有监测数据的集中式饮用水水源地")
    ok = sum(1 for x in sources if x.complies)
    rate = Fraction(ok * 100, n)
    if comparator is None or comparator.kind != "at_least" or comparator.value is None:
        return value_status(comparator, rate, final=final)
    t = Fraction(comparator.number or 0)
    needed = math.ceil(t * n / 100)
    affordable = ok - needed
    failing = sorted((x for x in sources if not x.complies), key=lambda x: x.code)
    proj: dict[str, Any] = {
        "basis": DRINKING_PROJECTION_BASIS,
        "sources": n,
        "counted": ok,
        "share_so_far": _fmt(rate),
        "share_year_end": _fmt(rate),
        "sources_needed": needed,
        "sources_affordable": affordable,
        "sources_to_improve": [
            {"code": x.code, "failing_items": list(x.failing_items)}
            for x in (failing if affordable < 0 else [])
        ],
    }
    head = f"达标水源地{ok}/{n}个，达标率{_fmt(rate)}%"
    if final:
        met = affordable >= 0
        return Status(
            "achieved" if met else "off_track",
            f"全年{head}，{'达到' if met else '未达到'}目标≥{comparator.value}%",
            proj,
        )
    if affordable >= 0:
        return Status(
            "on_track",
            f"目前{head}，按目前水质推算全年同此，达到目标≥{comparator.value}%；"
            f"还可容许{affordable}个水源地不达标",
            proj,
        )
    names = "、".join(f"{x.code}（{'、'.join(x.failing_items) or '不达标'}）" for x in failing)
    return Status(
        "at_risk",
        f"目前{head}，按目前水质推算全年未达到目标≥{comparator.value}%；"
        f"须再有{-affordable}个水源地达标：{names}",
        proj,
    )
