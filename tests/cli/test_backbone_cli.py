from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from qingshan.cli.main import app
from qingshan.protocol.hj212 import build_packets, heartbeat
from qingshan.services.observations import EXPORT_HEADER
from support.hj212 import MN, PW, minute

runner = CliRunner()


def cli(*args: str) -> tuple[int, str, str]:
    r = runner.invoke(app, list(args))
    return r.exit_code, r.stdout, r.stderr


@pytest.fixture
def url(db_url: str) -> str:
    return db_url


def test_init_device_and_export_round_trip(url: str, tmp_path: Path) -> None:
    code, _, err = cli("init", "--db", url)
    assert code == 0 and "up to date" in err
    code, _, err = cli("device", "add", "--mn", MN, "--pw", PW, "--st", "22", "--db", url)
    assert code == 0, err
    code, _, err = cli("device", "add", "--mn", MN, "--pw", PW, "--st", "22", "--db", url)
    assert code == 1 and "already registered" in err
    code, out, _ = cli("device", "list", "--json", "--db", url)
    assert json.loads(out) == [
        {
            "mn": MN,
            "st": "22",
            "edition": "2017",
            "encoding": "gbk",
            "site": None,
            "group": None,
            "active": True,
        }
    ]
    cp: dict[str, object] = {"DataTime": "20260301090000"}
    cp.update({f"a{20000 + i}-Avg": f"{i}.5" for i in range(40)})
    split = build_packets(
        st="22", cn="2051", pw=PW, mn=MN, cp=cp, qn="20260301090000001", max_segment=300
    )
    log = b"".join(
        [
            b"2026-03-01 08:00:01 recv: " + minute(0),
            minute(1).replace(b"\r\n", b"\n"),
            minute(1),  # a duplicate
            b"some unrelated log line\n",
            minute(2, pw="bad000"),
            minute(3)[:-6] + b"0000\r\n",  # CRC damaged
            heartbeat(mn=MN, pw=PW, qn="20260301080000009"),
            *split,
        ]
    )
    f = tmp_path / "packets.log"
    f.write_bytes(log)
    code, _, err = cli("ingest-file", str(f), "--db", url)
    assert code == 1  # some packets were rejected
    # stored: minute 0, minute 1 and the reassembled split packet (its first parts are pending)
    assert "3 stored, 1 duplicates, 1 heartbeats/replies, 3 split parts, 2 rejected" in err, err
    assert "1 lines without a packet" in err
    assert "wrong_pw: 1" in err and "crc_mismatch: 1" in err
    code, out, err = cli(
        "data",
        "export",
        "--mn",
        MN,
        "--resolution",
        "minute",
        "--from",
        "2026-03-01T08:00",
        "--to",
        "2026-03-01T08:01:00+08:00",
        "--db",
        url,
    )
    assert code == 0, err
    # Every stored field (see tests/web/test_export.py for the full round trip).
    assert out.splitlines() == [
        ",".join(EXPORT_HEADER),
        f"2026-03-01T08:00:00+08:00,{MN},a21026,二氧化硫,毫克/立方米,10.00,10.00,10.00,,,,,N,0,",
        f"2026-03-01T08:00:00+08:00,{MN},a34004,细微颗粒物PM2.5,纳克/立方米,0.035,,,,,,,N,0,",
        f"2026-03-01T08:01:00+08:00,{MN},a21026,二氧化硫,毫克/立方米,11.01,11.01,11.01,,,,,N,0,",
        f"2026-03-01T08:01:00+08:00,{MN},a34004,细微颗粒物PM2.5,纳克/立方米,0.035,,,,,,,N,0,",
    ]
    code, out, _ = cli(
        "data",
        "export",
        "--mn",
        MN,
        "--resolution",
        "minute",
        "--from",
        "2026-03-01T01:00Z",
        "--to",
        "2026-03-01T01:00Z",
        "--format",
        "json",
        "--db",
        url,
    )
    rows = json.loads(out)  # 01:00 UTC is 09:00 China time: the split packet's 40 codes
    assert len(rows) == 40
    assert rows[0] == {
        "time": "2026-03-01T09:00:00+08:00",
        "mn": MN,
        "code": "a20000",
        "name": "a20000",  # not in HJ 212-2017 附录B: the code stands for the name
        "unit": None,
        "value": "0.5",
        "min": None,
        "max": None,
        "cou": None,
        "zs": None,
        "zs_min": None,
        "zs_max": None,
        "flag": None,
        "derived": False,
        "samples": None,
    }


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--resolution", "weekly"], "数据类型 “weekly” 无效"),
        (["--from", "yesterday"], "--from “yesterday” 不是 ISO 8601 时间"),
        (["--to", "2020-01-01"], "早于 --from"),
        (["--format", "xml"], "可选 csv、json、xlsx"),
        (["--mn", "NOPE"], "没有MN为 NOPE 的设备"),
    ],
)
def test_export_errors_are_clear(url: str, args: list[str], message: str) -> None:
    base = {
        "--mn": MN,
        "--resolution": "minute",
        "--from": "2026-03-01",
        "--to": "2026-03-02",
        "--db": url,
    }
    for k, v in zip(args[::2], args[1::2], strict=True):
        base[k] = v
    cli("device", "add", "--mn", MN, "--pw", PW, "--st", "22", "--db", url)
    code, out, err = cli("data", "export", *[x for kv in base.items() for x in kv])
    assert code == 2 and message in err and out == ""


def test_uninitialised_database_and_bad_url(tmp_path: Path) -> None:
    code, _, err = cli("device", "list", "--db", f"sqlite:///{tmp_path}/none.db")
    assert code == 2 and "run `qingshan init`" in err
    code, _, err = cli("init", "--db", "mysql://x@y/z")
    assert code == 2 and "unsupported database 'mysql'" in err
    code, _, err = cli(
        "ingest-file", str(tmp_path / "missing.txt"), "--db", f"sqlite:///{tmp_path}/none.db"
    )
    assert code == 2 and "no such file" in err


def test_settings_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite:///{tmp_path}/env.db"
    monkeypatch.setenv("QINGSHAN_DB_URL", url)
    assert cli("init")[0] == 0
    assert cli("device", "add", "--mn", MN, "--pw", PW, "--st", "32")[0] == 0
    monkeypatch.delenv("QINGSHAN_DB_URL")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "qingshan.toml").write_text(f'db_url = "{url}"\n')
    code, out, _ = cli("device", "list", "--json")
    assert code == 0 and json.loads(out)[0]["st"] == "32"
