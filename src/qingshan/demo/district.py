"""The sample district (示例区县) modelled on 甘肃省平凉市崆峒区, loaded from ``data/``.

``load_district()`` reads the vendored division codes, WGS-84 boundaries and the hand-written
site, enterprise, limit and plan-target tables, checks them (codes, MNs, passwords, limits,
coordinates inside the district) and returns typed, immutable dataclasses. It imports nothing
from storage: :mod:`qingshan.demo.loader` writes it into the database, and the live simulator
speaks for its devices.

All monitoring data generated for this district is simulated (模拟数据); see
``data/SOURCES.md`` for where the real parts (codes, boundaries, standard limits) come from.
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

from qingshan.geo import point_in_polygons

SIMULATED = "模拟数据"
MN_RE = re.compile(r"^[0-9A-F]{24}$")
PW_RE = re.compile(r"^[0-9A-Za-z]{6}$")
CONTROL_LEVELS = ("国控", "省控", "市控", "省市控", "区控")
WATER_CLASSES = ("Ⅰ", "Ⅱ", "Ⅲ", "Ⅳ", "Ⅴ")
NOISE_ZONES = ("0", "1", "2", "3", "4a", "4b")
GAS_AUX = ("a19001", "a00000", "a01011", "a01012", "a01013", "a01014")
WATER_AUX = ("w01001", "w00000")

Polygon = tuple[tuple[tuple[float, float], ...], ...]  # rings; outer first
MultiPolygon = tuple[Polygon, ...]


class DistrictDataError(ValueError):
    """The sample-district data files are missing, malformed or inconsistent."""


@dataclass(frozen=True, slots=True)
class Division:
    code: str  # GB/T 2260 (6 digits) or township (9 digits)
    name: str


@dataclass(frozen=True, slots=True)
class Township:
    code: str  # 9 digits
    code12: str  # 12-digit 统计用区划代码
    name: str
    kind: str  # 街道 / 镇 / 乡 / 类似乡级单位
    lon: float  # approximate seat, WGS-84
    lat: float


@dataclass(frozen=True, slots=True)
class Device:
    """An HJ 212 data logger: its MN (24 chars 0-9A-F) and 6-character access password."""

    mn: str
    password: str
    edition: str = "2017"  # HJ 212 edition the device speaks: 2005, 2017 or 2025


@dataclass(frozen=True, slots=True)
class WaterSection:
    id: str
    name: str
    note: str  # says that the monitoring data is simulated (模拟数据)
    river: str
    river_assumed: bool
    control_level: str
    target_class: str  # Ⅰ–Ⅴ, GB 3838-2002
    township: str
    lon: float
    lat: float
    device: Device


@dataclass(frozen=True, slots=True)
class WaterSource:
    id: str
    name: str
    note: str  # says that the monitoring data is simulated (模拟数据)
    level: str  # 城市 / 乡镇
    water_type: str  # 地表水 / 地下水
    township: str
    lon: float
    lat: float
    device: Device


@dataclass(frozen=True, slots=True)
class GroundwaterPoint:
    id: str
    name: str
    note: str  # says that the monitoring data is simulated (模拟数据)
    level: str
    township: str
    lon: float
    lat: float


@dataclass(frozen=True, slots=True)
class AirStation:
    id: str
    name: str
    note: str  # says that the monitoring data is simulated (模拟数据)
    kind: str  # 国控 or 微站
    township: str
    lon: float
    lat: float
    background: bool  # 对照点: excluded from the city mean
    name_is_real: bool
    device: Device


@dataclass(frozen=True, slots=True)
class NoiseStation:
    id: str
    name: str
    note: str  # says that the monitoring data is simulated (模拟数据)
    zone: str  # GB 3096-2008 functional zone class
    township: str
    lon: float
    lat: float
    device: Device


@dataclass(frozen=True, slots=True)
class LimitCategory:
    id: str
    standard: str
    table: str
    medium: str  # gas / water
    o2_ref: float | None  # 基准含氧量, %
    limits: Mapping[str, float]  # pollutant code → limit (mg/m³ or mg/L)
    ph_range: tuple[float, float] | None
    # The same numbers as the exact decimal text of the data file (what a permit records).
    limit_texts: Mapping[str, str]
    o2_ref_text: str | None
    ph_range_texts: tuple[str, str] | None


@dataclass(frozen=True, slots=True)
class PlanTarget:
    """A target of the district's plan (规划指标), with the place in the plan it comes from."""

    indicator: str  # e.g. good_day_ratio
    value: str  # exact decimal text
    unit: str
    comparison: str  # at_least / at_most
    year_from: int
    year_to: int | None
    source: str


