"""The receiving side of a stream: MN sniffing, per-device decoding, split parts and their bytes."""

from __future__ import annotations

import random
from datetime import datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qingshan.protocol.hj212 import (
    OFFICIAL_TEST_KEY,
    DeviceProfile,
    Edition,
    Frame,
    Framer,
    Part,
    Reason,
    Reassembled,
    Receiver,
    Rejection,
    build_packet,
    build_packets,
    sniff_mn,
    sniff_reply_qn,
)

MN = "010000A8900016F000169DC0"
QN = "20240601085857223"
PW = "123456"

MNS = st.text(st.sampled_from("0123456789ABCDEFabcdefXYZ"), min_size=1, max_size=24)


def _upload(mn: str = MN, qn: str = QN, **kw: object) -> bytes:
    return build_packet(
        st="22",
        cn="2051",
        pw=PW,
        mn=mn,
        qn=qn,
        cp={"DataTime": datetime(2024, 6, 1, 8, 58), "a21026": {"Avg": "1.5", "Flag": "N"}},
        **kw,  # type: ignore[arg-type]
    )


def _parts(n_codes: int = 40, qn: str = QN, mn: str = MN) -> list[bytes]:
    cp: dict[str, object] = {"DataTime": datetime(2024, 6, 1, 8, 58)}
    for i in range(n_codes):
        cp[f"e1{i:02d}01"] = {"Avg": f"{i}.5", "Min": "1.25", "Max": "9.75", "Flag": "N"}
    return build_packets(
        st="52", cn="2051", pw=PW, mn=mn, qn=qn, cp=cp, needs_reply=True, max_segment=300
    )


# ------------------------------------------------------------------------------ sniff_mn


@settings(max_examples=100, deadline=None)
@given(MNS, st.booleans())
def test_sniff_mn_reads_the_mn_of_any_packet(mn: str, reply: bool) -> None:
    assert sniff_mn(_upload(mn=mn, needs_reply=reply, edition=Edition.V2017)) == mn


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200))
def test_sniff_mn_never_fails_on_garbage(data: bytes) -> None:
    mn = sniff_mn(data)
    assert mn is None or (mn.isascii() and mn.isalnum() and f"MN={mn}".encode() in data)


def test_sniff_mn_without_mn_or_with_a_non_ascii_mn() -> None:
    assert sniff_mn(b"##0010QN=1;ST=22&&") is None
    assert sniff_mn("MN=设备一;".encode()) is None
    assert sniff_mn(b"QN=1;MN=ABC;Flag=5;CP=&&MN=DEF;&&") == "ABC"  # the header's, not CP's


def test_sniff_reply_qn() -> None:
    segment = _upload(needs_reply=True)[6:-6]
    assert sniff_reply_qn(segment) == QN
    assert sniff_reply_qn(_upload(needs_reply=False)[6:-6]) is None
    assert sniff_reply_qn(b"ST=22;CN=2051;Flag=5;CP=&&&&") is None  # no QN


# ------------------------------------------------------------------------------ decoding


def test_unsplit_packet_is_one_whole_packet_with_its_bytes() -> None:
    raw = _upload(needs_reply=True)
    got = Receiver().decode(raw, 0.0)
    assert isinstance(got, Reassembled)
    assert got.raw == raw and len(got.parts) == 1 and got.parts[0].raw == raw
    assert got.packet.cp.pollutants["a21026"].fields["Avg"] == "1.5"


def test_a_frame_cut_by_the_framer_decodes_like_the_bytes() -> None:
    raw = _upload()
    (frame,) = Framer().feed(raw)
    assert isinstance(frame, Frame)
    a, b = Receiver().decode(raw, 0.0), Receiver().decode(raw, 0.0, frame)
    assert isinstance(a, Reassembled) and isinstance(b, Reassembled)
    assert a.packet == b.packet and a.raw == b.raw == raw


def test_rejection_carries_a_reason_and_the_sniffed_mn() -> None:
    raw = _upload()
    bad = raw[:-6] + b"0000\r\n"
    got = Receiver().decode(bad, 0.0)
    assert isinstance(got, Rejection)
    assert (got.reason, got.mn, got.raw) == (Reason.CRC_MISMATCH, MN, bad)
    assert isinstance(got.reason, Reason) and got.reason == "crc_mismatch"


