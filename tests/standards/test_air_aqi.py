"""HJ 633 AQI: worked examples, boundaries, published national figures, scalar == bulk."""

from __future__ import annotations

import csv
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qingshan.standards.air.aqi import (
    AqiInputError,
    daily_aqi,
    daily_aqi_array,
    decode_mask,
    hourly_aqi,
    hourly_aqi_array,
    iaqi,
    iaqi_array,
)
from qingshan.standards.air.tables import aqi_table

FIXTURE = Path(__file__).parent.parent / "data" / "air" / "cnemc_published_hourly.csv"
BOTH = ("HJ633-2012", "HJ633-2026")


# Worked examples of ../shared/domain/standards-2026.md §2.3 (2026 rules; 2012 where given).
@pytest.mark.parametrize(
    ("indicator", "conc", "v2026", "v2012"),
    [
        ("PM2_5_24H", "60", 100, 82),
        ("PM2_5_24H", "60.5", 100, 82),
        ("PM2_5_24H", "60.6", 101, 83),
        ("PM2_5_24H", "75", 114, 100),
        ("PM2_5_24H", "35.5", 52, 52),
        ("PM10_24H", "150", 112, 100),
        ("SO2_24H", "150", 100, 100),
        ("CO_24H", "4.05", 100, 100),
        ("CO_24H", "4.15", 101, 101),
        ("CO_24H", 4.05, 100, 100),  # a float means its decimal text
        ("SO2_1H", "900", 200, None),
        ("O3_8H", "900", 300, None),
        ("PM2_5_1H", "75", 114, 100),  # 1-hour PM on the daily breakpoints
    ],
)
def test_worked_examples(indicator: str, conc: str, v2026: int, v2012: int | None) -> None:
    assert iaqi(indicator, conc, "HJ633-2026") == v2026
    assert iaqi(indicator, conc, "HJ633-2012") == v2012


@pytest.mark.parametrize("version", BOTH)
def test_every_breakpoint_maps_to_its_node(version: str) -> None:
    tab = aqi_table(version)
    for key, bps in tab.breakpoints.items():
        for node, bp in zip(tab.iaqi_nodes, bps, strict=False):
            assert iaqi(key, bp, tab) == node, (key, bp)


@pytest.mark.parametrize("version", BOTH)
@pytest.mark.parametrize(
    ("pm2_5", "level", "category"),
    [
        (0, "一级", "优"),
        (35, "一级", "优"),
        (36, "二级", "良"),
        (115, "三级", "轻度污染"),
        (116, "四级", "中度污染"),
        (150, "四级", "中度污染"),
        (151, "五级", "重度污染"),
        (250, "五级", "重度污染"),
        (251, "六级", "严重污染"),
        (9999, "六级", "严重污染"),
    ],
)
def test_bands(version: str, pm2_5: int, level: str, category: str) -> None:
    r = daily_aqi(version, so2=1, no2=1, co=0.1, o3_8h=1, o3_1h=1, pm10=1, pm2_5=pm2_5)
    assert (r.level, r.category) == (level, category)
    if pm2_5 == 9999:
        assert r.aqi == 500  # capped at the end of the table


def test_category_texts_and_colours() -> None:
    t12, t26 = aqi_table("HJ633-2012"), aqi_table("HJ633-2026")
    assert [c.rgb for c in t12.categories] == [c.rgb for c in t26.categories]
    assert t12.categories[2].health_effect.startswith("易感人群")
    assert t26.categories[2].health_effect.startswith("敏感人群")
    assert t26.categories[5].advice.startswith("青少年儿童、老年人和病人应当留在室内")
    assert t26.categories[3].colour == "红色" and t26.categories[5].colour == "褐红色"


def test_primary_ties_exceeding_and_versions() -> None:
    # PM10 53 and O3 161 both give 52 under 2012 (published: 徐州 淮塔 2023-07-15 15:00).
    r = hourly_aqi("HJ633-2012", so2=11, no2=8, co=0.5, o3=161, pm10=53, pm2_5=4)
    assert r.aqi == 52 and r.primary_pollutants == ("O3_1H", "PM10")
    r = hourly_aqi("HJ633-2012", so2=5, no2=30, co=1, o3=20, pm10=300, pm2_5=120)
    assert r.exceeding_pollutants == ("PM10", "PM2_5")
    r26 = hourly_aqi("HJ633-2026", so2=5, no2=30, co=1, o3=20, pm10=300, pm2_5=120)
    assert r26.exceeding_pollutants == () and set(r26.sensitive_groups) == {"PM10", "PM2_5"}
    clean = hourly_aqi("HJ633-2026", so2=5, no2=30, co=1, o3=20, pm10=40, pm2_5=20)
    assert clean.aqi == 40 and clean.primary_pollutants == ()


