"""The shipped plan templates (pure): counts, exact published texts, notes, comparators."""

from __future__ import annotations

import re
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from qingshan.plans import TemplateError, load_template, parse_template, template_ids
from qingshan.plans.comparators import TargetError, meets, parse_target

SEEDS = Path("/work/shared/seeds")

COUNTS = {
    "kongtong-14th": 21,
    "changji-14th": 24,
    "qiandongnan-14th": 18,
    "pingliang-2030": 23,
    "jiayuguan-2020": 14,
}


def test_every_template_loads_with_its_published_indicator_count() -> None:
    assert set(COUNTS) <= set(template_ids())
    for tid, n in COUNTS.items():
        t = load_template(tid)
        assert t.id == tid
        assert len(t.indicators) == n, tid


def test_kongtong_exact_texts_and_notes() -> None:
    t = load_template("kongtong-14th")
    assert (t.issuer, t.document_number, t.issued) == (
        "平凉市崆峒区人民政府办公室",
        "区政办发〔2022〕29号",
        "2022-04-25",
    )
    assert [r.code for r in t.region] == ["620000", "620800", "620802"]
    by_no = {i.no: i for i in t.indicators}
    one = by_no["1"]
    assert one.published == "中心城区空气质量优良天数比率(%"
    assert (one.attribute, one.unit, one.baseline and one.baseline.text) == ("约束性", "%", "96.7")
    assert one.targets[0].text == "96.7" and one.targets[0].comparator.kind == "at_least"
    assert one.binding is not None and one.binding.kind == "air.good_day_ratio"
    # the table's PM rows as published (the prose swaps them: recorded as a note)
    assert by_no["2"].targets[0].text == "21" and by_no["3"].targets[0].text == "54"
    assert by_no["3"].attribute == "预期性"
    assert by_no["8"].baseline is not None and by_no["8"].baseline.text == "32.54"
    assert by_no["16"].targets[0].text == "≥98"
    assert by_no["9"].targets[0].comparator.kind == "assigned"
    assert by_no["21"].targets == () and by_no["21"].baseline.text == "18.18"  # type: ignore[union-attr]
    assert [i.category for i in t.indicators].count("环境质量改善") == 8
    assert any("2020年数值" in n for n in t.notes)
    assert any("互换" in n for n in t.notes)
    assert t.baseline_label == "2022年(现状)"


@pytest.mark.skipif(not SEEDS.is_dir(), reason="the seed plans are not on this machine")
@pytest.mark.parametrize("tid", sorted(COUNTS))
def test_published_texts_occur_in_the_seed(tid: str) -> None:
    t = load_template(tid)
    # cells that wrap in the published table ("完成省市\n\n下达目标") are compared without
    # their whitespace; nothing else is normalised
    seed = re.sub(r"\s+", "", (SEEDS / t.source.split()[-1]).read_text(encoding="utf-8"))

    def found(text: str) -> bool:
        return re.sub(r"\s+", "", text) in seed

    for ind in t.indicators:
        assert found(ind.published), (tid, ind.no, ind.published)
        for tg in ind.targets:
            assert found(tg.text), (tid, ind.no, tg.text)
        if ind.source_sentence:
            assert found(ind.source_sentence), (tid, ind.no)
        if ind.baseline and ind.baseline.text:
            assert found(ind.baseline.text), (tid, ind.no)


@pytest.mark.parametrize(
    ("text", "direction", "kind", "value"),
    [
        ("96.7", "up", "at_least", "96.7"),
        ("21", "down", "at_most", "21"),
        ("≥98", "up", "at_least", "98"),
        ("≤35", "up", "at_most", "35"),
        ("95%以上", "up", "at_least", "95"),
        ("46.8μg/m3", "down", "at_most", "46.8"),
        ("78.4%", "up", "at_least", "78.4"),
        ("28.82*", "down", "at_most", "28.82"),
        ("不新增", "down", "no_new", None),
        ("不降低", "up", "not_lower", None),
        ("保持稳定", "none", "maintain", None),
        ("完成省市下达目标", "up", "assigned", None),
        ("控制在自治区、自治州下达指标范围内", "down", "assigned", None),
        ("稳中向好", "up", "qualitative", None),
        ("较2020年降低18%", "down", "reduce_pct", "18"),
    ],
)
def test_parse_target_forms(text: str, direction: str, kind: str, value: str | None) -> None:
    c = parse_target(text, direction)
    assert (c.kind, c.value) == (kind, value)


def test_soft_approx_and_marks() -> None:
    c = parse_target("力争达到95", "up")
    assert (c.kind, c.value, c.soft) == ("at_least", "95", True)
    c = parse_target("98%左右", "up")
    assert (c.kind, c.value, c.approx) == ("at_least", "98", True)
    assert parse_target("28.82*", "down").marked
    assert parse_target("较2020年降低18%", "down").base_year == 2020
    for empty in ("", "—", " "):
        with pytest.raises(TargetError):
            parse_target(empty, "up")
    with pytest.raises(TargetError, match="方向"):
        parse_target("1", "sideways")


decimals = st.decimals(min_value=0, max_value=100000, allow_nan=False, places=3)


@given(decimals, st.sampled_from(["up", "down", "none"]))
def test_bare_numbers_follow_the_direction(d: Decimal, direction: str) -> None:
    c = parse_target(str(d), direction)
    assert c.value == str(d)
    assert c.kind == {"up": "at_least", "down": "at_most", "none": "equal"}[direction]
    v = Fraction(d)
    assert meets(c, v) is True
    step = Fraction(1, 1000)
    if direction == "up":
        assert meets(c, v - step) is False
    elif direction == "down":
        assert meets(c, v + step) is False


