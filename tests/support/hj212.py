"""Packet builders shared by the storage/gateway tests (real protocol library, no fakes)."""

from __future__ import annotations

from datetime import datetime, timedelta

from qingshan.simulator.client import data_packet, make_qn

MN = "010000A8900016F000169DC0"
MN2 = "010000A8900016F000169DC1"
PW = "123456"
T0 = datetime(2026, 3, 1, 8, 0)


def minute(
    i: int,
    *,
    mn: str = MN,
    pw: str = PW,
    value: str | None = None,
    flag: str = "N",
    reply: bool = True,
    qn: str | None = None,
    rf: bool = False,
) -> bytes:
    when = T0 + timedelta(minutes=i)
    v = value if value is not None else f"{10 + i % 7}.{i % 100:02d}"
    return data_packet(
        mn=mn,
        pw=pw,
        st="22",
        cn="2051",
        when=when,
        reply=reply,
        rf=rf,
        qn=qn or make_qn(when, i),
        values={
            "a21026": {"Avg": v, "Min": v, "Max": v, "Flag": flag},
            "a34004": {"Avg": "0.035", "Flag": flag},
        },
    )


def qn_of(i: int) -> str:
    return make_qn(T0 + timedelta(minutes=i), i)
