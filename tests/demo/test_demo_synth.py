import itertools
from datetime import datetime

import numpy as np
import pytest

from qingshan.demo import synth
from qingshan.demo.district import District, load_district
from qingshan.demo.synth import HOUR, MINUTE, Scenario, SynthError, SynthResult, generate
from support.aqi_check import daily, evaluate

ANCHOR = datetime(2026, 11, 26, 12)


@pytest.fixture(scope="module")
def district() -> District:
    return load_district()


@pytest.fixture(scope="module")
def year2020(district: District) -> SynthResult:
    return generate(district, datetime(2020, 1, 1), datetime(2021, 1, 1), kinds=["air", "micro"])


@pytest.fixture(scope="module")
def history(district: District) -> SynthResult:
    return generate(district, datetime(2025, 10, 1), datetime(2026, 11, 26, 12), anchor=ANCHOR)


def _months(s: synth.Series, *months: int) -> np.ndarray:
    m = s.time.astype("datetime64[M]").astype(int) % 12 + 1
    return np.isin(m, months) & (s.flag == "N")


def test_2020_matches_the_plans_baseline(district: District, year2020: SynthResult) -> None:
    # Plan (seed 000): 2020 had 354 good days of 366 (96.7 %), PM2.5 22, PM10 55 µg/m³.
    stations = []
    for st in synth.city_stations(district):
        by = {s.pollutant: (s.time, s.value, s.flag) for s in year2020.of_site(st.id)}
        stations.append(daily(by))
    y = evaluate(stations)
    assert y.days == 366
    assert abs(y.good - 354) <= 5, y  # 96.7 % ± 1.4 points
    assert abs(y.pm25 - 22) <= 2.0, y
    assert abs(y.pm10 - 55) <= 4.0, y
    assert 1 <= y.heavy_days <= 8, y  # "a handful of heavy-pollution days" (AQI > 200)
    assert y.so2 < 60 and y.no2 < 40  # the plan: all six items within Class II annual limits


def test_spring_dust_and_seasons(district: District, year2020: SynthResult) -> None:
    for st in synth.city_stations(district):
        pm10 = year2020.get(st.id, "a34002")
        pm25 = year2020.get(st.id, "a34004")
        spring = _months(pm10, 3, 4, 5)
        assert np.nanmax(pm10.value[spring]) > 400
        dusty = spring & (pm10.value > 400)
        assert np.nanmean(pm25.value[dusty] / pm10.value[dusty]) < 0.4  # coarse dust
        winter = np.nanmean(pm25.value[_months(pm25, 12, 1, 2)])
        summer = np.nanmean(pm25.value[_months(pm25, 6, 7, 8)])
        assert winter > 1.8 * summer


def test_diurnal_cycles(district: District, year2020: SynthResult) -> None:
    st = synth.city_stations(district)[0]
    o3 = year2020.get(st.id, "a05024")
    hour = (o3.time.astype("datetime64[h]").astype(int)) % 24
    summer = _months(o3, 6, 7, 8)
    profile = [np.nanmean(o3.value[summer & (hour == h)]) for h in range(24)]
    assert 13 <= int(np.argmax(profile)) <= 17
    assert max(profile) > 2 * min(profile)
    no2 = year2020.get(st.id, "a21004")
    ok = no2.flag == "N"
    assert np.nanmean(no2.value[ok & (hour == 8)]) > 1.2 * np.nanmean(no2.value[ok & (hour == 14)])


def test_spatial_differences(district: District, year2020: SynthResult) -> None:
    def annual(sid: str) -> float:
        s = year2020.get(sid, "a34004")
        return float(np.nanmean(s.value[s.flag == "N"]))

    city = np.mean([annual(s.id) for s in synth.city_stations(district)])
    background = [s for s in district.air_stations if s.background]
    assert annual(background[0].id) < 0.75 * city
    values = [annual(m.id) for m in district.micro_stations]
    assert np.std(values) / np.mean(values) > 0.1  # micro-sites differ
    assert 0.8 * city < np.mean(values) < 1.35 * city  # but all in the same city


def test_jinghe_ammonia_in_low_flow_months(district: District, history: SynthResult) -> None:
    balqiao = history.get("WS01", "w21003")  # 泾河八里桥, just below the city
    assert balqiao.interval_s == 4 * HOUR
    jan = _months(balqiao, 1)
    assert np.nanmean(balqiao.value[jan]) > 1.0  # monthly mean worse than Class Ⅲ
    assert np.nanmean(balqiao.value[_months(balqiao, 6, 7, 8)]) < 0.4
    pingzhen = history.get("WS02", "w21003")  # 国控
    assert np.sum(pingzhen.value[_months(pingzhen, 1)] > 1.0) > 0
    for s in district.sections:
        tp = history.get(s.id, "w21011")
        do = history.get(s.id, "w01009")
        assert np.nanpercentile(tp.value[tp.flag == "N"], 95) <= 0.2  # Class Ⅲ river TP
        assert np.nanmin(do.value[do.flag == "N"]) >= 5.0


