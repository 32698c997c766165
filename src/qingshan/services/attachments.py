"""Attachments: evidence files kept on disk by SHA-256, linked to the entities they support.

Policy (every refusal is a clear Chinese message and nothing is written, on disk or in the
database):

* The type is decided by the content (magic bytes, and for Office files the parts inside the
  package), never by the extension; the extension must agree with the content. Allowed: JPEG,
  PNG and WebP images, PDF, Excel (.xlsx, .xls), Word (.docx), plain text and CSV.
* Size: at most ``attachments_max_bytes``; an image of more than ``attachments_max_pixels``
  pixels is refused before it is decoded; an .xlsx/.docx whose parts decompress to more than
  ``attachments_max_unpacked_bytes`` is refused while it is being read (the real byte count,
  not the sizes the archive claims). Macro-enabled Office files are refused.
* Images are decoded completely (a truncated or corrupt image is refused); a JPEG thumbnail is
  made; the EXIF time taken, GPS position and camera are kept as evidence fields.

Files live under ``attachments_dir``: ``objects/ab/cd/<sha256>`` and ``thumbs/ab/<sha256>.jpg``.
A content uploaded twice is stored once; each upload is an ``attachment_link`` with its own
name and entity. A file written for a transaction that then rolls back is removed again.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from PIL import Image, ImageOps, UnidentifiedImageError
from sqlalchemy import event, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from qingshan.clock import utcnow
from qingshan.roles import Principal, Role
from qingshan.services import timeline
from qingshan.services.errors import NotFound, ServiceError
from qingshan.services.permissions import ATTACHMENT_UPLOADERS, attachment_scope, sees_district
from qingshan.settings import Settings
from qingshan.storage.models_casework import Attachment, AttachmentLink

THUMBNAIL_SIZE = 320
MAX_ZIP_MEMBERS = 10_000

KIND_MEDIA: dict[str, str] = {
    "jpeg": "image/jpeg",
    "png": "image/png",
    "webp": "image/webp",
    "pdf": "application/pdf",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "xls": "application/vnd.ms-excel",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "txt": "text/plain; charset=utf-8",
    "csv": "text/csv; charset=utf-8",
}
KIND_LABELS: dict[str, str] = {
    "jpeg": "JPEG 图像",
    "png": "PNG 图像",
    "webp": "WebP 图像",
    "pdf": "PDF 文档",
    "xlsx": "Excel 工作簿（.xlsx）",
    "xls": "Excel 97-2003 工作簿（.xls）",
    "docx": "Word 文档（.docx）",
    "txt": "纯文本",
    "csv": "CSV 表格",
}
EXTENSIONS: dict[str, tuple[str, ...]] = {
    "jpeg": (".jpg", ".jpeg"),
    "png": (".png",),
    "webp": (".webp",),
    "pdf": (".pdf",),
    "xlsx": (".xlsx",),
    "xls": (".xls",),
    "docx": (".docx",),
    # GeoJSON is text too: region outlines uploaded on the registry pages are kept as evidence
    "txt": (".txt", ".geojson", ".json"),
    "csv": (".csv",),
}
IMAGE_KINDS = ("jpeg", "png", "webp")
PIL_FORMATS = {"jpeg": "JPEG", "png": "PNG", "webp": "WEBP"}
# Recognised but refused, so that the message can say what the file really is.
FORBIDDEN_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"MZ", "Windows 可执行程序"),
    (b"\x7fELF", "Linux 可执行程序"),
    (b"\xca\xfe\xba\xbe", "可执行程序"),
    (b"\xcf\xfa\xed\xfe", "macOS 可执行程序"),
    (b"Rar!", "RAR 压缩包"),
    (b"7z\xbc\xaf\x27\x1c", "7z 压缩包"),
    (b"\x1f\x8b", "gzip 压缩包"),
    (b"GIF8", "GIF 图像（不在允许范围）"),
    (b"BM", "BMP 图像（不在允许范围）"),
    (b"II*\x00", "TIFF 图像（不在允许范围）"),
    (b"MM\x00*", "TIFF 图像（不在允许范围）"),
)
ALLOWED_TEXT = (
    "允许的类型：JPEG/PNG/WebP 图片、PDF、Excel（.xlsx/.xls）、Word（.docx）、TXT、CSV、GeoJSON"
)
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
XLS_STREAMS = frozenset({"Workbook", "Book"})  # BIFF8 and BIFF5 workbook streams
NAME_BAD = re.compile(r"[\x00-\x1f\x7f/\\]")


class AttachmentRefused(ServiceError):
    """An upload the policy does not accept (the message says why, in Chinese)."""


class TooLarge(AttachmentRefused):
    """An upload over the size limit (the web answers 413)."""


@dataclass(frozen=True)
class Limits:
    max_bytes: int
    max_pixels: int
    max_unpacked: int

    @classmethod
    def of(cls, settings: Settings) -> Limits:
        return cls(
            settings.attachments_max_bytes,
            settings.attachments_max_pixels,
            settings.attachments_max_unpacked_bytes,
        )


@dataclass(frozen=True)
class Inspected:
    """What the content of an upload turned out to be."""

    kind: str
    media_type: str
    sha256: str
    size: int
    width: int | None = None
    height: int | None = None
    taken_at: datetime | None = None
    gps_lat: float | None = None
    gps_lon: float | None = None
    camera: str | None = None
    thumbnail: bytes | None = None


def _mib(n: int) -> str:
    return f"{n / 1024 / 1024:.1f} MB"


def clean_name(file_name: str) -> str:
    """The uploaded file's name without any path, control characters or excess length."""
    name = NAME_BAD.sub("_", file_name.replace("\\", "/").rsplit("/", 1)[-1]).strip()
    if not name or name in (".", ".."):
        raise AttachmentRefused("文件名为空")
    if len(name) > 200:
        stem, dot, ext = name.rpartition(".")
        name = (stem[: 200 - len(ext) - 1] + dot + ext) if dot and len(ext) <= 10 else name[:200]
    return name


