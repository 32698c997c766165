"""Device profiles for ``qingshan simulate``: what kind of device, which command, which factors.

The factor codes are the sample district's (``qingshan.demo``): a CEMS on a boiler or kiln
stack, a waste-water outlet analyser, an ambient-air station. Values are a bounded random walk
around a typical level (this is a protocol load tool; the believable series are in
``qingshan.demo.synth``). Every value is simulated (模拟数据).
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache

from qingshan.protocol.hj212.codes import map_2005_to_2017


@dataclass(frozen=True, slots=True)
class Factor:
    code: str  # HJ 212-2017 code
    level: float  # typical value
    spread: float  # relative standard deviation of the walk
    digits: int
    converted: bool = False  # also send ZsRtd / ZsAvg (折算, gas pollutants)


@dataclass(frozen=True, slots=True)
class Profile:
    name: str
    description: str
    st: str  # HJ 212 system code
    cn: str  # upload command: 2011 real-time, 2051 minute, 2061 hour
    factors: tuple[Factor, ...]

    @property
    def field(self) -> str:
        return "Rtd" if self.cn == "2011" else "Avg"

    @property
    def step(self) -> timedelta:
        return {"2011": timedelta(seconds=30), "2051": timedelta(minutes=1)}.get(
            self.cn, timedelta(hours=1)
        )


PROFILES: Mapping[str, Profile] = {
    p.name: p
    for p in (
        Profile(
            "flue-gas",
            "烟气 CEMS (ST=31), minute data CN=2051: dust, SO2, NOx with 折算, O2, flow …",
            "31",
            "2051",
            (
                Factor("a34013", 8.0, 0.15, 2, True),
                Factor("a21026", 35.0, 0.15, 2, True),
                Factor("a21002", 80.0, 0.15, 2, True),
                Factor("a19001", 9.5, 0.03, 2),
                Factor("a00000", 18.0, 0.05, 2),
                Factor("a01011", 9.0, 0.05, 2),
                Factor("a01012", 65.0, 0.03, 1),
                Factor("a01013", 0.25, 0.02, 3),
                Factor("a01014", 8.0, 0.05, 2),
            ),
        ),
        Profile(
            "wastewater",
            "废水排放口 (ST=32), hour data CN=2061: COD, NH3-N, TP, TN, pH, flow",
            "32",
            "2061",
            (
                Factor("w01018", 22.0, 0.15, 3),
                Factor("w21003", 1.2, 0.2, 3),
                Factor("w21011", 0.2, 0.2, 3),
                Factor("w21001", 9.0, 0.15, 3),
                Factor("w01001", 7.3, 0.02, 2),
                Factor("w00000", 12.0, 0.1, 2),
            ),
        ),
        Profile(
            "air-station",
            "环境空气站 (ST=22), real-time data CN=2011: SO2, NO2, CO, O3, PM10, PM2.5",
            "22",
            "2011",
            (
                Factor("a21026", 12.0, 0.2, 1),
                Factor("a21004", 25.0, 0.2, 1),
                Factor("a21005", 0.8, 0.2, 1),
                Factor("a05024", 70.0, 0.2, 1),
                Factor("a34002", 55.0, 0.25, 1),
                Factor("a34004", 22.0, 0.25, 1),
            ),
        ),
    )
}


def get_profile(name: str) -> Profile:
    try:
        return PROFILES[name]
    except KeyError:
        raise ValueError(
            f"unknown profile {name!r}; choose one of: {', '.join(PROFILES)}"
        ) from None


@cache
def code_2005(code: str) -> str | None:
    """The HJ/T 212-2005 code of a 2017 code, None if 2005 had none."""
    for old, new in map_2005_to_2017().items():
        if new == code:
            return old
    return None


class ValueWalk:
    """Per-device values: a mean-reverting multiplicative walk, never negative."""

    def __init__(self, profile: Profile, rng: random.Random) -> None:
        self.profile = profile
        self.rng = rng
        self.state = [rng.gauss(0.0, 1.0) for _ in profile.factors]

    def next(self) -> dict[str, float]:
        out: dict[str, float] = {}
        for i, f in enumerate(self.profile.factors):
            self.state[i] = 0.9 * self.state[i] + 0.44 * self.rng.gauss(0.0, 1.0)
            out[f.code] = max(0.0, f.level * (1.0 + f.spread * self.state[i]))
        return out


def cp_fields(
    profile: Profile, values: Mapping[str, float], edition: str
) -> dict[str, dict[str, str]]:
    """code → {field: text} for one upload, codes translated to 2005 ones for that edition."""
    out: dict[str, dict[str, str]] = {}
    suffix = profile.field
    for f in profile.factors:
        code = f.code
        if edition == "2005":
            old = code_2005(code)
            if old is None:
                continue  # 2005 had no code for this parameter: a 2005 logger cannot send it
            code = old
        v = values[f.code]
        fields = {suffix: f"{v:.{f.digits}f}"}
        if f.converted and edition != "2005":
            fields["Zs" + suffix] = f"{v * 1.1:.{f.digits}f}"
        fields["Flag"] = "N"
        out[code] = fields
    return out


def data_time(profile: Profile, now: datetime, index: int, count: int) -> datetime:
    """DataTime of the ``index``-th of ``count`` packets: consecutive steps ending at ``now``."""
    step = profile.step
    base = now.replace(microsecond=0)
    if step >= timedelta(minutes=1):
        base = base.replace(second=0)
    if step >= timedelta(hours=1):
        base = base.replace(minute=0)
    return base - step * (count - 1 - index)
