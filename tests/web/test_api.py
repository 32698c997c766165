"""API tests: every endpoint, with the roles that may and may not use it."""

from __future__ import annotations

import base64
import csv
import io
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook

from qingshan.services.figures import air_quality
from qingshan.standards.air.aqi import hourly_aqi
from qingshan.standards.air.tables import aqi_table_for
from qingshan.storage.db import make_engine, session_scope
from support.web_seed import MNS, PASSWORD
from web.conftest import login


def _range(hours: int = 48) -> dict[str, str]:
    now = datetime.now(UTC)
    return {"start": (now - timedelta(hours=hours)).isoformat(), "end": now.isoformat()}


def test_openapi_lists_every_api_route(app: Any) -> None:
    spec = TestClient(app).get("/api/v1/openapi.json").json()
    assert spec["openapi"].startswith("3.")
    for path in (
        "/api/v1/sites",
        "/api/v1/observations",
        "/api/v1/export",
        "/api/v1/cockpit",
        "/api/v1/map/sites",
        "/api/v1/devices",
        "/api/v1/auth/login",
    ):
        assert path in spec["paths"]


def test_login_sets_httponly_session_and_wrong_password_is_refused(app: Any) -> None:
    c = TestClient(app)
    r = c.post("/api/v1/auth/login", json={"username": "staff", "password": PASSWORD})
    assert r.status_code == 200
    cookie = r.headers.get_list("set-cookie")
    session = next(x for x in cookie if x.startswith("qs_session="))
    assert "HttpOnly" in session and "SameSite=lax" in session
    assert r.json()["role"] == "staff"
    assert (
        TestClient(app)
        .post("/api/v1/auth/login", json={"username": "staff", "password": "nope-nope-nope"})
        .status_code
        == 401
    )
    assert (
        TestClient(app)
        .post("/api/v1/auth/login", json={"username": "nobody", "password": "nope-nope-nope"})
        .status_code
        == 401
    )


def test_login_is_rate_limited(app: Any) -> None:
    c = TestClient(app)
    codes = [
        c.post(
            "/api/v1/auth/login", json={"username": "grid", "password": "wrong-wrong"}
        ).status_code
        for _ in range(4)
    ]
    assert codes == [401, 401, 401, 429]
    r = c.post("/api/v1/auth/login", json={"username": "grid", "password": PASSWORD})
    assert r.status_code == 429 and int(r.headers["retry-after"]) > 0
    app.state.qingshan.limiter._fails.clear()


def test_secure_cookie_flag_by_default(web_db: Any) -> None:
    from qingshan.settings import get_settings
    from qingshan.storage.db import make_engine, session_factory
    from qingshan.web import create_app

    engine = make_engine(web_db[0])
    c = TestClient(create_app(get_settings(db_url=web_db[0]), session_factory(engine)))
    r = c.post("/api/v1/auth/login", json={"username": "leader", "password": PASSWORD})
    assert all("Secure" in x for x in r.headers.get_list("set-cookie"))
    engine.dispose()


def test_csrf_required_for_cookie_writes(app: Any) -> None:
    c = login(app, "admin")
    token = c.headers.pop("X-CSRF-Token")
    r = c.post("/api/v1/auth/tokens", json={"name": "x"})
    assert r.status_code == 403 and "CSRF" in r.json()["detail"]
    c.headers["X-CSRF-Token"] = "wrong"
    assert c.post("/api/v1/auth/tokens", json={"name": "x"}).status_code == 403
    c.headers["X-CSRF-Token"] = token
    assert c.post("/api/v1/auth/tokens", json={"name": "x"}).status_code == 201


def test_api_token_works_without_csrf_and_can_be_revoked(app: Any) -> None:
    c = login(app, "staff")
    made = c.post("/api/v1/auth/tokens", json={"name": "省平台对接"}).json()
    assert made["token"].startswith("qst_")
    m = TestClient(app, headers={"Authorization": f"Bearer {made['token']}"})
    assert m.get("/api/v1/auth/me").json()["username"] == "staff"
    assert m.get("/api/v1/sites").status_code == 200
    listed = c.get("/api/v1/auth/tokens").json()
    assert all("token" not in t for t in listed)
    assert c.delete(f"/api/v1/auth/tokens/{made['id']}").status_code == 204
    assert m.get("/api/v1/sites").status_code == 401
    bad = TestClient(app, headers={"Authorization": "Basic abc"})
    assert bad.get("/api/v1/sites").status_code == 401


