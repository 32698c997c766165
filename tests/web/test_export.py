"""``data export`` (CLI) and ``GET /api/v1/export`` (web) are one export: every stored field of
every record, exact text, in json, csv and xlsx, on SQLite and PostgreSQL.

Packets go in through the real path (``qingshan ingest-file``: decoder, ingestor, bulk
writers), minute records are rolled up into derived hours, and all six exports must give back
exactly what the packets carried and what the database holds.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import select
from typer.testing import CliRunner

from qingshan.cli.main import app as cli_app
from qingshan.protocol.hj212 import build_packet
from qingshan.roles import CLI
from qingshan.services import observations as obs
from qingshan.services.accounts import create_token, create_user, principal_of
from qingshan.services.rollups import run_rollups
from qingshan.settings import get_settings
from qingshan.storage.db import make_engine, session_factory, session_scope
from qingshan.storage.models import Device, Enterprise, Observation, Site
from qingshan.web import create_app

MN = "620802310001FFFFFFFFFFFF"
PW = "a1b2c3"
KEYS = [k for k, _ in obs.EXPORT_COLUMNS]
T0 = datetime(2026, 3, 1, 8, 0)

# One hour record sent by the device itself, with every field HJ 212-2017 defines for it;
# values chosen to break any float on the way: 20 significant digits, trailing zeros, the
# largest value of HJ 212's N14.6 format (wider values are refused at ingestion, issue 18).
HOUR_FIELDS: dict[str, dict[str, str]] = {
    "a21026": {
        "Avg": "90071992547409.930001",
        "Min": "0.10",
        "Max": "99999999999999.999999",
        "ZsAvg": "35.00",
        "ZsMin": "-0.50",
        "ZsMax": "90071992547409.950000",
        "Flag": "M",
    },
    "a00000": {"Avg": "1200.000", "Min": "0", "Max": "1300.0", "Cou": "4320000.00", "Flag": "N"},
    "a34013": {"Avg": "0.10", "ZsAvg": "0.100", "Flag": "D"},
}
# Minute records at 15-minute spacing: the hour roll-up derives a valid 08:00 hour from them.
MINUTE_VALUES = ["1.10", "2.20", "3.30", "4.40"]


def cli(*args: str, stdin: str | None = None) -> tuple[int, bytes, str]:
    r = CliRunner().invoke(cli_app, list(args), input=stdin)
    return r.exit_code, r.stdout_bytes, r.stderr


def _packet(cn: str, when: datetime, fields: dict[str, dict[str, str]], n: int) -> bytes:
    cp = ";".join(
        [f"DataTime={when:%Y%m%d%H%M%S}"]
        + [",".join(f"{code}-{k}={v}" for k, v in f.items()) for code, f in fields.items()]
    )
    qn = f"{when:%Y%m%d%H%M%S}{n:03d}"
    return build_packet(st="31", cn=cn, pw=PW, mn=MN, cp=cp, qn=qn)


@pytest.fixture
def loaded(db_url: str, tmp_path: Path) -> str:
    """A flue-gas outlet, its device registered by the CLI, packets ingested, hours rolled up."""
    assert cli("init", "--db", db_url)[0] == 0
    engine = make_engine(db_url)
    with session_scope(engine) as s:
        e = Enterprise(name="丙热电有限公司", credit_code="91620802000000003C")
        s.add(e)
        s.flush()
        s.add(
            Site(
                code="DA001",
                name="丙热电 1#烟囱",
                kind="enterprise_outlet",
                enterprise_id=e.id,
                outlet_medium="gas",
            )
        )
    add = ["device", "add", "--mn", MN, "--pw", PW, "--st", "31", "--site", "DA001"]
    code, _, err = cli(*add, "--minute-interval", "15", "--db", db_url)
    assert code == 0, err
    raw = b"".join(
        _packet(
            "2051",
            T0 + timedelta(minutes=15 * i),
            {"a21026": {"Avg": v, "Min": v, "Max": v, "ZsAvg": v, "Flag": "N"}},
            i,
        )
        for i, v in enumerate(MINUTE_VALUES)
    ) + _packet("2061", T0 + timedelta(hours=2), HOUR_FIELDS, 9)
    f = tmp_path / "packets.log"
    f.write_bytes(raw)
    code, _, err = cli("ingest-file", str(f), "--db", db_url)
    assert code == 0 and "5 stored" in err, err
    assert run_rollups(engine) > 0
    engine.dispose()
    return db_url


def _stored(url: str) -> list[dict[str, str | None]]:
    """What the database holds for the export's range, as export texts, independently read."""
    engine = make_engine(url)
    with session_scope(engine) as s:
        rows = s.execute(
            select(Observation, Device.mn)
            .join(Device, Device.id == Observation.device_id)
            .where(Observation.resolution == 2)
            .order_by(Observation.data_time, Observation.code)
        ).all()
        names = obs.factor_names(s, "enterprise_outlet")
        out = [
            {
                "time": o.data_time.isoformat() + "+08:00",
                "mn": mn,
                "code": o.code,
                "name": names[o.code][0],
                "unit": names[o.code][1],
                "value": o.value,
                "min": o.vmin,
                "max": o.vmax,
                "cou": o.cou,
                "zs": o.zs,
                "zs_min": o.zs_min,
                "zs_max": o.zs_max,
                "flag": o.flag,
                "derived": "1" if o.derived else "0",
                "samples": None if o.samples is None else str(o.samples),
            }
            for o, mn in rows
        ]
    engine.dispose()
    return out


