"""The registry on the web: its lists (regions, units, enterprises, sites) and the workbook
import — upload a workbook, see its row-numbered validation report, then import it (all or
nothing) or reject it.

Each upload is a ``registry_import`` entity: the workbook is its attachment (evidence
``workbook``) and a ``registry_import`` workflow instance carries it through 已上传 → 已校验 →
已导入 / 已驳回, every step on the entity's timeline. The rows, the workflow step, the timeline
and the administrators' inbox notice are written in one transaction: an import either happens
completely or not at all. A workbook with a bad row is refused with the report and nothing is
kept — not even the upload.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from qingshan.clock import utcnow
from qingshan.roles import Principal
from qingshan.services import attachments, notifications, timeline, workflows
from qingshan.services.attachments import AttachmentStore
from qingshan.services.errors import Conflict, NotFound
from qingshan.services.excel_import import Report
from qingshan.services.permissions import (
    DEVICE_ADMINS,
    READERS,
    REGISTRY_EDITORS,
    REGISTRY_IMPORTERS,
    REGISTRY_READERS,
)
from qingshan.services.registry import (
    detail,
    enterprises,
    permits,
    regions,
    sites,
    units,
    workbook,
)
from qingshan.services.registry.common import RegistryConflict, RegistryError, RegistryNotFound
from qingshan.services.registry.rules import LEVEL_LABELS
from qingshan.services.registry.units import UNIT_KIND_LABELS
from qingshan.storage.models import Enterprise, Region, Site
from qingshan.storage.models_casework import WorkflowInstance
from qingshan.storage.models_registry import OrgUnit
from qingshan.web.api.attachments import attachment_out, upload_body
from qingshan.web.deps import PathId, client_of, ctx, read_db, require, write_db
from qingshan.web.labels import KIND_LABELS
from qingshan.web.schemas.casework import ENTITY_ID_PATTERN, TimelineEventOut
from qingshan.web.schemas.registry import (
    AmountIn,
    EditOut,
    EditRefused,
    EnterpriseIn,
    EnterpriseOut,
    ImportRefused,
    ImportReport,
    PermitIn,
    RegionIn,
    RegionOut,
    RegistryDetailOut,
    RegistryImportOut,
    RegistrySiteOut,
    RejectIn,
    SiteIn,
    TargetIn,
    UnitIn,
    UnitOut,
)

router = APIRouter(tags=["registry"])

WORKFLOW = ENTITY = "registry_import"
EVIDENCE = "workbook"


def _rows(report: Report, *, written: bool) -> int:
    """Data rows the report counts: all of them, or only those written (new or changed)."""
    return sum(c.created + c.updated if written else c.rows for c in report.counts.values())


def _refused(message: str, report: Report) -> HTTPException:
    body = ImportRefused(message=message, report=ImportReport.model_validate(report.as_dict()))
    return HTTPException(422, body.model_dump())


def _out(s: Session, p: Principal, inst: WorkflowInstance) -> RegistryImportOut:
    wf = workflows.definition(inst.workflow)
    fields: dict[str, Any] = json.loads(inst.fields or "{}")
    books = [
        link
        for link, _att in attachments.of_entity(s, p, ENTITY, inst.entity_id)
        if link.evidence == EVIDENCE
    ]
    report = fields.get("report")
    return RegistryImportOut(
        id=inst.id,
        entity_id=inst.entity_id,
        state=inst.state,
        state_label=wf.states[inst.state].label,
        file_name=books[-1].file_name if books else None,
        attachment_id=books[-1].id if books else None,
        rows_total=fields.get("rows_total"),
        rows_written=fields.get("rows_written"),
        reason=fields.get("reason"),
        created_at=inst.created_at,
        updated_at=inst.updated_at,
        report=ImportReport.model_validate(json.loads(report)) if report else None,
    )


def _instance(s: Session, import_id: int, *, lock: bool = False) -> WorkflowInstance:
    inst = s.get(WorkflowInstance, import_id, with_for_update=lock)
    if inst is None or inst.workflow != WORKFLOW or inst.entity_type != ENTITY:
        raise NotFound(f"没有编号为 {import_id} 的登记表导入")
    return inst


@router.post(
    "/registry/imports",
    response_model=RegistryImportOut,
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
        413: {"description": "over the attachment size limit"},
        422: {"model": ImportRefused, "description": "a bad workbook: the report, nothing kept"},
    },
)
def upload(
    request: Request,
    file_name: str = Query(..., min_length=1, max_length=255, description="the file's name"),
    body: bytes = Depends(upload_body),
    p: Principal = Depends(require(*REGISTRY_EDITORS)),
    s: Session = Depends(write_db, scope="function"),
) -> RegistryImportOut:
    """Upload a registry workbook (the body is the file's bytes, .xlsx or .xls): it is checked
    row by row against the registry without writing anything. A good workbook is kept as an
    attachment of a new import in state 已校验, with its report; a bad one is refused (422)
    with the row-numbered report and nothing is kept."""
    client = client_of(request)
    report = workbook.validate_in(s, body, p)
    if not report.ok:
        raise _refused("登记表有错误，未写入任何数据", report)
    entity_id = f"{utcnow():%Y%m%d%H%M%S}-{secrets.token_hex(4)}"
    attachments.add(
        s,
        AttachmentStore.of(ctx(request).settings),
        p,
        body,
        file_name=file_name,
        entity_type=ENTITY,
        entity_id=entity_id,
        evidence=EVIDENCE,
    )
    inst = workflows.start(s, p, WORKFLOW, entity_type=ENTITY, entity_id=entity_id, client=client)
    inst = workflows.fire(
        s,
        p,
        inst.id,
        "validate",
        fields={
            "rows_total": _rows(report, written=False),
            "report": json.dumps(report.as_dict(), ensure_ascii=False),
        },
        client=client,
    )
    return _out(s, p, inst)


@router.get("/registry/imports", response_model=list[RegistryImportOut])
def list_imports(
    limit: int = Query(50, ge=1, le=200),
    p: Principal = Depends(require(*REGISTRY_EDITORS)),
    s: Session = Depends(read_db),
) -> list[RegistryImportOut]:
    """The latest workbook imports, newest first."""
    rows = s.scalars(
        select(WorkflowInstance)
        .where(WorkflowInstance.workflow == WORKFLOW, WorkflowInstance.entity_type == ENTITY)
        .order_by(WorkflowInstance.id.desc())
        .limit(limit)
    )
    return [_out(s, p, inst) for inst in rows]


@router.get("/registry/imports/{import_id}", response_model=RegistryImportOut)
def get_import(
    import_id: PathId,
    p: Principal = Depends(require(*REGISTRY_EDITORS)),
    s: Session = Depends(read_db),
) -> RegistryImportOut:
    return _out(s, p, _instance(s, import_id))


@router.post(
    "/registry/imports/{import_id}/import",
    response_model=RegistryImportOut,
    responses={
        409: {"description": "the import is not waiting to be written"},
        422: {"model": ImportRefused, "description": "a row no longer fits: nothing written"},
    },
)
def do_import(
    request: Request,
    import_id: PathId,
    p: Principal = Depends(require(*REGISTRY_IMPORTERS)),
    s: Session = Depends(write_db, scope="function"),
) -> RegistryImportOut:
    """Write a validated workbook into the registry, all or nothing: the rows, the import's
    step to 已导入 and a notice to the administrators in one transaction. If the registry
    changed since the validation so that a row no longer fits, nothing is written (422 with
    the report) and the import stays 已校验."""
    inst = _instance(s, import_id, lock=True)
    wf = workflows.definition(WORKFLOW)
    if inst.state != "validated":
        raise Conflict(f"该登记表导入已是「{wf.states[inst.state].label}」，不能导入")
    books = [
        (link, att)
        for link, att in attachments.of_entity(s, p, ENTITY, inst.entity_id)
        if link.evidence == EVIDENCE
    ]
    if not books:
        raise NotFound(f"登记表导入 {import_id} 没有工作簿附件")
    link, att = books[-1]
    data = attachments.content_path(AttachmentStore.of(ctx(request).settings), att).read_bytes()
    report = workbook.apply_in(s, data, p)
    if not report.ok:
        raise _refused("登记表与当前登记数据不符，未写入任何数据", report)
    written = _rows(report, written=True)
    client = client_of(request)
    inst = workflows.fire(
        s,
        p,
        inst.id,
        "import",
        fields={
            "rows_written": written,
            "report": json.dumps(report.as_dict(), ensure_ascii=False),
        },
        client=client,
    )
    notifications.notify(
        s,
        notifications.users_with_roles(s, ["admin"]),
        kind=WORKFLOW,
        subject=f"登记表「{link.file_name}」已导入",
        body=f"{p.username or '系统'} 导入了登记表「{link.file_name}」，写入 {written} 行"
        f"（共 {_rows(report, written=False)} 行）。",
        entity_type=ENTITY,
        entity_id=inst.entity_id,
    )
    return _out(s, p, inst)


@router.post(
    "/registry/imports/{import_id}/reject",
    response_model=RegistryImportOut,
    responses={409: {"description": "the import is already finished"}},
)
def reject(
    request: Request,
    import_id: PathId,
    body: RejectIn,
    p: Principal = Depends(require(*REGISTRY_EDITORS)),
    s: Session = Depends(write_db, scope="function"),
) -> RegistryImportOut:
    """Reject an uploaded workbook with the reason; nothing is written to the registry."""
    inst = _instance(s, import_id, lock=True)
    wf = workflows.definition(WORKFLOW)
    if wf.states[inst.state].final:
        raise Conflict(f"该登记表导入已是「{wf.states[inst.state].label}」，不能驳回")
    inst = workflows.fire(
        s, p, inst.id, "reject", fields={"reason": body.reason.strip()}, client=client_of(request)
    )
    return _out(s, p, inst)


# ---------------------------------------------------------------------------- lists


@router.get("/registry/regions", response_model=list[RegionOut])
def list_regions(
    p: Principal = Depends(require(*REGISTRY_READERS)), s: Session = Depends(read_db)
) -> list[RegionOut]:
    """Every registered region by code, and whether it has an outline."""
    outlined = set(regions.boundary_codes(s))
    return [
        RegionOut(
            code=r.code,
            name=r.name,
            level=r.level,
            level_label=LEVEL_LABELS[r.level],
            parent_code=r.parent_code,
            has_boundary=r.code in outlined,
        )
        for r in regions.list_regions(s)
    ]


@router.get("/registry/units", response_model=list[UnitOut])
def list_units(
    p: Principal = Depends(require(*REGISTRY_READERS)), s: Session = Depends(read_db)
) -> list[UnitOut]:
    """Every organisational unit (责任单位) by code."""
    return [
        UnitOut(
            code=u.code,
            name=u.name,
            kind=u.kind,
            kind_label=UNIT_KIND_LABELS[u.kind],
            region_code=u.region_code,
            parent_code=u.parent_code,
            contact=u.contact,
            phone=u.phone,
        )
        for u in units.list_units(s)
    ]


@router.get("/registry/enterprises", response_model=list[EnterpriseOut])
def list_enterprises(
    p: Principal = Depends(require(*REGISTRY_READERS)), s: Session = Depends(read_db)
) -> list[EnterpriseOut]:
    """Every registered enterprise by credit code."""
    return [
        EnterpriseOut(
            id=e.id,
            credit_code=e.credit_code,
            name=e.name,
            region_code=e.region_code,
            industry=e.industry,
            control_level=e.control_level,
            permit_class=e.permit_class,
        )
        for e in enterprises.list_enterprises(s, p)
    ]


@router.get("/registry/sites", response_model=list[RegistrySiteOut])
def list_sites(
    p: Principal = Depends(require(*REGISTRY_READERS)), s: Session = Depends(read_db)
) -> list[RegistrySiteOut]:
    """Every registered site by kind and code (outlets with their enterprise's credit code)."""
    return [
        RegistrySiteOut(
            code=site.code,
            name=site.name,
            kind=site.kind,
            kind_label=KIND_LABELS.get(site.kind, site.kind),
            region_code=site.region_code,
            control_level=site.control_level,
            enterprise_credit_code=credit,
        )
        for site, credit in sites.list_sites(s)
    ]


# ---------------------------------------------------------------------------- detail and edit
# Detail routes admit every role and answer 404 for a record the caller may not see (the
# service decides, as for a record that does not exist); edits are the bureau's editors'.
# Every edit goes through the registry service of its entity, which checks each field and
# records the change (audit + timeline); a refusal is 422 naming the field, and the request's
# transaction is rolled back, so nothing is written.

# Every write route here commits before its answer is sent (``scope="function"``): with the
# default scope FastAPI ends a yield dependency after the response, so a page's next request
# could read the registry before the change was committed.
_REFUSED: dict[int | str, dict[str, Any]] = {
    422: {"model": EditRefused, "description": "a field is refused: nothing written"}
}
Key = Annotated[str, Path(min_length=1, max_length=100, pattern=ENTITY_ID_PATTERN)]


@contextmanager
def _refusals() -> Iterator[None]:
    try:
        yield
    except (RegistryNotFound, RegistryConflict):
        raise
    except RegistryError as exc:
        body = EditRefused(message=str(exc), field=exc.field)
        raise HTTPException(422, body.model_dump()) from None


def _detail_out(p: Principal, d: detail.Detail) -> RegistryDetailOut:
    editable = p.role in (DEVICE_ADMINS if d.entity_type == "device" else REGISTRY_EDITORS)
    return RegistryDetailOut(
        entity_type=d.entity_type,
        key=d.key,
        record=d.record,
        related=d.related,
        timeline=None
        if d.timeline is None
        else [
            TimelineEventOut(
                id=e.id,
                at=e.at,
                action=e.action,
                summary=e.summary,
                actor=e.actor_name,
                actor_role=e.actor_role,
                actor_unit=e.actor_unit,
                before=timeline.decode(e.before),
                after=timeline.decode(e.after),
            )
            for e in d.timeline
        ],
        attachments=[attachment_out(link, att) for link, att in d.attachments],
        editable=editable,
    )


def _edited(s: Session, p: Principal, entity_type: str, key: str, outcome: str) -> EditOut:
    return EditOut(outcome=outcome, detail=_detail_out(p, detail.DETAILS[entity_type](s, p, key)))


@router.get("/registry/regions/{code}", response_model=RegistryDetailOut)
def region_detail(
    code: Key, p: Principal = Depends(require(*READERS)), s: Session = Depends(read_db)
) -> RegistryDetailOut:
    """A region: its fields, outline state, sub-regions, plan targets, timeline, files."""
    return _detail_out(p, detail.region_detail(s, p, code))


@router.get(
    "/registry/regions/{code}/boundary",
    response_class=Response,
    responses={200: {"content": {"application/geo+json": {}}}},
)
def region_boundary(
    code: Key, p: Principal = Depends(require(*READERS)), s: Session = Depends(read_db)
) -> Response:
    """The region's recorded outline as a GeoJSON geometry (WGS-84)."""
    return Response(detail.region_outline(s, p, code), media_type="application/geo+json")


@router.put("/registry/regions/{code}", response_model=EditOut, responses=_REFUSED)
def edit_region(
    request: Request,
    code: Key,
    body: RegionIn,
    p: Principal = Depends(require(*REGISTRY_EDITORS)),
    s: Session = Depends(write_db, scope="function"),
) -> EditOut:
    """Change a region's name, level or parent."""
    rec = regions.RegionRecord(code, body.name, body.parent_code, body.level)
    with _refusals():
        if s.get(Region, code) is None:
            raise RegistryNotFound(f"区划代码 {code} 不存在", "code")
        _, outcome = regions.save_region(s, p, rec, client=client_of(request))
    return _edited(s, p, "region", code, outcome)


@router.put(
    "/registry/regions/{code}/boundary",
    response_model=EditOut,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/geo+json": {"schema": {"type": "string", "format": "binary"}}},
        }
    },
    responses=_REFUSED,
)
def replace_boundary(
    request: Request,
    code: Key,
    file_name: str = Query(..., min_length=1, max_length=255, description="the file's name"),
    source: str | None = Query(None, max_length=500, description="出处、许可"),
    body: bytes = Depends(upload_body),
    p: Principal = Depends(require(*REGISTRY_EDITORS)),
    s: Session = Depends(write_db, scope="function"),
) -> EditOut:
    """Replace a region's outline with an uploaded GeoJSON file (a Polygon or MultiPolygon,
    a Feature, or a FeatureCollection of one feature; WGS-84 longitude/latitude inside
    China). The file is kept as the region's ``boundary`` evidence beside the change."""
    with _refusals():
        if s.get(Region, code) is None:
            raise RegistryNotFound(f"区划代码 {code} 不存在", "code")
        try:
            raw = body.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise RegistryError(f"边界文件 {file_name} 不是 UTF-8 文本", "geometry") from None
        geometry = regions.geometry_from_geojson(raw, f"边界文件 {file_name}")
        outcome = regions.set_boundary(
            s, p, code, geometry, source=source or None, client=client_of(request)
        )
        attachments.add(
            s,
            AttachmentStore.of(ctx(request).settings),
            p,
            body,
            file_name=file_name,
            entity_type="region",
            entity_id=code,
            evidence="boundary",
        )
    return _edited(s, p, "region", code, outcome)


