"""Targets as published (规划目标值) → comparators, and the verdict of a value against one.

A plan writes its targets as text: "96.7", "≥98", "46.8μg/m3", "70左右", "力争达到95",
"不新增", "不降低", "保持稳定", "完成省市下达目标", "控制在自治区、自治州下达指标范围内",
"稳中向好", "较2020年降低18%". :func:`parse_target` reads such a text, with the indicator's
direction (``up``: more is better, ``down``: less is better, ``none``) deciding what a bare
number means (up → the value is a floor, down → a ceiling, none → the value itself).

Numbers stay exact decimal text (a float has already lost the plan's digits); a trailing
``*`` (a footnote mark such as "28.82*") is recorded as ``marked``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from fractions import Fraction

DIRECTIONS = ("up", "down", "none")
KINDS = (
    "at_least",  # ≥ value (also a bare number when more is better, …以上)
    "at_most",  # ≤ value (also a bare number when less is better, 不超过 …)
    "equal",  # = value
    "maintain",  # 保持 (the baseline level is kept)
    "not_lower",  # 不降低 (not below the baseline)
    "no_new",  # 不新增 (no new ones)
    "reduce_pct",  # 降低 X % against a base year
    "assigned",  # 完成上级下达目标: the value is entered later
    "qualitative",  # 稳中向好, 有效保障 …: judged, not computed
)
KIND_LABELS = {
    "at_least": "≥",
    "at_most": "≤",
    "equal": "=",
    "maintain": "保持",
    "not_lower": "不降低",
    "no_new": "不新增",
    "reduce_pct": "降低",
    "assigned": "完成上级下达目标",
    "qualitative": "定性",
}

_NUMBER = r"(\d+(?:\.\d+)?)"
_ASSIGNED = re.compile(r"下达")
_REDUCE = re.compile(r"(?:较|比)?(\d{4})年?(?:基础上)?(?:累计)?(?:降低|下降)" + _NUMBER + r"\s*%")
_AT_LEAST = re.compile(r"^(?:≥|>=|不低于|达到|大于等于)\s*" + _NUMBER)
_AT_LEAST_SUFFIX = re.compile(r"^" + _NUMBER + r"\s*(?:%|平方米)?\s*(?:以上|及以上)$")
_AT_MOST = re.compile(r"^(?:≤|<=|不超过|不高于|低于|控制在)\s*" + _NUMBER)
_AT_MOST_SUFFIX = re.compile(r"^" + _NUMBER + r"\s*%?\s*以(?:下|内)$")
_EQUAL = re.compile(r"^=\s*" + _NUMBER)
_BARE = re.compile(r"^" + _NUMBER + r"\s*(\*?)\s*(?:%|μg/m3|微克/立方米|mg/m3)?$")


_UNIT = r"\s*(?:%|平方米|μg/m3|微克/立方米)?\s*"
_IN_SENTENCE = (
    (re.compile(r"保持在?" + _NUMBER), "maintain"),
    (re.compile(r"(?:达到|不低于)" + _NUMBER), "at_least"),
    (re.compile(_NUMBER + _UNIT + r"(?:及)?以上"), "at_least"),
    (re.compile(r"(?:不超过|不高于|控制在)" + _NUMBER), "at_most"),
)


class TargetError(ValueError):
    """A target that cannot be read as given."""


@dataclass(frozen=True, slots=True)
class Comparator:
    """A parsed target. ``value`` is exact decimal text (None for kinds without a number);
    ``base_year`` is set for ``reduce_pct``; ``soft`` for 力争, ``approx`` for 左右."""

    kind: str
    value: str | None = None
    base_year: int | None = None
    soft: bool = False
    approx: bool = False
    marked: bool = False

    @property
    def number(self) -> Decimal | None:
        return None if self.value is None else Decimal(self.value)

    def describe(self) -> str:
        """A short Chinese reading, e.g. "≥96.7", "较2020年降低18%", "完成上级下达目标"."""
        if self.kind == "reduce_pct":
            text = f"较{self.base_year}年降低{self.value}%"
        elif self.value is not None and self.kind in ("at_least", "at_most", "equal"):
            text = f"{KIND_LABELS[self.kind]}{self.value}"
        elif self.kind == "maintain" and self.value is not None:
            text = f"保持{self.value}"
        else:
            text = KIND_LABELS[self.kind]
        if self.approx:
            text += "（左右）"
        if self.soft:
            text = "力争" + text
        return text


def _decimal_text(text: str) -> str:
    try:
        d = Decimal(text)
    except InvalidOperation:
        raise TargetError(f"{text!r} 不是数值") from None
    if not d.is_finite():
        raise TargetError(f"{text!r} 不是有限数值")
    return text


def parse_target(text: str, direction: str) -> Comparator:
    """Read a published target text (see the module docstring). Never guesses a number out
    of prose: a text that is none of the known forms is ``qualitative``."""
    if direction not in DIRECTIONS:
        raise TargetError(f"方向 {direction!r} 应为 {' / '.join(DIRECTIONS)}")
    t = re.sub(r"\s+", "", text)
    if not t or t in ("—", "-", "——", "/"):
        raise TargetError("目标值为空")
    soft = t.startswith("力争")
    if soft:
        t = t[2:]
    approx = t.endswith("左右")
    if approx:
        t = t[:-2].rstrip("%")
    if _ASSIGNED.search(t):
        return Comparator("assigned", soft=soft, approx=approx)
    m = _REDUCE.search(t)
    if m:
        return Comparator(
            "reduce_pct", _decimal_text(m.group(2)), base_year=int(m.group(1)), soft=soft
        )
    if t.startswith("不新增"):
        return Comparator("no_new", soft=soft)
    if t.startswith("不降低") or t.startswith("不下降"):
        return Comparator("not_lower", soft=soft)
    if t.startswith("保持") and not re.search(r"\d", t):
        return Comparator("maintain", soft=soft)
    for pattern, kind in (
        (_AT_LEAST, "at_least"),
        (_AT_LEAST_SUFFIX, "at_least"),
        (_AT_MOST, "at_most"),
        (_AT_MOST_SUFFIX, "at_most"),
        (_EQUAL, "equal"),
    ):
        m = pattern.match(t)
        if m:
            return Comparator(kind, _decimal_text(m.group(1)), soft=soft, approx=approx)
    m = _BARE.match(t)
    if m:
        kind = {"up": "at_least", "down": "at_most", "none": "equal"}[direction]
        return Comparator(
            kind, _decimal_text(m.group(1)), soft=soft, approx=approx, marked=bool(m.group(2))
        )
    # a target stated in a sentence ("力争空气优良天数比率达到96.7%以上", "国控断面水质优良率
    # 保持在100%"): the clause that carries the number, wherever it stands
    soft = soft or "力争" in t
    for pattern, kind in _IN_SENTENCE:
        m = pattern.search(t)
        if m:
            return Comparator(kind, _decimal_text(m.group(1)), soft=soft, approx=approx)
    return Comparator("qualitative", soft=soft, approx=approx)


def meets(c: Comparator, actual: Fraction, baseline: Fraction | None = None) -> bool | None:
    """Whether ``actual`` meets ``c`` exactly; None when the comparator cannot be judged from
    a number (assigned, qualitative, no_new) or needs a baseline that is not known.

    ``左右`` (approx) is judged as its number, like the plan's own evaluation does when it
    gives no tolerance; ``reduce_pct`` compares the reduction from ``baseline``:
    (baseline − actual) / baseline × 100 ≥ X.
    """
    if c.kind in ("at_least", "at_most", "equal"):
        assert c.value is not None
        v = Fraction(Decimal(c.value))
        return {"at_least": actual >= v, "at_most": actual <= v, "equal": actual == v}[c.kind]
    if c.kind == "maintain" and c.value is not None:  # 保持在100%: kept at that value
        return actual == Fraction(Decimal(c.value))
    if c.kind in ("maintain", "not_lower"):
        if baseline is None:
            return None
        return actual >= baseline if c.kind == "not_lower" else actual == baseline
    if c.kind == "reduce_pct":
        if baseline is None or baseline == 0 or c.value is None:
            return None
        return (baseline - actual) / baseline * 100 >= Fraction(Decimal(c.value))
    return None
