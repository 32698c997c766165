"""User administration over the API (SQLite and PostgreSQL): an administrator edits a user's
name, role, unit and enterprise within the binding rules, disables and enables it, resets its
password (a generated one shown once, or one given); users change their own password with
the policy checked; everything through services/accounts.py and audited, no password in the
log."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from qingshan.web.auth import LoginLimiter
from support.web_seed import PASSWORD
from web.conftest import login


@pytest.fixture(autouse=True)
def _generous_limiter(app: Any) -> None:
    # These tests try old passwords on purpose; the limiter has its own tests
    # (test_login_limits), and the shared app's is strict (3 failures, then 120 s).
    app.state.qingshan.limiter = LoginLimiter(1000, 60)


def _login(app: Any, username: str, password: str) -> int:
    r = TestClient(app).post(
        "/api/v1/auth/login", json={"username": username, "password": password}
    )
    return r.status_code


def test_roles_list_and_edit_binding(app: Any, ids: dict[str, int]) -> None:
    admin = login(app, "admin")
    roles = admin.get("/api/v1/users/roles").json()
    assert {"role": "grid", "label": "网格员"} in roles and len(roles) == 6
    assert login(app, "staff").get("/api/v1/users/roles").status_code == 403
    new = {"username": "zhao", "password": "tea-garden-path-1", "role": "grid"}
    uid = admin.post("/api/v1/users", json=new).json()["id"]
    # grid → unit member of 水务局 (role and unit together), then renamed
    r = admin.patch(f"/api/v1/users/{uid}", json={"role": "unit", "unit": "水务局"})
    assert r.status_code == 200, r.text
    assert (r.json()["role"], r.json()["unit"]) == ("unit", "水务局")
    r = admin.patch(f"/api/v1/users/{uid}", json={"display_name": "赵网格"})
    assert r.json()["display_name"] == "赵网格" and r.json()["unit"] == "水务局"  # kept
    # a unit user without a unit, a unit that does not exist, an enterprise on a grid user
    for body, words in (
        ({"unit": None}, "所属单位"),
        ({"unit": "不存在局"}, "未知的责任单位"),
        ({"role": "grid"}, "只有责任单位用户"),
        ({"role": "grid", "unit": None, "enterprise_id": ids["ent1"]}, "只有企业用户"),
        ({"role": "enterprise", "unit": None}, "所属企业"),
    ):
        r = admin.patch(f"/api/v1/users/{uid}", json=body)
        assert r.status_code == 422 and words in r.json()["detail"], (body, r.text)
    r = admin.patch(
        f"/api/v1/users/{uid}",
        json={"role": "enterprise", "unit": None, "enterprise_id": ids["ent2"]},
    )
    assert (r.json()["role"], r.json()["unit"], r.json()["enterprise_id"]) == (
        "enterprise",
        None,
        ids["ent2"],
    )
    log = admin.get("/api/v1/audit", params={"entity": "user"}).json()
    mine = [e for e in log if e["entity_id"] == str(uid)]
    assert [e["action"] for e in mine][::-1] == ["create", "update", "update", "update"]
    assert '"unit": "水务局"' in mine[0]["before"] and '"role": "enterprise"' in mine[0]["after"]


def test_admin_cannot_lock_itself_out(app: Any, ids: dict[str, int]) -> None:
    admin = login(app, "admin")
    me = ids["user_admin"]
    r = admin.patch(f"/api/v1/users/{me}", json={"active": False})
    assert r.status_code == 422 and "停用自己" in r.json()["detail"]
    r = admin.patch(f"/api/v1/users/{me}", json={"role": "staff"})
    assert r.status_code == 422 and "自己的角色" in r.json()["detail"]
    assert admin.get("/api/v1/users").status_code == 200  # still an administrator


def test_reset_password_generated_or_given(app: Any) -> None:
    admin = login(app, "admin")
    new = {"username": "qian", "password": "tea-garden-path-2", "role": "staff"}
    uid = admin.post("/api/v1/users", json=new).json()["id"]
    user = login_as(app, "qian", "tea-garden-path-2")
    token = user.post("/api/v1/auth/tokens", json={"name": "对接"}).json()["token"]
    assert (
        login(app, "staff").post(f"/api/v1/users/{uid}/reset-password", json={}).status_code == 403
    )
    r = admin.post(f"/api/v1/users/{uid}/reset-password", json={})
    assert r.status_code == 200, r.text
    one_time = r.json()["password"]
    assert len(one_time) == 16 and r.json()["user"]["username"] == "qian"
    # the old password, the old session and the API token all stop working
    assert _login(app, "qian", "tea-garden-path-2") == 401
    assert user.get("/api/v1/auth/me").json()["authenticated"] is False
    bearer = {"Authorization": f"Bearer {token}"}
    assert TestClient(app).get("/api/v1/sites", headers=bearer).status_code == 401
    assert _login(app, "qian", one_time) == 200
    # a given password: the policy holds, nothing is returned
    r = admin.post(f"/api/v1/users/{uid}/reset-password", json={"password": "1234567890"})
    assert r.status_code == 422 and "常见" in r.json()["detail"]
    r = admin.post(f"/api/v1/users/{uid}/reset-password", json={"password": "given-by-admin-7"})
    assert r.status_code == 200 and r.json()["password"] is None
    assert _login(app, "qian", "given-by-admin-7") == 200
    assert admin.post("/api/v1/users/999999/reset-password", json={}).status_code == 404
    log = admin.get("/api/v1/audit", params={"entity": "user"}).json()
    resets = [e for e in log if e["entity_id"] == str(uid) and e["action"] == "reset_password"]
    assert len(resets) == 2 and '"generated"' in resets[1]["after"]
    assert one_time not in str(log) and "given-by-admin-7" not in str(log)


def login_as(app: Any, username: str, password: str) -> TestClient:
    c = TestClient(app)
    r = c.post("/api/v1/auth/login", json={"username": username, "password": password})
    assert r.status_code == 200, r.text
    c.headers["X-CSRF-Token"] = r.json()["csrf_token"]
    return c


def test_own_password_change_checks_old_and_policy(app: Any) -> None:
    admin = login(app, "admin")
    admin.post(
        "/api/v1/users", json={"username": "sun", "password": "tea-garden-path-3", "role": "leader"}
    )
    c = login_as(app, "sun", "tea-garden-path-3")
    r = c.post(
        "/api/v1/auth/password", json={"current": "wrong-password-9", "new": "x-long-pass-1"}
    )
    assert r.status_code == 403 and r.json()["detail"] == "当前密码错误"
    r = c.post("/api/v1/auth/password", json={"current": "tea-garden-path-3", "new": "short"})
    assert r.status_code == 422 and "至少需要 10 个字符" in r.json()["detail"]
    r = c.post(
        "/api/v1/auth/password", json={"current": "tea-garden-path-3", "new": "sun-is-me-2026"}
    )
    assert r.status_code == 422 and "用户名" in r.json()["detail"]
    r = c.post(
        "/api/v1/auth/password", json={"current": "tea-garden-path-3", "new": "river-and-hill-8"}
    )
    assert r.status_code == 204
    assert _login(app, "sun", "tea-garden-path-3") == 401
    assert _login(app, "sun", "river-and-hill-8") == 200
    assert PASSWORD not in str(admin.get("/api/v1/audit", params={"entity": "user"}).json())