def _extension(name: str) -> str:
    _, dot, ext = name.rpartition(".")
    return f".{ext.lower()}" if dot and ext else ""


def _is_text(data: bytes) -> bool:
    if b"\x00" in data:
        return False
    body = data[3:] if data.startswith(b"\xef\xbb\xbf") else data
    for encoding in ("utf-8", "gb18030"):
        try:
            text = body.decode(encoding)
        except UnicodeDecodeError:
            continue
        return not any(ord(c) < 32 and c not in "\t\n\r\f" for c in text)
    return False


def sniff(data: bytes) -> str:
    """The allowed kind of ``data`` judged by its bytes; AttachmentRefused otherwise."""
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    if data.startswith(b"%PDF-"):
        return "pdf"
    if data.startswith(OLE_MAGIC):
        return "ole"
    if data.startswith(b"PK\x03\x04"):
        return "zip"
    for magic, label in FORBIDDEN_MAGIC:
        if data.startswith(magic):
            raise AttachmentRefused(f"文件内容是{label}，不允许上传。{ALLOWED_TEXT}")
    if _is_text(data):
        return "text"
    raise AttachmentRefused(f"无法识别的文件内容（不是允许的类型）。{ALLOWED_TEXT}")


def ole_stream_names(data: bytes) -> set[str]:
    """Names of the streams and storages in an OLE compound file's directory.

    Directory entries are 128-byte records aligned to 128 bytes (sectors are 512 or 4096
    bytes): a UTF-16 name of up to 32 characters, its byte length (with the terminator) at
    offset 64 and the entry type (1 storage, 2 stream, 5 root) at offset 66."""
    names: set[str] = set()
    for off in range(512, len(data) - 127, 128):
        length = int.from_bytes(data[off + 64 : off + 66], "little")
        if not 4 <= length <= 64 or length % 2 or data[off + 66] not in (1, 2, 5):
            continue
        raw = data[off : off + length - 2]
        if data[off + length - 2 : off + length] != b"\x00\x00":
            continue
        try:
            names.add(raw.decode("utf-16-le"))
        except UnicodeDecodeError:
            continue
    return names


def _office_kind(data: bytes, max_unpacked: int) -> str:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError):
        raise AttachmentRefused("压缩包结构已损坏，不是有效的 Office 文件") from None
    names = {i.filename for i in infos}
    if "[Content_Types].xml" not in names:
        raise AttachmentRefused(
            f"文件内容是 ZIP 压缩包，不是 Office 文档，不允许上传。{ALLOWED_TEXT}"
        )
    if "xl/workbook.xml" in names:
        kind = "xlsx"
    elif "word/document.xml" in names:
        kind = "docx"
    else:
        raise AttachmentRefused(f"不支持的 Office 文件类型。{ALLOWED_TEXT}")
    if any(n.lower().endswith("vbaproject.bin") for n in names):
        raise AttachmentRefused("文件含有宏（VBA），不允许上传；请另存为不含宏的 .xlsx/.docx")
    if len(infos) > MAX_ZIP_MEMBERS:
        raise AttachmentRefused(f"Office 文件内部条目过多（{len(infos)} 个）")
    # Decompress everything, counting the real bytes: an archive can lie about its sizes.
    total = 0
    try:
        for info in infos:
            with archive.open(info) as member:
                while chunk := member.read(1 << 20):
                    total += len(chunk)
                    if total > max_unpacked:
                        raise AttachmentRefused(
                            f"Office 文件解压后超过 {_mib(max_unpacked)}"
                            "（疑似压缩炸弹），不允许上传"
                        )
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError) as exc:
        raise AttachmentRefused(f"Office 文件已损坏：{exc}") from None
    return kind