@router.put("/registry/regions/{code}/targets", response_model=EditOut, responses=_REFUSED)
def edit_target(
    request: Request,
    code: Key,
    body: TargetIn,
    p: Principal = Depends(require(*REGISTRY_EDITORS)),
    s: Session = Depends(write_db, scope="function"),
) -> EditOut:
    """Set one plan target (考核目标) of the region, by indicator and first year."""
    rec = regions.TargetRecord(
        region_code=code,
        indicator=body.indicator.strip(),
        year_from=body.year_from,
        value=body.value.strip(),
        unit=body.unit.strip(),
        source=body.source.strip(),
        comparison=body.comparison,
        year_to=body.year_to,
    )
    with _refusals():
        if s.get(Region, code) is None:
            raise RegistryNotFound(f"区划代码 {code} 不存在", "code")
        outcome = regions.save_target(s, p, rec, client=client_of(request))
    return _edited(s, p, "region", code, outcome)


@router.get("/registry/units/{code:path}", response_model=RegistryDetailOut)
def unit_detail(
    code: Key, p: Principal = Depends(require(*READERS)), s: Session = Depends(read_db)
) -> RegistryDetailOut:
    """An organisational unit (责任单位) with its sub-units, timeline and files."""
    return _detail_out(p, detail.unit_detail(s, p, code))


