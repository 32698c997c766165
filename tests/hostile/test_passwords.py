"""Probes: device passwords guessed by pipelining; QnRtn and timing telling which MNs exist."""

from __future__ import annotations

import asyncio
import json
import time

from hostile.conftest import ATTACKER_MN, Target
from hostile.harness import (
    GOOD_MN,
    GOOD_PW,
    GoodDevice,
    assert_acked_stored,
    assert_good_device_held,
    cli,
    connect_from,
    minute_packet,
    qnrtn,
    read_replies,
)


def test_pipelined_password_guessing_is_delayed_cut_off_and_blocked(target: Target) -> None:
    srv = target.srv
    rss0 = srv.rss_mb()

    async def attack() -> GoodDevice:
        good = await GoodDevice(srv.hj212_port).start()
        # 200 guesses of the good device's PW in one write (the issue: 111,112 in 8.8 s).
        r, w = await connect_from("127.0.0.2", srv.hj212_port)
        w.write(b"".join(minute_packet(i, pw=f"{i:06d}") for i in range(200)))
        t0 = time.monotonic()
        replies, eof = await read_replies(r, timeout=15)
        took = time.monotonic() - t0
        w.close()
        # At most hj212_auth_disconnect_after (6) answers, the last ones late, then cut.
        assert eof and 1 <= len(replies) <= 6, (len(replies), eof)
        assert {qnrtn(p) for p in replies} == {("9011", "3")}
        assert took >= 0.2 + 0.4 + 0.8  # the delays after 3 free failures
        # The address is blocked: a new connection is closed at once.
        r2, w2 = await connect_from("127.0.0.2", srv.hj212_port)
        w2.write(minute_packet(500, pw=GOOD_PW))
        got, eof2 = await read_replies(r2, timeout=5)
        assert eof2 and got == []
        w2.close()
        # The MN is locked: another address's first wrong guess closes its connection,
        # so the right PW sent after it is never even read (a distributed guesser gets
        # one guess per address and block period).
        r3, w3 = await connect_from("127.0.0.3", srv.hj212_port)
        w3.write(minute_packet(600, pw="000000") + minute_packet(601, pw=GOOD_PW))
        got3, eof3 = await read_replies(r3, timeout=10)
        assert eof3 and [qnrtn(p) for p in got3] == [("9011", "3")]
        w3.close()
        await asyncio.sleep(1.2)  # > hj212_refusal_flush_seconds
        await good.stop()
        assert_good_device_held(good)
        return good

    good = asyncio.run(attack())
    assert srv.rss_mb() - rss0 < 40
    # Operators see it: /healthz for staff (not for strangers), and the CLI.
    anonymous = srv.healthz()
    assert "gateway_limits" not in anonymous
    staff = srv.healthz(target.token)
    limits = staff["gateway_limits"]
    assert limits["refusals"]["auth_failure"] >= 7
    assert limits["blocked_addresses"] >= 1
    rows = json.loads(cli("gateway", "refusals", "--json", "--db", target.url))
    blocked = [r for r in rows if r["kind"] == "address_blocked"]
    assert {"127.0.0.2", "127.0.0.3"} <= {r["subject"] for r in blocked}
    assert all(r["blocked_until"] is not None for r in blocked)
    assert any(r["kind"] == "auth_failure_mn" and r["subject"] == GOOD_MN for r in rows)
    assert_acked_stored(target.engine, good)


def test_unknown_mn_and_wrong_pw_get_the_same_answer_at_the_same_time(target: Target) -> None:
    srv = target.srv

    async def probe(address: str, mn: str, pw: str) -> list[tuple[str, str | None, float]]:
        r, w = await connect_from(address, srv.hj212_port)
        out = []
        for i in range(5):
            t0 = time.monotonic()
            w.write(minute_packet(i, mn=mn, pw=pw))
            (reply,), _ = await read_replies(r, timeout=10, want=1)
            out.append((*qnrtn(reply), time.monotonic() - t0))
        w.close()
        return out

    async def both() -> GoodDevice:
        good = await GoodDevice(srv.hj212_port).start()
        unknown, wrong = await asyncio.gather(
            probe("127.0.0.4", "010000A8900016F000169X99", GOOD_PW),
            probe("127.0.0.5", ATTACKER_MN, "000000"),
        )
        await good.stop()
        assert_good_device_held(good)
        assert [u[:2] for u in unknown] == [w[:2] for w in wrong] == [("9011", "3")] * 5
        for (_, _, a), (_, _, b) in zip(unknown, wrong, strict=True):
            # The same timing class: the same delays (0, 0, 0, 0.2, 0.4 s) for both.
            assert abs(a - b) < 0.15 + 0.25 * max(a, b), (unknown, wrong)
        assert unknown[-1][2] >= 0.35 and wrong[-1][2] >= 0.35
        return good

    good = asyncio.run(both())
    assert_acked_stored(target.engine, good)
