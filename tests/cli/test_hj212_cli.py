"""``qingshan hj212 check|build|crc`` through the real console entry point."""

# ruff: noqa: E501  (verbatim HJ 212 packets are longer than a line)

from __future__ import annotations

import json
import subprocess
import sys

from typer.testing import CliRunner

from qingshan.cli.main import app
from qingshan.protocol.hj212 import crc16

runner = CliRunner()
OFFICIAL = "##0101QN=20160801085857223;ST=32;CN=1062;PW=100000;MN=010000A8900016F000169DC0;Flag=5;CP=&&RtdInterval=30&&1C80"
OLD = "##0139ST=32;CN=2011;PW=123456;MN=LD130133000015;CP=&&DataTime=20160824003817000;B01-Rtd=36.91;011-Rtd=231.0,011-Flag=N;060-Rtd=1.803,060-Flag=N&&4980"
KEYS = [
    "ok",
    "error",
    "edition",
    "qn",
    "st",
    "cn",
    "pw",
    "mn",
    "flag",
    "pnum",
    "pno",
    "cp",
    "tolerated",
]


def lines(output: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in output.splitlines() if line.strip()]


def test_check_contract() -> None:
    result = runner.invoke(app, ["hj212", "check"], input=OFFICIAL + "\r\n" + OLD + "\n")
    assert result.exit_code == 1
    first, second = lines(result.stdout)
    assert list(first) == KEYS and list(second) == KEYS
    assert first == {
        "ok": True,
        "error": None,
        "edition": "2017",
        "qn": "20160801085857223",
        "st": "32",
        "cn": "1062",
        "pw": "100000",
        "mn": "010000A8900016F000169DC0",
        "flag": 5,
        "pnum": None,
        "pno": None,
        "cp": {"RtdInterval": "30"},
        "tolerated": [],
    }
    assert second["ok"] is False and second["error"] == "bad_datatime"
    assert "line 2: bad_datatime" in result.stderr


def test_check_lenient() -> None:
    result = runner.invoke(app, ["hj212", "check", "--lenient"], input=OLD)
    assert result.exit_code == 0
    (obj,) = lines(result.stdout)
    assert obj["edition"] == "2005" and obj["tolerated"] == ["datatime_millis"]
    assert obj["cp"] == {
        "DataTime": "20160824003817",
        "w00000": {"Rtd": "36.91"},
        "w01018": {"Rtd": "231.0", "Flag": "N"},
        "w21003": {"Rtd": "1.803", "Flag": "N"},
    }


def test_check_gbk() -> None:
    seg = "QN=20240601085857223;ST=32;CN=3020;PW=123456;MN=010000A8900016F000169DC0;Flag=4;CP=&&DataTime=20240601085800;i11001-Info=//正常//&&"
    raw = seg.encode("gbk")
    packet = b"##%04d" % len(raw) + raw + b"%04X\r\n" % crc16(raw)
    ok = runner.invoke(app, ["hj212", "check", "--encoding", "gbk"], input=packet)
    assert ok.exit_code == 0
    assert lines(ok.stdout)[0]["cp"]["i11001"] == {"Info": "//正常//"}  # type: ignore[index]
    bad = runner.invoke(app, ["hj212", "check"], input=packet)
    assert bad.exit_code == 1 and lines(bad.stdout)[0]["error"] == "bad_encoding"
    assert (
        runner.invoke(app, ["hj212", "check", "--encoding", "latin1"], input=packet).exit_code == 2
    )


def test_build_round_trip() -> None:
    checked = runner.invoke(app, ["hj212", "check"], input=OFFICIAL)
    built = runner.invoke(app, ["hj212", "build"], input=checked.stdout)
    assert built.exit_code == 0
    assert built.stdout_bytes == (OFFICIAL + "\r\n").encode()


def test_build_keeps_number_text_and_defaults_flag() -> None:
    obj = {
        "qn": "20240601085857223",
        "st": "32",
        "cn": "1011",
        "pw": "123456",
        "mn": "010000A8900016F000169DC0",
        "edition": "2025",
        "cp": {},
    }
    out = runner.invoke(app, ["hj212", "build"], input=json.dumps(obj)).stdout_bytes
    seg = b"QN=20240601085857223;ST=32;CN=1011;PW=123456;MN=010000A8900016F000169DC0;Flag=8;CP=&&&&"
    assert out == b"##0087" + seg + b"%04X\r\n" % crc16(seg)
    raw = '{"st": "31", "cn": "2011", "pw": "1", "mn": "AB", "flag": 4, "cp": {"a21026": {"Rtd": 1.50}}}'
    out = runner.invoke(app, ["hj212", "build"], input=raw)
    assert "a21026-Rtd=1.50" in out.stdout


def test_build_errors() -> None:
    for bad in (
        "not json",
        "[1]",
        '{"st": "31"}',
        '{"st":"31","cn":"2011","pw":"1","mn":"A","flag":"x","cp":{}}',
    ):
        result = runner.invoke(app, ["hj212", "build"], input=bad)
        assert result.exit_code == 2 and result.stdout == ""
        assert "error:" in result.stderr


def test_build_splits_long_cp() -> None:
    cp = {f"e1{i:02d}01": {"Avg": "1.5", "Flag": "N"} for i in range(60)}
    obj = {"qn": "20240601085857223", "st": "52", "cn": "2051", "pw": "1", "mn": "AB", "cp": cp}
    out = runner.invoke(app, ["hj212", "build"], input=json.dumps(obj)).stdout_bytes
    packets = [p for p in out.split(b"\r\n") if p]
    assert len(packets) > 1
    checked = runner.invoke(app, ["hj212", "check", "--lenient"], input=out)
    assert [o["pno"] for o in lines(checked.stdout)] == list(range(1, len(packets) + 1))


def test_crc() -> None:
    seg = OFFICIAL[6:-4]
    assert runner.invoke(app, ["hj212", "crc"], input=seg + "\n").stdout == "1C80\n"
    assert runner.invoke(app, ["hj212", "crc"], input=seg + "\r\n").stdout == "1C80\n"
    assert runner.invoke(app, ["hj212", "crc"], input=seg).stdout == "1C80\n"


def test_console_script_subprocess() -> None:
    exe = [sys.executable, "-c", "from qingshan.cli.main import main; main()"]
    proc = subprocess.run(
        [*exe, "hj212", "check"], input=(OFFICIAL + "\n").encode(), capture_output=True, check=False
    )
    assert proc.returncode == 0
    assert json.loads(proc.stdout)["cn"] == "1062"
    helped = subprocess.run([*exe, "hj212", "--help"], capture_output=True, check=False)
    assert helped.returncode == 0 and b"check" in helped.stdout
