"""Coordinates: WGS-84 ⇄ GCJ-02 conversion, distances, point-in-polygon.

Qingshan stores every coordinate in **WGS-84** (EPSG:4326, what GNSS receivers, 天地图 and
CGCS2000-based official maps use; CGCS2000 and WGS-84 differ by centimetres). Web maps from
Chinese vendors (高德/AMap, 腾讯) draw in **GCJ-02**, the obfuscated datum required by the
national surveying rules; a site plotted on such a map must be shifted first, and a site picked
on one must be shifted back.

GCJ-02 (public reverse-engineered formula, e.g. the "eviltransform" write-ups): with
λ, φ the WGS-84 longitude and latitude in degrees, x = λ − 105, y = φ − 35,

    Δφ' = −100 + 2x + 3y + 0.2y² + 0.1xy + 0.2√|x|
          + (20 sin 6πx + 20 sin 2πx)·2/3 + (20 sin πy + 40 sin(πy/3))·2/3
          + (160 sin(πy/12) + 320 sin(πy/30))·2/3
    Δλ' = 300 + x + 2y + 0.1x² + 0.1xy + 0.1√|x|
          + (20 sin 6πx + 20 sin 2πx)·2/3 + (20 sin πx + 40 sin(πx/3))·2/3
          + (150 sin(πx/12) + 300 sin(πx/30))·2/3

in metres-like units, turned into degrees on the Krasovsky 1940 ellipsoid (a = 6 378 245 m,
e² = 0.006 693 421 622 965 943 23): with W = 1 − e² sin² φ,

    Δφ = Δφ'·180 / (π · a(1 − e²) / W^{3/2}),   Δλ = Δλ'·180 / (π · a / √W · cos φ).

The shift applies inside China only (outside the rough national bounding box the point is
returned unchanged). GCJ-02 → WGS-84 has no closed form; :func:`gcj02_to_wgs84` inverts the
forward map by fixed-point iteration until the residual is below 1e-9° (≈ 0.1 mm).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

_A = 6378245.0  # Krasovsky 1940 semi-major axis, metres
_EE = 0.00669342162296594323  # Krasovsky 1940 first eccentricity squared
_EARTH_R = 6371008.8  # mean Earth radius (IUGG), metres, for haversine distances

Ring = Sequence[tuple[float, float]]


class CoordinateError(ValueError):
    """A longitude/latitude outside the valid range, or not a finite number."""


def _check(lon: float, lat: float) -> None:
    if not (math.isfinite(lon) and math.isfinite(lat)):
        raise CoordinateError(f"coordinate must be finite, got lon={lon!r}, lat={lat!r}")
    if not -180.0 <= lon <= 180.0:
        raise CoordinateError(f"longitude {lon} outside [-180, 180]")
    if not -90.0 <= lat <= 90.0:
        raise CoordinateError(f"latitude {lat} outside [-90, 90]")


def in_china_box(lon: float, lat: float) -> bool:
    """Whether the point is inside the rough bounding box where GCJ-02 offsets apply
    (72.004–137.8347 °E, 0.8293–55.8271 °N, the box the public implementations use)."""
    return 72.004 <= lon <= 137.8347 and 0.8293 <= lat <= 55.8271


def _delta(lon: float, lat: float) -> tuple[float, float]:
    x, y = lon - 105.0, lat - 35.0
    pi = math.pi
    common = (20.0 * math.sin(6.0 * x * pi) + 20.0 * math.sin(2.0 * x * pi)) * 2.0 / 3.0
    dlat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * math.sqrt(abs(x))
    dlat += common
    dlat += (20.0 * math.sin(y * pi) + 40.0 * math.sin(y / 3.0 * pi)) * 2.0 / 3.0
    dlat += (160.0 * math.sin(y / 12.0 * pi) + 320.0 * math.sin(y * pi / 30.0)) * 2.0 / 3.0
    dlon = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * math.sqrt(abs(x))
    dlon += common
    dlon += (20.0 * math.sin(x * pi) + 40.0 * math.sin(x / 3.0 * pi)) * 2.0 / 3.0
    dlon += (150.0 * math.sin(x / 12.0 * pi) + 300.0 * math.sin(x / 30.0 * pi)) * 2.0 / 3.0
    rad = lat / 180.0 * pi
    w = 1.0 - _EE * math.sin(rad) ** 2
    sw = math.sqrt(w)
    dlat = dlat * 180.0 / ((_A * (1.0 - _EE)) / (w * sw) * pi)
    dlon = dlon * 180.0 / (_A / sw * math.cos(rad) * pi)
    return dlon, dlat


def wgs84_to_gcj02(lon: float, lat: float) -> tuple[float, float]:
    """WGS-84 → GCJ-02 (formula in the module docstring). Returns (lon, lat) in degrees."""
    _check(lon, lat)
    if not in_china_box(lon, lat):
        return lon, lat
    dlon, dlat = _delta(lon, lat)
    return lon + dlon, lat + dlat


def gcj02_to_wgs84(lon: float, lat: float) -> tuple[float, float]:
    """GCJ-02 → WGS-84 by fixed-point iteration of the forward transform.

    Start from w = g (the GCJ point) and repeat w ← w − (F(w) − g) until |F(w) − g| < 1e-9°;
    the offsets vary slowly (a few hundred metres over degrees), so this converges in a
    handful of steps.
    """
    _check(lon, lat)
    if not in_china_box(lon, lat):
        return lon, lat
    wlon, wlat = lon, lat
    for _ in range(30):
        glon, glat = wgs84_to_gcj02(wlon, wlat)
        elon, elat = glon - lon, glat - lat
        wlon, wlat = wlon - elon, wlat - elat
        if abs(elon) < 1e-9 and abs(elat) < 1e-9:
            break
    return wlon, wlat


def haversine_m(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Great-circle distance in metres on a sphere of the IUGG mean radius (6 371 008.8 m):
    d = 2R·asin √(sin²(Δφ/2) + cos φ1 cos φ2 sin²(Δλ/2))."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2.0) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2.0) ** 2
    return 2.0 * _EARTH_R * math.asin(min(1.0, math.sqrt(h)))


def point_in_ring(lon: float, lat: float, ring: Ring) -> bool:
    """Even-odd ray casting (a horizontal ray towards +lon) against one closed ring."""
    inside = False
    n = len(ring)
    for i in range(n):
        x1, y1 = ring[i]
        x2, y2 = ring[(i + 1) % n]
        if (y1 > lat) != (y2 > lat) and lon < x1 + (lat - y1) * (x2 - x1) / (y2 - y1):
            inside = not inside
    return inside


def point_in_polygons(lon: float, lat: float, polygons: Sequence[Sequence[Ring]]) -> bool:
    """Whether (lon, lat) lies in a GeoJSON-style multipolygon: a list of polygons, each a
    list of rings (outer ring first, holes after). Inside = in an outer ring and in none of
    its holes."""
    for rings in polygons:
        if (
            rings
            and point_in_ring(lon, lat, rings[0])
            and not any(point_in_ring(lon, lat, hole) for hole in rings[1:])
        ):
            return True
    return False