@dataclass(frozen=True, slots=True)
class Pollutant:
    code: str
    name: str
    unit: str
    code_2005: str | None


@dataclass(frozen=True, slots=True)
class Outlet:
    code: str  # DA001 (gas) / DW001 (water), as in the discharge permit
    name: str
    medium: str
    category: LimitCategory
    pollutants: tuple[str, ...]
    device: Device

    def limit(self, pollutant: str) -> float | None:
        """The concentration limit for ``pollutant`` at this outlet, None if not limited."""
        return self.category.limits.get(pollutant)


@dataclass(frozen=True, slots=True)
class Enterprise:
    id: str
    name: str
    note: str  # says that the monitoring data is simulated (模拟数据)
    industry: str
    industry_code: str  # GB/T 4754-2017
    control_level: str
    on_air_platform: bool
    township: str
    lon: float
    lat: float
    outlets: tuple[Outlet, ...]


@dataclass(frozen=True, slots=True)
class District:
    code: str
    name: str
    city: Division
    province: Division
    counties: tuple[Division, ...]  # the city's county-level units, this district first
    townships: tuple[Township, ...]
    boundary: MultiPolygon  # WGS-84
    neighbour_boundaries: Mapping[str, MultiPolygon]  # county code → outline, WGS-84
    sections: tuple[WaterSection, ...]
    water_sources: tuple[WaterSource, ...]
    groundwater: tuple[GroundwaterPoint, ...]
    air_stations: tuple[AirStation, ...]
    micro_stations: tuple[AirStation, ...]
    noise_stations: tuple[NoiseStation, ...]
    enterprises: tuple[Enterprise, ...]
    pollutants: Mapping[str, Pollutant]
    simulated_notice: str
    targets: tuple[PlanTarget, ...]

    def contains(self, lon: float, lat: float) -> bool:
        """Whether a WGS-84 point lies inside the district boundary."""
        return point_in_polygons(lon, lat, self.boundary)

    def township(self, code: str) -> Township:
        for t in self.townships:
            if t.code == code:
                return t
        raise KeyError(f"no township {code!r} in {self.name}")

    def outlets(self) -> list[tuple[Enterprise, Outlet]]:
        return [(e, o) for e in self.enterprises for o in e.outlets]

    def devices(self) -> list[tuple[str, Device]]:
        """Every online device with a label (site id or enterprise id/outlet code)."""
        out: list[tuple[str, Device]] = []
        for s in (*self.air_stations, *self.micro_stations):
            out.append((s.id, s.device))
        out += [(s.id, s.device) for s in self.sections]
        out += [(s.id, s.device) for s in self.water_sources]
        out += [(s.id, s.device) for s in self.noise_stations]
        out += [(f"{e.id}/{o.code}", o.device) for e, o in self.outlets()]
        return out


# --------------------------------------------------------------------------- parsing helpers


def _req(item: Mapping[str, Any], key: str, where: str) -> Any:
    if key not in item:
        raise DistrictDataError(f"{where}: missing field {key!r}")
    return item[key]


def _str(item: Mapping[str, Any], key: str, where: str) -> str:
    v = _req(item, key, where)
    if not isinstance(v, str) or not v:
        raise DistrictDataError(f"{where}: field {key!r} must be a non-empty string, got {v!r}")
    return v


def _float(item: Mapping[str, Any], key: str, where: str) -> float:
    v = _req(item, key, where)
    if isinstance(v, bool) or not isinstance(v, int | float):
        raise DistrictDataError(f"{where}: field {key!r} must be a number, got {v!r}")
    return float(v)


def _bool(item: Mapping[str, Any], key: str, where: str) -> bool:
    v = _req(item, key, where)
    if not isinstance(v, bool):
        raise DistrictDataError(f"{where}: field {key!r} must be true/false, got {v!r}")
    return v


