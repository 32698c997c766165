"""Pure checks of registry fields: 统一社会信用代码 (GB 32100-2015), region codes (GB/T 2260 and
the township codes of 统计用区划代码), GB/T 4754 industry codes, coordinates inside China.

No storage, no I/O: each function takes text or numbers and returns the normalised value or
raises :class:`FieldProblem` with a message in Chinese for the user.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

# GB 32100-2015 §4: the code's character set (no I O S V Z) and each character's value.
CREDIT_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_CREDIT_VALUE = {c: i for i, c in enumerate(CREDIT_CHARS)}
# weight of position i (1-based, i = 1..17) is 3^(i-1) mod 31
CREDIT_WEIGHTS = tuple(pow(3, i, 31) for i in range(17))

# China's extent (WGS-84 degrees), a little generous at each edge: west 73°29′ E (Pamirs),
# east 135°05′ E (Heilongjiang/Ussuri confluence), south 3°51′ N (曾母暗沙), north 53°33′ N
# (漠河).
CHINA_LON = (Decimal("73.4"), Decimal("135.1"))
CHINA_LAT = (Decimal("3.8"), Decimal("53.6"))

REGION_LEVELS = ("province", "city", "county", "township")
LEVEL_LABELS = {"province": "省级", "city": "地级", "county": "县级", "township": "乡级"}
_LEVEL_RANK = {lv: i for i, lv in enumerate(REGION_LEVELS)}
# digits of a code that identify a region of each level (its children start with them)
_PREFIX = {"province": 2, "city": 4, "county": 6, "township": 9}
_REGION_CODE = re.compile(r"^(\d{6}|\d{9}|\d{12})$")
# GB/T 4754-2017: a section letter (门类 A–T) and/or 2–4 digits (大类, 中类, 小类)
_INDUSTRY = re.compile(r"^([A-T](\d{2}|\d{3}|\d{4})?|\d{2}|\d{3}|\d{4})$")


class FieldProblem(ValueError):
    """A field value that breaks a rule; the message is for the user (Chinese)."""


# --------------------------------------------------------------------------- credit code


def credit_check_char(first17: str) -> str:
    """The GB 32100-2015 check character (position 18) of the first 17 characters."""
    total = sum(_CREDIT_VALUE[c] * w for c, w in zip(first17, CREDIT_WEIGHTS, strict=True))
    return CREDIT_CHARS[(31 - total % 31) % 31]


def check_credit_code(text: str) -> str:
    """A valid 统一社会信用代码 (upper-cased, spaces removed), or :class:`FieldProblem`."""
    code = "".join(text.split()).upper()
    if len(code) != 18:
        raise FieldProblem(f"统一社会信用代码 {text!r} 应为 18 位，实为 {len(code)} 位")
    bad = sorted({c for c in code if c not in _CREDIT_VALUE})
    if bad:
        raise FieldProblem(
            f"统一社会信用代码 {code} 含有不允许的字符 {''.join(bad)}"
            "（GB 32100-2015 只用数字和除 I、O、S、V、Z 以外的大写字母）"
        )
    if not code[2:8].isdigit():
        raise FieldProblem(f"统一社会信用代码 {code} 第 3–8 位应为登记管理机关行政区划码（数字）")
    expected = credit_check_char(code[:17])
    if code[17] != expected:
        raise FieldProblem(
            f"统一社会信用代码 {code} 校验码错误：第 18 位应为 {expected}（GB 32100-2015），"
            "请核对是否录入有误"
        )
    return code


# --------------------------------------------------------------------------- regions


def region_level(code: str) -> str:
    """The level a region code denotes: XX0000 province, XXXX00 city, other 6-digit codes
    county, 9- or 12-digit codes township (统计用区划代码)."""
    if not _REGION_CODE.match(code):
        raise FieldProblem(
            f"区划代码 {code!r} 应为 6 位（GB/T 2260）或 9/12 位（乡级，统计用区划代码）数字"
        )
    if len(code) > 6:
        return "township"
    if code.endswith("0000"):
        return "province"
    if code.endswith("00"):
        return "city"
    return "county"


def check_region(code: str, level: str | None = None) -> tuple[str, str]:
    """(code, level): the level given must fit the code's length; default from the code."""
    code = code.strip()
    inferred = region_level(code)
    if level is None or level == "":
        return code, inferred
    if level not in REGION_LEVELS:
        raise FieldProblem(f"级别 {level!r} 不是 province / city / county / township 之一")
    if (level == "township") != (inferred == "township"):
        raise FieldProblem(
            f"区划代码 {code} 与级别 {LEVEL_LABELS[level]}不符：乡级为 9/12 位，其他为 6 位"
        )
    return code, level


def check_parent(code: str, level: str, parent_code: str, parent_level: str) -> None:
    """A parent is of a higher level and its code is the start of the child's code."""
    if _LEVEL_RANK[parent_level] >= _LEVEL_RANK[level]:
        raise FieldProblem(
            f"上级区划 {parent_code}（{LEVEL_LABELS[parent_level]}）"
            f"不高于 {code}（{LEVEL_LABELS[level]}）"
        )
    n = _PREFIX[parent_level]
    if code[:n] != parent_code[:n]:
        raise FieldProblem(f"区划代码 {code} 不在上级区划 {parent_code} 之下（前 {n} 位应相同）")


