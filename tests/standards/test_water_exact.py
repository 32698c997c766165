"""Exact period means and limits: GB 3838 sections and drinking-water sources at every class
limit, GB/T 14848 Table 2 and the standard's worked example, emissions 折算 at the limit, and
GB 3096 nights (docs/standards/arithmetic.md)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qingshan.standards import drinking_water, emissions, groundwater, noise, water
from qingshan.standards.water import WaterbodyType, WaterClass

RIVER, LAKE = WaterbodyType.RIVER, WaterbodyType.LAKE
LIMITS = water.item_limits()


# ------------------------------------------------------------------------------ GB 3838


def test_issue_tp_mean_of_three_samples_is_class_iii() -> None:
    samples = [{"tp": 0.1}, {"tp": 0.2}, {"tp": 0.3}]  # mean exactly 0.2 = the Ⅲ limit
    section = water.section_assessment(samples)
    assert section.means["tp"] == Fraction(1, 5)
    assert section.water_class is WaterClass.III and section.exceed_iii == {}
    source = drinking_water.surface_source_compliance(samples)
    assert source.complies is True and source.failing_items == ()


def _cases() -> list[tuple[str, int, WaterbodyType]]:
    out = []
    for code, item in LIMITS.items():
        if item.kind == "range":
            continue
        for body in (RIVER, LAKE):
            if item.lakes_only and body is RIVER:
                continue
            for index in range(5):
                out.append((code, index, body))
    return out


def _class_of(section: water.SectionAssessment, code: str) -> WaterClass:
    a = section.assessment
    return {**a.item_classes, **a.reference_classes}[code]  # TN, fecal coliform: reference


def _step(limit: Decimal) -> Decimal:
    """A decimal step far below the limit's own precision, so limit ± step is on a grid."""
    exponent = limit.normalize().as_tuple().exponent
    assert isinstance(exponent, int)
    return Decimal(1).scaleb(min(exponent, 0) - 2)


@pytest.mark.parametrize(("code", "index", "body"), _cases())
def test_section_mean_at_each_class_limit(code: str, index: int, body: WaterbodyType) -> None:
    """Samples limit − d, limit + d, limit (as floats, the way devices' values arrive): the mean
    is exactly the limit, so the section is the best class with that limit; a mean a hair
    beyond it is the next class."""
    item = LIMITS[code]
    limit = item.limits_for(body)[index]
    d = _step(limit)
    at = [{code: float(limit - d)}, {code: float(limit + d)}, {code: float(limit)}]
    best = item.limits_for(body).index(limit) + 1
    assert _class_of(water.section_assessment(at, body), code) == WaterClass(best)
    beyond = limit + d if item.kind == "upper" else limit - d
    worse = [{code: float(limit)}, {code: float(limit)}, {code: float(beyond)}]  # limit ± d/3
    assert _class_of(water.section_assessment(worse, body), code) > WaterClass(best)
    if code in water.EVALUATED_ITEMS and index == 2 and body is RIVER and item.kind == "upper":
        # drinking-water sources: Class Ⅲ on the period mean, at and just over the limit
        assert drinking_water.surface_source_compliance(at).complies is True
        assert drinking_water.surface_source_compliance(worse).complies is False


@pytest.mark.parametrize("code", ["so4", "cl", "no3n", "fe", "mn"])
def test_drinking_water_table_2_means_at_the_limit(code: str) -> None:
    _name, limit = drinking_water.supplementary_limits_exact()[code]
    d = _step(limit)
    at = [{code: float(limit - d)}, {code: float(limit + d)}]
    over = [{code: float(limit)}, {code: float(limit + d)}]
    assert drinking_water.surface_source_compliance(at).complies is True
    assert drinking_water.surface_source_compliance(over).failing_items == (code,)