def test_special_cases_above_800() -> None:
    r12 = hourly_aqi("HJ633-2012", so2=900, no2=1, co=0.1, o3=1, pm10=1, pm2_5=1, so2_24h=300)
    assert r12.iaqi["SO2"] == iaqi("SO2_24H", 300, "HJ633-2012") == 124
    with pytest.raises(AqiInputError, match="24-hour mean"):
        hourly_aqi("HJ633-2012", so2=900, no2=1, co=0.1, o3=1, pm10=1, pm2_5=1)
    r26 = hourly_aqi("HJ633-2026", so2=900, no2=1, co=0.1, o3=1, pm10=1, pm2_5=1)
    assert r26.aqi == 200
    d12 = daily_aqi("HJ633-2012", so2=1, no2=1, co=0.1, o3_8h=850, o3_1h=1100, pm10=1, pm2_5=1)
    assert d12.aqi == iaqi("O3_1H", 1100, "HJ633-2012") == 450
    assert "O3_8H" not in d12.iaqi and d12.missing == ()
    d26 = daily_aqi("HJ633-2026", so2=1, no2=1, co=0.1, o3_8h=850, pm10=1, pm2_5=1)
    assert d26.aqi == 300 and d26.primary_pollutants == ("O3_8H",)


def test_daily_indicator_sets() -> None:
    kw = {"so2": 1, "no2": 1, "co": 0.1, "o3_8h": 1, "pm10": 1, "pm2_5": 1}
    d12 = daily_aqi("HJ633-2012", o3_1h=250, **kw)
    d26 = daily_aqi("HJ633-2026", o3_1h=250, **kw)
    assert d12.aqi == 125 and d12.primary_pollutants == ("O3_1H",)
    assert d26.aqi == 3 and "O3_1H" not in d26.iaqi  # 2026 daily report has 6 indicators
    assert daily_aqi("HJ633-2012", **kw).missing == ("O3_1H",)


def test_missing_policies() -> None:
    kw = {"so2": 5, "no2": None, "co": 0.5, "o3": 30, "pm10": 40}
    assert hourly_aqi("HJ633-2026", pm2_5=20, **kw).aqi == 40
    assert hourly_aqi("HJ633-2026", pm2_5=20, missing="strict", **kw).aqi is None
    na = hourly_aqi("HJ633-2026", pm2_5=20, missing="na_rule", **kw)
    assert na.aqi is None and na.na and na.iaqi["PM10"] == 40
    high = hourly_aqi("HJ633-2026", pm2_5=100, missing="na_rule", **kw)
    assert high.aqi == 137 and not high.na  # > 100 is still published (§5.3.1)
    nothing = hourly_aqi("HJ633-2026", so2=None, no2=None, co=None, o3=None, pm10=None, pm2_5=None)
    assert nothing.aqi is None and len(nothing.missing) == 6


def test_bad_options() -> None:
    kw = {"so2": 1, "no2": 1, "co": 0.1, "o3": 1, "pm10": 1, "pm2_5": 1}
    with pytest.raises(AqiInputError, match="missing must be"):
        hourly_aqi("HJ633-2026", missing="sometimes", **kw)  # type: ignore[arg-type]
    with pytest.raises(AqiInputError, match="missing must be"):
        hourly_aqi_array("HJ633-2026", missing="x", **kw)  # type: ignore[arg-type]
    with pytest.raises(AqiInputError, match="unknown pollutant"):
        hourly_aqi("HJ633-2026", not_monitored=["NOX"], **kw)
    with pytest.raises(AqiInputError, match="unknown pollutant"):
        hourly_aqi_array("HJ633-2026", not_monitored={"NOX": [True]}, **kw)
    with pytest.raises(AqiInputError, match="unknown AQI indicator"):
        iaqi("PM1_24H", 1, "HJ633-2026")


def test_co_in_wrong_units_is_rejected() -> None:
    with pytest.raises(AqiInputError, match="were µg/m³ given"):
        iaqi("CO_1H", 800, "HJ633-2026")
    with pytest.raises(AqiInputError, match=r"index 1.*were µg/m³ given"):
        iaqi_array("CO_24H", [0.8, 800.0], "HJ633-2026")
    assert iaqi("CO_1H", 150, "HJ633-2026") == 500


