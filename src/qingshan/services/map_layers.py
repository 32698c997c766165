"""The deployment's map reference layers: rivers (河流), roads (道路) and place names (地名),
stored in the database (``map_feature``) so the map has bearings without any tile service.

A deployment loads its own layers from GeoJSON files (``qingshan map import``); the demo loads
its schematic ones the same way. Geometries are checked on the way in: GeoJSON (RFC 7946),
WGS-84 longitude/latitude, every position inside China's extent (a file in a projected
system or with swapped axes is refused, not drawn in the sea); rivers are lines or water
areas (polygons), roads lines, place names points with a name.

An import either replaces the layer of its kind (the default: re-importing a corrected file
leaves no duplicates) or appends to it. Nothing is half-imported: the file is checked whole
before any row is written.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from qingshan.clock import utcnow
from qingshan.roles import Principal
from qingshan.services import audit
from qingshan.services.deployment import DeploymentError, check_geometry
from qingshan.services.errors import ServiceError
from qingshan.storage.models_registry import MAP_LAYER_KINDS, MapFeature

KIND_LABELS = {"river": "河流", "road": "道路", "place": "地名"}
GEOMETRY_TYPES: dict[str, tuple[str, ...]] = {
    "river": ("LineString", "MultiLineString", "Polygon", "MultiPolygon"),
    "road": ("LineString", "MultiLineString"),
    "place": ("Point",),
}
# China's extent in WGS-84 (mainland, islands and the South China Sea islands), degrees:
# a coarse box that catches projected coordinates, swapped axes and another country's data.
CHINA_LON = (73.0, 135.5)
CHINA_LAT = (3.0, 54.0)
MAX_FEATURES = 20_000  # per file: a county's layers are hundreds; more is a wrong file
MAX_POSITIONS = 500_000  # per file, so one import cannot fill the database or the browser
NAME_LENGTH = 100

assert set(KIND_LABELS) == set(MAP_LAYER_KINDS)


class MapLayerError(ServiceError):
    """A layer file that cannot be imported as given (the message says where and why)."""


@dataclass(frozen=True, slots=True)
class LayerFeature:
    """One checked feature, ready to store."""

    kind: str
    name: str | None
    geometry: dict[str, Any]
    rank: int | None


@dataclass(frozen=True, slots=True)
class ImportReport:
    kind: str
    added: int
    removed: int  # rows of the kind replaced (0 when appending)
    total: int  # rows of the kind afterwards


def _position(p: Any, where: str) -> int:
    if not (isinstance(p, list) and len(p) in (2, 3)):
        raise MapLayerError(f"{where}：坐标应为 [经度, 纬度]，实为 {str(p)[:40]}")
    for v in p:
        if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
            raise MapLayerError(f"{where}：坐标 {v!r} 不是有限数值")
    lon, lat = p[0], p[1]
    if not (CHINA_LON[0] <= lon <= CHINA_LON[1] and CHINA_LAT[0] <= lat <= CHINA_LAT[1]):
        raise MapLayerError(
            f"{where}：({lon}, {lat}) 不在中国范围内；应为 WGS-84 经纬度（经度在前），"
            "投影坐标或经纬度颠倒的文件须先转换"
        )
    return 1


def _line(coords: Any, where: str) -> int:
    if not isinstance(coords, list) or len(coords) < 2:
        raise MapLayerError(f"{where}：线至少有 2 个坐标点")
    return sum(_position(p, where) for p in coords)


def _positions(geom: Mapping[str, Any], where: str) -> int:
    """Check the geometry's positions; returns how many it has."""
    kind, coords = geom.get("type"), geom.get("coordinates")
    if kind == "Point":
        return _position(coords, where)
    if kind == "LineString":
        return _line(coords, where)
    if kind == "MultiLineString":
        if not isinstance(coords, list) or not coords:
            raise MapLayerError(f"{where}：MultiLineString 不能为空")
        return sum(_line(c, f"{where} 第{i + 1}条线") for i, c in enumerate(coords))
    # polygons: the ring rules are the boundaries' (closed rings of ≥ 4 positions)
    try:
        check_geometry(geom, where)
    except DeploymentError as e:
        raise MapLayerError(str(e)) from None
    polys: list[Any] = list(coords or []) if kind == "MultiPolygon" else [coords]
    n = 0
    for poly in polys:
        for ring in poly:
            for p in ring:
                n += _position(p, where)
    return n