@settings(max_examples=200)
@given(
    st.sampled_from(["codmn", "nh3n", "tp", "cod", "do"]),
    st.lists(st.integers(0, 400), min_size=1, max_size=31),
    st.sampled_from([RIVER, LAKE]),
)
def test_section_class_equals_exact_mean_classified(
    code: str, hundredths: list[int], body: WaterbodyType
) -> None:
    """Tie-heavy samples on a 0.01 grid: the section's class is the class of the exact mean."""
    samples = [{code: i / 100} for i in hundredths]
    mean = Fraction(sum(hundredths), 100 * len(hundredths))
    got = water.section_assessment(samples, body)
    assert got.means[code] == mean
    assert got.assessment.item_classes[code] == water.item_class(code, mean, body)


def test_section_outputs_are_exact_and_publishable() -> None:
    # TP 0.305 over the Ⅲ limit 0.2 → multiple 0.525 exactly (published 0.52, rounded once).
    s = water.section_assessment([{"tp": 0.305}], target_class=WaterClass.II)
    assert s.exceed_iii["tp"] == Fraction(21, 40)
    assert water.exceedance_multiple("tp", 0.305) == Fraction(21, 40)
    shares = water.class_shares([WaterClass.I, WaterClass.II, WaterClass.III, WaterClass.IV])
    assert shares.share_good == Fraction(3, 4)
    assert water.status_from_shares(Fraction(3, 4), 0) == ("良好", "绿色")  # 75 % exactly


def test_text_and_non_finite_values_are_refused() -> None:
    for bad in ("0.2", float("nan"), float("inf"), Decimal("NaN"), True):
        with pytest.raises(water.InvalidValueError):
            water.classify_sample({"tp": bad})  # type: ignore[dict-item]
    assert water.classify_sample({"tp": Decimal("0.20")}).water_class is WaterClass.III


# ------------------------------------------------------------------------------ GB/T 14848


def test_groundwater_worked_example_of_6_3() -> None:
    """GB/T 14848-2017 6.3: 氯化物 400 mg/L and 四氯乙烯 350 μg/L are Class Ⅴ, the rest better →
    the sample is Class Ⅴ and its Ⅴ indicators are 氯化物 and 四氯乙烯."""
    sample = {"cl": 400, "pce": 350, "no3n": 5.0, "hardness": 200, "ph": 7.2}
    result = groundwater.classify(sample)
    assert result.water_class is groundwater.GroundwaterClass.V
    assert result.worst_items == ("cl", "pce")


def test_groundwater_table_2() -> None:
    table2 = {
        c: i for c, i in groundwater.indicator_limits(non_routine=True).items() if i.table == 2
    }
    assert len(table2) == 54 and [i.no for i in table2.values()] == list(range(1, 55))
    assert len(groundwater.indicator_limits()) == 39  # Table 1 by default
    for item in table2.values():
        assert item.kind == "upper" and len(item.limits) == 4
        assert list(item.limits) == sorted(item.limits), item.code
    pce = table2["pce"]
    assert (pce.name, pce.unit, pce.limits) == (
        "四氯乙烯",
        "μg/L",
        (Decimal("0.5"), Decimal("4.0"), Decimal("40.0"), Decimal("300")),
    )
    g = groundwater.GroundwaterClass
    assert groundwater.indicator_class("pce", 300) is g.IV  # on the Ⅳ limit
    assert groundwater.indicator_class("pce", 300.1) is g.V
    assert groundwater.indicator_class("bap", 0.002) is g.I  # Ⅰ = Ⅱ: 从优不从劣
    assert groundwater.indicator_class("tl", 0.0001) is g.I  # Ⅰ = Ⅱ = Ⅲ
    assert groundwater.exceedance_multiple("pce", 60) == Fraction(1, 2)


def test_groundwater_mean_at_the_limit() -> None:
    # nitrate 19.9, 20.1 → mean exactly 20.0 = the Ⅲ limit: a drinking-water source complies.
    samples = [{"no3n": 19.9}, {"no3n": 20.1}]
    assert drinking_water.groundwater_source_compliance(samples, mode="mean").complies is True
    assert drinking_water.groundwater_source_compliance(samples, mode="every").complies is False