def test_logout_ends_session(app: Any) -> None:
    c = login(app, "grid")
    assert c.get("/api/v1/auth/me").json()["authenticated"] is True
    assert c.post("/api/v1/auth/logout").status_code == 204
    assert c.get("/api/v1/auth/me").json()["authenticated"] is False


def test_public_sees_only_disclosure(app: Any) -> None:
    c = TestClient(app)
    assert c.get("/api/v1/auth/me").json()["role"] == "public"
    for path in (
        "/api/v1/sites",
        "/api/v1/devices",
        "/api/v1/cockpit",
        "/api/v1/map/sites",
        "/api/v1/rejects",
        "/api/v1/users",
        "/api/v1/audit",
    ):
        assert c.get(path).status_code == 401, path
    assert c.get("/api/v1/observations", params={"site_id": 1, **_range()}).status_code == 401
    air = c.get("/api/v1/public/air").json()
    assert [s["site_code"] for s in air["stations"]] == ["A01"]  # micro-stations: not official
    water = c.get("/api/v1/public/water").json()
    assert water["sections"][0]["class"] == "Ⅱ"
    assert c.get("/api/v1/map/boundaries").json()["features"]


def test_sites_list_filter_and_detail(app: Any, ids: dict[str, int]) -> None:
    c = login(app, "staff")
    all_sites = c.get("/api/v1/sites").json()
    assert all_sites["total"] == 5
    air = c.get("/api/v1/sites", params={"kind": "air_station"}).json()
    assert {s["code"] for s in air["items"]} == {"A01", "M01"}
    assert air["items"][0]["kind_label"] == "环境空气质量监测站"
    assert c.get("/api/v1/sites", params={"region": "620802", "q": "泾河"}).json()["total"] == 1
    assert c.get("/api/v1/sites", params={"region": "110000"}).json()["total"] == 0
    d = c.get(f"/api/v1/sites/{ids['site_air']}").json()
    res = {x["resolution"]: x for x in d["latest"]}
    assert set(res) == {"minute", "hour"}
    pm25 = next(v for v in res["hour"]["values"] if v["code"] == "a34004")
    assert pm25["value"] == "60" and pm25["unit"] == "μg/m³" and pm25["name"]
    assert c.get("/api/v1/sites/99999").status_code == 404


def test_enterprise_sees_only_its_own_outlets(app: Any, ids: dict[str, int]) -> None:
    c = login(app, "ent1")
    sites = c.get("/api/v1/sites").json()
    assert [s["code"] for s in sites["items"]] == ["E1-DA001"]
    assert c.get(f"/api/v1/sites/{ids['site_out2']}").status_code == 404
    assert c.get(f"/api/v1/sites/{ids['site_air']}").status_code == 404
    assert c.get(f"/api/v1/sites/{ids['site_out1']}").status_code == 200
    devs = c.get("/api/v1/devices").json()
    assert len(devs) == 1 and devs[0]["site_code"] == "E1-DA001"
    assert c.get(f"/api/v1/devices/{MNS['out2']}").status_code == 404
    r = c.get("/api/v1/observations", params={"mn": MNS["out2"], **_range()})
    assert r.status_code == 404
    r = c.get("/api/v1/export", params={"site_id": ids["site_out2"], **_range()})
    assert r.status_code == 404
    rej = c.get("/api/v1/rejects").json()
    assert len(rej) == 1 and rej[0]["mn"] != MNS["out2"]
    feats = c.get("/api/v1/map/sites").json()["features"]
    assert [f["properties"]["code"] for f in feats] == ["E1-DA001"]
    assert c.get("/api/v1/cockpit").status_code == 403


def test_reject_log_masks_device_passwords(app: Any) -> None:
    rej = login(app, "staff").get("/api/v1/rejects").json()
    assert len(rej) == 2
    assert all("123456" not in r["preview"] and "999999" not in r["preview"] for r in rej)
    assert any("PW=******" in r["preview"] for r in rej)


def test_series_with_flags_and_bounds(app: Any, ids: dict[str, int]) -> None:
    c = login(app, "leader")
    r = c.get(
        f"/api/v1/sites/{ids['site_air']}/series",
        params={"resolution": "hour", "codes": "a34002,a34004", **_range(47)},
    )
    assert r.status_code == 200, r.text
    body = r.json()
    ser = {x["code"]: x for x in body["series"]}
    assert set(ser) == {"a34002", "a34004"}
    assert len(ser["a34002"]["times"]) == len(ser["a34002"]["values"]) >= 47
    assert "M" in ser["a34002"]["flags"] and body["flag_labels"]["M"] == "维护"
    too_long = c.get(
        f"/api/v1/sites/{ids['site_air']}/series",
        params={"resolution": "minute", **_range(24 * 30)},
    )
    assert too_long.status_code == 422 and "分钟数据每次最多查询 7 天" in too_long.json()["detail"]
    backwards = {"start": "2026-02-01T00:00:00", "end": "2026-01-01T00:00:00"}
    assert c.get(f"/api/v1/sites/{ids['site_air']}/series", params=backwards).status_code == 422


