"""Supervision cases on the web: the case desk (filters, overdue first), one case with its
actions, timeline and evidence, opening a case, taking it along its workflow, comments,
statistics. Thin: every rule is in :mod:`qingshan.services.cases`. A case the principal may not
see answers 404, as one that does not exist. Evidence is uploaded through ``POST
/attachments?entity_type=case&entity_id=CODE&evidence=KIND`` (the case service decides who may).
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any, Literal
from urllib.parse import quote

from fastapi import APIRouter, Depends, Path, Query, Response
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from qingshan.clock import cst_today
from qingshan.geo import wgs84_to_gcj02
from qingshan.roles import Principal, Role
from qingshan.services import attachments, timeline
from qingshan.services import workflows as wfs
from qingshan.services.cases import alarm as alarm_cases
from qingshan.services.cases import core, escalation, letters, stats, vocab
from qingshan.services.permissions import (
    ALARM_LEAD_SETTERS,
    CASE_LETTER_READERS,
    CASE_MANAGERS,
    CASE_OPENERS,
    CASE_READERS,
    CASE_WORKERS,
    SOURCE_CONFIRMERS,
)
from qingshan.services.sources import alarms
from qingshan.storage.models import Enterprise, Site
from qingshan.storage.models_cases import CaseItem
from qingshan.web.deps import read_db, require, write_db

router = APIRouter(tags=["cases"])
# 信息公开: no log-in (listed in qingshan.web.deps.PUBLIC_ROUTES)
public_router = APIRouter(tags=["public"])

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
CODE = r"^[A-Za-z0-9\-_.（）()\u4e00-\u9fff]{1,64}$"


class CaseSummary(BaseModel):
    code: str
    origin: str
    origin_label: str
    round: int | None
    kind: str
    kind_label: str
    title: str
    category: str | None
    lead_unit: str | None
    acceptance_unit: str | None
    state: str
    state_label: str
    received_on: date
    due_on: date | None
    days_left: int | None = Field(description="days to the due day (negative: overdue)")
    overdue: bool
    closed: bool = Field(False, description="办结 / 整改到位 (tag closed) or not counted")
    warning: str | None
    supervised_on: date | None
    point: list[float] | None = Field(
        None,
        description="[longitude, latitude] WGS-84: the case's point, else its site's or "
        "enterprise's (for the map)",
    )


class ActionOut(BaseModel):
    name: str
    label: str
    allowed: bool
    message: str
    requires: list[dict[str, Any]]
    evidence: list[dict[str, str]]


class EventOut(BaseModel):
    at: str
    actor: str | None
    role: str | None
    unit: str | None
    action: str
    summary: str | None


class EvidenceOut(BaseModel):
    id: int
    file_name: str
    evidence: str | None
    evidence_label: str | None
    uploaded_at: str


class CaseDetail(CaseSummary):
    description: str | None
    batch: str | None
    item_no: str | None
    national_id: str | None
    channel: str | None
    river: str | None
    reach: str | None
    region_code: str | None
    address: str | None
    longitude: float | None
    latitude: float | None
    supporting_units: list[str]
    due_basis: str | None
    rectified_on: date | None
    signed_off_on: date | None
    closed_on: date | None
    finding: str | None
    fields: dict[str, Any]
    actions: list[ActionOut]
    timeline: list[EventOut]
    evidence: list[EvidenceOut]
    evidence_kinds: list[dict[str, str]]
    enterprise: str | None = Field(None, description="the enterprise's credit code")
    site: str | None = Field(None, description="the site's code")
    episode_id: int | None = None
    repeat_of: str | None = Field(None, description="the code of the earlier complaint")
    may_edit: bool = Field(False, description="修改 (the bureau, not on a voided case)")
    may_extend: bool = Field(False, description="延期办理 (the bureau, open complaints)")
    may_confirm: bool = Field(False, description="确认 the alarm episode (an alarm case)")
    notices: list[str] = Field(default_factory=list, description="warnings to show")


class CaseIn(BaseModel):
    origin: str = Field(max_length=40)
    title: str = Field(max_length=300)
    received_on: date
    kind: str | None = Field(None, max_length=20)
    code: str | None = Field(None, max_length=64)
    round: int | None = Field(None, ge=1, le=20)
    batch: str | None = Field(None, max_length=40)
    item_no: str | None = Field(None, max_length=40)
    national_id: str | None = Field(None, max_length=40)
    channel: str | None = Field(None, max_length=12)
    river: str | None = Field(None, max_length=100)
    reach: str | None = Field(None, max_length=100)
    description: str | None = Field(None, max_length=20_000)
    category: str | None = Field(None, max_length=20)
    region: str | None = Field(None, max_length=12)
    enterprise: str | None = Field(None, max_length=18)
    site: str | None = Field(None, max_length=64)
    longitude: float | None = None
    latitude: float | None = None
    address: str | None = Field(None, max_length=300)
    lead_unit: str | None = Field(None, max_length=200)
    supporting_units: list[str] = Field(default_factory=list, max_length=20)
    acceptance_unit: str | None = Field(None, max_length=200)
    due_on: date | None = None
    deadline_days: int | None = Field(None, ge=1, le=3660)
    deadline_unit: str = Field("calendar", pattern="^(calendar|working)$")
    repeat_of: str | None = Field(None, max_length=64)


class FireIn(BaseModel):
    fields: dict[str, str | int | bool | None] = Field(default_factory=dict, max_length=20)
    note: str | None = Field(None, max_length=2000)


class CommentIn(BaseModel):
    text: str = Field(min_length=1, max_length=2000)


class ReasonIn(BaseModel):
    reason: str = Field(min_length=1, max_length=500)


class ExtendIn(ReasonIn):
    days: int = Field(ge=1, le=365)


class StepIn(BaseModel):
    step: str = Field(max_length=4)
    decided_on: date
    unit: str | None = Field(None, max_length=200)
    person: str | None = Field(None, max_length=50)
    position: str | None = Field(None, max_length=100)
    note: str | None = Field(None, max_length=2000)


def _summary(c: CaseItem, today: date, point: tuple[float, float] | None = None) -> dict[str, Any]:
    wf = core.workflow_of(c)
    return {
        "point": list(point) if point else None,
        "code": c.code,
        "origin": c.origin,
        "origin_label": vocab.ORIGIN_LABELS[c.origin],
        "round": c.round,
        "kind": c.kind,
        "kind_label": vocab.KIND_LABELS[c.kind],
        "title": c.title,
        "category": c.category,
        "lead_unit": c.lead_unit,
        "acceptance_unit": c.acceptance_unit,
        "state": c.state,
        "state_label": wf.states[c.state].label,
        "received_on": c.received_on,
        "due_on": c.due_on,
        "days_left": (c.due_on - today).days if c.due_on else None,
        "overdue": core.overdue(c, wf, today),
        "closed": bool({"closed", "excluded"} & set(wf.states[c.state].tags)),
        "warning": c.warning,
        "supervised_on": c.supervised_on,
    }


def _detail(s: Session, p: Principal, c: CaseItem) -> CaseDetail:
    wf = core.workflow_of(c)
    inst = wfs.find(s, c.workflow, core.ENTITY, c.code)
    fields: dict[str, Any] = json.loads(inst.fields) if inst else {}
    actions = []
    if inst is not None and p.role != Role.LEADER:
        mine = core.relations(s, c, p.unit)
        for t, d in wfs.options(s, p, inst):
            allowed, message = d.allowed, d.message
            if allowed and p.role == Role.UNIT and t.units and not mine & set(t.units):
                allowed, message = False, "本单位不是该案件的相关单位"
            if d.code == "role" or (p.role == Role.UNIT and t.units and not mine & set(t.units)):
                continue  # not this principal's step at all
            actions.append(
                ActionOut(
                    name=t.name,
                    label=t.label,
                    allowed=allowed,
                    message=message,
                    requires=[
                        {
                            "name": n,
                            "label": wf.fields[n].label,
                            "type": wf.fields[n].type,
                            "choices": list(wf.fields[n].choices),
                            "value": fields.get(n),
                        }
                        for n in t.requires
                    ],
                    evidence=[{"name": e, "label": wf.evidence[e].label} for e in t.evidence],
                )
            )
    events = [
        EventOut(
            at=e.at.isoformat() + "Z",
            actor=e.actor_name,
            role=e.actor_role,
            unit=e.actor_unit,
            action=e.action,
            summary=e.summary,
        )
        for e in (
            []
            if p.role == Role.ENTERPRISE
            else timeline.events(s, p, core.ENTITY, c.code, limit=1000)
        )  # enterprise users read the case, not the bureau's working record
    ]
    files = [
        EvidenceOut(
            id=link.id,
            file_name=link.file_name,
            evidence=link.evidence,
            evidence_label=wf.evidence[link.evidence].label
            if link.evidence is not None and link.evidence in wf.evidence
            else None,
            uploaded_at=link.linked_at.isoformat() + "Z",
        )
        for link, _att in attachments.of_entity(s, p, core.ENTITY, c.code)
    ]
    tags = core.state_tags(c)
    manager = p.role in CASE_MANAGERS
    notices = []
    if c.origin == core.ALARM_ORIGIN and c.lead_unit is None and "closed" not in tags:
        notices.append(alarm_cases.NO_LEAD_WARNING)
    credit = s.scalar(select(Enterprise.credit_code).where(Enterprise.id == c.enterprise_id))
    site = s.scalar(select(Site.code).where(Site.id == c.site_id))
    return CaseDetail(
        **_summary(c, cst_today(), core.points(s, [c]).get(c.id)),
        enterprise=credit,
        site=site,
        episode_id=c.episode_id,
        repeat_of=s.scalar(select(CaseItem.code).where(CaseItem.id == c.repeat_of))
        if c.repeat_of
        else None,
        may_edit=manager and "excluded" not in tags,
        may_extend=manager
        and c.kind == "complaint"
        and not c.extended_days
        and c.due_on is not None
        and not {"closed", "excluded"} & set(tags),
        may_confirm=alarms.may_confirm_case(s, p, c),
        notices=notices,
        description=c.description,
        batch=c.batch,
        item_no=c.item_no,
        national_id=c.national_id,
        channel=c.channel,
        river=c.river,
        reach=c.reach,
        region_code=c.region_code,
        address=c.address,
        longitude=c.longitude,
        latitude=c.latitude,
        supporting_units=core.supporting(s, c),
        due_basis=c.due_basis,
        rectified_on=c.rectified_on,
        signed_off_on=c.signed_off_on,
        closed_on=c.closed_on,
        finding=c.finding,
        fields=fields,
        actions=actions,
        timeline=events,
        evidence=files,
        evidence_kinds=[{"name": e.name, "label": e.label} for e in wf.evidence.values()],
    )


@router.get("/cases", response_model=list[CaseSummary])
def list_cases(
    origin: str | None = Query(None, max_length=40),
    kind: str | None = Query(None, max_length=20),
    round: int | None = Query(None, ge=1, le=20),
    state: str | None = Query(None, max_length=40),
    unit: str | None = Query(None, max_length=100),
    region: str | None = Query(None, max_length=12),
    overdue: bool | None = None,
    open_only: bool = Query(False, alias="open"),
    q: str | None = Query(None, max_length=100),
    limit: int = Query(500, ge=1, le=2000),
    datum: Literal["wgs84", "gcj02"] = Query(
        "wgs84", description="the datum of ``point`` (gcj02: for AMap-style tiles)"
    ),
    p: Principal = Depends(require(*CASE_READERS)),
    s: Session = Depends(read_db),
) -> list[dict[str, Any]]:
    """The case desk: the cases the principal may see, overdue first, then by due day. A unit
    user's list is their unit's inbox of cases."""
    f = core.Filters(
        origin=vocab.origin_of(origin) if origin else None,
        kind=vocab.kind_of(kind) if kind else None,
        round=round,
        state=state,
        unit=unit,
        region=region,
        overdue=overdue,
        open_only=open_only,
        text=q,
    )
    today = cst_today()
    rows = core.listing(s, p, f, limit=limit)
    where = core.points(s, rows)
    if datum == "gcj02":
        where = {k: wgs84_to_gcj02(*v) for k, v in where.items()}
    return [_summary(c, today, where.get(c.id)) for c in rows]


@router.get("/cases/stats")
def case_stats(
    region: str | None = Query(None, max_length=12),
    p: Principal = Depends(require(*CASE_READERS)),
    s: Session = Depends(read_db),
) -> list[dict[str, Any]]:
    """Per origin, round and kind: total, rectified, signed_off, closed, in_progress, overdue,
    closure_rate, on_time_rate, average_handling_days, repeat (of the cases the principal
    may see)."""
    return [r.as_dict() for r in stats.compute(s, p, region=region)]


@router.get("/cases/stats/yoy")
def case_stats_yoy(
    year: int = Query(..., ge=1990, le=2200),
    region: str | None = Query(None, max_length=12),
    p: Principal = Depends(require(*CASE_READERS)),
    s: Session = Depends(read_db),
) -> list[dict[str, Any]]:
    """同比: per origin and kind, cases received and closed in ``year`` and in the year
    before, with the change and its rate (fields as ``qingshan case stats --year``)."""
    return [r.as_dict() for r in stats.compute_year_on_year(s, p, year, region=region)]


class AlarmLeadOut(BaseModel):
    region_code: str | None
    region_name: str | None
    unit_code: str
    unit_name: str


class AlarmLeadIn(BaseModel):
    region: str | None = Field(None, max_length=12, description="None: every region")
    unit: str | None = Field(None, max_length=200, description="None: remove the rule")


@router.get("/cases/settings/alarm-leads", response_model=list[AlarmLeadOut])
def alarm_leads(
    p: Principal = Depends(require(*CASE_MANAGERS)),
    s: Session = Depends(read_db),
) -> list[alarm_cases.AlarmLead]:
    """Which unit leads the automatic-alarm cases, deployment-wide and per region."""
    return alarm_cases.alarm_leads(s)


@router.put("/cases/settings/alarm-leads", response_model=list[AlarmLeadOut])
def set_alarm_lead(
    body: AlarmLeadIn,
    p: Principal = Depends(require(*ALARM_LEAD_SETTERS)),
    s: Session = Depends(write_db, scope="function"),
) -> list[alarm_cases.AlarmLead]:
    """Set (or with no unit, remove) the unit leading the automatic-alarm cases of a region
    (none: every region without a rule of its own)."""
    alarm_cases.set_alarm_lead(s, p, body.unit, region=body.region)
    return alarm_cases.alarm_leads(s)


@router.get("/cases/{code}", response_model=CaseDetail)
def get_case(
    code: str = Path(..., pattern=CODE),
    p: Principal = Depends(require(*CASE_READERS)),
    s: Session = Depends(read_db),
) -> CaseDetail:
    """One case: what it says, the actions the principal may take now (and why others are
    not yet possible), its timeline and evidence."""
    return _detail(s, p, core.get(s, p, code))


@router.get(
    "/cases/{code}/letters/{kind}",
    response_class=Response,
    responses={200: {"content": {DOCX: {}}, "description": "the letter as .docx"}},
)
def letter(
    code: str,
    kind: str,
    p: Principal = Depends(require(*CASE_LETTER_READERS)),
    s: Session = Depends(read_db),
) -> Response:
    """交办单 (``assignment``), 督办通知 (``supervision``) or 销号审批表 (``sign_off``) as Word."""
    name, data = letters.letter(s, p, code, kind)
    disposition = f"attachment; filename*=UTF-8''{quote(name)}"
    return Response(data, media_type=DOCX, headers={"Content-Disposition": disposition})


@router.post("/cases", response_model=CaseDetail, status_code=201)
def open_case(
    body: CaseIn,
    p: Principal = Depends(require(*CASE_OPENERS)),
    s: Session = Depends(write_db, scope="function"),
) -> CaseDetail:
    """Open a case (交办 / 登记 / 上报); the workflow decides which roles may open which kind."""
    inp = core.CaseInput(**body.model_dump())
    return _detail(s, p, core.open_case(s, p, inp))


@router.put("/cases/{code}", response_model=CaseDetail)
def update_case(
    body: CaseIn,
    code: str = Path(..., pattern=CODE),
    p: Principal = Depends(require(*CASE_MANAGERS)),
    s: Session = Depends(write_db, scope="function"),
) -> CaseDetail:
    """Change what a case says (not its state, its code or its kind): the whole case as
    ``POST /cases`` takes it; the change is on the timeline with before and after."""
    inp = core.CaseInput(**{**body.model_dump(), "code": code})
    case, _changed = core.update_case(s, p, code, inp)
    return _detail(s, p, case)


class ConfirmIn(BaseModel):
    note: str = Field(min_length=1, max_length=500)


@router.post("/cases/{code}/confirm", response_model=CaseDetail)
def confirm(
    body: ConfirmIn,
    code: str = Path(..., pattern=CODE),
    p: Principal = Depends(require(*SOURCE_CONFIRMERS)),
    s: Session = Depends(write_db, scope="function"),
) -> CaseDetail:
    """确认 an automatic-alarm case: confirms its episode (as ``qingshan case confirm``), which
    closes the episode and the case once the condition has cleared."""
    alarms.confirm_case(s, p, code, body.note)
    return _detail(s, p, core.get(s, p, code))


@router.post("/cases/{code}/actions/{action}", response_model=CaseDetail)
def fire(
    code: str,
    action: str,
    body: FireIn,
    p: Principal = Depends(require(*CASE_WORKERS)),
    s: Session = Depends(write_db, scope="function"),
) -> CaseDetail:
    """Take the case along a transition of its workflow (422 with the reason when the rules
    refuse: role, unit, missing field or evidence)."""
    values = {k: v for k, v in body.fields.items() if v is not None and v != ""}
    return _detail(s, p, core.fire(s, p, code, action, fields=values, note=body.note))


@router.post("/cases/{code}/comments", response_model=CaseDetail)
def comment(
    code: str,
    body: CommentIn,
    p: Principal = Depends(require(*CASE_WORKERS)),
    s: Session = Depends(write_db, scope="function"),
) -> CaseDetail:
    core.comment(s, p, code, body.text)
    return _detail(s, p, core.get(s, p, code))


@router.post("/cases/{code}/extend", response_model=CaseDetail)
def extend(
    code: str,
    body: ExtendIn,
    p: Principal = Depends(require(*CASE_MANAGERS)),
    s: Session = Depends(write_db, scope="function"),
) -> CaseDetail:
    return _detail(s, p, core.extend(s, p, code, body.days, body.reason))


@router.post("/cases/{code}/supervise", response_model=CaseDetail)
def supervise(
    code: str,
    body: ReasonIn,
    p: Principal = Depends(require(*CASE_MANAGERS)),
    s: Session = Depends(write_db, scope="function"),
) -> CaseDetail:
    """挂牌督办."""
    return _detail(s, p, escalation.supervise(s, p, code, body.reason))


@router.post("/cases/{code}/accountability", response_model=CaseDetail)
def accountability(
    code: str,
    body: StepIn,
    p: Principal = Depends(require(*CASE_MANAGERS)),
    s: Session = Depends(write_db, scope="function"),
) -> CaseDetail:
    """Record 通报 / 约谈 / 问责 against a unit and/or a person (in that order)."""
    escalation.record_step(s, p, code, escalation.StepInput(**body.model_dump()))
    return _detail(s, p, core.get(s, p, code))


# The dataclass is the response model: the public table has one definition.
@public_router.get("/public/cases", response_model=list[stats.PublicRow])
def public_cases(s: Session = Depends(read_db)) -> list[stats.PublicRow]:
    """整改结果公示 (no log-in): inspection problems announced or signed off, and the complaints
    an inspection transferred with their results — titles and results only, nothing about
    reporters."""
    return stats.public_table(s)