def _rank(v: Any, where: str) -> int | None:
    if v is None or v == "":
        return None
    try:
        r = int(v)
    except (TypeError, ValueError):
        raise MapLayerError(f"{where}：等级（rank）{v!r} 不是整数") from None
    if not -32768 <= r <= 32767:
        raise MapLayerError(f"{where}：等级（rank）{r} 超出范围")
    return r


def parse_features(
    data: Any, kind: str, *, name_field: str = "name", rank_field: str = "rank"
) -> list[LayerFeature]:
    """The features of a GeoJSON FeatureCollection (or one Feature) checked as layer ``kind``.
    Raises :class:`MapLayerError` naming the first feature that is wrong."""
    if kind not in GEOMETRY_TYPES:
        raise MapLayerError(f"未知的图层类型 {kind!r}；可选 {', '.join(GEOMETRY_TYPES)}")
    if isinstance(data, Mapping) and data.get("type") == "Feature":
        data = {"type": "FeatureCollection", "features": [data]}
    if not isinstance(data, Mapping) or data.get("type") != "FeatureCollection":
        raise MapLayerError("文件不是 GeoJSON FeatureCollection")
    crs = data.get("crs")
    if isinstance(crs, Mapping):
        crs_name = str((crs.get("properties") or {}).get("name", ""))
        if crs_name and not crs_name.endswith(("CRS84", "4326", "4490")):
            raise MapLayerError(f"坐标系 {crs_name} 不是 WGS-84 经纬度（EPSG:4326）；请先转换")
    raw = data.get("features")
    if not isinstance(raw, list) or not raw:
        raise MapLayerError("文件中没有要素（features 为空）")
    if len(raw) > MAX_FEATURES:
        raise MapLayerError(f"要素过多：{len(raw)} 个（上限 {MAX_FEATURES}）")
    allowed = GEOMETRY_TYPES[kind]
    out: list[LayerFeature] = []
    positions = 0
    for i, f in enumerate(raw):
        where = f"第{i + 1}个要素"
        if not isinstance(f, Mapping) or f.get("type") != "Feature":
            raise MapLayerError(f"{where}：不是 GeoJSON Feature")
        props = f.get("properties") or {}
        if not isinstance(props, Mapping):
            raise MapLayerError(f"{where}：properties 不是对象")
        raw_name = props.get(name_field)
        name = str(raw_name).strip() if raw_name not in (None, "") else None
        if name:
            where = f"{where}（{name}）"
        geom = f.get("geometry")
        if not isinstance(geom, Mapping):
            raise MapLayerError(f"{where}：没有几何（geometry）")
        if geom.get("type") not in allowed:
            raise MapLayerError(
                f"{where}：{KIND_LABELS[kind]}图层的几何应为 {'/'.join(allowed)}，"
                f"实为 {geom.get('type')}"
            )
        positions += _positions(geom, where)
        if positions > MAX_POSITIONS:
            raise MapLayerError(f"坐标点过多（上限 {MAX_POSITIONS}）：请先简化几何")
        if kind == "place" and not name:
            raise MapLayerError(f"{where}：地名要素须有名称（属性 {name_field}）")
        if name and len(name) > NAME_LENGTH:
            raise MapLayerError(f"{where}：名称超过 {NAME_LENGTH} 个字符")
        out.append(
            LayerFeature(
                kind=kind,
                name=name,
                geometry={"type": geom["type"], "coordinates": geom["coordinates"]},
                rank=_rank(props.get(rank_field), where),
            )
        )
    return out