def _rational(v: Any) -> float:
    return float(v[0]) / float(v[1]) if isinstance(v, tuple) else float(v)


def _gps(gps: dict[int, Any]) -> tuple[float | None, float | None]:
    try:
        lat_v, lon_v = gps[2], gps[4]
        lat = sum(_rational(x) / 60**i for i, x in enumerate(lat_v))
        lon = sum(_rational(x) / 60**i for i, x in enumerate(lon_v))
    except (KeyError, TypeError, ValueError, ZeroDivisionError, IndexError):
        return None, None
    if str(gps.get(1, "N")).upper().startswith("S"):
        lat = -lat
    if str(gps.get(3, "E")).upper().startswith("W"):
        lon = -lon
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        return None, None
    return round(lat, 7), round(lon, 7)


def _exif_time(text: Any) -> datetime | None:
    if not isinstance(text, str):
        return None
    try:
        return datetime.strptime(text.strip().rstrip("\x00"), "%Y:%m:%d %H:%M:%S")
    except ValueError:
        return None


def _image(data: bytes, kind: str, max_pixels: int) -> dict[str, Any]:
    try:
        img = Image.open(io.BytesIO(data))
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
        raise AttachmentRefused(f"{KIND_LABELS[kind]}无法解析，文件已损坏") from None
    if img.format != PIL_FORMATS[kind]:
        raise AttachmentRefused(f"{KIND_LABELS[kind]}内容不一致，文件已损坏")
    width, height = img.size
    if width * height > max_pixels:
        raise AttachmentRefused(
            f"图像 {width}×{height} 像素，超过上限 {max_pixels} 像素，不允许上传"
        )
    try:
        img.load()  # a full decode: truncated or corrupt images are refused here
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        raise AttachmentRefused(f"{KIND_LABELS[kind]}不完整或已损坏") from None
    out: dict[str, Any] = {"width": width, "height": height}
    exif = img.getexif()
    if exif:
        sub = exif.get_ifd(0x8769)
        out["taken_at"] = _exif_time(sub.get(0x9003)) or _exif_time(exif.get(0x0132))
        lat, lon = _gps(dict(exif.get_ifd(0x8825)))
        out["gps_lat"], out["gps_lon"] = lat, lon
        camera = " ".join(str(exif.get(t, "")).strip("\x00 ") for t in (0x010F, 0x0110)).strip()
        out["camera"] = camera[:100] or None
    thumb = ImageOps.exif_transpose(img)
    if thumb.mode not in ("RGB", "L"):
        background = Image.new("RGB", thumb.size, "white")
        rgba = thumb.convert("RGBA")
        background.paste(rgba, mask=rgba.getchannel("A"))
        thumb = background
    thumb.thumbnail((THUMBNAIL_SIZE, THUMBNAIL_SIZE))
    buf = io.BytesIO()
    thumb.save(buf, "JPEG", quality=80)
    out["thumbnail"] = buf.getvalue()
    return out


