"""Packet builders: whole packets ``##dddd`` + segment + CRC + CRLF, edition-aware Flag.

Flag (HJ 212-2017 §6.3.3; HJ 212-2025 表 3): bits 2–7 carry the edition (2017 → 1, 2025 → 2),
bit 1 marks a PNUM/PNO split packet, bit 0 asks for an answer. 2005 packets carry no Flag unless
one of bits 0/1 is needed (HJ/T 212-2005 made the field optional).

The length field counts the bytes of the data segment in ``encoding``. With ``sm4_key`` the CP
content is SM4-encrypted after the CRC was computed over the plaintext (HJ 212-2025 A.2); the
length field then counts the transmitted segment (see docs: the standard's own A.2 example prints
the plaintext length; our parser accepts both).

Builder arguments come from the platform, not from devices: bad arguments raise ``ValueError``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from qingshan.protocol.hj212._crc import crc16
from qingshan.protocol.hj212._model import (
    CP,
    EDITION_BITS,
    FLAG_REPLY,
    FLAG_SPLIT,
    Edition,
    Packet,
)
from qingshan.protocol.hj212.codes import cn_codes, exe_rtn_codes, qn_rtn_codes
from qingshan.protocol.hj212.crypto import encrypt_cp_text

_FORBIDDEN = (";", ",", "=", "&&", "\r", "\n")
#: Characters that send an answer's QN, PW or MN to the checks of :func:`build_packet`.
_ANSWER_FORBIDDEN = (";", ",", "=", "&", "\r", "\n")


def make_qn(when: datetime) -> str:
    """QN: request number YYYYMMDDhhmmsszzz (milliseconds) of ``when``."""
    return when.strftime("%Y%m%d%H%M%S") + f"{when.microsecond // 1000:03d}"


def format_time(when: datetime) -> str:
    """YYYYMMDDhhmmss as used by DataTime, SystemTime, BeginTime, …"""
    return when.strftime("%Y%m%d%H%M%S")


def _text(name: str, value: object) -> str:
    if value is None or isinstance(value, (list, dict, tuple, set)):
        raise ValueError(f"{name} has no usable value: {value!r}")
    text = format_time(value) if isinstance(value, datetime) else str(value)
    for bad in _FORBIDDEN:
        if bad in text:
            raise ValueError(f"{name}={text!r} contains the separator {bad!r}")
    return text


def format_cp(cp: str | CP | Mapping[str, object]) -> str:
    """The CP content (between ``CP=&&`` and ``&&``).

    ``cp`` may be ready text, a :class:`CP`, or a mapping where ``"DataTime"`` is a datetime or
    text, a mapping value is one code's fields (``{"a21026": {"Rtd": "1.2", "Flag": "N"}}``) and
    anything else is a parameter. DataTime comes first, then the items in the given order; each
    parameter and each code forms one ``;`` group.
    """
    if isinstance(cp, str):
        if "&&" in cp or "\r" in cp or "\n" in cp:
            raise ValueError("CP text must not contain '&&' or line breaks")
        return cp
    groups: list[str] = []
    if isinstance(cp, CP):
        if cp.data_time is not None:
            groups.append("DataTime=" + format_time(cp.data_time))
        groups.extend(f"{k}={_text(k, v)}" for k, v in cp.params.items())
        for code, pol in cp.pollutants.items():
            groups.append(",".join(f"{code}-{s}={_text(code, v)}" for s, v in pol.fields.items()))
        return ";".join(groups)
    if "DataTime" in cp:
        groups.append("DataTime=" + _text("DataTime", cp["DataTime"]))
    for key, value in cp.items():
        if key == "DataTime":
            continue
        _text("name", key)
        if isinstance(value, Mapping):
            if not value:
                raise ValueError(f"code {key!r} has no fields")
            groups.append(
                ",".join(f"{key}-{_text('suffix', s)}={_text(key, v)}" for s, v in value.items())
            )
        else:
            groups.append(f"{key}={_text(key, value)}")
    return ";".join(groups)


def _flag_for(edition: Edition, needs_reply: bool, split: bool) -> int | None:
    if edition is Edition.V2005 and not needs_reply and not split:
        return None
    return (
        (EDITION_BITS[edition] << 2)
        | (FLAG_REPLY if needs_reply else 0)
        | (FLAG_SPLIT if split else 0)
    )


def _header(
    *,
    st: str,
    cn: str,
    pw: str,
    mn: str,
    qn: str | None,
    flag: int | None,
    pnum: int | None,
    pno: int | None,
    rf: bool,
) -> str:
    parts = [] if qn is None else [f"QN={_text('QN', qn)}"]
    parts += [
        f"ST={_text('ST', st)}",
        f"CN={_text('CN', cn)}",
        f"PW={_text('PW', pw)}",
        f"MN={_text('MN', mn)}",
    ]
    if flag is not None:
        if not 0 <= flag <= 255:
            raise ValueError(f"Flag={flag} outside 0–255")
        parts.append(f"Flag={flag}")
    if (pnum is None) != (pno is None):
        raise ValueError("PNUM and PNO go together")
    if pnum is not None and pno is not None:
        if not 1 <= pno <= pnum <= 9999:
            raise ValueError(f"PNO={pno} must lie in 1..PNUM={pnum}")
        parts += [f"PNUM={pnum}", f"PNO={pno}"]
    if rf:
        parts.append("RF=1")
    return ";".join(parts) + ";"


def build_packet(
    *,
    st: str,
    cn: str,
    pw: str,
    mn: str,
    cp: str | CP | Mapping[str, object],
    qn: str | None = None,
    flag: int | None = None,
    edition: Edition = Edition.V2017,
    needs_reply: bool = False,
    pnum: int | None = None,
    pno: int | None = None,
    rf: bool = False,
    encoding: str = "utf-8",
    sm4_key: bytes | None = None,
    max_segment: int = 1024,
) -> bytes:
    """One whole packet. ``flag`` overrides the edition-derived Flag when given."""
    if flag is None:
        flag = _flag_for(edition, needs_reply, pnum is not None)
    head = _header(st=st, cn=cn, pw=pw, mn=mn, qn=qn, flag=flag, pnum=pnum, pno=pno, rf=rf)
    inner = format_cp(cp).encode(encoding)
    plain = head.encode(encoding) + b"CP=&&" + inner + b"&&"
    if len(plain) > max_segment:
        raise ValueError(
            f"data segment of {len(plain)} bytes exceeds {max_segment}; use build_packets()"
        )
    crc = crc16(plain)
    wire = plain
    if sm4_key is not None:
        wire = head.encode(encoding) + b"CP=&&" + encrypt_cp_text(inner, sm4_key) + b"&&"
    if len(wire) > 9999:
        raise ValueError("encrypted data segment exceeds the 4-digit length field")
    return b"##%04d" % len(wire) + wire + b"%04X\r\n" % crc


def build_packets(
    *,
    st: str,
    cn: str,
    pw: str,
    mn: str,
    cp: str | CP | Mapping[str, object],
    qn: str | None = None,
    edition: Edition = Edition.V2017,
    needs_reply: bool = False,
    rf: bool = False,
    encoding: str = "utf-8",
    sm4_key: bytes | None = None,
    max_segment: int = 1024,
) -> list[bytes]:
    """Like :func:`build_packet`, but splits a long CP into PNUM/PNO packets (§8.1.2).

    CP is cut between ``;`` groups (inside a group between ``,`` items if one group alone is too
    long); ``DataTime`` is repeated in every part so each part stands on its own.
    """
    text = format_cp(cp)
    common = dict(
        st=st,
        cn=cn,
        pw=pw,
        mn=mn,
        qn=qn,
        edition=edition,
        needs_reply=needs_reply,
        rf=rf,
        encoding=encoding,
        sm4_key=sm4_key,
        max_segment=max_segment,
    )
    probe = _header(st=st, cn=cn, pw=pw, mn=mn, qn=qn, flag=255, pnum=9999, pno=9999, rf=rf)
    if (
        len(
            (
                _header(st=st, cn=cn, pw=pw, mn=mn, qn=qn, flag=255, pnum=None, pno=None, rf=rf)
                + "CP=&&"
                + text
                + "&&"
            ).encode(encoding)
        )
        <= max_segment
    ):
        return [build_packet(cp=text, **common)]  # type: ignore[arg-type]
    groups = text.split(";")
    stamp = groups.pop(0) if groups and groups[0].startswith("DataTime=") else None
    budget = max_segment - len((probe + "CP=&&&&").encode(encoding))
    if stamp is not None:
        budget -= len(stamp.encode(encoding)) + 1
    if budget <= 0:
        raise ValueError("max_segment too small for the packet header")
    parts: list[list[str]] = [[]]
    size = 0

    def push(piece: str, sep_len: int) -> None:
        nonlocal size
        n = len(piece.encode(encoding))
        if n > budget:
            raise ValueError(f"CP item {piece[:40]!r} alone exceeds the segment budget")
        if parts[-1] and size + sep_len + n > budget:
            parts.append([])
            size = 0
        size += (sep_len if parts[-1] else 0) + n
        parts[-1].append(piece)

    for group in groups:
        if len(group.encode(encoding)) <= budget:
            push(group, 1)
        else:
            for item in group.split(","):
                push(item, 1)
    total = len(parts)
    out = []
    for number, pieces in enumerate(parts, start=1):
        body = ";".join(([stamp] if stamp else []) + pieces)
        out.append(build_packet(cp=body, pnum=total, pno=number, **common))  # type: ignore[arg-type]
    return out


def _answer(packet: Packet, cn: str, cp: str) -> bytes:
    """The answer ``cn`` to ``packet`` (ST 91, the packet's QN, PW and MN, its edition's Flag
    without the reply bit), as :func:`build_packet` builds it. Every acknowledged packet gets
    one, so the common case is built directly: the fields of a parsed packet are plain text
    (checked here all at once); anything unusual goes through :func:`build_packet`."""
    qn, pw, mn = packet.qn, packet.pw, packet.mn
    flag = _flag_for(packet.edition, False, False)
    fields = f"{qn or ''}{pw}{mn}"
    if fields.isascii() and not any(bad in fields for bad in _ANSWER_FORBIDDEN):
        head = "" if qn is None else f"QN={qn};"
        tail = "" if flag is None else f"Flag={flag};"
        plain = f"{head}ST=91;CN={cn};PW={pw};MN={mn};{tail}CP=&&{cp}&&".encode("ascii")
        return b"##%04d%s%04X\r\n" % (len(plain), plain, crc16(plain))
    return build_packet(
        st="91",
        cn=cn,
        pw=packet.pw,
        mn=packet.mn,
        qn=packet.qn,
        cp=cp,
        edition=packet.edition,
        needs_reply=False,
    )


def data_reply(packet: Packet) -> bytes:
    """CN 9014 数据应答 for a data upload that asked for an answer (QN echoed)."""
    return _answer(packet, "9014", "")


def request_reply(packet: Packet, qn_rtn: int) -> bytes:
    """CN 9011 请求应答 with ``QnRtn`` (1 准备执行请求, 2 请求被拒绝, 3 PW错误, …)."""
    if qn_rtn not in qn_rtn_codes():
        raise ValueError(f"QnRtn {qn_rtn} is not in the code table")
    return _answer(packet, "9011", f"QnRtn={qn_rtn}")


def execution_result(packet: Packet, exe_rtn: int) -> bytes:
    """CN 9012 执行结果 with ``ExeRtn`` (1 执行成功, 2 执行失败, …, 100 没有数据)."""
    if exe_rtn not in exe_rtn_codes():
        raise ValueError(f"ExeRtn {exe_rtn} is not in the code table")
    return _answer(packet, "9012", f"ExeRtn={exe_rtn}")


def notice_reply(packet: Packet) -> bytes:
    """CN 9013 通知应答 for a notice (e.g. 1013 time calibration request)."""
    return _answer(packet, "9013", "")


def build_command(
    cn: str,
    *,
    st: str,
    pw: str,
    mn: str,
    qn: str,
    params: Mapping[str, object] | None = None,
    edition: Edition = Edition.V2017,
    needs_reply: bool = True,
    sm4_key: bytes | None = None,
    encoding: str = "utf-8",
) -> bytes:
    """A platform command by CN, checking the CP parameters the code table requires.

    Covers 1000, 1011/1012, 1014, 1061–1064, 1072, 2011/2012, 2021/2022, 2031–2061 (BeginTime/
    EndTime), 3011–3021, 3024 … (see ``data/cn_codes.csv``). Example: set the real-time interval::

        build_command("1062", st="32", pw="100000", mn=mn, qn=qn, params={"RtdInterval": 30})
    """
    info = cn_codes().get(cn)
    if info is None:
        raise ValueError(f"CN {cn} is not in the command code table")
    if edition.value not in info.editions:
        raise ValueError(f"CN {cn} ({info.name}) is not defined in HJ 212-{edition.value}")
    given = dict(params or {})
    for name in filter(None, info.extra.split(";")):
        if not name.endswith("?") and name not in given:
            raise ValueError(f"CN {cn} ({info.name}) needs the parameter {name}")
    return build_packet(
        st=st,
        cn=cn,
        pw=pw,
        mn=mn,
        qn=qn,
        cp=given,
        edition=edition,
        needs_reply=needs_reply,
        sm4_key=sm4_key,
        encoding=encoding,
    )


def heartbeat(
    *,
    mn: str,
    pw: str,
    qn: str,
    st: str = "91",
    needs_reply: bool = False,
    edition: Edition = Edition.V2025,
) -> bytes:
    """CN 9015 心跳包 of HJ 212-2025 (field → platform, empty CP). Interval: not in any source."""
    if edition is not Edition.V2025:
        raise ValueError("CN 9015 heartbeat is defined by HJ 212-2025 only")
    return build_packet(
        st=st, cn="9015", pw=pw, mn=mn, qn=qn, cp="", edition=edition, needs_reply=needs_reply
    )


def key_request(
    *, st: str, pw: str, mn: str, qn: str, sk_create_time: datetime, sm4_key: bytes | None = None
) -> bytes:
    """CN 1014 现场机获取新密钥 (HJ 212-2025, field → platform, CP ``SKCreateTime``)."""
    return build_packet(
        st=st,
        cn="1014",
        pw=pw,
        mn=mn,
        qn=qn,
        edition=Edition.V2025,
        needs_reply=True,
        cp={"SKCreateTime": sk_create_time},
        sm4_key=sm4_key,
    )


def key_set(
    *,
    st: str,
    pw: str,
    mn: str,
    qn: str,
    sk_create_time: datetime,
    new_sk: str,
    sm4_key: bytes | None = None,
) -> bytes:
    """CN 1014 上位机设置新密钥 (HJ 212-2025, CP ``SKCreateTime`` + ``NewSK``), encrypted with the
    current key when ``sm4_key`` is given (1014 is in the must-encrypt list, §6.4.4)."""
    if len(new_sk.encode("ascii", "replace")) != 16:
        raise ValueError("NewSK must be a 16-character key")
    return build_packet(
        st=st,
        cn="1014",
        pw=pw,
        mn=mn,
        qn=qn,
        edition=Edition.V2025,
        needs_reply=True,
        cp={"SKCreateTime": sk_create_time, "NewSK": new_sk},
        sm4_key=sm4_key,
    )
