"""API tokens: scopes, expiry, no minting by tokens, revoked with a password change; the
migration that gives existing tokens a scope and an expiry."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from alembic.script import ScriptDirectory
from fastapi.testclient import TestClient
from sqlalchemy import text, update

from qingshan.clock import utcnow
from qingshan.storage.db import alembic_config, make_engine, migrate
from qingshan.storage.models_web import ApiToken
from support.web_seed import PASSWORD
from web.conftest import login


def _bearer(app: Any, token: str) -> TestClient:
    return TestClient(app, headers={"Authorization": f"Bearer {token}"})


def test_read_token_reads_and_cannot_write(app: Any) -> None:
    admin = login(app, "admin")
    made = admin.post("/api/v1/auth/tokens", json={"name": "看板"}).json()
    assert made["scope"] == "read"
    m = _bearer(app, made["token"])
    assert m.get("/api/v1/devices").status_code == 200
    r = m.post("/api/v1/devices", json={"mn": "RO0000000001", "pw": "123456", "st": "22"})
    assert r.status_code == 403 and "只读" in r.json()["detail"]
    w = admin.post("/api/v1/auth/tokens", json={"name": "对接", "scope": "write"}).json()
    r = _bearer(app, w["token"]).post(
        "/api/v1/devices", json={"mn": "RW0000000001", "pw": "123456", "st": "22"}
    )
    assert r.status_code == 201, r.text


def test_a_token_cannot_mint_tokens(app: Any) -> None:
    c = login(app, "staff")
    w = c.post("/api/v1/auth/tokens", json={"name": "w", "scope": "write"}).json()
    r = _bearer(app, w["token"]).post("/api/v1/auth/tokens", json={"name": "child"})
    assert r.status_code == 403 and "令牌" in r.json()["detail"]
    r = _bearer(app, w["token"]).post(
        "/api/v1/auth/password", json={"current": PASSWORD, "new": "Tz8-river-lamp"}
    )
    assert r.status_code == 403


def test_tokens_expire(app: Any, web_db: tuple[str, Any]) -> None:
    c = login(app, "grid")
    made = c.post("/api/v1/auth/tokens", json={"name": "短期", "days": 1}).json()
    expires = datetime.fromisoformat(made["expires_at"])
    assert timedelta(hours=23) < expires - utcnow() <= timedelta(days=1)
    default = c.post("/api/v1/auth/tokens", json={"name": "默认"}).json()
    assert timedelta(days=89) < datetime.fromisoformat(default["expires_at"]) - utcnow()
    r = c.post("/api/v1/auth/tokens", json={"name": "太长", "days": 5000})
    assert r.status_code == 422 and "365" in r.json()["detail"]
    assert _bearer(app, made["token"]).get("/api/v1/sites").status_code == 200
    engine = make_engine(web_db[0])
    with engine.begin() as conn:
        conn.execute(
            update(ApiToken)
            .where(ApiToken.id == made["id"])
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
    engine.dispose()
    app.state.qingshan.auth_cache.clear()  # as after 10 s
    r = _bearer(app, made["token"]).get("/api/v1/sites")
    assert r.status_code == 401 and "expired" in r.json()["detail"]


def test_password_reset_revokes_every_token_and_session(app: Any) -> None:
    unit = login(app, "unit2")
    tokens = [
        unit.post("/api/v1/auth/tokens", json={"name": f"t{i}", "scope": s}).json()
        for i, s in enumerate(("read", "write"))
    ]
    other_session = login(app, "unit2")
    admin = login(app, "admin")
    uid = next(u["id"] for u in admin.get("/api/v1/users").json() if u["username"] == "unit2")
    assert (
        admin.patch(f"/api/v1/users/{uid}", json={"password": "Tz8-river-lamp"}).status_code == 200
    )
    for t in tokens:
        assert _bearer(app, t["token"]).get("/api/v1/sites").status_code == 401
    assert unit.get("/api/v1/auth/me").json()["authenticated"] is False
    assert other_session.get("/api/v1/auth/me").json()["authenticated"] is False
    # Back to the seeded password through the self-service change, which does the same.
    c = TestClient(app)
    r = c.post("/api/v1/auth/login", json={"username": "unit2", "password": "Tz8-river-lamp"})
    assert r.status_code == 200
    c.headers["X-CSRF-Token"] = r.json()["csrf_token"]
    t = c.post("/api/v1/auth/tokens", json={"name": "again"}).json()
    wrong = c.post("/api/v1/auth/password", json={"current": "nope-nope-nope", "new": PASSWORD})
    assert wrong.status_code == 403
    weak = c.post("/api/v1/auth/password", json={"current": "Tz8-river-lamp", "new": "aaaaaaaaaa"})
    assert weak.status_code == 422 and "重复" in weak.json()["detail"]
    ok = c.post("/api/v1/auth/password", json={"current": "Tz8-river-lamp", "new": PASSWORD})
    assert ok.status_code == 204
    assert _bearer(app, t["token"]).get("/api/v1/sites").status_code == 401
    assert c.get("/api/v1/auth/me").json()["authenticated"] is False
    app.state.qingshan.limiter._fails.clear()
    login(app, "unit2")


def test_migration_gives_old_tokens_write_scope_and_an_expiry(db_url: str) -> None:
    engine = make_engine(db_url)
    # The revision just before 0510 (whatever the chain puts there).
    before = ScriptDirectory.from_config(alembic_config()).get_revision("0510_web_hardening")
    assert isinstance(before.down_revision, str)
    migrate(engine, before.down_revision)
    now = utcnow()
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO web_user (username, password_hash, role, active, created_at) "
                "VALUES ('old', 'x', 'staff', true, :now)"
            ),
            {"now": now},
        )
        uid = conn.execute(text("SELECT id FROM web_user WHERE username = 'old'")).scalar_one()
        conn.execute(
            text(
                "INSERT INTO api_token (user_id, name, token_hash, prefix, created_at) "
                "VALUES (:u, 'legacy', :h, 'qst_abcdef', :now)"
            ),
            {"u": uid, "h": "0" * 64, "now": now},
        )
    migrate(engine)
    with engine.connect() as conn:
        scope, expires = conn.execute(
            text("SELECT scope, expires_at FROM api_token WHERE name = 'legacy'")
        ).one()
    assert scope == "write"
    expires = expires if isinstance(expires, datetime) else datetime.fromisoformat(expires)
    assert timedelta(days=89) < expires - now <= timedelta(days=91)
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM api_token"))
        conn.execute(text("DELETE FROM web_user"))
    engine.dispose()
