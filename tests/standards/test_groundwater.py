"""GB/T 14848-2017 groundwater classes (Table 1, section 6)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from qingshan.standards.groundwater import (
    GroundwaterClass,
    InvalidValueError,
    NotDetected,
    UnknownItemError,
    classify,
    exceedance_multiple,
    indicator_class,
    indicator_limits,
)

LIMITS = indicator_limits()
UPPER = [c for c, i in LIMITS.items() if i.kind == "upper"]
G = GroundwaterClass


def test_table_has_the_39_conventional_indicators() -> None:
    assert len(LIMITS) == 39
    assert [i.no for i in LIMITS.values()] == list(range(1, 40))
    for item in LIMITS.values():
        if item.kind == "upper":
            assert len(item.limits) == 4
            assert list(item.limits) == sorted(item.limits), item.code


@pytest.mark.parametrize(
    ("code", "value", "expected"),
    [
        ("vp", 0.001, G.I),  # the standard's own 从优不从劣 example
        ("vp", 0.0011, G.III),
        ("hardness", 450, G.III),
        ("hardness", 650, G.IV),
        ("hardness", 650.1, G.V),
        ("tds", 1000, G.III),
        ("no3n", 20.0, G.III),
        ("no3n", 30.01, G.V),
        ("nh3n", 0.5, G.III),
        ("as", 0.01, G.III),
        ("as", 0.0011, G.III),
        ("pb", 0.005, G.I),
        ("f", 1.0, G.I),
        ("f", 1.5, G.IV),
        ("chcl3", 60, G.III),
        ("alpha", 0.5, G.III),
        ("alpha", 50.0, G.IV),  # radioactivity never reaches Ⅴ
        ("beta", 1.0, G.II),
        ("las", 0.0, G.I),
        ("las", 0.05, G.II),
        ("ph", 6.5, G.I),
        ("ph", 8.5, G.I),
        ("ph", 8.51, G.IV),
        ("ph", 5.5, G.IV),
        ("ph", 9.0, G.IV),
        ("ph", 5.49, G.V),
        ("ph", 9.01, G.V),
        ("odor", "无", G.I),
        ("odor", "有", G.V),
        ("visible", True, G.V),
    ],
)
def test_indicator_boundaries(code: str, value: object, expected: GroundwaterClass) -> None:
    assert indicator_class(code, value) is expected  # type: ignore[arg-type]


@given(st.sampled_from(UPPER), st.floats(0, 1e4), st.floats(0, 1e4))
def test_class_never_improves_with_concentration(code: str, a: float, b: float) -> None:
    low, high = sorted((a, b))
    assert indicator_class(code, low) <= indicator_class(code, high)


def test_non_detects() -> None:
    assert indicator_class("hg", NotDetected()) is G.I
    assert indicator_class("hg", NotDetected(0.00004)) is G.I
    assert indicator_class("cd", NotDetected(0.0005)) is G.II  # no worse than Ⅱ
    assert indicator_class("las", NotDetected(0.05)) is G.I


def test_overall_class_is_the_worst_indicator() -> None:
    result = classify({"hardness": 480, "no3n": 4.0, "fe": 0.25, "ph": 7.6, "mn": None})
    assert result.water_class is G.IV
    assert result.worst_items == ("hardness",)
    assert result.exceeding_iii == ("hardness",)
    assert result.item_classes["no3n"] is G.II
    assert classify({"fe": None}).water_class is None


def test_bad_input() -> None:
    with pytest.raises(UnknownItemError, match="nitrate"):
        classify({"nitrate": 1.0})
    with pytest.raises(InvalidValueError, match="negative"):
        indicator_class("fe", -0.1)
    with pytest.raises(InvalidValueError):
        indicator_class("fe", "0.1")  # type: ignore[arg-type]
    with pytest.raises(InvalidValueError, match="无"):
        indicator_class("odor", "slight")
    with pytest.raises(InvalidValueError):
        indicator_class("odor", 1.0)
    with pytest.raises(InvalidValueError, match="pH"):
        indicator_class("ph", 20.0)
    with pytest.raises(InvalidValueError):
        indicator_class("hg", NotDetected(-1.0))


def test_exceedance_multiples() -> None:
    assert exceedance_multiple("no3n", 30.0) == pytest.approx(0.5)
    assert exceedance_multiple("no3n", 10.0) == 0.0
    assert exceedance_multiple("hardness", 975, against=G.IV) == pytest.approx(0.5)
    assert exceedance_multiple("ph", 9.5) is None
    assert exceedance_multiple("alpha", 1.0, against=G.IV) is None
    assert exceedance_multiple("las", 0.2, against=G.I) is None


def test_class_shares_of_points() -> None:
    from qingshan.standards.groundwater import class_shares

    shares = class_shares([G.I, G.III, G.IV, G.V, None])
    assert shares.n_classed == 4 and shares.n_missing == 1
    assert shares.share_i_iii == pytest.approx(0.5)
    assert shares.share_i_iv == pytest.approx(0.75)
    assert shares.share_v == pytest.approx(0.25)
    assert class_shares([]).share_v is None