# --------------------------------------------------------------------------- others


def check_industry_code(text: str) -> str:
    """A GB/T 4754-2017 code: section letter and/or 2–4 digits (C3011, 3011, C30, C)."""
    code = text.strip().upper()
    if not _INDUSTRY.match(code):
        raise FieldProblem(
            f"行业代码 {text!r} 不是 GB/T 4754-2017 代码（门类字母和/或 2–4 位数字，如 C3011）"
        )
    return code


def coordinate(text: str | int | float | Decimal, what: str) -> Decimal:
    """A decimal degree value (given as text or a number)."""
    if isinstance(text, float):
        text = repr(text)  # the shortest text that reads back to the same float
    try:
        d = Decimal(text) if not isinstance(text, Decimal) else text
    except (InvalidOperation, ValueError):
        raise FieldProblem(f"{what} {text!r} 不是十进制度数") from None
    if not d.is_finite():
        raise FieldProblem(f"{what} {text!r} 不是有限的数")
    return d


def check_in_china(lon: Decimal, lat: Decimal) -> tuple[Decimal, Decimal]:
    """WGS-84 degrees inside China's extent; (longitude, latitude) rounded to 6 decimals (the
    column's precision, about 0.1 m)."""
    lo_lon, hi_lon = CHINA_LON
    lo_lat, hi_lat = CHINA_LAT
    if not (lo_lon <= lon <= hi_lon and lo_lat <= lat <= hi_lat):
        hint = ""
        if lo_lon <= lat <= hi_lon and lo_lat <= lon <= hi_lat:
            hint = "；经度和纬度似乎填反了"
        raise FieldProblem(
            f"坐标（经度 {lon}，纬度 {lat}）不在中国境内（经度 {lo_lon}–{hi_lon}，"
            f"纬度 {lo_lat}–{hi_lat}，WGS-84 十进制度）{hint}"
        )
    q = Decimal("0.000001")
    return lon.quantize(q), lat.quantize(q)


# --------------------------------------------------------------------------- outlines

_WGS84_CRS = ("EPSG:4326", "urn:ogc:def:crs:OGC:1.3:CRS84", "urn:ogc:def:crs:EPSG::4326")


def check_crs(doc: object) -> None:
    """A GeoJSON document's legacy ``crs`` member, if any, must name WGS-84: RFC 7946 §4 has
    only WGS-84 longitude/latitude, and an old file in a projected system (EPSG:3857, a
    Gauss-Krüger zone) would place the outline far off."""
    if not isinstance(doc, dict) or "crs" not in doc:
        return
    crs = doc["crs"]
    name = crs.get("properties", {}).get("name") if isinstance(crs, dict) else None
    if not isinstance(name, str) or name.strip() not in _WGS84_CRS:
        raise FieldProblem(
            f"坐标系应为 WGS-84（EPSG:4326），文件声明的是 {name or crs!r}："
            "请先转换为 WGS-84 经纬度"
        )


def _ring_positions(geometry: dict[str, object]) -> list[object]:
    kind = geometry.get("type")
    coords = geometry.get("coordinates")
    if kind not in ("Polygon", "MultiPolygon"):
        raise FieldProblem(f"边界的几何类型应为 Polygon 或 MultiPolygon（面），而不是 {kind!r}")
    polygons = [coords] if kind == "Polygon" else coords
    if not isinstance(polygons, list) or not polygons:
        raise FieldProblem("边界没有坐标（coordinates 为空）")
    out: list[object] = []
    for poly in polygons:
        if not isinstance(poly, list) or not poly:
            raise FieldProblem("边界的每个面须是非空的环列表")
        for ring in poly:
            if not isinstance(ring, list) or len(ring) < 4:
                raise FieldProblem("边界的每个环至少有 4 个坐标点（首尾相同）")
            out.extend(ring)
    return out


def check_outline(geometry: dict[str, object]) -> None:
    """A region outline: a GeoJSON Polygon or MultiPolygon whose every position is a WGS-84
    (longitude, latitude) inside China's extent (:data:`CHINA_LON`, :data:`CHINA_LAT`).
    Projected metres (values in the hundreds of thousands) are pointed out as such."""
    for i, pos in enumerate(_ring_positions(geometry), start=1):
        if (
            not isinstance(pos, list)
            or len(pos) < 2
            or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in pos[:2])
        ):
            raise FieldProblem(f"边界第 {i} 个坐标点不是 [经度, 纬度] 数对")
        lon, lat = Decimal(str(pos[0])), Decimal(str(pos[1]))
        if abs(lon) > 180 or abs(lat) > 90:
            raise FieldProblem(
                f"边界第 {i} 个坐标点（{pos[0]}, {pos[1]}）不是经纬度：似为投影坐标（米），"
                "请转换为 WGS-84 经纬度"
            )
        try:
            check_in_china(lon, lat)
        except FieldProblem as exc:
            raise FieldProblem(f"边界第 {i} 个坐标点：{exc}") from None
