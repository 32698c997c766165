"""Screening hints: constant, zeros, pinned runs and offline, by hand."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qingshan.standards import supervision as sv
from qingshan.standards import supervision_hints as hints

T0 = datetime(2026, 11, 1)
H = timedelta(hours=1)


def rec(i: int, value: str, flag: str = "N") -> sv.Record:
    return sv.Record(T0 + i * H, flag, Decimal(value))


def test_constant_run_skips_calibration_and_stopped_hours() -> None:
    rs = [rec(i, "41.0") for i in range(6)]
    rs += [rec(6, "200", "C"), rec(7, "0", "F")]  # neither extends nor breaks the run
    rs += [rec(i, "41.0") for i in range(8, 14)]
    rs += [rec(14, "39.5")]  # a different judged value ends it
    (h,) = hints.screening_runs(rs, min_hours=12)
    assert (h.kind, h.first, h.last, h.value, h.hours, h.open_ended) == (
        "constant", T0, T0 + 13 * H, Decimal("41.0"), 12, False
    )  # fmt: skip
    assert hints.screening_runs(rs, min_hours=13) == []


def test_zeros_and_pinned() -> None:
    rs = [rec(i, "0") for i in range(3)] + [rec(i, "500", "T") for i in range(3, 6)]
    found = {(h.kind, h.hours, h.open_ended) for h in hints.screening_runs(rs, min_hours=3)}
    # the T run is also a constant run of 500
    assert found == {("zeros", 3, False), ("pinned", 3, True), ("constant", 3, True)}


def test_varying_values_give_nothing_and_bad_threshold_is_refused() -> None:
    rs = [rec(i, str(10 + i)) for i in range(30)]
    assert hints.screening_runs(rs, min_hours=2) == []
    with pytest.raises(sv.InvalidValueError):
        hints.screening_runs(rs, min_hours=1)


def test_offline_since() -> None:
    last = T0 + 5 * H  # the 05:00 record; nothing after
    assert hints.offline_since(last, T0 + 8 * H, 3) is None  # 06, 07 closed: 2 hours
    assert hints.offline_since(last, T0 + 9 * H, 3) == T0 + 6 * H
    assert hints.offline_since(None, T0 + 9 * H, 3) is None
    assert hints.hint_settings() == (12, 3)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(["0", "1", "2"]), max_size=40), st.integers(2, 6))
def test_runs_are_at_least_min_hours_and_disjoint_per_kind(values: list[str], need: int) -> None:
    found = hints.screening_runs([rec(i, v) for i, v in enumerate(values)], min_hours=need)
    for h in found:
        assert h.hours >= need and h.first <= h.last
        assert h.kind == ("zeros" if h.value == 0 else "constant")
    for kind in ("zeros", "constant"):
        runs = sorted((h.first, h.last) for h in found if h.kind == kind)
        for (_, a_last), (b_first, _) in itertools.pairwise(runs):
            assert a_last < b_first
