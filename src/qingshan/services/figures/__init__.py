"""Environmental-quality figures: computed from stored observations, stored, kept current.

Contract (notes/FIGURES_API.md): :func:`recompute_all`, :func:`update_dirty`,
:func:`station_aqi_now`, :func:`air_quality`, :func:`water_quality`. Modules by use:

* :mod:`~qingshan.services.figures.jobs` — batch work: :func:`recompute_all` (any range) and
  :func:`update_dirty` (only what new, late or corrected data touched), short transactions;
* :mod:`~qingshan.services.figures.air_reads` — the latest hourly AQI by station, a region's
  air figures over a month, a year or a custom range, its days;
* :mod:`~qingshan.services.figures.water_reads` — a region's water figures of a month;
* :mod:`~qingshan.services.figures.noise` — noise day figures and a region's month of them;
* :mod:`~qingshan.services.figures.air` / :mod:`~qingshan.services.figures.water` — the
  computations (standards engine on stored observations) both the jobs and the reads use.

Read functions return typed dataclasses (``to_dict()`` for JSON). See docs/figures.md.
"""

from __future__ import annotations

from qingshan.services.figures._common import FiguresError
from qingshan.services.figures.air_reads import (
    AirDay,
    AirQuality,
    ExceedanceDays,
    PollutantFigures,
    StationAqi,
    StationFigures,
    StatisticFigure,
    TownshipFigures,
    air_days,
    air_quality,
    station_aqi_now,
)
from qingshan.services.figures.jobs import RecomputeStats, recompute_all, update_dirty
from qingshan.services.figures.noise import NoiseMonth, NoiseStationMonth
from qingshan.services.figures.water_reads import (
    GroundwaterFigures,
    LatestWaterFigure,
    MainPollutantFigure,
    SectionFigures,
    SourceFigures,
    WaterQuality,
    latest_month_figures,
    water_quality,
)

__all__ = [
    "AirDay",
    "AirQuality",
    "ExceedanceDays",
    "FiguresError",
    "GroundwaterFigures",
    "LatestWaterFigure",
    "MainPollutantFigure",
    "NoiseMonth",
    "NoiseStationMonth",
    "PollutantFigures",
    "RecomputeStats",
    "SectionFigures",
    "SourceFigures",
    "StationAqi",
    "StationFigures",
    "StatisticFigure",
    "TownshipFigures",
    "WaterQuality",
    "air_days",
    "air_quality",
    "latest_month_figures",
    "recompute_all",
    "station_aqi_now",
    "update_dirty",
    "water_quality",
]
