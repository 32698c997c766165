"""``qingshan case``: case ledgers in and out (import / export / template), statistics, the list,
one case with its timeline, and moving a case along its workflow from the command line."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import typer
from sqlalchemy.orm import Session

from qingshan.cli._db import fail, open_engine
from qingshan.cli.registry import DB, JSON, _print_report, in_session, read_upload, show
from qingshan.roles import CLI
from qingshan.services import timeline
from qingshan.services.cases import alarm as alarm_cases
from qingshan.services.cases import core, escalation, ledger, letters, stats, vocab
from qingshan.services.errors import ServiceError
from qingshan.services.sources import alarms

app = typer.Typer(
    help="督察整改、信访、巡查案件：台账导入导出、统计、查询、办理", no_args_is_help=True
)

ORIGIN_HELP = "来源：" + "、".join(f"{k}（{v}）" for k, v in vocab.ORIGIN_LABELS.items())


@app.command("template")
def template_command(file: str = typer.Argument(..., help="要写入的 .xlsx 文件")) -> None:
    """写出空白的案件台账（一张表，中文表头）。"""
    Path(file).write_bytes(ledger.template())
    typer.echo(f"已写出案件台账模板 {file}", err=True)


@app.command("import")
def import_command(
    file: str = typer.Argument(..., help="案件台账 .xlsx 或 .xls"),
    origin: str | None = typer.Option(None, "--origin", help=ORIGIN_HELP),
    round_: int | None = typer.Option(None, "--round", min=1, help="督察轮次（第几轮）"),
    dry_run: bool = typer.Option(False, "--dry-run", help="只校验，不写入"),
    as_json: bool = JSON,
    db: str | None = DB,
) -> None:
    """导入案件台账：逐行校验，有任何问题则全部不写入；按案件编号更新已有案件。"""
    data = read_upload(file)
    engine = open_engine(db)
    try:
        report = ledger.import_ledger(
            engine, data, CLI, origin=origin, round=round_, dry_run=dry_run
        )
    except ServiceError as exc:
        raise fail(str(exc), 2) from None
    finally:
        engine.dispose()
    _print_report(report, as_json, dry_run=dry_run)
    if not report.ok:
        raise typer.Exit(2)


@app.command("export")
def export_command(
    file: str = typer.Argument(..., help="要写入的 .xlsx 文件"),
    origin: str | None = typer.Option(None, "--origin", help=ORIGIN_HELP),
    round_: int | None = typer.Option(None, "--round", min=1, help="督察轮次"),
    kind: str | None = typer.Option(None, "--kind", help="problem / complaint / patrol"),
    db: str | None = DB,
) -> None:
    """按台账格式导出案件（可再导入）。"""

    def run(s: Session) -> bytes:
        try:
            return ledger.export(s, CLI, origin=origin, round=round_, kind=kind)
        except ValueError as exc:
            raise ServiceError(str(exc)) from None

    data = in_session(db, run)
    Path(file).write_bytes(data)
    typer.echo(f"已导出案件台账 {file}", err=True)


STAT_HEADERS = {
    "origin_label": "来源",
    "round": "轮次",
    "kind_label": "类型",
    "total": "总数",
    "rectified": "完成整改",
    "signed_off": "销号",
    "closed": "办结/整改到位",
    "in_progress": "正在办理",
    "overdue": "逾期",
    "closure_rate": "办结率%",
    "on_time_rate": "按期办结率%",
    "average_handling_days": "平均办理天数",
    "repeat": "重复件",
}


@app.command("stats")
def stats_command(
    region: str | None = typer.Option(None, "--region", help="区划代码（含下级）"),
    year: int | None = typer.Option(
        None, "--year", min=1990, max=2200, help="同比：该年与上一年（按来源、类型）"
    ),
    as_json: bool = JSON,
    db: str | None = DB,
) -> None:
    """按来源、轮次、类型统计：总数、完成整改、销号、办结、正在办理、逾期、办结率等；
    --year 给出按来源、类型的同比（该年与上年的受理数、办结数及增减）。"""
    if year is not None:
        rows = in_session(
            db,
            lambda s: [
                r.as_dict() for r in stats.compute_year_on_year(s, CLI, year, region=region)
            ],
        )
        show(rows, YOY_HEADERS, as_json)
        return
    rows = in_session(db, lambda s: [r.as_dict() for r in stats.compute(s, CLI, region=region)])
    show(rows, STAT_HEADERS, as_json)


YOY_HEADERS = {
    "origin_label": "来源",
    "kind_label": "类型",
    "year": "年度",
    "received": "受理（交办）",
    "received_previous": "上年受理",
    "received_change_rate": "受理同比%",
    "closed": "办结（完成整改）",
    "closed_previous": "上年办结",
    "closed_change_rate": "办结同比%",
}


LIST_HEADERS = {
    "code": "编号",
    "origin": "来源",
    "round": "轮次",
    "kind": "类型",
    "title": "标题",
    "lead_unit": "牵头单位",
    "state": "状态",
    "due_on": "时限",
    "overdue": "逾期",
    "warning": "预警",
}


def _summary(c: Any) -> dict[str, Any]:
    wf = core.workflow_of(c)
    return {
        "code": c.code,
        "origin": vocab.ORIGIN_LABELS[c.origin],
        "round": c.round,
        "kind": vocab.KIND_LABELS[c.kind],
        "title": c.title,
        "lead_unit": c.lead_unit,
        "state": wf.states[c.state].label,
        "due_on": c.due_on.isoformat() if c.due_on else None,
        "overdue": core.overdue(c, wf, date.today()),
        "warning": escalation.LEVEL_LABELS.get(c.warning or ""),
    }


@app.command("list")
def list_command(
    origin: str | None = typer.Option(None, "--origin", help=ORIGIN_HELP),
    unit: str | None = typer.Option(None, "--unit", help="牵头或验收单位代码"),
    overdue: bool = typer.Option(False, "--overdue", help="只列逾期案件"),
    open_only: bool = typer.Option(False, "--open", help="只列未办结案件"),
    as_json: bool = JSON,
    db: str | None = DB,
) -> None:
    """列出案件，逾期的在前。"""

    def run(s: Session) -> list[dict[str, Any]]:
        try:
            o = vocab.origin_of(origin) if origin else None
        except ValueError as exc:
            raise ServiceError(str(exc)) from None
        f = core.Filters(
            origin=o, unit=unit, overdue=True if overdue else None, open_only=open_only
        )
        return [_summary(c) for c in core.listing(s, CLI, f)]

    show(in_session(db, run), LIST_HEADERS, as_json)


@app.command("show")
def show_command(code: str = typer.Argument(..., help="案件编号"), db: str | None = DB) -> None:
    """一件案件及其时间线（JSON）。"""

    def run(s: Session) -> dict[str, Any]:
        c = core.get(s, CLI, code)
        events = timeline.events(s, CLI, core.ENTITY, code)
        return {
            **core.snapshot(s, c),
            "state_label": core.state_label(c),
            "timeline": [
                {
                    "at": e.at.isoformat(),
                    "actor": e.actor_name,
                    "action": e.action,
                    "summary": e.summary,
                }
                for e in events
            ],
        }

    typer.echo(json.dumps(in_session(db, run), ensure_ascii=False, indent=2, default=str))


FIELD = typer.Option([], "--field", help="字段=值（可重复）")


@app.command("fire")
def fire_command(
    code: str = typer.Argument(..., help="案件编号"),
    transition: str = typer.Argument(..., help="操作名（如 begin、complete、close、void）"),
    field: list[str] = FIELD,
    note: str | None = typer.Option(None, "--note", help="说明"),
    db: str | None = DB,
) -> None:
    """按流程办理案件（检查角色、字段和佐证材料）。"""
    values: dict[str, Any] = {}
    for item in field:
        key, sep, value = item.partition("=")
        if not sep:
            raise fail(f"--field 应为 字段=值，而不是 {item!r}", 2)
        values[key.strip()] = {"是": True, "否": False}.get(value.strip(), value.strip())

    def run(s: Session) -> str:
        c = core.fire(s, CLI, code, transition, fields=values, note=note)
        return core.state_label(c)

    typer.echo(f"案件 {code} 现为「{in_session(db, run)}」", err=True)


@app.command("confirm")
def confirm_command(
    code: str = typer.Argument(..., help="自动监控报警案件的编号"),
    note: str = typer.Option(..., "--note", help="核实情况"),
    db: str | None = DB,
) -> None:
    """核实确认报警案件的报警事件；报警已恢复的，事件和案件随即关闭。"""

    def run(s: Session) -> str:
        row = alarms.confirm_case(s, CLI, code, note)
        state = core.state_label(core.get(s, CLI, code))
        return f"报警事件 {row.id}：{alarms.STATUS_LABELS[row.status]}；案件 {code} 现为「{state}」"

    typer.echo(in_session(db, run), err=True)


@app.command("letter")
def letter_command(
    code: str = typer.Argument(..., help="案件编号"),
    kind: str = typer.Argument(
        ..., help="assignment（交办单）、supervision（督办通知）、sign_off（销号审批表）"
    ),
    out: str | None = typer.Option(None, "--out", help="写入的 .docx（默认：编号-文书名.docx）"),
    db: str | None = DB,
) -> None:
    """生成案件文书（.docx）：交办单、督办通知、销号审批表。"""
    name, data = in_session(db, lambda s: letters.letter(s, CLI, code, kind))
    Path(out or name).write_bytes(data)
    typer.echo(f"已写出 {out or name}", err=True)


alarm_unit = typer.Typer(
    help="自动监控报警案件的牵头（责任）单位：全区或按区划设置", no_args_is_help=True
)
app.add_typer(alarm_unit, name="alarm-unit")


def _lead_dict(x: Any) -> dict[str, Any]:
    return {
        "region_code": x.region_code,
        "region_name": x.region_name or "全部区划",
        "unit_code": x.unit_code,
        "unit_name": x.unit_name,
    }


ALARM_UNIT_HEADERS = {
    "region_code": "区划代码",
    "region_name": "区划",
    "unit_code": "单位代码",
    "unit_name": "牵头单位",
}


@alarm_unit.command("list")
def alarm_unit_list(as_json: bool = JSON, db: str | None = DB) -> None:
    """列出报警责任单位的设置。"""
    rows = in_session(db, lambda s: [_lead_dict(x) for x in alarm_cases.alarm_leads(s)])
    show(rows, ALARM_UNIT_HEADERS, as_json)


@alarm_unit.command("set")
def alarm_unit_set(
    unit: str = typer.Argument(..., help="单位代码或名称（已登记的责任单位）"),
    region: str | None = typer.Option(None, "--region", help="区划代码（默认：全部区划）"),
    db: str | None = DB,
) -> None:
    """指定自动监控报警案件的牵头单位（之后生成的报警案件）。"""

    def run(s: Session) -> str:
        x = alarm_cases.set_alarm_lead(s, CLI, unit, region=region)
        assert x is not None
        return (
            f"{x.region_name or '全部区划'}的自动监控报警由{x.unit_name}（{x.unit_code}）牵头办理"
        )

    typer.echo(in_session(db, run), err=True)


@alarm_unit.command("unset")
def alarm_unit_unset(
    region: str | None = typer.Option(None, "--region", help="区划代码（默认：全部区划）"),
    db: str | None = DB,
) -> None:
    """取消报警责任单位的设置。"""
    in_session(db, lambda s: alarm_cases.set_alarm_lead(s, CLI, None, region=region))
    typer.echo("已取消", err=True)