def test_completeness(app: Any, ids: dict[str, int]) -> None:
    c = login(app, "grid")
    now = datetime.now(UTC) + timedelta(hours=8)
    end = now.replace(minute=0, second=0, microsecond=0, tzinfo=None)
    start = end - timedelta(hours=95)
    r = c.get(
        f"/api/v1/sites/{ids['site_air']}/completeness",
        params={"start": start.isoformat(), "end": end.isoformat()},
    ).json()
    # 96 hours in the range, the running one not yet due: 95 expected
    assert r["expected"] == 95
    pm10 = next(f for f in r["factors"] if f["code"] == "a34002")
    assert pm10["received"] == 48 and pm10["valid"] == 47 and pm10["ratio"] == 0.5053
    assert pm10["interval_minutes"] == 60
    # the automatic water station samples every 4 hours: in the last 24 hours 5 samples are
    # due (the latest one's 4 hours have not closed) and 5 of them arrived, 100 %
    w = c.get(
        f"/api/v1/sites/{ids['site_water']}/completeness",
        params={"start": (end - timedelta(hours=23)).isoformat(), "end": end.isoformat()},
    ).json()
    nh3n = next(f for f in w["factors"] if f["code"] == "w21003")
    assert (nh3n["expected"], nh3n["received"], nh3n["ratio"]) == (5, 5, 1.0)
    assert nh3n["interval_minutes"] == 240


def test_observations_paginate_by_cursor(app: Any, ids: dict[str, int]) -> None:
    c = login(app, "unit")
    params: dict[str, Any] = {
        "site_id": ids["site_air"],
        "codes": "a34004",
        "limit": 20,
        **_range(100),
    }
    seen: list[str] = []
    for _ in range(10):
        page = c.get("/api/v1/observations", params=params).json()
        seen += [x["time"] for x in page["items"]]
        if page["next_cursor"] is None:
            break
        params["cursor"] = page["next_cursor"]
    assert len(seen) == 48 and seen == sorted(seen) and len(set(seen)) == 48
    assert c.get("/api/v1/observations", params={**params, "cursor": "garbage!"}).status_code == 422
    huge = base64.urlsafe_b64encode(b"2026-01-01T00:00:00|a34004|99999999999999999999").decode()
    assert c.get("/api/v1/observations", params={**params, "cursor": huge}).status_code == 422
    far = {**params, "start": "0001-01-01T00:00:00+14:00"}
    assert c.get("/api/v1/observations", params=far).status_code == 422
    assert c.get("/api/v1/observations", params=_range()).status_code == 422  # no site nor mn


def test_export_csv_and_xlsx(app: Any, ids: dict[str, int]) -> None:
    c = login(app, "staff")
    p = {"site_id": ids["site_air"], "codes": "a34004", **_range(100)}
    r = c.get("/api/v1/export", params=p)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert "attachment" in r.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert rows[0][:3] == ["时间", "设备MN", "因子编码"] and len(rows) == 49
    assert rows[1][2] == "a34004" and rows[1][5] == "60"
    x = c.get("/api/v1/export", params={**p, "format": "xlsx"})
    assert x.status_code == 200
    ws = load_workbook(io.BytesIO(x.content)).active
    values = list(ws.values)
    # Values are text cells: exactly what the device sent, never a float.
    assert values[0][0] == "时间" and len(values) == 49 and values[1][5] == "60"
    assert values[1][4] == "μg/m³"  # an air station's units, not the emission ones


def test_cockpit_summary(app: Any) -> None:
    body = login(app, "leader").get("/api/v1/cockpit").json()
    st = {s["site_code"]: s for s in body["air"]["stations"]}
    # The seeded hour (HJ 212 codes a21026 … a34004) through the standards engine directly:
    today = datetime.now(UTC).date()
    want = hourly_aqi(
        aqi_table_for("auto", today), so2=8, no2=30, co=0.6, o3=80, pm10=160, pm2_5=60
    )
    assert want.aqi is not None and want.aqi > 100 and want.rgb is not None
    assert st["A01"]["aqi"] == want.aqi and st["A01"]["primary_pollutants"] == ["PM10"]
    assert st["A01"]["category"] == "轻度污染" and st["A01"][
        "colour"
    ] == "#{:02X}{:02X}{:02X}".format(*want.rgb)
    assert body["air"]["target_ratio"] == pytest.approx(96.7)
    ratio = body["air"]["good_day_ratio"]
    assert ratio is None or 0 <= ratio <= 100  # percent, as HJ 663 gives it
    assert body["region_code"] == "620802"
    sec = body["water"]["sections"][0]
    assert sec["class"] == "Ⅱ" and sec["target_class"] == "Ⅲ" and sec["meets_target"] is True
    assert body["outlets"] == {"total": 2, "online": 1, "offline": 1, "exceeding": 1}
    assert body["devices_total"] == 5 and body["devices_online"] == 4
    assert body["rejects_24h"] == 2


