"""Supervision statistics of pollution sources from the stored hourly values: data rates,
exceedance hours / days and episodes against the permits' limits, emission amounts — per
outlet, enterprise and region.

The rules are :mod:`qingshan.standards.supervision` (the flag policy, rates, 折算, episodes,
amounts); this module reads the registry (outlets, their enterprises and devices, the limits
of the permits in force on each day) and the hourly observations, and feeds them through.

* Assessed pollutants of an outlet: those its permits limit in the period (the pollutants the
  有效传输率 is assessed on); an outlet without limits is listed and not assessed.
* Periods: the hours of ``[from, to)`` (CST dates) closed by the data cut-off (default: now).
* Limits apply on their own basis: 小时均值 on hourly compared values, 日均值 on daily means of
  the valid hours (:func:`~qingshan.standards.supervision.daily_means`); a limit applies on a
  day when its permit is in force that day.
* Emissions: measured (not converted) concentration × flow (a00000 m³/s, w00000 L/s) × 3600 s
  for hours where both are valid; other due, non-F hours are counted as ``missing_hours`` (the
  total is then a lower bound, never gap-filled).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from fractions import Fraction

from sqlalchemy import select
from sqlalchemy.orm import Session

from qingshan.clock import to_cst, utcnow
from qingshan.roles import Principal
from qingshan.services import permissions
from qingshan.services.errors import NotFound, ServiceError
from qingshan.services.permits import Basis, Limit, limits_by_site, measured
from qingshan.standards import supervision as sv
from qingshan.storage.models import Device, Enterprise, Observation, Region, Resolution, Site

HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
FLOW = {"gas": "a00000", "water": "w00000"}
O2 = "a19001"
CHUNK = 200  # devices per observation query


class StatsError(ServiceError):
    """A statistics request that cannot be answered as asked."""


@dataclass(frozen=True, slots=True)
class EpisodeInfo:
    pollutant: str
    basis: str  # 小时均值 / 日均值
    start: datetime  # CST
    end: datetime  # exclusive
    peak: Fraction
    peak_at: datetime
    periods: int
    limit: Decimal
    unit: str

    @property
    def duration_hours(self) -> int:
        step = HOUR if self.basis == Basis.HOUR.value else DAY
        return int(self.periods * step / HOUR)


@dataclass(frozen=True, slots=True)
class Emission:
    kg: Fraction = Fraction(0)
    hours: int = 0
    missing_hours: int = 0

    def __add__(self, other: Emission) -> Emission:
        return Emission(
            self.kg + other.kg, self.hours + other.hours, self.missing_hours + other.missing_hours
        )


@dataclass(frozen=True, slots=True)
class OutletStats:
    site_id: int
    code: str
    name: str
    medium: str
    mns: tuple[str, ...]
    pollutants: tuple[str, ...]  # assessed
    counts: sv.RateCounts
    exceedance_hours: int
    exceedance_days: int
    episodes: tuple[EpisodeInfo, ...]
    emissions: dict[str, Emission]
    # for the alarm detection: the assessed pollutants' records of the due hours, the latest
    # judged period per (pollutant, basis), the outlet's active devices
    records: dict[str, dict[datetime, sv.Record]] = field(default_factory=dict)
    last_judged: dict[tuple[str, str], datetime] = field(default_factory=dict)
    device_ids: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class EnterpriseStats:
    enterprise_id: int
    credit_code: str | None
    name: str
    region_code: str | None
    outlets: list[OutletStats] = field(default_factory=list)

    @property
    def counts(self) -> sv.RateCounts:
        total = sv.RateCounts()
        for o in self.outlets:
            total = total + o.counts
        return total

    @property
    def exceedance_hours(self) -> int:
        return sum(o.exceedance_hours for o in self.outlets if o.medium == "gas")

    @property
    def exceedance_days(self) -> int:
        return sum(o.exceedance_days for o in self.outlets if o.medium == "water")

    @property
    def emissions(self) -> dict[str, Emission]:
        out: dict[str, Emission] = {}
        for o in self.outlets:
            for k, v in o.emissions.items():
                out[k] = out.get(k, Emission()) + v
        return dict(sorted(out.items()))


@dataclass(frozen=True, slots=True)
class Period:
    start: datetime  # CST, inclusive
    end: datetime  # CST, exclusive
    cutoff: datetime  # CST


def period(d_from: date, d_to: date, cutoff: datetime | None = None) -> Period:
    """``[d_from, d_to]`` as whole CST days (both inclusive, as a person writes a range);
    ``cutoff`` (naive CST) defaults to now."""
    if d_to < d_from:
        raise StatsError(f"截止日期 {d_to} 早于起始日期 {d_from}")
    start = datetime.combine(d_from, datetime.min.time())
    end = datetime.combine(d_to, datetime.min.time()) + DAY
    return Period(start, end, to_cst(utcnow()) if cutoff is None else cutoff)


def region_codes(s: Session, code: str) -> set[str]:
    """The region and every region below it (the registry's tree)."""
    if s.get(Region, code) is None:
        raise NotFound(f"区划 {code} 不存在")
    children: dict[str, list[str]] = defaultdict(list)
    for c, parent in s.execute(select(Region.code, Region.parent_code)):
        if parent is not None:
            children[parent].append(c)
    out, todo = set(), [code]
    while todo:
        c = todo.pop()
        if c not in out:
            out.add(c)
            todo.extend(children[c])
    return out


@dataclass(frozen=True, slots=True)
class OutletRef:
    site: Site
    enterprise: Enterprise
    devices: dict[int, str]


def outlets_in_scope(
    s: Session, principal: Principal, region: str | None, enterprise_id: int | None
) -> list[OutletRef]:
    q = (
        select(Site, Enterprise)
        .join(Enterprise, Enterprise.id == Site.enterprise_id)
        .where(Site.kind == "enterprise_outlet", permissions.site_scope(principal))
        .order_by(Enterprise.name, Site.code)
    )
    if region is not None:
        q = q.where(Enterprise.region_code.in_(sorted(region_codes(s, region))))
    if enterprise_id is not None:
        q = q.where(Enterprise.id == enterprise_id)
    rows: list[tuple[Site, Enterprise]] = [(site, ent) for site, ent in s.execute(q)]
    devices: dict[int, dict[int, str]] = defaultdict(dict)
    ids = [site.id for site, _ in rows]
    for i in range(0, len(ids), 1000):
        for dev_id, mn, site_id in s.execute(
            select(Device.id, Device.mn, Device.site_id).where(
                Device.site_id.in_(ids[i : i + 1000]), Device.active.is_(True)
            )
        ):
            if site_id is not None:
                devices[site_id][dev_id] = mn
    return [OutletRef(site, ent, devices[site.id]) for site, ent in rows]


def _limits(s: Session, p: Period) -> dict[date, dict[int, tuple[Limit, ...]]]:
    """Day → outlet → limits in force that day (one query per distinct day)."""
    out = {}
    d = p.start.date()
    while datetime.combine(d, datetime.min.time()) < p.end:
        out[d] = limits_by_site(s, d)
        d += DAY
    return out


Rows = dict[str, dict[datetime, sv.Record]]


def observations(
    s: Session, device_ids: Sequence[int], codes: Sequence[str], p: Period
) -> dict[int, Rows]:
    """Device → code → hour → record, for the hours of the period."""
    out: dict[int, Rows] = defaultdict(lambda: defaultdict(dict))
    for i in range(0, len(device_ids), CHUNK):
        q = select(
            Observation.device_id,
            Observation.data_time,
            Observation.code,
            Observation.value,
            Observation.zs,
            Observation.flag,
        ).where(
            Observation.device_id.in_(device_ids[i : i + CHUNK]),
            Observation.resolution == int(Resolution.HOUR),
            Observation.data_time >= p.start,
            Observation.data_time < p.end,
            Observation.code.in_(codes),
        )
        for dev, t, code, value, zs, flag in s.execute(q):
            out[dev][code][t] = sv.Record(t, flag, measured(value), measured(zs))
    return out


def _dec(x: Decimal | Fraction) -> Decimal:
    """This module's records hold stored decimal text read as Decimal (:func:`_observations`)."""
    if not isinstance(x, Decimal):
        raise TypeError(f"expected a stored decimal value, got {x!r}")
    return x


def _valid(rec: sv.Record | None) -> Decimal | Fraction | None:
    if rec is None or rec.value is None or not sv.flag_rule(rec.flag).valid:
        return None
    return rec.value


def _outlet_stats(
    o: OutletRef,
    p: Period,
    due: Sequence[datetime],
    limits_on: dict[date, dict[int, tuple[Limit, ...]]],
    rows: Rows,
) -> OutletStats:
    medium = o.site.outlet_medium or "gas"
    site_limits = [lim for day in limits_on.values() for lim in day.get(o.site.id, ())]
    pollutants = tuple(sorted({lim.pollutant for lim in site_limits}))
    counts = sv.RateCounts()
    for code in pollutants:
        counts = counts + sv.count_rates(due, rows.get(code, {}))

    site_id = o.site.id
    due_set = set(due)
    o2_rows = rows.get(O2, {})
    episodes: list[EpisodeInfo] = []
    last_judged: dict[tuple[str, str], datetime] = {}
    keys = sorted({(lim.pollutant, lim.basis) for lim in site_limits})
    for code, basis in keys:
        recs = [r for t, r in rows.get(code, {}).items() if t in due_set]

        by_day = {
            day: lim
            for day, per_site in limits_on.items()
            for lim in per_site.get(site_id, ())
            if lim.pollutant == code and lim.basis == basis
        }
        limit_on = by_day.get

        judged: list[sv.Judgement] = []
        shown: Limit | None = None
        if basis == Basis.HOUR:
            for r in recs:
                lim = limit_on(r.when.date())
                if lim is None or r.value is None or not sv.flag_rule(r.flag).judged:
                    continue
                if r.value < 0:
                    continue  # a negative concentration is not a measurement to judge
                o2 = _valid(o2_rows.get(r.when))
                hit = sv.exceeds(
                    _dec(r.value),
                    upper=lim.upper,
                    lower=lim.lower,
                    converted=None if r.converted is None else _dec(r.converted),
                    o2=None if o2 is None else _dec(o2),
                    o2_ref=lim.o2_ref,
                )
                # the exact compared value matters only for exceedances (episode peaks)
                value = (
                    sv.compared_value(r.value, converted=r.converted, o2=o2, o2_ref=lim.o2_ref)
                    if hit
                    else Fraction(0)
                )
                judged.append(sv.Judgement(r.when, value, hit))
                shown = shown or lim
            step = HOUR
        else:
            for dv in sv.daily_means(recs):
                lim = limit_on(dv.day)
                if lim is None:
                    continue
                when = datetime.combine(dv.day, datetime.min.time())
                judged.append(
                    sv.Judgement(when, dv.value, sv.judge(dv.value, lim.upper, lim.lower))
                )
                shown = shown or lim
            step = DAY
        if judged:
            last_judged[(code, basis.value)] = max(j.when for j in judged)
        for e in sv.episodes(judged, step):
            assert shown is not None  # an episode needs a judged value, which needs a limit
            peak_lim = limit_on(e.peak_at.date()) or shown
            episodes.append(
                EpisodeInfo(
                    code,
                    basis.value,
                    e.start,
                    e.end,
                    e.peak,
                    e.peak_at,
                    e.periods,
                    peak_lim.upper,
                    peak_lim.unit,
                )
            )
    episodes.sort(key=lambda e: (e.start, e.pollutant))
    hours = {
        e.start + i * HOUR
        for e in episodes
        if e.basis == Basis.HOUR.value
        for i in range(e.periods)
    }
    days = {
        e.start.date() + i * DAY
        for e in episodes
        if e.basis == Basis.DAY.value
        for i in range(e.periods)
    }

    emissions: dict[str, Emission] = {}
    flow_rows = rows.get(FLOW.get(medium, "a00000"), {})
    for code in pollutants:
        pairs: list[tuple[Decimal, Decimal]] = []
        missing = 0
        prow = rows.get(code, {})
        for t in due:
            rec = prow.get(t)
            if rec is not None and not sv.flag_rule(rec.flag).expected:
                continue  # stopped: nothing emitted, nothing owed
            c, q = _valid(rec), _valid(flow_rows.get(t))
            if c is None or q is None or c < 0 or q < 0:
                missing += 1
                continue
            pairs.append((_dec(c), _dec(q)))
        # Σ C × Q × 3600 s: the interval formula is linear, so it applies to the exact sum
        kg = sv.interval_mass(sv.exact_sum_products(pairs), 1, 3600, medium)
        n = len(pairs)
        emissions[code] = Emission(kg, n, missing)
    return OutletStats(
        site_id=o.site.id,
        code=o.site.code,
        name=o.site.name,
        medium=medium,
        mns=tuple(sorted(o.devices.values())),
        pollutants=pollutants,
        counts=counts,
        exceedance_hours=len(hours),
        exceedance_days=len(days),
        episodes=tuple(episodes),
        emissions=emissions,
        records={c: {t: r for t, r in rows.get(c, {}).items() if t in due_set} for c in pollutants},
        last_judged=last_judged,
        device_ids=tuple(sorted(o.devices)),
    )


def _merge(parts: Iterable[Rows]) -> Rows:
    out: Rows = defaultdict(dict)
    for part in parts:
        for code, recs in part.items():
            out[code].update(recs)
    return out


def source_stats(
    s: Session,
    principal: Principal,
    p: Period,
    *,
    region: str | None = None,
    enterprise_id: int | None = None,
    keep_records: bool = False,
) -> list[EnterpriseStats]:
    """Per enterprise (by name), its outlets' statistics over the period, within the
    principal's scope (an enterprise user: its own enterprise only). Observations are read
    and reduced ``CHUNK`` devices at a time, so memory does not grow with the number of
    outlets; ``keep_records`` keeps each outlet's records (for the alarm detection)."""
    outlets = outlets_in_scope(s, principal, region, enterprise_id)
    limits_on = _limits(s, p)
    due = sv.expected_periods(p.start, p.end, p.cutoff)
    codes = sorted(
        {lim.pollutant for day in limits_on.values() for ls in day.values() for lim in ls}
        | set(FLOW.values())
        | {O2}
    )
    out: dict[int, EnterpriseStats] = {}
    batch: list[OutletRef] = []

    def flush() -> None:
        by_dev = observations(s, [d for o in batch for d in o.devices], codes, p)
        for o in batch:
            rows = _merge(by_dev[d] for d in sorted(o.devices) if d in by_dev)
            ent = out.get(o.enterprise.id)
            if ent is None:
                ent = out[o.enterprise.id] = EnterpriseStats(
                    o.enterprise.id,
                    o.enterprise.credit_code,
                    o.enterprise.name,
                    o.enterprise.region_code,
                )
            stats = _outlet_stats(o, p, due, limits_on, rows)
            if not keep_records:
                stats.records.clear()
            ent.outlets.append(stats)
        batch.clear()

    for o in outlets:
        batch.append(o)
        if sum(len(b.devices) for b in batch) >= CHUNK:
            flush()
    flush()
    return list(out.values())


def iter_episodes(
    stats: Iterable[EnterpriseStats],
) -> Iterator[tuple[EnterpriseStats, OutletStats, EpisodeInfo]]:
    for e in stats:
        for o in e.outlets:
            for ep in o.episodes:
                yield e, o, ep
