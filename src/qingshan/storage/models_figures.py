"""Tables of computed environmental-quality figures (issue 7) and their dirty set.

Every figure row carries its provenance: the rule version ids that produced it, the counts of
valid inputs (hours, days, samples) and, where a figure is not counted, the reason in words
(``"only 17 valid hours"``). Figures are derived data: :mod:`qingshan.services.figures`
recomputes any of them from the stored observations at any time.

Scopes: a figure belongs either to a site (``scope = "site"``, ``scope_code`` = site code) or to
a region (``scope = "region"``, ``scope_code`` = GB/T 2260 code; the mean of the region's
evaluation stations, never micro-stations).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, DateTime, Float, Integer, SmallInteger, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from qingshan.storage.models import Base


class FigureDirty(Base):
    """Site-days whose figures must be recomputed because their hourly data changed.

    Marked by :func:`qingshan.storage.writes.mark_dirty` whenever a day roll-up is marked
    (every stored or rolled-up hour record marks its day), so device data, late data and
    corrections all reach the figures.
    """

    __tablename__ = "figure_dirty"
    device_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    day: Mapped[datetime] = mapped_column(DateTime, primary_key=True)
    marked_at: Mapped[datetime] = mapped_column(DateTime)


class AirHourFigure(Base):
    """Hourly real-time AQI (实时报) of a site or region."""

    __tablename__ = "fig_air_hour"
    scope: Mapped[str] = mapped_column(String(8), primary_key=True)
    scope_code: Mapped[str] = mapped_column(String(40), primary_key=True)
    data_time: Mapped[datetime] = mapped_column(DateTime, primary_key=True)  # hour start, CST
    standard: Mapped[str] = mapped_column(String(16), primary_key=True)  # HJ633-…
    aqi: Mapped[int | None] = mapped_column(SmallInteger)
    level: Mapped[str | None] = mapped_column(String(8))
    category: Mapped[str | None] = mapped_column(String(16))
    primary_pollutants: Mapped[str | None] = mapped_column(String(60))  # comma-separated labels
    iaqi: Mapped[str] = mapped_column(Text)  # JSON {label: iaqi}
    concentrations: Mapped[str] = mapped_column(Text)  # JSON {pollutant: value}
    provenance: Mapped[str] = mapped_column(Text)  # JSON


class AirDayFigure(Base):
    """Daily figures (日报) of a site or region: daily values, AQI, category, validity."""

    __tablename__ = "fig_air_day"
    scope: Mapped[str] = mapped_column(String(8), primary_key=True)
    scope_code: Mapped[str] = mapped_column(String(40), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    standard: Mapped[str] = mapped_column(String(16), primary_key=True)  # HJ663-… (method)
    aqi_standard: Mapped[str] = mapped_column(String(16))  # HJ633-…
    aqi: Mapped[int | None] = mapped_column(SmallInteger)
    level: Mapped[str | None] = mapped_column(String(8))
    category: Mapped[str | None] = mapped_column(String(16))
    primary_pollutants: Mapped[str | None] = mapped_column(String(60))
    valid: Mapped[bool] = mapped_column(Boolean)  # an AQI-valid day (有效天)
    so2: Mapped[float | None] = mapped_column(Float)
    no2: Mapped[float | None] = mapped_column(Float)
    co: Mapped[float | None] = mapped_column(Float)
    o3_1h: Mapped[float | None] = mapped_column(Float)
    o3_8h: Mapped[float | None] = mapped_column(Float)
    pm10: Mapped[float | None] = mapped_column(Float)
    pm2_5: Mapped[float | None] = mapped_column(Float)
    reason: Mapped[str | None] = mapped_column(Text)  # why not valid, in words
    provenance: Mapped[str] = mapped_column(Text)  # JSON: valid hours per pollutant, rules
    computed_at: Mapped[datetime] = mapped_column(DateTime)


class AirPeriodFigure(Base):
    """Month / year-to-date / year evaluation (HJ 663) of a site or region."""

    __tablename__ = "fig_air_period"
    scope: Mapped[str] = mapped_column(String(8), primary_key=True)
    scope_code: Mapped[str] = mapped_column(String(40), primary_key=True)
    period: Mapped[str] = mapped_column(String(10), primary_key=True)  # 2026-03 | 2026 | 2026-ytd
    standard: Mapped[str] = mapped_column(String(16), primary_key=True)
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)
    valid_days: Mapped[int] = mapped_column(Integer)
    good_days: Mapped[int] = mapped_column(Integer)
    good_day_ratio: Mapped[float | None] = mapped_column(Float)
    heavy_days: Mapped[int] = mapped_column(Integer)
    composite_index: Mapped[float | None] = mapped_column(Float)
    attained: Mapped[bool | None] = mapped_column(Boolean)
    result: Mapped[str] = mapped_column(Text)  # JSON: the full evaluation (without days)
    provenance: Mapped[str] = mapped_column(Text)
    computed_at: Mapped[datetime] = mapped_column(DateTime)


class WaterSampleFigure(Base):
    """Class of one surface-water / drinking-water / groundwater sample (one sampling time)."""

    __tablename__ = "fig_water_sample"
    site_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    data_time: Mapped[datetime] = mapped_column(DateTime, primary_key=True)
    water_class: Mapped[int | None] = mapped_column(SmallInteger)  # 1…6 (6 = 劣Ⅴ)
    failing: Mapped[str | None] = mapped_column(String(200))
    sample_values: Mapped[str] = mapped_column(Text)  # JSON {item: value}


class WaterMonthFigure(Base):
    """Monthly figure of a water site: class against target, compliance, main pollutants."""

    __tablename__ = "fig_water_month"
    site_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    month: Mapped[str] = mapped_column(String(7), primary_key=True)  # YYYY-MM
    kind: Mapped[str] = mapped_column(String(30))  # site kind
    water_class: Mapped[int | None] = mapped_column(SmallInteger)
    target_class: Mapped[int | None] = mapped_column(SmallInteger)
    meets_target: Mapped[bool | None] = mapped_column(Boolean)  # sections; sources: 达标
    result: Mapped[str] = mapped_column(Text)  # JSON: means, main pollutants, exceedance
    provenance: Mapped[str] = mapped_column(Text)
    computed_at: Mapped[datetime] = mapped_column(DateTime)


class NoiseDayFigure(Base):
    """Day (Ld) and night (Ln) equivalent levels of a noise station and their compliance."""

    __tablename__ = "fig_noise_day"
    site_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    zone: Mapped[str] = mapped_column(String(4))
    ld: Mapped[float | None] = mapped_column(Float)
    ln: Mapped[float | None] = mapped_column(Float)
    day_ok: Mapped[bool | None] = mapped_column(Boolean)
    night_ok: Mapped[bool | None] = mapped_column(Boolean)
    provenance: Mapped[str] = mapped_column(Text)
    computed_at: Mapped[datetime] = mapped_column(DateTime)


__all__ = [
    "AirDayFigure",
    "AirHourFigure",
    "AirPeriodFigure",
    "FigureDirty",
    "NoiseDayFigure",
    "WaterMonthFigure",
    "WaterSampleFigure",
]