def _choice(item: Mapping[str, Any], key: str, where: str, allowed: tuple[str, ...]) -> str:
    v = _str(item, key, where)
    if v not in allowed:
        raise DistrictDataError(f"{where}: {key} {v!r} is not one of {', '.join(allowed)}")
    return v


EDITIONS = ("2005", "2017", "2025")


def _device(item: Mapping[str, Any], where: str) -> Device:
    mn = _str(item, "mn", where)
    if not MN_RE.match(mn):
        raise DistrictDataError(f"{where}: MN {mn!r} must be 24 characters 0-9A-F")
    pw = _str(item, "password", where)
    if not PW_RE.match(pw):
        raise DistrictDataError(f"{where}: password {pw!r} must be 6 letters or digits")
    edition = item.get("edition", "2017")
    if edition not in EDITIONS:
        raise DistrictDataError(f"{where}: edition {edition!r} is not one of {', '.join(EDITIONS)}")
    return Device(mn=mn, password=pw, edition=edition)


def _note(item: Mapping[str, Any], where: str) -> str:
    note = _str(item, "note", where)
    if SIMULATED not in note:
        raise DistrictDataError(f"{where}: note must say that the data is {SIMULATED}")
    return note


def _multipolygon(geom: Mapping[str, Any], where: str) -> MultiPolygon:
    kind = geom.get("type")
    coords: Any = geom.get("coordinates")
    if not isinstance(coords, list):
        raise DistrictDataError(f"{where}: geometry has no coordinate list")
    if kind == "Polygon":
        coords = [coords]
    elif kind != "MultiPolygon":
        raise DistrictDataError(f"{where}: geometry type {kind!r} is not (Multi)Polygon")
    try:
        return tuple(
            tuple(tuple((float(p[0]), float(p[1])) for p in ring) for ring in poly)
            for poly in coords
        )
    except (TypeError, ValueError, IndexError) as exc:
        raise DistrictDataError(f"{where}: malformed coordinates ({exc})") from exc


# --------------------------------------------------------------------------- loading


def _read(root: Traversable | Path, name: str) -> bytes:
    try:
        return root.joinpath(name).read_bytes()
    except FileNotFoundError as exc:
        raise DistrictDataError(f"sample-district data file {name!r} not found") from exc


def _toml(root: Traversable | Path, name: str, exact: bool = False) -> dict[str, Any]:
    """The TOML file ``name``; ``exact``: non-integer numbers as :class:`Decimal` (the
    digits as written) instead of binary floats."""
    try:
        return tomllib.loads(
            _read(root, name).decode("utf-8"), parse_float=Decimal if exact else float
        )
    except tomllib.TOMLDecodeError as exc:
        raise DistrictDataError(f"{name}: invalid TOML ({exc})") from exc


def _json(root: Traversable | Path, name: str) -> Any:
    try:
        return json.loads(_read(root, name).decode("utf-8"))
    except json.JSONDecodeError as exc:
        raise DistrictDataError(f"{name}: invalid JSON ({exc})") from exc


def _limits(raw: dict[str, Any]) -> dict[str, LimitCategory]:
    out: dict[str, LimitCategory] = {}
    for i, c in enumerate(raw.get("category", [])):
        where = f"emission_limits.toml category #{i + 1}"
        cid = _str(c, "id", where)
        limits = _req(c, "limits", where)
        if not isinstance(limits, dict) or not limits:
            raise DistrictDataError(f"{where}: 'limits' must be a non-empty table")
        vals: dict[str, float] = {}
        texts: dict[str, str] = {}
        for code, v in limits.items():
            if not _is_number(v) or v <= 0:
                raise DistrictDataError(f"{where}: limit of {code} must be a positive number")
            vals[code], texts[code] = float(v), str(v)
        ph = c.get("ph_range")
        ph_range: tuple[float, float] | None = None
        ph_texts: tuple[str, str] | None = None
        if ph is not None:
            if not (
                isinstance(ph, list) and len(ph) == 2 and all(map(_is_number, ph)) and ph[0] < ph[1]
            ):
                raise DistrictDataError(f"{where}: ph_range must be [low, high]")
            ph_range, ph_texts = (float(ph[0]), float(ph[1])), (str(ph[0]), str(ph[1]))
        o2 = c.get("o2_ref")
        if o2 is not None and not (_is_number(o2) and 0 <= o2 < 21):
            raise DistrictDataError(f"{where}: o2_ref must be a percentage below 21")
        out[cid] = LimitCategory(
            id=cid,
            standard=_str(c, "standard", where),
            table=_str(c, "table", where),
            medium=_choice(c, "medium", where, ("gas", "water")),
            o2_ref=None if o2 is None else float(o2),
            limits=vals,
            ph_range=ph_range,
            limit_texts=texts,
            o2_ref_text=None if o2 is None else str(o2),
            ph_range_texts=ph_texts,
        )
    return out