def inspect(data: bytes, file_name: str, limits: Limits) -> Inspected:
    """Decide what an upload is and whether it may be kept; AttachmentRefused otherwise."""
    name = clean_name(file_name)
    if not data:
        raise AttachmentRefused("文件为空（0 字节），未保存")
    if len(data) > limits.max_bytes:
        raise TooLarge(f"文件大小 {_mib(len(data))}，超过上限 {_mib(limits.max_bytes)}，未保存")
    ext = _extension(name)
    kind = sniff(data)
    if kind == "ole":
        if not XLS_STREAMS & ole_stream_names(data):
            raise AttachmentRefused(
                "文件是旧版 Office 文件但不是 Excel 工作簿（可能是 .doc），不允许上传。"
                + ALLOWED_TEXT
            )
        kind = "xls"
    elif kind == "zip":
        kind = _office_kind(data, limits.max_unpacked)
    elif kind == "text":
        if ext not in (*EXTENSIONS["txt"], *EXTENSIONS["csv"]):
            shown = ext or "（无扩展名）"
            raise AttachmentRefused(f"文本文件只接受 .txt、.csv 或 .geojson/.json，而不是 {shown}")
        kind = "csv" if ext == ".csv" else "txt"
    if ext not in EXTENSIONS[kind]:
        shown = ext or "（无扩展名）"
        raise AttachmentRefused(
            f"文件扩展名 {shown} 与内容（{KIND_LABELS[kind]}）不符，未保存；"
            f"请使用 {'/'.join(EXTENSIONS[kind])}"
        )
    if kind == "pdf" and b"%%EOF" not in data[-2048:]:
        raise AttachmentRefused("PDF 文档不完整（缺少文件结束标记），未保存")
    extra = _image(data, kind, limits.max_pixels) if kind in IMAGE_KINDS else {}
    return Inspected(
        kind=kind,
        media_type=KIND_MEDIA[kind],
        sha256=hashlib.sha256(data).hexdigest(),
        size=len(data),
        **extra,
    )


# ---------------------------------------------------------------------------- the store


class AttachmentStore:
    """The directory of stored files."""

    def __init__(self, root: str | Path, limits: Limits) -> None:
        self.root = Path(root)
        self.limits = limits

    @classmethod
    def of(cls, settings: Settings) -> AttachmentStore:
        return cls(settings.attachments_dir, Limits.of(settings))

    def object_path(self, sha: str) -> Path:
        return self.root / "objects" / sha[:2] / sha[2:4] / sha

    def thumbnail_path(self, sha: str) -> Path:
        return self.root / "thumbs" / sha[:2] / f"{sha}.jpg"

    def _write(self, path: Path, data: bytes) -> bool:
        """Write ``data`` at ``path`` atomically; False when it was already there."""
        if path.exists():
            return False
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp_dir = self.root / "tmp"
        tmp_dir.mkdir(parents=True, exist_ok=True)
        tmp = tmp_dir / f"{path.name}.{os.getpid()}.{id(data)}"
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
        return True


_NEW_FILES = "qingshan_attachment_new_files"


def _forget_on_rollback(s: Session, paths: list[Path]) -> None:
    """Remove files written for this transaction if it rolls back (no orphans on disk)."""
    pending: list[Path] | None = s.info.get(_NEW_FILES)
    if pending is None:
        pending = []
        s.info[_NEW_FILES] = pending

        def after_rollback(session: Session) -> None:
            for p in session.info.pop(_NEW_FILES, []):
                p.unlink(missing_ok=True)

        def after_end(session: Session, tx: Any) -> None:
            if tx.parent is None:  # the outermost transaction ended (committed or not)
                session.info.pop(_NEW_FILES, None)

        # after_rollback fires for the real rollback of the whole transaction only (after_commit
        # would fire for a savepoint's release too, so commits are seen through the end of the
        # outermost transaction, which comes after any rollback).
        event.listen(s, "after_rollback", after_rollback)
        event.listen(s, "after_transaction_end", after_end)
    pending.extend(paths)


# Who may attach files to an entity of a type: services of later issues register a check
# (e.g. an enterprise user may attach evidence to its own rectification case). Without one,
# the district's case workers (every role with the upload grant but enterprise users) may.
AttachCheck = Callable[[Session, Principal, str], bool]
ATTACH_CHECKS: dict[str, AttachCheck] = {}


def register_attach_check(entity_type: str, check: AttachCheck) -> None:
    ATTACH_CHECKS[entity_type] = check


def _may_attach(s: Session, p: Principal, entity_type: str, entity_id: str) -> bool:
    if p.role not in ATTACHMENT_UPLOADERS:
        return False
    check = ATTACH_CHECKS.get(entity_type)
    if check is not None:
        return check(s, p, entity_id)
    return sees_district(p)


@dataclass(frozen=True)
class Stored:
    link: AttachmentLink
    attachment: Attachment
    new_content: bool  # False: the same content was already stored (deduplicated)


