"""Deadlines and escalation by the calendar: 蓝/黄/红 warnings through the scheduler as time
passes (the scheduler's clock moved forward), 挂牌督办, the accountability ladder; statistics
rules (hypothesis). SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import Engine, select

from qingshan.clock import cst_today, from_cst
from qingshan.services import notifications, scheduler, timeline, workcalendar
from qingshan.services.cases import core, escalation, stats
from qingshan.storage.db import session_scope
from qingshan.storage.models_cases import CaseItem
from qingshan.workdays import add_working_days

from .conftest import make_county, problem


def _run_at(engine: Engine, monkeypatch: pytest.MonkeyPatch, when: datetime) -> int:
    """Run the jobs due at ``when`` (naive UTC): the scheduler's clock is moved there."""
    monkeypatch.setattr(scheduler, "utcnow", lambda: when)
    ctx = scheduler.JobContext(scheduler.worker_id())
    return scheduler.run_due(engine, ctx, escalation.JOB_HANDLERS).done


def _warning(engine: Engine, code: str) -> str | None:
    with session_scope(engine) as s:
        return s.scalar(select(CaseItem.warning).where(CaseItem.code == code))


def test_an_overdue_case_escalates_by_the_calendar(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    u = make_county(engine)
    today = cst_today()
    with session_scope(engine) as s:
        # a county holiday inside the period moves the due day by one working day
        cal = workcalendar.calendar(s)
        workcalendar.set_day(
            s, u["admin"], add_working_days(cal, today, 3).due, "holiday", "县庆放假"
        )
    with session_scope(engine) as s:
        cal = workcalendar.calendar(s)
        c = core.open_case(
            s,
            u["staff"],
            problem(
                code="SJ1-05",
                received_on=today,
                due_on=None,
                deadline_days=20,
                deadline_unit="working",
            ),
        )
        due = add_working_days(cal, today, 20).due
        assert c.due_on == due and "工作日" in (c.due_basis or "")
        days = escalation.warning_days(cal, due)
    assert days["yellow"] == due + timedelta(days=1) and days["red"] == due + timedelta(days=30)
    nine = {
        k: from_cst(datetime.combine(d, datetime.min.time())) + timedelta(hours=9)
        for k, d in days.items()
    }
    # before the blue day nothing is raised (the workflow's own 5-day reminder may run)
    _run_at(engine, monkeypatch, nine["blue"] - timedelta(minutes=1))
    assert _warning(engine, "SJ1-05") is None
    assert _run_at(engine, monkeypatch, nine["blue"] + timedelta(minutes=1)) >= 1
    assert _warning(engine, "SJ1-05") == "blue"
    _run_at(engine, monkeypatch, nine["yellow"] + timedelta(minutes=1))
    assert _warning(engine, "SJ1-05") == "yellow"
    _run_at(engine, monkeypatch, nine["red"] + timedelta(minutes=1))
    assert _warning(engine, "SJ1-05") == "red"
    with session_scope(engine) as s:
        inbox = notifications.inbox(s, u["lead"])
        subjects = [m.subject for m in inbox]
        assert any(x.startswith("【蓝单·临期预警】案件 SJ1-05") for x in subjects)
        assert any(x.startswith("【红单·严重逾期】") and "建议挂牌督办" in x for x in subjects)
        assert notifications.inbox(s, u["other"]) == []  # another unit is not told
        assert any("红单" in m.subject for m in notifications.inbox(s, u["leader"]))
        warnings = [
            e.summary
            for e in timeline.events(s, u["staff"], "case", "SJ1-05")
            if e.action == "case.warning"
        ]
        assert len(warnings) == 3
        # 挂牌督办, then the ladder 通报 → 约谈 → 问责 against unit and person
        escalation.supervise(s, u["staff"], "SJ1-05", "红单逾期")
        with pytest.raises(core.CaseError, match="已于"):
            escalation.supervise(s, u["staff"], "SJ1-05", "再挂")
        with pytest.raises(core.CaseError, match="之前须先记录约谈"):
            escalation.record_step(
                s,
                u["staff"],
                "SJ1-05",
                escalation.StepInput("问责", today, unit="水务局", person="张某"),
            )
        for step in ("通报", "约谈", "问责"):
            escalation.record_step(
                s,
                u["staff"],
                "SJ1-05",
                escalation.StepInput(step, today, unit="水务局", person="张某", position="副局长"),
            )
        with pytest.raises(core.CaseError, match="无权记录问责"):
            escalation.record_step(
                s, u["lead"], "SJ1-05", escalation.StepInput("通报", today, unit="SWJ")
            )
        assert escalation.accountability_counts(s) == {"通报": 1, "约谈": 1, "问责": 1}
        actions = [e.action for e in timeline.events(s, u["staff"], "case", "SJ1-05")]
        assert actions.count("case.accountability") == 3 and "case.supervise" in actions


def test_a_closed_case_is_not_warned(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    u = make_county(engine)
    with session_scope(engine) as s:
        core.open_case(
            s,
            u["staff"],
            problem(code="W-1", received_on=date(2026, 1, 5), due_on=date(2026, 2, 1)),
        )
        core.fire(s, u["staff"], "W-1", "void", fields={"void_reason": "误录"})
    _run_at(engine, monkeypatch, from_cst(datetime(2027, 1, 1, 10)))
    assert _warning(engine, "W-1") is None


facts = st.builds(
    stats.Fact,
    origin=st.sampled_from(["central_inspection", "hotline", "grid_patrol"]),
    round=st.none() | st.integers(1, 3),
    kind=st.sampled_from(["problem", "complaint", "patrol"]),
    tags=st.sampled_from(
        [
            (),
            ("rectified", "closed"),
            ("rectified", "closed", "signed_off"),
            ("closed",),
            ("interim",),
            ("excluded",),
        ]
    ),
    received_on=st.dates(date(2016, 1, 1), date(2026, 1, 1)),
    due_on=st.none() | st.dates(date(2016, 1, 1), date(2028, 1, 1)),
    closed_on=st.none() | st.dates(date(2026, 1, 1), date(2026, 12, 1)),
    repeat=st.booleans(),
)


@given(st.lists(facts, max_size=40))
def test_statistics_add_up(items: list[stats.Fact]) -> None:
    rows = stats.tally(items, date(2026, 12, 3))
    counted = [f for f in items if "excluded" not in f.tags]
    assert sum(r.total for r in rows) == len(counted)
    for r in rows:
        assert r.signed_off <= r.rectified <= r.total
        assert r.in_progress == r.total - r.closed >= 0
        assert r.overdue <= r.in_progress
        assert r.closure_rate is not None and 0 <= r.closure_rate <= 100
        assert r.on_time_rate is None or 0 <= r.on_time_rate <= 100
        mine = [f for f in counted if (f.origin, f.round, f.kind) == (r.origin, r.round, r.kind)]
        assert r.closed == sum("closed" in f.tags for f in mine)


@given(st.integers(0, 10_000), st.integers(1, 10_000))
def test_percent_rounds_half_up(part: int, whole: int) -> None:
    value = stats.percent(min(part, whole), whole)
    exact = min(part, whole) * 100 / whole
    assert value is not None and abs(value - exact) <= 0.05 + 1e-9
    assert (
        stats.percent(1, 8) == 12.5 and stats.percent(1, 3) == 33.3 and stats.percent(2, 3) == 66.7
    )
    assert stats.percent(0, 0) is None
