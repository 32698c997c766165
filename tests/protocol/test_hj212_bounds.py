"""Values within HJ 212's data formats (issue 18: a 400-digit number was acknowledged and became
infinity downstream). Property tests on the real parser, every edition, both modes."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qingshan.protocol.hj212 import Edition, ProtocolError, build_packet, parse_packet
from qingshan.protocol.hj212.formats import FieldFormat, check_value, field_formats

MN = "010000A8900016F000169DC0"  # 24 hex digits: valid in 2017 and 2025
MN_2005 = "88888880000001"
EDITIONS = [Edition.V2005, Edition.V2017, Edition.V2025]
NUMERIC = ["Rtd", "Avg", "Min", "Max", "Cou", "ZsRtd", "ZsAvg", "ZsMin", "ZsMax"]


def packet(edition: Edition, cp: str) -> bytes:
    mn = MN_2005 if edition is Edition.V2005 else MN
    return build_packet(
        st="22", cn="2051", pw="123456", mn=mn, qn="20260301080000001", cp=cp, edition=edition
    )


def upload(edition: Edition, suffix: str, value: str) -> bytes:
    code = "a21026" if edition is not Edition.V2005 else "02"
    return packet(edition, f"DataTime=20260301080000;{code}-{suffix}={value},{code}-Flag=N")


def reason(raw: bytes, lenient: bool) -> str | None:
    """Why the parser refuses ``raw``; in lenient mode also a tolerated value quirk (which the
    ingestion refuses with that reason)."""
    try:
        p = parse_packet(raw, lenient=lenient)
    except ProtocolError as exc:
        return exc.reason.value
    if lenient and "value_out_of_format" in p.tolerated:
        return "value_out_of_format"
    return None


def test_the_format_table_covers_every_numeric_suffix_in_every_edition() -> None:
    for edition in EDITIONS:
        formats = field_formats(edition)
        assert {*NUMERIC, "ZsCou", "RS", "RT"} <= set(formats)
        assert formats["Rtd"] == FieldFormat(14, 6) and formats["RS"] == FieldFormat(1, 0)


@pytest.mark.parametrize("edition", EDITIONS)
@pytest.mark.parametrize("lenient", [False, True])
def test_a_400_digit_number_is_refused(edition: Edition, lenient: bool) -> None:
    """The probe of issue 18: acknowledged and stored as a value that becomes infinity."""
    raw = upload(edition, "Avg", "9" * 400)
    assert float("9" * 400) == math.inf  # what it would have become downstream
    assert reason(raw, lenient) == "value_out_of_format"


@pytest.mark.parametrize("edition", EDITIONS)
@pytest.mark.parametrize(
    "text", ["NaN", "nan", "inf", "-Infinity", "1e400", "1E5", "0x10", "1.2.3"]
)
def test_non_decimals_are_bad_values_in_strict_mode(edition: Edition, text: str) -> None:
    assert reason(upload(edition, "Rtd", text), lenient=False) == "bad_value"


digits = st.text("0123456789", min_size=1, max_size=20)
signs = st.sampled_from(["", "-", "+"])


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(EDITIONS),
    st.sampled_from(NUMERIC),
    signs,
    st.text("0123456789", min_size=1, max_size=14),
    st.one_of(st.none(), st.text("0123456789", min_size=1, max_size=6)),
    st.booleans(),
)
def test_every_value_within_n14_6_is_kept_exactly(
    edition: Edition, suffix: str, sign: str, whole: str, frac: str | None, lenient: bool
) -> None:
    text = sign + whole + ("" if frac is None else "." + frac)
    p = parse_packet(upload(edition, suffix, text), lenient=lenient)
    (pol,) = p.cp.pollutants.values()
    assert pol.fields[suffix] == text
    assert math.isfinite(float(text))


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(EDITIONS),
    st.sampled_from(NUMERIC),
    signs,
    digits,
    st.one_of(st.none(), st.text("0123456789", min_size=1, max_size=12)),
    st.booleans(),
)
def test_too_many_digits_or_decimals_are_refused_or_marked_in_both_modes(
    edition: Edition, suffix: str, sign: str, whole: str, frac: str | None, lenient: bool
) -> None:
    text = sign + whole + ("" if frac is None else "." + frac)
    within = len(whole) <= 14 and len(frac or "") <= 6
    expected = None if within else "value_out_of_format"
    assert reason(upload(edition, suffix, text), lenient) == expected


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(EDITIONS), st.text("0123456789", min_size=1, max_size=3), st.booleans())
def test_running_state_is_one_digit(edition: Edition, value: str, lenient: bool) -> None:
    raw = packet(edition, "DataTime=20260301080000;SB1-RS=" + value)
    assert reason(raw, lenient) == (None if len(value) == 1 else "value_out_of_format")


value_text = st.text("0123456789.-+eEnaifINF", min_size=1, max_size=30) | st.builds(
    lambda n, e: n + "e" + e, digits, digits
)


@settings(max_examples=500, deadline=None)
@given(st.sampled_from(EDITIONS), st.sampled_from(NUMERIC), value_text)
def test_whatever_strict_parsing_accepts_is_a_finite_bounded_decimal(
    edition: Edition, suffix: str, text: str
) -> None:
    """Never infinity downstream: any value the strict parser lets through converts to a
    finite float below 10**14, and passes the format check the ingestion applies."""
    try:
        p = parse_packet(upload(edition, suffix, text))
    except ProtocolError as exc:
        assert exc.reason.value in ("bad_value", "value_out_of_format", "bad_cp")
        return
    (pol,) = p.cp.pollutants.values()
    number = float(pol.fields[suffix])
    assert math.isfinite(number) and abs(number) < 1e14
    check_value(edition, "x", suffix, pol.fields[suffix])


def test_the_refusal_names_the_field_and_the_format() -> None:
    with pytest.raises(ProtocolError) as err:
        parse_packet(upload(Edition.V2017, "Avg", "1." + "0" * 7))
    assert err.value.reason == "value_out_of_format"
    assert "a21026-Avg" in err.value.detail and "N14.6" in err.value.detail
    assert "HJ 212-2017" in err.value.detail


@pytest.mark.parametrize(
    ("text", "quirk"), [("1e400", "bad_value"), ("9" * 400, "value_out_of_format")]
)
def test_lenient_mode_lets_values_through_for_ingestion_to_refuse(text: str, quirk: str) -> None:
    p = parse_packet(upload(Edition.V2017, "Avg", text), lenient=True)
    assert quirk in p.tolerated
    with pytest.raises(ProtocolError) as err:
        check_value(p.edition, "a21026-Avg", "Avg", text)
    assert err.value.reason == quirk
