"""Alarm and hint episodes of outlets (``source_episode``): detection over newly arrived data,
notification, confirmation, and the read API the cases issue builds on.

Detection (:func:`detect`, run every few seconds by :class:`AlarmThread` in ``qingshan serve``
and by ``qingshan source detect``) recomputes the last ``lookback`` hours of every outlet with
the statistics of :mod:`.stats` and the hints of
:mod:`qingshan.standards.supervision_hints`, and reconciles them with the stored episodes:

* one condition is one row: a computed episode continues the stored open episode of the same
  outlet, kind, pollutant and basis when it starts no later than one period after the stored
  one's last period (so an episode longer than the look-back window stays one row), else it is
  the stored episode with the same start, else a new row;
* a new **alarm** (exceedance, offline) notifies the bureau's administrators and staff through
  :func:`qingshan.services.notifications.notify` (inbox, e-mail/SMS where set up); hints
  (constant, zeros, pinned) are recorded without notification — they are leads, not verdicts;
* an episode is ``cleared`` when data show the condition ended (a judged period after it; a
  record after an outage), and ``closed`` when it is cleared **and** a person confirmed it
  (:func:`confirm`, in either order). Confirmation is written to the timeline.
* every alarm episode opens one case (origin 自动监控报警, :mod:`qingshan.services.cases.alarm`),
  which closes when the episode closes; :func:`confirm_case` confirms a case's episode.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from fractions import Fraction
from typing import Any

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from qingshan.clock import to_cst, utcnow
from qingshan.roles import CLI, Principal, Role
from qingshan.services import notifications, permissions, timeline
from qingshan.services.cases import alarm as alarm_cases
from qingshan.services.cases import core as cases
from qingshan.services.errors import NotFound, ServiceError
from qingshan.services.sources import stats
from qingshan.standards import supervision as sv
from qingshan.standards import supervision_hints as hints
from qingshan.standards.rounding import round_half_even
from qingshan.storage.db import session_scope
from qingshan.storage.models import Device, Enterprise, Observation, Resolution, Site
from qingshan.storage.models_sources import EPISODE_KINDS, SourceEpisode

log = logging.getLogger("qingshan.sources.alarms")

HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
LOOKBACK = timedelta(hours=48)
ALARM_KINDS = ("exceedance", "offline")
KIND_LABELS = {
    "exceedance": "超标",
    "offline": "离线",
    "constant": "数据恒值（线索）",
    "zeros": "数据为零（线索）",
    "pinned": "超测上限（线索）",
}
STATUS_LABELS = {"open": "持续中", "cleared": "已恢复待确认", "closed": "已确认关闭"}
CONFIRMERS: tuple[Role, ...] = permissions.SOURCE_CONFIRMERS  # who may confirm an episode
NOTIFIED: tuple[str, ...] = (Role.ADMIN.value, Role.STAFF.value)


class EpisodeError(ServiceError):
    """An episode request that cannot be carried out."""


@dataclass(frozen=True, slots=True)
class Found:
    """One condition as computed from the data."""

    site_id: int
    enterprise_id: int
    kind: str
    pollutant: str
    basis: str
    start: datetime
    last: datetime
    ended: datetime | None
    periods: int
    step: timedelta
    peak: str | None = None
    peak_at: datetime | None = None
    limit: str | None = None
    unit: str | None = None


@dataclass
class DetectSummary:
    created: int = 0
    updated: int = 0
    cleared: int = 0
    notified: int = 0
    cases_opened: int = 0
    cases_closed: int = 0


def _case(s: Session, row: SourceEpisode, summary: DetectSummary) -> None:
    """Open the alarm episode's case if it has none; close it once the episode closed."""
    if row.kind not in ALARM_KINDS:
        return
    if alarm_cases.case_of(s, row.id) is None:
        alarm_cases.open_for_episode(s, row)
        summary.cases_opened += 1
    case = alarm_cases.case_of(s, row.id)
    if row.status == "closed" and case is not None and "closed" not in cases.state_tags(case):
        alarm_cases.close_for_episode(s, alarm_cases.DETECTION, row)
        summary.cases_closed += 1


def _text(x: Fraction | Any) -> str:
    return str(round_half_even(x, 3)) if isinstance(x, Fraction) else str(x)


