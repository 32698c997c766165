"""Attachments: upload (the file's bytes as the request body), metadata, download, thumbnail.

Every route needs a log-in and a grant of :mod:`qingshan.services.permissions`; downloads are
served only within ``attachment_scope`` (an enterprise user gets only its own uploads), never
from a static directory.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import FileResponse
from sqlalchemy.orm import Session

from qingshan.roles import Principal
from qingshan.services import attachments
from qingshan.services.attachments import AttachmentStore, TooLarge
from qingshan.services.permissions import ATTACHMENT_READERS, ATTACHMENT_UPLOADERS
from qingshan.storage.models_casework import Attachment, AttachmentLink
from qingshan.web.deps import PathId, ctx, read_db, require, write_db
from qingshan.web.exports import attachment_disposition
from qingshan.web.schemas.casework import (
    ENTITY_ID_PATTERN,
    ENTITY_TYPE_PATTERN,
    EVIDENCE_PATTERN,
    AttachmentOut,
)

router = APIRouter(tags=["attachments"])


def _store(request: Request) -> AttachmentStore:
    return AttachmentStore.of(ctx(request).settings)


def attachment_out(
    link: AttachmentLink, att: Attachment, *, deduplicated: bool = False
) -> AttachmentOut:
    return AttachmentOut(
        id=link.id,
        attachment_id=att.id,
        entity_type=link.entity_type,
        entity_id=link.entity_id,
        evidence=link.evidence,
        file_name=link.file_name,
        kind=att.kind,
        media_type=att.media_type,
        size=att.size,
        sha256=att.sha256,
        width=att.width,
        height=att.height,
        has_thumbnail=att.has_thumbnail,
        taken_at=att.taken_at,
        gps_lat=att.gps_lat,
        gps_lon=att.gps_lon,
        camera=att.camera,
        linked_at=link.linked_at,
        linked_by=link.linked_by_name,
        deduplicated=deduplicated,
    )


async def upload_body(request: Request) -> bytes:
    """The request body, read up to the configured limit (413 beyond it, read no further)."""
    limit = ctx(request).settings.attachments_max_bytes
    too_large = f"文件超过上限 {limit / 1024 / 1024:.1f} MB，未保存"
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise HTTPException(413, too_large)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise HTTPException(413, too_large)
        chunks.append(chunk)
    return b"".join(chunks)


@router.post(
    "/attachments",
    response_model=AttachmentOut,
    status_code=201,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}
            },
        }
    },
    responses={
        413: {"description": "over the size limit"},
        422: {"description": "refused by the type policy (the message says why)"},
    },
)
def upload(
    request: Request,
    file_name: str = Query(..., min_length=1, max_length=255, description="the file's name"),
    entity_type: str = Query(..., pattern=ENTITY_TYPE_PATTERN),
    entity_id: str = Query(..., pattern=ENTITY_ID_PATTERN),
    evidence: str | None = Query(None, pattern=EVIDENCE_PATTERN),
    body: bytes = Depends(upload_body),
    p: Principal = Depends(require(*ATTACHMENT_UPLOADERS)),
    s: Session = Depends(write_db, scope="function"),
) -> AttachmentOut:
    """Upload one file as evidence of an entity: the body is the file's bytes. The type is
    judged by the content (JPEG/PNG/WebP, PDF, .xlsx/.xls, .docx, TXT/CSV) and must agree with
    the name's extension; refused files are not stored at all."""
    try:
        stored = attachments.add(
            s,
            _store(request),
            p,
            body,
            file_name=file_name,
            entity_type=entity_type,
            entity_id=entity_id,
            evidence=evidence,
        )
    except TooLarge as exc:
        raise HTTPException(413, str(exc)) from None
    return attachment_out(stored.link, stored.attachment, deduplicated=not stored.new_content)


@router.get("/attachments", response_model=list[AttachmentOut])
def of_entity(
    entity_type: str = Query(..., pattern=ENTITY_TYPE_PATTERN),
    entity_id: str = Query(..., pattern=ENTITY_ID_PATTERN),
    p: Principal = Depends(require(*ATTACHMENT_READERS)),
    s: Session = Depends(read_db),
) -> list[AttachmentOut]:
    """The attachments of one entity that the caller may see, oldest first."""
    return [attachment_out(lk, a) for lk, a in attachments.of_entity(s, p, entity_type, entity_id)]


@router.get("/attachments/{link_id}", response_model=AttachmentOut)
def metadata(
    link_id: PathId,
    p: Principal = Depends(require(*ATTACHMENT_READERS)),
    s: Session = Depends(read_db),
) -> AttachmentOut:
    """One attachment's metadata, with its EXIF evidence fields."""
    link, att = attachments.link(s, p, link_id)
    return attachment_out(link, att)


@router.get(
    "/attachments/{link_id}/content",
    response_class=FileResponse,
    responses={200: {"content": {"application/octet-stream": {}}}},
)
def download(
    link_id: PathId,
    request: Request,
    p: Principal = Depends(require(*ATTACHMENT_READERS)),
    s: Session = Depends(read_db),
) -> FileResponse:
    """The file itself, as a download under the name it was uploaded with."""
    link, att = attachments.link(s, p, link_id)
    path: Path = attachments.content_path(_store(request), att)
    return FileResponse(
        path,
        media_type=att.media_type,
        headers={"Content-Disposition": attachment_disposition(link.file_name)},
    )


@router.get(
    "/attachments/{link_id}/thumbnail",
    response_class=FileResponse,
    responses={200: {"content": {"image/jpeg": {}}}, 404: {"description": "not an image"}},
)
def thumbnail(
    link_id: PathId,
    request: Request,
    p: Principal = Depends(require(*ATTACHMENT_READERS)),
    s: Session = Depends(read_db),
) -> FileResponse:
    """A JPEG thumbnail (at most 320 px) of an image attachment."""
    _, att = attachments.link(s, p, link_id)
    return FileResponse(attachments.thumbnail_path(_store(request), att), media_type="image/jpeg")
