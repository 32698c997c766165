import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qingshan.geo import (
    CoordinateError,
    gcj02_to_wgs84,
    haversine_m,
    point_in_polygons,
    point_in_ring,
    wgs84_to_gcj02,
)

china_lon = st.floats(min_value=73.7, max_value=134.7, allow_nan=False)
china_lat = st.floats(min_value=18.2, max_value=53.5, allow_nan=False)


@settings(max_examples=300, deadline=None)
@given(china_lon, china_lat)
def test_round_trip_within_one_metre(lon: float, lat: float) -> None:
    glon, glat = wgs84_to_gcj02(lon, lat)
    back = gcj02_to_wgs84(glon, glat)
    assert haversine_m(lon, lat, *back) < 1.0


@settings(max_examples=200, deadline=None)
@given(china_lon, china_lat)
def test_shift_is_a_few_hundred_metres_at_most(lon: float, lat: float) -> None:
    # GCJ-02 offsets are known to stay below roughly 700 m across China.
    d = haversine_m(lon, lat, *wgs84_to_gcj02(lon, lat))
    assert 0.0 < d < 1000.0


def test_known_shift_at_pingliang() -> None:
    # Measured at development time against AMap-derived outlines (data/SOURCES.md): near
    # 崆峒区 the GCJ-02 point lies ~400-500 m east and a few tens of metres south.
    lon, lat = 106.66, 35.545
    glon, glat = wgs84_to_gcj02(lon, lat)
    east = haversine_m(lon, lat, glon, lat)
    assert glon > lon and 350 < east < 550
    assert -0.0006 < glat - lat < 0.0


def test_outside_china_is_unchanged() -> None:
    assert wgs84_to_gcj02(2.35, 48.86) == (2.35, 48.86)
    assert gcj02_to_wgs84(-74.0, 40.7) == (-74.0, 40.7)


@pytest.mark.parametrize(("lon", "lat"), [(200.0, 10.0), (10.0, -91.0), (math.nan, 1.0)])
def test_bad_coordinates_are_rejected(lon: float, lat: float) -> None:
    with pytest.raises(CoordinateError):
        wgs84_to_gcj02(lon, lat)


def test_haversine_one_degree_of_latitude() -> None:
    assert haversine_m(0.0, 0.0, 0.0, 1.0) == pytest.approx(111195.0, rel=1e-4)


def test_point_in_polygon_with_hole() -> None:
    outer = ((0.0, 0.0), (10.0, 0.0), (10.0, 10.0), (0.0, 10.0), (0.0, 0.0))
    hole = ((4.0, 4.0), (6.0, 4.0), (6.0, 6.0), (4.0, 6.0), (4.0, 4.0))
    assert point_in_ring(1.0, 1.0, outer)
    assert not point_in_ring(11.0, 1.0, outer)
    assert point_in_polygons(1.0, 1.0, [[outer, hole]])
    assert not point_in_polygons(5.0, 5.0, [[outer, hole]])
    assert not point_in_polygons(5.0, 5.0, [])