def _found(s: Session, p: stats.Period) -> list[Found]:
    out: list[Found] = []
    ents = stats.source_stats(s, CLI, p, keep_records=True)
    due = sv.expected_periods(p.start, p.end, p.cutoff)
    due_set = set(due)
    dev_site: dict[int, tuple[int, int]] = {}
    for e in ents:
        for o in e.outlets:
            for ep in o.episodes:
                step = HOUR if ep.basis == "小时均值" else DAY
                last = ep.end - step
                ended = ep.end if o.last_judged.get((ep.pollutant, ep.basis), last) > last else None
                out.append(
                    Found(o.site_id, e.enterprise_id, "exceedance", ep.pollutant, ep.basis,
                          ep.start, last, ended, ep.periods, step, _text(ep.peak), ep.peak_at,
                          str(ep.limit), ep.unit)
                )  # fmt: skip
            for code, recs in o.records.items():
                for h in hints.screening_runs(r for t, r in recs.items() if t in due_set):
                    out.append(
                        Found(o.site_id, e.enterprise_id, h.kind, code, "", h.first, h.last,
                              None if h.open_ended else h.last + HOUR, h.hours, HOUR,
                              _text(h.value), h.last)
                    )  # fmt: skip
            for dev in o.device_ids:
                dev_site[dev] = (o.site_id, e.enterprise_id)
    # offline: from each device's latest hourly record, wherever it is
    if dev_site:
        q = (
            select(Observation.device_id, func.max(Observation.data_time))
            .where(
                Observation.device_id.in_(sorted(dev_site)),
                Observation.resolution == int(Resolution.HOUR),
                Observation.data_time < p.cutoff,
            )
            .group_by(Observation.device_id)
        )
        for dev, last in s.execute(q):
            since = hints.offline_since(last, p.cutoff)
            if since is not None:
                site_id, ent_id = dev_site[dev]
                n = int((p.cutoff - since) // HOUR)
                out.append(
                    Found(site_id, ent_id, "offline", "", "", since, since + max(n - 1, 0) * HOUR,
                          None, n, HOUR)
                )  # fmt: skip
    return out


def _status(row: SourceEpisode) -> str:
    if row.ended_at is None:
        return "open"
    return "closed" if row.confirmed_at is not None else "cleared"


def _match(s: Session, f: Found) -> SourceEpisode | None:
    same = (
        SourceEpisode.site_id == f.site_id,
        SourceEpisode.kind == f.kind,
        SourceEpisode.pollutant == f.pollutant,
        SourceEpisode.basis == f.basis,
    )
    row = s.scalar(
        select(SourceEpisode)
        .where(
            *same,
            SourceEpisode.ended_at.is_(None),
            SourceEpisode.started_at <= f.start,
        )
        .order_by(SourceEpisode.started_at.desc())
    )
    if row is not None and (f.start <= row.last_at + f.step or f.kind == "offline"):
        return row
    return s.scalar(select(SourceEpisode).where(*same, SourceEpisode.started_at == f.start))


def _notify(s: Session, row: SourceEpisode, site: Site, enterprise_name: str) -> int:
    users = notifications.users_with_roles(s, NOTIFIED)
    what = KIND_LABELS[row.kind]
    pollutant = f" {row.pollutant}" if row.pollutant else ""
    peak = (
        f"，峰值 {row.peak_value} {row.unit or ''}（限值 {row.limit_value}）"
        if row.kind == "exceedance"
        else ""
    )
    body = (
        f"{enterprise_name} {site.name}（{site.code}）{pollutant}{what}，"
        f"自 {row.started_at:%Y-%m-%d %H:%M}（北京时间）起{peak}。请核实并在确认后关闭。"
    )
    msgs = notifications.notify(
        s,
        users,
        kind="source_alarm",
        subject=f"【{what}】{enterprise_name} {site.code}{pollutant}",
        body=body,
        entity_type="source_episode",
        entity_id=row.id,
    )
    return len(msgs)


def detect(
    s: Session, *, now: datetime | None = None, lookback: timedelta = LOOKBACK
) -> DetectSummary:
    """Reconcile the stored episodes with the last ``lookback`` of data (module docstring).

    Parameters
    ----------
    s : Session
    now : datetime, optional
        Naive UTC (default: the clock).
    lookback : timedelta
        How far back the data are recomputed.
    """
    cutoff = to_cst(utcnow() if now is None else now)
    end = cutoff.replace(minute=0, second=0, microsecond=0) + HOUR
    start = end - lookback - HOUR
    start = start.replace(hour=0)  # whole days, so daily means are complete
    p = stats.Period(start, end, cutoff)
    summary = DetectSummary()
    stamp = utcnow()
    for f in _found(s, p):
        row = _match(s, f)
        if row is None:
            row = SourceEpisode(
                site_id=f.site_id, enterprise_id=f.enterprise_id, kind=f.kind,
                pollutant=f.pollutant, basis=f.basis, started_at=f.start, last_at=f.last,
                ended_at=f.ended, periods=f.periods, peak_value=f.peak, peak_at=f.peak_at,
                limit_value=f.limit, unit=f.unit, status="open", detected_at=stamp,
                updated_at=stamp,
            )  # fmt: skip
            row.status = _status(row)
            s.add(row)
            s.flush()
            summary.created += 1
            if f.kind in ALARM_KINDS:
                site = s.get(Site, f.site_id)
                assert site is not None and site.enterprise is not None
                summary.notified += _notify(s, row, site, site.enterprise.name)
                _case(s, row, summary)
            continue
        before = (row.last_at, row.ended_at, row.periods, row.peak_value)
        if f.kind == "offline" or f.start == row.started_at:
            row.periods = f.periods
        else:  # continues a stored episode that began before the window
            row.periods = max(row.periods, int((f.last - row.started_at) / f.step) + 1)
        row.last_at = max(row.last_at, f.last)
        row.ended_at = f.ended
        if f.peak is not None and (
            row.peak_value is None or Fraction(f.peak) > Fraction(row.peak_value)
        ):
            row.peak_value, row.peak_at = f.peak, f.peak_at
        if (row.last_at, row.ended_at, row.periods, row.peak_value) != before:
            if before[1] is None and row.ended_at is not None:
                summary.cleared += 1
            row.status = _status(row)
            row.updated_at = stamp
            summary.updated += 1
        if row.status != "closed" or before[1] is None:
            _case(s, row, summary)  # also episodes stored before their case could be opened
    # open offline episodes whose device sends again
    for row in s.scalars(
        select(SourceEpisode).where(
            SourceEpisode.kind == "offline", SourceEpisode.ended_at.is_(None)
        )
    ):
        back = _first_record_after(s, row.site_id, row.started_at)
        if back is not None:
            row.ended_at, row.updated_at = back, stamp
            row.status = _status(row)
            summary.cleared += 1
            _case(s, row, summary)
    return summary


def _first_record_after(s: Session, site_id: int, since: datetime) -> datetime | None:
    q = (
        select(func.min(Observation.data_time))
        .join(Device, Device.id == Observation.device_id)
        .where(
            Device.site_id == site_id,
            Observation.resolution == int(Resolution.HOUR),
            Observation.data_time >= since,
        )
    )
    return s.scalar(q)


# --------------------------------------------------------------------------- read and confirm


def _scoped(p: Principal) -> Any:
    """Episodes of the outlets the principal may see (an enterprise user: its own)."""
    return SourceEpisode.site_id.in_(
        select(Site.id).where(Site.kind == "enterprise_outlet", permissions.site_scope(p))
    )


def list_episodes(
    s: Session,
    principal: Principal,
    *,
    open_only: bool = False,
    kinds: Sequence[str] | None = None,
    enterprise_id: int | None = None,
    limit: int = 500,
    overlapping: tuple[datetime, datetime] | None = None,
) -> list[SourceEpisode]:
    """Episodes within the principal's scope, newest first. ``open_only``: not yet closed
    (``open`` or ``cleared``), i.e. what still needs attention. ``overlapping``: only those
    that ran at some time in ``[start, end)`` (CST), e.g. a report's month."""
    q = select(SourceEpisode).where(_scoped(principal))
    if overlapping is not None:
        lo, hi = overlapping
        q = q.where(
            SourceEpisode.started_at < hi,
            SourceEpisode.ended_at.is_(None) | (SourceEpisode.ended_at > lo),
        )
    if open_only:
        q = q.where(SourceEpisode.status != "closed")
    if kinds:
        unknown = sorted(set(kinds) - set(EPISODE_KINDS))
        if unknown:
            raise EpisodeError(
                f"未知的事件类型 {', '.join(unknown)}；可选 {', '.join(EPISODE_KINDS)}"
            )
        q = q.where(SourceEpisode.kind.in_(list(kinds)))
    if enterprise_id is not None:
        q = q.where(SourceEpisode.enterprise_id == enterprise_id)
    q = q.order_by(SourceEpisode.started_at.desc(), SourceEpisode.id.desc()).limit(limit)
    return list(s.scalars(q))


def get_episode(s: Session, principal: Principal, episode_id: int) -> SourceEpisode:
    """One episode by its stable id; :class:`NotFound` when absent or out of scope."""
    row = s.scalar(select(SourceEpisode).where(SourceEpisode.id == episode_id, _scoped(principal)))
    if row is None:
        raise NotFound(f"报警事件 {episode_id} 不存在")
    return row


def confirm(s: Session, principal: Principal, episode_id: int, note: str) -> SourceEpisode:
    """A person confirms an episode (核实确认) with a note; it closes once the condition has
    also cleared (now or when detection sees it clear)."""
    if principal.role not in CONFIRMERS:
        raise EpisodeError("只有生态环境局工作人员和系统管理员可以确认报警事件")
    row = get_episode(s, principal, episode_id)
    text = note.strip()
    if not text:
        raise EpisodeError("请填写核实情况（确认说明不能为空）")
    if row.confirmed_at is not None:
        raise EpisodeError(f"报警事件 {episode_id} 已于 {row.confirmed_at:%Y-%m-%d %H:%M} 确认")
    before = episode_json(row)
    row.confirmed_by = principal.user_id
    row.confirmed_name = principal.username
    row.confirmed_at = utcnow()
    row.confirm_note = text
    row.status = _status(row)
    row.updated_at = row.confirmed_at
    alarm_cases.close_for_episode(s, principal, row)
    timeline.record(
        s,
        principal,
        entity_type="source_episode",
        entity_id=row.id,
        action="confirm",
        summary=f"确认{KIND_LABELS[row.kind]}事件 {row.id}：{text}",
        before=before,
        after=episode_json(row),
    )
    return row


def confirm_case(s: Session, principal: Principal, code: str, note: str) -> SourceEpisode:
    """Confirm from an alarm case: the case's episode is confirmed (:func:`confirm`), which
    closes both once the condition has cleared."""
    case = cases.get(s, principal, code)
    if case.episode_id is None:
        raise EpisodeError(f"案件 {code} 不是自动监控报警案件，没有报警事件可确认")
    row = confirm(s, principal, case.episode_id, note)
    outcome = (
        "报警已恢复，事件和案件已关闭"
        if row.status == "closed"
        else "报警尚未恢复，恢复后案件自动关闭"
    )
    timeline.record(
        s,
        principal,
        entity_type=cases.ENTITY,
        entity_id=case.code,
        action="case.confirm",
        summary=f"核实确认报警事件 {row.id}：{row.confirm_note}（{outcome}）",
        after=episode_json(row),
    )
    return row


def may_confirm_case(s: Session, principal: Principal, case: Any) -> bool:
    """Whether ``principal`` may confirm the alarm case's episode now (the 确认 button)."""
    if principal.role not in CONFIRMERS or case.episode_id is None:
        return False
    row = s.get(SourceEpisode, case.episode_id)
    return row is not None and row.confirmed_at is None


def episode_json(row: SourceEpisode) -> dict[str, Any]:
    def cst(t: datetime | None) -> str | None:
        return None if t is None else t.isoformat() + "+08:00"

    return {
        "id": row.id,
        "site_id": row.site_id,
        "enterprise_id": row.enterprise_id,
        "kind": row.kind,
        "kind_label": KIND_LABELS[row.kind],
        "hint": row.kind not in ALARM_KINDS,
        "pollutant": row.pollutant or None,
        "basis": row.basis or None,
        "start": cst(row.started_at),
        "last": cst(row.last_at),
        "end": cst(row.ended_at),
        "periods": row.periods,
        "peak": row.peak_value,
        "peak_at": cst(row.peak_at),
        "limit": row.limit_value,
        "unit": row.unit,
        "status": row.status,
        "status_label": STATUS_LABELS[row.status],
        "confirmed_by": row.confirmed_name,
        "confirmed_at": None if row.confirmed_at is None else row.confirmed_at.isoformat() + "Z",
        "confirm_note": row.confirm_note,
    }


def episodes_json(s: Session, rows: Sequence[SourceEpisode]) -> list[dict[str, Any]]:
    """Episodes with their outlet and enterprise names."""
    ids = {r.site_id for r in rows}
    names = {
        sid: (code, name, ent)
        for sid, code, name, ent in s.execute(
            select(Site.id, Site.code, Site.name, Enterprise.name)
            .join(Enterprise, Enterprise.id == Site.enterprise_id)
            .where(Site.id.in_(sorted(ids)))
        )
    }
    out = []
    for r in rows:
        code, name, ent = names.get(r.site_id, ("", "", ""))
        out.append({**episode_json(r), "outlet": code, "outlet_name": name, "enterprise": ent})
    return out


class AlarmThread(threading.Thread):
    """Runs :func:`detect` every ``interval`` seconds until :meth:`stop` (``qingshan serve``):
    an hourly packet's exceedance becomes an episode within one interval of its commit."""

    def __init__(self, engine: Engine, interval: float) -> None:
        super().__init__(name="qingshan-source-alarms", daemon=True)
        self.engine = engine
        self.interval = interval
        self._stop_event = threading.Event()
        self.runs = 0

    def run(self) -> None:
        while not self._stop_event.is_set():
            try:
                with session_scope(self.engine) as s:
                    detect(s)
            except Exception as exc:  # the database may be down: try again next round
                log.warning("source alarm detection failed (will retry): %s", exc)
            self.runs += 1
            self._stop_event.wait(self.interval)

    def stop(self, timeout: float = 10.0) -> None:
        self._stop_event.set()
        self.join(timeout)
