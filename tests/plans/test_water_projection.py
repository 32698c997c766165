"""Year-end projection of the surface-water shares (Ⅰ–Ⅲ ≥ t %, 劣Ⅴ ≤ t %): hand-computed cases
of :func:`qingshan.plans.status.section_share_projection` (pure, no database)."""

from __future__ import annotations

from fractions import Fraction

import pytest

from qingshan.plans.comparators import parse_target
from qingshan.plans.status import SectionClass, section_share_projection

I_III = "water.share_i_iii"
BAD = "water.share_worse_than_v"


def _sec(code: str, cls: int, **over: str) -> SectionClass:
    return SectionClass(code, cls, {k: Fraction(v) for k, v in over.items()})


def test_one_section_short_of_all_in_i_to_iii_is_at_risk_and_named() -> None:
    secs = [_sec("S1", 2), _sec("S2", 3), _sec("S3", 4, 氨氮="0.25", 总磷="0.125")]
    st = section_share_projection(I_III, secs, parse_target("100", "up"), final=False)
    assert st.status == "at_risk"
    p = st.projection
    assert p is not None
    # 2 of 3 → 66.666… → 66.7; the target needs ⌈100·3/100⌉ = 3, so 2 − 3 = −1
    assert (p["counted"], p["sections"], p["share_so_far"]) == (2, 3, "66.7")
    assert p["share_year_end"] == "66.7"
    assert (p["sections_needed"], p["sections_affordable"]) == (3, -1)
    assert p["sections_to_improve"] == [
        {"code": "S3", "class": "Ⅳ", "over_iii": {"总磷": "0.12", "氨氮": "0.25"}}
    ]
    assert "须再有1个断面达到或好于Ⅲ类" in st.reason
    assert "S3（Ⅳ类：总磷超Ⅲ类0.12倍、氨氮超Ⅲ类0.25倍）" in st.reason  # 0.125 → 0.12 half-even
    assert "推算" in p["basis"]


def test_a_floor_below_100_leaves_room() -> None:
    # ≥ 60 % of 3: ⌈1.8⌉ = 2 needed; 3 counted → 1 more section may fall below Ⅲ
    secs = [_sec("A", 1), _sec("B", 2), _sec("C", 3)]
    st = section_share_projection(I_III, secs, parse_target("60", "up"), final=False)
    assert st.status == "on_track"
    assert st.projection is not None
    assert (st.projection["sections_needed"], st.projection["sections_affordable"]) == (2, 1)
    assert st.projection["sections_to_improve"] == []
    assert "还可容许1个断面劣于Ⅲ类" in st.reason
    # exactly at the floor: 2 of 3 = 66.7 % ≥ 60 %, nothing to spare
    st0 = section_share_projection(
        I_III, [*secs[:2], _sec("C", 5, 化学需氧量="0.5")], parse_target("60", "up"), final=False
    )
    assert st0.status == "on_track" and st0.projection is not None
    assert st0.projection["sections_affordable"] == 0


def test_worse_than_v_ceiling() -> None:
    # ≤ 0 %: no 劣Ⅴ section allowed; one of two → 50.0 %, one must leave 劣Ⅴ
    secs = [_sec("A", 2), _sec("B", 6, 氨氮="2.1")]
    st = section_share_projection(BAD, secs, parse_target("0", "down"), final=False)
    assert st.status == "at_risk"
    p = st.projection
    assert p is not None
    assert (p["share_so_far"], p["sections_allowed"], p["sections_affordable"]) == ("50.0", 0, -1)
    assert "须再有1个断面脱离劣Ⅴ类" in st.reason and "B（劣Ⅴ类：氨氮超Ⅲ类2.10倍）" in st.reason
    # ≤ 10 % of 12 sections: ⌊1.2⌋ = 1 allowed; one 劣Ⅴ (8.3 %) → on track, 0 to spare
    twelve = [_sec(f"S{i}", 3) for i in range(11)] + [_sec("X", 6, 总磷="1")]
    st2 = section_share_projection(BAD, twelve, parse_target("10", "down"), final=False)
    assert st2.status == "on_track" and st2.projection is not None
    assert (st2.projection["share_so_far"], st2.projection["sections_affordable"]) == ("8.3", 0)


@pytest.mark.parametrize(
    ("classes", "expected"), [((1, 2, 3), "achieved"), ((1, 2, 4), "off_track")]
)
def test_a_complete_year_is_achieved_or_off_track(classes: tuple[int, ...], expected: str) -> None:
    secs = [_sec(f"S{i}", c) for i, c in enumerate(classes)]
    st = section_share_projection(I_III, secs, parse_target("100", "up"), final=True)
    assert st.status == expected
    assert st.reason.startswith("全年Ⅰ～Ⅲ类断面比例")


def test_without_a_numeric_floor_or_sections() -> None:
    secs = [_sec("A", 2)]
    assigned = section_share_projection(
        I_III, secs, parse_target("完成省市下达目标", "up"), final=False
    )
    assert assigned.status == "not_assessable" and assigned.projection is None
    none = section_share_projection(I_III, [], parse_target("100", "up"), final=False)
    assert none.status == "not_assessable" and "没有可评价的地表水断面" in none.reason
    with pytest.raises(ValueError):
        section_share_projection("air.pm10", secs, parse_target("100", "up"), final=False)
