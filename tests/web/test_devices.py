"""Device registration is one service: ``qingshan device add/retire`` and ``POST/PATCH
/api/v1/devices`` accept and refuse the same input and leave the same rows behind (device,
group, SM4 key, history, audit), a retired MN being re-activated through either."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from typer.testing import CliRunner

from qingshan.cli.main import app as cli_app
from qingshan.roles import CLI
from qingshan.services.accounts import create_token, create_user, principal_of
from qingshan.services.registry import Directory
from qingshan.settings import get_settings
from qingshan.storage.db import session_factory, session_scope
from qingshan.storage.models import Device, DeviceGroup, DeviceHistory, Site
from qingshan.storage.models_web import AuditEntry
from qingshan.web import create_app

KEY = "0123456789abcdef0123456789ABCDEF"


@pytest.fixture
def web(engine: Engine, db_url: str) -> Iterator[TestClient]:
    with session_scope(engine) as s:
        s.add_all(
            [
                Site(code="S1", name="一号站", kind="air_station"),
                Site(code="S2", name="二号站", kind="air_station"),
            ]
        )
        admin = create_user(s, CLI, username="admin1", password="long-enough-pw", role="admin")
        token, _ = create_token(s, principal_of(admin, "cli"), "devices", scope="write")
    settings = get_settings(db_url=db_url, web_cookie_secure=False)
    with TestClient(create_app(settings, session_factory(engine))) as c:
        c.headers["Authorization"] = f"Bearer {token}"
        yield c


Outcome = tuple[str, str]  # "ok" | "conflict" | "refused" | "reactivated", and a message


def _via_cli(db_url: str) -> dict[str, Callable[..., Outcome]]:
    def run(*args: str) -> tuple[int, str]:
        r = CliRunner().invoke(cli_app, [*args, "--db", db_url])
        return r.exit_code, r.stderr

    def add(body: dict[str, Any]) -> Outcome:
        args = ["device", "add"]
        for k, v in body.items():
            args += [f"--{k.replace('_', '-').replace('site-code', 'site')}", str(v)]
        code, err = run(*args)
        if code == 0:
            return ("reactivated" if "reactivated" in err else "ok"), err
        return ("conflict" if "already registered" in err else "refused"), err

    def retire(mn: str) -> Outcome:
        code, err = run("device", "retire", mn)
        return ("ok" if code == 0 else "refused"), err

    return {"add": add, "retire": retire}


def _via_web(c: TestClient) -> dict[str, Callable[..., Outcome]]:
    def outcome(r: Any) -> Outcome:
        kind = {201: "ok", 200: "reactivated", 409: "conflict", 422: "refused"}
        if r.status_code == 200 and r.request.method == "PATCH":
            return "ok", r.text
        return kind[r.status_code], r.text

    def add(body: dict[str, Any]) -> Outcome:
        return outcome(c.post("/api/v1/devices", json=body))

    def retire(mn: str) -> Outcome:
        return outcome(c.patch(f"/api/v1/devices/{mn}", json={"active": False}))

    return {"add": add, "retire": retire}


def _scenario(do: dict[str, Callable[..., Outcome]], mn: str) -> list[str]:
    """The same steps through one channel; the outcome of each."""
    first = {
        "mn": mn,
        "pw": "pw-1",
        "st": "31",
        "site_code": "S1",
        "edition": "2025",
        "encoding": "utf-8",
        "group": "省平台",
        "sm4_key": KEY,
        "minute_interval": 5,
        "report_interval": 240,
    }
    steps: list[Outcome] = [
        do["add"]({**first, "pw": "a;b"}),  # PW with an HJ 212 separator
        do["add"]({**first, "sm4_key": "XYZ"}),
        do["add"]({**first, "site_code": "NOPE"}),
        do["add"]({**first, "st": "3"}),
        do["add"]({**first, "report_interval": 30}),  # under an hour: minute data
        do["add"](first),
        do["add"](first),  # the MN is in use
        do["retire"](mn),
        # re-registration of the retired MN: re-activated with the new settings
        do["add"]({"mn": mn, "pw": "pw-2", "st": "32", "site_code": "S2", "group": "市平台"}),
    ]
    return [kind for kind, _ in steps]


def _state(engine: Engine, mn: str) -> dict[str, Any]:
    """Everything the steps left behind for ``mn``, minus who/when/ids."""
    with session_scope(engine) as s:
        d = s.scalar(select(Device).where(Device.mn == mn))
        assert d is not None
        sites = {x.id: x.code for x in s.scalars(select(Site))}
        groups = {g.id: g.name for g in s.scalars(select(DeviceGroup))}
        history = [
            (h.change, sites.get(h.site_id or 0))
            for h in s.scalars(
                select(DeviceHistory)
                .where(DeviceHistory.device_id == d.id)
                .order_by(DeviceHistory.id)
            )
        ]

        def plain(text: str | None) -> Any:
            if text is None:
                return None
            out = json.loads(text)
            out.pop("mn", None)
            for k in ("site_id", "group_id"):  # ids → codes and names
                if out.get(k) is not None:
                    out[k] = (sites if k == "site_id" else groups)[out[k]]
            return out

        audit = [
            (a.action, plain(a.before), plain(a.after))
            for a in s.scalars(
                select(AuditEntry)
                .where(AuditEntry.entity == "device", AuditEntry.entity_id == mn)
                .order_by(AuditEntry.id)
            )
        ]
        return {
            "row": (
                d.pw,
                d.st,
                d.edition,
                d.encoding,
                d.sm4_key,
                sites.get(d.site_id or 0),
                groups.get(d.group_id or 0),
                d.active,
                d.minute_interval,
                d.report_interval,
            ),
            "history": history,
            "audit": audit,
        }


def test_cli_and_web_register_devices_identically(
    engine: Engine, db_url: str, web: TestClient
) -> None:
    by_cli = _scenario(_via_cli(db_url), "620802310001AAAAAAAAAAAA")
    by_web = _scenario(_via_web(web), "620802310001BBBBBBBBBBBB")
    assert (
        by_cli
        == by_web
        == [
            "refused",
            "refused",
            "refused",
            "refused",
            "refused",
            "ok",
            "conflict",
            "ok",
            "reactivated",
        ]
    )
    a = _state(engine, "620802310001AAAAAAAAAAAA")
    b = _state(engine, "620802310001BBBBBBBBBBBB")
    assert a == b
    # Re-activated with the second registration's settings, SM4 key and interval cleared.
    assert a["row"] == ("pw-2", "32", "2017", "gbk", None, "S2", "市平台", True, None, None)
    assert a["history"] == [("added", "S1"), ("retired", "S1"), ("reactivated", "S2")]
    assert [x[0] for x in a["audit"]] == ["create", "update", "update"]
    created = a["audit"][0][2]
    assert created["sm4_key"] == "set" and created["group_id"] == "省平台"
    assert created["report_interval"] == 240
    assert "pw-1" not in json.dumps(a["audit"]) and KEY not in json.dumps(a["audit"])


def test_group_and_sm4_key_reach_the_gateway_directory(engine: Engine, web: TestClient) -> None:
    r = web.post(
        "/api/v1/devices",
        json={"mn": "AB01", "pw": "pw-1", "st": "22", "group": "省平台", "sm4_key": KEY},
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["group"] == "省平台" and body["sm4_key_set"] is True and "sm4_key" not in body
    info = Directory(engine).get("AB01")
    assert info is not None and info.group == "省平台" and info.sm4_key == bytes.fromhex(KEY)
    r = web.patch("/api/v1/devices/AB01", json={"sm4_key": "", "group": ""})
    assert r.status_code == 200 and r.json()["sm4_key_set"] is False
    assert r.json()["group"] is None
    info = Directory(engine).get("AB01")
    assert info is not None and info.sm4_key is None and info.group is None


def test_report_interval_is_recorded_edited_and_cleared(engine: Engine, web: TestClient) -> None:
    r = web.post("/api/v1/devices", json={"mn": "AB03", "pw": "pw-1", "st": "21"})
    assert r.status_code == 201 and r.json()["report_interval"] is None
    assert r.json()["interval_minutes"] == 60  # nothing recorded, no data: hourly
    r = web.patch("/api/v1/devices/AB03", json={"report_interval": 240})
    assert r.status_code == 200 and r.json()["report_interval"] == 240
    assert r.json()["interval_minutes"] == 240  # the registry's interval is used
    assert web.patch("/api/v1/devices/AB03", json={"report_interval": 2000}).status_code == 422
    r = web.patch("/api/v1/devices/AB03", json={"report_interval": 0})
    assert r.status_code == 200 and r.json()["report_interval"] is None
    assert r.json()["interval_minutes"] == 60


def test_cli_retire_refuses_what_is_not_active(db_url: str) -> None:
    def run(*args: str) -> tuple[int, str]:
        r = CliRunner().invoke(cli_app, [*args, "--db", db_url])
        return r.exit_code, r.stderr

    assert run("device", "add", "--mn", "AB02", "--pw", "pw-1", "--st", "22")[0] == 0
    assert run("device", "retire", "AB02", "--note", "replaced")[0] == 0
    code, err = run("device", "retire", "AB02")
    assert code == 1 and "already retired" in err
    code, err = run("device", "retire", "NOPE")
    assert code == 1 and "没有MN为 NOPE 的设备" in err
