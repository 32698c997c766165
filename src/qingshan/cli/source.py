"""``qingshan source stats``: supervision statistics of pollution sources (rates, exceedance,
emissions) per enterprise and outlet, from the stored hourly values and the permits."""

from __future__ import annotations

import json
from datetime import date, datetime

import typer
from sqlalchemy.orm import Session

from qingshan.cli.registry import DB, JSON, in_session, show
from qingshan.roles import CLI
from qingshan.services.sources import shape, stats

app = typer.Typer(help="污染源监管：传输有效率、超标、排放量", no_args_is_help=True)


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
