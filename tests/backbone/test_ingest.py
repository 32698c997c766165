from __future__ import annotations

import time
from datetime import datetime

from sqlalchemy import Engine, func, select

from qingshan.protocol.hj212 import build_packets, heartbeat, parse_packet
from qingshan.services.decode import Decoder, Pending
from qingshan.services.ingest import Accepted, Ingestor, Rejected
from qingshan.services.observations import export_observations
from qingshan.services.registry import Directory, add_device, add_upstream
from qingshan.simulator.client import data_packet
from qingshan.storage.models import (
    DeviceStatus,
    ForwardItem,
    Quarantine,
    RawPacket,
    ReceivedPacket,
    Resolution,
    RollupDirty,
)
from support.hj212 import MN, PW, T0, minute, qn_of


def accepted(raw: bytes) -> Accepted:
    return Accepted(parse_packet(raw), raw, peer="test", parts=())


def count(engine: Engine, model: type) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(model)).scalar() or 0)


def test_packets_are_stored_exactly_and_idempotently(engine: Engine) -> None:
    add_device(engine, mn=MN, pw=PW, st="22")
    ing = Ingestor(engine)
    raws = [minute(i) for i in range(5)]
    outs = ing.write([accepted(r) for r in raws] + [accepted(raws[0])])
    assert [o.status for o in outs] == ["stored"] * 5 + ["duplicate"]
    # A re-send in a later batch (lost acknowledgement) and a 2025-style RF=1 resend.
    outs = ing.write([accepted(raws[1]), accepted(minute(2, rf=True, qn=qn_of(2)))])
    assert [o.status for o in outs] == ["duplicate", "duplicate"]
    rows = list(
        export_observations(
            engine, mn=MN, resolution=Resolution.MINUTE, start=T0, end=datetime(2026, 3, 2)
        )
    )
    assert len(rows) == 10
    assert [(r.code, r.value, r.flag, r.derived) for r in rows[:2]] == [
        ("a21026", "10.00", "N", False),
        ("a34004", "0.035", "N", False),
    ]
    assert count(engine, ReceivedPacket) == 5 and count(engine, RawPacket) == 5
    assert count(engine, RollupDirty) == 1  # the 08:00 hour
    with engine.connect() as conn:
        assert (
            conn.execute(select(RawPacket.raw).order_by(RawPacket.id)).scalars().first()
            == (raws[0])
        )


def test_corrections_replace_values(engine: Engine) -> None:
    add_device(engine, mn=MN, pw=PW, st="22")
    ing = Ingestor(engine)
    ing.write([accepted(minute(0, value="1.0"))])
    ing.write([accepted(minute(0, value="2.50", qn="20260301080000999", flag="C"))])
    rows = list(export_observations(engine, mn=MN, resolution=Resolution.MINUTE, start=T0, end=T0))
    assert [(r.value, r.flag) for r in rows if r.code == "a21026"] == [("2.50", "C")]


def test_authentication_failures_are_quarantined_only(engine: Engine) -> None:
    add_device(engine, mn=MN, pw=PW, st="22")
    ing = Ingestor(engine)
    outs = ing.write(
        [
            accepted(minute(0, pw="999999")),
            accepted(minute(1, mn="AAAAAAAAAAAAAAAAAAAAAAAA")),
            accepted(
                data_packet(
                    mn=MN,
                    pw=PW,
                    st="32",
                    cn="2051",
                    when=T0,
                    qn="20260301080000777",
                    values={"w01018": {"Avg": "1"}},
                )
            ),
            Rejected(b"##garbage", "crc_mismatch", "CRC 0000 but computed 1C80"),
        ]
    )
    assert [(o.status, o.reason, o.qn_rtn) for o in outs] == [
        ("rejected", "wrong_pw", 3),
        ("rejected", "unknown_mn", 4),
        ("rejected", "wrong_st", 5),
        ("rejected", "crc_mismatch", None),
    ]
    assert count(engine, Quarantine) == 4
    assert count(engine, ReceivedPacket) == 0 and count(engine, RawPacket) == 0
    rows = list(
        export_observations(
            engine, mn=MN, resolution=Resolution.MINUTE, start=T0, end=datetime(2027, 1, 1)
        )
    )
    assert rows == []
    with engine.connect() as conn:
        reasons = conn.execute(
            select(Quarantine.reason, Quarantine.mn).order_by(Quarantine.id)
        ).all()
    assert [tuple(r) for r in reasons][:2] == [
        ("wrong_pw", MN),
        ("unknown_mn", "AAAAAAAAAAAAAAAAAAAAAAAA"),
    ]