def test_cockpit_api_on_the_seeded_district(app: Any, web_db: tuple[str, dict[str, int]]) -> None:
    c = login(app, "leader")
    d = c.get("/api/v1/cockpit").json()
    c.close()
    assert d["district_now"][0]["region_code"] == "620802"
    assert d["district_now"][0]["aqi"] is not None
    official = {x["site_code"]: x["official"] for x in d["air"]["stations"]}
    assert official == {"A01": True, "M01": False}
    y = d["year"]
    today = date.fromisoformat(d["yesterday"]["day"]) + timedelta(days=1)
    engine = make_engine(web_db[0])
    with session_scope(engine) as s:
        q = air_quality(
            s, region_code="620802", start=date(today.year, 1, 1), end=today - timedelta(days=1)
        )
    engine.dispose()
    # counted from the stored daily figures: the same days as the HJ 663 evaluation
    assert (y["valid_days"], y["good_days"]) == (q.valid_days, q.good_days)
    assert y["good_day_ratio"]["target"] == "96.7"
    assert d["air"]["valid_days"] == y["valid_days"]


def test_public_air_official_stations_with_six_concentrations(app: Any) -> None:
    with TestClient(app) as anon:
        d = anon.get("/api/v1/public/air").json()
    assert [x["site_code"] for x in d["stations"]] == ["A01"]  # no micro-station
    st = d["stations"][0]
    # seeded hour: SO2 8, NO2 30, CO 0.6, O3 80, PM10 160, PM2.5 60 (μg/m³, CO mg/m³)
    assert st["concentrations"] == {
        "PM2_5": "60",
        "PM10": "160",
        "SO2": "8",
        "NO2": "30",
        "O3": "80",
        "CO": "0.6",
    }
    assert st["primary_pollutants"] == ["PM10"] and st["aqi"] is not None


def test_map_features_have_status_colours_and_gcj02(app: Any) -> None:
    c = login(app, "grid")
    feats = {f["properties"]["code"]: f for f in c.get("/api/v1/map/sites").json()["features"]}
    assert feats["E1-DA001"]["properties"]["status"] == "exceeding"
    assert feats["E2-DW001"]["properties"]["status"] == "offline"
    assert feats["A01"]["properties"]["colour"].startswith("#")
    assert feats["WS01"]["properties"]["status_label"].startswith("Ⅱ类")
    wgs = feats["A01"]["geometry"]["coordinates"]
    gcj = {
        f["properties"]["code"]: f
        for f in c.get("/api/v1/map/sites", params={"datum": "gcj02"}).json()["features"]
    }
    g = gcj["A01"]["geometry"]["coordinates"]
    assert 0.001 < abs(g[0] - wgs[0]) < 0.01  # a few hundred metres east
    only = c.get("/api/v1/map/sites", params={"kinds": "air_station"}).json()["features"]
    assert {f["properties"]["kind"] for f in only} == {"air_station"}
    assert c.get("/api/v1/map/sites", params={"kinds": "volcano"}).status_code == 422


def test_devices_status_and_detail(app: Any) -> None:
    c = login(app, "grid")
    devs = {d["mn"]: d for d in c.get("/api/v1/devices").json()}
    assert devs[MNS["out2"]]["status"] == "offline" and devs[MNS["air"]]["status"] == "online"
    assert devs[MNS["air"]]["status_label"] == "在线"
    off = c.get("/api/v1/devices", params={"status": "offline"}).json()
    assert [d["mn"] for d in off] == [MNS["out2"]]
    d = c.get(f"/api/v1/devices/{MNS['air']}").json()
    assert d["device"]["site_code"] == "A01"
    assert "pw" not in d["device"]


