"""Plans as data (pure rules: no storage, no clock, no project imports outside this package).

A plan template is a TOML file under ``templates/`` transcribed from a published plan: its
indicator table (category, name as published, unit, attribute 约束性/预期性, baseline, targets
per milestone as published text *and* as a comparator, direction, the source sentence), its
tasks with their responsible units, and the document's inconsistencies as notes — never
corrected. :func:`load_template` reads and checks one; :func:`template_ids` lists them.
The format is documented in ``docs/plans.md``.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from datetime import date
from importlib import resources
from typing import Any

from qingshan.plans.comparators import DIRECTIONS, KINDS, Comparator, TargetError, parse_target

ATTRIBUTES = ("约束性", "预期性", "")
BINDINGS = (
    "air.good_day_ratio",  # 优良天数比率, %, HJ 663
    "air.pm2_5",  # PM2.5 annual mean, μg/m³
    "air.pm10",  # PM10 annual mean, μg/m³
    "water.share_i_iii",  # share of surface-water sections in Ⅰ–Ⅲ, %
    "water.share_worse_than_v",  # share in 劣Ⅴ, %
    "water.drinking_compliance",  # 集中式饮用水水源地水质达标率 (by number of sources), %
)
RESPONSIBILITY = ("lead", "support", "joint", "each")  # 牵头, 配合, 负责, 分别负责


class TemplateError(ValueError):
    """A template file that cannot be used; ``problems`` lists every fault found."""

    def __init__(self, name: str, problems: list[str]) -> None:
        self.problems = problems
        super().__init__(f"规划模板 {name} 有误：" + "；".join(problems))


@dataclass(frozen=True, slots=True)
class Baseline:
    year: int | None
    text: str  # as published ("—" kept)


@dataclass(frozen=True, slots=True)
class Target:
    year: int
    text: str  # as published
    comparator: Comparator


@dataclass(frozen=True, slots=True)
class Binding:
    kind: str
    dust_deduction: bool = False  # 扣除沙尘


@dataclass(frozen=True, slots=True)
class Indicator:
    no: str
    category: str
    published: str  # the table cell as published (name with its unit)
    name: str
    unit: str
    attribute: str
    direction: str
    baseline: Baseline | None
    targets: tuple[Target, ...]
    binding: Binding | None = None
    source_sentence: str | None = None
    note: str | None = None

    def target(self, year: int) -> Target | None:
        """The target that applies in ``year``: the first milestone at or after it."""
        later = [t for t in self.targets if t.year >= year]
        return min(later, key=lambda t: t.year) if later else None


@dataclass(frozen=True, slots=True)
class TaskUnit:
    name: str
    role: str  # lead / support / joint / each


@dataclass(frozen=True, slots=True)
class Task:
    no: str
    group: str  # the action or chapter the task belongs to
    text: str
    units: tuple[TaskUnit, ...]
    deadline: str | None = None  # ISO date
    deadline_text: str | None = None  # as published, e.g. 2019年底前
    recurrence: str | None = None  # as published, e.g. 每季度至少研究1次


@dataclass(frozen=True, slots=True)
class RegionLink:
    code: str
    name: str


@dataclass(frozen=True, slots=True)
class Template:
    id: str
    title: str
    issuer: str
    document_number: str
    issued: str
    source: str
    period: tuple[int, int]
    milestones: tuple[int, ...]
    baseline_label: str
    region: tuple[RegionLink, ...]  # from the top (province) down to the plan's region
    notes: tuple[str, ...]
    indicators: tuple[Indicator, ...]
    tasks: tuple[Task, ...] = field(default=())
    responsibility_notes: tuple[str, ...] = field(default=())

    @property
    def region_code(self) -> str:
        return self.region[-1].code


def _str(
    d: dict[str, Any], key: str, where: str, problems: list[str], *, empty: bool = False
) -> str:
    v = d.get(key)
    if not isinstance(v, str) or (not empty and not v.strip()):
        problems.append(f"{where}：缺少 {key}")
        return ""
    return v


def _indicator(raw: dict[str, Any], i: int, problems: list[str]) -> Indicator | None:
    where = f"指标 {raw.get('no', i + 1)}"
    n0 = len(problems)
    no = _str(raw, "no", where, problems)
    category = _str(raw, "category", where, problems)
    published = _str(raw, "published", where, problems)
    name = _str(raw, "name", where, problems)
    unit = _str(raw, "unit", where, problems, empty=True)
    attribute = _str(raw, "attribute", where, problems, empty=True)
    if attribute not in ATTRIBUTES:
        problems.append(f"{where}：属性 {attribute!r} 应为 约束性 / 预期性 / 空")
    direction = _str(raw, "direction", where, problems)
    if direction not in DIRECTIONS:
        problems.append(f"{where}：方向 {direction!r} 应为 {' / '.join(DIRECTIONS)}")
        return None
    baseline = None
    if "baseline" in raw:
        b = raw["baseline"]
        baseline = Baseline(b.get("year"), str(b.get("text", "")))
    targets: list[Target] = []
    for t in raw.get("targets", []):
        text = t.get("text", "")
        try:
            c = parse_target(text, direction)
        except TargetError as exc:
            problems.append(f"{where} 目标 {text!r}：{exc}")
            continue
        kind = t.get("comparator")
        if kind not in KINDS:
            problems.append(f"{where} 目标 {text!r}：比较方式 {kind!r} 未知")
        elif (kind, t.get("value")) != (c.kind, c.value):
            problems.append(
                f"{where} 目标 {text!r}：文件记为 {kind} {t.get('value')}，"
                f"解析为 {c.kind} {c.value}"
            )
        targets.append(Target(int(t["year"]), text, c))
    binding = None
    if "binding" in raw:
        kind = raw["binding"].get("kind")
        if kind not in BINDINGS:
            problems.append(f"{where}：数据绑定 {kind!r} 未知")
        else:
            binding = Binding(kind, bool(raw["binding"].get("dust_deduction", False)))
    if len(problems) > n0:
        return None
    return Indicator(
        no=no,
        category=category,
        published=published,
        name=name,
        unit=unit,
        attribute=attribute,
        direction=direction,
        baseline=baseline,
        targets=tuple(targets),
        binding=binding,
        source_sentence=raw.get("source_sentence"),
        note=raw.get("note"),
    )


def _task(raw: dict[str, Any], i: int, problems: list[str]) -> Task | None:
    where = f"任务 {raw.get('no', i + 1)}"
    units: list[TaskUnit] = []
    for u in raw.get("units", []):
        if u.get("role") not in RESPONSIBILITY or not u.get("name"):
            problems.append(
                f"{where}：责任单位 {u!r} 须有 name 和 role（{'/'.join(RESPONSIBILITY)}）"
            )
            return None
        units.append(TaskUnit(u["name"], u["role"]))
    text = _str(raw, "text", where, problems)
    deadline = raw.get("deadline")
    if deadline is not None:
        try:
            date.fromisoformat(deadline)
        except (TypeError, ValueError):
            problems.append(f"{where}：期限 {deadline!r} 不是 YYYY-MM-DD 日期")
            return None
    if not text:
        return None
    return Task(
        no=str(raw.get("no", i + 1)),
        group=str(raw.get("group", "")),
        text=text,
        units=tuple(units),
        deadline=deadline,
        deadline_text=raw.get("deadline_text"),
        recurrence=raw.get("recurrence"),
    )


def parse_template(name: str, text: str) -> Template:
    """Check and build a template from TOML text; every fault is listed in the error."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise TemplateError(name, [f"TOML 语法错误：{exc}"]) from None
    problems: list[str] = []
    for key in ("id", "title", "issuer", "issued", "source", "baseline_label"):
        # an issuer or label the publication left blank is kept blank (and noted)
        _str(raw, key, "模板", problems, empty=key in ("issuer", "issued", "baseline_label"))
    period = raw.get("period")
    if not (isinstance(period, list) and len(period) == 2):
        problems.append("模板：period 应为 [起始年, 结束年]")
        period = [0, 0]
    region = tuple(RegionLink(r["code"], r["name"]) for r in raw.get("region", []))
    if not region:
        problems.append("模板：缺少区划链 region")
    indicators = [
        x
        for i, r in enumerate(raw.get("indicator", []))
        if (x := _indicator(r, i, problems)) is not None
    ]
    tasks = [k for i, r in enumerate(raw.get("task", [])) if (k := _task(r, i, problems))]
    nos = [x.no for x in indicators]
    if len(set(nos)) != len(nos):
        problems.append("模板：指标序号重复")
    if problems:
        raise TemplateError(name, problems)
    return Template(
        id=raw["id"],
        title=raw["title"],
        issuer=raw["issuer"],
        document_number=raw.get("document_number", ""),
        issued=raw["issued"],
        source=raw["source"],
        period=(int(period[0]), int(period[1])),
        milestones=tuple(int(y) for y in raw.get("milestones", [])),
        baseline_label=raw.get("baseline_label", ""),
        region=region,
        notes=tuple(raw.get("notes", [])),
        indicators=tuple(indicators),
        tasks=tuple(tasks),
        responsibility_notes=tuple(raw.get("responsibility_notes", [])),
    )


def template_ids() -> list[str]:
    """The ids of the shipped templates, sorted."""
    d = resources.files("qingshan.plans") / "templates"
    return sorted(p.name[: -len(".toml")] for p in d.iterdir() if p.name.endswith(".toml"))


def load_template(template_id: str) -> Template:
    """A shipped template by id; :class:`TemplateError` when there is none or it is faulty."""
    if template_id not in template_ids():
        raise TemplateError(template_id, [f"没有此模板；可用模板：{', '.join(template_ids())}"])
    f = resources.files("qingshan.plans") / "templates" / f"{template_id}.toml"
    t = parse_template(template_id, f.read_text(encoding="utf-8"))
    if t.id != template_id:
        raise TemplateError(template_id, [f"文件中的 id 为 {t.id}"])
    return t


__all__ = [
    "ATTRIBUTES",
    "BINDINGS",
    "Baseline",
    "Binding",
    "Indicator",
    "RegionLink",
    "Target",
    "Task",
    "TaskUnit",
    "Template",
    "TemplateError",
    "load_template",
    "parse_template",
    "template_ids",
]
