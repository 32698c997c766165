"""Attachments: the content-sniffing policy, the SHA-256 store with thumbnails and EXIF
evidence, scoping, and that a refused or rolled-back upload leaves nothing behind (SQLite and
PostgreSQL)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image
from sqlalchemy import Engine, func, select

from qingshan.roles import PUBLIC
from qingshan.services import attachments, timeline
from qingshan.services.attachments import (
    AttachmentRefused,
    AttachmentStore,
    Limits,
    TooLarge,
    inspect,
)
from qingshan.services.errors import NotFound
from qingshan.storage.db import session_scope
from qingshan.storage.models_casework import Attachment, AttachmentLink

from . import files
from .conftest import make_users

LIMITS = Limits(max_bytes=5 * 1024 * 1024, max_pixels=4_000_000, max_unpacked=20 * 1024 * 1024)


# ---------------------------------------------------------------------------- the policy


@pytest.mark.parametrize(
    ("make", "name", "kind", "media"),
    [
        (files.jpeg_with_exif, "现场照片.JPG", "jpeg", "image/jpeg"),
        (lambda: files.image("PNG", mode="RGBA"), "a.png", "png", "image/png"),
        (lambda: files.image("WEBP"), "a.webp", "webp", "image/webp"),
        (files.pdf, "整改报告.pdf", "pdf", "application/pdf"),
        (files.xlsx, "登记表.xlsx", "xlsx", attachments.KIND_MEDIA["xlsx"]),
        (files.xls, "台账.xls", "xls", "application/vnd.ms-excel"),
        (files.docx_file, "情况说明.docx", "docx", attachments.KIND_MEDIA["docx"]),
        (lambda: "名称,数值\n甲,1\n".encode(), "data.csv", "csv", "text/csv; charset=utf-8"),
        (lambda: "说明文字\r\n".encode("gb18030"), "说明.txt", "txt", "text/plain; charset=utf-8"),
    ],
)
def test_allowed_types_are_recognised_by_content(
    make: Callable[[], bytes], name: str, kind: str, media: str
) -> None:
    found = inspect(make(), name, LIMITS)
    assert (found.kind, found.media_type) == (kind, media)
    assert len(found.sha256) == 64


def test_photo_evidence_and_thumbnail() -> None:
    found = inspect(files.jpeg_with_exif(), "p.jpg", LIMITS)
    assert str(found.taken_at) == "2026-03-01 10:20:30"
    assert (found.gps_lat, found.gps_lon) == (39.81, 98.2833333)
    assert found.camera == "Huawei P60"
    assert (found.width, found.height) == (640, 480)
    assert found.thumbnail is not None
    import io

    thumb = Image.open(io.BytesIO(found.thumbnail))
    assert thumb.format == "JPEG"
    assert thumb.size == (240, 320)  # EXIF orientation 6: turned upright, then ≤ 320 px


@pytest.mark.parametrize(
    ("make", "name", "message"),
    [
        (files.exe, "photo.jpg", "Windows 可执行程序"),
        (files.exe, "setup.exe", "Windows 可执行程序"),
        (lambda: files.image("PNG"), "photo.jpg", "文件扩展名 .jpg 与内容（PNG 图像）不符"),
        (files.xlsx, "report.pdf", "与内容（Excel 工作簿（.xlsx））不符"),
        (files.doc, "ledger.xls", "不是 Excel 工作簿"),
        (files.plain_zip, "a.xlsx", "ZIP 压缩包"),
        (files.xlsm, "macro.xlsx", "含有宏"),
        (lambda: files.image("GIF"), "a.gif", "GIF"),
        (lambda: b"<svg xmlns='http://www.w3.org/2000/svg'/>", "a.svg", "只接受 .txt、.csv"),
        (lambda: b"", "a.txt", "文件为空"),
        (lambda: files.jpeg_with_exif()[:2000], "cut.jpg", "不完整或已损坏"),
        (lambda: files.pdf()[:-10], "cut.pdf", "PDF 文档不完整"),
        (lambda: bytes(range(256)) * 4, "blob.txt", "无法识别"),
        (lambda: files.image("PNG", size=(2100, 2000)), "big.png", "超过上限 4000000 像素"),
        (lambda: files.xlsx(), "../../etc/", "文件名为空"),
    ],
)
def test_disguised_broken_and_unwanted_files_are_refused(
    make: Callable[[], bytes], name: str, message: str
) -> None:
    with pytest.raises(AttachmentRefused, match=message):
        inspect(make(), name, LIMITS)


def test_oversized_and_bomb_like_files_are_refused() -> None:
    with pytest.raises(TooLarge, match=r"超过上限 5\.0 MB"):
        inspect(b"a" * (5 * 1024 * 1024 + 1), "big.txt", LIMITS)
    bomb = files.zip_bomb_xlsx(64 * 1024 * 1024)
    assert len(bomb) < 1024 * 1024  # small on the wire …
    with pytest.raises(AttachmentRefused, match="疑似压缩炸弹"):
        inspect(bomb, "ledger.xlsx", LIMITS)  # … far too big unpacked


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=600), st.sampled_from(["a.jpg", "a.png", "a.pdf", "a.xlsx", "a.txt"]))
def test_arbitrary_bytes_are_either_refused_cleanly_or_recognised(data: bytes, name: str) -> None:
    try:
        found = inspect(data, name, LIMITS)
    except AttachmentRefused as exc:
        assert str(exc)  # a message, never another exception
    else:
        assert found.kind == "txt" and name.endswith(".txt")


# ---------------------------------------------------------------------------- the store


def _files_under(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


def test_store_dedup_links_timeline_and_scope(engine: Engine, tmp_path: Path) -> None:
    users = make_users(engine)
    store = AttachmentStore(tmp_path / "att", LIMITS)
    photo = files.jpeg_with_exif()
    with session_scope(engine) as s:
        first = attachments.add(
            s,
            store,
            users["staff"],
            photo,
            file_name="现场.jpg",
            entity_type="complaint",
            entity_id="C1",
            evidence="inspection_record",
        )
        second = attachments.add(
            s,
            store,
            users["grid"],
            photo,
            file_name="again.jpeg",
            entity_type="complaint",
            entity_id="C2",
        )
        first_id, second_id = first.link.id, second.link.id
    assert first.new_content and not second.new_content
    assert first.attachment.id == second.attachment.id
    on_disk = _files_under(tmp_path / "att")
    sha = first.attachment.sha256
    assert sorted(p.name for p in on_disk) == sorted([sha, f"{sha}.jpg"])  # object, thumbnail
    assert store.object_path(sha).read_bytes() == photo
    with session_scope(engine) as s:
        link, att = attachments.link(s, users["leader"], first_id)
        assert (link.file_name, link.evidence, att.kind, att.gps_lat) == (
            "现场.jpg",
            "inspection_record",
            "jpeg",
            39.81,
        )
        assert attachments.evidence_counts(s, "complaint", "C1") == {"inspection_record": 1}
        assert [lk.id for lk, _ in attachments.of_entity(s, users["admin"], "complaint", "C2")] == [
            second_id
        ]
        ev = timeline.events(s, users["admin"], "complaint", "C1")
        assert [e.action for e in ev] == ["attachment.add"]
        assert ev[0].summary == "上传附件「现场.jpg」（JPEG 图像）"
        # the enterprise user and the public see none of the district's uploads
        for p in (users["ent"], PUBLIC):
            with pytest.raises(NotFound):
                attachments.link(s, p, first_id)
        assert attachments.content_path(store, att).is_file()
        assert attachments.thumbnail_path(store, att).is_file()


def test_who_may_upload(engine: Engine, tmp_path: Path) -> None:
    users = make_users(engine)
    store = AttachmentStore(tmp_path / "att", LIMITS)
    with session_scope(engine) as s:
        for who in ("leader", "ent"):  # leaders read only; enterprises need a registered check
            with pytest.raises(NotFound):
                attachments.add(
                    s,
                    store,
                    users[who],
                    files.pdf(),
                    file_name="a.pdf",
                    entity_type="complaint",
                    entity_id="1",
                )
    attachments.register_attach_check(
        "test_rectification", lambda _s, p, eid: p.enterprise_id is not None and eid == "R1"
    )
    try:
        with session_scope(engine) as s:
            got = attachments.add(
                s,
                store,
                users["ent"],
                files.pdf(),
                file_name="整改.pdf",
                entity_type="test_rectification",
                entity_id="R1",
            )
            link_id = got.link.id
            with pytest.raises(NotFound):
                attachments.add(
                    s,
                    store,
                    users["ent"],
                    files.pdf(),
                    file_name="x.pdf",
                    entity_type="test_rectification",
                    entity_id="R2",
                )
        with session_scope(engine) as s:
            # the enterprise sees its own upload; district roles see it too
            assert attachments.link(s, users["ent"], link_id)[0].enterprise_id is not None
            assert attachments.link(s, users["staff"], link_id)
    finally:
        attachments.ATTACH_CHECKS.pop("test_rectification")


def test_refused_uploads_write_nothing(engine: Engine, tmp_path: Path) -> None:
    users = make_users(engine)
    store = AttachmentStore(tmp_path / "att", LIMITS)
    for data, name in ((files.exe(), "photo.jpg"), (b"", "a.txt"), (files.xlsm(), "m.xlsx")):
        with pytest.raises(AttachmentRefused), session_scope(engine) as s:
            attachments.add(
                s,
                store,
                users["admin"],
                data,
                file_name=name,
                entity_type="complaint",
                entity_id="1",
            )
    assert _files_under(tmp_path / "att") == []
    with session_scope(engine) as s:
        assert s.scalar(select(func.count()).select_from(Attachment)) == 0
        assert s.scalar(select(func.count()).select_from(AttachmentLink)) == 0


def test_a_rolled_back_upload_leaves_no_orphan_file(engine: Engine, tmp_path: Path) -> None:
    users = make_users(engine)
    store = AttachmentStore(tmp_path / "att", LIMITS)
    with pytest.raises(RuntimeError), session_scope(engine) as s:
        attachments.add(
            s,
            store,
            users["admin"],
            files.jpeg_with_exif(),
            file_name="a.jpg",
            entity_type="complaint",
            entity_id="1",
        )
        assert len(_files_under(tmp_path / "att")) == 2  # object and thumbnail written …
        raise RuntimeError("the caller's next step failed")
    assert _files_under(tmp_path / "att") == []  # … and removed with the rollback
    # content already stored before is not removed by a later rollback
    with session_scope(engine) as s:
        attachments.add(
            s,
            store,
            users["admin"],
            files.pdf(),
            file_name="a.pdf",
            entity_type="complaint",
            entity_id="1",
        )
    with pytest.raises(RuntimeError), session_scope(engine) as s:
        attachments.add(
            s,
            store,
            users["admin"],
            files.pdf(),
            file_name="b.pdf",
            entity_type="complaint",
            entity_id="2",
        )
        raise RuntimeError("rolled back")
    assert len(_files_under(tmp_path / "att")) == 1