def test_status_heartbeat_and_bad_values(engine: Engine) -> None:
    add_device(engine, mn=MN, pw=PW, st="22")
    ing = Ingestor(engine)
    status = data_packet(
        mn=MN,
        pw=PW,
        st="22",
        cn="2021",
        when=T0,
        qn="20260301080000001",
        values={"SB1": {"RS": "1"}, "SB2": {"RS": "0"}},
    )
    hb = heartbeat(mn=MN, pw=PW, qn="20260301080000002", needs_reply=True)
    no_time = parse_packet(minute(3))
    no_time = no_time.__class__(
        **{
            **{f: getattr(no_time, f) for f in no_time.__dataclass_fields__},
            "cp": no_time.cp.__class__(None, no_time.cp.pollutants, {}),
        }
    )
    outs = ing.write([accepted(status), accepted(hb), Accepted(no_time, minute(3))])
    assert [o.status for o in outs] == ["stored", "seen", "rejected"]
    assert outs[2].reason == "missing_datatime"
    with engine.connect() as conn:
        got = conn.execute(
            select(DeviceStatus.code, DeviceStatus.value).order_by(DeviceStatus.code)
        ).all()
        seen = conn.execute(select(func.max(RawPacket.received_at))).scalar()
    assert [tuple(r) for r in got] == [("SB1-RS", "1"), ("SB2-RS", "0")]
    assert seen is not None


def test_accepted_packets_are_queued_for_upstreams(engine: Engine) -> None:
    add_device(engine, mn=MN, pw=PW, st="22", group="省平台组")
    add_upstream(engine, name="省平台", host="127.0.0.1", port=1, group="省平台组")
    add_upstream(engine, name="市平台", host="127.0.0.1", port=2, group="省平台组")
    ing = Ingestor(engine)
    ing.write([accepted(minute(0)), accepted(minute(0))])
    assert count(engine, ForwardItem) == 2  # once per upstream, not for the duplicate


def test_split_packets_are_reassembled_and_stored_once(engine: Engine) -> None:
    add_device(engine, mn=MN, pw=PW, st="22")
    values = {f"a{20000 + i}": f"{i}.5" for i in range(60)}
    cp: dict[str, object] = {"DataTime": T0}
    cp.update({f"{c}-Avg": v for c, v in values.items()})
    parts = build_packets(
        st="22",
        cn="2051",
        pw=PW,
        mn=MN,
        cp=cp,
        qn="20260301080000123",
        needs_reply=True,
        max_segment=400,
    )
    assert len(parts) > 2
    directory = Directory(engine)
    directory.reload()
    dec = Decoder(directory)
    results = [dec.decode(p, peer="t", now=time.monotonic()) for p in parts]
    assert all(isinstance(r, Pending) for r in results[:-1])
    merged = results[-1]
    assert isinstance(merged, Accepted) and len(merged.parts) == len(parts)
    assert merged.raw == b"".join(parts)
    out = Ingestor(engine, directory).write([merged])
    assert out[0].status == "stored"
    rows = list(export_observations(engine, mn=MN, resolution=Resolution.MINUTE, start=T0, end=T0))
    assert {r.code: r.value for r in rows} == values


