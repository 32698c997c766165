"""Air Quality Index (AQI) after HJ 633-2012 and HJ 633-2026, scalar and vectorised.

Formulas (HJ 633-2012 §4.2, §4.4; HJ 633-2026 §4.2.4, 式1–2)::

    IAQI_P = (IAQI_Hi − IAQI_Lo) / (BP_Hi − BP_Lo) · (C_P − BP_Lo) + IAQI_Lo
    AQI    = max(IAQI_1 … IAQI_n)

* Concentrations are first rounded by GB/T 8170 (round half to even) to integers, CO to
  0.1 mg/m³ (HJ 633-2026 §4.2.2/4.2.3; the 2012 text is silent, the national platform does the
  same, see docs/standards/hj633.md). IAQI and AQI are rounded **up** (2012 §6.2, 2026 §4.2.6).
  The arithmetic is exact: rounded concentrations are integers in units of 1 (0.1 for CO) and
  the IAQI is ``IAQI_Lo + ceil((IAQI_Hi − IAQI_Lo)(C − BP_Lo) / (BP_Hi − BP_Lo))`` on integers.
* Concentrations above the last breakpoint get IAQI 500 (the tables end there; our choice,
  as every implementation we found does).
* SO2 1 h > 800 µg/m³: 2012 → no 1-h IAQI, the SO2 IAQI comes from the 24-h mean; 2026 → 200.
  O3 8 h > 800 µg/m³: 2012 → no 8-h IAQI, the O3 IAQI comes from the 1-h value; 2026 → 300.
* Primary pollutants: AQI > 50, every indicator with the maximum IAQI (ties all listed).
  Exceeding pollutants (超标污染物, 2012 only): IAQI > 100.
* Hourly (实时报) AQI as the national platform publishes it under both editions: the six
  1-hour values, PM10/PM2.5 1-hour values on the 24-hour (日平均) breakpoints. O3 8-h and PM
  24-h moving values may be indexed beside it but never enter the AQI.
* Daily (日报): 24-hour means, O3 daily maximum 8-hour, and in 2012 also the O3 daily maximum
  1-hour (7 indicators; 2026: 6).

Missing data policy (``missing``):
``"present"`` (default) AQI over the indicators present; ``"strict"`` no AQI if any is missing;
``"na_rule"`` HJ 633-2026 §5.3.1: with an indicator missing the AQI is published only when it
exceeds 100, otherwise NA; ``"platform"`` what the national platform's hourly publication does
(observed, see the data files): ``na_rule`` in both eras, in 2026 ignoring a missing PM10.
Indicators named in ``not_monitored`` ("/": not in the monitoring plan, §5.3.2) are left out
and never count as missing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cache
from typing import Literal

import numpy as np
import numpy.typing as npt

from qingshan.standards.air.tables import AqiTable, aqi_table
from qingshan.standards.rounding import NumberError, round_half_even, to_decimal

__all__ = [
    "DAILY_LABELS",
    "HOURLY_LABELS",
    "LABELS",
    "AqiInputError",
    "AqiResult",
    "BulkAqi",
    "MissingPolicy",
    "daily_aqi",
    "daily_aqi_array",
    "decode_mask",
    "hourly_aqi",
    "hourly_aqi_array",
    "iaqi",
    "iaqi_array",
    "round_concentration",
    "round_concentration_array",
]

MissingPolicy = Literal["present", "strict", "na_rule", "platform"]
Number = Decimal | float | int | str

#: Every AQI label, in the order used for output and bit masks.
LABELS: tuple[str, ...] = ("SO2", "NO2", "CO", "O3_1H", "O3_8H", "PM10", "PM2_5")
HOURLY_LABELS: tuple[str, ...] = ("SO2", "NO2", "CO", "O3_1H", "PM10", "PM2_5")
DAILY_LABELS: tuple[str, ...] = ("SO2", "NO2", "CO", "O3_1H", "O3_8H", "PM10", "PM2_5")
_BIT = {lab: 1 << i for i, lab in enumerate(LABELS)}

# Indicator → breakpoint column. PM 1-hour values use the 24-hour (日平均) breakpoints
# (HJ 633-2026 式1 note; national platform practice under 2012, see module doc).
_BP_KEY = {
    "SO2_1H": "SO2_1H",
    "SO2_24H": "SO2_24H",
    "NO2_1H": "NO2_1H",
    "NO2_24H": "NO2_24H",
    "CO_1H": "CO_1H",
    "CO_24H": "CO_24H",
    "O3_1H": "O3_1H",
    "O3_8H": "O3_8H",
    "PM10_1H": "PM10_24H",
    "PM10_24H": "PM10_24H",
    "PM2_5_1H": "PM2_5_24H",
    "PM2_5_24H": "PM2_5_24H",
}
_DAILY_INDICATOR = {
    "SO2": "SO2_24H",
    "NO2": "NO2_24H",
    "CO": "CO_24H",
    "O3_1H": "O3_1H",
    "O3_8H": "O3_8H",
    "PM10": "PM10_24H",
    "PM2_5": "PM2_5_24H",
}
_HOURLY_INDICATOR = {
    "SO2": "SO2_1H",
    "NO2": "NO2_1H",
    "CO": "CO_1H",
    "O3_1H": "O3_1H",
    "PM10": "PM10_1H",
    "PM2_5": "PM2_5_1H",
}
_THRESHOLD_800 = Decimal(800)
# Plausibility bound (ours, not a standard's): CO is given in mg/m³; ambient values stay far
# below 150 mg/m³ (the top of the CO tables), while CO sent in µg/m³ is typically 300–3000.
_CO_MAX_MG = 150.0


class AqiInputError(ValueError):
    """A concentration that cannot be indexed: negative, not a number, or a needed value absent."""


def _decimals(indicator: str) -> int:
    return 1 if indicator.startswith("CO") else 0


def _bp_key(indicator: str) -> str:
    try:
        return _BP_KEY[indicator]
    except KeyError:
        raise AqiInputError(f"unknown AQI indicator {indicator!r}") from None


def round_concentration(indicator: str, value: Number) -> Decimal:
    """Round a concentration before the IAQI step: GB/T 8170 half-even to integers, CO to 0.1.

    HJ 633-2026 §4.2.2/§4.2.3 ("按照GB/T 8170要求修约到整数", CO "修约到1位小数"); applied to
    HJ 633-2012 too (docs/standards/hj633.md).

    Parameters
    ----------
    indicator : str
        AQI indicator (``SO2_1H``, ``CO_24H``, ``PM2_5_24H`` …); CO indicators keep one decimal.
    value : Decimal, float, int or str
        Concentration [µg/m³; CO mg/m³], exact (a float as its shortest text).

    Returns
    -------
    Decimal
        The rounded concentration.

    Raises
    ------
    AqiInputError
        For negative values, non-numbers, NaN/inf, and CO above 150 mg/m³ (a µg/m³ value).
    """
    try:
        dec = to_decimal(value)
    except NumberError as exc:
        raise AqiInputError(f"{indicator}: {exc}") from None
    if dec < 0:
        raise AqiInputError(f"{indicator}: negative concentration {value}")
    if indicator.startswith("CO") and dec > Decimal(str(_CO_MAX_MG)):
        raise AqiInputError(_co_unit_message(indicator, value))
    return round_half_even(dec, _decimals(indicator))


def _co_unit_message(indicator: str, value: object) -> str:
    return (
        f"{indicator}: {value} mg/m³ is not a plausible ambient CO value; CO is expected in "
        f"mg/m³ (were µg/m³ given?)"
    )


def _iaqi_exact(bps: Sequence[Decimal], nodes: Sequence[int], c: Decimal) -> int:
    """式1 with exact integer arithmetic, rounded up; c is already rounded (≥ 0)."""
    if c > bps[-1]:
        if len(bps) != len(nodes):
            raise AssertionError("the >800 special cases are handled by the caller")
        return nodes[-1]  # above the table: 500
    scale = 10  # breakpoints and rounded concentrations are multiples of 0.1
    ci = int(c * scale)
    for j in range(1, len(bps)):
        hi = int(bps[j] * scale)
        if ci <= hi:
            lo = int(bps[j - 1] * scale)
            num = (nodes[j] - nodes[j - 1]) * (ci - lo)
            den = hi - lo
            return nodes[j - 1] + (-(-num // den))
    raise AssertionError("unreachable: c is within the table")


def iaqi(indicator: str, concentration: Number | None, table: AqiTable | str) -> int | None:
    """Individual air quality index (IAQI) of one indicator, HJ 633 式1::

        IAQI_P = (IAQI_Hi − IAQI_Lo) / (BP_Hi − BP_Lo) · (C_P − BP_Lo) + IAQI_Lo

    on the rounded concentration (:func:`round_concentration`), in exact integer arithmetic and
    rounded up (HJ 633-2012 §6.2, 2026 §4.2.6). Above the table's last breakpoint: 500.

    Parameters
    ----------
    indicator : str
        ``SO2_1H``, ``SO2_24H``, ``NO2_1H``, ``NO2_24H``, ``CO_1H``, ``CO_24H``, ``O3_1H``,
        ``O3_8H``, ``PM10_1H``, ``PM10_24H``, ``PM2_5_1H``, ``PM2_5_24H`` (PM 1-hour values use
        the 24-hour breakpoints).
    concentration : Decimal, float, int, str or None
        Concentration [µg/m³; CO mg/m³]; ``None`` is missing.
    table : AqiTable or str
        HJ 633 edition (``HJ633-2012`` / ``HJ633-2026``) or its loaded table.

    Returns
    -------
    int or None
        The IAQI; ``None`` for a missing value and for what the edition does not index (2012:
        SO2 1 h > 800, O3 8 h > 800 µg/m³; 2026 gives 200 and 300 there).

    Raises
    ------
    AqiInputError
        For an unknown indicator, negative or non-numeric values, CO in µg/m³.
    """
    tab = aqi_table(table) if isinstance(table, str) else table
    key = _bp_key(indicator)
    if concentration is None:
        return None
    c = round_concentration(indicator, concentration)
    if key == "SO2_1H" and c > _THRESHOLD_800:
        return tab.so2_1h_above_800
    if key == "O3_8H" and c > _THRESHOLD_800:
        return tab.o3_8h_above_800
    return _iaqi_exact(tab.breakpoints[key], tab.iaqi_nodes, c)


@dataclass(frozen=True, slots=True)
class AqiResult:
    """One AQI report (实时报 or 日报) of one station/area and period."""

    standard: str
    iaqi: dict[str, int]  # label → IAQI of the indicators that enter the AQI
    missing: tuple[str, ...]  # labels with no value
    aqi: int | None
    na: bool  # True when §5.3.1 (na_rule) suppressed the AQI
    level: str | None
    category: str | None
    colour: str | None
    rgb: tuple[int, int, int] | None
    health_effect: str | None
    advice: str | None
    primary_pollutants: tuple[str, ...]
    exceeding_pollutants: tuple[str, ...]
    sensitive_groups: dict[str, str] = field(default_factory=dict)
    beside: dict[str, int] = field(default_factory=dict)  # published beside, not in the AQI
    not_monitored: tuple[str, ...] = ()  # "/" indicators, left out


def _finish(
    tab: AqiTable,
    labels: Sequence[str],
    values: dict[str, int | None],
    missing: MissingPolicy,
    beside: dict[str, int],
    not_monitored: tuple[str, ...] = (),
) -> AqiResult:
    _check_policy(missing)
    labels = tuple(lab for lab in labels if lab not in not_monitored)
    present = {lab: v for lab in labels if (v := values.get(lab)) is not None}
    absent = tuple(lab for lab in labels if values.get(lab) is None)
    aqi: int | None = max(present.values()) if present else None
    na = False
    exempt: tuple[str, ...] = ()
    if missing == "platform":
        missing, exempt = tab.platform_missing, tab.platform_exempt  # type: ignore[assignment]
    if any(lab not in exempt for lab in absent):
        if missing == "strict":
            aqi = None
        elif missing == "na_rule" and (aqi is None or aqi <= 100):
            aqi, na = None, True  # §5.3.1: published as NA (also when nothing is left)
    if aqi is None:
        return AqiResult(
            tab.id,
            present,
            absent,
            None,
            na,
            None,
            None,
            None,
            None,
            None,
            None,
            (),
            (),
            {},
            beside,
            not_monitored,
        )
    cat = tab.category_of(aqi)
    primary = tuple(lab for lab, v in present.items() if v == aqi) if aqi > 50 else ()
    exceeding = (
        tuple(lab for lab, v in present.items() if v > 100) if tab.exceeding_pollutants else ()
    )
    groups: dict[str, str] = {}
    if tab.sensitive_groups:
        for lab, v in present.items():
            if v > 100:
                pol = "O3" if lab.startswith("O3") else lab
                groups[pol] = tab.sensitive_groups[pol]
    return AqiResult(
        standard=tab.id,
        iaqi=present,
        missing=absent,
        aqi=aqi,
        na=False,
        level=cat.level,
        category=cat.category,
        colour=cat.colour,
        rgb=cat.rgb,
        health_effect=cat.health_effect,
        advice=cat.advice,
        primary_pollutants=primary,
        exceeding_pollutants=exceeding,
        sensitive_groups=groups,
        beside=beside,
        not_monitored=not_monitored,
    )


_POLICIES = ("present", "strict", "na_rule", "platform")


def _check_policy(missing: str) -> None:
    if missing not in _POLICIES:
        raise AqiInputError(f"missing must be one of {', '.join(_POLICIES)}, not {missing!r}")


def _labels(names: Iterable[str], daily: bool = False) -> tuple[str, ...]:
    """Normalise not-monitored names: ``O3`` stands for its indicators."""
    out: list[str] = []
    for n in names:
        if n == "O3":
            out += ["O3_1H", "O3_8H"] if daily else ["O3_1H"]
        elif n in LABELS:
            out.append(n)
        else:
            raise AqiInputError(f"unknown pollutant {n!r}; expected one of {', '.join(LABELS)}")
    return tuple(out)


def hourly_aqi(
    table: AqiTable | str,
    *,
    so2: Number | None,
    no2: Number | None,
    co: Number | None,
    o3: Number | None,
    pm10: Number | None,
    pm2_5: Number | None,
    so2_24h: Number | None = None,
    o3_8h: Number | None = None,
    pm10_24h: Number | None = None,
    pm2_5_24h: Number | None = None,
    missing: MissingPolicy = "present",
    not_monitored: Iterable[str] = (),
) -> AqiResult:
    """Hourly AQI (实时报) as the national platform publishes it, HJ 633 式2:
    ``AQI = max(IAQI_SO2, IAQI_NO2, IAQI_CO, IAQI_O3, IAQI_PM10, IAQI_PM2.5)`` of the 1-hour
    values (PM on the 24-hour breakpoints).

    Parameters
    ----------
    table : AqiTable or str
        HJ 633 edition (``HJ633-2012`` / ``HJ633-2026``).
    so2, no2, co, o3, pm10, pm2_5 : Decimal, float, int, str or None
        1-hour concentrations [µg/m³; CO mg/m³]; ``None`` is missing.
    so2_24h : optional
        SO2 24-hour moving mean [µg/m³]; needed under HJ 633-2012 when SO2 1 h > 800 (表1 note 2:
        the SO2 IAQI is then that of the 24-hour mean).
    o3_8h, pm10_24h, pm2_5_24h : optional
        Moving means [µg/m³] indexed beside the AQI (``AqiResult.beside``), never in it.
    missing : {"present", "strict", "na_rule", "platform"}, default "present"
        Missing-data policy (module doc; ``na_rule`` is HJ 633-2026 §5.3.1).
    not_monitored : iterable of str
        Indicators outside the monitoring plan ("/", §5.3.2): left out, never missing.

    Returns
    -------
    AqiResult
        IAQIs, AQI (``None`` when not published), band, colour, texts, primary pollutants (AQI >
        50, ties all listed) and 2012 exceeding pollutants (IAQI > 100).

    Raises
    ------
    AqiInputError
        For bad concentrations or SO2 > 800 without ``so2_24h`` under 2012.
    """
    tab = aqi_table(table) if isinstance(table, str) else table
    conc = {"SO2": so2, "NO2": no2, "CO": co, "O3_1H": o3, "PM10": pm10, "PM2_5": pm2_5}
    values: dict[str, int | None] = {}
    for lab, c in conc.items():
        values[lab] = iaqi(_HOURLY_INDICATOR[lab], c, tab)
    if so2 is not None and values["SO2"] is None:
        # 2012 表1 note (2): SO2 1 h > 800 is reported with the IAQI of the 24-h mean.
        if so2_24h is None:
            raise AqiInputError(
                f"SO2 1-hour {so2} > 800 µg/m³: {tab.id} reports the SO2 IAQI from the "
                "24-hour mean, which is missing (give so2_24h)"
            )
        values["SO2"] = iaqi("SO2_24H", so2_24h, tab)
    beside: dict[str, int] = {}
    for lab, ind, c in (
        ("O3_8H", "O3_8H", o3_8h),
        ("PM10_24H", "PM10_24H", pm10_24h),
        ("PM2_5_24H", "PM2_5_24H", pm2_5_24h),
    ):
        v = iaqi(ind, c, tab)
        if v is not None:
            beside[lab] = v
    return _finish(tab, HOURLY_LABELS, values, missing, beside, _labels(not_monitored))


def daily_aqi(
    table: AqiTable | str,
    *,
    so2: Number | None,
    no2: Number | None,
    co: Number | None,
    o3_8h: Number | None,
    pm10: Number | None,
    pm2_5: Number | None,
    o3_1h: Number | None = None,
    missing: MissingPolicy = "present",
    not_monitored: Iterable[str] = (),
) -> AqiResult:
    """Daily AQI (日报) from 24-hour means and the O3 daily maximum 8-hour mean, HJ 633 式2.

    Parameters
    ----------
    table : AqiTable or str
        HJ 633 edition.
    so2, no2, co, pm10, pm2_5 : Decimal, float, int, str or None
        24-hour means [µg/m³; CO mg/m³].
    o3_8h : Decimal, float, int, str or None
        O3 daily maximum 8-hour mean [µg/m³].
    o3_1h : optional
        O3 daily maximum 1-hour value [µg/m³]: a 7th indicator under HJ 633-2012 (and the O3 IAQI
        when the 8-hour value exceeds 800, 表1 note 3); ignored by HJ 633-2026.
    missing : {"present", "strict", "na_rule", "platform"}, default "present"
        Missing-data policy.
    not_monitored : iterable of str
        Indicators outside the monitoring plan.

    Returns
    -------
    AqiResult
        As :func:`hourly_aqi`.
    """
    tab = aqi_table(table) if isinstance(table, str) else table
    conc = {
        "SO2": so2,
        "NO2": no2,
        "CO": co,
        "O3_1H": o3_1h,
        "O3_8H": o3_8h,
        "PM10": pm10,
        "PM2_5": pm2_5,
    }
    labels = tuple(lab for lab in DAILY_LABELS if _DAILY_INDICATOR[lab] in tab.daily_indicators)
    values: dict[str, int | None] = {
        lab: iaqi(_DAILY_INDICATOR[lab], conc[lab], tab) for lab in labels
    }
    if o3_8h is not None and values["O3_8H"] is None:
        # 2012 表1 note (3): O3 8 h > 800 → the O3 IAQI is that of the 1-h value (already an
        # indicator of the 2012 daily report); the 8-h indicator is not indexed.
        if o3_1h is None:
            raise AqiInputError(
                f"O3 8-hour {o3_8h} > 800 µg/m³: {tab.id} reports the O3 IAQI from the "
                "daily maximum 1-hour value, which is missing"
            )
        labels = tuple(lab for lab in labels if lab != "O3_8H")
    return _finish(tab, labels, values, missing, {}, _labels(not_monitored, daily=True))


# ---------------------------------------------------------------------------------------------
# Vectorised API. Rounded concentrations are integers (CO: tenths), so the IAQI is a table
# lookup built with the exact scalar formula above: bulk and scalar agree by construction.

FloatArray = npt.NDArray[np.float64]
_NOT_INDEXED = -1.0  # marker in lookup tables for the 2012 "not indexed above 800" cases


@cache
def _lut(table_id: str, key: str) -> FloatArray:
    tab = aqi_table(table_id)
    bps = tab.breakpoints[key]
    scale = 10 if key.startswith("CO") else 1
    top = int(bps[-1] * scale)
    out = np.empty(top + 3, dtype=np.float64)
    for i in range(top + 1):
        out[i] = _iaqi_exact(bps, tab.iaqi_nodes, Decimal(i) / scale)
    out[top + 2] = np.nan  # index top+2 stands for "missing"
    # Index top+1 stands for "above the table".
    above: int | None
    if key == "SO2_1H":
        above = tab.so2_1h_above_800
    elif key == "O3_8H":
        above = tab.o3_8h_above_800
    else:
        above = tab.iaqi_nodes[-1]
    out[top + 1] = _NOT_INDEXED if above is None else above
    return out


def _round_array(values: FloatArray, decimals: int, name: str) -> FloatArray:
    """Half-even rounding of an array, identical to :func:`round_concentration` per element,
    returned in units of the last kept digit (CO: tenths)."""
    bad = np.isinf(values)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise AqiInputError(f"{name}: not a finite number at index {i}: {values[i]!r}")
    neg = values < 0
    if neg.any():
        i = int(np.flatnonzero(neg)[0])
        raise AqiInputError(f"{name}: negative concentration at index {i}: {values[i]!r}")
    if name.startswith("CO"):
        big = values > _CO_MAX_MG
        if big.any():
            i = int(np.flatnonzero(big)[0])
            raise AqiInputError(f"at index {i}: {_co_unit_message(name, values[i])}")
    if decimals == 0:
        # np.rint is round-half-even on the exact binary value; a float is an exact .5 tie iff
        # its shortest decimal text is, so this equals Decimal(repr(x)) rounding.
        return np.rint(values)
    scaled = values * 10.0**decimals
    out = np.rint(scaled)
    # Scaling can move a value onto or off a .5 tie; redo those few exactly with Decimal.
    frac = np.abs(scaled - np.floor(scaled) - 0.5)
    near = np.flatnonzero(frac < 1e-6)
    for j in near.tolist():
        out[j] = float(round_half_even(float(values[j]), decimals) * 10**decimals)
    return out


def round_concentration_array(indicator: str, values: npt.ArrayLike) -> FloatArray:
    """Vectorised :func:`round_concentration`: identical per element.

    Parameters
    ----------
    indicator : str
        AQI indicator (CO indicators keep one decimal).
    values : array_like of float
        Concentrations [µg/m³; CO mg/m³]; NaN is missing (each float as its shortest text).

    Returns
    -------
    ndarray of float
        Rounded values (NaN stays NaN).

    Raises
    ------
    AqiInputError
        For negative values, infinities, CO above 150 mg/m³ (the message names the index).
    """
    a = np.asarray(values, dtype=np.float64)
    d = _decimals(indicator)
    r = _round_array(a.ravel(), d, indicator).reshape(a.shape)
    return r / 10**d if d else r


def iaqi_array(indicator: str, concentrations: npt.ArrayLike, table: AqiTable | str) -> FloatArray:
    """Vectorised :func:`iaqi`: a lookup table built with the exact scalar formula on the
    rounded integer (CO: tenths) concentrations, so bulk and scalar agree by construction.

    Parameters
    ----------
    indicator : str
        AQI indicator.
    concentrations : array_like of float
        Concentrations [µg/m³; CO mg/m³]; NaN is missing.
    table : AqiTable or str
        HJ 633 edition.

    Returns
    -------
    ndarray of float
        IAQI per element; NaN for missing; ``-1`` where HJ 633-2012 does not index (> 800).
    """
    tab = aqi_table(table) if isinstance(table, str) else table
    key = _bp_key(indicator)
    c = np.asarray(concentrations, dtype=np.float64)
    lut = _lut(tab.id, key)
    # Rounded values in lookup units (CO: tenths of mg/m³), clipped to "above the table"
    # (top+1); NaN (missing) goes to the LUT's NaN slot (top+2). Flat, so 0-d input works too.
    r = _round_array(c.ravel(), _decimals(indicator), indicator)
    above = len(lut) - 2
    np.minimum(r, above, out=r)  # NaN stays NaN
    np.copyto(r, above + 1, where=np.isnan(r))  # one pass (nan_to_num also scans for ±inf)
    out = lut[r.astype(np.intp)]
    return out.reshape(c.shape)


@dataclass(frozen=True, slots=True)
class BulkAqi:
    """Vectorised AQI results. ``aqi`` is NaN where no AQI is published (see ``na``)."""

    standard: str
    labels: tuple[str, ...]
    iaqi: dict[str, FloatArray]  # NaN = missing
    aqi: FloatArray
    na: npt.NDArray[np.bool_]
    primary_mask: npt.NDArray[np.uint8]  # bits in LABELS order, see decode_mask
    exceeding_mask: npt.NDArray[np.uint8]

    def level_index(self) -> npt.NDArray[np.int8]:
        """Band index per element.

        Returns
        -------
        ndarray of int8
            0 … 5 for 一级 … 六级 (AQI ≤ 50, ≤ 100, ≤ 150, ≤ 200, ≤ 300, > 300, HJ 633 表2);
            −1 where there is no AQI.
        """
        a = self.aqi
        edges = np.array([50, 100, 150, 200, 300], dtype=np.float64)
        out = np.searchsorted(edges, np.nan_to_num(a, nan=0.0), side="left").astype(np.int8)
        out[np.isnan(a)] = -1
        return out


def decode_mask(mask: int) -> tuple[str, ...]:
    """Labels encoded in a primary/exceeding-pollutant bit mask (:class:`BulkAqi`).

    Parameters
    ----------
    mask : int
        Bits in :data:`LABELS` order.

    Returns
    -------
    tuple of str
        The labels (``SO2`` … ``PM2_5``, ``O3_1H``, ``O3_8H``) whose bit is set.
    """
    return tuple(lab for lab in LABELS if mask & _BIT[lab])


def _combine(
    tab: AqiTable,
    values: dict[str, FloatArray],
    missing: MissingPolicy,
    not_monitored: Mapping[str, npt.ArrayLike] | None = None,
) -> BulkAqi:
    _check_policy(missing)
    labels = tuple(values)
    for key in not_monitored or {}:
        if key not in (*LABELS, "O3"):
            raise AqiInputError(f"unknown pollutant {key!r} in not_monitored")
    exempt: tuple[str, ...] = ()
    if missing == "platform":
        missing, exempt = tab.platform_missing, tab.platform_exempt  # type: ignore[assignment]
    first = values[labels[0]]
    aqi = first.copy()
    for lab in labels[1:]:
        np.fmax(aqi, values[lab], out=aqi)  # ignores NaN; all-NaN stays NaN
    na = np.zeros(aqi.shape, dtype=np.bool_)
    if missing in ("strict", "na_rule"):
        any_missing = np.zeros(aqi.shape, dtype=np.bool_)
        nm = not_monitored or {}
        for lab in labels:
            if lab in exempt:
                continue
            gap = np.isnan(values[lab])
            key = "O3" if lab.startswith("O3") and "O3" in nm else lab
            if key in nm:
                gap &= ~np.asarray(nm[key], dtype=np.bool_)
            any_missing |= gap
        if missing == "strict":
            aqi[any_missing] = np.nan
        else:
            with np.errstate(invalid="ignore"):
                na = any_missing & (np.isnan(aqi) | (aqi <= 100))
            aqi[na] = np.nan
    primary = np.zeros(aqi.shape, dtype=np.uint8)
    exceeding = np.zeros(aqi.shape, dtype=np.uint8)
    with np.errstate(invalid="ignore"):
        above_50 = aqi > 50  # NaN compares False
    has = ~np.isnan(aqi) if tab.exceeding_pollutants else above_50
    for lab in labels:
        v = values[lab]
        cond = v == aqi
        cond &= above_50
        np.bitwise_or(primary, _BIT[lab], out=primary, where=cond)
        if tab.exceeding_pollutants:  # only where an AQI is published, as in the scalar API
            with np.errstate(invalid="ignore"):
                over = v > 100
            over &= has
            np.bitwise_or(exceeding, _BIT[lab], out=exceeding, where=over)
    return BulkAqi(tab.id, labels, values, aqi, na, primary, exceeding)


def _arr(x: npt.ArrayLike | None, shape: tuple[int, ...]) -> FloatArray:
    if x is None:
        return np.full(shape, np.nan)
    a = np.asarray(x, dtype=np.float64)
    if a.shape != shape:
        raise AqiInputError(f"array shapes differ: {a.shape} vs {shape}")
    return a


def hourly_aqi_array(
    table: AqiTable | str,
    *,
    so2: npt.ArrayLike,
    no2: npt.ArrayLike,
    co: npt.ArrayLike,
    o3: npt.ArrayLike,
    pm10: npt.ArrayLike,
    pm2_5: npt.ArrayLike,
    so2_24h: npt.ArrayLike | None = None,
    missing: MissingPolicy = "present",
    not_monitored: Mapping[str, npt.ArrayLike] | None = None,
) -> BulkAqi:
    """Vectorised :func:`hourly_aqi` (NaN = missing); the same results element by element
    (property-tested, also on values that are exact .5 ties).

    Parameters
    ----------
    table : AqiTable or str
        HJ 633 edition.
    so2, no2, co, o3, pm10, pm2_5 : array_like of float
        1-hour concentrations [µg/m³; CO mg/m³], one shape.
    so2_24h : array_like of float, optional
        SO2 24-hour moving means [µg/m³] (2012, SO2 > 800).
    missing : {"present", "strict", "na_rule", "platform"}, default "present"
        Missing-data policy.
    not_monitored : mapping of str to array_like of bool, optional
        Per label (or ``O3``), True where that indicator is "/" (its NaN is then not missing).

    Returns
    -------
    BulkAqi
        IAQI arrays, AQI (NaN where not published), NA flags, primary/exceeding bit masks.
    """
    tab = aqi_table(table) if isinstance(table, str) else table
    shape = np.asarray(so2).shape
    conc = {"SO2": so2, "NO2": no2, "CO": co, "O3_1H": o3, "PM10": pm10, "PM2_5": pm2_5}
    values = {
        lab: iaqi_array(_HOURLY_INDICATOR[lab], _arr(c, shape), tab) for lab, c in conc.items()
    }
    not_indexed = values["SO2"] == _NOT_INDEXED
    if not_indexed.any():
        fallback = iaqi_array("SO2_24H", _arr(so2_24h, shape), tab)
        gap = not_indexed & np.isnan(fallback)
        if gap.any():
            i = int(np.flatnonzero(gap.ravel())[0])
            raise AqiInputError(
                f"SO2 1-hour > 800 µg/m³ at index {i}: {tab.id} reports the SO2 IAQI from the "
                "24-hour mean, which is missing (give so2_24h)"
            )
        values["SO2"] = np.where(not_indexed, fallback, values["SO2"])
    return _combine(tab, values, missing, not_monitored)


def daily_aqi_array(
    table: AqiTable | str,
    *,
    so2: npt.ArrayLike,
    no2: npt.ArrayLike,
    co: npt.ArrayLike,
    o3_8h: npt.ArrayLike,
    pm10: npt.ArrayLike,
    pm2_5: npt.ArrayLike,
    o3_1h: npt.ArrayLike | None = None,
    missing: MissingPolicy = "present",
    not_monitored: Mapping[str, npt.ArrayLike] | None = None,
) -> BulkAqi:
    """Vectorised :func:`daily_aqi` (NaN = missing); the same results element by element.

    Where the 2012 O3 8-h value exceeds 800 its IAQI is NaN and, as in the scalar API, it is not
    counted as missing (the O3 1-h indicator stands for O3).

    Parameters
    ----------
    table : AqiTable or str
        HJ 633 edition.
    so2, no2, co, pm10, pm2_5 : array_like of float
        24-hour means [µg/m³; CO mg/m³], one shape.
    o3_8h : array_like of float
        O3 daily maximum 8-hour means [µg/m³].
    o3_1h : array_like of float, optional
        O3 daily maximum 1-hour values [µg/m³] (HJ 633-2012).
    missing : {"present", "strict", "na_rule", "platform"}, default "present"
        Missing-data policy.
    not_monitored : mapping of str to array_like of bool, optional
        Per label (or ``O3``), True where that indicator is "/".

    Returns
    -------
    BulkAqi
        As :func:`hourly_aqi_array`.
    """
    tab = aqi_table(table) if isinstance(table, str) else table
    shape = np.asarray(so2).shape
    conc: Mapping[str, npt.ArrayLike | None] = {
        "SO2": so2,
        "NO2": no2,
        "CO": co,
        "O3_1H": o3_1h,
        "O3_8H": o3_8h,
        "PM10": pm10,
        "PM2_5": pm2_5,
    }
    labels = tuple(lab for lab in DAILY_LABELS if _DAILY_INDICATOR[lab] in tab.daily_indicators)
    values = {lab: iaqi_array(_DAILY_INDICATOR[lab], _arr(conc[lab], shape), tab) for lab in labels}
    if "O3_8H" in values:
        not_indexed = values["O3_8H"] == _NOT_INDEXED
        if not_indexed.any():
            gap = not_indexed & np.isnan(values["O3_1H"])
            if gap.any():
                i = int(np.flatnonzero(gap.ravel())[0])
                raise AqiInputError(
                    f"O3 8-hour > 800 µg/m³ at index {i}: {tab.id} reports the O3 IAQI from the "
                    "daily maximum 1-hour value, which is missing"
                )
            # Not indexed: −inf keeps it out of the maximum, the primary/exceeding sets and the
            # missing check (as the scalar API drops the indicator); reported as NaN after.
            values["O3_8H"] = np.where(not_indexed, -np.inf, values["O3_8H"])
    result = _combine(tab, values, missing, not_monitored)
    if "O3_8H" in values:
        values["O3_8H"][np.isneginf(values["O3_8H"])] = np.nan
    return result
