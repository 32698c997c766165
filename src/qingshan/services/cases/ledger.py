"""Case ledgers (台账) in and out of Excel, through :mod:`qingshan.services.excel_import`.

One sheet, 案件台账, one row per case, keyed by 案件编号. A row states the case as the bureau's
ledger has it — including its current state and the days it was rectified, signed off or
closed — so a county's existing ledgers (the rounds of inspections behind it) load as they
are: the state is taken as written (recorded on the timeline as 台账导入, not as the
workflow's steps, whose evidence is in the bureau's paper files), and no state reminders are
scheduled for it; the case's own deadline warnings apply. Importing the same ledger again
changes nothing; a changed row updates its case. A bad row is reported with its row number
and reason, and then nothing at all is written.
"""

from __future__ import annotations

import json
import re
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from qingshan.clock import utcnow
from qingshan.roles import Principal
from qingshan.services import excel_import as xi
from qingshan.services import timeline
from qingshan.services import workflows as wfs
from qingshan.services.cases import core, vocab
from qingshan.storage.models import Enterprise, Site
from qingshan.storage.models_cases import CaseItem
from qingshan.storage.models_casework import WorkflowInstance

C = xi.Column
SHEET = xi.SheetSpec(
    name="案件台账",
    aliases=("台账", "问题清单", "整改台账", "信访件台账", "问题台账"),
    title="案件台账（督察整改问题、信访件、巡查问题）：每行一件，按案件编号更新",
    key=("code",),
    columns=(
        C("code", "案件编号", required=True, aliases=("编号",)),
        C("origin", "来源", aliases=("问题来源", "案件来源")),
        C("kind", "类型", aliases=("案件类型",)),
        C("round", "轮次", kind="int", aliases=("督察轮次",)),
        C("batch", "批次", aliases=("交办批次",)),
        C("item_no", "问题编号", aliases=("清单编号", "件号")),
        C("national_id", "全国统一编号", aliases=("信访件编号", "受理编号")),
        C("channel", "来源渠道", aliases=("渠道",)),
        C("title", "标题", required=True, aliases=("问题概况", "反映问题", "诉求内容", "问题")),
        C("description", "问题描述", aliases=("具体问题", "详细情况")),
        C("category", "类别", aliases=("问题类别", "污染类别")),
        C("region", "所在区划代码", aliases=("区划代码",)),
        C("enterprise", "企业统一社会信用代码", aliases=("统一社会信用代码",)),
        C("site", "点位编码"),
        C("longitude", "经度"),
        C("latitude", "纬度"),
        C("address", "地址", aliases=("具体位置",)),
        C("river", "河流", aliases=("河湖名称",)),
        C("reach", "河段"),
        C("lead_unit", "牵头单位", aliases=("责任单位", "承办单位")),
        C("supporting_units", "配合单位", note="多个单位以顿号或逗号分隔"),
        C("acceptance_unit", "验收单位"),
        C("received_on", "交办日期", kind="date", required=True, aliases=("受理日期", "发现日期")),
        C("due_on", "整改时限", kind="date", aliases=("办结时限", "完成时限")),
        C("state", "状态", required=True, aliases=("整改状态", "办理状态")),
        C("rectified_on", "完成整改日期", kind="date"),
        C("signed_off_on", "销号日期", kind="date"),
        C("closed_on", "办结日期", kind="date"),
        C("finding", "核查结论", aliases=("调查核实情况",)),
        C("repeat_of", "重复件原编号"),
        C("note", "备注"),
    ),
)
SPLIT_UNITS = re.compile(r"[、，,;；\s]+")
DATE_COLUMNS = (
    ("rectified", "rectified_on", "完成整改日期"),
    ("signed_off", "signed_off_on", "销号日期"),
    ("closed", "closed_on", "办结日期"),
)


def _state(kind: str, label: str) -> str:
    wf = wfs.definition(vocab.KIND_WORKFLOWS[kind])
    for name, st in wf.states.items():
        if label in (st.label, name):
            return name
    labels = "、".join(st.label for st in wf.states.values())
    raise core.CaseError(f"状态 {label!r} 不是{wf.title}的状态（{labels}）", "state")


