"""Parsing and validation of HJ 212 frames and packets (2005 / 2017 / 2025).

Data segment (HJ 212-2017 §6.3.3 表 3; HJ 212-2025 adds ``RF``)::

    QN=…;ST=…;CN=…;PW=…;MN=…;Flag=…;[PNUM=…;PNO=…;][RF=1;]CP=&&…&&

CP content: items ``key=value`` separated by ``,`` inside a group and ``;`` between groups; a key
``code-Suffix`` belongs to a code (``a21026-Rtd``, ``SB1-RS``, ``LA-Rtd`` …), a key without ``-`` is
a parameter (``RtdInterval``, ``SystemTime``, ``QnRtn``, …) and ``DataTime`` is the data time.

Length semantics (decided here, see docs/standards/hj212.md): the 4 length digits count the
*bytes* of the data segment in the device's encoding (GBK or UTF-8), which is what the CRC covers
too. Lenient mode also accepts a count of *characters* and marks ``length_in_chars``.

Strict mode rejects with a specific reason; lenient mode accepts field quirks and lists them in
:attr:`Packet.tolerated` (``lowercase_crc``, ``datatime_millis``, ``missing_flag``,
``trailing_separator``, ``length_in_chars``, ``unknown_st``, ``unknown_cn``, ``unknown_edition``,
``duplicate_field``, ``bad_value``, ``value_out_of_format``, ``bad_data_flag``, ``qn_format``,
``pw_format``, ``mn_format``, ``split_without_flag``, ``split_flag_without_pnum``, ``empty_item``,
``unknown_header_field``, ``edition_mismatch``). Structural damage (no header, CRC mismatch,
length mismatch, bad DataTime, …) is rejected in both modes. A decimal value with more
digits or decimals than its field's data format (``value_out_of_format``, see
:mod:`qingshan.protocol.hj212.formats`) is rejected in strict mode and tolerated as
``value_out_of_format`` in lenient mode, like ``bad_value``: the platform's ingestion refuses
both, so no such value is ever stored.
"""

from __future__ import annotations

import re
from datetime import datetime
from functools import cache, lru_cache
from itertools import repeat
from operator import methodcaller
from typing import Any

from qingshan.protocol.hj212._crc import crc16
from qingshan.protocol.hj212._model import (
    CP,
    EDITION_OF_BITS,
    FLAG_SPLIT,
    Edition,
    Frame,
    Packet,
    Pollutant,
    ProtocolError,
)
from qingshan.protocol.hj212.codes import cn_codes, data_flags, map_2005_to_2017, st_codes
from qingshan.protocol.hj212.crypto import SM4Error, decrypt_cp_text
from qingshan.protocol.hj212.formats import check_value, field_formats
from qingshan.protocol.hj212.reasons import Reason

__all__ = ["parse_frame", "parse_packet", "parse_segment"]

#: Suffixes whose values must be decimal numbers (exact text is kept).
NUMERIC_SUFFIXES = frozenset(
    {"Rtd", "Avg", "Min", "Max", "Cou", "ZsRtd", "ZsAvg", "ZsMin", "ZsMax", "ZsCou", "RS", "RT"}
)
_TIME_PARAMS = frozenset({"SystemTime", "BeginTime", "EndTime", "RestartTime"})
_HEADER_KEYS = frozenset({"QN", "ST", "CN", "PW", "MN", "Flag", "PNUM", "PNO", "RF"})
_NUM = r"[-+]?[0-9]+(?:\.[0-9]+)?"  # ASCII digits only (\d would admit "２" or "١")
_NUMS = re.compile(rf"{_NUM}(?:,{_NUM})*")
_NUM1 = re.compile(_NUM)
_ID = re.compile(r"[A-Za-z0-9_-]{1,24}")
_MN_2025 = re.compile(r"[0-9A-F]{24}")
#: The common header, in the standard's field order, every field already well formed.
_FAST_HEAD = re.compile(
    r"QN=([0-9]{17});ST=([0-9]{2});CN=([0-9]{4});PW=([A-Za-z0-9]{1,6});"
    r"MN=([A-Za-z0-9_-]{1,24});Flag=([0-9]{1,3});"
)
_HEX4 = frozenset("0123456789ABCDEF")
_HEX4_ANY = frozenset("0123456789abcdefABCDEF")


