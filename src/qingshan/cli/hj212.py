"""``qingshan hj212``: check, build and checksum HJ 212 packets from the command line.

JSON contract (issue 2), one object per line::

    {"ok": true|false, "error": null|"<reason code>", "edition": "2005"|"2017"|"2025",
     "qn": …, "st": …, "cn": …, "pw": …, "mn": …, "flag": int, "pnum": …, "pno": …,
     "cp": {"DataTime": …, "<pollutant code>": {"Rtd": "…", "Flag": "N", …}, …},
     "tolerated": [..]}

``cp`` holds DataTime (YYYYMMDDhhmmss, or with 3 more millisecond digits when the device sent
them), one object per code (2005 codes already mapped to 2017 codes) and the plain parameters
as strings.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

import typer

from qingshan.protocol.hj212 import (
    CP,
    Edition,
    Packet,
    ProtocolError,
    build_packet,
    build_packets,
    crc16_hex,
    parse_packet,
)

app = typer.Typer(
    help="HJ 212 packets (2005/2017/2025): check, build, CRC.",
    no_args_is_help=True,
    add_completion=False,
)


class DeviceEncoding(StrEnum):
    gbk = "gbk"
    utf8 = "utf-8"


_EMPTY: dict[str, Any] = {
    "edition": None,
    "qn": None,
    "st": None,
    "cn": None,
    "pw": None,
    "mn": None,
    "flag": None,
    "pnum": None,
    "pno": None,
    "cp": None,
    "tolerated": [],
}


def _time_text(when: datetime) -> str:
    text = when.strftime("%Y%m%d%H%M%S")
    return text + f"{when.microsecond // 1000:03d}" if when.microsecond else text


def cp_to_json(cp: CP) -> dict[str, Any]:
    """CP as the JSON object of the contract."""
    out: dict[str, Any] = {}
    if cp.data_time is not None:
        out["DataTime"] = _time_text(cp.data_time)
    out.update(cp.params)
    for code, pol in cp.pollutants.items():
        out[code] = dict(pol.fields)
    return out


def packet_to_json(packet: Packet) -> dict[str, Any]:
    """A parsed packet as the JSON object of the contract (``ok`` true)."""
    return {
        "ok": True,
        "error": None,
        "edition": packet.edition.value,
        "qn": packet.qn,
        "st": packet.st,
        "cn": packet.cn,
        "pw": packet.pw,
        "mn": packet.mn,
        "flag": packet.flag,
        "pnum": packet.pnum,
        "pno": packet.pno,
        "cp": cp_to_json(packet.cp),
        "tolerated": list(packet.tolerated),
    }


@app.command()
def check(
    lenient: Annotated[
        bool, typer.Option("--lenient", help="Accept field quirks and list them.")
    ] = False,
    encoding: Annotated[
        DeviceEncoding,
        typer.Option("--encoding", help="Device character encoding (length counts bytes)."),
    ] = DeviceEncoding.utf8,
    max_segment: Annotated[
        int, typer.Option("--max-segment", help="Largest data segment accepted.")
    ] = 1024,
) -> None:
    """Read packets from stdin, one per line (CRLF optional); write one JSON object per line.

    Exit code 0 when every packet is valid, 1 when at least one was rejected.
    """
    rejected = 0
    data = sys.stdin.buffer.read()
    for number, line in enumerate(data.split(b"\n"), start=1):
        line = line.rstrip(b"\r")
        if not line.strip():
            continue
        try:
            packet = parse_packet(
                line, lenient=lenient, encoding=encoding.value, max_segment=max_segment
            )
        except ProtocolError as exc:
            rejected += 1
            typer.echo(f"line {number}: {exc.reason}: {exc.detail}", err=True)
            obj: dict[str, Any] = {"ok": False, "error": exc.reason.value, **_EMPTY}
        else:
            obj = packet_to_json(packet)
        sys.stdout.write(json.dumps(obj, ensure_ascii=False) + "\n")
    sys.stdout.flush()
    if rejected:
        raise typer.Exit(1)


def _objects(text: str) -> list[Any]:
    """One JSON value, or JSON lines. Numbers keep their exact text."""
    keep = {"parse_float": str, "parse_int": str}
    try:
        return [json.loads(text, **keep)]  # type: ignore[arg-type]
    except json.JSONDecodeError:
        return [json.loads(line, **keep) for line in text.splitlines() if line.strip()]  # type: ignore[arg-type]


def _opt_int(obj: Mapping[str, Any], key: str) -> int | None:
    value = obj.get(key)
    if value is None:
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ValueError(f'"{key}" must be an integer, got {value!r}') from None


def build_from_json(obj: Any, *, encoding: str = "utf-8", max_segment: int = 1024) -> list[bytes]:
    """Packets for one JSON object of the ``check`` contract (ok/error/tolerated are ignored)."""
    if not isinstance(obj, Mapping):
        raise ValueError("the input must be a JSON object")
    missing = [k for k in ("st", "cn", "pw", "mn") if not obj.get(k)]
    if missing:
        raise ValueError(f"missing field(s): {', '.join(missing)}")
    cp = obj.get("cp") or {}
    if not isinstance(cp, Mapping):
        raise ValueError('"cp" must be an object')
    edition = Edition(str(obj.get("edition") or "2017"))
    flag, pnum, pno = _opt_int(obj, "flag"), _opt_int(obj, "pnum"), _opt_int(obj, "pno")
    common: dict[str, Any] = {
        "st": str(obj["st"]),
        "cn": str(obj["cn"]),
        "pw": str(obj["pw"]),
        "mn": str(obj["mn"]),
        "qn": None if obj.get("qn") is None else str(obj["qn"]),
        "cp": cp,
        "edition": edition,
        "encoding": encoding,
        "max_segment": max_segment,
    }
    if flag is not None or pnum is not None:
        return [build_packet(flag=flag, pnum=pnum, pno=pno, **common)]
    return build_packets(**common)


@app.command()
def build(
    encoding: Annotated[
        DeviceEncoding, typer.Option("--encoding", help="Device character encoding.")
    ] = DeviceEncoding.utf8,
    max_segment: Annotated[
        int, typer.Option("--max-segment", help="Split CP above this size.")
    ] = 1024,
) -> None:
    """Read a JSON object as "check" writes it (without "ok") from stdin and print the packet.

    Without "flag" the Flag follows "edition" (default 2017); a long CP is split into PNUM/PNO
    packets, one per line. Packets end with CRLF.
    """
    text = sys.stdin.read()
    try:
        packets = [
            p
            for obj in _objects(text)
            for p in build_from_json(obj, encoding=encoding.value, max_segment=max_segment)
        ]
    except (ValueError, json.JSONDecodeError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    for packet in packets:
        sys.stdout.buffer.write(packet)
    sys.stdout.flush()


@app.command()
def crc() -> None:
    """Print the HJ 212 CRC16 (4 hex digits) of the data segment read from stdin.

    One trailing newline (LF or CRLF) is ignored; give the segment only, without ``##`` and length.
    """
    data = sys.stdin.buffer.read()
    if data.endswith(b"\r\n"):
        data = data[:-2]
    elif data.endswith(b"\n"):
        data = data[:-1]
    typer.echo(crc16_hex(data))