def _input(v: dict[str, Any], origin: str | None, rnd: int | None) -> core.CaseInput:
    row_origin = v.get("origin")
    if origin is not None and row_origin is not None:
        try:
            if vocab.origin_of(row_origin) != origin:
                raise core.CaseError(
                    f"本行来源「{row_origin}」与导入时指定的来源「{vocab.ORIGIN_LABELS[origin]}」不同",
                    "origin",
                )
        except ValueError as exc:
            raise core.CaseError(str(exc), "origin") from None
    the_origin = origin or row_origin
    if the_origin is None:
        raise core.CaseError("「来源」不能为空（或在导入时用 --origin 指定）", "origin")
    if rnd is not None and v.get("round") is not None and v["round"] != rnd:
        raise core.CaseError(f"本行轮次 {v['round']} 与导入时指定的第 {rnd} 轮不同", "round")
    sup = [u for u in SPLIT_UNITS.split(v.get("supporting_units") or "") if u]
    return core.CaseInput(
        origin=the_origin,
        title=v["title"],
        received_on=v["received_on"],
        kind=v.get("kind"),
        code=v["code"],
        round=v.get("round") if v.get("round") is not None else rnd,
        batch=v.get("batch"),
        item_no=v.get("item_no"),
        national_id=v.get("national_id"),
        channel=v.get("channel"),
        river=v.get("river"),
        reach=v.get("reach"),
        description=v.get("description"),
        category=v.get("category"),
        region=v.get("region"),
        enterprise=v.get("enterprise"),
        site=v.get("site"),
        longitude=v.get("longitude"),
        latitude=v.get("latitude"),
        address=v.get("address"),
        lead_unit=v.get("lead_unit"),
        supporting_units=sup,
        acceptance_unit=v.get("acceptance_unit"),
        due_on=v.get("due_on"),
        repeat_of=v.get("repeat_of"),
        note=v.get("note"),
    )


def _set_state(
    s: Session,
    actor: Principal,
    case: CaseItem,
    state: str,
    v: dict[str, Any],
    *,
    created: bool = False,
) -> bool:
    """The ledger's state and days onto the case and its workflow instance, with a 台账导入
    entry on the timeline (a case the import ``created`` gets one even when the ledger's state
    is the workflow's first: where the case's state came from is on record)."""
    wf = core.workflow_of(case)
    tags = wf.states[state].tags
    days: dict[str, date | None] = {}
    for tag, col, header in DATE_COLUMNS:
        value = v.get(col)
        if value is not None and tag not in tags:
            raise core.CaseError(f"状态为「{wf.states[state].label}」，不应填写{header}", col)
        if value is not None and value < case.received_on:
            raise core.CaseError(f"{header} {value} 早于交办日期 {case.received_on}", col)
        days[col] = value
    finding = v.get("finding")
    if finding is not None and finding not in vocab.FINDINGS:
        raise core.CaseError(f"核查结论应为 {'、'.join(vocab.FINDINGS)} 之一", "finding")
    if finding is not None and case.kind != "complaint":
        raise core.CaseError("只有信访件有核查结论", "finding")
    before = (case.state, case.rectified_on, case.signed_off_on, case.closed_on, case.finding)
    after = (state, days["rectified_on"], days["signed_off_on"], days["closed_on"], finding)
    if before == after:
        if created:
            timeline.record(
                s,
                actor,
                entity_type=core.ENTITY,
                entity_id=case.code,
                action="case.ledger_state",
                summary=f"台账导入：状态「{wf.states[state].label}」",
                after={"state": state},
            )
        return False
    old_label = wf.states[case.state].label
    case.state = state
    case.rectified_on, case.signed_off_on, case.closed_on = after[1:4]
    case.finding = finding
    if "excluded" in tags or "closed" in tags:
        case.warning = None
    inst = wfs.find(s, case.workflow, core.ENTITY, case.code)
    if inst is not None and inst.state != state:
        _move_instance(inst, state)
    s.flush()
    timeline.record_change(
        s,
        actor,
        entity_type=core.ENTITY,
        entity_id=case.code,
        action="case.ledger_state",
        summary=f"台账导入：「{old_label}」→「{wf.states[state].label}」",
        before={
            "state": before[0],
            "rectified_on": str(before[1]),
            "signed_off_on": str(before[2]),
            "closed_on": str(before[3]),
            "finding": before[4],
        },
        after={
            "state": state,
            "rectified_on": str(after[1]),
            "signed_off_on": str(after[2]),
            "closed_on": str(after[3]),
            "finding": finding,
        },
    )
    return True


def _move_instance(inst: WorkflowInstance, state: str) -> None:
    entered = json.loads(inst.entered)
    entered[state] = utcnow().isoformat()
    inst.state = state
    inst.entered = json.dumps(entered)
    inst.due_on = None  # no state reminders for a state taken from a ledger
    inst.updated_at = utcnow()


def _write_row(
    s: Session, actor: Principal, v: dict[str, Any], origin: str | None, rnd: int | None
) -> str:
    inp = _input(v, origin, rnd)
    existing = s.scalar(select(CaseItem).where(CaseItem.code == inp.code))
    if existing is None:
        state = _state(core._kind(inp), v["state"])  # refused before anything is written
        case = core.open_case(s, actor, inp, warn=False, from_ledger=True)
        _set_state(s, actor, case, state, v, created=True)
        core._after_change(s, case)
        return "created"
    case, changed = core.update_case(s, actor, existing.code, inp)
    moved = _set_state(s, actor, case, _state(case.kind, v["state"]), v)
    if moved:
        core._after_change(s, case)
    return "updated" if changed or moved else "unchanged"


