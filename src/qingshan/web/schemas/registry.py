"""The registry on the web: a workbook's validation report and the import's state; the
detail of one record and the bodies that edit it."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, Field

from qingshan.web.schemas.casework import AttachmentOut, TimelineEventOut


class ImportProblem(BaseModel):
    sheet: str = Field(description="the sheet's name (工作表)")
    row: int | None = Field(description="the row number in the sheet, as Excel shows it")
    column: str | None = Field(description="the column's header")
    message: str


class SheetCountOut(BaseModel):
    created: int
    updated: int
    unchanged: int


class ImportReport(BaseModel):
    ok: bool = Field(description="every row is good")
    committed: bool = Field(description="the rows were written (import only)")
    problems: list[ImportProblem]
    counts: dict[str, SheetCountOut] = Field(description="per sheet: rows new / changed / same")


class RegistryImportOut(BaseModel):
    id: int = Field(description="the import (its workflow instance): what the action URLs take")
    entity_id: str = Field(description="the registry_import entity: its timeline and files")
    state: str = Field(description="uploaded validated imported rejected")
    state_label: str
    file_name: str | None
    attachment_id: int | None = Field(description="the workbook upload (attachment link) id")
    rows_total: int | None
    rows_written: int | None
    reason: str | None = Field(description="why it was rejected")
    created_at: datetime
    updated_at: datetime
    report: ImportReport | None = Field(description="the last validation or import report")


class RejectIn(BaseModel):
    reason: str = Field(min_length=1, max_length=500, description="驳回原因")


class ImportRefused(BaseModel):
    """A workbook with a bad row: the message and the row-numbered report; nothing written."""

    message: str
    report: ImportReport


class RegionOut(BaseModel):
    code: str
    name: str
    level: str
    level_label: str
    parent_code: str | None
    has_boundary: bool


class UnitOut(BaseModel):
    code: str
    name: str
    kind: str
    kind_label: str
    region_code: str | None
    parent_code: str | None
    contact: str | None
    phone: str | None


class EnterpriseOut(BaseModel):
    id: int
    credit_code: str | None
    name: str
    region_code: str | None
    industry: str | None
    control_level: str | None
    permit_class: str | None


class RegistrySiteOut(BaseModel):
    code: str
    name: str
    kind: str
    kind_label: str
    region_code: str | None
    control_level: str | None
    enterprise_credit_code: str | None


# ---------------------------------------------------------------------------- detail and edit
# Edit bodies carry text as typed: the registry services check every field and answer in
# Chinese naming the field (422 EditRefused), so the models only bound the sizes.

_T = Field(None, max_length=1000)


class RegistryDetailOut(BaseModel):
    entity_type: str = Field(description="region org_unit enterprise site permit device")
    key: str = Field(description="the natural key: its timeline and attachments entity id")
    record: dict[str, Any] = Field(description="the record's fields (decimals as exact text)")
    related: dict[str, list[dict[str, Any]]] = Field(
        description="records hanging off it: children, targets, outlets, permits, devices, "
        "limits, amounts"
    )
    timeline: list[TimelineEventOut] | None = Field(
        description="its changes, oldest first (null: the caller's role reads no timelines)"
    )
    attachments: list[AttachmentOut]
    editable: bool = Field(description="the caller may edit it here")


class EditRefused(BaseModel):
    message: str = Field(description="why, in Chinese")
    field: str | None = Field(description="the record field at fault")


class RegionIn(BaseModel):
    name: str = Field(max_length=200)
    parent_code: str | None = Field(None, max_length=20)
    level: str | None = Field(None, max_length=20)


class UnitIn(BaseModel):
    name: str = Field(max_length=300)
    kind: str = Field(max_length=20)
    region_code: str | None = Field(None, max_length=20)
    parent_code: str | None = Field(None, max_length=200)
    contact: str | None = Field(None, max_length=100)
    phone: str | None = Field(None, max_length=100)


class EnterpriseIn(BaseModel):
    name: str = Field(max_length=300)
    region_code: str = Field(max_length=20)
    industry_code: str | None = Field(None, max_length=20)
    industry: str | None = Field(None, max_length=200)
    control_level: str | None = Field(None, max_length=20)
    permit_class: str | None = Field(None, max_length=20)
    key_discharger: bool = False
    longitude: str | None = Field(None, max_length=40)
    latitude: str | None = Field(None, max_length=40)
    address: str | None = Field(None, max_length=400)
    legal_representative: str | None = Field(None, max_length=100)
    env_contact: str | None = Field(None, max_length=100)
    contact_phone: str | None = Field(None, max_length=100)


class SiteIn(BaseModel):
    name: str = Field(max_length=300)
    kind: str = Field(max_length=40)
    region_code: str = Field(max_length=20)
    longitude: str | None = Field(None, max_length=40)
    latitude: str | None = Field(None, max_length=40)
    control_level: str | None = Field(None, max_length=40)
    water_body: str | None = Field(None, max_length=40)
    water_body_name: str | None = Field(None, max_length=200)
    target_class: str | None = Field(None, max_length=10)
    source_level: str | None = Field(None, max_length=40)
    source_type: str | None = Field(None, max_length=40)
    noise_zone: str | None = Field(None, max_length=10)
    enterprise: str | None = Field(None, max_length=40)
    outlet_medium: str | None = Field(None, max_length=20)


class LimitIn(BaseModel):
    outlet: str = Field(max_length=100)
    pollutant: str = Field(max_length=20)
    limit: str = Field(max_length=40)
    unit: str = Field(max_length=40)
    basis: str = Field(max_length=20)
    standard: str = Field(max_length=300)
    lower: str | None = Field(None, max_length=40)
    o2_ref: str | None = Field(None, max_length=40)
    source_table: str | None = Field(None, max_length=600)


class AmountIn(BaseModel):
    pollutant: str = Field(max_length=20)
    year: int | None = Field(None, description="checked by the service (1949–2200)")
    amount: str = Field(max_length=40)
    unit: str = Field("t/a", max_length=20)


class PermitIn(BaseModel):
    management_class: str = Field(max_length=20)
    valid_from: date | None
    valid_to: date | None = None
    note: str | None = _T
    limits: list[LimitIn] = Field(max_length=2000, description="the permit's whole limit table")
    amounts: list[AmountIn] = Field(max_length=2000, description="its whole annual amounts")


class TargetIn(BaseModel):
    indicator: str = Field(max_length=40)
    year_from: int = Field(description="checked by the service (1949–2200)")
    year_to: int | None = None
    value: str = Field(max_length=40)
    unit: str = Field(max_length=20)
    comparison: str = Field("at_least", pattern="^(at_least|at_most)$")
    source: str = Field(max_length=1000)


class EditOut(BaseModel):
    outcome: str = Field(description="updated or unchanged")
    detail: RegistryDetailOut
