"""Cases: open, read within the principal's scope, move along their workflow, comment, void.

A case is a ``case_item`` row plus one workflow instance (entity ``case``, id = the case
code) of the definition its kind follows (:data:`vocab.KIND_WORKFLOWS`). Every transition goes
through :func:`fire`, which adds to the workflow rules the case's own: a ``unit`` user acts only
on the cases of their unit, and only where the definition names that relation (牵头单位 for
rectifying, 验收单位 for acceptance); the days a case was rectified, signed off and closed
follow the state's tags. Everything is on the case's timeline (``case`` / code).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, exists, false, or_, select, true
from sqlalchemy.orm import Session

from qingshan.clock import cst_today, utcnow
from qingshan.roles import Principal, Role
from qingshan.services import attachments, permissions, timeline, workcalendar
from qingshan.services import workflows as wfs
from qingshan.services.cases import deadlines, vocab
from qingshan.services.errors import Conflict, NotFound, ServiceError
from qingshan.services.registry.rules import FieldProblem, check_in_china, coordinate
from qingshan.storage.models import Enterprise, Region, Site
from qingshan.storage.models_cases import CaseItem, CaseSupportingUnit
from qingshan.storage.models_registry import OrgUnit
from qingshan.workdays import add_period
from qingshan.workflow import Workflow, may_start

ENTITY = "case"
ALARM_ORIGIN = "automatic_alarm"
ALARM_CLOSE = "close"  # the transition of the alarm workflow that only the episode fires
CASE_MANAGERS = permissions.CASE_MANAGERS  # edit, extend, supervise, accountability, import
CODE_PATTERN = re.compile(r"^[A-Za-z0-9\-_.（）()\u4e00-\u9fff]{1,64}$")
NATIONAL_ID = re.compile(r"^[A-Z0-9]{6,40}$")
TAG_DATES = (
    ("rectified", "rectified_on"),
    ("signed_off", "signed_off_on"),
    ("closed", "closed_on"),
)


class CaseError(ServiceError):
    """A case operation refused, with the field at fault (for a ledger's column)."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class CaseNotFound(CaseError, NotFound):
    pass


class CaseConflict(CaseError, Conflict):
    pass


@dataclass(slots=True)
class CaseInput:
    """What opening (or a ledger row) says about a case. Units by code or name, the
    enterprise by its credit code, the site by its code."""

    origin: str
    title: str
    received_on: date
    kind: str | None = None
    code: str | None = None
    round: int | None = None
    batch: str | None = None
    item_no: str | None = None
    national_id: str | None = None
    channel: str | None = None
    river: str | None = None
    reach: str | None = None
    description: str | None = None
    category: str | None = None
    region: str | None = None
    enterprise: str | None = None
    site: str | None = None
    longitude: str | float | None = None
    latitude: str | float | None = None
    address: str | None = None
    lead_unit: str | None = None
    supporting_units: list[str] = field(default_factory=list)
    acceptance_unit: str | None = None
    due_on: date | None = None
    deadline_days: int | None = None
    deadline_unit: str = "calendar"  # calendar | working
    repeat_of: str | None = None
    note: str | None = None


# ---------------------------------------------------------------------------- scope


def case_scope(p: Principal) -> ColumnElement[bool]:
    """The cases a principal may see: the bureau and leaders all; a unit user those where
    the unit is lead, supporting or acceptance unit; a grid user patrol findings and what
    they reported; an enterprise user the cases whose enterprise is theirs (an automatic
    alarm of its outlets, a complaint or inspection item about it), read-only; nobody else
    any."""
    c = CaseItem
    if p.role in (Role.ADMIN, Role.STAFF, Role.LEADER):
        return true()
    if p.role == Role.ENTERPRISE and p.enterprise_id is not None:
        return c.enterprise_id == p.enterprise_id
    if p.role == Role.UNIT and p.unit:
        supporting = exists().where(
            CaseSupportingUnit.case_id == c.id, CaseSupportingUnit.unit_code == p.unit
        )
        return or_(c.lead_unit == p.unit, c.acceptance_unit == p.unit, supporting)
    if p.role == Role.GRID:
        return or_(c.kind == "patrol", c.created_by == p.user_id)
    return false()


def get(s: Session, p: Principal, code: str) -> CaseItem:
    """The case of that code, if the principal may see it (else not found: the same answer
    as for a case that does not exist)."""
    row = s.scalar(select(CaseItem).where(CaseItem.code == code, case_scope(p)))
    if row is None:
        raise CaseNotFound(f"没有编号为 {code} 的案件")
    return row


def relations(s: Session, case: CaseItem, unit: str | None) -> set[str]:
    """How ``unit`` stands to the case: lead, supporting, acceptance."""
    if not unit:
        return set()
    out = set()
    if case.lead_unit == unit:
        out.add("lead")
    if case.acceptance_unit == unit:
        out.add("acceptance")
    if unit in supporting(s, case):
        out.add("supporting")
    return out


def supporting(s: Session, case: CaseItem) -> list[str]:
    return list(
        s.scalars(
            select(CaseSupportingUnit.unit_code)
            .where(CaseSupportingUnit.case_id == case.id)
            .order_by(CaseSupportingUnit.unit_code)
        )
    )


def read_only(p: Principal) -> bool:
    """Leaders and enterprise users read cases and change nothing."""
    return p.role in (Role.LEADER, Role.ENTERPRISE)


def _may_attach(s: Session, p: Principal, entity_id: str) -> bool:
    if read_only(p):
        return False
    row = s.scalar(select(CaseItem).where(CaseItem.code == entity_id, case_scope(p)))
    return row is not None and "excluded" not in state_tags(row)


attachments.register_attach_check(ENTITY, _may_attach)


# ---------------------------------------------------------------------------- checks


def workflow_of(case: CaseItem) -> Workflow:
    return wfs.definition(case.workflow)


def state_tags(case: CaseItem) -> tuple[str, ...]:
    return workflow_of(case).states[case.state].tags


def state_label(case: CaseItem) -> str:
    return workflow_of(case).states[case.state].label


def _text(value: str | None, fld: str, label: str, limit: int) -> str | None:
    if value is None:
        return None
    t = str(value).strip()
    if not t:
        return None
    if len(t) > limit:
        raise CaseError(f"{label}不能超过 {limit} 个字符", fld)
    return t


def find_unit(s: Session, text: str, fld: str, label: str) -> str:
    """A registered unit's code, from its code or its name."""
    t = text.strip()
    if s.get(OrgUnit, t) is not None:
        return t
    codes = list(s.scalars(select(OrgUnit.code).where(OrgUnit.name == t)))
    if len(codes) == 1:
        return codes[0]
    if len(codes) > 1:
        raise CaseError(f"{label}「{t}」有多个同名单位，请填写单位代码", fld)
    raise CaseError(f"{label}「{t}」未登记：先登记该责任单位（qingshan unit add）", fld)


def _kind(inp: CaseInput) -> str:
    if inp.origin not in vocab.ORIGIN_KINDS:
        try:
            inp.origin = vocab.origin_of(inp.origin)
        except ValueError as exc:
            raise CaseError(str(exc), "origin") from None
    allowed = vocab.ORIGIN_KINDS[inp.origin]
    if inp.kind is None:
        return allowed[0]
    try:
        kind = vocab.kind_of(inp.kind)
    except ValueError as exc:
        raise CaseError(str(exc), "kind") from None
    if kind not in allowed:
        kinds = "、".join(vocab.KIND_LABELS[k] for k in allowed)
        raise CaseError(f"来源为{vocab.ORIGIN_LABELS[inp.origin]}的案件类型只能是 {kinds}", "kind")
    return kind


def _checked(s: Session, inp: CaseInput, *, existing: CaseItem | None) -> dict[str, Any]:
    """The column values of a case from its input, every rule checked."""
    kind = _kind(inp)
    origin = inp.origin
    v: dict[str, Any] = {"kind": kind, "origin": origin}
    title = _text(inp.title, "title", "标题", 300)
    if title is None:
        raise CaseError("标题（问题或诉求概要）不能为空", "title")
    v["title"] = title
    v["description"] = _text(inp.description, "description", "问题描述", 20_000)
    v["note"] = _text(inp.note, "note", "备注", 2_000)
    if origin in vocab.INSPECTIONS:
        if inp.round is None:
            raise CaseError("督察案件须填写督察轮次（第几轮）", "round")
        if inp.round < 1 or inp.round > 20:
            raise CaseError(f"督察轮次应为 1–20，而不是 {inp.round}", "round")
    elif inp.round is not None:
        raise CaseError(f"只有中央或省级督察案件有轮次，{vocab.ORIGIN_LABELS[origin]}没有", "round")
    v["round"] = inp.round
    v["batch"] = _text(inp.batch, "batch", "批次", 40)
    v["item_no"] = _text(inp.item_no, "item_no", "序号", 40)
    nid = _text(inp.national_id, "national_id", "全国统一编号", 40)
    if nid is not None:
        if kind != "complaint":
            raise CaseError("只有信访件（督察转办信访件）有全国统一编号", "national_id")
        if not NATIONAL_ID.fullmatch(nid):
            raise CaseError(
                f"全国统一编号 {nid!r} 格式不对：应为 6–40 位大写字母和数字（如 D3SX202505280018）",
                "national_id",
            )
        other = s.scalar(select(CaseItem).where(CaseItem.national_id == nid))
        if other is not None and (existing is None or other.id != existing.id):
            raise CaseConflict(f"全国统一编号 {nid} 已用于案件 {other.code}", "national_id")
    v["national_id"] = nid
    channel = _text(inp.channel, "channel", "来源渠道", 12)
    if kind == "complaint":
        if origin in vocab.INSPECTIONS:
            channel = channel or "督察转办"
        if channel is None:
            raise CaseError(f"信访件须填写来源渠道（{'、'.join(vocab.CHANNELS)}）", "channel")
        if channel not in vocab.CHANNELS:
            raise CaseError(
                f"来源渠道 {channel!r} 无效，应为 {'、'.join(vocab.CHANNELS)} 之一", "channel"
            )
    elif channel is not None:
        raise CaseError("只有信访件有来源渠道", "channel")
    v["channel"] = channel
    v["river"] = _text(inp.river, "river", "河流", 100)
    v["reach"] = _text(inp.reach, "reach", "河段", 100)
    if origin == "river_patrol" and v["river"] is None:
        raise CaseError("河湖长巡河发现的问题须填写河流（河湖名称）", "river")
    if origin != "river_patrol" and (v["river"] or v["reach"]):
        raise CaseError("只有河湖长巡河的问题填写河流、河段", "river")
    cat = _text(inp.category, "category", "类别", 20)
    if cat is not None and cat not in vocab.CATEGORIES:
        raise CaseError(f"类别 {cat!r} 无效，应为 {'、'.join(vocab.CATEGORIES)} 之一", "category")
    v["category"] = cat
    region = _text(inp.region, "region", "所在区划", 12)
    if region is not None and s.get(Region, region) is None:
        raise CaseError(f"所在区划 {region} 不存在：先登记区划", "region")
    v["region_code"] = region
    v["enterprise_id"] = None
    if inp.enterprise:
        ent = s.scalar(select(Enterprise).where(Enterprise.credit_code == inp.enterprise.strip()))
        if ent is None:
            raise CaseError(f"企业（统一社会信用代码 {inp.enterprise}）未登记", "enterprise")
        v["enterprise_id"] = ent.id
        v["region_code"] = v["region_code"] or ent.region_code
    v["site_id"] = None
    if inp.site:
        site = s.scalar(select(Site).where(Site.code == inp.site.strip()))
        if site is None:
            raise CaseError(f"点位 {inp.site} 未登记", "site")
        v["site_id"] = site.id
    lon, lat = inp.longitude, inp.latitude
    if (lon is None) != (lat is None):
        raise CaseError("经度和纬度须同时填写", "longitude" if lon is None else "latitude")
    v["longitude"] = v["latitude"] = None
    if lon is not None and lat is not None:
        try:
            dlon, dlat = check_in_china(coordinate(lon, "经度"), coordinate(lat, "纬度"))
        except FieldProblem as exc:
            raise CaseError(str(exc), "longitude") from None
        v["longitude"], v["latitude"] = float(dlon), float(dlat)
    v["address"] = _text(inp.address, "address", "地址", 300)
    v["lead_unit"] = find_unit(s, inp.lead_unit, "lead_unit", "牵头单位") if inp.lead_unit else None
    if kind == "problem" and v["lead_unit"] is None:
        raise CaseError("督察整改问题须填写牵头（责任）单位", "lead_unit")
    acc = inp.acceptance_unit
    v["acceptance_unit"] = find_unit(s, acc, "acceptance_unit", "验收单位") if acc else None
    if v["acceptance_unit"] is not None and v["acceptance_unit"] == v["lead_unit"]:
        raise CaseError("验收单位须与整改牵头单位不同（不能自己验收自己）", "acceptance_unit")
    sup = []
    for u in inp.supporting_units:
        code = find_unit(s, u, "supporting_units", "配合单位")
        if code == v["lead_unit"]:
            raise CaseError(f"配合单位「{u}」已是牵头单位", "supporting_units")
        if code not in sup:
            sup.append(code)
    v["supporting"] = sup
    v["received_on"] = inp.received_on
    if inp.received_on > cst_today():
        raise CaseError(f"交办（受理）日期 {inp.received_on} 晚于今天", "received_on")
    v.update(_deadline(s, inp, kind))
    v["repeat_of"] = None
    if inp.repeat_of:
        first = s.scalar(select(CaseItem).where(CaseItem.code == inp.repeat_of.strip()))
        if first is None:
            raise CaseError(f"重复件所指的案件 {inp.repeat_of} 不存在", "repeat_of")
        if first.kind != "complaint" or kind != "complaint":
            raise CaseError("只有信访件之间可以关联重复件", "repeat_of")
        if existing is not None and first.id == existing.id:
            raise CaseError("案件不能是自己的重复件", "repeat_of")
        v["repeat_of"] = first.id
    return v


def _deadline(s: Session, inp: CaseInput, kind: str) -> dict[str, Any]:
    """The due day: as given, or a period on the working-day calendar (given, or the
    kind's default from ``limits.toml``)."""
    if inp.due_on is not None and inp.deadline_days is not None:
        raise CaseError("整改时限和期限天数只能填一个", "due_on")
    if inp.due_on is not None:
        if inp.due_on < inp.received_on:
            raise CaseError(f"时限 {inp.due_on} 早于交办日期 {inp.received_on}", "due_on")
        return {"due_on": inp.due_on, "due_basis": f"时限 {inp.due_on.isoformat()}"}
    days, unit = inp.deadline_days, inp.deadline_unit
    lim = vocab.limits()
    if days is None and kind == "complaint":
        days, unit = lim.complaint_days, lim.complaint_unit
    elif days is None and kind == "patrol":
        days, unit = lim.patrol_days, lim.patrol_unit
    if days is None:
        return {"due_on": None, "due_basis": None}
    if not 1 <= days <= 3660:
        raise CaseError(f"期限天数应为 1–3660，而不是 {days}", "deadline_days")
    if unit not in ("calendar", "working"):
        raise CaseError("期限单位应为 calendar（自然日）或 working（工作日）", "deadline_unit")
    d = add_period(workcalendar.calendar(s), inp.received_on, days, unit)  # type: ignore[arg-type]
    return {"due_on": d.due, "due_basis": d.explain()[:300]}


def _next_code(s: Session, origin: str, day: date) -> str:
    prefix = f"{vocab.CODE_PREFIX[origin]}{day:%Y%m%d}-"
    used = s.scalars(select(CaseItem.code).where(CaseItem.code.startswith(prefix)))
    n = max((int(c[len(prefix) :]) for c in used if c[len(prefix) :].isdigit()), default=0)
    return f"{prefix}{n + 1:03d}"


def snapshot(s: Session, case: CaseItem) -> dict[str, Any]:
    """The case as its timeline and audit record it."""
    keys = (
        "code",
        "kind",
        "origin",
        "state",
        "round",
        "batch",
        "item_no",
        "national_id",
        "channel",
        "river",
        "reach",
        "title",
        "category",
        "region_code",
        "enterprise_id",
        "site_id",
        "longitude",
        "latitude",
        "address",
        "lead_unit",
        "acceptance_unit",
        "received_on",
        "due_on",
        "extended_days",
        "rectified_on",
        "signed_off_on",
        "closed_on",
        "finding",
        "duplicate_of",
        "repeat_of",
        "warning",
        "supervised_on",
        "note",
        "episode_id",
    )
    out: dict[str, Any] = {}
    for k in keys:
        value = getattr(case, k)
        out[k] = value.isoformat() if isinstance(value, date) else value
    out["supporting_units"] = supporting(s, case)
    out["description"] = case.description
    return out


# ---------------------------------------------------------------------------- opening


def open_case(
    s: Session,
    actor: Principal,
    inp: CaseInput,
    *,
    warn: bool = True,
    episode_id: int | None = None,
    from_ledger: bool = False,
) -> CaseItem:
    """Open a case (交办 / 登记 / 发现) and start its workflow (``warn``: schedule its deadline
    warnings now; a ledger import does so once the row's state is set). ``episode_id``: the
    alarm episode an automatic-alarm case is opened for (:mod:`.alarm`, the only caller).
    ``from_ledger``: the state comes from a ledger row (:mod:`.ledger`), so the workflow's
    state limits (e.g. 5 working days to 签收) schedule no reminders."""
    values = _checked(s, inp, existing=None)
    if (values["origin"] == ALARM_ORIGIN) != (episode_id is not None):
        raise CaseError("自动监控报警案件只能由报警事件自动生成", "origin")
    workflow = vocab.KIND_WORKFLOWS[values["kind"]]
    allowed = may_start(wfs.definition(workflow), str(actor.role), role_label=actor.role_label)
    if not allowed:  # before anything is written: a refusal leaves no half-opened case
        raise wfs.WorkflowRefused(allowed)
    sup = values.pop("supporting")
    code = _text(inp.code, "code", "案件编号", 64) or _next_code(
        s, values["origin"], inp.received_on
    )
    if not CODE_PATTERN.fullmatch(code):
        raise CaseError(f"案件编号 {code!r} 只能含字母、数字、汉字和 - _ . ( )", "code")
    if s.scalar(select(CaseItem.id).where(CaseItem.code == code)) is not None:
        raise CaseConflict(f"案件编号 {code} 已存在", "code")
    now = utcnow()
    case = CaseItem(
        code=code,
        workflow=workflow,
        state=wfs.definition(workflow).initial,
        extended_days=0,
        created_at=now,
        created_by=actor.user_id,
        updated_at=now,
        episode_id=episode_id,
        **values,
    )
    s.add(case)
    s.flush()
    for u in sup:
        s.add(CaseSupportingUnit(case_id=case.id, unit_code=u))
    s.flush()
    timeline.record_change(
        s,
        actor,
        entity_type=ENTITY,
        entity_id=code,
        action="case.open",
        summary=f"{vocab.ORIGIN_LABELS[case.origin]}{vocab.KIND_LABELS[case.kind]}「{case.title}」"
        + (f"交办{case.lead_unit}" if case.lead_unit else "登记"),
        after=snapshot(s, case),
    )
    wf = wfs.definition(workflow)
    # what the case already says that its workflow asks for (a complaint's channel)
    start_fields = {
        k: getattr(case, k) for k in ("channel",) if k in wf.fields and getattr(case, k)
    }
    inst = wfs.start(
        s,
        actor,
        workflow,
        entity_type=ENTITY,
        entity_id=code,
        fields=start_fields,
        assignee_unit=case.lead_unit,
        deadlines=not from_ledger,
    )
    case.state = inst.state
    if warn:
        _after_change(s, case)
    return case


def update_case(s: Session, actor: Principal, code: str, inp: CaseInput) -> tuple[CaseItem, bool]:
    """Change what a case says (not its state); returns whether anything changed."""
    if actor.role not in CASE_MANAGERS:
        raise CaseError(f"角色「{actor.role_label}」无权修改案件")
    case = get(s, actor, code)
    values = _checked(s, inp, existing=case)
    sup = values.pop("supporting")
    if values["due_on"] == case.due_on and inp.deadline_days is None:
        values["due_basis"] = case.due_basis  # the same day: keep why (e.g. 延期)
    if values["kind"] != case.kind:
        raise CaseError(
            f"案件类型不能改（{vocab.KIND_LABELS[case.kind]} → "
            f"{vocab.KIND_LABELS[values['kind']]}）：作废后重新交办",
            "kind",
        )
    before = snapshot(s, case)
    for k, value in values.items():
        setattr(case, k, value)
    if sup != supporting(s, case):
        for row in s.scalars(
            select(CaseSupportingUnit).where(CaseSupportingUnit.case_id == case.id)
        ):
            s.delete(row)  # the link table only: the unit list lives on the timeline
        s.flush()
        for u in sup:
            s.add(CaseSupportingUnit(case_id=case.id, unit_code=u))
    s.flush()
    after = snapshot(s, case)
    if after == before:
        return case, False
    case.updated_at = utcnow()
    inst = wfs.find(s, case.workflow, ENTITY, code)
    if inst is not None and inst.assignee_unit != case.lead_unit:
        inst.assignee_unit = case.lead_unit
    timeline.record_change(
        s,
        actor,
        entity_type=ENTITY,
        entity_id=code,
        action="case.update",
        summary="修改案件信息",
        before=before,
        after=after,
    )
    _after_change(s, case)
    return case, True


# ---------------------------------------------------------------------------- moving


def fire(
    s: Session,
    actor: Principal,
    code: str,
    transition: str,
    *,
    fields: dict[str, Any] | None = None,
    note: str | None = None,
    by_episode: bool = False,
) -> CaseItem:
    """Take a case along a transition of its workflow, if the rules and the case's units
    allow the actor. An alarm case is closed only through its episode (``by_episode``, from
    :mod:`.alarm`): closing it by hand would leave the episode open."""
    case = get(s, actor, code)
    if actor.role == Role.ENTERPRISE:  # leaders: the workflow's roles refuse them (无权)
        raise CaseError(f"角色「{actor.role_label}」只能查看案件，不能办理")
    if case.episode_id is not None and transition == ALARM_CLOSE and not by_episode:
        raise CaseError("报警案件在报警恢复并经核实确认后自动关闭：请确认报警事件（核实确认）")
    wf = workflow_of(case)
    t = wf.transitions.get(transition)
    if t is not None and actor.role == Role.UNIT and t.units:
        mine = relations(s, case, actor.unit)
        if not mine & set(t.units):
            names = "或".join(
                {"lead": "牵头单位", "supporting": "配合单位", "acceptance": "验收单位"}[u]
                for u in t.units
            )
            raise CaseError(f"本单位不是该案件的{names}，不能{t.label}")
    values = dict(fields or {})
    updates: dict[str, Any] = {}  # written only once the workflow allows the step
    if values.get("duplicate_of"):
        values["duplicate_of"] = str(values["duplicate_of"]).strip()
        main = s.scalar(select(CaseItem).where(CaseItem.code == values["duplicate_of"]))
        if main is None or main.id == case.id or main.kind != case.kind:
            raise CaseError(f"合并的目标案件 {values['duplicate_of']} 不存在或不是另一件信访件")
        if "excluded" in state_tags(main):
            raise CaseError(f"目标案件 {main.code} 已{state_label(main)}，不能合并进去")
        updates["duplicate_of"] = main.id
    if values.get("handling_unit"):
        unit = find_unit(s, str(values["handling_unit"]), "handling_unit", "承办单位")
        values["handling_unit"] = unit
        updates["lead_unit"] = unit
    inst = wfs.find(s, case.workflow, ENTITY, code)
    if inst is None:
        raise CaseError(f"案件 {code} 没有流程记录")
    inst = wfs.fire(s, actor, inst.id, transition, fields=values, note=note)
    for k, value in updates.items():
        setattr(case, k, value)
    inst.assignee_unit = case.lead_unit
    merged = json.loads(inst.fields)
    if isinstance(merged, dict) and merged.get("finding") in vocab.FINDINGS:
        case.finding = merged["finding"]
    _enter(case, wf, inst.state, cst_today())
    case.updated_at = utcnow()
    s.flush()
    _after_change(s, case)
    return case


def _enter(case: CaseItem, wf: Workflow, state: str, today: date) -> None:
    """Set the state and the days that follow its tags: the first day a tag holds is kept
    while it holds, cleared when a reopening takes it away."""
    old = set(wf.states[case.state].tags)
    new = set(wf.states[state].tags)
    for tag, col in TAG_DATES:
        if tag in new and tag not in old:
            setattr(case, col, today)
        elif tag not in new:
            setattr(case, col, None)
    if "excluded" in new:
        case.warning = None
    case.state = state


def comment(s: Session, actor: Principal, code: str, text: str) -> None:
    """A remark on the case's timeline (everyone who works on it; leaders read)."""
    if read_only(actor):
        raise CaseError(f"角色「{actor.role_label}」只能查看案件，不能发表意见")
    case = get(s, actor, code)
    body = (text or "").strip()
    if not body:
        raise CaseError("意见内容不能为空", "text")
    if len(body) > 2000:
        raise CaseError("意见不能超过 2000 个字符", "text")
    timeline.record(
        s,
        actor,
        entity_type=ENTITY,
        entity_id=case.code,
        action="case.comment",
        summary=body,
        after={"text": body},
    )


def extend(s: Session, actor: Principal, code: str, days: int, reason: str) -> CaseItem:
    """延期办理 of a complaint: once, by at most the limit's days (信访工作条例, see
    ``limits.toml``), with a reason; the due day moves that many calendar days on."""
    if actor.role not in CASE_MANAGERS:
        raise CaseError(f"角色「{actor.role_label}」无权批准延期")
    case = get(s, actor, code)
    lim = vocab.limits()
    if case.kind != "complaint":
        raise CaseError("只有信访件可以延期办理；整改问题请修改整改时限")
    if set(state_tags(case)) & {"closed", "excluded"}:
        raise CaseError(f"案件已{state_label(case)}，不能延期")
    if case.extended_days:
        raise CaseError(f"已延期 {case.extended_days} 日，只能延期一次")
    if not 1 <= days <= lim.extension_max_days:
        raise CaseError(f"延期天数应为 1–{lim.extension_max_days} 日", "days")
    if not reason.strip():
        raise CaseError("须说明延期理由", "reason")
    if case.due_on is None:
        raise CaseError("案件没有办结时限，无需延期")
    before = snapshot(s, case)
    d = add_period(workcalendar.calendar(s), case.due_on, days, "calendar")
    case.due_on = d.due
    case.due_basis = f"延期{days}日：{d.explain()}"[:300]
    case.extended_days = days
    case.updated_at = utcnow()
    s.flush()
    timeline.record_change(
        s,
        actor,
        entity_type=ENTITY,
        entity_id=code,
        action="case.extend",
        summary=f"延期办理{days}日至{d.due.isoformat()}：{reason.strip()}",
        before=before,
        after=snapshot(s, case),
    )
    _after_change(s, case)
    return case


def _after_change(s: Session, case: CaseItem) -> None:
    # deadlines may have moved: (re)schedule the warnings (a job finding nothing to do is
    # harmless)
    deadlines.schedule(s, case)


# ---------------------------------------------------------------------------- reading


@dataclass(frozen=True, slots=True)
class Filters:
    origin: str | None = None
    kind: str | None = None
    round: int | None = None
    state: str | None = None
    unit: str | None = None
    region: str | None = None
    overdue: bool | None = None
    open_only: bool = False
    text: str | None = None


def overdue(case: CaseItem, wf: Workflow, today: date) -> bool:
    """Open past its due day (closed and not-counted cases are never overdue)."""
    tags = wf.states[case.state].tags
    return (
        case.due_on is not None
        and case.due_on < today
        and "closed" not in tags
        and "excluded" not in tags
    )


def listing(s: Session, p: Principal, f: Filters, *, limit: int = 500) -> list[CaseItem]:
    """Cases the principal may see, overdue first, then by due day and code."""
    q = select(CaseItem).where(case_scope(p))
    if f.origin:
        q = q.where(CaseItem.origin == f.origin)
    if f.kind:
        q = q.where(CaseItem.kind == f.kind)
    if f.round is not None:
        q = q.where(CaseItem.round == f.round)
    if f.state:
        q = q.where(CaseItem.state == f.state)
    if f.unit:
        q = q.where(or_(CaseItem.lead_unit == f.unit, CaseItem.acceptance_unit == f.unit))
    if f.region:
        q = q.where(CaseItem.region_code.startswith(region_prefix(f.region)))
    if f.text:
        like = f"%{f.text.strip()}%"
        q = q.where(or_(CaseItem.title.like(like), CaseItem.code.like(like)))
    rows = list(s.scalars(q.order_by(CaseItem.code)))
    today = cst_today()
    out = []
    for c in rows:
        wf = workflow_of(c)
        tags = wf.states[c.state].tags
        if f.open_only and ("closed" in tags or "excluded" in tags):
            continue
        late = overdue(c, wf, today)
        if f.overdue is not None and late != f.overdue:
            continue
        out.append((not late, c.due_on or date.max, c.code, c))
    out.sort(key=lambda x: x[:3])
    return [c for *_k, c in out[:limit]]


def points(s: Session, cases: list[CaseItem]) -> dict[int, tuple[float, float]]:
    """Where each case is on a map (WGS-84 longitude, latitude): its own point, else its
    site's, else its enterprise's; cases with none are left out."""
    site_ids = {c.site_id for c in cases if c.longitude is None and c.site_id is not None}
    ent_ids = {c.enterprise_id for c in cases if c.longitude is None and c.enterprise_id}
    sites = {
        i: (float(lon), float(lat))
        for i, lon, lat in s.execute(
            select(Site.id, Site.longitude, Site.latitude).where(Site.id.in_(sorted(site_ids)))
        )
        if lon is not None and lat is not None
    }
    ents = {
        i: (float(lon), float(lat))
        for i, lon, lat in s.execute(
            select(Enterprise.id, Enterprise.longitude, Enterprise.latitude).where(
                Enterprise.id.in_(sorted(ent_ids))
            )
        )
        if lon is not None and lat is not None
    }
    out: dict[int, tuple[float, float]] = {}
    for c in cases:
        if c.longitude is not None and c.latitude is not None:
            out[c.id] = (c.longitude, c.latitude)
        elif c.site_id in sites:
            out[c.id] = sites[c.site_id]
        elif c.enterprise_id in ents:
            out[c.id] = ents[c.enterprise_id]
    return out


def region_prefix(code: str) -> str:
    """The code prefix of a region's own and lower regions (GB/T 2260: 620000 → 62, 620800 →
    6208, 620802 → 620802)."""
    c = code.strip()
    if len(c) == 6:
        for cut in (2, 4):
            if c[cut:] == "0" * (6 - cut):
                return c[:cut]
    return c
