"""Values, times and codes within bounds at ingestion; packets the database refuses are
quarantined and answered (issue 18). Every test runs on SQLite and on the real PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
from sqlalchemy import Engine, func, select

from qingshan.clock import to_cst, utcnow
from qingshan.protocol.hj212 import build_packet, parse_packet, reply_to
from qingshan.services.ingest import Accepted, Ingestor, TimeWindow
from qingshan.services.registry import add_device
from qingshan.simulator.client import data_packet, make_qn
from qingshan.storage import partitions
from qingshan.storage.models import Observation, Quarantine, ReceivedPacket
from support.hj212 import MN, PW
from support.refusing import MESSAGE, refusing

WINDOW = TimeWindow(late=timedelta(days=365), ahead=timedelta(days=1))


def now_cst() -> datetime:
    return to_cst(utcnow()).replace(second=0, microsecond=0)


def upload(when: datetime, i: int = 0, *, values: dict[str, dict[str, str]] | None = None) -> bytes:
    """An hour upload; DataTime written with a 4-digit year even for year 1 (strftime: "1")."""
    groups = [f"DataTime={when.year:04d}{when:%m%d%H%M%S}"] + [
        ",".join(f"{code}-{k}={v}" for k, v in fields.items())
        for code, fields in (values or {"a34004": {"Avg": "35.0", "Flag": "N"}}).items()
    ]
    return build_packet(
        st="22",
        cn="2061",
        pw=PW,
        mn=MN,
        qn=make_qn(datetime(2026, 1, 1), i),
        cp=";".join(groups),
        needs_reply=True,
    )


def accepted(raw: bytes, lenient: bool = False) -> Accepted:
    return Accepted(parse_packet(raw, lenient=lenient), raw, peer="test", parts=())


def count(engine: Engine, model: type) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(model)).scalar() or 0)


def quarantined(engine: Engine) -> list[tuple[str, str]]:
    with engine.connect() as conn:
        rows = conn.execute(select(Quarantine.reason, Quarantine.detail).order_by(Quarantine.id))
        return [(r, d or "") for r, d in rows]


# ------------------------------------------------------------------------------ values


@pytest.mark.parametrize("value", ["1e400", "NaN", "-inf", "Infinity", "1E5"])
def test_values_lenient_parsing_lets_through_are_refused_and_answered(
    engine: Engine, value: str
) -> None:
    add_device(engine, mn=MN, pw=PW, st="22")
    raw = upload(now_cst().replace(minute=0), values={"a34004": {"Avg": value, "Flag": "N"}})
    packet = parse_packet(raw, lenient=True)
    (out,) = Ingestor(engine, window=WINDOW).write([Accepted(packet, raw)])
    assert (out.status, out.reason, out.qn_rtn) == ("rejected", "bad_value", 2)
    answer = reply_to(packet, durable=out.committed, reason=out.reason)
    assert answer is not None
    reply = parse_packet(answer)
    assert (reply.cn, reply.cp.params["QnRtn"]) == ("9011", "2")
    assert count(engine, Observation) == 0 and quarantined(engine)[0][0] == "bad_value"


# ------------------------------------------------------------------------------ times


@pytest.mark.parametrize(
    ("when", "reason"),
    [
        (datetime(1, 1, 1), "datatime_too_old"),
        (datetime(9999, 12, 31, 23), "datatime_future"),
        (datetime(2100, 1, 1), "datatime_future"),
        ("2 days ahead", "datatime_future"),
        ("400 days back", "datatime_too_old"),
    ],
)
def test_datatime_outside_the_window_is_refused_without_a_partition(
    engine: Engine, when: datetime | str, reason: str
) -> None:
    add_device(engine, mn=MN, pw=PW, st="22")
    now = now_cst()
    if when == "2 days ahead":
        when = now + timedelta(days=2)
    elif when == "400 days back":
        when = now - timedelta(days=400)
    assert isinstance(when, datetime)
    before = partitions.existing_months(engine) if engine.dialect.name != "sqlite" else set()
    (out,) = Ingestor(engine, window=WINDOW).write([accepted(upload(when))])
    assert (out.status, out.reason, out.qn_rtn) == ("rejected", reason, 2)
    assert count(engine, Observation) == 0 and count(engine, ReceivedPacket) == 0
    assert quarantined(engine)[0][0] == reason
    if engine.dialect.name != "sqlite":
        assert partitions.existing_months(engine) == before  # no partition for that month


def test_late_and_slightly_early_data_are_stored(engine: Engine) -> None:
    add_device(engine, mn=MN, pw=PW, st="22")
    now = now_cst().replace(minute=0)
    times = [now - timedelta(days=300), now - timedelta(hours=1), now + timedelta(hours=2)]
    outs = Ingestor(engine, window=WINDOW).write(
        [accepted(upload(t, i)) for i, t in enumerate(times)]
    )
    assert [o.status for o in outs] == ["stored"] * 3


def test_the_window_comes_from_the_settings(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_device(engine, mn=MN, pw=PW, st="22")
    monkeypatch.setenv("QINGSHAN_HJ212_FUTURE_MINUTES", "0")
    monkeypatch.setenv("QINGSHAN_HJ212_LATE_DAYS", "10")
    ing = Ingestor(engine)
    assert ing.window == TimeWindow(timedelta(days=10), timedelta(0))
    now = now_cst()
    outs = ing.write(
        [
            accepted(upload(now + timedelta(hours=1), 0)),
            accepted(upload(now - timedelta(days=11), 1)),
        ]
    )
    assert [o.reason for o in outs] == ["datatime_future", "datatime_too_old"]
    detail = quarantined(engine)[0][1]
    assert "0 days ahead" in detail or "0 minutes ahead" in detail


# ------------------------------------------------------------------------------ codes


def test_codes_longer_than_their_columns_are_refused_before_the_database(engine: Engine) -> None:
    """On PostgreSQL a factor code longer than the column raised inside the batch: never
    quarantined, never acknowledged, re-sent for ever (issue 18)."""
    add_device(engine, mn=MN, pw=PW, st="22")
    when = now_cst().replace(minute=0)
    long_code = upload(when, 0, values={"a" * 30: {"Avg": "1.0", "Flag": "N"}})
    long_qn = build_packet(
        st="22",
        cn="2061",
        pw=PW,
        mn=MN,
        qn="2" * 30,
        cp=f"DataTime={when:%Y%m%d%H%M%S};a34004-Avg=1.0",
        needs_reply=True,
    )
    long_status = data_packet(
        mn=MN,
        pw=PW,
        st="22",
        cn="3020",
        when=when,
        qn=make_qn(when, 2),
        values={"i" + "1" * 50: {"Info": "x"}},
    )
    good = upload(when, 3)
    outs = Ingestor(engine, window=WINDOW).write(
        [
            accepted(long_code),
            accepted(long_qn, lenient=True),
            accepted(long_status),
            accepted(good),
        ]
    )
    assert [(o.status, o.reason) for o in outs] == [
        ("rejected", "code_too_long"),
        ("rejected", "code_too_long"),
        ("rejected", "code_too_long"),
        ("stored", None),
    ]
    assert all(o.qn_rtn == 2 for o in outs[:3])
    assert count(engine, ReceivedPacket) == 1


# ------------------------------------------------------------------------------ refusals


@pytest.fixture
def refused(engine: Engine) -> Iterator[Engine]:
    with refusing(engine):
        yield engine


def test_a_packet_the_database_refuses_is_quarantined_and_the_rest_stored(
    refused: Engine,
) -> None:
    engine = refused
    add_device(engine, mn=MN, pw=PW, st="22")
    when = now_cst().replace(minute=0) - timedelta(days=1)
    raws = [upload(when + timedelta(hours=i), i) for i in range(9)]
    bad = {3, 7}
    for i in bad:
        raws[i] = upload(when + timedelta(hours=i), i, values={"zz0001": {"Avg": "1.0"}})
    outs = Ingestor(engine, window=WINDOW).write([accepted(r) for r in raws])
    assert [o.status for o in outs] == [
        "rejected" if i in bad else "stored" for i in range(len(raws))
    ]
    for i in bad:
        assert (outs[i].reason, outs[i].qn_rtn) == ("db_refused", 2)
        assert MESSAGE in outs[i].detail
    rows = quarantined(engine)
    assert [r for r, _ in rows] == ["db_refused", "db_refused"]
    assert all(MESSAGE in d for _, d in rows)
    assert count(engine, ReceivedPacket) == 7 and count(engine, Observation) == 7
    # The device re-sends: refused again, never stored, never blocking.
    outs = Ingestor(engine, window=WINDOW).write([accepted(raws[3]), accepted(raws[0])])
    assert [o.status for o in outs] == ["rejected", "duplicate"]


def test_postgresql_refusing_a_value_is_a_refusal_not_an_outage(engine: Engine) -> None:
    """A NUL character is legal in a HJ 212 text field and in SQLite, but PostgreSQL refuses it
    in text columns: the packet is quarantined with PostgreSQL's reason, not retried for ever."""
    add_device(engine, mn=MN, pw=PW, st="22")
    when = now_cst().replace(minute=0)
    raw = data_packet(
        mn=MN,
        pw=PW,
        st="22",
        cn="3020",
        when=when,
        qn=make_qn(when, 1),
        values={"i13001": {"Info": "A\x00B"}},
    )
    outs = Ingestor(engine, window=WINDOW).write([accepted(raw), accepted(upload(when, 2))])
    if engine.dialect.name == "sqlite":
        assert [o.status for o in outs] == ["stored", "stored"]
        return
    assert [o.status for o in outs] == ["rejected", "stored"]
    assert outs[0].reason == "db_refused" and "NUL" in outs[0].detail