def _is_number(v: object) -> bool:
    return not isinstance(v, bool) and isinstance(v, int | Decimal)


TARGET_COMPARISONS = ("at_least", "at_most")


def _targets(raw: dict[str, Any]) -> tuple[PlanTarget, ...]:
    out = []
    for i, t in enumerate(raw.get("target", [])):
        where = f"targets.toml target #{i + 1}"
        value = _req(t, "value", where)
        if not _is_number(value):
            raise DistrictDataError(f"{where}: value must be a number")
        year_from = _req(t, "year_from", where)
        year_to = t.get("year_to")
        if not isinstance(year_from, int) or not (
            year_to is None or (isinstance(year_to, int) and year_to >= year_from)
        ):
            raise DistrictDataError(f"{where}: year_from / year_to must be years, from ≤ to")
        out.append(
            PlanTarget(
                indicator=_str(t, "indicator", where),
                value=str(value),
                unit=_str(t, "unit", where),
                comparison=_choice(t, "comparison", where, TARGET_COMPARISONS),
                year_from=year_from,
                year_to=year_to,
                source=_str(t, "source", where),
            )
        )
    return tuple(out)


def _pollutants(raw: dict[str, Any]) -> dict[str, Pollutant]:
    out: dict[str, Pollutant] = {}
    for code, p in raw.get("pollutant", {}).items():
        where = f"pollutants.toml {code}"
        if not re.match(r"^[aw]\d{5}$", code):
            raise DistrictDataError(f"{where}: not an HJ 212-2017 pollutant code")
        out[code] = Pollutant(
            code=code,
            name=_str(p, "name", where),
            unit=_str(p, "unit", where),
            code_2005=p.get("code_2005"),
        )
    return out