@router.put("/registry/units/{code:path}", response_model=EditOut, responses=_REFUSED)
def edit_unit(
    request: Request,
    code: Key,
    body: UnitIn,
    p: Principal = Depends(require(*REGISTRY_EDITORS)),
    s: Session = Depends(write_db, scope="function"),
) -> EditOut:
    rec = units.UnitRecord(
        code, body.name, body.kind, body.region_code, body.parent_code, body.contact, body.phone
    )
    with _refusals():
        if s.get(OrgUnit, code) is None:
            raise RegistryNotFound(f"单位代码 {code} 不存在", "code")
        _, outcome = units.save_unit(s, p, rec, client=client_of(request))
    return _edited(s, p, "org_unit", code, outcome)


@router.get("/registry/enterprises/{credit_code}", response_model=RegistryDetailOut)
def enterprise_detail(
    credit_code: Key, p: Principal = Depends(require(*READERS)), s: Session = Depends(read_db)
) -> RegistryDetailOut:
    """An enterprise (一企一档) with its outlets, permits, timeline and files."""
    return _detail_out(p, detail.enterprise_detail(s, p, credit_code))


@router.put("/registry/enterprises/{credit_code}", response_model=EditOut, responses=_REFUSED)
def edit_enterprise(
    request: Request,
    credit_code: Key,
    body: EnterpriseIn,
    p: Principal = Depends(require(*REGISTRY_EDITORS)),
    s: Session = Depends(write_db, scope="function"),
) -> EditOut:
    rec = enterprises.EnterpriseRecord(credit_code=credit_code, **body.model_dump())
    with _refusals():
        if enterprises.by_credit_code(s, credit_code) is None:
            raise RegistryNotFound(f"统一社会信用代码 {credit_code} 未登记", "credit_code")
        row, outcome = enterprises.save_enterprise(s, p, rec, client=client_of(request))
    return _edited(s, p, "enterprise", row.credit_code or credit_code, outcome)