def _load_tables() -> tuple[frozenset[str], frozenset[str], frozenset[str], dict[str, str]]:
    return (
        frozenset(st_codes()),
        frozenset(cn_codes()),
        frozenset(data_flags()),
        dict(map_2005_to_2017()),
    )


_ST, _CN, _FLAGS, _MAP2005 = _load_tables()


class _Ctx:
    """Collects tolerated quirks, or raises in strict mode."""

    __slots__ = ("lenient", "tolerated")

    def __init__(self, lenient: bool) -> None:
        self.lenient = lenient
        self.tolerated: list[str] = []

    def quirk(self, tolerance: str, reason: str, detail: str) -> None:
        if not self.lenient:
            raise ProtocolError(reason, detail)
        if tolerance not in self.tolerated:
            self.tolerated.append(tolerance)


@lru_cache(maxsize=4096)
def _time_value(text: str) -> datetime | None:
    """YYYYMMDDhhmmss[zzz] -> datetime, or None when malformed (cached: every device of a
    network reports the same minute/hour timestamps)."""
    n = len(text)
    if n not in (14, 17) or not text.isdigit() or not text.isascii():
        return None
    try:
        return datetime(
            int(text[0:4]),
            int(text[4:6]),
            int(text[6:8]),
            int(text[8:10]),
            int(text[10:12]),
            int(text[12:14]),
            int(text[14:17]) * 1000 if n == 17 else 0,
        )
    except ValueError:
        return None


def _parse_time(text: str, what: str, ctx: _Ctx) -> datetime:
    """YYYYMMDDhhmmss (strict); lenient also takes YYYYMMDDhhmmsszzz (milliseconds)."""
    value = _time_value(text)
    if value is None:
        if len(text) in (14, 17) and text.isdigit() and text.isascii():
            raise ProtocolError(Reason.BAD_DATATIME, f"{what}={text!r} is not a valid date/time")
        raise ProtocolError(Reason.BAD_DATATIME, f"{what}={text[:30]!r} is not YYYYMMDDhhmmss")
    if len(text) == 17:
        ctx.quirk("datatime_millis", Reason.BAD_DATATIME, f"{what}={text!r} carries milliseconds")
    return value


@cache
def _fast_body(edition: Edition) -> re.Pattern[str]:
    """The fast groups of a packet with their code prefixes removed, joined by ';': numeric
    fields within their data format (formats.py), and data flags."""
    by_pattern: dict[str, list[str]] = {}
    for suffix, fmt in field_formats(edition).items():
        by_pattern.setdefault(fmt.pattern, []).append(suffix)
    item = "|".join(
        [f"Flag=[{''.join(sorted(_FLAGS))}]"]
        + [f"(?:{'|'.join(sorted(names))})={pat}" for pat, names in sorted(by_pattern.items())]
    )
    return re.compile(rf"(?:{item})(?:[,;](?:{item}))*")


_split_eq = methodcaller("split", "=")
_join_items = ",".join


_new = object.__new__
_set_code, _set_fields, _set_original = (vars(Pollutant)[n].__set__ for n in Pollutant.__slots__)


def _pollutant(code: str, fields: dict[str, str], original: str | None) -> Pollutant:
    """Same as ``Pollutant(code, fields, original)`` without the frozen-dataclass ``__init__``
    (which goes through ``object.__setattr__``); ~40 % cheaper, and this runs per code."""
    obj: Pollutant = _new(Pollutant)
    _set_code(obj, code)
    _set_fields(obj, fields)
    _set_original(obj, original)
    return obj


_PACKET_SETTERS = tuple(vars(Packet)[n].__set__ for n in Packet.__slots__)


def _make_packet(*values: Any) -> Packet:
    """``Packet(*values)`` without the frozen-dataclass ``__init__`` (13 ``object.__setattr__``)."""
    obj: Packet = _new(Packet)
    (s_qn, s_st, s_cn, s_pw, s_mn, s_flag, s_pnum, s_pno, s_rf, s_ed, s_cp, s_tol, s_seg) = (
        _PACKET_SETTERS
    )
    (qn, st, cn, pw, mn, flag, pnum, pno, rf, edition, cp, tolerated, segment) = values
    s_qn(obj, qn)
    s_st(obj, st)
    s_cn(obj, cn)
    s_pw(obj, pw)
    s_mn(obj, mn)
    s_flag(obj, flag)
    s_pnum(obj, pnum)
    s_pno(obj, pno)
    s_rf(obj, rf)
    s_ed(obj, edition)
    s_cp(obj, cp)
    s_tol(obj, tolerated)
    s_seg(obj, segment)
    return obj


