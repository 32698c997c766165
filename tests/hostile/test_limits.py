"""The limits' bookkeeping on its own (no sockets): held split parts, the access-check
throttle, token buckets, the refusal ledger, the log throttle and the connection cap."""

from __future__ import annotations

import logging
import random
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qingshan.gateway.limits import (
    AuthPolicy,
    AuthThrottle,
    LogThrottle,
    LookupLimiter,
    RefusalLedger,
    TokenBuckets,
    connection_cap,
)
from qingshan.protocol.hj212 import Reason, build_packet, parse_packet
from qingshan.protocol.hj212.reassembly import Part, Reassembled
from qingshan.protocol.hj212.receiver import (
    DuplicatePart,
    HeldParts,
    Receiver,
    Rejection,
)

MN = "010000A8900016F000169DC0"
T = datetime(2026, 3, 1, 8, 0)


def part(packet_no: int, pno: int, pnum: int, mn: str = MN) -> bytes:
    when = T + timedelta(minutes=packet_no)
    return build_packet(
        st="22",
        cn="2051",
        pw="123456",
        mn=mn,
        cp=f"DataTime={when:%Y%m%d%H%M%S};a2{pno:04d}-Avg={pno}.5",
        qn=f"{when:%Y%m%d%H%M%S}{packet_no % 1000:03d}",
        needs_reply=True,
        pnum=pnum,
        pno=pno,
    )


# ------------------------------------------------------------------------------ held parts


@settings(max_examples=80, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 5), st.integers(1, 3)), min_size=1, max_size=60),
    st.integers(300, 3000),
    st.randoms(use_true_random=False),
)
def test_held_parts_stay_in_budget_and_complete_each_packet_once(
    sends: list[tuple[int, int]], budget: int, rnd: random.Random
) -> None:
    """Any arrival order, with repeats: held bytes never exceed the budget, a packet is
    completed at most once (repeats after completion are duplicates), every part is held,
    completed, evicted or a duplicate."""
    held = HeldParts(max_bytes=budget, max_age_s=1e9)
    rnd.shuffle(sends)
    completed: list[int] = []
    outcomes = {"held": 0, "dup": 0}
    for n, pno in sends:
        raw = part(n, pno, 3)
        got = held.add(Part(parse_packet(raw), raw), 0.0)
        if isinstance(got, Reassembled):
            completed.append(n)
            assert [p.packet.pno for p in got.parts] == [1, 2, 3]
            assert got.packet.pnum is None and len(got.packet.cp.pollutants) == 3
        elif isinstance(got, DuplicatePart):
            outcomes["dup"] += 1
        else:
            outcomes["held"] += 1
        assert held.held_bytes <= budget
        assert held.held_bytes == sum(
            len(p.raw) for g in held._groups.values() for p in g.parts.values()
        )
    assert len(completed) == len(set(completed))
    evicted = held.take_evicted()
    assert held.evicted == [] and len(evicted) == held.evicted_parts
    assert all(why == "held-parts budget exceeded" for _, why in evicted)
    assert held.duplicates == outcomes["dup"]


def test_held_parts_expire_oldest_first_and_are_handed_over() -> None:
    held = HeldParts(max_bytes=10_000, max_age_s=10.0)
    a, b = part(1, 1, 2), part(2, 1, 2)
    held.add(Part(parse_packet(a), a), 0.0)
    held.add(Part(parse_packet(b), b), 5.0)
    c = part(3, 1, 2)
    held.add(Part(parse_packet(c), c), 12.0)  # the first is older than 10 s
    (gone, why), *rest = held.take_evicted()
    assert rest == [] and gone.raw == a and "incomplete after 10 s" in why
    assert held.held() == 2


def test_receiver_holds_no_part_the_access_check_refuses() -> None:
    held = HeldParts(max_bytes=10_000, max_pnum=50)
    refused = Receiver(held=held, admit=lambda p: (Reason.WRONG_PW, "wrong access password"))
    raw = part(1, 1, 2)
    got = refused.decode(raw, 0.0)
    assert isinstance(got, Rejection) and got.reason is Reason.WRONG_PW
    assert got.packet is not None and got.packet.pno == 1
    assert held.held_bytes == 0
    admitted = Receiver(held=held, admit=lambda p: None)
    too_many = part(2, 1, 51)
    got = admitted.decode(too_many, 0.0)
    assert isinstance(got, Rejection) and got.reason is Reason.BAD_SPLIT
    assert got.detail == "PNUM 51 above the limit of 50 parts"
    assert held.held_bytes == 0


def test_held_parts_arguments_are_checked() -> None:
    with pytest.raises(ValueError):
        HeldParts(max_bytes=0)
    with pytest.raises(ValueError):
        HeldParts(max_pnum=0)


# ------------------------------------------------------------------------------ throttle

POLICY = AuthPolicy(
    free_failures=3, window_s=100.0, base_delay_s=1.0, max_delay_s=8.0, disconnect_after=7
)


