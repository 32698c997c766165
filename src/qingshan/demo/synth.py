"""Believable simulated (模拟数据) monitoring series for the sample district.

Pure and vectorised (numpy): ``generate(district, start, end)`` returns one :class:`Series`
per site and pollutant, with a time array, a value array (NaN = nothing received) and an
HJ 212 data-flag array (N 正常, M 维护, C 校准, F 停运, D 故障; "" where nothing was received).
Nothing here touches storage or the network; the lead wires the series into both.

Times are naive **Beijing time** (UTC+8), as field devices stamp ``DataTime``; each value is the
mean over the interval that *starts* at its time stamp.

Determinism: every random draw is seeded from ``seed`` and the *absolute* calendar block it
belongs to (the calendar year for regional weather and episodes, the calendar month for
site and minute noise), never from the window. So the slice of a 13-month history and a
separately generated 3-day window agree, and the minute values of an hour average to that
hour's value (exactly before rounding to the reported digits).

The model (documented where it is built):

Air (HJ 633 pollutants; µg/m³, CO mg/m³). A regional daily "weather" factor (log-normal,
AR(1)-like smoothed, σ = 0.45 for particles) drives all stations. PM2.5 rises by a factor 2.1
in the heating season (1 Nov – 31 Mar, Pingliang's heating period); coarse particles (PM10 −
PM2.5) peak in spring; 4 spring dust events per year add 420–700 µg/m³ to hourly PM10 at their
peak (yearly maxima ≈ 750–1 300 µg/m³ at the city stations), with a PM2.5/PM10 ratio of 0.2 for
the dust; 2 winter heavy-pollution episodes multiply PM2.5 up to ×5 over three days; O3 follows
insolation (summer, clear days) with a 15:00 peak; NO2 and CO have morning/evening traffic
peaks; SO2 follows coal heating. Station multipliers give spatial differences (the 崆峒山
background station is cleaner; each micro-station has its own micro-site factor and sensor
bias). Calibrated so that 2020 in the four urban national stations gives PM2.5 ≈ 22 µg/m³, PM10
≈ 55 µg/m³ and ≈ 96.7 % good days (the plan's baseline); see ``tests/demo/test_demo_synth.py`` and
``docs/demo.md`` for the achieved figures.

Water (GB 3838 items, every 4 hours as the national automatic stations publish). Levels are
set from the real 泾河 stations (弹筝峡, 长庆桥) in ``tests/data/oracles/water``: pH ≈ 8.3,
DO 8–12 mg/L, CODMn ≈ 2, TN 3–5; NH3-N rises in the low-flow months (peak in mid-January)
and exceeds Class Ⅲ (1.0 mg/L) below the city, as the plan reports (泾河个别月份氨氮超标).
Drinking-water sources stay well within Class Ⅲ.

Outlets (CEMS and water analysers). Each outlet runs on its industry's schedule (heating
boilers Nov–Mar, cement 错峰生产 Dec–Feb, brick kilns stop around the Spring Festival,
machining day shifts) and reports F when stopped. Converted (折算) concentrations sit at a
fraction of the limit; measured values follow from O2: C_measured = C_ref · (21 − O2) /
(21 − O2_ref) (GB 13271 / GB 29620 / GB 4915 折算 formula). Weekly calibration hours (C),
monthly maintenance (M), a handful of exceedance episodes per year, one device offline for
the last days before ``anchor`` and one device whose pollutant values are frozen at a constant
(the 数据造假 pattern) for the last weeks before ``anchor``.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import cast

import numpy as np
import numpy.typing as npt

from qingshan.clock import CST
from qingshan.demo.district import AirStation, District, Enterprise, Outlet

F64 = npt.NDArray[np.float64]
BJT = CST
HOUR = 3600
MINUTE = 60
WATER_STEP = 4 * HOUR  # national automatic surface-water stations publish every 4 hours

AIR_CODES = ("a21026", "a21004", "a21005", "a05024", "a34002", "a34004")
AIR_UNITS = {
    "a21026": "μg/m³",
    "a21004": "μg/m³",
    "a21005": "mg/m³",
    "a05024": "μg/m³",
    "a34002": "μg/m³",
    "a34004": "μg/m³",
}
SECTION_CODES = ("w01010", "w01001", "w01009", "w01019", "w21003", "w21011", "w21001")
GROUND_SOURCE_CODES = ("w01010", "w01001", "w01019", "w21003")
WATER_UNITS = {
    "w01010": "℃",
    "w01001": "无量纲",
    "w01009": "mg/L",
    "w01019": "mg/L",
    "w21003": "mg/L",
    "w21011": "mg/L",
    "w21001": "mg/L",
}
NOISE_CODE = "LAeq"  # equivalent continuous A-weighted level; not an HJ 212-2017 code


class SynthError(ValueError):
    """Bad arguments to the generator (empty or reversed window, unknown step ...)."""


@dataclass(frozen=True, slots=True)
class Series:
    """One simulated series: a site's (or outlet's) values of one pollutant.

    ``value`` is NaN where nothing was received (``flag`` is then ""). ``converted`` holds the
    折算 concentration for gas pollutants limited at a reference O2 content, else None.
    """

    site_id: str  # station id (AQ01, WZ07, WS02, DW03, NS01) or "E01/DA001"
    mn: str
    pollutant: str
    unit: str
    interval_s: int
    time: npt.NDArray[np.datetime64]
    value: F64
    flag: npt.NDArray[np.str_]
    converted: F64 | None = None
    simulated: bool = True  # always: every value here is 模拟数据

    def received(self) -> npt.NDArray[np.bool_]:
        return ~np.isnan(self.value)

    def records(self) -> Iterator[tuple[datetime, float, str, float | None]]:
        """Received values as plain rows (time, value, flag, converted-or-None), in time order;
        intervals where nothing was received are skipped."""
        idx = np.flatnonzero(self.received())
        times = self.time[idx].astype("datetime64[s]").astype(datetime)
        conv = self.converted
        for k, i in enumerate(idx):
            c = None if conv is None or np.isnan(conv[i]) else float(conv[i])
            yield times[k], float(self.value[i]), str(self.flag[i]), c


@dataclass(frozen=True, slots=True)
class SynthResult:
    start: datetime
    end: datetime
    interval_s: int
    series: list[Series] = field(default_factory=list)
    notice: str = "模拟数据：由青山示例生成器生成，不代表真实监测结果。"

    def get(self, site_id: str, pollutant: str) -> Series:
        for s in self.series:
            if s.site_id == site_id and s.pollutant == pollutant:
                return s
        raise KeyError(f"no series for {site_id} {pollutant}")

    def of_site(self, site_id: str) -> list[Series]:
        return [s for s in self.series if s.site_id == site_id]


# --------------------------------------------------------------------------- time and noise


def _naive_bjt(t: datetime) -> datetime:
    if t.tzinfo is not None:
        return t.astimezone(BJT).replace(tzinfo=None)
    return t


def _grid(start: datetime, end: datetime, step: int) -> npt.NDArray[np.datetime64]:
    a = np.datetime64(start, "s")
    b = np.datetime64(end, "s")
    return np.arange(a, b, np.timedelta64(step, "s"))


def _r(x: object, digits: int = 0) -> F64:
    """Round to ``digits`` decimals, as devices report (and keep the array float64)."""
    a: F64 = np.asarray(x, dtype=np.float64)
    return cast(F64, np.round(a, digits))


def _key(*parts: object) -> int:
    """A stable 32-bit seed component from names (crc32; Python's hash() is salted)."""
    return zlib.crc32("|".join(str(p) for p in parts).encode("utf-8"))


def _rng(seed: int, *parts: object) -> np.random.Generator:
    return np.random.default_rng([seed, _key(*parts)])


def _smooth(rng: np.random.Generator, n: int, phi: float, lags: int = 48) -> F64:
    """Unit-variance noise with AR(1)-like autocorrelation ≈ phi^lag: white noise convolved
    with the truncated kernel phi^i (i < lags), normalised to variance 1."""
    k = phi ** np.arange(lags, dtype=np.float64)
    k /= np.sqrt(np.sum(k * k))
    w = rng.standard_normal(n + lags - 1)
    return np.convolve(w, k, mode="valid")[:n]


def _month_blocks(t: npt.NDArray[np.datetime64]) -> list[tuple[int, int, int, int]]:
    """(year, month, i0, i1) index ranges of ``t`` falling in each calendar month."""
    months = t.astype("datetime64[M]")
    out: list[tuple[int, int, int, int]] = []
    if len(t) == 0:
        return out
    edges = np.flatnonzero(months[1:] != months[:-1]) + 1
    starts = np.concatenate(([0], edges))
    ends = np.concatenate((edges, [len(t)]))
    for i0, i1 in zip(starts, ends, strict=True):
        m = months[i0].astype(object)
        out.append((m.year, m.month, int(i0), int(i1)))
    return out


def _site_noise(
    seed: int, t: npt.NDArray[np.datetime64], step: int, phi: float, *name: object
) -> F64:
    """Unit-variance smooth noise for a site/pollutant, seeded per calendar month so any
    window reproduces the same values. Each month's block is drawn for the whole month."""
    out = np.empty(len(t), dtype=np.float64)
    for year, month, i0, i1 in _month_blocks(t):
        m0 = np.datetime64(f"{year:04d}-{month:02d}", "s")
        m1 = (np.datetime64(f"{year:04d}-{month:02d}", "M") + 1).astype("datetime64[s]")
        n = int((m1 - m0) // np.timedelta64(step, "s"))
        block = _smooth(_rng(seed, "site", step, year, month, *name), n, phi)
        offset = ((t[i0:i1] - m0) // np.timedelta64(step, "s")).astype(np.int64)
        out[i0:i1] = block[offset]
    return out


def _calendar(t: npt.NDArray[np.datetime64]) -> tuple[F64, F64, npt.NDArray[np.int64]]:
    """Day of year (1-based, float), local hour (float, fractional for minutes), weekday."""
    days = t.astype("datetime64[D]")
    years = t.astype("datetime64[Y]")
    doy = (days - years.astype("datetime64[D]")).astype(np.float64) + 1.0
    hour = (t - days).astype("timedelta64[s]").astype(np.float64) / 3600.0
    weekday = ((days.astype(np.int64) + 3) % 7).astype(np.int64)  # 1970-01-01 was Thursday
    return doy, hour, weekday


def _ramp(doy: F64, on: float, off: float, width: float = 6.0) -> F64:
    """Smooth 0→1 season indicator, 1 from day ``on`` through the new year to day ``off``."""
    up = 1.0 / (1.0 + np.exp(-(doy - on) / width))
    down = 1.0 / (1.0 + np.exp((doy - off) / width))
    return np.clip(up + down, 0.0, 1.0)


def heating_weight(doy: F64) -> F64:
    """Heating season of the Pingliang area: 1 Nov (day 305) to 31 Mar (day 90)."""
    return _ramp(doy, 305.0, 90.0)


# --------------------------------------------------------------------------- regional weather


@dataclass(frozen=True, slots=True)
class _Year:
    """Regional daily drivers of one calendar year (indexed by day of year − 1)."""

    met: F64  # stagnation factor, log-normal mean 1
    sun: F64  # clear-sky factor for O3, log-normal mean 1
    coarse: F64  # coarse-dust factor
    heavy: F64  # multiplier on PM2.5 from heavy-pollution episodes (1 outside them)
    dust_hours: list[tuple[float, float, float]]  # (start hour of year, duration h, peak)


def _year(seed: int, year: int) -> _Year:
    rng = _rng(seed, "year", year)
    ndays = 366 if (year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)) else 365
    sig = 0.45
    met = np.exp(sig * _smooth(rng, ndays, 0.6, 15) - sig * sig / 2.0)
    sun = np.exp(0.1 * _smooth(rng, ndays, 0.5, 10) - 0.1**2 / 2.0)
    coarse = np.exp(0.3 * _smooth(rng, ndays, 0.5, 10) - 0.3**2 / 2.0)
    heavy = np.ones(ndays)
    # Two winter heavy-pollution episodes (重污染过程), three days each: build-up, peak,
    # clearing. One in Dec, one in Jan (day index of the year; Dec wraps to this year's end).
    for lo, hi, peak in ((335, 355, 5.0), (5, 30, 3.6)):
        d0 = int(rng.integers(lo, hi))
        for k, f in enumerate((0.55, 1.0, 0.45)):
            if d0 + k < ndays:
                heavy[d0 + k] *= 1.0 + (peak - 1.0) * f
    # Four spring dust events (沙尘) between 1 Mar (day 60) and 20 May (day 140).
    dust: list[tuple[float, float, float]] = []
    days = np.sort(rng.choice(np.arange(60, 140), size=4, replace=False))
    for d in days:
        start = float(d) * 24.0 + float(rng.uniform(10.0, 17.0))
        dust.append((start, float(rng.uniform(8.0, 16.0)), float(rng.uniform(420.0, 700.0))))
    return _Year(met=met, sun=sun, coarse=coarse, heavy=heavy, dust_hours=dust)


@dataclass(frozen=True, slots=True)
class _Regional:
    """Regional drivers on a time grid (the grid itself is kept for site noise)."""

    t: npt.NDArray[np.datetime64]
    step: int
    doy: F64
    hour: F64
    weekday: npt.NDArray[np.int64]
    met: F64
    sun: F64
    coarse: F64
    heavy: F64
    dust: F64  # additional PM10 from dust, µg/m³


def _regional(seed: int, t: npt.NDArray[np.datetime64], step: int) -> _Regional:
    doy, hour, weekday = _calendar(t)
    n = len(t)
    met, sun, coarse, heavy = np.ones(n), np.ones(n), np.ones(n), np.ones(n)
    dust = np.zeros(n)
    years = t.astype("datetime64[Y]").astype(np.int64) + 1970
    for y in np.unique(years):
        sel = years == y
        yr = _year(seed, int(y))
        # position on the daily grid (value of day d sits at its noon); interpolation keeps
        # day-to-day transitions smooth
        pos = doy[sel] - 1.0 + hour[sel] / 24.0 - 0.5
        idx = np.arange(len(yr.met), dtype=np.float64)
        met[sel] = np.interp(pos, idx, yr.met)
        sun[sel] = np.interp(pos, idx, yr.sun)
        coarse[sel] = np.interp(pos, idx, yr.coarse)
        heavy[sel] = np.interp(pos, idx, yr.heavy)
        hoy = (doy[sel] - 1.0) * 24.0 + hour[sel]
        d = np.zeros(int(sel.sum()))
        for start, dur, peak in yr.dust_hours:
            # fast rise, slower decay: x² e^(2−2x) reaches 1 at x = 1
            x = np.clip((hoy - start) / dur, 0.0, None)
            d += peak * x * x * np.exp(2.0 - 2.0 * x)
        dust[sel] = d
    return _Regional(t, step, doy, hour, weekday, met, sun, coarse, heavy, dust)


# --------------------------------------------------------------------------- air


@dataclass(frozen=True, slots=True)
class _AirProfile:
    """Multipliers of one station: primary particles, traffic gases, coal gases, O3."""

    pm: float
    traffic: float
    coal: float
    o3: float
    noise_sd: float


def _air_profile(district: District, st: AirStation) -> _AirProfile:
    if st.background:
        return _AirProfile(pm=0.62, traffic=0.3, coal=0.5, o3=1.12, noise_sd=0.18)
    if st.kind == "国控":
        # small, stable differences between the urban national stations
        k = (_key(st.id) % 1000) / 1000.0
        return _AirProfile(0.94 + 0.12 * k, 0.9 + 0.25 * k, 0.95 + 0.1 * k, 1.0, 0.2)
    # micro-stations (low-cost sensors in the central city): each sits at its own micro-site
    # (road side, construction site, park ...), a stable multiplier of 0.8–1.35, plus a
    # sensor bias within ±10 %; street units carry more traffic than the town fringes
    town = district.township(st.township)
    site = 0.8 + 0.55 * ((_key(st.id, "site") % 1000) / 1000.0)
    bias = 1.0 + ((_key(st.id, "bias") % 200) - 100) / 1000.0
    traffic = (1.15 if town.kind == "街道" else 0.85) * site
    return _AirProfile(pm=site * bias, traffic=traffic, coal=site, o3=1.0, noise_sd=0.3)


def _diurnal_pm(h: F64) -> F64:
    """Morning (≈9 h) and late-evening (≈21 h) peaks, afternoon mixing minimum; mean 1."""
    return (
        1.0
        + 0.17 * np.cos(2 * np.pi * (h - 9.0) / 12.0)
        + 0.08 * np.cos(2 * np.pi * (h - 3.0) / 24.0)
    )


def _diurnal_traffic(h: F64) -> F64:
    """Rush hours at 8:30 and 19:30, midday dip; mean ≈ 1."""
    g = 0.44 * np.exp(-(((h - 8.5) / 1.8) ** 2)) + 0.44 * np.exp(-(((h - 19.5) / 2.2) ** 2))
    return (1.0 + g - 0.5 * np.exp(-(((h - 14.5) / 3.0) ** 2))) / 1.05


def _o3_shape(h: F64) -> F64:
    """Fraction of the day's 1-hour maximum: night floor 0.3, peak at 15:00."""
    return 0.3 + 0.7 * np.exp(-(((h - 15.0) / 3.6) ** 2))


# Calibrated regional levels (module docstring; checked in tests/demo/test_demo_synth.py).
PM25_BASE = 13.6  # µg/m³ outside the heating season, before weather
PM25_HEATING = 1.1  # extra factor in the heating season
COARSE_BASE = 22.0  # µg/m³ of PM10 − PM2.5
COARSE_SPRING = 0.7  # extra coarse factor in spring (Mar–May)


def _air_values(seed: int, reg: _Regional, prof: _AirProfile, site: str) -> dict[str, F64]:
    doy, h = reg.doy, reg.hour
    heat = heating_weight(doy)
    spring = _ramp(doy, 55.0, 150.0, 8.0) * (doy < 200)
    summer = 0.5 * (1.0 - np.cos(2 * np.pi * (doy - 20.0) / 365.25))  # 0 late Jan, 1 late Jul
    winter = 1.0 - summer

    def noise(code: str, sd: float) -> F64:
        z = _site_noise(seed, reg.t, reg.step, 0.9, site, code)
        return np.exp(sd * z - sd * sd / 2.0)

    sd = prof.noise_sd
    pm25 = PM25_BASE * (1.0 + PM25_HEATING * heat) * reg.met * reg.heavy
    pm25 = pm25 * _diurnal_pm(h) * prof.pm * noise("a34004", sd)
    coarse = COARSE_BASE * (1.0 + COARSE_SPRING * spring) * reg.coarse * np.sqrt(reg.met)
    coarse = coarse * prof.pm * noise("a34002", sd * 1.1)
    dust = reg.dust * prof.pm**0.3 * noise("dust", 0.15)
    pm10 = pm25 + coarse + dust
    pm25 = pm25 + 0.2 * dust
    no2 = (18.0 + 14.0 * winter) * np.sqrt(reg.met) * _diurnal_traffic(h) * prof.traffic
    no2 = no2 * noise("a21004", sd)
    so2 = (6.0 + 16.0 * heat) * reg.met**0.7 * prof.coal * noise("a21026", sd)
    so2 = so2 * (1.0 + 0.25 * np.cos(2 * np.pi * (h - 10.0) / 24.0))
    co = (0.45 + 0.65 * heat) * reg.met**0.6 * (0.7 + 0.3 * _diurnal_traffic(h))
    co = co * (0.5 + 0.5 * prof.traffic) * noise("a21005", sd * 0.8)
    # O3 follows insolation (summer, clear days); titration by NO2 lowers it near traffic
    o3max = (60.0 + 72.0 * summer**1.3) * reg.sun**2 / reg.met**0.25 * prof.o3
    o3 = o3max * _o3_shape(h) * (1.0 - 0.2 * np.clip(no2 / 80.0, 0.0, 1.0))
    o3 = o3 * noise("a05024", sd * 0.6)
    return {
        "a21026": np.maximum(_r(so2), 1.0),
        "a21004": np.maximum(_r(no2), 1.0),
        "a21005": np.maximum(_r(co, 1), 0.1),
        "a05024": np.maximum(_r(o3), 1.0),
        "a34002": np.maximum(_r(pm10), 1.0),
        "a34004": np.maximum(_r(pm25), 1.0),
    }


# Span-gas readings reported during calibration hours (flag C): 80 % of a typical range.
AIR_SPAN = {"a21026": 400.0, "a21004": 400.0, "a21005": 8.0, "a05024": 400.0}


def _air_series(
    seed: int, reg: _Regional, district: District, st: AirStation, index: int
) -> list[Series]:
    vals = _air_values(seed, reg, _air_profile(district, st), st.id)
    n = len(reg.t)
    flags = {c: np.full(n, "N", dtype="<U1") for c in AIR_CODES}
    day = reg.t.astype("datetime64[D]")
    dom = (day - day.astype("datetime64[M]").astype("datetime64[D]")).astype(np.int64) + 1
    hr = np.floor(reg.hour).astype(np.int64)
    # weekly zero/span check of the gas analysers (national stations), one station per weekday
    if st.kind == "国控":
        cal = (reg.weekday == index % 7) & (hr == 2)
        for c, span in AIR_SPAN.items():
            vals[c] = np.where(cal, span, vals[c])
            flags[c][cal] = "C"
    # monthly maintenance, 4 hours on a station-specific day
    maint = (dom == 3 + index % 25) & (hr >= 9) & (hr < 13)
    for c in AIR_CODES:
        flags[c][maint] = "M"
    # sensor fault (D) at one micro-station: two days in April each year
    if st.id == FAULTY_MICRO:
        fault = (reg.doy >= 100) & (reg.doy < 102)
        for c in ("a34002", "a34004"):
            vals[c] = np.where(fault, 0.0, vals[c])
            flags[c][fault] = "D"
    # lost packets: ~0.4 % of intervals, in short runs
    lost = _site_noise(seed, reg.t, reg.step, 0.7, st.id, "lost") > 2.65
    out = []
    for c in AIR_CODES:
        v = np.where(lost, np.nan, vals[c])
        f = flags[c]
        f[lost] = ""
        out.append(Series(st.id, st.device.mn, c, AIR_UNITS[c], reg.step, reg.t, v, f))
    return out


FAULTY_MICRO = "WZ30"


# --------------------------------------------------------------------------- water


def _water_series(
    seed: int, t: npt.NDArray[np.datetime64], site: str, mn: str, kind: str, weight: float
) -> list[Series]:
    """Surface-water section (kind "section"), surface source ("surface") or groundwater
    source ("ground"). ``weight`` scales the urban NH3-N load (1 = just below the city)."""
    doy, hour, weekday = _calendar(t)
    summer = 0.5 * (1.0 - np.cos(2 * np.pi * (doy - 20.0) / 365.25))
    # low flow (枯水期) peaks in mid-January: little dilution of the city's effluent
    dist = np.minimum(np.abs(doy - 20.0), 365.25 - np.abs(doy - 20.0))
    lowflow = np.exp(-((dist / 38.0) ** 2))
    step = WATER_STEP

    def z(code: str, phi: float = 0.8) -> F64:
        noise = _site_noise(seed, t, step, phi, site, code)
        # drinking-water sources stay compliant: no 4-sigma tails
        return noise if kind == "section" else np.clip(noise, -3.0, 3.0)

    vals: dict[str, F64] = {}
    if kind == "ground":
        vals["w01010"] = _r(11.5 + 1.5 * summer + 0.2 * z("w01010"), 1)
        vals["w01001"] = _r(7.7 + 0.08 * z("w01001"), 2)
        vals["w01019"] = _r(0.8 * np.exp(0.15 * z("w01019")), 2)
        vals["w21003"] = _r(0.05 * np.exp(0.3 * z("w21003")), 3)
    else:
        temp = 2.0 + 20.0 * summer + 1.2 * np.sin(2 * np.pi * (hour - 9.0) / 24.0)
        temp = np.clip(temp + 0.6 * z("w01010"), 0.2, None)
        # DO near saturation (Benson-Krause-like fit in mg/L) at ~1 400 m altitude (×0.85)
        sat = (14.62 - 0.3898 * temp + 0.006969 * temp**2 - 5.897e-5 * temp**3) * 0.85
        vals["w01010"] = _r(temp, 1)
        vals["w01001"] = _r(8.3 + 0.12 * z("w01001") + 0.1 * summer, 2)
        vals["w01009"] = _r(sat * (1.02 + 0.04 * z("w01009")), 2)
        if kind == "section":
            storm = np.clip(z("storm", 0.95), 0.0, None) * summer  # summer floods: more COD/TP
            vals["w01019"] = _r((1.7 + 0.9 * storm) * np.exp(0.15 * z("w01019")), 2)
            nh3 = (0.12 + weight * (0.08 + 0.86 * lowflow)) * np.exp(0.25 * z("w21003"))
            vals["w21003"] = _r(nh3, 3)
            vals["w21011"] = _r((0.05 + 0.07 * storm) * np.exp(0.25 * z("w21011")), 3)
            vals["w21001"] = _r((3.4 + 1.2 * lowflow) * np.exp(0.1 * z("w21001")), 2)
        else:  # protected reservoir: clean, low nutrients
            vals["w01019"] = _r(1.6 * np.exp(0.15 * z("w01019")), 2)
            vals["w21003"] = _r(0.08 * np.exp(0.3 * z("w21003")), 3)
            vals["w21011"] = _r(0.018 * np.exp(0.25 * z("w21011")), 3)
            vals["w21001"] = _r(0.6 * np.exp(0.15 * z("w21001")), 2)
    n = len(t)
    hr = np.floor(hour).astype(np.int64)
    day = t.astype("datetime64[D]")
    dom = (day - day.astype("datetime64[M]").astype("datetime64[D]")).astype(np.int64) + 1
    cal = (weekday == _key(site) % 7) & (hr == 8)  # weekly standard-solution check
    maint = (dom == 5 + _key(site, "m") % 20) & (hr >= 8) & (hr < 16)
    lost = z("lost", 0.5) > 2.75
    out = []
    for code, v in vals.items():
        f = np.full(n, "N", dtype="<U1")
        if code not in ("w01010", "w01001"):
            f[cal] = "C"
        f[maint] = "M"
        f[lost] = ""
        out.append(Series(site, mn, code, WATER_UNITS[code], step, t, np.where(lost, np.nan, v), f))
    return out


# --------------------------------------------------------------------------- outlets


@dataclass(frozen=True, slots=True)
class _OutletProfile:
    o2: float  # measured O2, %
    flow: float  # a00000 m³/s or w00000 L/s
    temp: float  # ℃
    velocity: float  # m/s
    humidity: float  # %
    frac: dict[str, float]  # converted concentration as a fraction of the limit


PROFILES: dict[str, _OutletProfile] = {
    "GB13271-2014/燃煤锅炉": _OutletProfile(
        9.6, 30.0, 52.0, 12.0, 11.0, {"a34013": 0.3, "a21026": 0.38, "a21002": 0.55}
    ),
    "GB13271-2014/燃气锅炉": _OutletProfile(
        4.6, 6.0, 85.0, 9.0, 12.0, {"a34013": 0.22, "a21026": 0.12, "a21002": 0.45}
    ),
    "GB29620-2013/人工干燥及焙烧": _OutletProfile(
        17.4, 22.0, 62.0, 10.0, 14.0, {"a34013": 0.42, "a21026": 0.45, "a21002": 0.38}
    ),
    "GB4915-2013/水泥窑": _OutletProfile(
        10.6, 95.0, 112.0, 15.0, 8.0, {"a34013": 0.3, "a21026": 0.15, "a21002": 0.62}
    ),
    "GB4915-2013/冷却机煤磨": _OutletProfile(20.4, 70.0, 108.0, 14.0, 2.0, {"a34013": 0.35}),
    "GB4915-2013/水泥制品": _OutletProfile(20.8, 2.0, 18.0, 8.0, 3.0, {"a34013": 0.3}),
    "GB16297-1996/非甲烷总烃": _OutletProfile(20.8, 5.0, 28.0, 9.0, 4.0, {"a24088": 0.22}),
    "GB16297-1996/颗粒物": _OutletProfile(20.8, 4.0, 24.0, 10.0, 3.0, {"a34013": 0.1}),
    "GB3544-2008/造纸企业": _OutletProfile(
        0.0, 25.0, 24.0, 0.0, 0.0, {"w01018": 0.55, "w21003": 0.3, "w21001": 0.5, "w21011": 0.4}
    ),
    "GB18918-2002/一级A": _OutletProfile(
        0.0, 850.0, 16.0, 0.0, 0.0, {"w01018": 0.55, "w21003": 0.2, "w21001": 0.6, "w21011": 0.45}
    ),
}


def _schedule(e: Enterprise, o: Outlet, t: npt.NDArray[np.datetime64]) -> npt.NDArray[np.bool_]:
    """When the outlet's source is running (GB/T 4754 class decides)."""
    doy, hour, weekday = _calendar(t)
    code = e.industry_code
    if code == "4430":  # heating season only
        return heating_weight(doy) > 0.5
    if code == "3011":  # cement: 错峰生产 1 Dec – end Feb
        return ~((doy >= 335) | (doy < 60))
    if code in ("3031", "3024"):  # brick/building blocks: winter stop around Spring Festival
        return ~((doy >= 20) & (doy < 57))
    if code in ("3311", "3481"):  # machining and painting: day shift, Mon–Sat
        shift: npt.NDArray[np.bool_] = (weekday != 6) & (hour >= 8.0) & (hour < 18.0)
        return shift
    if code == "3021":  # ready-mix concrete: daytime, no work in Jan–Feb
        return (hour >= 7.0) & (hour < 19.0) & (doy >= 60)
    if code == "1371":  # apple processing: Sep – Mar
        return (doy >= 244) | (doy < 91)
    return np.ones(len(t), dtype=bool)


@dataclass(frozen=True, slots=True)
class Scenario:
    """Which outlets misbehave, and how. Ids refer to ``enterprises.toml``.

    exceed: (outlet, pollutant, day of year, start hour, duration h, factor × limit),
    repeated every year. recent_exceed: same but placed ``hours_before`` the anchor.
    offline: outlet sending nothing for ``offline_days`` before the anchor.
    frozen: outlet whose pollutant values are constant for ``frozen_days`` before the anchor.
    """

    exceed: tuple[tuple[str, str, int, int, int, float], ...] = (
        ("E01/DA001", "a21002", 130, 14, 9, 1.35),  # cement NOx: SNCR ammonia supply failure
        ("E04/DA001", "a21026", 290, 6, 20, 1.45),  # brick kiln SO2: desulfurisation stopped
        ("E02/DA001", "a34013", 20, 18, 5, 1.6),  # coal boiler dust: bag filter damage
        ("E03/DW001", "w01018", 200, 2, 20, 1.4),  # paper mill COD: treatment upset
        ("E24/DW001", "w21003", 25, 1, 22, 1.5),  # WWTP NH3-N: cold-water nitrification loss
    )
    recent_exceed: tuple[tuple[str, str, int, int, float], ...] = (
        ("E09/DA001", "a21002", 30, 3, 1.3),  # brick kiln NOx, 30 h before the anchor
    )
    offline: str = "E12/DA001"
    offline_days: int = 9
    frozen: str = "E15/DA001"
    frozen_days: int = 40
    # a past heavy-pollution warning (重污染天气预警, see warning_window): outlets that carry
    # out their 应急减排 measure while it holds, with the factor on their production (flow);
    # 0 = 停产 (F records). The other listed enterprises run on (the board shows 未见下降).
    warning_days_before: int = 8
    warning_hours: int = 72
    curtailed: tuple[tuple[str, float], ...] = (("E08/DA001", 0.4), ("E10/DA001", 0.0))


def warning_window(anchor: datetime, sc: Scenario | None = None) -> tuple[datetime, datetime]:
    """[start, end) (Beijing time) of the scenario's past heavy-pollution warning: from 00:00
    of the day ``warning_days_before`` days before the anchor, ``warning_hours`` long."""
    sc = sc or Scenario()
    day = _naive_bjt(anchor).replace(hour=0, minute=0, second=0, microsecond=0)
    start = day - timedelta(days=sc.warning_days_before)
    return start, start + timedelta(hours=sc.warning_hours)


def _outlet_series(
    seed: int,
    t: npt.NDArray[np.datetime64],
    step: int,
    e: Enterprise,
    o: Outlet,
    anchor: np.datetime64,
    sc: Scenario,
    index: int,
) -> list[Series]:
    label = f"{e.id}/{o.code}"
    prof = PROFILES.get(o.category.id)
    if prof is None:
        raise SynthError(f"{label}: no outlet profile for limit category {o.category.id}")
    doy, hour, weekday = _calendar(t)
    n = len(t)
    on = _schedule(e, o, t)
    load = 1.0 + 0.08 * np.sin(2 * np.pi * (hour - 10.0) / 24.0)
    for oid, factor in sc.curtailed:
        if oid == label:  # the warning's 应急减排: production cut to ``factor`` (0: stopped)
            day0 = anchor.astype("datetime64[D]") - np.timedelta64(sc.warning_days_before, "D")
            w0 = day0.astype("datetime64[s]")
            held = (t >= w0) & (t < w0 + np.timedelta64(sc.warning_hours * 3600, "s"))
            if factor == 0:
                on = on & ~held
            load = np.where(held, load * factor, load)
    if e.industry_code == "8411":  # hospital: hot water all year, heating in winter
        load = load * (0.45 + 0.55 * heating_weight(doy))

    def z(code: str, phi: float = 0.9) -> F64:
        # clipped at ±3σ so that exceedances come from the scenario, not from noise tails
        return np.clip(_site_noise(seed, t, step, phi, label, code), -3.0, 3.0)

    vals: dict[str, F64] = {}
    conv: dict[str, F64] = {}
    if o.medium == "gas":
        o2 = np.clip(prof.o2 + 0.45 * z("a19001"), 2.0, 20.9)
        o2 = np.where(on, o2, 20.6 + 0.1 * z("a19001", 0.5))
        ref = o.category.o2_ref
        for code in o.pollutants:
            lim = o.limit(code)
            if lim is None:
                continue
            c = lim * prof.frac.get(code, 0.3) * np.exp(0.12 * z(code) - 0.0072)
            for oid, pol, d, h0, dur, fac in sc.exceed:
                if oid == label and pol == code:
                    hit = (np.abs(doy - d) < 0.5) & (hour >= h0) & (hour < h0 + dur)
                    c = np.where(hit, lim * fac * np.exp(0.05 * z("ex")), c)
            for oid, pol, before, dur, fac in sc.recent_exceed:
                if oid == label and pol == code:
                    h = (anchor - t) / np.timedelta64(1, "h")
                    hit = (h <= before) & (h > before - dur)
                    c = np.where(hit, lim * fac * np.exp(0.05 * z("ex")), c)
            c = np.where(on, c, 0.6 + 0.4 * np.abs(z(code, 0.5)))
            if ref is not None:
                conv[code] = _r(c, 2)
            meas = c * (21.0 - o2) / (21.0 - ref) if ref is not None else c
            vals[code] = _r(meas, 2)
        flow = prof.flow * load * np.exp(0.05 * z("a00000"))
        vals["a00000"] = _r(np.where(on, flow, 0.0), 2)
        vals["a19001"] = _r(o2, 2)
        vel = prof.velocity * load * np.exp(0.05 * z("a00000"))
        vals["a01011"] = _r(np.where(on, vel, 0.0), 2)
        amb = 8.0 + 14.0 * 0.5 * (1.0 - np.cos(2 * np.pi * (doy - 20.0) / 365.25))
        vals["a01012"] = _r(np.where(on, prof.temp + 2.0 * z("a01012"), amb), 1)
        vals["a01013"] = _r(np.where(on, 0.25 + 0.03 * z("a01013"), 0.0), 3)
        vals["a01014"] = _r(np.where(on, prof.humidity + 0.6 * z("a01014"), 1.5), 2)
    else:
        cold = 0.5 * (1.0 + np.cos(2 * np.pi * (doy - 20.0) / 365.25))  # 1 in late Jan
        for code in o.pollutants:
            lim = o.limit(code)
            if lim is None:
                continue
            frac = prof.frac.get(code, 0.4) * np.ones(n)
            if code == "w21003" and e.industry_code == "4620":
                frac = frac * (1.0 + 0.8 * cold)  # nitrification slows in cold water
            c = lim * frac * np.exp(0.15 * z(code) - 0.011)
            for oid, pol, d, h0, dur, fac in sc.exceed:
                if oid == label and pol == code:
                    hit = (np.abs(doy - d) < 0.5) & (hour >= h0) & (hour < h0 + dur)
                    c = np.where(hit, lim * fac * np.exp(0.05 * z("ex")), c)
            vals[code] = _r(np.where(on, c, 0.0), 3)
        vals["w01001"] = _r(7.3 + 0.15 * z("w01001"), 2)
        diurnal = 1.0 + 0.25 * np.sin(2 * np.pi * (hour - 7.0) / 24.0)
        flow = prof.flow * diurnal * np.exp(0.06 * z("w00000"))
        vals["w00000"] = _r(np.where(on, flow, 0.0), 2)

    flags = np.where(on, "N", "F").astype("<U1")
    hr = np.floor(hour).astype(np.int64)
    day = t.astype("datetime64[D]")
    dom = (day - day.astype("datetime64[M]").astype("datetime64[D]")).astype(np.int64) + 1
    cal = on & (weekday == index % 7) & (hr == 3)  # weekly calibration hour
    maint = on & (dom == 6 + index % 20) & (hr >= 9) & (hr < 12)  # monthly maintenance
    flags[cal] = "C"
    flags[maint] = "M"
    limited = [c for c in o.pollutants if o.limit(c) is not None]
    for code in limited:  # calibration reads span gas / standard solution: 2 × limit
        lim = o.limit(code)
        assert lim is not None
        vals[code] = np.where(cal, round(2.0 * lim, 2), vals[code])
        if code in conv:
            conv[code] = np.where(cal, round(2.0 * lim, 2), conv[code])
    # the frozen device: pollutant values constant while the plant keeps running
    if label == sc.frozen:
        h = (anchor - t) / np.timedelta64(1, "h")
        frz = (h > 0) & (h <= sc.frozen_days * 24)
        for code in limited:
            const = round(float(o.limit(code) or 0.0) * 0.41, 1)
            vals[code] = np.where(frz, const, vals[code])
            if code in conv:
                conv[code] = np.where(frz, const, conv[code])
        flags = np.where(frz, "N", flags).astype("<U1")
    lost = z("lost", 0.5) > 2.75
    if label == sc.offline:
        h = (anchor - t) / np.timedelta64(1, "h")
        lost |= h <= sc.offline_days * 24
    flags[lost] = ""
    out = []
    for code in o.pollutants:
        unit = _outlet_unit(code)
        v = np.where(lost, np.nan, vals[code])
        cv = conv.get(code)
        cvv = None if cv is None else np.where(lost, np.nan, cv)
        out.append(Series(label, o.device.mn, code, unit, step, t, v, flags.copy(), cvv))
    return out


_OUTLET_UNITS = {
    "a00000": "m³/s",
    "a19001": "%",
    "a01011": "m/s",
    "a01012": "℃",
    "a01013": "kPa",
    "a01014": "%",
    "w00000": "L/s",
    "w01001": "无量纲",
}


def _outlet_unit(code: str) -> str:
    if code in _OUTLET_UNITS:
        return _OUTLET_UNITS[code]
    return "mg/m³" if code.startswith("a") else "mg/L"


# --------------------------------------------------------------------------- noise


NOISE_LEVEL = {  # typical day / night LAeq, dB(A), per GB 3096-2008 zone class
    "0": (44.0, 36.0),
    "1": (51.0, 42.0),
    "2": (55.0, 46.0),
    "3": (59.0, 50.0),
    "4a": (66.0, 55.5),
    "4b": (64.0, 57.0),
}


def _noise_series(
    seed: int, t: npt.NDArray[np.datetime64], step: int, st_id: str, mn: str, zone: str
) -> Series:
    _, hour, weekday = _calendar(t)
    day_lv, night_lv = NOISE_LEVEL[zone]
    # smooth day/night transition around 06:00 and 22:00
    dayness = 1.0 / (1.0 + np.exp(-(hour - 6.5) * 2.0)) - 1.0 / (1.0 + np.exp(-(hour - 22.0) * 2.0))
    lv = night_lv + (day_lv - night_lv) * dayness - 1.0 * (weekday == 6)
    lv = lv + 1.8 * _site_noise(seed, t, step, 0.7, st_id, NOISE_CODE)
    lost = _site_noise(seed, t, step, 0.5, st_id, "lost") > 2.75
    f = np.full(len(t), "N", dtype="<U1")
    f[lost] = ""
    v = np.where(lost, np.nan, _r(lv, 1))
    return Series(st_id, mn, NOISE_CODE, "dB(A)", step, t, v, f)


# --------------------------------------------------------------------------- public API

Progress = Callable[[int, int], None]
KINDS = ("air", "micro", "section", "source", "outlet", "noise")


def _check_window(start: datetime, end: datetime, step: int) -> tuple[datetime, datetime]:
    if step not in (HOUR, MINUTE):
        raise SynthError(f"step must be {HOUR} (hour) or {MINUTE} (minute) seconds, got {step}")
    start, end = _naive_bjt(start), _naive_bjt(end)
    if end <= start:
        raise SynthError(f"empty window: end {end} is not after start {start}")
    if step == MINUTE and end - start > timedelta(days=31):
        raise SynthError("minute series are for the last few days: at most 31 days per call")
    if end - start > timedelta(days=800):
        raise SynthError("at most 800 days per call; generate longer spans in pieces")
    if start.second or start.microsecond or (step == HOUR and start.minute):
        raise SynthError(f"start {start} is not aligned to the {step} s step")
    return start, end


def generate(
    district: District,
    start: datetime,
    end: datetime,
    *,
    step: int = HOUR,
    seed: int = 2020,
    anchor: datetime | None = None,
    scenario: Scenario | None = None,
    kinds: Iterable[str] = KINDS,
    progress: Progress | None = None,
) -> SynthResult:
    """Simulated series for every site of ``district`` in [start, end) (Beijing time).

    ``step`` is HOUR (3600) or MINUTE (60). Surface-water sections and drinking-water
    sources are always on a 4-hour grid and are omitted from minute results. ``anchor`` is the
    scenario's "now" (default ``end``): the offline and frozen devices and the recent
    exceedance are placed relative to it, so pass the same anchor for the history and for the
    live minutes. ``kinds`` selects site kinds (air, micro, section, source, outlet, noise).
    ``progress(done, total)`` is called after each site.
    """
    start, end = _check_window(start, end, step)
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise SynthError(f"seed must be a non-negative integer, got {seed!r}")
    kinds = tuple(kinds)
    bad = [k for k in kinds if k not in KINDS]
    if bad:
        raise SynthError(f"unknown site kinds {bad}; choose from {', '.join(KINDS)}")
    sc = scenario or Scenario()
    _check_scenario(district, sc)
    anc = np.datetime64(_naive_bjt(anchor or end), "s")
    # minute results are derived from the hours that cover the window
    h0 = start.replace(minute=0)
    h1 = end if end.minute == 0 and end.second == 0 else end.replace(minute=0) + timedelta(hours=1)
    th = _grid(h0, h1, HOUR)
    tm = _grid(start, end, MINUTE) if step == MINUTE else th
    reg = _regional(seed, th, HOUR) if {"air", "micro"} & set(kinds) else None

    jobs: list[tuple[str, Callable[[], list[Series]]]] = []
    for i, st in enumerate(district.air_stations):
        if "air" in kinds and reg is not None:
            jobs.append((st.id, _bind_air(seed, reg, district, st, i)))
    for i, st in enumerate(district.micro_stations):
        if "micro" in kinds and reg is not None:
            jobs.append((st.id, _bind_air(seed, reg, district, st, i)))
    if step == HOUR:
        w0 = int(np.datetime64(h0, "h").astype(np.int64))
        first = np.datetime64(h0, "s") + np.timedelta64(((-w0) % 4) * 3600, "s")  # 00/04/08..
        tw = np.arange(first, np.datetime64(end, "s"), np.timedelta64(WATER_STEP, "s"))
        weights = {"泾河八里桥": 1.0, "泾河平镇桥": 0.85, "王村大桥": 0.6}
        if "section" in kinds:
            for s in district.sections:
                w = weights.get(s.name, 0.7)
                jobs.append((s.id, _bind_water(seed, tw, s.id, s.device.mn, "section", w)))
        if "source" in kinds:
            for ws in district.water_sources:
                kind = "ground" if ws.water_type == "地下水" else "surface"
                jobs.append((ws.id, _bind_water(seed, tw, ws.id, ws.device.mn, kind, 0.0)))
    if "outlet" in kinds:
        for i, (e, o) in enumerate(district.outlets()):
            jobs.append((f"{e.id}/{o.code}", _bind_outlet(seed, th, e, o, anc, sc, i)))
    if "noise" in kinds:
        for ns in district.noise_stations:
            jobs.append((ns.id, _bind_noise(seed, th, ns.id, ns.device.mn, ns.zone)))

    result = SynthResult(start=start, end=end, interval_s=step)
    for done, (_, job) in enumerate(jobs, start=1):
        hourly = job()
        if step == MINUTE:
            hourly = [_to_minutes(seed, s, tm, sc, anc) for s in hourly]
        else:
            hourly = [_clip_window(s, start, end) for s in hourly]
        result.series.extend(hourly)
        if progress is not None:
            progress(done, len(jobs))
    return result


def _bind_air(
    seed: int, reg: _Regional, d: District, st: AirStation, i: int
) -> Callable[[], list[Series]]:
    return lambda: _air_series(seed, reg, d, st, i)


def _bind_water(
    seed: int, t: npt.NDArray[np.datetime64], site: str, mn: str, kind: str, w: float
) -> Callable[[], list[Series]]:
    return lambda: _water_series(seed, t, site, mn, kind, w)


def _bind_outlet(
    seed: int,
    t: npt.NDArray[np.datetime64],
    e: Enterprise,
    o: Outlet,
    anc: np.datetime64,
    sc: Scenario,
    i: int,
) -> Callable[[], list[Series]]:
    return lambda: _outlet_series(seed, t, HOUR, e, o, anc, sc, i)


def _bind_noise(
    seed: int, t: npt.NDArray[np.datetime64], sid: str, mn: str, zone: str
) -> Callable[[], list[Series]]:
    return lambda: [_noise_series(seed, t, HOUR, sid, mn, zone)]


def _check_scenario(d: District, sc: Scenario) -> None:
    labels = {f"{e.id}/{o.code}": o for e, o in d.outlets()}
    named = [x[0] for x in sc.exceed] + [x[0] for x in sc.recent_exceed]
    for lab in [*named, sc.offline, sc.frozen, *(x[0] for x in sc.curtailed)]:
        if lab not in labels:
            raise SynthError(f"scenario names outlet {lab!r}, which the district does not have")
    pairs = [(x[0], x[1]) for x in sc.exceed] + [(x[0], x[1]) for x in sc.recent_exceed]
    for lab, pol in pairs:
        if labels[lab].limit(pol) is None:
            raise SynthError(f"scenario: outlet {lab} has no limit for {pol}")


def _clip_window(s: Series, start: datetime, end: datetime) -> Series:
    a, b = np.datetime64(start, "s"), np.datetime64(end, "s")
    m = (s.time >= a) & (s.time < b)
    if m.all():
        return s
    cv = None if s.converted is None else s.converted[m]
    return Series(
        s.site_id, s.mn, s.pollutant, s.unit, s.interval_s, s.time[m], s.value[m], s.flag[m], cv
    )


_ADDITIVE = {"w01001": 0.03, "a01012": 0.4, "a19001": 0.15, NOISE_CODE: 2.5, "a01013": 0.01}


def _to_minutes(
    seed: int, s: Series, tm: npt.NDArray[np.datetime64], sc: Scenario, anc: np.datetime64
) -> Series:
    """Minute values whose mean over each hour equals the hourly value (up to rounding):
    v_min = v_hour · (1 + ε) with ε of zero mean within the hour (additive for pH, O2,
    temperature, pressure and sound level). Flags and gaps are the hour's."""
    idx = ((tm - s.time[0]) // np.timedelta64(HOUR, "s")).astype(np.int64)
    z = _site_noise(seed, tm, MINUTE, 0.9, s.site_id, s.pollutant, "minute")
    # centre the noise within each hour so the hourly mean is preserved exactly
    hour_id = idx - idx[0]
    sums = np.bincount(hour_id, weights=z)
    cnt = np.bincount(hour_id)
    z = z - (sums / np.maximum(cnt, 1))[hour_id]
    v = s.value[idx]
    if s.site_id == sc.frozen:
        h = (anc - tm) / np.timedelta64(1, "h")
        z = np.where((h > 0) & (h <= sc.frozen_days * 24), 0.0, z)
    if s.pollutant in _ADDITIVE:
        out = v + _ADDITIVE[s.pollutant] * z
    else:
        out = np.clip(v * (1.0 + 0.08 * z), 0.0, None)
    digits = 1 if s.pollutant in AIR_CODES or s.pollutant == NOISE_CODE else 3
    out = _r(out, digits)
    cv = None
    if s.converted is not None:
        cv = _r(np.clip(s.converted[idx] * (1.0 + 0.08 * z), 0.0, None), 3)
    return Series(s.site_id, s.mn, s.pollutant, s.unit, MINUTE, tm, out, s.flag[idx], cv)


def city_stations(district: District) -> Sequence[AirStation]:
    """The urban national stations whose mean is the city's figure (HJ 663: 对照点 excluded)."""
    return [s for s in district.air_stations if not s.background]
