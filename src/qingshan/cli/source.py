"""``qingshan source stats``: supervision statistics of pollution sources (rates, exceedance,
emissions) per enterprise and outlet, from the stored hourly values and the permits."""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

import typer
from sqlalchemy.orm import Session

from qingshan.cli._db import open_engine
from qingshan.cli.registry import DB, JSON, _print_report, done, in_session, read_upload, show
from qingshan.roles import CLI
from qingshan.services.sources import alarms, annual, shape, stats, warnings

app = typer.Typer(help="污染源监管：传输有效率、超标、排放量", no_args_is_help=True)
warning_app = typer.Typer(
    help="重污染天气预警：发布、列出、解除、应急减排落实情况", no_args_is_help=True
)
measures_app = typer.Typer(help="应急减排清单：绩效分级和各级预警的减排措施", no_args_is_help=True)
app.add_typer(warning_app, name="warning")
app.add_typer(measures_app, name="measures")


def _date(text: str, what: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(f"{what} 应为日期 YYYY-MM-DD，收到 {text!r}") from None


def _pct(x: float | None) -> str:
    return "不考核" if x is None else f"{x * 100:.2f}%"


@app.command("stats")
def stats_command(
    d_from: str = typer.Option(..., "--from", help="起始日期 YYYY-MM-DD（含）"),
    d_to: str = typer.Option(..., "--to", help="截止日期 YYYY-MM-DD（含）"),
    region: str | None = typer.Option(None, "--region", help="区划代码（含下级区划）"),
    cutoff: str | None = typer.Option(
        None, "--cutoff", help="数据截止时刻（北京时间 YYYY-MM-DDTHH:MM，默认当前时刻）"
    ),
    as_json: bool = JSON,
    db: str | None = DB,
) -> None:
    """按企业和排放口统计传输率、有效率、有效传输率、超标时数（废气）/天数（废水）和排放量。"""
    start, end = _date(d_from, "--from"), _date(d_to, "--to")
    cut: datetime | None = None
    if cutoff is not None:
        try:
            cut = datetime.fromisoformat(cutoff).replace(tzinfo=None)
        except ValueError:
            raise typer.BadParameter(f"--cutoff 应为 YYYY-MM-DDTHH:MM，收到 {cutoff!r}") from None

    def action(s: Session) -> list[dict[str, object]]:
        period = stats.period(start, end, cut)
        return [shape.enterprise_json(e) for e in stats.source_stats(s, CLI, period, region=region)]

    rows = in_session(db, action)
    if as_json:
        typer.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    table = []
    for e in rows:
        for o in e["outlets"]:  # type: ignore[attr-defined]
            table.append(
                {
                    "name": e["name"],
                    "outlet": o["code"],
                    "medium": "废气" if o["medium"] == "gas" else "废水",
                    "t": _pct(o["transmission_rate"]),
                    "v": _pct(o["validity_rate"]),
                    "et": _pct(o["effective_transmission_rate"]),
                    "ex": o["exceedance_hours"] if o["medium"] == "gas" else o["exceedance_days"],
                }
            )
    show(
        table,
        {
            "name": "企业",
            "outlet": "排放口",
            "medium": "类别",
            "t": "传输率",
            "v": "有效率",
            "et": "有效传输率",
            "ex": "超标小时/天数",
        },
        False,
    )


@app.command("detect")
def detect_command(db: str | None = DB, as_json: bool = JSON) -> None:
    """立即检测一次超标、离线和数据线索事件（qingshan serve 每隔几秒自动检测）。"""

    def action(s: Session) -> dict[str, int]:
        r = alarms.detect(s)
        return {"created": r.created, "updated": r.updated, "cleared": r.cleared,
                "notified": r.notified}  # fmt: skip

    out = in_session(db, action)
    if as_json:
        typer.echo(json.dumps(out))
    else:
        typer.echo(
            f"新事件 {out['created']}，更新 {out['updated']}，恢复 {out['cleared']}，"
            f"通知 {out['notified']}"
        )


KIND = typer.Option(
    None, "--kind", help="事件类型：exceedance offline constant zeros pinned（可重复）"
)


@app.command("alarms")
def alarms_command(
    open_only: bool = typer.Option(
        False, "--open", help="只列未关闭的事件（持续中、已恢复待确认）"
    ),
    kind: list[str] | None = KIND,
    as_json: bool = JSON,
    db: str | None = DB,
) -> None:
    """列出超标、离线报警和数据线索事件（每个事件一条：开始、结束、峰值、持续时间）。"""

    def action(s: Session) -> list[dict[str, object]]:
        rows = alarms.list_episodes(s, CLI, open_only=open_only, kinds=kind or None)
        return alarms.episodes_json(s, rows)

    rows = in_session(db, action)
    if as_json:
        typer.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    show(
        rows,
        {
            "id": "编号",
            "enterprise": "企业",
            "outlet": "排放口",
            "kind_label": "类型",
            "pollutant": "污染物",
            "start": "开始",
            "end": "结束",
            "periods": "时段数",
            "peak": "峰值",
            "limit": "限值",
            "status_label": "状态",
        },
        False,
    )


@app.command("confirm")
def confirm_command(
    episode_id: int = typer.Argument(..., help="事件编号"),
    note: str = typer.Option(..., "--note", help="核实情况"),
    db: str | None = DB,
) -> None:
    """确认（核实）一个事件；条件已消除的事件确认后关闭。"""

    def action(s: Session) -> dict[str, object]:
        return alarms.episode_json(alarms.confirm(s, CLI, episode_id, note))

    row = in_session(db, action)
    typer.echo(json.dumps(row, ensure_ascii=False))
    typer.echo(f"事件 {episode_id}：{row['status_label']}", err=True)


@app.command("emissions")
def emissions_command(
    year: int = typer.Option(..., "--year", min=2000, max=2100, help="年度"),
    region: str | None = typer.Option(None, "--region", help="区划代码（含下级区划）"),
    cutoff: str | None = typer.Option(
        None, "--cutoff", help="数据截止时刻（北京时间 YYYY-MM-DDTHH:MM，默认当前时刻）"
    ),
    as_json: bool = JSON,
    db: str | None = DB,
) -> None:
    """排放量与年许可排放量对比，按当前排放速率预测全年排放量。"""
    cut: datetime | None = None
    if cutoff is not None:
        try:
            cut = datetime.fromisoformat(cutoff).replace(tzinfo=None)
        except ValueError:
            raise typer.BadParameter(f"--cutoff 应为 YYYY-MM-DDTHH:MM，收到 {cutoff!r}") from None

    def action(s: Session) -> list[dict[str, Any]]:
        return annual.annual_use(s, CLI, year, cutoff=cut, region=region)

    rows = in_session(db, action)
    if as_json:
        typer.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    table = [{"name": e["name"], **p} for e in rows for p in e["pollutants"]]
    show(
        table,
        {
            "name": "企业",
            "pollutant": "污染物",
            "emitted_t": "已排放（t）",
            "permitted_t": "年许可量（t）",
            "share": "已用比例",
            "projected_t": "预测全年（t）",
            "over": "预计超许可",
        },
        False,
    )


# --------------------------------------------------------------------------- 应急减排


def _time(text: str | None, what: str) -> datetime | None:
    if text is None:
        return None
    try:
        return datetime.fromisoformat(text).replace(tzinfo=None)
    except ValueError:
        raise typer.BadParameter(f"{what} 应为北京时间 YYYY-MM-DDTHH:MM，收到 {text!r}") from None


@warning_app.command("add")
def warning_add(
    level: str = typer.Option(..., "--level", help="预警级别：黄色、橙色、红色"),
    region: str = typer.Option(..., "--region", help="区划代码（含下级区划）"),
    start: str = typer.Option(..., "--start", help="发布（生效）时间，北京时间 YYYY-MM-DDTHH:MM"),
    end: str | None = typer.Option(None, "--end", help="解除时间（不填：持续中）"),
    document: str = typer.Option(..., "--document", help="发布文号"),
    note: str | None = typer.Option(None, "--note", help="备注"),
    db: str | None = DB,
) -> None:
    """登记一次重污染天气预警。"""
    t0 = _time(start, "--start")
    assert t0 is not None
    t1 = _time(end, "--end")

    def action(s: Session) -> dict[str, Any]:
        w = warnings.add_warning(
            s, CLI, level=level, region=region, start=t0, end=t1, document=document, note=note
        )
        return warnings.warning_json(s, w)

    rec = in_session(db, action)
    done(f"已登记{rec['level_label']}预警 {rec['id']}（{rec['document']}）", rec)


@warning_app.command("end")
def warning_end(
    warning_id: int = typer.Argument(..., help="预警编号"),
    at: str = typer.Option(..., "--at", help="解除时间，北京时间 YYYY-MM-DDTHH:MM"),
    db: str | None = DB,
) -> None:
    """解除一次预警。"""
    t1 = _time(at, "--at")
    assert t1 is not None

    def action(s: Session) -> dict[str, Any]:
        return warnings.warning_json(s, warnings.end_warning(s, CLI, warning_id, t1))

    rec = in_session(db, action)
    done(f"预警 {warning_id} 已于 {rec['end']} 解除", rec)


@warning_app.command("list")
def warning_list(as_json: bool = JSON, db: str | None = DB) -> None:
    """列出预警（最新在前）。"""

    def action(s: Session) -> list[dict[str, Any]]:
        return [warnings.warning_json(s, w) for w in warnings.list_warnings(s)]

    rows = in_session(db, action)
    show(
        rows,
        {
            "id": "编号",
            "level_label": "预警级别",
            "region_name": "区划",
            "start": "发布时间",
            "end": "解除时间",
            "document": "文号",
            "active": "生效中",
        },
        as_json,
    )


@warning_app.command("board")
def warning_board(
    warning_id: int = typer.Argument(..., help="预警编号"),
    cutoff: str | None = typer.Option(
        None, "--cutoff", help="数据截止时刻（北京时间 YYYY-MM-DDTHH:MM，默认当前时刻）"
    ),
    as_json: bool = JSON,
    db: str | None = DB,
) -> None:
    """预警期间应采取措施的企业、预期减排比例和在线数据显示的降幅（提示，不是违法认定）。"""
    cut = _time(cutoff, "--cutoff")

    def action(s: Session) -> dict[str, Any]:
        return warnings.board(s, CLI, warning_id, cut)

    out = in_session(db, action)
    if as_json:
        typer.echo(json.dumps(out, ensure_ascii=False, indent=2))
        return
    show(
        out["enterprises"],
        {
            "name": "企业",
            "grade_label": "绩效分级",
            "measure": "减排措施",
            "expected_pct": "预期减排(%)",
            "reduction_pct": "实测降幅(%)",
            "verdict_label": "落实情况",
        },
        False,
    )


@measures_app.command("import")
def measures_import(
    file: str = typer.Argument(..., help="应急减排清单工作簿（.xlsx 或 .xls）"),
    dry_run: bool = typer.Option(False, "--dry-run", help="只校验，不写入"),
    as_json: bool = JSON,
    db: str | None = DB,
) -> None:
    """导入应急减排清单：逐行校验，任何一行有问题则全部不写入（按信用代码和预警级别新增或更新）。"""
    data = read_upload(file)
    engine = open_engine(db)
    try:
        report = warnings.import_measures(engine, CLI, data, commit=not dry_run)
    finally:
        engine.dispose()
    _print_report(report, as_json, dry_run=dry_run)
    if not report.ok:
        raise typer.Exit(2)


@measures_app.command("list")
def measures_list(as_json: bool = JSON, db: str | None = DB) -> None:
    """列出应急减排清单。"""

    def action(s: Session) -> list[dict[str, Any]]:
        return warnings.measures_json(s, CLI)

    show(
        in_session(db, action),
        {
            "name": "企业",
            "grade_label": "绩效分级",
            "level_label": "预警级别",
            "measure": "减排措施",
            "reduction": "预期减排(%)",
        },
        as_json,
    )