def test_a_device_refused_before_is_written_apart_and_still_stored_when_good(
    refused: Engine,
) -> None:
    """After a refusal its device's packets go one by one after the others': each refused one
    costs one failed transaction, the good ones of every device are still stored."""
    from support.hj212 import MN2

    engine = refused
    add_device(engine, mn=MN, pw=PW, st="22")
    add_device(engine, mn=MN2, pw=PW, st="22")
    when = now_cst().replace(minute=0) - timedelta(days=1)
    ing = Ingestor(engine, window=WINDOW)

    def from_mn2(i: int, code: str) -> bytes:
        return build_packet(
            st="22",
            cn="2061",
            pw=PW,
            mn=MN2,
            qn=make_qn(datetime(2026, 1, 1), 100 + i),
            cp=f"DataTime={when + timedelta(hours=i):%Y%m%d%H%M%S};{code}-Avg=1.0",
            needs_reply=True,
        )

    (first,) = ing.write([accepted(from_mn2(0, "zz0001"))])
    assert first.reason == "db_refused"
    batch = [
        accepted(from_mn2(1, "zz0001")),
        accepted(upload(when, 1)),
        accepted(from_mn2(2, "a34004")),
        accepted(from_mn2(3, "zz0001")),
        accepted(upload(when + timedelta(hours=1), 2)),
    ]
    outs = ing.write(batch)
    assert [(o.status, o.reason) for o in outs] == [
        ("rejected", "db_refused"),
        ("stored", None),
        ("stored", None),
        ("rejected", "db_refused"),
        ("stored", None),
    ]
    assert [r for r, _ in quarantined(engine)] == ["db_refused"] * 3
    assert count(engine, ReceivedPacket) == 3


def test_status_fields_outside_their_format_are_refused(engine: Engine) -> None:
    """SB1-RS is N1: a lenient parse lets RS=12 through as a quirk; ingestion refuses it."""
    add_device(engine, mn=MN, pw=PW, st="22")
    when = now_cst().replace(minute=0)

    def status(rs: str, i: int) -> bytes:
        return build_packet(
            st="22",
            cn="2021",
            pw=PW,
            mn=MN,
            qn=make_qn(datetime(2026, 1, 1), 300 + i),
            cp=f"DataTime={when:%Y%m%d%H%M%S};SB1-RS={rs}",
            needs_reply=True,
        )

    outs = Ingestor(engine, window=WINDOW).write(
        [accepted(status("12", 0), lenient=True), accepted(status("1", 1))]
    )
    assert [(o.status, o.reason) for o in outs] == [
        ("rejected", "value_out_of_format"),
        ("stored", None),
    ]