def _parse_cp(inner: str, edition: Edition, ctx: _Ctx, fast: bool = True) -> CP:
    """Split CP into DataTime, per-code fields and parameters, validating as it goes.

    Hot path (``fast``): a ``;`` group holding one code whose fields are numeric or a data flag
    (the normal 2011/2051/2061/2031 upload) becomes a dict through C-level string operations,
    and all such groups are then validated by one regular expression. If that fails the whole
    CP is parsed again item by item, which gives the specific reason.
    """
    params: dict[str, str] = {}
    codes: dict[str, dict[str, str]] = {}
    state: list[Any] = [None, None]  # DataTime, current PolId
    nums: list[str] = []
    num_keys: list[tuple[str, str]] = []  # (code-suffix, suffix) of each of nums
    flags: list[str] = []
    bodies: list[list[str]] = []
    fast_codes: list[str] = []
    mark = len(ctx.tolerated)
    redo = False
    original = inner
    if inner:
        if inner[-1] in ";,":
            ctx.quirk("trailing_separator", Reason.TRAILING_SEPARATOR, "CP ends with a separator")
            inner = inner.rstrip(";,")
        groups = inner.split(";")
        try:
            if fast and groups[0].startswith("DataTime=") and "," not in groups[0]:
                state[0] = _parse_time(groups[0][9:], "DataTime", ctx)
                del groups[0]
            for group in groups:
                if fast and state[1] is None:
                    code, dash, rest = group.partition("-")
                    if dash and code not in codes:
                        items = rest.split("," + code + "-")
                        try:
                            fields = dict(map(_split_eq, items))
                        except ValueError:
                            pass  # an item without exactly one '=': item by item below
                        else:
                            if len(fields) == len(items):
                                codes[code] = fields
                                fast_codes.append(code)
                                bodies.append(items)
                                continue
                _slow_group(group, codes, params, state, nums, num_keys, flags, ctx)
        except ProtocolError:
            if not fast:
                raise
            redo = True  # report the first defect in text order: redo item by item
    # The fast groups are checked in bulk: non-empty alphanumeric codes, only numeric suffixes
    # and Flag, valid numbers and flag letters. Anything else: start again item by item, so the
    # reason and the tolerated list are exactly those of the item-by-item path.
    if redo or (
        bodies
        and (
            not "".join(fast_codes).isalnum()
            or not all(fast_codes)
            or _fast_body(edition).fullmatch(";".join(map(_join_items, bodies))) is None
        )
    ):
        del ctx.tolerated[mark:]
        return _parse_cp(original, edition, ctx, fast=False)
    if nums and _NUMS.fullmatch(",".join(nums)) is None:
        bad = next((v for v in nums if _NUM1.fullmatch(v) is None), nums[0])
        ctx.quirk("bad_value", Reason.BAD_VALUE, f"value {bad[:40]!r} is not a decimal number")
    if nums:
        # A decimal outside its field's data format (a 400-digit number would become infinity
        # downstream): refused in strict mode; lenient mode lets it through like ``bad_value``
        # and ingestion refuses the packet after authenticating it, so that the device is
        # answered (9011 QnRtn 2) and stops re-sending it.
        for (key, suffix), value in zip(num_keys, nums, strict=True):
            if _NUM1.fullmatch(value) is not None:
                try:
                    check_value(edition, key, suffix, value)
                except ProtocolError as exc:
                    ctx.quirk("value_out_of_format", exc.reason, exc.detail)
    if flags and not _FLAGS.issuperset(flags):
        bad = next(v for v in flags if v not in _FLAGS)
        ctx.quirk(
            "bad_data_flag",
            Reason.BAD_DATA_FLAG,
            f"data flag {bad[:10]!r} is not one of N F M S D C T B",
        )
    if params:
        _check_params(params, ctx)
    pollutants: dict[str, Pollutant] = {}
    make = _pollutant
    if edition is Edition.V2005:
        mapping = _MAP2005
        for code, fields in codes.items():
            new = mapping.get(code)
            if new is None or new in codes:  # unmapped, or the 2017 code was sent as well
                pollutants[code] = make(code, fields, None)
            else:
                pollutants[new] = make(new, fields, code)
    else:
        pollutants = dict(zip(codes, map(make, codes, codes.values(), repeat(None)), strict=True))
    return CP(state[0], pollutants, params)