def test_the_registered_encoding_decodes_chinese_content() -> None:
    cp = {"DataTime": datetime(2024, 6, 1), "i13001": {"Info": "青山一号"}}
    raw = build_packet(st="22", cn="3020", pw=PW, mn=MN, qn=QN, cp=cp, encoding="utf-8")
    # Unknown device: decoded as GBK, the default, which this UTF-8 text is not.
    assert isinstance(Receiver().decode(raw, 0.0), Rejection)
    utf8 = {MN: DeviceProfile(encoding="utf-8")}
    got = Receiver(utf8.get).decode(raw, 0.0)
    assert isinstance(got, Reassembled)
    assert got.packet.cp.pollutants["i13001"].fields["Info"] == "青山一号"


def test_the_registered_edition_and_sm4_key_are_used() -> None:
    raw = build_packet(
        st="22",
        cn="2051",
        pw=PW,
        mn=MN,
        qn=QN,
        cp={"DataTime": datetime(2024, 6, 1), "a21026": {"Avg": "1.5"}},
        edition=Edition.V2025,
        sm4_key=OFFICIAL_TEST_KEY,
    )
    no_key = Receiver({MN: DeviceProfile(edition="2025")}.get).decode(raw, 0.0)
    assert isinstance(no_key, Rejection) and no_key.reason is Reason.ENCRYPTED_CP
    keyed = {MN: DeviceProfile(edition="2025", sm4_key=OFFICIAL_TEST_KEY)}
    got = Receiver(keyed.get).decode(raw, 0.0)
    assert isinstance(got, Reassembled) and got.packet.edition is Edition.V2025
    assert got.packet.cp.pollutants["a21026"].fields["Avg"] == "1.5"
    # A device registered as 2005 sending a 2025 Flag: a specific rejection, not a guess.
    as_2005 = Receiver({MN: DeviceProfile(edition="2005", sm4_key=OFFICIAL_TEST_KEY)}.get)
    wrong = as_2005.decode(raw, 0.0)
    assert isinstance(wrong, Rejection) and wrong.reason is Reason.BAD_FLAG


# ------------------------------------------------------------------------------ split packets


@settings(max_examples=60, deadline=None)
@given(st.randoms(use_true_random=False), st.integers(0, 3))
def test_split_parts_keep_their_own_bytes_in_any_arrival_order(
    rnd: random.Random, resends: int
) -> None:
    parts = _parts()
    assert len(parts) > 2
    order = list(parts)
    rnd.shuffle(order)
    # Some parts are sent again before the packet is complete (a device that got no answer).
    late = order[:-1]
    stream = order[:-1] + [rnd.choice(late) for _ in range(resends)] + order[-1:]
    receiver = Receiver()
    events = [receiver.decode(raw, 0.0) for raw in stream]
    assert all(isinstance(e, Part) for e in events[:-1])
    assert [e.raw for e in events[:-1] if isinstance(e, Part)] == stream[:-1]
    whole = events[-1]
    assert isinstance(whole, Reassembled)
    # Each part once, in PNO order, exactly as sent: what the raw archive stores.
    assert [p.raw for p in whole.parts] == parts
    assert whole.raw == b"".join(parts)
    assert [p.packet.pno for p in whole.parts] == list(range(1, len(parts) + 1))
    assert whole.packet.pnum is None and len(whole.packet.cp.pollutants) == 40
    assert receiver.reassembler.held() == 0


def test_interleaved_split_packets_of_two_devices_stay_apart() -> None:
    a = _parts(qn=QN)
    b = _parts(qn=QN, mn="010000A8900016F000169DC1")
    receiver = Receiver()
    done: list[Reassembled] = []
    for x, y in zip(a, b, strict=True):
        for raw in (x, y):
            got = receiver.decode(raw, 0.0)
            if isinstance(got, Reassembled):
                done.append(got)
    assert [d.raw for d in done] == [b"".join(a), b"".join(b)]


def test_incomplete_split_packets_expire_and_are_bounded() -> None:
    parts = _parts()
    receiver = Receiver(max_parts=5, max_age_s=10.0)
    assert isinstance(receiver.decode(parts[0], 0.0), Part)
    # The rest arrives too late: the first part was dropped, so the packet never completes.
    events = [receiver.decode(p, 20.0) for p in parts[1:]]
    assert all(isinstance(e, Part) for e in events)
    assert receiver.reassembler.discarded >= 1
    for i in range(20):  # first parts of many packets: memory stays bounded
        receiver.decode(_parts(qn=f"2024060108585{i:04d}")[0], 21.0)
        assert receiver.reassembler.held() <= 5


def test_receiver_arguments_are_checked() -> None:
    with pytest.raises(ValueError):
        Receiver(max_parts=0)
