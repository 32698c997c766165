"""The registry's web import: a workbook's validation report and the import's state."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


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