def test_device_registration_admin_only_and_audited(app: Any) -> None:
    body = {"mn": "620802990001EEEEEEEEEEEE", "pw": "654321", "st": "22", "site_code": "A01"}
    for who in ("staff", "leader", "grid", "unit", "ent1"):
        assert login(app, who).post("/api/v1/devices", json=body).status_code == 403, who
    admin = login(app, "admin")
    r = admin.post("/api/v1/devices", json=body)
    assert r.status_code == 201, r.text
    assert admin.post("/api/v1/devices", json=body).status_code == 409
    assert admin.post("/api/v1/devices", json={**body, "mn": "X1", "pw": "a;b"}).status_code == 422
    for who in ("leader", "staff"):
        assert (
            login(app, who)
            .patch(f"/api/v1/devices/{body['mn']}", json={"active": False})
            .status_code
            == 403
        )
    r = admin.patch(f"/api/v1/devices/{body['mn']}", json={"active": False, "pw": "111111"})
    assert r.status_code == 200 and r.json()["active"] is False
    assert admin.patch("/api/v1/devices/NOPE", json={"active": False}).status_code == 404
    assert (
        admin.patch(f"/api/v1/devices/{body['mn']}", json={"site_code": "ZZZ"}).status_code == 422
    )
    log = admin.get("/api/v1/audit", params={"entity": "device"}).json()
    upd = next(e for e in log if e["action"] == "update" and e["entity_id"] == body["mn"])
    assert upd["username"] == "admin" and '"active": true' in upd["before"]
    assert '"active": false' in upd["after"]
    assert "111111" not in upd["after"] and "654321" not in str(log)


def test_users_admin_only_and_audited(app: Any) -> None:
    new = {"username": "newstaff", "password": "long-enough-pw", "role": "staff"}
    for who in ("staff", "leader", "unit"):
        c = login(app, who)
        assert c.get("/api/v1/users").status_code == 403
        assert c.post("/api/v1/users", json=new).status_code == 403
    admin = login(app, "admin")
    r = admin.post("/api/v1/users", json=new)
    assert r.status_code == 201 and "password" not in r.text
    assert admin.post("/api/v1/users", json=new).status_code == 422  # exists
    bad = {**new, "username": "unit-x", "role": "unit"}
    assert "所属单位" in admin.post("/api/v1/users", json=bad).json()["detail"]
    uid = r.json()["id"]
    assert admin.patch(f"/api/v1/users/{uid}", json={"active": False}).json()["active"] is False
    users = admin.get("/api/v1/users").json()
    assert "newstaff" in {u["username"] for u in users}
    log = admin.get("/api/v1/audit", params={"entity": "user"}).json()
    assert {e["action"] for e in log} >= {"create", "update"}
    assert "long-enough-pw" not in str(log)
    assert (
        TestClient(app)
        .post("/api/v1/auth/login", json={"username": "newstaff", "password": "long-enough-pw"})
        .status_code
        == 401
    )  # inactive


def test_unit_user_reads_only_its_own_units_audit(app: Any) -> None:
    u1 = login(app, "unit")
    u1.post("/api/v1/auth/tokens", json={"name": "水务局对接"})
    u2 = login(app, "unit2")
    u2.post("/api/v1/auth/tokens", json={"name": "自然资源局对接"})
    mine = u1.get("/api/v1/audit").json()
    assert mine and {e["unit"] for e in mine} == {"水务局"}
    theirs = u2.get("/api/v1/audit").json()
    assert theirs and {e["unit"] for e in theirs} == {"自然资源局"}
    for who in ("staff", "leader", "grid", "ent1"):
        assert login(app, who).get("/api/v1/audit").status_code == 403


def test_leader_cannot_change_anything(app: Any, ids: dict[str, int]) -> None:
    c = login(app, "leader")
    assert (
        c.post(
            "/api/v1/users", json={"username": "x1", "password": "0123456789", "role": "staff"}
        ).status_code
        == 403
    )
    assert c.patch(f"/api/v1/users/{ids['user_staff']}", json={"active": False}).status_code == 403
    assert c.post("/api/v1/devices", json={"mn": "A1", "pw": "1", "st": "22"}).status_code == 403
    assert c.patch(f"/api/v1/devices/{MNS['air']}", json={"active": False}).status_code == 403


def test_pages_are_served_without_cdn(app: Any) -> None:
    c = TestClient(app)
    for path in ("/", "/login", "/map", "/site", "/query", "/devices", "/public"):
        r = c.get(path)
        assert r.status_code == 200 and "<html" in r.text, path
        assert "http://" not in r.text and "https://" not in r.text, path
        assert "default-src 'self'" in r.headers["content-security-policy"]
    assert c.get("/static/vendor/echarts/echarts.min.js").status_code == 200


def test_healthz(app: Any) -> None:
    assert TestClient(app).get("/healthz").json()["status"] == "ok"