def test_refusals_are_free_then_delayed_doubling_then_disconnect_and_block() -> None:
    t = AuthThrottle(POLICY)
    verdicts = [t.failure("10.0.0.1", MN, float(i)) for i in range(7)]
    assert [v.delay for v in verdicts] == [0, 0, 0, 1, 2, 4, 8]
    assert [v.disconnect for v in verdicts] == [False] * 6 + [True]
    assert verdicts[-1].blocked_until == 6.0 + POLICY.block_s
    assert t.blocked("10.0.0.1", 7.0) and not t.blocked("10.0.0.2", 7.0)
    assert not t.blocked("10.0.0.1", 6.0 + POLICY.block_s + 1)
    # The MN is locked: another address that failed is refused even with the right PW,
    # an address that never failed (the real device) is not.
    t.failure("10.0.0.3", "OTHER", 8.0)
    assert t.suspect("10.0.0.3", MN, 9.0)
    assert not t.suspect("10.0.0.9", MN, 9.0)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.booleans(), min_size=1, max_size=20))
def test_unknown_and_known_mns_get_the_same_verdicts(known: list[bool]) -> None:
    """The throttle does not know which MNs exist: two addresses guessing, one at an
    existing MN and one at made-up MNs, get identical delays and disconnects."""
    t = AuthThrottle(POLICY)
    for i, _ in enumerate(known):
        a = t.failure("10.0.0.1", MN, float(i))
        b = t.failure("10.0.0.2", "FFFF" + MN[4:], float(i))
        assert (a.delay, a.disconnect) == (b.delay, b.disconnect)


def test_failures_are_forgotten_after_the_window_and_memory_is_bounded() -> None:
    t = AuthThrottle(AuthPolicy(window_s=10.0, max_tracked=100))
    for _ in range(3):
        t.failure("10.0.0.1", MN, 0.0)
    assert t.failure("10.0.0.1", MN, 11.0).failures == 1
    for i in range(1000):
        t.failure(f"10.1.{i // 256}.{i % 256}", f"MN{i}", 1.0)
    assert len(t._addr) <= 100 and len(t._mn) <= 100


@settings(max_examples=100, deadline=None)
@given(st.lists(st.floats(0.0, 0.5), min_size=1, max_size=300))
def test_token_buckets_never_allow_more_than_burst_plus_rate(gaps: list[float]) -> None:
    b = TokenBuckets(rate=5.0, burst=20.0)
    now, allowed = 0.0, 0
    for gap in gaps:
        now += gap
        allowed += b.allow("10.0.0.1", now)
    assert allowed <= 20 + 5.0 * now + 1e-9


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["a", "b", "c"]), st.integers(0, 3000)), max_size=400))
def test_the_ledger_keeps_every_count_in_a_bounded_number_of_rows(
    events: list[tuple[str, int]],
) -> None:
    ledger = RefusalLedger(max_rows=10)
    at = datetime(2026, 3, 1, tzinfo=UTC)
    for kind, subject in events:
        ledger.record(kind, f"10.0.{subject // 256}.{subject % 256}", at)
    rows = ledger.flush()
    assert len(rows) <= 10 + 3  # plus one "*" row per kind
    assert sum(r["count"] for r in rows) == len(events)
    for kind in "abc":
        assert ledger.totals.get(kind, 0) == sum(1 for k, _ in events if k == kind)
    assert ledger.flush() == []


def test_the_log_throttle_says_how_much_it_suppressed(caplog: pytest.LogCaptureFixture) -> None:
    lt = LogThrottle(logging.getLogger("qingshan.test"), interval=10.0)
    with caplog.at_level(logging.WARNING, "qingshan.test"):
        assert [lt.log(logging.WARNING, "k", float(t), "accept failed") for t in range(12)] == [
            True,
            *[False] * 9,
            True,
            False,
        ]
    assert [r.getMessage() for r in caplog.records] == [
        "accept failed",
        "accept failed (9 similar messages suppressed)",
    ]


def test_the_connection_cap_stays_under_the_open_file_limit() -> None:
    assert connection_cap(0, 20000, 1024) == 18976
    assert connection_cap(500, 20000, 1024) == 500
    assert connection_cap(30000, 20000, 1024) == 18976  # the issue: the cap equalled the limit
    assert connection_cap(0, 100, 1024) == 1


def test_lookups_are_limited_per_mn_and_in_all() -> None:
    lim = LookupLimiter(rate=2.0, per_mn_s=10.0)
    assert lim.allow("A", 0.0)
    assert not lim.allow("A", 5.0)  # the same MN within 10 s
    assert lim.allow("B", 5.0)
    assert lim.allow("C", 5.0)
    assert not lim.allow("D", 5.0)  # the global burst (2) is spent
    assert lim.allow("D", 5.6)  # refilled at 2 a second
    assert lim.allow("A", 10.5)
    assert (lim.done, lim.refused) == (5, 2)