@pytest.mark.parametrize("bad", [-1, "-0.1", "abc", float("nan"), float("inf")])
def test_bad_concentrations(bad: object) -> None:
    with pytest.raises(AqiInputError):
        iaqi("PM2_5_24H", bad, "HJ633-2026")  # type: ignore[arg-type]
    if isinstance(bad, int | float) and not (isinstance(bad, float) and np.isnan(bad)):
        with pytest.raises(AqiInputError, match="index 1"):
            iaqi_array("PM2_5_24H", [1.0, bad], "HJ633-2026")


def _published_rows() -> list[dict[str, str]]:
    with FIXTURE.open(encoding="utf-8") as fh:
        return list(csv.DictReader(line for line in fh if not line.startswith("#")))


def _cell(v: str) -> str | None:
    return None if v in ("", "NA", "/") else v


def test_reproduces_published_national_figures() -> None:
    """Every archived station-hour: our AQI, NA marker and primary pollutants equal the
    published ones (148 rows: 2022, 2023 under HJ 633-2012; March and April 2026 under 2026).

    Missing data as the platform handles it (``missing="platform"``): with an indicator missing
    the AQI is published only above 100 (§5.3.1; the 2022/2023 archives write the suppressed
    AQI as an empty cell, the 2026 ones as NA); since 2026 a missing PM10 is ignored; "/" too.
    """
    rows = _published_rows()
    assert len(rows) >= 145
    na_rows = 0
    for row in rows:
        cells = {c: row[c] for c in ("so2", "no2", "co", "o3", "pm10", "pm2_5")}
        not_monitored = [c.upper().replace("O3", "O3_1H") for c, v in cells.items() if v == "/"]
        r = hourly_aqi(
            row["standard"],
            so2=_cell(cells["so2"]),
            no2=_cell(cells["no2"]),
            co=_cell(cells["co"]),
            o3=_cell(cells["o3"]),
            pm10=_cell(cells["pm10"]),
            pm2_5=_cell(cells["pm2_5"]),
            not_monitored=not_monitored,
            missing="platform",
        )
        expected = int(row["aqi"]) if row["aqi"] not in ("", "NA") else None
        assert r.aqi == expected, row
        suppressed = row["aqi"] == "NA" or (row["aqi"] == "" and row["standard"] == "HJ633-2012")
        assert r.na == suppressed, row
        na_rows += r.na
        published = set(row["primary"].split(";")) - {""}
        assert set(r.primary_pollutants) == published, row
    assert na_rows >= 20


def test_platform_2012_publishes_above_100_with_a_pollutant_missing() -> None:
    # 上海 虹口 2023-07-15 12:00 (Archive/2023-07-15/2023-07-15T12.csv): PM2.5 missing, O3 208
    # → AQI 104 published; 南通 城中 same hour: PM10 missing, rest ≤ 100 → no AQI.
    hongkou = {"so2": 8, "no2": 17, "co": 0.6, "o3": 208, "pm10": 61, "pm2_5": None}
    assert hourly_aqi("HJ633-2012", missing="platform", **hongkou).aqi == 104
    assert hourly_aqi("HJ633-2012", missing="strict", **hongkou).aqi is None
    chengzhong = {"so2": 14, "no2": 18, "co": 0.9, "o3": 138, "pm10": None, "pm2_5": 31}
    assert hourly_aqi("HJ633-2012", missing="platform", **chengzhong).na


def test_platform_policy_differs_from_plain_policies() -> None:
    # 大庆 萨区政府监测点 2026-04-20 15:00: NO2 and PM10 missing, rest ≤ 100 → published NA.
    kw = {"so2": 8, "no2": None, "co": 0.3, "o3": 86, "pm10": None, "pm2_5": 12}
    assert hourly_aqi("HJ633-2026", missing="platform", **kw).na
    assert hourly_aqi("HJ633-2026", missing="present", **kw).aqi == 27
    # 大同大学: only PM10 missing → published (33) although ≤ 100.
    kw = {"so2": 4, "no2": 6, "co": 0.2, "o3": 104, "pm10": None, "pm2_5": 8}
    assert hourly_aqi("HJ633-2026", missing="platform", **kw).aqi == 33
    assert hourly_aqi("HJ633-2026", missing="na_rule", **kw).na
    # "/" (not in the plan) never counts as missing.
    kw = {"so2": 7, "no2": 16, "co": None, "o3": 69, "pm10": 34, "pm2_5": 18}
    assert hourly_aqi("HJ633-2026", missing="na_rule", not_monitored=["CO"], **kw).aqi == 34