def add(
    s: Session,
    store: AttachmentStore,
    p: Principal,
    data: bytes,
    *,
    file_name: str,
    entity_type: str,
    entity_id: str | int,
    evidence: str | None = None,
) -> Stored:
    """Check and keep an upload as evidence of an entity (see the module docstring)."""
    eid = timeline.check_entity(entity_type, entity_id)
    if not _may_attach(s, p, entity_type, eid):
        raise NotFound(f"不能向 {entity_type} {eid} 上传附件")
    if evidence is not None and not re.fullmatch(r"[a-z_][a-z0-9_]{0,39}", evidence):
        raise AttachmentRefused("材料类别应为小写字母、数字和下划线（最长 40 个字符）")
    name = clean_name(file_name)
    found = inspect(data, name, store.limits)
    att = s.scalar(select(Attachment).where(Attachment.sha256 == found.sha256))
    new_content = att is None
    if att is None:
        written = []
        if store._write(store.object_path(found.sha256), data):
            written.append(store.object_path(found.sha256))
        if found.thumbnail is not None and store._write(
            store.thumbnail_path(found.sha256), found.thumbnail
        ):
            written.append(store.thumbnail_path(found.sha256))
        _forget_on_rollback(s, written)
        att = Attachment(
            sha256=found.sha256,
            size=found.size,
            media_type=found.media_type,
            kind=found.kind,
            width=found.width,
            height=found.height,
            has_thumbnail=found.thumbnail is not None,
            taken_at=found.taken_at,
            gps_lat=found.gps_lat,
            gps_lon=found.gps_lon,
            camera=found.camera,
            created_at=utcnow(),
            created_by=p.user_id,
        )
        try:
            with s.begin_nested():
                s.add(att)
        except IntegrityError:  # the same content committed meanwhile by another upload
            att = s.scalar(select(Attachment).where(Attachment.sha256 == found.sha256))
            if att is None:
                raise
            new_content = False
    link = AttachmentLink(
        attachment_id=att.id,
        entity_type=entity_type,
        entity_id=eid,
        evidence=evidence,
        file_name=name,
        linked_at=utcnow(),
        linked_by=p.user_id,
        linked_by_name=p.username,
        enterprise_id=p.enterprise_id if p.role == Role.ENTERPRISE else None,
    )
    s.add(link)
    s.flush()
    timeline.record(
        s,
        p,
        entity_type=entity_type,
        entity_id=eid,
        action="attachment.add",
        summary=f"上传附件「{name}」（{KIND_LABELS[att.kind]}）",
        after={
            "link_id": link.id,
            "attachment_id": att.id,
            "file_name": name,
            "evidence": evidence,
            "sha256": att.sha256,
            "size": att.size,
        },
    )
    return Stored(link, att, new_content)


def link(s: Session, p: Principal, link_id: int) -> tuple[AttachmentLink, Attachment]:
    """One upload (link) and its content, if the principal may see it; else NotFound."""
    row = s.execute(
        select(AttachmentLink, Attachment)
        .join(Attachment, Attachment.id == AttachmentLink.attachment_id)
        .where(AttachmentLink.id == link_id, attachment_scope(p))
    ).first()
    if row is None:
        raise NotFound(f"no attachment {link_id}")
    return row[0], row[1]


def of_entity(
    s: Session, p: Principal, entity_type: str, entity_id: str | int
) -> list[tuple[AttachmentLink, Attachment]]:
    """The uploads linked to an entity that the principal may see, oldest first."""
    rows = s.execute(
        select(AttachmentLink, Attachment)
        .join(Attachment, Attachment.id == AttachmentLink.attachment_id)
        .where(
            AttachmentLink.entity_type == entity_type,
            AttachmentLink.entity_id == str(entity_id),
            attachment_scope(p),
        )
        .order_by(AttachmentLink.id)
    )
    return [(r[0], r[1]) for r in rows]


def evidence_counts(s: Session, entity_type: str, entity_id: str | int) -> dict[str, int]:
    """Evidence kind → number of files linked to the entity (what workflow checks read)."""
    rows = s.execute(
        select(AttachmentLink.evidence, func.count())
        .where(
            AttachmentLink.entity_type == entity_type,
            AttachmentLink.entity_id == str(entity_id),
            AttachmentLink.evidence.is_not(None),
        )
        .group_by(AttachmentLink.evidence)
    )
    return {str(kind): int(n) for kind, n in rows}


def content_path(store: AttachmentStore, att: Attachment) -> Path:
    path = store.object_path(att.sha256)
    if not path.is_file():
        raise NotFound(f"附件 {att.id} 的文件不在存储目录中")
    return path


def thumbnail_path(store: AttachmentStore, att: Attachment) -> Path:
    path = store.thumbnail_path(att.sha256)
    if not att.has_thumbnail or not path.is_file():
        raise NotFound(f"附件 {att.id} 没有缩略图")
    return path
