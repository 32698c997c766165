"""Loading the air-standard tables (HJ 633, GB 3095, HJ 663) from ``data/*.toml``.

The numbers live in the data files with their sources; this module only parses them into
frozen objects and selects the one in force.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import cache
from importlib import resources
from typing import Any

from qingshan.standards.versions import resolve

__all__ = [
    "POLLUTANTS",
    "AqiTable",
    "Category",
    "EvaluationRules",
    "LimitSet",
    "Validity",
    "aqi_table",
    "aqi_table_for",
    "evaluation_rules",
    "limit_set",
]

#: The six basic pollutants, in the order the national platform lists them.
POLLUTANTS: tuple[str, ...] = ("SO2", "NO2", "CO", "O3", "PM10", "PM2_5")


def _load(name: str) -> dict[str, Any]:
    raw = resources.files("qingshan.standards.air").joinpath(f"data/{name}").read_bytes()
    return tomllib.loads(raw.decode("utf-8"))


@dataclass(frozen=True, slots=True)
class Category:
    """One AQI band of HJ 633 表1/表2 with its colour (附录A)."""

    aqi_min: int
    aqi_max: int | None  # inclusive; None = open upper band (> 300)
    level: str
    category: str
    colour: str
    rgb: tuple[int, int, int]
    cmyk: tuple[int, int, int, int]
    health_effect: str
    advice: str


@dataclass(frozen=True, slots=True)
class AqiTable:
    """An HJ 633 edition: IAQI breakpoints, special cases, bands and texts."""

    id: str
    source: str
    iaqi_nodes: tuple[int, ...]
    breakpoints: dict[str, tuple[Decimal, ...]]
    so2_1h_above_800: int | None  # None: report the SO2 IAQI from the 24-hour mean (2012)
    o3_8h_above_800: int | None  # None: report the O3 IAQI from the 1-hour value (2012)
    exceeding_pollutants: bool
    daily_indicators: tuple[str, ...]
    categories: tuple[Category, ...]
    sensitive_groups: dict[str, str]
    platform_missing: str  # observed national-platform policy: "strict" or "na_rule"
    platform_exempt: tuple[str, ...]  # labels whose absence the platform ignores

    def category_of(self, aqi: int) -> Category:
        """The HJ 633 band (表2, colours 附录A) an AQI falls in.

        Parameters
        ----------
        aqi : int
            AQI (0 is mapped to the first band).

        Returns
        -------
        Category
            Level (一级 …), category (优 …), colour, RGB/CMYK, health effects and advice.
        """
        for cat in self.categories:
            if aqi >= cat.aqi_min and (cat.aqi_max is None or aqi <= cat.aqi_max):
                return cat
        raise ValueError(f"AQI {aqi} is outside every band of {self.id}")


def _special(value: object) -> int | None:
    if isinstance(value, int):
        return value
    if value in ("use_24h", "use_1h"):
        return None
    raise ValueError(f"bad special-case rule {value!r} in HJ 633 data")


@cache
def aqi_table(version_id: str) -> AqiTable:
    """The HJ 633 table of one edition, from ``data/hj633-*.toml``.

    Parameters
    ----------
    version_id : str
        ``HJ633-2012`` or ``HJ633-2026``.

    Returns
    -------
    AqiTable
        IAQI nodes and breakpoints [µg/m³; CO mg/m³], the > 800 special cases, bands and texts.

    Raises
    ------
    UnknownVersionError
        For another id.
    """
    resolve("HJ633", version_id)  # validates the id
    raw = _load(f"{version_id.lower()}.toml")
    cats = tuple(
        Category(
            aqi_min=c["aqi_min"],
            aqi_max=c.get("aqi_max"),
            level=c["level"],
            category=c["category"],
            colour=c["colour"],
            rgb=(c["rgb"][0], c["rgb"][1], c["rgb"][2]),
            cmyk=(c["cmyk"][0], c["cmyk"][1], c["cmyk"][2], c["cmyk"][3]),
            health_effect=c["health_effect"],
            advice=c["advice"],
        )
        for c in raw["category"]
    )
    return AqiTable(
        id=raw["id"],
        source=raw["source"],
        iaqi_nodes=tuple(raw["iaqi_nodes"]),
        breakpoints={k: tuple(Decimal(str(x)) for x in v) for k, v in raw["breakpoints"].items()},
        so2_1h_above_800=_special(raw["so2_1h_above_800"]),
        o3_8h_above_800=_special(raw["o3_8h_above_800"]),
        exceeding_pollutants=raw["exceeding_pollutants"],
        daily_indicators=tuple(raw["daily_indicators"]),
        categories=cats,
        sensitive_groups=dict(raw.get("sensitive_groups", {})),
        platform_missing=raw["platform_missing"],
        platform_exempt=tuple(raw["platform_exempt"]),
    )


def aqi_table_for(standard: str, when: date | None = None) -> AqiTable:
    """The HJ 633 table named by ``standard`` or, with ``auto``, the one in force on ``when``.

    Parameters
    ----------
    standard : str
        ``HJ633-2012``, ``HJ633-2026`` or ``auto``.
    when : date, optional
        The data's date (needed with ``auto``; 2026-03-01 switches to HJ 633-2026).

    Returns
    -------
    AqiTable
    """
    return aqi_table(resolve("HJ633", standard, when).id)


@dataclass(frozen=True, slots=True)
class Validity:
    """GB 3095 表4 minimum data counts."""

    daily_min_hours: int
    o3_8h_min_hours: int
    annual_min_days: int
    monthly_min_days: int
    february_min_days: int
    hourly_min_minutes: int


@dataclass(frozen=True, slots=True)
class LimitSet:
    """GB 3095 basic-item limits of one phase and one class (一级 = 1, 二级 = 2)."""

    standard: str
    phase: str
    air_class: int
    # limits[pollutant][period]; periods: annual, daily, hourly, max8h
    limits: dict[str, dict[str, Decimal]]
    validity: Validity

    def get(self, pollutant: str, period: str) -> Decimal:
        """One GB 3095 limit.

        Parameters
        ----------
        pollutant : str
            ``SO2``, ``NO2``, ``CO``, ``O3``, ``PM10``, ``PM2_5``.
        period : str
            ``annual``, ``daily`` (24-hour), ``hourly`` or ``max8h`` (O3 8-hour).

        Returns
        -------
        Decimal
            The limit [µg/m³; CO mg/m³], exactly as written in the standard.

        Raises
        ------
        KeyError
            When the standard sets no such limit.
        """
        try:
            return self.limits[pollutant][period]
        except KeyError:
            raise KeyError(f"{self.standard} has no {period} limit for {pollutant}") from None


@cache
def _gb3095(version_id: str) -> dict[str, Any]:
    resolve("GB3095", version_id)
    return _load(f"{version_id.lower()}.toml")


def limit_set(
    version_id: str, when: date | None = None, air_class: int = 2, phase: str | None = None
) -> LimitSet:
    """GB 3095 basic-item limits (表1) and data validity (表4) of one edition and class.

    The phase is the one in force on ``when`` (GB 3095-2026: 过渡阶段 until 2030-12-31, 最终阶段
    from 2031-01-01, §4.4); a date before the first phase gets the first phase, so older data can
    be shown under the new limits.

    Parameters
    ----------
    version_id : str
        ``GB3095-2012`` or ``GB3095-2026``.
    when : date, optional
        Date that picks the phase.
    air_class : {1, 2}, default 2
        一类区 (1) or 二类区 (2).
    phase : str, optional
        A phase by name, overriding ``when``.

    Returns
    -------
    LimitSet
        Limits [µg/m³; CO mg/m³] by pollutant and period, and the 表4 minimum counts.

    Raises
    ------
    ValueError
        For another class or an unknown phase.
    """
    if air_class not in (1, 2):
        raise ValueError(f"air quality class must be 1 (一类区) or 2 (二类区), not {air_class!r}")
    raw = _gb3095(version_id)
    phases = raw["phase"]
    if phase is not None:
        chosen = next((p for p in phases if p["name"] == phase), None)
        if chosen is None:
            names = ", ".join(p["name"] for p in phases)
            raise ValueError(f"{version_id} has no phase {phase!r}; phases: {names}")
    else:
        chosen = phases[0]
        if when is not None:
            for p in phases:
                if p["effective_from"] <= when:
                    chosen = p
    limits = {
        pol: {per: Decimal(str(v[air_class - 1])) for per, v in periods.items()}
        for pol, periods in chosen["limits"].items()
    }
    v = raw["validity"]
    return LimitSet(
        standard=version_id,
        phase=chosen["name"],
        air_class=air_class,
        limits=limits,
        validity=Validity(**v),
    )


@dataclass(frozen=True, slots=True)
class EvaluationRules:
    """HJ 663 evaluation parameters of one edition."""

    id: str
    limits: str  # GB 3095 version id
    aqi: str  # HJ 633 version id
    source: str
    mda8_min_windows: int
    mda8_first_window_end_hour: int
    items: dict[str, tuple[str, ...]]
    composite_weights: dict[str, Decimal]
    composite_statistic: dict[str, str]


@cache
def evaluation_rules(version_id: str) -> EvaluationRules:
    """The HJ 663 evaluation parameters of one edition, from ``data/hj663.toml``.

    Parameters
    ----------
    version_id : str
        ``HJ663-2013`` or ``HJ663-2026`` (the latter reuses the 2013 methods, see hj663.md).

    Returns
    -------
    EvaluationRules
        The GB 3095 and HJ 633 editions it uses, the MDA8 window rules, the statistics per
        pollutant and the composite-index weights.
    """
    resolve("HJ663", version_id)
    for v in _load("hj663.toml")["version"]:
        if v["id"] == version_id:
            return EvaluationRules(
                id=v["id"],
                limits=v["limits"],
                aqi=v["aqi"],
                source=v["source"],
                mda8_min_windows=v["mda8_min_windows"],
                mda8_first_window_end_hour=v["mda8_first_window_end_hour"],
                items={k: tuple(x) for k, x in v["items"].items()},
                composite_weights={
                    k: Decimal(str(x)) for k, x in v["composite"]["weights"].items()
                },
                composite_statistic=dict(v["composite"]["statistic"]),
            )
    raise ValueError(f"no HJ 663 rules for {version_id}")