def plan(actor: Principal, *, origin: str | None = None, round: int | None = None) -> xi.Plan:
    if actor.role not in core.CASE_MANAGERS:
        raise core.CaseError(f"角色「{actor.role_label}」无权导入案件台账")
    if origin is not None:
        try:
            origin = vocab.origin_of(origin)
        except ValueError as exc:
            raise core.CaseError(str(exc), "origin") from None
    if round is not None and (origin not in vocab.INSPECTIONS):
        raise core.CaseError("只有中央或省级督察的台账可以指定轮次（--round）", "round")

    def handle(ctx: xi.Context, sheet: xi.ParsedSheet) -> None:
        for row in sheet.rows:
            ctx.row(row, sheet.spec, _write_row, ctx.session, actor, row.values, origin, round)

    return xi.Plan(((SHEET, handle),))


def import_ledger(
    engine: Engine,
    data: bytes,
    actor: Principal,
    *,
    origin: str | None = None,
    round: int | None = None,
    dry_run: bool = False,
) -> xi.Report:
    """Check every row and write them all, or nothing (``dry_run``: never)."""
    return xi.run(engine, plan(actor, origin=origin, round=round), data, commit=not dry_run)


def import_in(
    s: Session,
    data: bytes,
    actor: Principal,
    *,
    origin: str | None = None,
    round: int | None = None,
    commit: bool = True,
) -> xi.Report:
    """:func:`import_ledger` inside the caller's transaction."""
    return xi.run_in(s, plan(actor, origin=origin, round=round), data, commit=commit)


# ---------------------------------------------------------------------------- export


def _coordinate(x: float | None) -> str | None:
    return None if x is None else str(Decimal(repr(x)).quantize(Decimal("0.000001")))


def records(
    s: Session,
    p: Principal,
    *,
    origin: str | None = None,
    round: int | None = None,
    kind: str | None = None,
) -> list[dict[str, Any]]:
    """The ledger rows of the cases the principal may see, by case code."""
    q = select(CaseItem).where(core.case_scope(p)).order_by(CaseItem.code)
    if origin:
        q = q.where(CaseItem.origin == vocab.origin_of(origin))
    if round is not None:
        q = q.where(CaseItem.round == round)
    if kind:
        q = q.where(CaseItem.kind == vocab.kind_of(kind))
    cases = list(s.scalars(q))
    codes = {c.id: c.code for c in cases}
    missing = {c.repeat_of for c in cases if c.repeat_of and c.repeat_of not in codes}
    if missing:
        found = s.execute(select(CaseItem.id, CaseItem.code).where(CaseItem.id.in_(missing)))
        codes |= {cid: code for cid, code in found}
    out = []
    for c in cases:
        credit = s.scalar(select(Enterprise.credit_code).where(Enterprise.id == c.enterprise_id))
        site = s.scalar(select(Site.code).where(Site.id == c.site_id))
        out.append(
            {
                "code": c.code,
                "origin": vocab.ORIGIN_LABELS[c.origin],
                "kind": vocab.KIND_LABELS[c.kind],
                "round": c.round,
                "batch": c.batch,
                "item_no": c.item_no,
                "national_id": c.national_id,
                "channel": c.channel,
                "title": c.title,
                "description": c.description,
                "category": c.category,
                "region": c.region_code,
                "enterprise": credit,
                "site": site,
                "longitude": _coordinate(c.longitude),
                "latitude": _coordinate(c.latitude),
                "address": c.address,
                "river": c.river,
                "reach": c.reach,
                "lead_unit": c.lead_unit,
                "supporting_units": "、".join(core.supporting(s, c)) or None,
                "acceptance_unit": c.acceptance_unit,
                "received_on": c.received_on,
                "due_on": c.due_on,
                "state": core.state_label(c),
                "rectified_on": c.rectified_on,
                "signed_off_on": c.signed_off_on,
                "closed_on": c.closed_on,
                "finding": c.finding,
                "repeat_of": codes.get(c.repeat_of) if c.repeat_of else None,
                "note": c.note,
            }
        )
    return out


def export(s: Session, p: Principal, **filters: Any) -> bytes:
    """The ledger as a workbook that :func:`import_ledger` reads back unchanged."""
    return xi.write_workbook([(SHEET, records(s, p, **filters))])


def template() -> bytes:
    return xi.write_workbook([(SHEET, [])])


__all__ = ["SHEET", "export", "import_in", "import_ledger", "plan", "records", "template"]