def test_drinking_water_sources_compliant(district: District, history: SynthResult) -> None:
    for ws in district.water_sources:
        nh3 = history.get(ws.id, "w21003")
        codmn = history.get(ws.id, "w01019")
        ok = nh3.flag == "N"
        assert np.nanmax(nh3.value[ok]) <= 0.5  # GB 3838 Ⅱ / GB/T 14848 Ⅲ
        assert np.nanmax(codmn.value[codmn.flag == "N"]) <= 3.0  # 耗氧量 Ⅲ, CODMn Ⅱ
        if ws.water_type == "地下水":
            assert {s.pollutant for s in history.of_site(ws.id)} == set(synth.GROUND_SOURCE_CODES)


def _outlet(d: District, label: str):  # type: ignore[no-untyped-def]
    return next(o for e, o in d.outlets() if f"{e.id}/{o.code}" == label)


def test_outlets_mostly_compliant_with_scenario_episodes(
    district: District, history: SynthResult
) -> None:
    sc = Scenario()
    episodes = {(x[0], x[1]) for x in sc.exceed} | {(x[0], x[1]) for x in sc.recent_exceed}
    found = set()
    for e, o in district.outlets():
        label = f"{e.id}/{o.code}"
        for code, lim in o.category.limits.items():
            s = history.get(label, code)
            v = s.converted if s.converted is not None else s.value
            over = (s.flag == "N") & (v > lim)
            if over.any():
                found.add((label, code))
                assert (label, code) in episodes, (label, code, int(over.sum()))
                assert over.sum() <= 2 * 24  # the window spans parts of two years
    assert found == episodes
    kiln = history.get("E01/DA001", "a21002")
    assert kiln.converted is not None
    ok = kiln.flag == "N"
    o2 = history.get("E01/DA001", "a19001").value
    expect = kiln.converted * (21 - o2) / (21 - 10.0)
    assert np.allclose(kiln.value[ok], expect[ok], rtol=1e-3)  # inputs rounded to 0.01


def test_flags_offline_and_frozen_devices(district: District, history: SynthResult) -> None:
    boiler = history.get("E02/DA001", "a21026")  # heating boiler: stopped in summer
    assert np.all(boiler.flag[_months(boiler, 7) | (boiler.flag == "F")] == "F")
    assert {"N", "F", "C", "M"} <= set(boiler.flag.tolist())
    cal = boiler.flag == "C"
    assert np.all(boiler.value[cal] == 600.0)  # span gas at 2 × limit
    off = history.get("E12/DA001", "a34013")
    last9 = off.time > np.datetime64(ANCHOR) - np.timedelta64(9 * 24, "h")
    assert np.isnan(off.value[last9]).all() and set(off.flag[last9].tolist()) == {""}
    assert not np.isnan(off.value[~last9]).all()
    frozen = history.get("E15/DA001", "a21026")
    recent = frozen.time > np.datetime64(ANCHOR) - np.timedelta64(40 * 24, "h")
    assert np.ptp(frozen.value[recent & (frozen.flag == "N")]) == 0.0
    earlier = (~recent) & (frozen.flag == "N")
    assert np.ptp(frozen.value[earlier]) > 10.0
    flow = history.get("E15/DA001", "a00000")  # the plant still runs: flow varies
    assert np.ptp(flow.value[recent & (flow.flag == "N")]) > 0.5
    for s in history.series:
        assert s.simulated
        assert np.all(np.isnan(s.value) == (s.flag == ""))


def test_devices_match_the_district(district: District, history: SynthResult) -> None:
    mns = {label: dev.mn for label, dev in district.devices()}
    for s in history.series:
        assert s.mn == mns[s.site_id]
    assert {s.site_id for s in history.series} == set(mns)


def test_windows_agree_and_minutes_average_to_hours(district: District) -> None:
    long = generate(district, datetime(2026, 1, 1), datetime(2026, 3, 1), anchor=ANCHOR)
    short = generate(district, datetime(2026, 2, 10), datetime(2026, 2, 12), anchor=ANCHOR)
    for s in short.series:
        ref = long.get(s.site_id, s.pollutant)
        m = np.isin(ref.time, s.time)
        np.testing.assert_array_equal(ref.value[m], s.value)
        np.testing.assert_array_equal(ref.flag[m], s.flag)
    minutes = generate(
        district,
        datetime(2026, 2, 10, 6),
        datetime(2026, 2, 10, 9),
        step=MINUTE,
        anchor=ANCHOR,
        kinds=["air", "outlet"],
    )
    assert minutes.interval_s == MINUTE
    for s in minutes.series:
        assert len(s.time) == 180 and s.interval_s == MINUTE
        hourly = long.get(s.site_id, s.pollutant)
        for k in range(3):
            chunk = s.value[k * 60 : (k + 1) * 60]
            idx = np.flatnonzero(hourly.time == s.time[k * 60])[0]
            if np.isnan(hourly.value[idx]):
                assert np.isnan(chunk).all()
            else:
                tol = (
                    0.06
                    if s.pollutant in synth.AIR_CODES
                    else 0.002 + 1e-3 * abs(hourly.value[idx])
                )
                assert abs(float(np.mean(chunk)) - hourly.value[idx]) <= tol, s.site_id


