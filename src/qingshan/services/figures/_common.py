"""Shared helpers: code maps, regions, sites, dirty marks, JSON."""

from __future__ import annotations

import json
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from fractions import Fraction
from functools import cache
from importlib import resources
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from qingshan.standards.rounding import round_half_even
from qingshan.storage.models import Device, Region, Site, SiteKind

WATER_KINDS = (SiteKind.SURFACE_WATER, SiteKind.DRINKING_WATER, SiteKind.GROUNDWATER)


class FiguresError(ValueError):
    """A figures request that cannot be answered (unknown region, bad month, no data …)."""


@cache
def config() -> dict[str, Any]:
    raw = resources.files("qingshan.services").joinpath("data/figures.toml").read_bytes()
    return tomllib.loads(raw.decode("utf-8"))


def air_codes() -> dict[str, str]:
    return dict(config()["air"])


_ENCODER = json.JSONEncoder(ensure_ascii=False, sort_keys=True, default=str, separators=(",", ":"))


def dumps(obj: Any) -> str:
    """Compact, key-sorted JSON (stable text for the same figures)."""
    return _ENCODER.encode(obj)


def loads(text: str | None) -> Any:
    return json.loads(text) if text else None


def percent(share: Fraction | None) -> float | None:
    """An exact share (0–1) as a percentage rounded once, half-even, to 0.1 (GB/T 8170)."""
    return None if share is None else float(round_half_even(100 * share, 1))


MICRO = "微站"
BACKGROUND = "对照"


@dataclass(frozen=True, slots=True)
class SiteInfo:
    id: int
    code: str
    name: str
    kind: str
    region_code: str | None
    control_level: str | None
    target_class: str | None
    source_type: str | None
    noise_zone: str | None
    water_body: str | None
    devices: tuple[int, ...]

    @property
    def air_kind(self) -> str:
        """``micro`` for micro-stations, ``background`` for 对照点, else ``national`` …"""
        lvl = self.control_level or ""
        if MICRO in lvl:
            return "micro"
        if BACKGROUND in lvl:
            return "background"
        return {"国控": "national", "省控": "provincial", "市控": "city"}.get(
            lvl.split("(")[0].split("（")[0], "national"
        )

    @property
    def evaluation(self) -> bool:
        """Counts in a region's official evaluation (HJ 663: no micro-stations, no 对照点)."""
        return self.kind == SiteKind.AIR_STATION and self.air_kind not in ("micro", "background")


def sites(session: Session, kinds: Iterable[str] | None = None) -> list[SiteInfo]:
    q = select(Site)
    if kinds is not None:
        q = q.where(Site.kind.in_(list(kinds)))
    rows = list(session.scalars(q.order_by(Site.code)))
    devs: dict[int, list[int]] = {}
    for did, sid in session.execute(select(Device.id, Device.site_id)):
        if sid is not None:
            devs.setdefault(sid, []).append(did)
    return [
        SiteInfo(
            s.id,
            s.code,
            s.name,
            s.kind,
            s.region_code,
            s.control_level,
            s.target_class,
            s.source_type,
            s.noise_zone,
            s.water_body,
            tuple(sorted(devs.get(s.id, []))),
        )
        for s in rows
    ]


@dataclass(frozen=True, slots=True)
class Regions:
    """The region tree: names, parents, levels."""

    name: dict[str, str]
    parent: dict[str, str | None]
    level: dict[str, str]

    def ancestors(self, code: str | None) -> list[str]:
        out: list[str] = []
        seen: set[str] = set()
        while code is not None and code in self.name and code not in seen:
            out.append(code)
            seen.add(code)
            code = self.parent.get(code)
        return out

    def contains(self, region: str, code: str | None) -> bool:
        return region in self.ancestors(code)

    def township_of(self, code: str | None) -> str | None:
        for c in self.ancestors(code):
            if self.level.get(c) == "township":
                return c
        return None


def regions(session: Session) -> Regions:
    rows = list(session.execute(select(Region.code, Region.name, Region.parent_code, Region.level)))
    return Regions(
        {r.code: r.name for r in rows},
        {r.code: r.parent_code for r in rows},
        {r.code: r.level for r in rows},
    )


def check_region(reg: Regions, code: str) -> None:
    if code not in reg.name:
        raise FiguresError(
            f"unknown region {code!r}: give a GB/T 2260 code stored in the region table "
            "(e.g. 620802 for 崆峒区)"
        )


def parse_month(text: str) -> tuple[int, int]:
    try:
        d = datetime.strptime(text, "%Y-%m")
    except ValueError:
        raise FiguresError(f"month must look like YYYY-MM, not {text!r}") from None
    return d.year, d.month


def month_bounds(year: int, month: int) -> tuple[date, date]:
    first = date(year, month, 1)
    nxt = date(year + 1, 1, 1) if month == 12 else date(year, month + 1, 1)
    return first, nxt - timedelta(days=1)


def days(start: date, end: date) -> list[date]:
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]


def months_between(start: date, end: date) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    y, m = start.year, start.month
    while (y, m) <= (end.year, end.month):
        out.append((y, m))
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out
