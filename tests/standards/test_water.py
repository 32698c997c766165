"""GB 3838-2002 single-factor classes and the 2011 evaluation method."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qingshan.standards.water import (
    EVALUATED_ITEMS,
    InvalidValueError,
    UnknownItemError,
    WaterbodyType,
    WaterClass,
    basin_assessment,
    class_shares,
    classify_sample,
    exceedance_multiple,
    item_class,
    item_limits,
    main_pollutants,
    section_assessment,
    status_from_shares,
)

LIMITS = item_limits()
RIVER, LAKE = WaterbodyType.RIVER, WaterbodyType.LAKE
UPPER = [c for c, i in LIMITS.items() if i.kind == "upper" and not i.lakes_only]
COUNTED_UPPER = [c for c in UPPER if LIMITS[c].evaluated]


def test_the_21_evaluated_items() -> None:
    assert len(EVALUATED_ITEMS) == 21
    assert "tn" not in EVALUATED_ITEMS and "fc" not in EVALUATED_ITEMS
    assert set(LIMITS) == set(EVALUATED_ITEMS) | {"tn", "fc"}


@pytest.mark.parametrize(
    ("code", "value", "body", "expected"),
    [
        ("codmn", 4.0, RIVER, WaterClass.II),  # equal to the Class Ⅱ limit
        ("codmn", 4.01, RIVER, WaterClass.III),
        ("codmn", 15.0, RIVER, WaterClass.V),
        ("codmn", 15.01, RIVER, WaterClass.WORSE_THAN_V),
        ("cod", 15.0, RIVER, WaterClass.I),  # Ⅰ and Ⅱ share 15: 从优不从劣
        ("nh3n", 0.15, RIVER, WaterClass.I),
        ("nh3n", 0.151, RIVER, WaterClass.II),
        ("tp", 0.1, RIVER, WaterClass.II),
        ("tp", 0.1, LAKE, WaterClass.IV),
        ("tp", 0.025, LAKE, WaterClass.II),
        ("tn", 1.0, LAKE, WaterClass.III),
        ("do", 7.5, RIVER, WaterClass.I),
        ("do", 7.49, RIVER, WaterClass.II),
        ("do", 2.0, RIVER, WaterClass.V),
        ("do", 1.99, RIVER, WaterClass.WORSE_THAN_V),
        ("ph", 6.0, RIVER, WaterClass.I),
        ("ph", 9.0, RIVER, WaterClass.I),
        ("ph", 5.99, RIVER, WaterClass.WORSE_THAN_V),
        ("ph", 9.01, LAKE, WaterClass.WORSE_THAN_V),
        ("hg", 0.00005, RIVER, WaterClass.I),
        ("hg", 0.0001, RIVER, WaterClass.III),
        ("fc", 10000, RIVER, WaterClass.III),
    ],
)
def test_item_class_boundaries(
    code: str, value: float, body: WaterbodyType, expected: WaterClass
) -> None:
    assert item_class(code, value, body) is expected


@given(st.sampled_from(UPPER), st.integers(0, 4), st.sampled_from([RIVER, LAKE]))
def test_value_equal_to_a_limit_is_at_least_that_class(
    code: str, index: int, body: WaterbodyType
) -> None:
    limit = LIMITS[code].limits_for(body)[index]
    got = item_class(code, limit, body)
    assert got <= WaterClass(index + 1)
    # and not better than the best class sharing that limit
    best = LIMITS[code].limits_for(body).index(limit) + 1
    assert got == WaterClass(best)


@settings(max_examples=200)
@given(
    st.sampled_from([*UPPER, "do"]),
    st.floats(0, 100, allow_nan=False),
    st.floats(0, 100, allow_nan=False),
    st.sampled_from([RIVER, LAKE]),
)
def test_class_never_improves_as_pollution_increases(
    code: str, a: float, b: float, body: WaterbodyType
) -> None:
    low, high = sorted((a, b))
    if code == "do":  # less oxygen is more pollution
        assert item_class("do", high, body) <= item_class("do", low, body)
    else:
        assert item_class(code, low, body) <= item_class(code, high, body)


@given(st.floats(0, 14, allow_nan=False))
def test_ph_is_a_range_common_to_all_classes(value: float) -> None:
    expected = WaterClass.I if 6 <= value <= 9 else WaterClass.WORSE_THAN_V
    assert item_class("ph", value) is expected


@settings(max_examples=100)
@given(
    st.dictionaries(
        st.sampled_from(COUNTED_UPPER),
        st.floats(0, 50, allow_nan=False),
        min_size=1,
        max_size=8,
    ),
    st.data(),
)
def test_sample_class_never_improves_when_one_item_worsens(
    values: dict[str, float], data: st.DataObject
) -> None:
    code = data.draw(st.sampled_from(sorted(values)))
    bump = data.draw(st.floats(0, 50, allow_nan=False))
    worse = dict(values, **{code: values[code] + bump})
    before = classify_sample(values).water_class
    after = classify_sample(worse).water_class
    assert before is not None and after is not None and after >= before


def test_sample_class_is_the_worst_item_and_lists_failing_items() -> None:
    result = classify_sample({"ph": 7.2, "do": 6.5, "codmn": 7.0, "nh3n": 2.5, "tp": None})
    assert result.water_class is WaterClass.WORSE_THAN_V
    assert result.item_classes == {
        "ph": WaterClass.I,
        "do": WaterClass.II,
        "codmn": WaterClass.IV,
        "nh3n": WaterClass.WORSE_THAN_V,
    }
    assert result.failing_items == ("codmn", "nh3n")
    assert result.worst_items == ("nh3n",)
    assert "tp" in result.missing
    assert result.status == "重度污染" and result.colour == "红色"


@pytest.mark.parametrize(
    ("cls", "status"),
    [
        (WaterClass.I, "优"),
        (WaterClass.II, "优"),
        (WaterClass.III, "良好"),
        (WaterClass.IV, "轻度污染"),
        (WaterClass.V, "中度污染"),
        (WaterClass.WORSE_THAN_V, "重度污染"),
    ],
)
def test_status_words(cls: WaterClass, status: str) -> None:
    assert cls.status == status


def test_class_names_round_trip() -> None:
    for cls in WaterClass:
        assert WaterClass.parse(cls.roman) is cls
        assert WaterClass.parse(cls.code) is cls
        assert WaterClass.parse(str(cls.value)) is cls
    assert WaterClass.parse("劣Ⅴ类") is WaterClass.WORSE_THAN_V
    with pytest.raises(InvalidValueError):
        WaterClass.parse("Ⅶ")


def test_tn_is_a_lake_reference_item_unless_included() -> None:
    values = {"codmn": 3.0, "tn": 1.8}
    assert classify_sample(values, LAKE).water_class is WaterClass.II
    assert classify_sample(values, LAKE).reference_classes == {"tn": WaterClass.V}
    assert classify_sample(values, LAKE, include_tn=True).water_class is WaterClass.V
    # rivers: no TN limit, never classed, even when asked
    river = classify_sample(values, RIVER, include_tn=True)
    assert river.water_class is WaterClass.II and "tn" not in river.reference_classes
    with pytest.raises(InvalidValueError, match="lakes"):
        item_class("tn", 1.0, RIVER)


def test_fecal_coliform_is_reported_but_not_counted() -> None:
    result = classify_sample({"codmn": 3.0, "fc": 50000})
    assert result.water_class is WaterClass.II
    assert result.reference_classes == {"fc": WaterClass.WORSE_THAN_V}


def test_no_value_means_no_class_not_class_one() -> None:
    result = classify_sample({"codmn": None, "do": None})
    assert result.water_class is None and result.status is None
    assert len(result.missing) == 21


@pytest.mark.parametrize("bad", [-0.1, float("nan"), float("inf"), "1.0", True])
def test_bad_values_are_refused(bad: object) -> None:
    with pytest.raises(InvalidValueError):
        classify_sample({"codmn": bad})  # type: ignore[dict-item]


def test_bad_item_waterbody_and_ph_are_refused() -> None:
    with pytest.raises(UnknownItemError, match="codcr"):
        classify_sample({"codcr": 10.0})
    with pytest.raises(InvalidValueError, match="waterbody"):
        classify_sample({"cod": 10.0}, "sea")
    with pytest.raises(InvalidValueError, match="pH"):
        item_class("ph", 15.0)


def test_exceedance_multiples() -> None:
    assert exceedance_multiple("codmn", 9.0) == pytest.approx(0.5)
    assert exceedance_multiple("codmn", 5.0) == 0.0
    assert exceedance_multiple("tp", 0.1, LAKE) == pytest.approx(1.0)
    assert exceedance_multiple("codmn", 6.0, against=WaterClass.II) == pytest.approx(0.5)
    assert exceedance_multiple("do", 1.0) is None
    assert exceedance_multiple("ph", 10.0) is None
    with pytest.raises(InvalidValueError):
        exceedance_multiple("codmn", 9.0, against=WaterClass.WORSE_THAN_V)


def test_main_pollutants_order() -> None:
    values = {
        "codmn": 12.0,  # Ⅴ, 1.0×
        "cod": 35.0,  # Ⅴ, 0.75×
        "nh3n": 3.0,  # 劣Ⅴ, 2.0×
        "tp": 0.35,  # Ⅴ, 0.75×
        "bod5": 5.0,  # Ⅳ
        "do": 2.5,  # Ⅴ, no multiple
    }
    got = main_pollutants(values)
    assert [p.code for p in got] == ["nh3n", "codmn", "cod"]
    assert got[0].multiple == pytest.approx(2.0)
    # an exceeding heavy metal or cyanide comes first
    got = main_pollutants({**values, "pb": 0.06})
    assert [p.code for p in got] == ["pb", "nh3n", "codmn"]
    assert main_pollutants({"codmn": 5.0, "do": 5.5}) == ()


def test_section_over_a_period_uses_means_and_target() -> None:
    samples = [
        {"codmn": 4.0, "nh3n": 0.8, "do": 7.0},
        {"codmn": 8.0, "nh3n": None, "do": 5.0},
        {"codmn": 6.0, "nh3n": 1.4, "do": None},
    ]
    result = section_assessment(samples, target_class=WaterClass.II)
    assert result.means == pytest.approx({"codmn": 6.0, "nh3n": 1.1, "do": 6.0})
    assert result.sample_counts == {"codmn": 3, "nh3n": 2, "do": 2}
    assert result.water_class is WaterClass.IV  # nh3n 1.1 → Ⅳ
    assert result.exceed_iii == pytest.approx({"nh3n": 0.1})
    assert result.exceed_target == pytest.approx({"codmn": 0.5, "nh3n": 1.2})
    assert result.meets_target is False
    assert [p.code for p in result.main_pollutants] == ["nh3n"]
    assert result.status == "轻度污染"


def test_class_shares() -> None:
    shares = class_shares(
        [WaterClass.I, WaterClass.III, WaterClass.IV, WaterClass.WORSE_THAN_V, None]
    )
    assert shares.n_classed == 4 and shares.n_missing == 1
    assert shares.share_good == pytest.approx(0.5)
    assert shares.share_worse_than_v == pytest.approx(0.25)
    assert class_shares([None]).share_good is None


@pytest.mark.parametrize(
    ("good", "worse", "status"),
    [
        (0.90, 0.0, "优"),
        (0.8999, 0.0, "良好"),
        (0.75, 0.25, "良好"),
        (0.7499, 0.1999, "轻度污染"),
        (0.70, 0.20, "中度污染"),
        (0.50, 0.3999, "中度污染"),
        (0.50, 0.40, "重度污染"),
        (0.60, 0.40, "重度污染"),  # the documented edge case (see the data file)
        (0.0, 1.0, "重度污染"),
    ],
)
def test_basin_status_thresholds(good: float, worse: float, status: str) -> None:
    assert status_from_shares(good, worse)[0] == status


def test_basin_status_rejects_impossible_shares() -> None:
    with pytest.raises(InvalidValueError):
        status_from_shares(0.8, 0.3)
    with pytest.raises(InvalidValueError):
        status_from_shares(1.2, 0.0)


def test_basin_with_few_sections_uses_mean_concentrations() -> None:
    sections = [{"codmn": 3.0, "nh3n": 0.4}, {"codmn": 9.0, "nh3n": 0.6}]
    result = basin_assessment(sections)
    assert result.method == "mean"
    assert result.water_class is WaterClass.III  # codmn mean 6.0
    assert result.status == "良好"
    assert result.section_classes == (WaterClass.II, WaterClass.IV)


def test_basin_with_five_or_more_sections_uses_shares() -> None:
    sections = [{"codmn": 3.0}] * 3 + [{"codmn": 9.0}, {"codmn": 20.0}]
    result = basin_assessment(sections)
    assert result.method == "shares"
    assert result.shares is not None and result.shares.share_good == pytest.approx(0.6)
    assert result.status == "中度污染"  # Ⅰ–Ⅲ 60 % < 75 %, 劣Ⅴ 20 %
    with pytest.raises(InvalidValueError):
        basin_assessment([])


def test_standard_versions() -> None:
    from datetime import date

    from qingshan.standards.versions import UnknownVersionError

    assert classify_sample({"cod": 16.0}, standard="auto", when=date(2024, 5, 1)).water_class
    with pytest.raises(UnknownVersionError):
        classify_sample({"cod": 16.0}, standard="GB3838-1988")
    with pytest.raises(UnknownVersionError):
        classify_sample({"cod": 16.0}, standard="auto", when=date(2001, 1, 1))


def test_published_exceedance_multiples_guangdong_2016() -> None:
    """广东省2016年第二季度重点河流水质状况 (swhqglq.gov.cn/swhqglq/zdly/hjbh/szhj/content/
    post_434417.html), Table 1 (April 2016): section 西湖村 (龙岗河), target Ⅲ, class 劣Ⅴ,
    主要超标项目 "氨氮/1.3、总磷/0.6、化学需氧量/0.2". The concentrations are not published;
    we rebuild them from the multiples (C = S_Ⅲ × (1 + m)), so this checks the class, the
    ranking and the multiple formula, not the raw data."""
    values = {"nh3n": 1.0 * 2.3, "tp": 0.2 * 1.6, "cod": 20.0 * 1.2}
    result = section_assessment([values], target_class=WaterClass.III)
    assert result.water_class is WaterClass.WORSE_THAN_V
    assert result.meets_target is False
    got = [(p.name, round(p.multiple or 0.0, 1)) for p in result.main_pollutants]
    assert got == [("氨氮", 1.3), ("总磷", 0.6), ("化学需氧量", 0.2)]


def test_lake_with_many_points_uses_the_mean_of_its_points() -> None:
    points = [{"tp": 0.02}] * 4 + [{"tp": 0.07}, {"tp": 0.06}]  # mean 0.035 → lake Ⅲ
    result = basin_assessment(points, LAKE)
    assert result.method == "mean" and result.water_class is WaterClass.III