def test_deterministic(district: District) -> None:
    a = generate(district, datetime(2026, 5, 1), datetime(2026, 5, 3), seed=7, kinds=["air"])
    b = generate(district, datetime(2026, 5, 1), datetime(2026, 5, 3), seed=7, kinds=["air"])
    c = generate(district, datetime(2026, 5, 1), datetime(2026, 5, 3), seed=8, kinds=["air"])
    pairs_ab = zip(a.series, b.series, strict=True)
    pairs_ac = zip(a.series, c.series, strict=True)
    assert all(np.array_equal(x.value, y.value, equal_nan=True) for x, y in pairs_ab)
    assert any(not np.array_equal(x.value, y.value, equal_nan=True) for x, y in pairs_ac)


def test_progress_is_reported(district: District) -> None:
    calls: list[tuple[int, int]] = []
    generate(
        district,
        datetime(2026, 5, 1),
        datetime(2026, 5, 2),
        kinds=["noise", "section"],
        progress=lambda done, total: calls.append((done, total)),
    )
    assert calls == [(i, 8) for i in range(1, 9)]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"start": datetime(2026, 2, 1), "end": datetime(2026, 1, 1)}, "empty window"),
        ({"start": datetime(2026, 1, 1, 0, 30)}, "not aligned"),
        ({"step": 30}, "step must be"),
        ({"step": MINUTE, "end": datetime(2026, 3, 1)}, "at most 31 days"),
        ({"kinds": ["air", "soil"]}, "unknown site kinds"),
        ({"seed": -1}, "non-negative integer"),
        ({"scenario": Scenario(offline="E99/DA001")}, "E99/DA001"),
        ({"scenario": Scenario(exceed=(("E01/DA002", "a21002", 1, 1, 1, 2.0),))}, "no limit"),
    ],
)
def test_bad_arguments(district: District, kwargs: dict[str, object], message: str) -> None:
    args: dict[str, object] = {"start": datetime(2026, 1, 1), "end": datetime(2026, 1, 2)}
    args.update(kwargs)
    with pytest.raises(SynthError, match=message):
        generate(district, **args)  # type: ignore[arg-type]


WATER_ITEMS = {"w01001": "ph", "w01009": "do", "w01019": "codmn", "w21003": "nh3n", "w21011": "tp"}


def _monthly_samples(result: SynthResult, site: str) -> dict[str, list[dict[str, float | None]]]:
    """Valid (flag N) samples of a water site grouped by month, as the standards engine wants."""
    series = {
        WATER_ITEMS[s.pollutant]: s for s in result.of_site(site) if s.pollutant in WATER_ITEMS
    }
    any_s = next(iter(series.values()))
    months = any_s.time.astype("datetime64[M]").astype(str)
    out: dict[str, list[dict[str, float | None]]] = {}
    for i, m in enumerate(months):
        sample = {k: (float(s.value[i]) if s.flag[i] == "N" else None) for k, s in series.items()}
        out.setdefault(str(m), []).append(sample)
    return out


def test_sections_by_the_standards_engine(district: District, history: SynthResult) -> None:
    # GB 3838-2002 monthly evaluation by qingshan.standards.water: the plan says the sections
    # meet Class Ⅲ, with 氨氮 over the limit in individual low-flow months on 泾河.
    from qingshan.standards.water import WaterClass, section_assessment

    worse: dict[str, list[str]] = {}
    for s in district.sections:
        target = WaterClass.parse(s.target_class)
        for month, samples in _monthly_samples(history, s.id).items():
            a = section_assessment(samples, target_class=target)
            if not a.meets_target:
                worse.setdefault(s.name, []).append(month)
                assert a.water_class is WaterClass.IV and "nh3n" in a.assessment.worst_items
        everything = [x for v in _monthly_samples(history, s.id).values() for x in v]
        assert section_assessment(everything, target_class=target).meets_target
    assert worse == {"泾河八里桥": ["2026-01"]}


def test_sources_by_the_standards_engine(district: District, history: SynthResult) -> None:
    from qingshan.standards.water import WaterbodyType, WaterClass, classify_sample

    for ws in district.water_sources:
        if ws.water_type != "地表水":
            continue
        for samples in _monthly_samples(history, ws.id).values():
            for sample in samples:
                if all(v is None for v in sample.values()):
                    continue  # nothing valid received (maintenance or a lost packet)
                a = classify_sample(sample, WaterbodyType.LAKE)
                assert a.water_class is not None and a.water_class <= WaterClass.III


def test_records_are_plain_rows(history: SynthResult) -> None:
    s = history.get("E12/DA001", "a21002")  # includes the offline days
    rows = list(s.records())
    assert len(rows) == int(s.received().sum()) < len(s.time)
    t, v, f, c = rows[0]
    assert isinstance(t, datetime) and t == s.time[0].astype(datetime)
    assert isinstance(v, float) and f in {"N", "C", "M", "F"} and isinstance(c, float)
    assert all(r[0] < q[0] for r, q in itertools.pairwise(rows))