def _slow_group(
    group: str,
    codes: dict[str, dict[str, str]],
    params: dict[str, str],
    state: list[Any],
    nums: list[str],
    num_keys: list[tuple[str, str]],
    flags: list[str],
    ctx: _Ctx,
) -> None:
    """One ``;`` group, item by item. ``state`` = [DataTime, current PolId]."""
    for item in group.split(","):
        key, sep, value = item.partition("=")
        if not sep:
            if not item:
                ctx.quirk("empty_item", Reason.BAD_CP, "empty item in CP")
                continue
            raise ProtocolError(Reason.BAD_CP, f"CP item {item[:40]!r} has no '='")
        code, dash, suffix = key.partition("-")
        if dash:
            if not code or not suffix:
                raise ProtocolError(
                    Reason.BAD_CP, f"CP item {item[:40]!r} has an empty code or suffix"
                )
            if state[1] is not None and code[0] == "i":
                # Information codes after PolId=X describe pollutant X (3020/3021 device info):
                # kept as field "i13004-Info" of X, so several PolId blocks do not collide.
                code, suffix = state[1], key
            fields = codes.get(code)
            if fields is None:
                codes[code] = {suffix: value}
            else:
                if suffix in fields and fields[suffix] != value:
                    ctx.quirk(
                        "duplicate_field",
                        Reason.DUPLICATE_FIELD,
                        f"{key[:40]} given twice with different values",
                    )
                fields[suffix] = value
            if suffix in NUMERIC_SUFFIXES:
                nums.append(value)
                num_keys.append((f"{code}-{suffix}"[:40], suffix))
            elif suffix == "Flag":
                flags.append(value)
            elif suffix == "SampleTime":
                _parse_time(value, key, ctx)
        elif key == "DataTime":
            if state[0] is not None:
                ctx.quirk("duplicate_field", Reason.DUPLICATE_FIELD, "DataTime given twice")
            state[0] = _parse_time(value, "DataTime", ctx)
        elif not key:
            raise ProtocolError(Reason.BAD_CP, f"CP item {item[:40]!r} has an empty name")
        elif key == "PolId":
            if not value:
                raise ProtocolError(Reason.BAD_VALUE, "PolId is empty")
            state[1] = value
            old = params.get("PolId")
            params["PolId"] = value if old is None else f"{old},{value}"
        else:
            if key in params and params[key] != value:
                ctx.quirk(
                    "duplicate_field",
                    Reason.DUPLICATE_FIELD,
                    f"{key[:40]} given twice with different values",
                )
            params[key] = value


def _check_params(params: dict[str, str], ctx: _Ctx) -> None:
    for key in _TIME_PARAMS.intersection(params):
        _parse_time(params[key], key, ctx)
    for key in ("QnRtn", "ExeRtn"):
        value = params.get(key)
        if value is not None and not value.isdigit():
            raise ProtocolError(Reason.BAD_VALUE, f"{key}={value!r} is not a number")


