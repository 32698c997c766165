"""The answers every acknowledged packet gets are built on a fast path: byte for byte what
:func:`build_packet` builds, for every edition and for fields that need its checks."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qingshan.protocol.hj212 import Edition, build_packet, parse_packet
from qingshan.protocol.hj212.builder import data_reply, notice_reply, request_reply


def slow(packet: object, cn: str, cp: str) -> bytes:
    p = packet
    return build_packet(
        st="91",
        cn=cn,
        pw=p.pw,  # type: ignore[attr-defined]
        mn=p.mn,  # type: ignore[attr-defined]
        qn=p.qn,  # type: ignore[attr-defined]
        cp=cp,
        edition=p.edition,  # type: ignore[attr-defined]
        needs_reply=False,
    )


@settings(max_examples=60, deadline=None)
@given(
    edition=st.sampled_from(list(Edition)),
    qn=st.one_of(st.none(), st.from_regex(r"\A[0-9]{17,20}\Z")),
    pw=st.one_of(
        st.from_regex(r"\A[0-9A-Za-z]{1,8}\Z"),  # the usual: the fast path
        st.text(st.characters(codec="utf-8", exclude_characters="\r\n"), min_size=1, max_size=8),
    ),
    mn=st.from_regex(r"\A[0-9A-Z]{14,24}\Z"),
    qn_rtn=st.sampled_from([1, 2, 3, 4, 5]),
)
def test_answers_are_those_build_packet_builds(
    edition: Edition, qn: str | None, pw: str, mn: str, qn_rtn: int
) -> None:
    packet = parse_packet(
        build_packet(
            st="22",
            cn="2051",
            pw="123456",
            mn=mn,
            qn=qn,
            cp="",
            edition=edition,
            needs_reply=True,
        ),
        lenient=True,
    )
    object.__setattr__(packet, "pw", pw)  # any text a lenient parse may have let through
    for fast, cn, cp in (
        (data_reply, "9014", ""),
        (notice_reply, "9013", ""),
        (lambda p: request_reply(p, qn_rtn), "9011", f"QnRtn={qn_rtn}"),
    ):
        try:
            expected = slow(packet, cn, cp)
        except ValueError:
            with pytest.raises(ValueError):
                fast(packet)
            continue
        assert fast(packet) == expected


def test_a_usual_answer() -> None:
    raw = build_packet(
        st="22",
        cn="2051",
        pw="123456",
        mn="010000A8900016F000169DC0",
        qn="20260301080000001",
        cp="",
        needs_reply=True,
    )
    reply = data_reply(parse_packet(raw))
    assert reply.startswith(
        b"##0087QN=20260301080000001;ST=91;CN=9014;PW=123456;MN=010000A8900016F000169DC0;"
        b"Flag=4;CP=&&&&"
    )
    assert parse_packet(reply).cn == "9014"
