"""``qingshan registry template / export / import`` (the registry workbook) and ``qingshan
deployment set`` (the deployment's own region); the helpers the other registry commands
(region, unit, enterprise, site) share: one transaction per command, a service's refusal
printed in Chinese with exit code 2, tables with rich or ``--json``."""

from __future__ import annotations

import errno
import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import typer
from sqlalchemy.orm import Session

from qingshan.cli._db import DB_OPTION_HELP, fail, open_engine
from qingshan.roles import CLI
from qingshan.services import deployment
from qingshan.services.errors import ServiceError
from qingshan.services.excel_import import Report
from qingshan.services.registry import regions, workbook
from qingshan.storage.db import session_scope

T = TypeVar("T")

app = typer.Typer(
    help="登记册工作簿：模板、导出、导入（行政区划、责任单位、企业、点位、设备、许可证…）",
    no_args_is_help=True,
)
deployment_app = typer.Typer(
    help="本系统的本级区划（驾驶舱、一张图和报告显示的区县）", no_args_is_help=True
)

DB = typer.Option(None, "--db", help=DB_OPTION_HELP)
JSON = typer.Option(False, "--json", help="以 JSON 输出")


def in_session(db: str | None, action: Callable[[Session], T]) -> T:
    """Run ``action`` in one transaction; a service's refusal → its message, exit 2."""
    engine = open_engine(db)
    try:
        with session_scope(engine) as s:
            return action(s)
    except ServiceError as exc:
        raise fail(str(exc), 2) from None
    finally:
        engine.dispose()


def show(rows: Sequence[dict[str, Any]], headers: dict[str, str], as_json: bool) -> None:
    """Rows as JSON (keys as given) or as a rich table with Chinese headers."""
    if as_json:
        typer.echo(json.dumps(list(rows), ensure_ascii=False, indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(*headers.values())
    for r in rows:
        table.add_row(*("" if r.get(k) is None else str(r.get(k)) for k in headers))
    Console().print(table)
    typer.echo(f"共 {len(rows)} 条", err=True)


def done(message: str, record: dict[str, Any]) -> None:
    """The created record as JSON on stdout, a sentence on stderr."""
    typer.echo(json.dumps(record, ensure_ascii=False))
    typer.echo(message, err=True)


# --------------------------------------------------------------------------- workbook


_OS_ERRORS = {
    errno.ENOENT: "文件不存在",
    errno.EACCES: "没有读取权限",
    errno.EISDIR: "这是一个目录，不是文件",
}


def read_upload(file: str) -> bytes:
    """The bytes of a workbook to import, or a clear refusal (exit 2) naming the file."""
    try:
        return Path(file).read_bytes()
    except OSError as exc:
        why = _OS_ERRORS.get(exc.errno or 0, exc.strerror or str(exc))
        raise fail(f"无法读取 {file}：{why}", 2) from None


def _print_report(report: Report, as_json: bool, *, dry_run: bool) -> None:
    if as_json:
        typer.echo(json.dumps(report.as_dict(), ensure_ascii=False, indent=2))
    else:
        from rich.console import Console
        from rich.table import Table

        if report.counts:
            table = Table("工作表", "新增", "更新", "未变")
            for name, c in report.counts.items():
                table.add_row(name, str(c.created), str(c.updated), str(c.unchanged))
            Console().print(table)
        if report.problems:
            table = Table("工作表", "行", "列", "问题", title="校验报告")
            for p in report.problems:
                table.add_row(
                    p.sheet, "" if p.row is None else str(p.row), p.column or "", p.message
                )
            Console(stderr=True).print(table)
    if not report.ok:
        typer.echo(f"发现 {len(report.problems)} 个问题，未写入任何数据", err=True)
    elif dry_run:
        typer.echo("校验通过（试运行，未写入）", err=True)
    else:
        typer.echo("导入完成", err=True)


@app.command("template")
def template_command(
    file: str = typer.Argument(..., help="要写入的 .xlsx 文件"),
) -> None:
    """写出空白的登记册工作簿（每个实体一张表，中文表头），供填写后导入。"""
    Path(file).write_bytes(workbook.template())
    typer.echo(f"已写出模板 {file}（{len(workbook.SHEETS)} 张工作表）", err=True)


@app.command("export")
def export_command(
    file: str = typer.Argument(..., help="要写入的 .xlsx 文件"),
    db: str | None = DB,
) -> None:
    """把数据库中的登记册导出为工作簿（与模板同一格式；含设备访问密码，请妥善保管）。"""
    engine = open_engine(db)
    try:
        data = workbook.export(engine)
    finally:
        engine.dispose()
    Path(file).write_bytes(data)
    typer.echo(f"已导出 {file}", err=True)


@app.command("import")
def import_command(
    file: str = typer.Argument(..., help="登记册工作簿（.xlsx 或 .xls）"),
    dry_run: bool = typer.Option(False, "--dry-run", help="只校验，不写入"),
    as_json: bool = JSON,
    db: str | None = DB,
) -> None:
    """导入登记册工作簿：逐行校验；任何一行有问题则全部不写入（按自然键新增或更新）。"""
    data = read_upload(file)
    engine = open_engine(db)
    try:
        run = workbook.validate if dry_run else workbook.apply
        report = run(engine, data, CLI)
    finally:
        engine.dispose()
    _print_report(report, as_json, dry_run=dry_run)
    if not report.ok:
        raise typer.Exit(2)


# --------------------------------------------------------------------------- deployment


@deployment_app.command("set")
def deployment_set(
    region: str = typer.Option(..., "--region", help="本级区划代码（须已登记）"),
    notice: str | None = typer.Option(None, "--notice", help="印在报告上的数据说明"),
    db: str | None = DB,
) -> None:
    """设定本系统的本级区划：驾驶舱、一张图和报告只显示它。"""

    def action(s: Session) -> dict[str, Any]:
        regions.set_own_region(s, CLI, region, data_notice=notice)
        own = deployment.own_region(s)
        assert own is not None
        return {"region": own.code, "name": own.name, "level": own.level}

    rec = in_session(db, action)
    done(f"本级区划已设为 {rec['name']}（{rec['region']}）", rec)
