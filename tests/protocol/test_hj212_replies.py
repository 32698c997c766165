"""Reply rules (9014 / 9011 QnRtn / none), the access check and the one vocabulary of reasons."""

from __future__ import annotations

import pickle
from dataclasses import dataclass

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qingshan.protocol.hj212 import (
    ANSWER_CNS,
    Edition,
    Framer,
    FramingError,
    Packet,
    ProtocolError,
    Reason,
    answered_qn,
    build_packet,
    check_access,
    data_reply,
    parse_packet,
    refusal_code,
    reply_to,
    request_reply,
)
from qingshan.protocol.hj212.codes import cn_codes

MN = "010000A8900016F000169DC0"
QN = "20240601085857223"

# The stored and printed contract: quarantine.reason, `hj212 check` "error", ingest-file
# summaries. A value may be added, never renamed.
STABLE_VALUES = {
    "garbage",
    "truncated",
    "no_frame_end",
    "empty",
    "no_header",
    "bad_length",
    "length_mismatch",
    "segment_too_long",
    "bad_crc_format",
    "crc_mismatch",
    "trailing_data",
    "bad_encoding",
    "encrypted_cp",
    "bad_ciphertext",
    "bad_cp",
    "missing_field",
    "bad_field",
    "duplicate_field",
    "unknown_st",
    "unknown_cn",
    "bad_flag",
    "bad_datatime",
    "bad_value",
    "bad_data_flag",
    "trailing_separator",
    "bad_split",
    "unknown_mn",
    "retired_device",
    "wrong_pw",
    "wrong_st",
    "missing_datatime",
    "value_out_of_format",
    "datatime_future",
    "datatime_too_old",
    "code_too_long",
    "db_refused",
}


@dataclass(frozen=True)
class Device:
    pw: str
    st: str
    active: bool = True


def _packet(
    cn: str = "2051", *, reply: bool = True, st_code: str = "22", pw: str = "123456"
) -> Packet:
    cp = "" if cn.startswith("90") else "DataTime=20240601085800;a21026-Avg=1.5,a21026-Flag=N"
    return parse_packet(
        build_packet(st=st_code, cn=cn, pw=pw, mn=MN, qn=QN, cp=cp, needs_reply=reply)
    )


# ------------------------------------------------------------------------------ reasons


def test_reason_values_are_the_stable_contract() -> None:
    assert {r.value for r in Reason} == STABLE_VALUES
    assert all(r == r.value and str(r) == r.value and f"{r}" == r.value for r in Reason)


def test_protocol_error_takes_only_known_reasons_and_pickles() -> None:
    err = ProtocolError("crc_mismatch", "x")
    assert err.reason is Reason.CRC_MISMATCH
    back = pickle.loads(pickle.dumps(err))
    assert back.reason is Reason.CRC_MISMATCH and back.detail == "x"
    with pytest.raises(ValueError):
        ProtocolError("not_a_reason", "x")


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=120))
def test_every_rejection_reason_is_a_member(data: bytes) -> None:
    for ev in Framer(max_segment=64).feed(data):
        if isinstance(ev, FramingError):
            assert isinstance(ev.reason, Reason)
    try:
        parse_packet(data, lenient=False)
    except ProtocolError as exc:
        assert isinstance(exc.reason, Reason)


# ------------------------------------------------------------------------------ access check


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from(["123456", "654321", "1"]),
    st.sampled_from(["22", "31", "32", "91"]),
    st.one_of(
        st.none(),
        st.builds(
            Device,
            pw=st.sampled_from(["123456", "654321"]),
            st=st.sampled_from(["22", "31"]),
            active=st.booleans(),
        ),
    ),
)
def test_access_check(pw: str, st_code: str, device: Device | None) -> None:
    packet = _packet(pw=pw, st_code=st_code)
    refusal = check_access(packet, device)
    if device is None:
        expected: tuple[Reason, int] | None = (Reason.UNKNOWN_MN, 4)
    elif not device.active:
        expected = (Reason.RETIRED_DEVICE, 4)
    elif pw != device.pw:
        expected = (Reason.WRONG_PW, 3)
    elif st_code not in (device.st, "91"):  # 91 系统交互 is every device's
        expected = (Reason.WRONG_ST, 5)
    else:
        expected = None
    assert (None if refusal is None else (refusal.reason, refusal.qn_rtn)) == expected
    if refusal is not None:
        assert MN in refusal.detail


def test_access_and_content_refusals_have_a_qn_rtn() -> None:
    coded = {r: refusal_code(r) for r in Reason if refusal_code(r) is not None}
    assert coded == {
        Reason.UNKNOWN_MN: 4,
        Reason.RETIRED_DEVICE: 4,
        Reason.WRONG_PW: 3,
        Reason.WRONG_ST: 5,
        # 请求被拒绝: refused at ingestion for its content, never stored (issue 18)
        Reason.BAD_VALUE: 2,
        Reason.VALUE_OUT_OF_FORMAT: 2,
        Reason.BAD_FLAG: 2,
        Reason.MISSING_DATATIME: 2,
        Reason.DATATIME_FUTURE: 2,
        Reason.DATATIME_TOO_OLD: 2,
        Reason.CODE_TOO_LONG: 2,
        Reason.DB_REFUSED: 2,
    }


# ------------------------------------------------------------------------------ replies

CNS = sorted(set(cn_codes()) - {"9015"})  # every command a device may send (9015 below)


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from([*CNS, "9015"]),
    st.booleans(),
    st.booleans(),
    st.one_of(st.none(), st.sampled_from(list(Reason))),
)
def test_reply_rules(cn: str, asks: bool, durable: bool, reason: Reason | None) -> None:
    if cn == "9015":
        packet = parse_packet(
            build_packet(
                st="91",
                cn=cn,
                pw="1",
                mn=MN,
                qn=QN,
                cp="",
                needs_reply=asks,
                edition=Edition.V2025,
            )
        )
    else:
        packet = _packet(cn, reply=asks)
    got = reply_to(packet, durable=durable, reason=reason)
    if not asks or cn in ANSWER_CNS:
        assert got is None  # not asked for, or the device's own answer
        return
    if durable:
        assert got == data_reply(packet)
        answer = parse_packet(got)
        assert (answer.cn, answer.qn, answered_qn(answer)) == ("9014", QN, QN)
        assert answer.edition is packet.edition and not answer.needs_reply
        return
    code = refusal_code(reason) if reason is not None else None
    if code is None:
        assert got is None  # rejected for its content, or not stored: the device re-sends
        return
    assert got == request_reply(packet, code)
    answer = parse_packet(got)
    assert (answer.cn, answer.qn, answer.cp.params["QnRtn"]) == ("9011", QN, str(code))
    assert answered_qn(answer) == QN


def test_split_parts_are_answered_each_and_answers_never() -> None:
    assert {"9011", "9012", "9013", "9014"} == ANSWER_CNS
    for cn in ANSWER_CNS:
        assert reply_to(_packet(cn), durable=True) is None
    assert answered_qn(_packet("2051")) is None  # an upload acknowledges nothing