def load_district_from(root: Traversable | Path) -> District:
    """Load and check the sample district from the data folder ``root``.

    Raises :class:`DistrictDataError` naming the file, record and field at fault.
    """
    div = _json(root, "divisions.json")
    geo = _json(root, "boundaries.geojson")
    sites = _toml(root, "sites.toml")
    ents = _toml(root, "enterprises.toml")
    limits = _limits(_toml(root, "emission_limits.toml", exact=True))
    targets = _targets(_toml(root, "targets.toml", exact=True))
    pollutants = _pollutants(_toml(root, "pollutants.toml"))

    code = _str(div, "district", "divisions.json")
    if sites.get("district") != code:
        raise DistrictDataError(
            f"sites.toml is for district {sites.get('district')!r}, divisions.json for {code!r}"
        )
    counties = tuple(
        Division(_str(c, "code", "divisions.json county"), _str(c, "name", "divisions.json"))
        for c in _req(div, "counties", "divisions.json")
    )
    by_code = {c.code: c for c in counties}
    if code not in by_code:
        raise DistrictDataError(f"divisions.json: district {code} is not among the counties")
    for c in counties:
        if not re.match(r"^\d{6}$", c.code):
            raise DistrictDataError(f"divisions.json: county code {c.code!r} is not 6 digits")
    counties = (by_code[code], *(c for c in counties if c.code != code))
    province = Division(div["province"]["code"], div["province"]["name"])
    city = Division(div["city"]["code"], div["city"]["name"])
    if not (code.startswith(city.code[:4]) and city.code.startswith(province.code[:2])):
        raise DistrictDataError(f"divisions.json: {code} is not inside {city.code}/{province.code}")

    centres = sites.get("township_centre", {})
    townships: list[Township] = []
    for t in _req(div, "townships", "divisions.json"):
        tcode = _str(t, "code", "divisions.json township")
        where = f"divisions.json township {tcode}"
        if not (re.match(r"^\d{9}$", tcode) and tcode.startswith(code)):
            raise DistrictDataError(f"{where}: code must be 9 digits starting with {code}")
        if _str(t, "code12", where) != tcode + "000":
            raise DistrictDataError(f"{where}: code12 must be the 9-digit code + '000'")
        if tcode not in centres:
            raise DistrictDataError(f"sites.toml: no township_centre for {tcode}")
        townships.append(
            Township(
                code=tcode,
                code12=t["code12"],
                name=_str(t, "name", where),
                kind=_choice(t, "kind", where, ("街道", "镇", "乡", "类似乡级单位")),
                lon=_float(centres[tcode], "lon", f"sites.toml township_centre {tcode}"),
                lat=_float(centres[tcode], "lat", f"sites.toml township_centre {tcode}"),
            )
        )
    tcodes = {t.code for t in townships}

    shapes: dict[str, MultiPolygon] = {}
    for f in _req(geo, "features", "boundaries.geojson"):
        fcode = str(f.get("properties", {}).get("code", ""))
        shapes[fcode] = _multipolygon(f.get("geometry", {}), f"boundaries.geojson {fcode}")
    if code not in shapes:
        raise DistrictDataError(f"boundaries.geojson has no outline for district {code}")
    boundary = shapes.pop(code)

    def place(item: Mapping[str, Any], where: str) -> tuple[str, float, float]:
        town = _str(item, "township", where)
        if town not in tcodes:
            raise DistrictDataError(f"{where}: township {town!r} is not a township of {code}")
        lon, lat = _float(item, "lon", where), _float(item, "lat", where)
        if not point_in_polygons(lon, lat, boundary):
            raise DistrictDataError(f"{where}: ({lon}, {lat}) is outside the district boundary")
        return town, lon, lat

    sections = []
    for s in sites.get("section", []):
        where = f"sites.toml section {s.get('id')}"
        town, lon, lat = place(s, where)
        sections.append(
            WaterSection(
                id=_str(s, "id", where),
                name=_str(s, "name", where),
                note=_note(s, where),
                river=_str(s, "river", where),
                river_assumed=_bool(s, "river_assumed", where),
                control_level=_choice(s, "control_level", where, CONTROL_LEVELS),
                target_class=_choice(s, "target_class", where, WATER_CLASSES),
                township=town,
                lon=lon,
                lat=lat,
                device=_device(s, where),
            )
        )
    sources = []
    for s in sites.get("water_source", []):
        where = f"sites.toml water_source {s.get('id')}"
        town, lon, lat = place(s, where)
        sources.append(
            WaterSource(
                id=_str(s, "id", where),
                name=_str(s, "name", where),
                note=_note(s, where),
                level=_choice(s, "level", where, ("城市", "乡镇")),
                water_type=_choice(s, "water_type", where, ("地表水", "地下水")),
                township=town,
                lon=lon,
                lat=lat,
                device=_device(s, where),
            )
        )
    ground = []
    for s in sites.get("groundwater", []):
        where = f"sites.toml groundwater {s.get('id')}"
        town, lon, lat = place(s, where)
        ground.append(
            GroundwaterPoint(
                id=_str(s, "id", where),
                name=_str(s, "name", where),
                note=_note(s, where),
                level=_str(s, "level", where),
                township=town,
                lon=lon,
                lat=lat,
            )
        )

    def air(s: Mapping[str, Any], kind: str, where: str) -> AirStation:
        town, lon, lat = place(s, where)
        return AirStation(
            id=_str(s, "id", where),
            name=_str(s, "name", where),
            note=_note(s, where),
            kind=kind,
            township=town,
            lon=lon,
            lat=lat,
            background=bool(s.get("background", False)),
            name_is_real=bool(s.get("name_is_real", False)),
            device=_device(s, where),
        )

    stations = tuple(
        air(s, _choice(s, "kind", f"air_station {s.get('id')}", ("国控",)), f"air {s.get('id')}")
        for s in sites.get("air_station", [])
    )
    micro = tuple(air(s, "微站", f"micro {s.get('id')}") for s in sites.get("micro_station", []))
    noise = []
    for s in sites.get("noise_station", []):
        where = f"sites.toml noise_station {s.get('id')}"
        town, lon, lat = place(s, where)
        noise.append(
            NoiseStation(
                id=_str(s, "id", where),
                name=_str(s, "name", where),
                note=_note(s, where),
                zone=_choice(s, "zone", where, NOISE_ZONES),
                township=town,
                lon=lon,
                lat=lat,
                device=_device(s, where),
            )
        )

    enterprises = []
    for e in ents.get("enterprise", []):
        where = f"enterprises.toml {e.get('id')}"
        town, lon, lat = place(e, where)
        outlets = []
        for o in _req(e, "outlet", where):
            ow = f"{where} outlet {o.get('code')}"
            medium = _choice(o, "medium", ow, ("gas", "water"))
            cat_id = _str(o, "category", ow)
            if cat_id not in limits:
                raise DistrictDataError(f"{ow}: unknown limit category {cat_id!r}")
            cat = limits[cat_id]
            if cat.medium != medium:
                raise DistrictDataError(f"{ow}: category {cat_id} is for {cat.medium} outlets")
            polls = tuple(_req(o, "pollutants", ow))
            unknown = [p for p in polls if p not in pollutants]
            if unknown:
                raise DistrictDataError(f"{ow}: pollutant codes {unknown} not in pollutants.toml")
            missing = [p for p in cat.limits if p not in polls]
            if missing:
                raise DistrictDataError(f"{ow}: limited pollutants {missing} are not monitored")
            aux = GAS_AUX if medium == "gas" else WATER_AUX
            if any(a not in polls for a in aux):
                raise DistrictDataError(f"{ow}: must also monitor {', '.join(aux)}")
            device = _device(o, ow)
            if device.edition == "2005":
                no05 = [p for p in polls if pollutants[p].code_2005 is None]
                if no05:
                    raise DistrictDataError(f"{ow}: a 2005-edition device cannot send {no05}")
            code_re = r"^DA\d{3}$" if medium == "gas" else r"^DW\d{3}$"
            ocode = _str(o, "code", ow)
            if not re.match(code_re, ocode):
                raise DistrictDataError(f"{ow}: outlet code must match {code_re}")
            outlets.append(
                Outlet(
                    code=ocode,
                    name=_str(o, "name", ow),
                    medium=medium,
                    category=cat,
                    pollutants=polls,
                    device=device,
                )
            )
        enterprises.append(
            Enterprise(
                id=_str(e, "id", where),
                name=_str(e, "name", where),
                note=_note(e, where),
                industry=_str(e, "industry", where),
                industry_code=_str(e, "industry_code", where),
                control_level=_choice(e, "control_level", where, CONTROL_LEVELS),
                on_air_platform=_bool(e, "on_air_platform", where),
                township=town,
                lon=lon,
                lat=lat,
                outlets=tuple(outlets),
            )
        )

    district = District(
        code=code,
        name=by_code[code].name,
        city=city,
        province=province,
        counties=counties,
        townships=tuple(townships),
        boundary=boundary,
        neighbour_boundaries=shapes,
        sections=tuple(sections),
        water_sources=tuple(sources),
        groundwater=tuple(ground),
        air_stations=stations,
        micro_stations=micro,
        noise_stations=tuple(noise),
        enterprises=tuple(enterprises),
        pollutants=pollutants,
        simulated_notice=_str(sites, "simulated_notice", "sites.toml"),
        targets=targets,
    )
    _check_unique(district)
    return district


def _check_unique(d: District) -> None:
    seen: dict[str, str] = {}
    for label, dev in d.devices():
        if dev.mn in seen:
            raise DistrictDataError(f"MN {dev.mn} used by both {seen[dev.mn]} and {label}")
        seen[dev.mn] = label
    ids = [s.id for s in d.sections] + [s.id for s in d.water_sources]
    ids += [s.id for s in d.groundwater] + [s.id for s in d.air_stations]
    ids += [s.id for s in d.micro_stations] + [s.id for s in d.noise_stations]
    ids += [e.id for e in d.enterprises]
    dup = sorted({i for i in ids if ids.count(i) > 1})
    if dup:
        raise DistrictDataError(f"duplicate site ids: {', '.join(dup)}")


@cache
def load_district() -> District:
    """The sample district shipped with Qingshan (崆峒区 620802), checked and cached."""
    return load_district_from(resources.files("qingshan.demo").joinpath("data"))