def load_file_text(text: str) -> Any:
    """JSON of a layer file, with a clear error for what is not JSON."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise MapLayerError(
            f"文件不是有效的 JSON（第{e.lineno}行第{e.colno}列）：{e.msg}"
        ) from None


def _delete(s: Session, kind: str) -> int:
    result = s.execute(delete(MapFeature).where(MapFeature.kind == kind))
    return int(getattr(result, "rowcount", 0) or 0)


def import_features(
    s: Session,
    actor: Principal,
    features: Sequence[LayerFeature],
    kind: str,
    *,
    append: bool = False,
    source: str | None = None,
) -> ImportReport:
    """Store checked features as layer ``kind``: replacing the layer (default) or appending;
    audited (who loaded which file, how many features)."""
    if kind not in GEOMETRY_TYPES:
        raise MapLayerError(f"未知的图层类型 {kind!r}；可选 {', '.join(GEOMETRY_TYPES)}")
    if any(f.kind != kind for f in features):
        raise MapLayerError("要素的图层类型与导入的类型不一致")
    removed = 0
    if not append:
        removed = _delete(s, kind)
    now = utcnow()
    s.add_all(
        MapFeature(
            kind=kind,
            name=f.name,
            geometry=json.dumps(f.geometry, ensure_ascii=False, separators=(",", ":")),
            rank=f.rank,
            source=source,
            updated_at=now,
        )
        for f in features
    )
    s.flush()
    total = s.scalar(select(func.count()).select_from(MapFeature).where(MapFeature.kind == kind))
    report = ImportReport(kind, len(features), removed, int(total or 0))
    audit.record(
        s,
        actor,
        action="map_layer_import",
        entity="map_layer",
        entity_id=kind,
        before={"features": int(total or 0) - len(features) + removed},
        after={"features": report.total, "append": append, "source": source},
    )
    return report


def clear(s: Session, actor: Principal, kind: str) -> int:
    """Remove layer ``kind`` (audited); returns how many features it had."""
    if kind not in GEOMETRY_TYPES:
        raise MapLayerError(f"未知的图层类型 {kind!r}；可选 {', '.join(GEOMETRY_TYPES)}")
    n = _delete(s, kind)
    audit.record(
        s,
        actor,
        action="map_layer_clear",
        entity="map_layer",
        entity_id=kind,
        before={"features": n},
        after={"features": 0},
    )
    return n


def version(s: Session) -> str:
    """A short digest that changes whenever a layer is imported or cleared (one cheap query)."""
    row = s.execute(
        select(func.count(), func.max(MapFeature.id), func.max(MapFeature.updated_at))
    ).one()
    return hashlib.blake2b("|".join(map(str, row)).encode(), digest_size=8).hexdigest()


def summary(s: Session) -> dict[str, int]:
    """Feature count per layer kind (kinds with none left out)."""
    return {
        k: int(n)
        for k, n in s.execute(
            select(MapFeature.kind, func.count())
            .group_by(MapFeature.kind)
            .order_by(MapFeature.kind)
        )
    }


def layers(s: Session, kinds: Iterable[str] | None = None) -> dict[str, Any]:
    """Every stored feature as one GeoJSON FeatureCollection (WGS-84), rivers, then roads,
    then places, each by rank (larger first) and name; ``properties``: kind, its label, name,
    rank."""
    q = select(MapFeature)
    if kinds is not None:
        q = q.where(MapFeature.kind.in_(list(kinds)))
    order = {k: i for i, k in enumerate(MAP_LAYER_KINDS)}
    rows = sorted(
        s.scalars(q),
        key=lambda r: (order.get(r.kind, 9), -(r.rank or 0), r.name or "", r.id),
    )
    return {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "id": r.id,
                "geometry": json.loads(r.geometry),
                "properties": {
                    "kind": r.kind,
                    "kind_label": KIND_LABELS.get(r.kind, r.kind),
                    "name": r.name,
                    "rank": r.rank,
                },
            }
            for r in rows
        ],
    }
