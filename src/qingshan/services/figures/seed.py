"""Load the demo district (qingshan.demo) into a database for figures, tests and benchmarks.

Writes regions, sites and devices, then simulated hourly observations through the storage
layer's bulk path (:func:`qingshan.services.ingest.upsert_observations` and
:func:`~qingshan.services.ingest.mark_dirty`, exactly what ingestion does), so the roll-up and
figure dirty marks are set as live data would set them. All data written is 模拟数据.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np
from sqlalchemy import Engine, select

from qingshan.demo.district import District
from qingshan.demo.synth import SynthResult
from qingshan.services.ingest import dirty_marks, mark_dirty, upsert_observations
from qingshan.services.registry import utcnow
from qingshan.storage import partitions
from qingshan.storage.db import session_scope
from qingshan.storage.models import Device, Region, Resolution, Site, SiteKind


@dataclass(frozen=True, slots=True)
class Seeded:
    sites: dict[str, int]  # demo id → site id
    devices: dict[str, int]  # MN → device id


def _st(kind: str) -> str:
    return {"air": "22", "water": "32", "noise": "23"}[kind]


def register_district(engine: Engine, d: District) -> Seeded:
    """Regions (province, city, county, townships), sites and devices of the demo district.

    Air 对照点 are stored with control level ``国控（对照点）`` and micro-stations ``微站``: the
    figures keep both out of the official evaluation.
    """
    now = utcnow()
    with session_scope(engine) as s:
        have = set(s.scalars(select(Region.code)))
        for code, name, level, parent in (
            (d.province.code, d.province.name, "province", None),
            (d.city.code, d.city.name, "city", d.province.code),
            (d.code, d.name, "county", d.city.code),
        ):
            if code not in have:
                s.add(Region(code=code, name=name, level=level, parent_code=parent))
                s.flush()
        for t in d.townships:
            if t.code not in have:
                s.add(Region(code=t.code, name=t.name, level="township", parent_code=d.code))
        s.flush()
        rows: list[tuple[str, Site, str, str, str]] = []
        for a in (*d.air_stations, *d.micro_stations):
            lvl = "微站" if a.kind == "微站" else ("国控（对照点）" if a.background else a.kind)
            rows.append((a.id, Site(code=a.id, name=a.name, kind=SiteKind.AIR_STATION,
                                    region_code=a.township, control_level=lvl,
                                    longitude=a.lon, latitude=a.lat),
                         a.device.mn, a.device.password, "air"))
        for w in d.sections:
            rows.append((w.id, Site(code=w.id, name=w.name, kind=SiteKind.SURFACE_WATER,
                                    region_code=w.township, control_level=w.control_level,
                                    water_body="river", water_body_name=w.river,
                                    target_class=w.target_class, longitude=w.lon,
                                    latitude=w.lat),
                         w.device.mn, w.device.password, "water"))
        for ws in d.water_sources:
            rows.append((ws.id, Site(code=ws.id, name=ws.name, kind=SiteKind.DRINKING_WATER,
                                     region_code=ws.township, source_level=ws.level,
                                     source_type="groundwater" if ws.water_type == "地下水"
                                     else "surface", water_body="river",
                                     longitude=ws.lon, latitude=ws.lat),
                         ws.device.mn, ws.device.password, "water"))
        for n in d.noise_stations:
            rows.append((n.id, Site(code=n.id, name=n.name, kind=SiteKind.NOISE,
                                    region_code=n.township, noise_zone=n.zone,
                                    longitude=n.lon, latitude=n.lat),
                         n.device.mn, n.device.password, "noise"))
        for g in d.groundwater:
            s.add(Site(code=g.id, name=g.name, kind=SiteKind.GROUNDWATER,
                       region_code=g.township, longitude=g.lon, latitude=g.lat))
        site_ids: dict[str, int] = {}
        dev_ids: dict[str, int] = {}
        for sid, site, mn, pw, kind in rows:
            s.add(site)
            s.flush()
            site_ids[sid] = site.id
            dev = Device(mn=mn, pw=pw, st=_st(kind), site_id=site.id, created_at=now)
            s.add(dev)
            s.flush()
            dev_ids[mn] = dev.id
    return Seeded(site_ids, dev_ids)


def observation_rows(result: SynthResult, seeded: Seeded,
                     site_ids: Iterable[str] | None = None) -> list[dict[str, object]]:
    """HOUR-resolution observation rows of the generated series (values as decimal text)."""
    wanted = None if site_ids is None else set(site_ids)
    rows: list[dict[str, object]] = []
    for s in result.series:
        if (wanted is not None and s.site_id not in wanted) or s.mn not in seeded.devices:
            continue
        dev = seeded.devices[s.mn]
        idx = np.flatnonzero(~np.isnan(s.value))
        times = s.time[idx].astype("datetime64[s]").astype(datetime)
        for k, i in enumerate(idx.tolist()):
            rows.append({
                "device_id": dev, "resolution": int(Resolution.HOUR), "data_time": times[k],
                "code": s.pollutant,
                "value": np.format_float_positional(float(s.value[i]), trim="-"),
                "vmin": None, "vmax": None, "cou": None, "zs": None,
                "flag": str(s.flag[i]) or "N", "derived": False, "samples": None,
            })
    return rows


def write_observations(engine: Engine, rows: Sequence[dict[str, object]],
                       batch: int = 20000) -> None:
    """Store rows through the ingestion path: upsert, then roll-up and figure dirty marks."""
    months = {partitions.month_of(r["data_time"]) for r in rows}  # type: ignore[arg-type]
    partitions.ensure_months(engine, months)
    for i in range(0, len(rows), batch):
        chunk = list(rows[i:i + batch])
        with engine.begin() as conn:
            upsert_observations(conn, chunk, derived=False)
            mark_dirty(conn, dirty_marks(chunk))