def test_published_2026_rows_differ_under_2012() -> None:
    # 阿克苏 电视台 2026-03-10 08:00: PM10 191 → 128 under 2026 (published), 121 under 2012.
    kw = {"so2": 4, "no2": 12, "co": 0.9, "o3": 52, "pm10": 191, "pm2_5": 57}
    assert hourly_aqi("HJ633-2026", **kw).aqi == 128
    assert hourly_aqi("HJ633-2012", **kw).aqi == 121


conc = st.one_of(
    st.none(),
    st.floats(min_value=0, max_value=4000, allow_nan=False),
    st.decimals(min_value=0, max_value=700, places=2).map(float),
)


@settings(max_examples=150, deadline=None)
@given(
    st.sampled_from(BOTH),
    st.lists(st.tuples(conc, conc, conc, conc, conc, conc), min_size=1, max_size=20),
    st.sampled_from(["present", "strict", "na_rule", "platform"]),
)
def test_scalar_equals_bulk_hourly(version: str, rows: list[tuple], missing: str) -> None:
    rows = [
        (
            min(s, 800.0) if s is not None else None,
            n,
            c / 30 if c is not None else None,
            o,
            p10,
            p25,
        )
        for s, n, c, o, p10, p25 in rows
    ]
    cols = [
        np.array([np.nan if v is None else v for v in col], dtype=float)
        for col in zip(*rows, strict=True)
    ]
    bulk = hourly_aqi_array(
        version,
        so2=cols[0],
        no2=cols[1],
        co=cols[2],
        o3=cols[3],
        pm10=cols[4],
        pm2_5=cols[5],
        missing=missing,  # type: ignore[arg-type]
    )
    for i, (s, n, c, o, p10, p25) in enumerate(rows):
        r = hourly_aqi(version, so2=s, no2=n, co=c, o3=o, pm10=p10, pm2_5=p25, missing=missing)  # type: ignore[arg-type]
        got = None if np.isnan(bulk.aqi[i]) else int(bulk.aqi[i])
        assert got == r.aqi
        assert decode_mask(int(bulk.primary_mask[i])) == r.primary_pollutants
        assert decode_mask(int(bulk.exceeding_mask[i])) == r.exceeding_pollutants
        assert bool(bulk.na[i]) == r.na


@settings(max_examples=80, deadline=None)
@given(
    st.sampled_from(BOTH),
    st.lists(
        st.tuples(*[st.floats(min_value=0, max_value=1500, allow_nan=False)] * 7),
        min_size=1,
        max_size=10,
    ),
)
def test_scalar_equals_bulk_daily(version: str, rows: list[tuple[float, ...]]) -> None:
    rows = [(s, n, c / 10, *rest) for s, n, c, *rest in rows]
    cols = [np.array(col) for col in zip(*rows, strict=True)]
    bulk = daily_aqi_array(
        version,
        so2=cols[0],
        no2=cols[1],
        co=cols[2],
        o3_8h=cols[3],
        pm10=cols[4],
        pm2_5=cols[5],
        o3_1h=cols[6],
    )
    for i, (s, n, c, o8, p10, p25, o1) in enumerate(rows):
        r = daily_aqi(version, so2=s, no2=n, co=c, o3_8h=o8, pm10=p10, pm2_5=p25, o3_1h=o1)
        assert int(bulk.aqi[i]) == r.aqi
        assert decode_mask(int(bulk.primary_mask[i])) == r.primary_pollutants


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from(BOTH),
    st.sampled_from(["SO2_24H", "NO2_1H", "CO_1H", "O3_8H", "O3_1H", "PM10_1H", "PM2_5_24H"]),
    st.decimals(min_value=0, max_value=1200, places=2),
    st.decimals(min_value=0, max_value=50, places=2),
)
def test_iaqi_never_decreases(version: str, ind: str, c: Decimal, step: Decimal) -> None:
    if ind.startswith("CO"):
        c, step = c / 10, step / 10  # mg/m³
    a, b = iaqi(ind, c, version), iaqi(ind, c + step, version)
    if a is not None and b is not None:
        assert b >= a


pollutant_conc = st.decimals(min_value=0, max_value=3000, places=1)


