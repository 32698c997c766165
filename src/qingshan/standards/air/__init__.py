"""Ambient air quality standards: AQI (HJ 633-2012/2026), limits and validity (GB 3095-2012/2026)
and evaluation (HJ 663-2013/2026).

* :mod:`qingshan.standards.air.aqi` — IAQI/AQI, bands, primary and exceeding pollutants; scalar
  (:func:`~qingshan.standards.air.aqi.hourly_aqi`, :func:`~qingshan.standards.air.aqi.daily_aqi`)
  and vectorised (``*_array``) APIs with identical results.
* :mod:`qingshan.standards.air.tables` — the versioned tables from ``data/*.toml``.
* :mod:`qingshan.standards.air.evaluation` — daily statistics, O3 8-hour values, annual
  statistics, attainment, good days, composite index; station, city and region.

Pure rules: no storage, network, web or CLI imports.
"""
