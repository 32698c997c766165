"""The words of supervision cases: origins, kinds, channels, categories, the workflow each kind
follows, and the national time limits of complaints (``limits.toml``)."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import resources

from qingshan.storage.models_cases import CASE_KINDS, CASE_ORIGINS

ORIGIN_LABELS: dict[str, str] = {
    "central_inspection": "中央生态环境保护督察",
    "provincial_inspection": "省级生态环境保护督察",
    "warning_film": "警示片披露问题",
    "hotline": "12369 / 信访举报",
    "grid_patrol": "网格巡查",
    "river_patrol": "河湖长巡河",
    "enforcement": "执法检查",
    "automatic_alarm": "自动监控报警",
}
KIND_LABELS: dict[str, str] = {
    "problem": "问题",
    "complaint": "信访件",
    "patrol": "巡查问题",
    "alarm": "报警",
}
# An origin's kinds; the first is the default. An inspection's complaints are its
# 督察转办信访件 (with their national id).
ORIGIN_KINDS: dict[str, tuple[str, ...]] = {
    "central_inspection": ("problem", "complaint"),
    "provincial_inspection": ("problem", "complaint"),
    "warning_film": ("problem",),
    "hotline": ("complaint",),
    "grid_patrol": ("patrol",),
    "river_patrol": ("patrol",),
    "enforcement": ("problem",),
    "automatic_alarm": ("alarm",),
}
INSPECTIONS = ("central_inspection", "provincial_inspection")
KIND_WORKFLOWS: dict[str, str] = {
    "problem": "inspection_rectification",
    "complaint": "complaint",
    "patrol": "patrol",
    "alarm": "alarm",
}
CHANNELS = ("12369", "来信", "来访", "电话", "网络", "督察转办")
CATEGORIES = ("大气", "水", "土壤", "噪声", "固体废物", "生态", "辐射", "其他")
FINDINGS = ("属实", "基本属实", "部分属实", "不属实")
CODE_PREFIX: dict[str, str] = {
    "central_inspection": "ZY",
    "provincial_inspection": "SJ",
    "warning_film": "JS",
    "hotline": "XF",
    "grid_patrol": "WG",
    "river_patrol": "HZ",
    "enforcement": "ZF",
    "automatic_alarm": "BJ",
}
assert set(ORIGIN_LABELS) == set(CASE_ORIGINS) and set(KIND_LABELS) == set(CASE_KINDS)


def origin_of(text: str) -> str:
    """An origin from its name or its Chinese label (ValueError naming the valid ones)."""
    t = text.strip()
    if t in ORIGIN_LABELS:
        return t
    for k, label in ORIGIN_LABELS.items():
        if t == label or t in label.split(" / "):
            return k
    aliases = {
        "中央督察": "central_inspection",
        "省级督察": "provincial_inspection",
        "警示片": "warning_film",
        "信访": "hotline",
        "12369": "hotline",
        "网格": "grid_patrol",
        "河长巡河": "river_patrol",
        "执法": "enforcement",
        "自动监控": "automatic_alarm",
        "报警": "automatic_alarm",
    }
    if t in aliases:
        return aliases[t]
    names = "、".join(f"{k}（{v}）" for k, v in ORIGIN_LABELS.items())
    raise ValueError(f"来源 {text!r} 无效，应为 {names} 之一")


def kind_of(text: str) -> str:
    t = text.strip()
    if t in KIND_LABELS:
        return t
    for k, label in KIND_LABELS.items():
        if t == label:
            return k
    if t in ("督察转办信访件", "信访", "举报"):
        return "complaint"
    if t in ("反馈问题", "督察反馈问题"):
        return "problem"
    names = "、".join(f"{k}（{v}）" for k, v in KIND_LABELS.items())
    raise ValueError(f"类型 {text!r} 无效，应为 {names} 之一")


@dataclass(frozen=True, slots=True)
class Limits:
    """Time limits applied by default (``limits.toml``, with the articles they come from)."""

    complaint_days: int
    complaint_unit: str
    extension_max_days: int
    patrol_days: int
    patrol_unit: str
    blue_before: int  # working days before the due day: 蓝单 (approaching)
    yellow_after: int  # calendar days past the due day: 黄单 (overdue)
    red_after: int  # calendar days past the due day: 红单 (seriously overdue)


@cache
def limits() -> Limits:
    text = resources.files(__package__).joinpath("limits.toml").read_text("utf-8")
    d = tomllib.loads(text)
    c, p, w = d["complaint"], d["patrol"], d["warnings"]
    return Limits(
        int(c["handling_days"]),
        str(c["unit"]),
        int(c["extension_max_days"]),
        int(p["handling_days"]),
        str(p["unit"]),
        int(w["blue_before_working_days"]),
        int(w["yellow_after_days"]),
        int(w["red_after_days"]),
    )