# ------------------------------------------------------------------------------ emissions


def test_issue_conversion_exactly_at_the_limit_complies() -> None:
    converted = emissions.to_reference_o2(28.0, 9.8, "boiler-coal")
    assert converted == 30  # 28 × 12 / 11.2, exactly
    t = datetime(2025, 3, 1, 8)
    check = emissions.check_outlet({"PM": [(t, converted)]}, {"PM": 30})["PM"]
    assert check.complies is True and check.exceedances == ()
    over = emissions.to_reference_o2(Decimal("28.01"), 9.8, "boiler-coal")
    check = emissions.check_outlet({"PM": [(t, over)]}, {"PM": 30})["PM"]
    assert check.complies is False
    assert check.exceedances[0].multiple == Fraction(1, 2800)  # 0.0107 / 30 … exactly


@settings(max_examples=200)
@given(
    st.integers(0, 5000).map(lambda i: i / 10),
    st.integers(0, 209).map(lambda i: i / 10),
    st.sampled_from(["boiler-coal", "power-coal", "boiler-oil-gas", "brick-kiln"]),
)
def test_conversion_equals_the_exact_formula(c: float, o2: float, facility: str) -> None:
    ref = emissions.reference_o2(facility).o2_ref
    expected = Fraction(Decimal(repr(c))) * (21 - Fraction(ref)) / (21 - Fraction(repr(o2)))
    assert emissions.to_reference_o2(c, o2, facility) == expected


def test_rates_and_amounts_are_exact() -> None:
    rates = emissions.transmission_rates(expected=4, received=4, valid=3)
    assert rates.effective_transmission_rate == Fraction(3, 4) and rates.meets() is True
    assert emissions.emission_mass(0.1, 30) == Fraction(3, 10**6)
    assert emissions.total_from_cou([0.1, 0.2, None]).total == Fraction(3, 10)


# ------------------------------------------------------------------------------ GB 3096


@pytest.mark.parametrize(
    ("moment", "label", "period"),
    [
        (datetime(2025, 6, 1, 22), "start", noise.Period.NIGHT),  # 22:00–23:00 of D
        (datetime(2025, 6, 2, 5), "start", noise.Period.NIGHT),  # 05:00–06:00 of D+1: D's night
        (datetime(2025, 6, 1, 6), "start", noise.Period.DAY),
        (datetime(2025, 6, 1, 21), "start", noise.Period.DAY),
        (datetime(2025, 6, 2, 6), "end", noise.Period.NIGHT),  # ending 06:00 = 05:00–06:00
        (datetime(2025, 6, 1, 22), "end", noise.Period.DAY),  # ending 22:00 = 21:00–22:00
        (datetime(2025, 6, 2, 0), "end", noise.Period.NIGHT),  # ending 24:00 = 23:00–24:00
    ],
)
def test_night_of_day_d_runs_to_six_the_next_morning(
    moment: datetime, label: str, period: noise.Period
) -> None:
    got = noise.hour_period(moment, hour_label=label)  # type: ignore[arg-type]
    assert got == (date(2025, 6, 1), period)


def test_energy_mean_and_exact_limits() -> None:
    assert noise.energy_mean([55.45] * 8) == Decimal("55.4")  # equal levels: exact, half-even
    assert noise.energy_mean([50, 60]) == Decimal("57.4")  # 10·lg((10^5 + 10^6)/2) = 57.40
    point = noise.assess_point("1", ld=55.0, ln=45.0)  # both exactly at the limits
    assert point.day_complies is True and point.night_complies is True
    assert noise.assess_point("1", ln=45.05).night_excess == Fraction(1, 20)
    rates = noise.compliance_rates([("1", 55.0, 46.0), ("1", 56.0, 45.0), ("1", 55.0, 45.0)])
    assert rates.day_rate == Fraction(2, 3) and rates.night_rate == Fraction(2, 3)