@router.get("/registry/sites/{code:path}", response_model=RegistryDetailOut)
def site_detail(
    code: Key, p: Principal = Depends(require(*READERS)), s: Session = Depends(read_db)
) -> RegistryDetailOut:
    """A site of any kind with its kind's attributes, devices, timeline and files."""
    return _detail_out(p, detail.site_detail(s, p, code))


@router.put("/registry/sites/{code:path}", response_model=EditOut, responses=_REFUSED)
def edit_site(
    request: Request,
    code: Key,
    body: SiteIn,
    p: Principal = Depends(require(*REGISTRY_EDITORS)),
    s: Session = Depends(write_db, scope="function"),
) -> EditOut:
    """Change a site; an attribute of another kind is refused (e.g. 声环境功能区 on a
    surface-water section)."""
    rec = sites.SiteRecord(code=code, **body.model_dump())
    with _refusals():
        if s.scalar(select(Site.id).where(Site.code == code)) is None:
            raise RegistryNotFound(f"点位编码 {code} 不存在", "code")
        _, outcome = sites.save_site(s, p, rec, client=client_of(request))
    return _edited(s, p, "site", code, outcome)


@router.get("/registry/permits/{number:path}", response_model=RegistryDetailOut)
def permit_detail(
    number: Key, p: Principal = Depends(require(*READERS)), s: Session = Depends(read_db)
) -> RegistryDetailOut:
    """A discharge permit with its limits per outlet and pollutant and its annual amounts."""
    return _detail_out(p, detail.permit_detail(s, p, number))


