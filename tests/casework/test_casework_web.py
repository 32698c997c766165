"""The casework API: attachments (upload, metadata, download, thumbnail; refusals with their
status and Chinese message), the inbox and contacts, entity timelines — permissions on every
route. SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from PIL import Image

from conftest import migrated_sqlite_url
from qingshan.services import notifications
from qingshan.settings import get_settings
from qingshan.storage.db import make_engine, session_factory, session_scope
from qingshan.storage.models_web import WebUser
from web.conftest import _seeded, login

from . import files

MAX = 1024 * 1024


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def web_db(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, dict[str, int]]]:
    if request.param == "sqlite":
        url = migrated_sqlite_url(tmp_path_factory.mktemp("cw") / "cw.db")
        yield url, _seeded(url)
        return
    from conftest import create_pg_database, drop_pg_database

    server: str = request.getfixturevalue("pg_server")
    url = create_pg_database(server)
    try:
        yield url, _seeded(url)
    finally:
        drop_pg_database(server, url)


@pytest.fixture(scope="module")
def store_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("attachments")


@pytest.fixture(scope="module")
def app(web_db: tuple[str, dict[str, int]], store_dir: Path) -> Iterator[Any]:
    from qingshan.web import create_app

    engine = make_engine(web_db[0])
    settings = get_settings(
        db_url=web_db[0],
        web_cookie_secure=False,
        attachments_dir=str(store_dir),
        attachments_max_bytes=MAX,
    )
    yield create_app(settings, session_factory(engine))
    engine.dispose()


@pytest.fixture(scope="module")
def clients(app: Any) -> dict[str, TestClient]:
    return {u: login(app, u) for u in ("admin", "staff", "grid", "ent1", "leader", "unit")}


def _upload(
    c: TestClient, data: bytes, name: str, entity: str = "C1", evidence: str | None = None
) -> Any:
    params = {"file_name": name, "entity_type": "complaint", "entity_id": entity}
    if evidence:
        params["evidence"] = evidence
    return c.post("/api/v1/attachments", params=params, content=data)


def test_upload_metadata_download_thumbnail(clients: dict[str, TestClient]) -> None:
    staff = clients["staff"]
    photo = files.jpeg_with_exif()
    r = _upload(staff, photo, "现场照片.jpg", evidence="inspection_record")
    assert r.status_code == 201, r.text
    meta = r.json()
    assert (meta["kind"], meta["gps_lat"], meta["gps_lon"], meta["camera"]) == (
        "jpeg",
        39.81,
        98.2833333,
        "Huawei P60",
    )
    assert meta["taken_at"] == "2026-03-01T10:20:30" and not meta["deduplicated"]
    again = _upload(clients["grid"], photo, "again.jpg", entity="C2")
    assert again.status_code == 201 and again.json()["deduplicated"]
    assert again.json()["attachment_id"] == meta["attachment_id"]
    link = meta["id"]
    got = clients["leader"].get(f"/api/v1/attachments/{link}")
    assert got.status_code == 200 and got.json()["file_name"] == "现场照片.jpg"
    dl = clients["leader"].get(f"/api/v1/attachments/{link}/content")
    assert dl.status_code == 200 and dl.content == photo
    assert dl.headers["content-type"] == "image/jpeg"
    assert dl.headers["x-content-type-options"] == "nosniff"
    assert f"filename*=UTF-8''{quote('现场照片.jpg')}" in dl.headers["content-disposition"]
    th = staff.get(f"/api/v1/attachments/{link}/thumbnail")
    assert th.status_code == 200 and th.headers["content-type"] == "image/jpeg"
    import io

    assert max(Image.open(io.BytesIO(th.content)).size) == 320
    listed = staff.get(
        "/api/v1/attachments", params={"entity_type": "complaint", "entity_id": "C1"}
    )
    assert [a["id"] for a in listed.json()] == [link]
    pdf = _upload(staff, files.pdf(), "报告.pdf").json()
    assert staff.get(f"/api/v1/attachments/{pdf['id']}/thumbnail").status_code == 404


@pytest.mark.parametrize(
    ("data", "name", "status", "message"),
    [
        (files.exe(), "photo.jpg", 422, "Windows 可执行程序"),
        (b"", "empty.txt", 422, "文件为空"),
        (files.image("PNG"), "a.jpg", 422, "与内容（PNG 图像）不符"),
        (b"a" * (MAX + 1), "big.txt", 413, "超过上限 1.0 MB"),
    ],
)
def test_refused_uploads_answer_clearly_and_store_nothing(
    clients: dict[str, TestClient],
    store_dir: Path,
    data: bytes,
    name: str,
    status: int,
    message: str,
) -> None:
    before = sorted(store_dir.rglob("*"))
    r = _upload(clients["admin"], data, name, entity="BAD")
    assert r.status_code == status, r.text
    assert message in r.json()["detail"]
    assert sorted(store_dir.rglob("*")) == before
    listed = clients["admin"].get(
        "/api/v1/attachments", params={"entity_type": "complaint", "entity_id": "BAD"}
    )
    assert listed.json() == []


def test_attachment_permissions(app: Any, clients: dict[str, TestClient]) -> None:
    link = _upload(clients["staff"], files.pdf(), "内部.pdf", entity="P1").json()["id"]
    assert _upload(clients["leader"], files.pdf(), "a.pdf").status_code == 403
    assert _upload(clients["ent1"], files.pdf(), "a.pdf").status_code == 404
    public = TestClient(app)
    assert _upload(public, files.pdf(), "a.pdf").status_code == 401
    assert public.get(f"/api/v1/attachments/{link}/content").status_code == 401
    # an enterprise user gets none of the district's files, under any URL
    for path in ("", "/content", "/thumbnail"):
        assert clients["ent1"].get(f"/api/v1/attachments/{link}{path}").status_code == 404
    # a session without its CSRF header cannot upload
    bare = TestClient(app, cookies=clients["staff"].cookies)
    assert _upload(bare, files.pdf(), "a.pdf").status_code == 403


def _user_id(url: str, name: str) -> int:
    engine = make_engine(url)
    with session_scope(engine) as s:
        uid = s.query(WebUser.id).filter(WebUser.username == name).scalar()
    engine.dispose()
    return int(uid)


def test_inbox_and_contact(
    web_db: tuple[str, dict[str, int]], clients: dict[str, TestClient]
) -> None:
    url = web_db[0]
    admin_id, staff_id = _user_id(url, "admin"), _user_id(url, "staff")
    engine = make_engine(url)
    with session_scope(engine) as s:
        notifications.notify(
            s,
            [admin_id],
            kind="reminder",
            subject="【期限提醒】甲",
            body="正文",
            entity_type="complaint",
            entity_id="C1",
        )
        notifications.notify(s, [staff_id], kind="notice", subject="乙", body="")
    engine.dispose()
    admin, staff = clients["admin"], clients["staff"]
    box = admin.get("/api/v1/inbox").json()
    assert box["unread"] >= 1
    mine = [m for m in box["messages"] if m["subject"] == "【期限提醒】甲"]
    assert len(mine) == 1 and mine[0]["entity_id"] == "C1" and not mine[0]["read"]
    assert all(m["subject"] != "乙" for m in box["messages"])
    assert staff.post(f"/api/v1/inbox/{mine[0]['id']}/read").status_code == 404
    r = admin.post(f"/api/v1/inbox/{mine[0]['id']}/read")
    assert r.status_code == 200 and r.json()["read"]
    assert staff.post("/api/v1/inbox/read-all").json()["marked"] >= 1
    assert staff.get("/api/v1/inbox", params={"unread_only": True}).json() == {
        "unread": 0,
        "messages": [],
    }
    assert staff.get("/api/v1/inbox/contact").json()["email"] is None
    r = staff.put(
        "/api/v1/inbox/contact",
        json={"email": "wang@example.org", "mobile": "13912345678", "sms_enabled": True},
    )
    assert r.status_code == 200 and r.json()["mobile"] == "13912345678"
    assert staff.get("/api/v1/inbox/contact").json()["email"] == "wang@example.org"
    assert staff.put("/api/v1/inbox/contact", json={"mobile": "12345"}).status_code == 422


def test_timeline_api(app: Any, clients: dict[str, TestClient]) -> None:
    _upload(clients["staff"], files.xlsx(), "登记表.xlsx", entity="T1")
    r = clients["leader"].get("/api/v1/timeline/complaint/T1")
    assert r.status_code == 200
    events = r.json()
    assert [(e["action"], e["actor"], e["actor_role"]) for e in events] == [
        ("attachment.add", "staff", "staff")
    ]
    assert events[0]["after"]["file_name"] == "登记表.xlsx"
    assert clients["ent1"].get("/api/v1/timeline/complaint/T1").status_code == 403
    assert TestClient(app).get("/api/v1/timeline/complaint/T1").status_code == 401
    assert clients["admin"].get("/api/v1/timeline/Bad-Type/1").status_code == 422
