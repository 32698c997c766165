"""Drinking-water sources: per-source compliance and 达标率."""

from __future__ import annotations

import pytest

from qingshan.standards.drinking_water import (
    InvalidValueError,
    SourceType,
    UnknownItemError,
    compliance_rate,
    groundwater_source_compliance,
    supplementary_limits,
    surface_source_compliance,
)
from qingshan.standards.groundwater import NotDetected


def test_table_2_supplementary_limits() -> None:
    assert supplementary_limits() == {
        "so4": ("硫酸盐(以SO4²⁻计)", 250.0),
        "cl": ("氯化物(以Cl⁻计)", 250.0),
        "no3n": ("硝酸盐(以N计)", 10.0),
        "fe": ("铁", 0.3),
        "mn": ("锰", 0.1),
    }


def test_surface_source_mean_and_every() -> None:
    samples = [
        {"codmn": 5.0, "nh3n": 0.9, "fe": 0.2},
        {"codmn": 7.0, "nh3n": 0.5, "fe": 0.5},  # codmn Ⅳ and fe over 0.3 in this sample
    ]
    mean = surface_source_compliance(samples)  # means: codmn 6.0 (Ⅲ), nh3n 0.7, fe 0.35
    assert mean.complies is False and mean.failing_items == ("fe",)
    every = surface_source_compliance(samples, mode="every")
    assert every.complies is False and every.failing_items == ("codmn", "fe")
    ok = surface_source_compliance([{"codmn": 5.0, "tn": 3.0, "fc": 50000}])
    assert ok.complies is True  # TN and fecal coliform are not evaluated
    assert ok.source_type is SourceType.SURFACE


def test_surface_source_mean_boundary() -> None:
    # means: codmn 6.0 (Ⅲ limit, complies), fe 0.3 (Table 2 limit, complies)
    samples = [{"codmn": 5.0, "fe": 0.25}, {"codmn": 7.0, "fe": 0.35}]
    assert surface_source_compliance(samples).complies is True


def test_source_without_data_is_not_judged() -> None:
    result = surface_source_compliance([{"codmn": None}])
    assert result.complies is None
    with pytest.raises(UnknownItemError):
        surface_source_compliance([{"codcr": 1.0}])
    with pytest.raises(InvalidValueError):
        surface_source_compliance([{"fe": -1.0}])
    with pytest.raises(InvalidValueError):
        surface_source_compliance([{"fe": 0.1}], mode="max")


def test_groundwater_source() -> None:
    ok = groundwater_source_compliance([{"no3n": 18.0, "hg": NotDetected(), "odor": "无"}])
    assert ok.complies is True
    bad = groundwater_source_compliance([{"no3n": 18.0}, {"no3n": 22.0}])
    assert bad.complies is False and bad.failing_items == ("no3n",)
    assert groundwater_source_compliance([{"no3n": 18.0}, {"no3n": 22.0}], mode="mean").complies
    with pytest.raises(InvalidValueError, match="every"):
        groundwater_source_compliance([{"odor": "无"}], mode="mean")


def test_compliance_rate_by_count_and_volume() -> None:
    results = [
        surface_source_compliance([{"codmn": 3.0}]),
        surface_source_compliance([{"codmn": 8.0}]),
        groundwater_source_compliance([{"no3n": 5.0}]),
        surface_source_compliance([{"codmn": None}]),
    ]
    rate = compliance_rate(results, volumes=[100.0, 300.0, 100.0, 50.0])
    assert (rate.n_sources, rate.n_complying, rate.n_missing) == (4, 2, 1)
    assert rate.rate == pytest.approx(2 / 3)
    assert rate.volume_rate == pytest.approx(200 / 500)
    assert compliance_rate(results).volume_rate is None
    assert compliance_rate([]).rate is None
    with pytest.raises(InvalidValueError):
        compliance_rate(results, volumes=[1.0])