@router.put("/registry/permits/{number:path}", response_model=EditOut, responses=_REFUSED)
def edit_permit(
    request: Request,
    number: Key,
    body: PermitIn,
    p: Principal = Depends(require(*REGISTRY_EDITORS)),
    s: Session = Depends(write_db, scope="function"),
) -> EditOut:
    """Change a permit: its class, validity and note, and its whole limit and annual-amount
    tables (a re-issued permit replaces them), in one transaction."""
    client = client_of(request)
    with _refusals():
        row = permits.permit_by_number(s, number)
        if row is None:
            raise RegistryNotFound(f"许可证 {number} 未登记", "number")
        ent = s.get(Enterprise, row.enterprise_id)
        assert ent is not None
        rec = permits.PermitRecord(
            number=number,
            enterprise=ent.credit_code or "",
            management_class=body.management_class,
            valid_from=body.valid_from,
            valid_to=body.valid_to,
            note=body.note,
        )
        outcomes = [
            permits.save_permit(s, p, rec, client=client)[1],
            permits.save_limits(
                s,
                p,
                number,
                [permits.LimitRecord(**x.model_dump()) for x in body.limits],
                client=client,
            ),
            permits.save_annual_amounts(
                s,
                p,
                number,
                [_amount(x) for x in body.amounts],
                client=client,
            ),
        ]
    changed = any(o != "unchanged" for o in outcomes)
    return _edited(s, p, "permit", number, "updated" if changed else "unchanged")


def _amount(x: AmountIn) -> permits.AmountRecord:
    if x.year is None:
        raise RegistryError(f"污染物 {x.pollutant} 的年许可排放量须填写年度", "year")
    return permits.AmountRecord(x.pollutant, x.year, x.amount, x.unit)


@router.get("/registry/devices/{mn}", response_model=RegistryDetailOut)
def device_detail(
    mn: Key, p: Principal = Depends(require(*READERS)), s: Session = Depends(read_db)
) -> RegistryDetailOut:
    """A device's registry record and its changes (never its password or SM4 key); devices
    are edited on the devices page (administrators)."""
    return _detail_out(p, detail.device_detail(s, p, mn))