def test_incomplete_split_packets_are_bounded(engine: Engine) -> None:
    add_device(engine, mn=MN, pw=PW, st="22")
    directory = Directory(engine)
    directory.reload()
    dec = Decoder(directory, max_parts=10)
    for i in range(100):  # first parts of 100 different split packets, never completed
        cp: dict[str, object] = {"DataTime": T0}
        cp.update({f"a{20000 + k}-Avg": "1.5" for k in range(30)})
        part = build_packets(
            st="22",
            cn="2051",
            pw=PW,
            mn=MN,
            cp=cp,
            qn=f"2026030108{i:02d}00123"[:17],
            max_segment=300,
        )[0]
        assert isinstance(dec.decode(part, peer="t", now=float(i)), Pending)
    assert dec.receiver.reassembler.held() <= 10


def test_raw_archive_retention(engine: Engine) -> None:
    from datetime import timedelta

    import pytest

    from qingshan.clock import utcnow
    from qingshan.storage.writes import purge_raw

    add_device(engine, mn=MN, pw=PW, st="22")
    now = utcnow()
    old = Accepted(parse_packet(minute(0)), minute(0), received_at=now - timedelta(days=500))
    new = Accepted(parse_packet(minute(1)), minute(1), received_at=now)
    Ingestor(engine).write(
        [old, new, Rejected(b"##x", "no_header", "", received_at=now - timedelta(days=500))]
    )
    assert purge_raw(engine, 400, now=now) == 1
    assert count(engine, RawPacket) == 1 and count(engine, ReceivedPacket) == 1
    assert count(engine, Quarantine) == 0
    # observations are never purged
    assert (
        len(
            list(
                export_observations(
                    engine, mn=MN, resolution=Resolution.MINUTE, start=T0, end=datetime(2027, 1, 1)
                )
            )
        )
        == 4
    )
    with pytest.raises(ValueError, match="at least 1 day"):
        purge_raw(engine, 0)


def test_split_packet_archive_holds_each_part_once_as_sent(engine: Engine) -> None:
    add_device(engine, mn=MN, pw=PW, st="22", group="省平台组")
    add_upstream(engine, name="省平台", host="127.0.0.1", port=1, group="省平台组")
    cp: dict[str, object] = {"DataTime": T0}
    cp.update({f"a{20000 + i}-Avg": f"{i}.5" for i in range(60)})
    parts = build_packets(
        st="22", cn="2051", pw=PW, mn=MN, cp=cp, qn="20260301080000124", max_segment=400
    )
    assert len(parts) > 2
    directory = Directory(engine)
    directory.reload()
    dec = Decoder(directory)
    # Parts arrive out of order and one is sent twice before the packet is complete.
    stream = [parts[1], parts[0], parts[1], *parts[2:]]
    results = [dec.decode(p, peer="t", now=time.monotonic()) for p in stream]
    merged = results[-1]
    assert isinstance(merged, Accepted)
    assert [p.pno for p in merged.parts] == list(range(1, len(parts) + 1))
    assert Ingestor(engine, directory).write([merged])[0].status == "stored"
    with engine.connect() as conn:
        archived = conn.execute(select(RawPacket.raw)).scalars().all()
        queued = conn.execute(select(ForwardItem.raw)).scalars().all()
    assert archived == queued == [b"".join(parts)]


def test_rejected_reasons_are_stored_as_their_stable_codes(engine: Engine) -> None:
    from qingshan.protocol.hj212 import Reason

    add_device(engine, mn=MN, pw=PW, st="22")
    directory = Directory(engine)
    directory.reload()
    dec = Decoder(directory)
    bad_crc = minute(0)[:-6] + b"0000\r\n"
    rejected = dec.decode(bad_crc, peer="t", now=0.0)
    assert isinstance(rejected, Rejected) and rejected.reason is Reason.CRC_MISMATCH
    assert rejected.mn == MN
    outs = Ingestor(engine, directory).write([rejected, accepted(minute(1, pw="000000"))])
    assert [(o.reason, o.qn_rtn) for o in outs] == [
        (Reason.CRC_MISMATCH, None),
        (Reason.WRONG_PW, 3),
    ]
    with engine.connect() as conn:
        stored = conn.execute(select(Quarantine.reason).order_by(Quarantine.id)).scalars().all()
    assert stored == ["crc_mismatch", "wrong_pw"]
    assert all(type(r) is str for r in stored)