def _from_json(body: bytes) -> list[dict[str, str | None]]:
    rows: list[dict[str, Any]] = json.loads(body)
    for r in rows:
        assert list(r) == KEYS and isinstance(r["derived"], bool)
        r["derived"] = "1" if r["derived"] else "0"
        r["samples"] = None if r["samples"] is None else str(r["samples"])
    return rows


def _from_csv(body: bytes) -> list[dict[str, str | None]]:
    table = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    assert table[0] == obs.EXPORT_HEADER
    return [{k: (v or None) for k, v in zip(KEYS, row, strict=True)} for row in table[1:]]


def _from_xlsx(body: bytes) -> list[dict[str, str | None]]:
    ws = load_workbook(io.BytesIO(body)).active
    assert ws is not None
    table = list(ws.iter_rows())
    assert [c.value for c in table[0]] == obs.EXPORT_HEADER
    out = []
    for row in table[1:]:
        for c in row:  # text cells only: a number cell would have been a float on the way
            assert c.value is None or (c.data_type == "s" and isinstance(c.value, str)), c
        out.append({k: c.value for k, c in zip(KEYS, row, strict=True)})
    return out


def _cli_export(url: str, fmt: str, tmp_path: Path, *selection: str) -> bytes:
    out = tmp_path / f"export.{fmt}"
    args = ["data", "export", *selection, "--resolution", "hour"]
    args += ["--from", "2026-03-01T08:00", "--to", "2026-03-01T10:00+08:00", "--format", fmt]
    code, _, err = cli(*args, "--output", str(out), "--db", url)
    assert code == 0, err
    if fmt != "xlsx":  # the same bytes on stdout as in the file
        assert cli(*args, "--db", url)[1] == out.read_bytes()
    return out.read_bytes()


def _web_client(url: str) -> tuple[TestClient, Any]:
    engine = make_engine(url)
    with session_scope(engine) as s:
        u = create_user(s, CLI, username="exporter", password="long-enough-pw", role="staff")
        token, _ = create_token(s, principal_of(u, "cli"), "export test")
    settings = get_settings(db_url=url, web_cookie_secure=False)
    client = TestClient(create_app(settings, session_factory(engine)))
    client.headers["Authorization"] = f"Bearer {token}"
    return client, engine


PARSE = {"json": _from_json, "csv": _from_csv, "xlsx": _from_xlsx}


def test_every_stored_field_round_trips_through_cli_and_web(loaded: str, tmp_path: Path) -> None:
    stored = _stored(loaded)
    # The device's own hour: exactly the packet's text, field by field.
    sent = {r["code"]: r for r in stored if r["time"] == "2026-03-01T10:00:00+08:00"}
    assert set(sent) == set(HOUR_FIELDS)
    suffix = {"value": "Avg", "min": "Min", "max": "Max", "cou": "Cou", "zs": "ZsAvg"}
    suffix |= {"zs_min": "ZsMin", "zs_max": "ZsMax", "flag": "Flag"}
    for code, fields in HOUR_FIELDS.items():
        assert {k: sent[code][k] for k in suffix} == {k: fields.get(s) for k, s in suffix.items()}
        assert sent[code]["derived"] == "0" and sent[code]["samples"] is None
    # The derived 08:00 hour: marked, with its sample count and exact decimal mean.
    derived = next(r for r in stored if r["time"] == "2026-03-01T08:00:00+08:00")
    assert derived["derived"] == "1" and derived["samples"] == "4"
    assert (derived["value"], derived["min"], derived["max"], derived["zs"]) == (
        "2.75",
        "1.10",
        "4.40",
        "2.75",
    )
    assert len(stored) == 4

    client, engine = _web_client(loaded)
    with client:
        site_id = client.get("/api/v1/sites").json()["items"][0]["id"]
        for fmt, parse in PARSE.items():
            by_mn = _cli_export(loaded, fmt, tmp_path, "--mn", MN)
            by_site = _cli_export(loaded, fmt, tmp_path, "--site", "DA001")
            assert parse(by_mn) == parse(by_site) == stored, fmt
            for sel in ({"mn": MN}, {"site_id": site_id}):
                r = client.get(
                    "/api/v1/export",
                    params={
                        **sel,
                        "resolution": "hour",
                        "start": "2026-03-01T08:00:00",
                        "end": "2026-03-01T10:00:00+08:00",
                        "format": fmt,
                    },
                )
                assert r.status_code == 200, r.text
                assert r.headers["content-type"].startswith(obs.FORMATS[fmt][0])
                assert parse(r.content) == stored, (fmt, sel)
        # The record pages of the API carry the same fields.
        page = client.get(
            "/api/v1/observations",
            params={"mn": MN, "start": "2026-03-01T10:00", "end": "2026-03-01T10:00"},
        ).json()["items"]
        so2 = next(x for x in page if x["code"] == "a21026")
        assert (so2["value"], so2["min"], so2["max"]) == (
            "90071992547409.930001",
            "0.10",
            so2["max"],
        )
        assert (so2["zs"], so2["zs_min"], so2["zs_max"], so2["flag"]) == (
            "35.00",
            "-0.50",
            "90071992547409.950000",
            "M",
        )
    engine.dispose()