@given(st.text(max_size=30), st.sampled_from(["up", "down", "none"]))
def test_parser_never_fails_on_text_except_empty(text: str, direction: str) -> None:
    try:
        c = parse_target(text, direction)
    except TargetError:
        assert text.strip() in ("", "—", "-", "——", "/") or any(ch.isdigit() for ch in text)
        return
    assert c.kind


def test_reduce_pct_against_the_base_year() -> None:
    c = parse_target("较2020年降低18%", "down")
    assert meets(c, Fraction(82), baseline=Fraction(100)) is True
    assert meets(c, Fraction(8201, 100), baseline=Fraction(100)) is False
    assert meets(c, Fraction(82)) is None  # no baseline, no verdict


def test_a_faulty_template_lists_every_problem() -> None:
    text = """
id = "x"
title = "t"
issuer = "i"
issued = "2022-01-01"
source = "s"
baseline_label = ""
period = [2021, 2025]
region = [{ code = "620000", name = "甘肃省" }]
[[indicator]]
no = "1"
category = "c"
published = "p"
name = "n"
unit = "%"
attribute = "约束性"
direction = "up"
targets = [{ year = 2025, text = "96.7", comparator = "at_most", value = "96.7" }]
[[indicator]]
no = "2"
category = "c"
published = "p"
name = "n"
unit = "%"
attribute = "强制性"
direction = "up"
binding = { kind = "air.o3" }
"""
    with pytest.raises(TemplateError) as exc:
        parse_template("x", text)
    msgs = exc.value.problems
    assert any("解析为 at_least" in m for m in msgs)
    assert any("强制性" in m for m in msgs)
    assert any("air.o3" in m for m in msgs)
    with pytest.raises(TemplateError, match="没有此模板"):
        load_template("nowhere-99th")


def test_pingliang_targets_per_milestone_and_tasks_with_their_units() -> None:
    t = load_template("pingliang-2030")
    assert t.milestones == (2025, 2030)
    by_no = {i.no: i for i in t.indicators}
    co2 = by_no["3"]
    assert [(x.year, x.comparator.kind, x.comparator.base_year) for x in co2.targets] == [
        (2025, "reduce_pct", 2020),
        (2030, "reduce_pct", 2005),
    ]
    air = by_no["10"]
    assert [x.text for x in air.targets] == [
        "力争空气优良天数比率达到96.7%以上",
        "力争空气优良天数比率达到98%以上",
    ]
    assert all(x.comparator.soft for x in air.targets)
    assert air.target(2027) == air.targets[1] and air.target(2024) == air.targets[0]
    assert len(t.tasks) == 26 and len({x.group for x in t.tasks}) == 8
    one = t.tasks[0]
    assert one.recurrence is not None and "每季度至少研究1次" in one.recurrence
    four = t.tasks[3]
    assert four.text == "构建要素完备的法规体系"
    assert [(u.name, u.role) for u in four.units] == [
        ("市人大常委会法工委", "joint"),
        ("市司法局", "joint"),
        ("市生态环境局", "joint"),
        ("各县(市、区)党委和人民政府", "each"),  # the blanket rule of task 1
        ("平凉工业园区(高新区)党工委和管委会", "each"),
    ]
    assert all(
        {u.name for u in x.units if u.role == "each"}
        == {"各县(市、区)党委和人民政府", "平凉工业园区(高新区)党工委和管委会"}
        for x in t.tasks[1:]
    )


def test_jiayuguan_prose_targets_and_its_31_responsibility_notes() -> None:
    t = load_template("jiayuguan-2020")
    assert t.document_number == "嘉发16号"
    assert len(t.responsibility_notes) == 31 and len(t.tasks) == 31
    by_no = {i.no: i for i in t.indicators}
    water = by_no["6"]
    assert water.targets[0].text == "地表水水质优良比例达到95%以上"
    assert (water.targets[0].comparator.kind, water.targets[0].comparator.value) == (
        "at_least",
        "95",
    )
    soil = by_no["12"].targets[0].comparator
    assert (soil.kind, soil.value, soil.approx) == ("at_least", "98", True)
    assert by_no["1"].targets[0].comparator.kind == "assigned"
    assert [x.year for x in by_no["14"].targets] == [2020, 2030]
    three = t.tasks[2]
    assert three.text == "(三)引导公众绿色生活"
    assert [(u.name, u.role) for u in three.units][:2] == [
        ("市委宣传部", "lead"),
        ("市委组织部", "support"),
    ]
    eleven = t.tasks[10]
    assert [(u.name, u.role) for u in eleven.units] == [
        ("工业园区管委会", "each"),
        ("经开区公司", "each"),
        ("市生态环境局", "support"),
    ]
    assert t.responsibility_notes[10] == "工业园区管委会、经开区公司分别负责,市生态环境局配合"
    garbage = t.tasks[14]
    assert (garbage.deadline, garbage.deadline_text) == ("2019-06-30", "2019年6月底前")
    seed = SEEDS / t.source.split()[-1]
    if seed.is_file():
        text = seed.read_text(encoding="utf-8")
        for note in t.responsibility_notes:
            assert f"({note})" in text
        for task in t.tasks:
            assert task.deadline_text is None or task.deadline_text in text