def parse_segment(
    text: str,
    *,
    lenient: bool = False,
    edition: Edition | None = None,
    _ctx: _Ctx | None = None,
    _cp_at: int | None = None,
) -> Packet:
    """Parse and validate a decoded data segment (no length/CRC checks).

    ``edition``: the edition configured for the device, if known. It overrides the detection
    from Flag. Flag edition bits 2 (2025) from a device set to 2017 are accepted in both modes
    (2017-era devices sent ``Flag=9`` before 2025 existed; lenient lists ``edition_mismatch``);
    any other disagreement is ``bad_flag`` in strict mode and ``edition_mismatch`` in lenient
    mode. Without a Flag, a device set to 2005 is read as 2005 whatever its MN length.
    """
    expected = edition
    ctx = _ctx if _ctx is not None else _Ctx(lenient)
    cp_at = text.find("CP=&&") if _cp_at is None else _cp_at
    if cp_at < 0:
        raise ProtocolError(Reason.MISSING_FIELD, "no 'CP=&&' in the data segment")
    if not text.endswith("&&") or len(text) < cp_at + 7:
        raise ProtocolError(Reason.BAD_CP, "CP is not closed with '&&'")
    fast = _FAST_HEAD.fullmatch(text, 0, cp_at)
    if fast is not None:
        # The usual 2017/2025 upload header, in the standard's order and all fields well formed.
        qn, st, cn, pw, mn, flag_text = fast.groups()
        f_flag = int(flag_text)
        f_edition = EDITION_OF_BITS.get(f_flag >> 2)
        if (
            f_edition is not None
            and (expected is None or expected is f_edition)
            and f_flag <= 255
            and not f_flag & FLAG_SPLIT
            and st in _ST
            and cn in _CN
            and (f_edition is not Edition.V2025 or _MN_2025.fullmatch(mn) is not None)
        ):
            cp = _parse_cp(text[cp_at + 5 : -2], f_edition, ctx)
            return _make_packet(
                qn,
                st,
                cn,
                pw,
                mn,
                f_flag,
                None,
                None,
                False,
                f_edition,
                cp,
                tuple(ctx.tolerated),
                text,
            )
    head = text[:cp_at]
    if head and head[-1] != ";":
        raise ProtocolError(Reason.BAD_FIELD, "the field before CP is not closed with ';'")
    hdr: dict[str, str] = {}
    try:
        hdr = dict(map(_split_eq, head[:-1].split(";"))) if head else {}
        regular = len(hdr) == head.count(";") and hdr.keys() <= _HEADER_KEYS
    except ValueError:
        regular = False
    if not regular:
        hdr = {}
    seen: set[str] = set()
    for item in () if regular else head.split(";")[:-1]:
        key, sep, value = item.partition("=")
        if not sep:
            if not item:
                ctx.quirk("empty_item", Reason.BAD_FIELD, "empty field in the header")
                continue
            raise ProtocolError(Reason.BAD_FIELD, f"header field {item[:40]!r} has no '='")
        if key in seen:
            raise ProtocolError(Reason.DUPLICATE_FIELD, f"header field {key} given twice")
        seen.add(key)
        if key not in _HEADER_KEYS:
            ctx.quirk(
                "unknown_header_field", Reason.BAD_FIELD, f"unknown header field {key[:20]!r}"
            )
            continue
        hdr[key] = value
    get = hdr.get
    st = get("ST")
    cn = get("CN")
    pw = get("PW")
    mn = get("MN")
    if st is None or cn is None or pw is None or mn is None:
        missing = [k for k in ("ST", "CN", "PW", "MN") if k not in hdr]
        raise ProtocolError(Reason.MISSING_FIELD, f"missing header field(s): {', '.join(missing)}")
    flag_text = get("Flag")
    flag: int | None = None
    if flag_text is not None:
        if not flag_text.isdigit() or not flag_text.isascii() or int(flag_text) > 255:
            raise ProtocolError(Reason.BAD_FLAG, f"Flag={flag_text[:10]!r} is not a number 0–255")
        flag = int(flag_text)
        edition = EDITION_OF_BITS.get(flag >> 2)
        if edition is None:
            ctx.quirk(
                "unknown_edition",
                Reason.BAD_FLAG,
                f"Flag={flag}: edition bits {flag >> 2} are not 0, 1 or 2",
            )
            edition = Edition.V2017
    elif expected is Edition.V2005 or (expected is None and len(mn) != 24):
        edition = Edition.V2005  # HJ/T 212-2005 made Flag optional; 14-character MN
    else:
        ctx.quirk("missing_flag", Reason.MISSING_FIELD, "Flag is missing (required since 2017)")
        edition = expected or Edition.V2017
    if expected is not None and edition is not expected:
        if expected is Edition.V2017 and edition is Edition.V2025:
            # 2017-era devices sent Flag=8/9 years before HJ 212-2025 gave those bits a
            # meaning; for a device registered as 2017 the registration decides, in both modes.
            if ctx.lenient and "edition_mismatch" not in ctx.tolerated:
                ctx.tolerated.append("edition_mismatch")
        else:
            ctx.quirk(
                "edition_mismatch",
                Reason.BAD_FLAG,
                f"Flag={flag} says HJ 212-{edition.value}, the device is set to {expected.value}",
            )
        edition = expected
    qn = get("QN")
    if qn is not None and (len(qn) != 17 or not qn.isdigit() or not qn.isascii()):
        ctx.quirk("qn_format", Reason.BAD_FIELD, f"QN={qn[:20]!r} is not 17 digits")
    if not 0 < len(pw) <= 6 or not pw.isalnum() or not pw.isascii():
        ctx.quirk("pw_format", Reason.BAD_FIELD, f"PW={pw[:30]!r} is not 1–6 letters/digits")
    if edition is Edition.V2025:
        if _MN_2025.fullmatch(mn) is None:
            ctx.quirk("mn_format", Reason.BAD_FIELD, f"MN={mn[:30]!r} is not 24 hex digits (2025)")
    elif _ID.fullmatch(mn) is None:
        ctx.quirk("mn_format", Reason.BAD_FIELD, f"MN={mn[:30]!r} is not 1–24 letters/digits")
    if st not in _ST:
        ctx.quirk(
            "unknown_st", Reason.UNKNOWN_ST, f"ST={st[:10]!r} is not in the system code table"
        )
    if cn not in _CN:
        ctx.quirk(
            "unknown_cn", Reason.UNKNOWN_CN, f"CN={cn[:10]!r} is not in the command code table"
        )
    pnum = pno = None
    pnum_text, pno_text = get("PNUM"), get("PNO")
    split = flag is not None and bool(flag & FLAG_SPLIT)
    if split and pnum_text is None and pno_text is None:
        ctx.quirk(
            "split_flag_without_pnum",
            Reason.MISSING_FIELD,
            f"Flag={flag} has the split bit but PNUM/PNO are missing",
        )
    elif pnum_text is not None or pno_text is not None or split:
        if pnum_text is None or pno_text is None:
            raise ProtocolError(Reason.MISSING_FIELD, "PNUM and PNO must both be present")
        if not (pnum_text.isdigit() and pno_text.isdigit() and (pnum_text + pno_text).isascii()):
            raise ProtocolError(
                Reason.BAD_SPLIT, f"PNUM={pnum_text!r}/PNO={pno_text!r} not numbers"
            )
        pnum, pno = int(pnum_text), int(pno_text)
        if not 1 <= pno <= pnum:
            raise ProtocolError(Reason.BAD_SPLIT, f"PNO={pno} outside 1..PNUM={pnum}")
        if not split:
            ctx.quirk(
                "split_without_flag", Reason.BAD_SPLIT, "PNUM/PNO present but Flag bit 1 unset"
            )
    rf_text = get("RF")
    if rf_text is not None and rf_text != "1":
        raise ProtocolError(Reason.BAD_FIELD, f"RF={rf_text[:10]!r}: only RF=1 is defined")
    cp = _parse_cp(text[cp_at + 5 : -2], edition, ctx)
    return _make_packet(
        qn,
        st,
        cn,
        pw,
        mn,
        flag,
        pnum,
        pno,
        rf_text == "1",
        edition,
        cp,
        tuple(ctx.tolerated),
        text,
    )


