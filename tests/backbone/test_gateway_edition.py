"""The gateway and ``ingest-file`` read packets per the device's registered HJ 212 edition.

Flag bits and MN length alone mislead: 2017-era devices send ``Flag=9`` (bits 2–7 = 2, which
reads as 2025), and a 2005 logger may have a 24-character MN and send no Flag (which reads as
2017). Real TCP on 127.0.0.1, SQLite and PostgreSQL (the ``engine`` fixture).
"""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from test_gateway import count, run

from qingshan.gateway.server import Gateway
from qingshan.protocol.hj212 import Edition, ProtocolError, build_packet, parse_packet
from qingshan.services.registry import add_device
from qingshan.services.replay import replay_file
from qingshan.simulator.client import DeviceClient
from qingshan.storage.models import Observation, Quarantine, ReceivedPacket
from support.hj212 import MN, PW, T0, qn_of

MN_2017 = "33010020170001"  # not 24 hex digits: strictly invalid for a 2025 packet
CP = "DataTime={t:%Y%m%d%H%M%S};a21026-Avg={v},a21026-Flag=N;a34004-Avg=0.035,a34004-Flag=N"
CP_2005 = "DataTime={t:%Y%m%d%H%M%S};02-Avg={v},02-Flag=N;01-Avg=0.081,01-Flag=N"


def flag9(i: int) -> bytes:
    """A 2017-era minute upload with Flag=9 (what such devices send when they want a reply)."""
    return build_packet(
        st="22",
        cn="2051",
        pw=PW,
        mn=MN_2017,
        qn=qn_of(i),
        flag=9,
        cp=CP.format(t=T0 + timedelta(minutes=i), v=f"1{i}.5"),
    )


def flagless_2005(i: int) -> bytes:
    """A 2005 minute upload, 24-character MN, no Flag (HJ/T 212-2005 made it optional)."""
    raw = build_packet(
        st="22",
        cn="2051",
        pw=PW,
        mn=MN,
        qn=qn_of(i),
        edition=Edition.V2005,
        needs_reply=False,
        cp=CP_2005.format(t=T0 + timedelta(minutes=i), v=f"2{i}.5"),
    )
    assert b";Flag=" not in raw.split(b"CP=")[0]
    return raw


def observations(engine: Engine) -> list[tuple[str, str | None]]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(Observation.code, Observation.value).order_by(
                Observation.data_time, Observation.code
            )
        )
        return [(r.code, r.value) for r in rows]


def reasons(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return list(conn.execute(select(Quarantine.reason).order_by(Quarantine.id)).scalars())


def test_packets_alone_mislead_the_parser() -> None:
    # Without the registration: Flag=9 reads as 2025 (MN invalid), no Flag + 24 chars as 2017.
    for raw, why in ((flag9(0), "bad_field"), (flagless_2005(0), "missing_field")):
        with pytest.raises(ProtocolError) as info:
            parse_packet(raw)
        assert info.value.reason == why


async def _wait_for(engine: Engine, model: type, n: int, timeout: float = 10.0) -> None:
    end = time.monotonic() + timeout
    while await asyncio.to_thread(count, engine, model) < n:
        assert time.monotonic() < end, f"{model.__name__}: fewer than {n} rows"
        await asyncio.sleep(0.05)


def test_registered_2017_device_with_flag_9_is_stored_and_acked_as_2017(engine: Engine) -> None:
    add_device(engine, mn=MN_2017, pw=PW, st="22", edition="2017")

    async def scenario(gw: Gateway) -> None:
        dev = await DeviceClient("127.0.0.1", gw.port).connect()
        futs = [await dev.send(flag9(i), qn_of(i)) for i in range(3)]
        acks = await asyncio.wait_for(asyncio.gather(*[f for f in futs if f]), 10)
        assert len(acks) == 3
        for a in acks:
            assert (a.reply.cn, a.reply.edition, a.reply.flag) == ("9014", Edition.V2017, 4)
        await dev.close()

    run(engine, scenario)
    assert count(engine, ReceivedPacket) == 3 and reasons(engine) == []
    assert observations(engine)[:2] == [("a21026", "10.5"), ("a34004", "0.035")]
    assert len(observations(engine)) == 6


def test_registered_2005_device_without_flag_is_accepted_and_codes_mapped(
    engine: Engine,
) -> None:
    add_device(engine, mn=MN, pw=PW, st="22", edition="2005")

    async def scenario(gw: Gateway) -> None:
        dev = await DeviceClient("127.0.0.1", gw.port).connect()
        for i in range(2):
            assert await dev.send(flagless_2005(i)) is None  # no Flag: no reply wanted
        await _wait_for(engine, ReceivedPacket, 2)
        await dev.close()

    run(engine, scenario)
    assert reasons(engine) == []
    # HJ 212-2017 Appendix B: 2005 "02" → a21026 (SO2), "01" → a34013 (smoke/dust).
    assert observations(engine) == [
        ("a21026", "20.5"),
        ("a34013", "0.081"),
        ("a21026", "21.5"),
        ("a34013", "0.081"),
    ]


def test_flag_contradicting_the_registration_stays_a_specific_rejection(
    engine: Engine,
) -> None:
    # A device registered as 2025 sending 2017 Flag bits is not silently re-read.
    add_device(engine, mn=MN, pw=PW, st="22", edition="2025")
    raw = build_packet(
        st="22",
        cn="2051",
        pw=PW,
        mn=MN,
        qn=qn_of(0),
        edition=Edition.V2017,
        cp=CP.format(t=T0, v="1.0"),
    )

    async def scenario(gw: Gateway) -> None:
        dev = await DeviceClient("127.0.0.1", gw.port).connect()
        await dev.send(raw)
        await _wait_for(engine, Quarantine, 1)
        await dev.close()

    run(engine, scenario)
    assert reasons(engine) == ["bad_flag"]
    assert count(engine, ReceivedPacket) == 0


def test_ingest_file_uses_the_registered_edition(engine: Engine, tmp_path: Path) -> None:
    add_device(engine, mn=MN_2017, pw=PW, st="22", edition="2017")
    add_device(engine, mn=MN, pw=PW, st="22", edition="2005")
    f = tmp_path / "mixed.log"
    f.write_bytes(flag9(0) + flagless_2005(1) + flag9(2))
    summary = replay_file(engine, f)
    assert (summary.stored, dict(summary.rejected)) == (3, {})
    codes = sorted(code for code, _ in observations(engine))
    assert codes == ["a21026"] * 3 + ["a34004"] * 2 + ["a34013"]