def test_web_csv_is_for_excel_and_cli_csv_for_pipes(loaded: str, tmp_path: Path) -> None:
    client, engine = _web_client(loaded)
    with client:
        r = client.get(
            "/api/v1/export",
            params={"mn": MN, "start": "2026-03-01T08:00", "end": "2026-03-01T10:00"},
        )
    engine.dispose()
    assert r.content.startswith("\ufeff时间".encode()) and b"\r\n" in r.content
    assert (
        'filename="' + MN + "_hour_202603010800-202603011000.csv"
        in (r.headers["content-disposition"])
    )
    body = _cli_export(loaded, "csv", tmp_path, "--mn", MN)
    assert body.startswith("时间".encode()) and b"\r" not in body
    assert body.decode("utf-8") == r.content.decode("utf-8-sig").replace("\r\n", "\n")


def test_json_export_is_streamed_in_chunks(loaded: str) -> None:
    engine = make_engine(loaded)
    rng = obs.time_range("hour", T0, T0 + timedelta(hours=2))
    ex = obs.open_export(engine, CLI, rng, mn=MN)
    chunks = list(obs.json_chunks(ex.records()))
    engine.dispose()
    assert json.loads(b"".join(chunks)) == [obs.record_json(r) for r in ex.records()]
    # Small batches show the writer never holds more than one batch of rows.
    fake = [next(iter(ex.records()))] * 4500
    parts = list(obs.json_chunks(iter(fake)))
    assert len(parts) == 3 and len(json.loads(b"".join(parts))) == 4500
    assert list(obs.json_chunks(iter([]))) == [b"[]\n"]


def test_export_selection_errors(loaded: str) -> None:
    base = ["data", "export", "--resolution", "hour", "--from", "2026-03-01", "--to", "2026-03-02"]
    code, out, err = cli(*base, "--db", loaded)
    assert code == 2 and "请给出一个设备MN或点位编码" in err and out == b""
    code, out, err = cli(*base, "--mn", MN, "--site", "DA001", "--db", loaded)
    assert code == 2 and "请给出一个设备MN或点位编码" in err
    code, out, err = cli(*base, "--site", "NOPE", "--db", loaded)
    assert code == 2 and "没有编码为 “NOPE” 的点位" in err and out == b""
    code, out, err = cli(*base, "--mn", MN, "--codes", ",".join(["a"] * 41), "--db", loaded)
    assert code == 2 and "最多 40 个" in err


def test_export_by_site_code_or_mn_without_option(loaded: str, tmp_path: Path) -> None:
    """``data export X``: X a device's MN or a site's code; a site's export holds all its
    devices' records, ``--device`` keeps one of them."""
    stored = _stored(loaded)
    by_mn = _from_json(_cli_export(loaded, "json", tmp_path, MN))
    by_site = _from_json(_cli_export(loaded, "json", tmp_path, "DA001"))
    assert by_mn == by_site == stored
    # a second analyser at the same outlet, with a record of its own
    mn2 = "620802310002FFFFFFFFFFFF"
    add = ["device", "add", "--mn", mn2, "--pw", PW, "--st", "31", "--site", "DA001"]
    assert cli(*add, "--db", loaded)[0] == 0
    engine = make_engine(loaded)
    with session_scope(engine) as s:
        dev2 = s.scalar(select(Device.id).where(Device.mn == mn2))
        s.add(
            Observation(
                device_id=dev2,
                resolution=2,
                data_time=T0,
                code="a34013",
                value="12.5",
                flag="N",
                derived=False,
            )
        )
    engine.dispose()
    both = _from_json(_cli_export(loaded, "json", tmp_path, "DA001"))
    assert {r["mn"] for r in both} == {MN, mn2} and len(both) == len(stored) + 1
    only = _from_json(_cli_export(loaded, "json", tmp_path, "DA001", "--device", mn2))
    assert [(r["mn"], r["code"], r["value"]) for r in only] == [(mn2, "a34013", "12.5")]
    assert _from_json(_cli_export(loaded, "json", tmp_path, "--site", "DA001", "--device", MN)) == (
        stored
    )
    base = ["data", "export", "--resolution", "hour", "--from", "2026-03-01", "--to", "2026-03-02"]
    code, out, err = cli(*base, "DA001", "--device", "NOPE", "--db", loaded)
    assert code == 2 and f"该点位的设备：{MN}、{mn2}" in err and out == b""
    code, _, err = cli(*base, MN, "--device", mn2, "--db", loaded)
    assert code == 2 and "--device 只能与点位一起使用" in err
    code, _, err = cli(*base, "NOPE", "--db", loaded)
    assert code == 2 and "没有 MN 或编码为 “NOPE” 的设备或点位" in err