def parse_frame(
    frame: Frame,
    *,
    lenient: bool = False,
    encoding: str = "utf-8",
    max_segment: int = 1024,
    sm4_key: bytes | None = None,
    edition: Edition | None = None,
) -> Packet:
    """Validate one frame (length, CRC, fields) and parse it. Raises :class:`ProtocolError`.

    ``sm4_key``: the device's SM4 key, needed when the CP content is encrypted (HJ 212-2025).
    ``edition``: the device's configured edition, if known (see :func:`parse_segment`).
    """
    raw = frame.raw
    if raw[:2] != b"##":
        raise ProtocolError(Reason.NO_HEADER, "frame does not start with '##'")
    return _parse_wire(
        raw[2:6], frame.segment, frame.crc_text, lenient, encoding, max_segment, sm4_key, edition
    )


def _parse_wire(
    declared_text: bytes,
    seg: bytes,
    crc_text: str,
    lenient: bool,
    encoding: str,
    max_segment: int,
    sm4_key: bytes | None,
    edition: Edition | None,
) -> Packet:
    ctx = _Ctx(lenient)
    if len(declared_text) != 4 or not declared_text.isdigit():
        raise ProtocolError(
            Reason.BAD_LENGTH, f"length field {bytes(declared_text)!r} is not 4 digits"
        )
    declared = int(declared_text)
    if len(seg) > max_segment:
        raise ProtocolError(
            Reason.SEGMENT_TOO_LONG, f"data segment {len(seg)} > maximum {max_segment}"
        )
    if len(crc_text) != 4 or not _HEX4_ANY.issuperset(crc_text):
        raise ProtocolError(Reason.BAD_CRC_FORMAT, f"CRC field {crc_text!r} is not 4 hex digits")
    if not _HEX4.issuperset(crc_text):
        ctx.quirk("lowercase_crc", Reason.BAD_CRC_FORMAT, f"CRC {crc_text!r} is not upper-case")
    try:
        text = seg.decode(encoding)
    except (UnicodeDecodeError, LookupError):
        raise ProtocolError(Reason.BAD_ENCODING, f"data segment is not valid {encoding}") from None
    plain = seg
    cp_at = text.find("CP=&&")
    if cp_at >= 0 and (text.startswith("{0x", cp_at + 5) or text.startswith("{0X", cp_at + 5)):
        if sm4_key is None:
            raise ProtocolError(Reason.ENCRYPTED_CP, "CP is SM4-encrypted and no key was given")
        try:
            inner = decrypt_cp_text(text[cp_at + 5 : -2], sm4_key)
        except SM4Error as exc:
            raise ProtocolError(Reason.BAD_CIPHERTEXT, str(exc)) from None
        text = text[: cp_at + 5] + inner + "&&"
        try:
            plain = text.encode(encoding)
        except UnicodeEncodeError:
            raise ProtocolError(Reason.BAD_CIPHERTEXT, "decrypted CP is not text") from None
        # HJ 212-2025 A.2 prints the plaintext length; the transmitted length is also accepted.
        if declared not in (len(seg), len(plain)):
            raise ProtocolError(
                Reason.LENGTH_MISMATCH,
                f"length field {declared} ≠ {len(seg)} bytes sent / {len(plain)} plaintext",
            )
    elif declared != len(seg):
        if declared == len(text):
            ctx.quirk(
                "length_in_chars",
                Reason.LENGTH_MISMATCH,
                f"length field {declared} counts characters, segment has {len(seg)} bytes",
            )
        else:
            raise ProtocolError(
                Reason.LENGTH_MISMATCH, f"length field {declared} ≠ data segment {len(seg)} bytes"
            )
    computed = crc16(plain)
    if computed != int(crc_text, 16):
        raise ProtocolError(Reason.CRC_MISMATCH, f"CRC {crc_text} ≠ computed {computed:04X}")
    return parse_segment(text, lenient=lenient, edition=edition, _ctx=ctx, _cp_at=cp_at)


