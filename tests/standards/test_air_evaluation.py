"""HJ 663 evaluation: validity rules, percentile, attainment, good days, composite index."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qingshan.standards.air.aqi import round_concentration_array
from qingshan.standards.air.evaluation import (
    EvaluationError,
    HourlyData,
    city_hourly,
    composite_index,
    daily_max_8h,
    daily_means,
    evaluate,
    evaluate_many,
    evaluate_region,
    good_day_ratio,
    hj663_percentile,
    moving_mean,
    o3_8h_day_windows,
)
from qingshan.standards.air.tables import limit_set


def constant_year(
    year: int = 2025,
    *,
    so2: float = 10,
    no2: float = 20,
    co: float = 1.0,
    o3: float = 80,
    pm10: float = 70,
    pm2_5: float = 35,
) -> HourlyData:
    start = date(year, 1, 1)
    n = (date(year + 1, 1, 1) - start).days
    vals = {"SO2": so2, "NO2": no2, "CO": co, "O3": o3, "PM10": pm10, "PM2_5": pm2_5}
    return HourlyData(start, {p: np.full((n, 24), float(v)) for p, v in vals.items()})


def stat(result, pollutant: str, statistic: str):  # type: ignore[no-untyped-def]
    return next(
        s for s in result.statistics if s.pollutant == pollutant and s.statistic == statistic
    )


def test_daily_mean_needs_20_hours() -> None:
    h = np.full((2, 24), 10.0)
    h[0, :4] = np.nan  # 20 valid
    h[1, :5] = np.nan  # 19 valid
    out = daily_means(h, 20)
    assert out[0] == 10 and np.isnan(out[1])


def test_o3_8h_windows_and_mda8_validity() -> None:
    h = np.arange(24, dtype=float)[None, :]
    w = o3_8h_day_windows(h)
    assert w.shape == (1, 17)
    assert w[0, 0] == np.mean(np.arange(8)) and w[0, -1] == np.mean(np.arange(16, 24))
    h2 = np.full((1, 24), 100.0)
    h2[0, :3] = np.nan  # window ending 08:00 has 5 values → invalid; others valid
    assert np.isnan(o3_8h_day_windows(h2)[0, 0]) and (~np.isnan(o3_8h_day_windows(h2)[0, 1:])).all()
    # Only 13 valid 8-h means: invalid unless the maximum exceeds the 8-h limit (160).
    low = np.full((1, 24), 100.0)
    low[0, 13:] = np.nan
    assert (~np.isnan(o3_8h_day_windows(low))).sum() < 14
    assert np.isnan(daily_max_8h(low, 160.0)[0])
    high = np.where(np.isnan(low), np.nan, 200.0)
    assert daily_max_8h(high, 160.0)[0] == 200


def test_hj663_percentile_formula() -> None:
    x = np.arange(1, 11, dtype=float)
    assert hj663_percentile(x, 95) == pytest.approx(9.55)
    assert hj663_percentile(np.array([np.nan, 5.0, np.nan]), 90) == 5
    assert np.isnan(hj663_percentile(np.array([np.nan, np.nan]), 90))


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.one_of(st.none(), st.floats(0, 500)), min_size=1, max_size=60),
    st.sampled_from([90.0, 95.0, 98.0]),
)
def test_percentile_matches_numpy_linear(values: list[float | None], p: float) -> None:
    arr = np.array([np.nan if v is None else v for v in values])
    valid = arr[~np.isnan(arr)]
    got = hj663_percentile(arr, p)
    if valid.size == 0:
        assert np.isnan(got)
    else:
        assert got == pytest.approx(np.percentile(valid, p, method="linear"))


def test_composite_index_attainment_and_versions() -> None:
    data = constant_year()
    e13 = evaluate(data, "HJ663-2013", include_days=False)
    assert e13.limits_standard == "GB3095-2012"
    assert e13.composite_index == Decimal("3.42")  # 10/60+20/40+70/70+35/35+1/4+80/160
    assert e13.attained is True and e13.primary_pollutants == ["PM10", "PM2_5"]  # Iᵢ = 1.00
    assert e13.valid_days == 365 and e13.good_days == 365 and e13.good_day_ratio == 100
    assert e13.complete is True and e13.period_kind == "year"

    e26 = evaluate(data, "HJ663-2026", include_days=False)
    assert (e26.limits_standard, e26.limits_phase) == ("GB3095-2026", "过渡阶段")
    assert e26.composite_index == Decimal("3.75")  # PM10/60, PM2.5/30
    assert e26.attained is False
    pm10 = stat(e26, "PM10", "mean")
    assert pm10.limit == 60 and pm10.exceedance_multiple == Decimal("0.17")
    assert e26.pollutant_attained["PM10"] is False and e26.pollutant_attained["SO2"] is True
    assert e26.primary_pollutants == ["PM10", "PM2_5"]
    final = evaluate(data, "HJ663-2026", phase="最终阶段", include_days=False)
    assert stat(final, "PM2_5", "mean").limit == 25


def test_auto_uses_edition_in_force_per_day() -> None:
    # PM2.5 80 all year 2026: HJ633-2012 daily IAQI 107, HJ633-2026 IAQI 119 (both 轻度).
    e = evaluate(constant_year(2026, pm2_5=80), "auto")
    assert e.standard == "HJ663-2026"
    by_date = {d["date"]: d for d in e.days}
    assert by_date["2026-02-28"]["aqi_standard"] == "HJ633-2012"
    assert by_date["2026-02-28"]["aqi"] == 107
    assert by_date["2026-03-01"]["aqi_standard"] == "HJ633-2026"
    assert by_date["2026-03-01"]["aqi"] == 119
    assert e.good_days == 0 and e.primary_pollutant_days == {"PM2_5": 365}


def test_good_days_heavy_days_and_dust_deduction() -> None:
    start = date(2025, 3, 1)
    pm = np.array([30.0] * 6 + [100.0, 200.0, 300.0, 30.0])
    vals = {
        "SO2": np.full((10, 24), 5.0),
        "NO2": np.full((10, 24), 10.0),
        "CO": np.full((10, 24), 0.5),
        "O3": np.full((10, 24), 50.0),
        "PM10": np.full((10, 24), 20.0),
        "PM2_5": np.repeat(pm[:, None], 24, axis=1),
    }
    data = HourlyData(start, vals)
    e = evaluate(data, "HJ663-2013")
    assert [d["aqi"] for d in e.days][6:9] == [132, 250, 350]
    assert (e.valid_days, e.good_days, e.heavy_pollution_days) == (10, 7, 2)
    assert e.good_day_ratio == Decimal("70.0") and e.complete is None
    dusty = evaluate(data, "HJ663-2013", dust_days={date(2025, 3, 8), date(2025, 3, 9)})
    assert (dusty.valid_days, dusty.good_days, dusty.heavy_pollution_days) == (8, 7, 0)
    assert dusty.good_day_ratio == Decimal("87.5") and dusty.dust_days_excluded == 2


def test_missing_pollutant_day_counts_only_if_polluted() -> None:
    data = constant_year(2025)
    data.values["NO2"][0, :] = np.nan  # day 1: NO2 invalid, AQI of the rest ≤ 100 → not valid
    data.values["NO2"][1, :] = np.nan
    data.values["PM2_5"][1, :] = 150.0  # day 2: NO2 invalid but AQI 200 > 100 → valid day
    e = evaluate(data, "HJ663-2013")
    assert e.days[0]["aqi"] is None and e.days[1]["aqi"] == 200
    assert e.valid_days == 364 and e.good_days == 363


def test_annual_validity_february() -> None:
    data = constant_year(2025)
    data.values["PM2_5"][31:35, :] = np.nan  # 4 days missing in February → 24 < 25
    e = evaluate(data, "HJ663-2013", include_days=False)
    assert e.complete is False
    assert e.incomplete_reasons["PM2_5"] == ["month 2: 24 valid days < 25"]
    # The same February alone: a calendar month is held to the monthly minimum.
    feb = HourlyData(date(2025, 2, 1), {p: v[31:59] for p, v in data.values.items()})
    m = evaluate(feb, "HJ663-2013", include_days=False)
    assert m.period_kind == "month" and m.complete is False
    assert m.incomplete_reasons["PM2_5"] == ["24 valid days < 25"]
    assert m.incomplete_reasons.keys() == {"PM2_5"}


def test_from_records_hour_label() -> None:
    t0 = datetime(2025, 1, 1, 1)
    recs = [(t0 + timedelta(hours=i), {"PM2_5": float(i)}) for i in range(24)]
    end = HourlyData.from_records(recs, "end")
    assert end.n_days == 1 and end.values["PM2_5"][0, 23] == 23
    start = HourlyData.from_records(recs, "start")
    assert start.n_days == 2 and start.values["PM2_5"][1, 0] == 23
    with pytest.raises(EvaluationError, match="duplicate hour"):
        HourlyData.from_records([*recs, recs[0]])
    with pytest.raises(EvaluationError, match="on the hour"):
        HourlyData.from_records([(datetime(2025, 1, 1, 1, 30), {"SO2": 1.0})])


def test_bad_hourly_data() -> None:
    with pytest.raises(EvaluationError, match="negative"):
        HourlyData(date(2025, 1, 1), {"SO2": np.full((1, 24), -1.0)})
    with pytest.raises(EvaluationError, match="µg/m³ given"):
        HourlyData(date(2025, 1, 1), {"CO": np.full((1, 24), 900.0)})
    with pytest.raises(EvaluationError, match="shape"):
        HourlyData(date(2025, 1, 1), {"SO2": np.full((1, 23), 1.0)})


def test_city_and_region_levels() -> None:
    a, b = constant_year(pm2_5=30), constant_year(pm2_5=40)
    b.values["PM2_5"][0, :] = np.nan  # the city mean uses the valid station only
    city = city_hourly([a, b])
    assert city.values["PM2_5"][0, 0] == 30 and city.values["PM2_5"][1, 0] == 35
    many = evaluate_many(
        HourlyData(a.start, {p: np.stack([a.values[p], b.values[p]]) for p in a.values}),
        "HJ663-2013",
        include_days=False,
    )
    assert [stat(m, "PM2_5", "mean").value for m in many] == [30, 40]
    region = evaluate_region(many)
    assert region.statistics[("PM2_5", "mean")] == 35 and region.cities == 2


def test_limit_phases() -> None:
    assert limit_set("GB3095-2026", date(2030, 12, 31)).phase == "过渡阶段"
    assert limit_set("GB3095-2026", date(2031, 1, 1)).get("NO2", "annual") == 30
    assert limit_set("GB3095-2012", air_class=1).get("PM2_5", "annual") == 15
    with pytest.raises(ValueError, match="class"):
        limit_set("GB3095-2012", air_class=3)


def test_published_composite_index_and_ratio() -> None:
    """婺源县 2023-09 (http://www.wuyuan.gov.cn/hjbh/44700.html): SO2 11, NO2 16, O3 P90 139,
    CO P95 0.6, PM10 40, PM2.5 16 µg/m³ → 综合指数 2.63; 27 good of 29 valid days → 93.1 %."""
    values = {
        "SO2": Decimal(11),
        "NO2": Decimal(16),
        "PM10": Decimal(40),
        "PM2_5": Decimal(16),
        "CO": Decimal("0.6"),
        "O3": Decimal(139),
    }
    index, single = composite_index(values, "HJ663-2013", limit_set("GB3095-2012"))
    assert index == Decimal("2.63")
    assert single["O3"] == Decimal("0.87") and max(single, key=single.__getitem__) == "O3"
    assert good_day_ratio(27, 29) == Decimal("93.1")
    assert good_day_ratio(0, 0) is None
    values["CO"] = None  # type: ignore[assignment]
    assert composite_index(values, "HJ663-2013", limit_set("GB3095-2012"))[0] is None


def test_dust_scopes() -> None:
    start = date(2025, 4, 1)
    pm10 = np.array([60.0, 60, 60, 60, 500])  # day 5: dust storm
    vals = {
        "SO2": np.full((5, 24), 5.0),
        "NO2": np.full((5, 24), 10.0),
        "CO": np.full((5, 24), 0.5),
        "O3": np.full((5, 24), 50.0),
        "PM10": np.repeat(pm10[:, None], 24, axis=1),
        "PM2_5": np.full((5, 24), 20.0),
    }
    data = HourlyData(start, vals)
    dust = {date(2025, 4, 5)}
    plain = evaluate(data, "HJ663-2013", include_days=False)
    assert (plain.valid_days, plain.good_days) == (5, 4)
    assert stat(plain, "PM10", "mean").value == 148
    everything = evaluate(data, "HJ663-2013", dust_days=dust, include_days=False)
    assert (everything.valid_days, everything.good_days) == (4, 4)
    assert stat(everything, "PM10", "mean").value == 60
    conc = evaluate(
        data, "HJ663-2013", dust_days=dust, dust_scope="concentrations", include_days=False
    )
    assert (conc.valid_days, conc.good_days, conc.good_day_ratio) == (5, 4, Decimal("80.0"))
    assert stat(conc, "PM10", "mean").value == 60 and stat(conc, "SO2", "mean").valid_days == 5
    days = evaluate(data, "HJ663-2013", dust_days=dust, dust_scope="days", include_days=False)
    assert (days.valid_days, days.good_days) == (4, 4)
    assert stat(days, "PM10", "mean").value == 148
    with pytest.raises(EvaluationError, match="dust_scope"):
        evaluate(data, "HJ663-2013", dust_days=dust, dust_scope="some")  # type: ignore[arg-type]


def test_o3_8h_moving_mean_matches_published_values() -> None:
    """The national platform's hourly O3 8-h moving mean, 2023-07-15 15:00 (archived in GitHub
    HeQinWill/CNEMC, Archive/2023-07-15/2023-07-15T08.csv … T15.csv, commits ff9fa59a, bb6cda95,
    49a57844, 1881f644, 044f4c03, b9483c3c, 0e70ce41, 918ccbc8; the archive's `o3_24h` column
    is the hour's 1-hour value; its `o3_8h` and `o3_8h_24h` columns agree for these rows, so the
    column swap of the old files does not matter here). Hours are labelled by their end: the
    value at 15:00 averages the hours ending 08:00 … 15:00."""
    hours = {  # station: O3 1-hour values at 08:00 … 15:00, published o3_8h at 15:00
        "1141A 上海 普陀": ([47, 88, 148, 188, 218, 243, 241, 237], 176),
        "1001A 北京 万寿西宫": ([95, 100, 107, 112, 112, 111, 110, 101], 106),
        "1145A 上海 杨浦四漂": ([None, 63, 116, 185, 227, 233, 238, 232], 185),  # 7 valid
    }
    for name, (values, published) in hours.items():
        x = np.array([np.nan if v is None else v for v in values], dtype=float)
        got = moving_mean(x, 8, 6)[-1]
        assert round_concentration_array("O3_8H", got) == published, name
    # Fewer than 6 valid hours in the window: no 8-hour value.
    assert np.isnan(moving_mean(np.array([np.nan] * 3 + [100.0] * 5), 8, 6)[-1])
    assert moving_mean(np.arange(30, dtype=float), 24, 20)[23] == pytest.approx(11.5)
