"""``qingshan plan templates / load / list / status``: plans (规划) and their indicators."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import typer
from sqlalchemy.orm import Session

from qingshan.cli._db import fail
from qingshan.cli.registry import DB, JSON, in_session, show
from qingshan.roles import CLI
from qingshan.services import plans
from qingshan.services.plans import assess
from qingshan.services.plans import assessment as plan_assessment
from qingshan.services.plans import export as plan_export
from qingshan.services.plans import tasks as plan_tasks
from qingshan.services.reports import writers
from qingshan.services.reports.model import ReportError

app = typer.Typer(help="规划：指标、目标与完成情况", no_args_is_help=True)


@app.command("templates")
def templates_command(as_json: bool = JSON) -> None:
    """列出随平台提供的规划模板。"""
    rows = [
        {
            "id": t.id,
            "title": t.title,
            "issuer": t.issuer,
            "document_number": t.document_number,
            "region": t.region_code,
            "period": f"{t.period[0]}–{t.period[1]}",
            "indicators": len(t.indicators),
            "tasks": len(t.tasks),
        }
        for t in plans.templates()
    ]
    show(
        rows,
        {
            "id": "模板",
            "title": "规划名称",
            "region": "区划",
            "period": "期限",
            "indicators": "指标数",
            "tasks": "任务数",
        },
        as_json,
    )


@app.command("load")
def load_command(
    template: str = typer.Argument(..., help="模板编号，如 kongtong-14th"),
    region: str | None = typer.Option(None, "--region", help="规划所属区划代码（默认用模板的）"),
    db: str | None = DB,
) -> None:
    """载入规划模板（补登缺少的上级区划；已载入的不重复载入）。"""

    def action(s: Session) -> dict[str, Any]:
        r = plan_tasks.load(s, CLI, template, region=region)
        return {
            "plan_id": r.plan_id,
            "template_id": r.template_id,
            "created": r.created,
            "regions_added": r.regions_added,
            "units_added": r.units_added,
            "indicators": r.indicators,
            "tasks": r.tasks,
        }

    rec = in_session(db, action)
    typer.echo(json.dumps(rec, ensure_ascii=False))
    verb = "已载入" if rec["created"] else "此前已载入，未改动"
    typer.echo(
        f"{verb}规划 {rec['template_id']}（编号 {rec['plan_id']}）："
        f"{rec['indicators']} 项指标，{rec['tasks']} 项任务",
        err=True,
    )


@app.command("list")
def list_command(as_json: bool = JSON, db: str | None = DB) -> None:
    """列出已载入的规划。"""

    def action(s: Session) -> list[dict[str, Any]]:
        return [
            {
                "id": p.id,
                "template_id": p.template_id,
                "title": p.title,
                "region": p.region_code,
                "period": f"{p.period_start}–{p.period_end}",
            }
            for p in plans.list_plans(s, CLI)
        ]

    show(
        in_session(db, action),
        {
            "id": "编号",
            "template_id": "模板",
            "title": "规划名称",
            "region": "区划",
            "period": "期限",
        },
        as_json,
    )


@app.command("status")
def status_command(
    plan: str = typer.Argument(..., help="规划编号或模板编号"),
    year: int | None = typer.Option(None, "--year", help="年份（默认今年）"),
    as_json: bool = JSON,
    db: str | None = DB,
) -> None:
    """规划指标的目标、实际值与完成状态（监测数据可算的指标自动计算并推算到年底）。"""
    result = in_session(db, lambda s: assess.plan_status(s, CLI, plan, year=year).to_dict())
    if as_json:
        typer.echo(json.dumps(result, ensure_ascii=False, indent=2))
        return
    rows = [
        {
            "no": i["no"],
            "name": i["name"],
            "unit": i["unit"],
            "attribute": i["attribute"] or "",
            "target": i["target"]["text"] if i["target"] else "",
            "actual": (i["actual"] or {}).get("value"),
            "status": i["status_label"],
            "reason": i["reason"],
        }
        for i in result["indicators"]
    ]
    show(
        rows,
        {
            "no": "序号",
            "name": "指标",
            "unit": "单位",
            "attribute": "属性",
            "target": "目标",
            "actual": "实际",
            "status": "状态",
            "reason": "说明",
        },
        False,
    )


@app.command("tasks")
def tasks_command(
    plan: str = typer.Argument(..., help="规划编号或模板编号"),
    unit: str | None = typer.Option(None, "--unit", help="只列此责任单位（单位代码）的任务"),
    as_json: bool = JSON,
    db: str | None = DB,
) -> None:
    """规划任务及责任单位：逾期的排在最前。"""
    rows = in_session(
        db, lambda s: [v.to_dict() for v in plan_tasks.task_list(s, CLI, plan, unit=unit)]
    )
    if as_json:
        typer.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    show(
        [
            {
                "no": r["no"],
                "text": r["text"],
                "deadline": r["deadline_text"] or r["deadline"] or "",
                "state": "已完成"
                if r["completed_on"]
                else (f"逾期{r['days_overdue']}天" if r["overdue"] else ""),
                "units": "、".join(f"{u['name']}（{u['role_label']}）" for u in r["units"]),
            }
            for r in rows
        ],
        {"no": "序号", "text": "任务", "deadline": "期限", "state": "状态", "units": "责任单位"},
        False,
    )


@app.command("task-done")
def task_done_command(
    plan: str = typer.Argument(..., help="规划编号或模板编号"),
    no: str = typer.Argument(..., help="任务序号"),
    on: str = typer.Option(..., "--on", help="完成日期 YYYY-MM-DD"),
    db: str | None = DB,
) -> None:
    """记录任务已完成（不再提醒、不再算逾期）。"""
    try:
        day = date.fromisoformat(on)
    except ValueError:
        raise fail(f"完成日期 {on!r} 不是 YYYY-MM-DD 日期", 2) from None
    text = in_session(db, lambda s: plan_tasks.complete(s, CLI, plan, no, day).text)
    typer.echo(f"已记录任务完成：{text}（{day.isoformat()}）", err=True)


@app.command("ics")
def ics_command(
    plan: str = typer.Argument(..., help="规划编号或模板编号"),
    file: str = typer.Argument(..., help="要写入的 .ics 文件"),
    unit: str | None = typer.Option(None, "--unit", help="只导出此责任单位的任务"),
    db: str | None = DB,
) -> None:
    """把有期限的任务导出为日历文件（.ics，可导入手机或电脑日历）。"""
    text = in_session(db, lambda s: plan_tasks.ics(s, CLI, plan, unit=unit))
    Path(file).write_bytes(text.encode("utf-8"))
    typer.echo(f"已导出 {file}（{text.count('BEGIN:VEVENT')} 项任务）", err=True)


@app.command("assess")
def assess_command(
    scheme: str = typer.Argument(..., help="考核方案文件（TOML，格式见 docs/plans.md）"),
    xlsx: str | None = typer.Option(None, "--xlsx", help="导出考核结果到此 .xlsx 文件"),
    as_json: bool = JSON,
    db: str | None = DB,
) -> None:
    """按考核方案计算年度考核：指标得分、扣分、加分、一票否决和等级。"""
    try:
        text = Path(scheme).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise fail(f"无法读取考核方案 {scheme}：{exc}", 2) from None
    result = in_session(db, lambda s: plan_assessment.run(s, CLI, text))
    if xlsx:
        Path(xlsx).write_bytes(plan_assessment.workbook(result))
        typer.echo(f"已导出 {xlsx}", err=True)
    d = result.to_dict()
    if as_json:
        typer.echo(json.dumps(d, ensure_ascii=False, indent=2))
        return
    show(
        [
            {
                "name": u["name"],
                "total": u["total"],
                "grade": u["grade"],
                "veto": "、".join(u["vetoed_by"]),
            }
            for u in d["units"]
        ],
        {"name": "单位", "total": "总分", "grade": "等级", "veto": "一票否决"},
        False,
    )


@app.command("export")
def export_command(
    plan: str = typer.Argument(..., help="规划编号或模板编号"),
    file: str = typer.Argument(..., help="输出文件：.xlsx（指标表）、.docx 或 .pdf（进展报告）"),
    year: int | None = typer.Option(None, "--year", help="年份（默认今年）"),
    db: str | None = DB,
) -> None:
    """按规划原表的格式导出指标完成情况和任务落实情况。"""
    if Path(file).suffix.lower() not in (".xlsx", ".docx", ".pdf"):
        raise fail(f"输出文件 {file} 应为 .xlsx、.docx 或 .pdf", 2)
    rep = in_session(db, lambda s: plan_export.progress_report(s, CLI, plan, year=year))
    try:
        writers.write(rep, Path(file))
    except ReportError as exc:
        raise fail(str(exc), 2) from None
    typer.echo(f"已导出 {file}", err=True)
