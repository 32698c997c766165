"""Request and response shapes of the plans API (``/api/v1/plans``)."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, Field


class PlanOut(BaseModel):
    id: int
    template_id: str | None
    title: str
    region: str
    period: str


class ReportIn(BaseModel):
    indicator_no: str = Field(min_length=1, max_length=10, description="the indicator's 序号")
    year: int = Field(ge=1949, le=2200)
    value: str = Field(min_length=1, max_length=40, description="exact decimal text, no unit")
    note: str | None = Field(None, max_length=500)


class AssignedIn(BaseModel):
    indicator_no: str = Field(min_length=1, max_length=10, description="the indicator's 序号")
    year: int = Field(ge=1949, le=2200, description="the milestone year of the target")
    text: str = Field(
        min_length=1, max_length=200, description="as assigned: 42, ≤42, 较2020年降低18% …"
    )
    note: str | None = Field(None, max_length=500)


class AssignedOut(BaseModel):
    id: int
    text: str
    comparator: str
    value: str | None
    base_year: int | None
    note: str | None
    entered_by: str
    entered_at: str
    evidence: int


class ProgressIn(BaseModel):
    percent: int = Field(ge=0, le=100, description="percent done")
    text: str = Field(min_length=1, max_length=2000, description="what was done")


class ProgressSubmitIn(BaseModel):
    percent: int | None = Field(None, ge=0, le=100)
    text: str | None = Field(None, min_length=1, max_length=2000)


class ProgressReviewIn(BaseModel):
    accept: bool
    reason: str | None = Field(None, max_length=500)


class SchemeIn(BaseModel):
    text: str = Field(min_length=1, max_length=200_000, description="the scheme, TOML")


class SubmitIn(BaseModel):
    value: str | None = Field(None, min_length=1, max_length=40, description="a corrected value")


class ReviewIn(BaseModel):
    accept: bool
    reason: str | None = Field(None, max_length=500, description="why it is returned")


class ReportOut(BaseModel):
    id: int
    plan_id: int
    plan_title: str
    indicator_no: str
    indicator: str
    unit: str
    year: int
    value: str
    note: str | None
    unit_code: str | None
    state: str = Field(description="draft / submitted / returned / accepted")
    state_label: str
    reason: str | None
    evidence: int = Field(description="evidence files attached")


class CompleteIn(BaseModel):
    on: date = Field(description="the day the task was completed")