def parse_packet(
    data: bytes | str,
    *,
    lenient: bool = False,
    encoding: str = "utf-8",
    max_segment: int = 1024,
    sm4_key: bytes | None = None,
    edition: Edition | None = None,
) -> Packet:
    """Parse one whole packet ``##dddd…CRC[\\r\\n]``. Raises :class:`ProtocolError`.

    The trailing CRLF may be missing; anything after it is ``trailing_data``.
    """
    if isinstance(data, str):
        try:
            data = data.encode(encoding)
        except (UnicodeEncodeError, LookupError):
            raise ProtocolError(
                Reason.BAD_ENCODING, f"packet cannot be encoded as {encoding}"
            ) from None
    if data.endswith(b"\r\n"):
        data = data[:-2]
    if not data:
        raise ProtocolError(Reason.EMPTY, "no data")
    if data[:2] != b"##":
        raise ProtocolError(Reason.NO_HEADER, "packet does not start with '##'")
    if b"\r\n" in data:
        raise ProtocolError(Reason.TRAILING_DATA, "data after the packet's CRLF")
    head = data[2:6]
    if len(head) != 4 or not head.isdigit():
        raise ProtocolError(Reason.BAD_LENGTH, f"length field {head!r} is not 4 digits")
    if len(data) < 10:
        raise ProtocolError(Reason.LENGTH_MISMATCH, "packet too short for segment and CRC")
    seg = data[6:-4]
    if len(seg) > max_segment:
        raise ProtocolError(
            Reason.SEGMENT_TOO_LONG, f"data segment {len(seg)} > maximum {max_segment}"
        )
    return _parse_wire(
        head, seg, data[-4:].decode("latin-1"), lenient, encoding, max_segment, sm4_key, edition
    )