@settings(max_examples=150, deadline=None)
@given(
    st.sampled_from(BOTH),
    st.tuples(*[pollutant_conc] * 6),
    st.integers(min_value=0, max_value=5),
    st.decimals(min_value=0, max_value=500, places=1),
)
def test_hourly_aqi_never_decreases(
    version: str, conc: tuple[Decimal, ...], which: int, step: Decimal
) -> None:
    """Raising one concentration never lowers the AQI. Under HJ 633-2012 the SO2 1-hour value is
    kept ≤ 800: above it the standard switches to the 24-hour IAQI, which can be lower (a
    discontinuity of the 2012 standard itself, removed in 2026)."""
    names = ("so2", "no2", "co", "o3", "pm10", "pm2_5")
    base = dict(zip(names, conc, strict=True))
    base["co"] = base["co"] / 30
    raised = dict(base)
    raised[names[which]] = base[names[which]] + (step / 10 if which == 2 else step)
    if version == "HJ633-2012":
        for d in (base, raised):
            d["so2"] = min(d["so2"], Decimal(800))
    a = hourly_aqi(version, **base).aqi  # type: ignore[arg-type]
    b = hourly_aqi(version, **raised).aqi  # type: ignore[arg-type]
    assert a is not None and b is not None and b >= a


def test_auto_table_and_level_index() -> None:
    from datetime import date

    from qingshan.standards.air.tables import aqi_table_for

    assert aqi_table_for("auto", date(2026, 2, 28)).id == "HJ633-2012"
    assert aqi_table_for("auto", date(2026, 3, 1)).id == "HJ633-2026"
    b = hourly_aqi_array(
        "HJ633-2026",
        so2=[1, 1, 1, np.nan],
        no2=[1, 1, 1, np.nan],
        co=[0.1, 0.1, 0.1, np.nan],
        o3=[1, 1, 1, np.nan],
        pm10=[1, 1, 1, np.nan],
        pm2_5=[35, 36, 600, np.nan],
    )
    assert b.aqi[:3].tolist() == [50, 52, 500] and np.isnan(b.aqi[3])
    assert b.level_index().tolist() == [0, 1, 5, -1]


# Tie-heavy values: CO on a 0.05 mg/m³ grid (every other value is an x.x5 tie at 0.1), the
# others on a 0.5 µg/m³ grid (every other value a .5 tie at integers).
tie_co = st.one_of(st.none(), st.integers(0, 600).map(lambda i: i * 0.05))
tie_ug = st.one_of(st.none(), st.integers(0, 1600).map(lambda i: i * 0.5))


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from(BOTH),
    st.lists(st.tuples(tie_ug, tie_ug, tie_co, tie_ug, tie_ug, tie_ug), min_size=1, max_size=30),
    st.sampled_from(["present", "strict", "na_rule", "platform"]),
)
def test_scalar_equals_bulk_hourly_on_ties(version: str, rows: list[tuple], missing: str) -> None:
    rows = [(min(r[0], 800.0) if r[0] is not None else None, *r[1:]) for r in rows]
    cols = [
        np.array([np.nan if v is None else v for v in col], dtype=float)
        for col in zip(*rows, strict=True)
    ]
    bulk = hourly_aqi_array(
        version,
        so2=cols[0],
        no2=cols[1],
        co=cols[2],
        o3=cols[3],
        pm10=cols[4],
        pm2_5=cols[5],
        missing=missing,  # type: ignore[arg-type]
    )
    for i, (s, n, c, o, p10, p25) in enumerate(rows):
        r = hourly_aqi(version, so2=s, no2=n, co=c, o3=o, pm10=p10, pm2_5=p25, missing=missing)  # type: ignore[arg-type]
        assert (None if np.isnan(bulk.aqi[i]) else int(bulk.aqi[i])) == r.aqi
        assert decode_mask(int(bulk.primary_mask[i])) == r.primary_pollutants
        # the scalar API reads each float as its decimal text: 0.15 → 0.2, 4.05 → 4.0
        if c is not None:
            assert r.iaqi["CO"] == iaqi("CO_1H", Decimal(repr(c)), version)


def test_ties_are_rounded_half_even_on_the_decimal_value() -> None:
    # 4.05 mg/m³ CO (24 h) → 4.0 → IAQI 100; 4.15 → 4.2 → 101; 75.5 µg/m³ PM2.5 → 76.
    assert iaqi_array("CO_24H", [4.05, 4.15, 4.25], "HJ633-2012").tolist() == [100, 101, 101]
    assert iaqi_array("PM2_5_24H", [74.5, 75.5], "HJ633-2012").tolist() == [99, 102]
