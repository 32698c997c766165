"""``qingshan calendar``: the working-day calendar (national holidays and 调休 plus this
deployment's own days) and deadline arithmetic."""

from __future__ import annotations

import json
from datetime import date, timedelta

import typer

from qingshan.cli._db import DB_OPTION_HELP, fail, open_engine
from qingshan.roles import CLI
from qingshan.services import workcalendar
from qingshan.services.errors import ServiceError
from qingshan.storage.db import session_scope
from qingshan.workdays import CalendarError, add_calendar_days, add_working_days, national_calendar

app = typer.Typer(help="Working-day calendar: holidays, 调休 working days, deadlines.",
                  no_args_is_help=True)  # fmt: skip


def _day(text: str, what: str = "日期") -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise fail(f"{what} {text!r} 不是 YYYY-MM-DD 格式的日期", 2) from None


def _set(day_text: str, to_text: str | None, kind: str, name: str, db: str | None) -> None:
    first = _day(day_text)
    last = _day(to_text, "--to") if to_text else first
    if last < first or (last - first).days > 31:
        raise fail("--to 应不早于起始日期，且区间不超过 31 天", 2)
    engine = open_engine(db)
    done: list[str] = []
    try:
        with session_scope(engine) as s:
            d = first
            while d <= last:
                if kind == "workday" or national_calendar().info(d).working:
                    workcalendar.set_day(s, CLI, d, kind, name)
                    done.append(d.isoformat())
                d += timedelta(days=1)
    except (CalendarError, ServiceError) as exc:
        raise fail(str(exc), 2) from None
    finally:
        engine.dispose()
    label = workcalendar.KIND_LABELS[kind]
    typer.echo(f"已设为{label}（{name}）：{'、'.join(done) if done else '无（均已是休息日）'}")


@app.command("add-holiday")
def add_holiday(
    day: str = typer.Argument(..., help="YYYY-MM-DD"),
    name: str = typer.Option(..., "--name", help="名称，如：县庆放假"),
    to: str | None = typer.Option(None, "--to", help="last day of a period (YYYY-MM-DD)"),
    db: str | None = typer.Option(None, "--db", help=DB_OPTION_HELP),
) -> None:
    """Make a day (or the working days of a period) a holiday of this deployment."""
    _set(day, to, "holiday", name, db)


@app.command("add-workday")
def add_workday(
    day: str = typer.Argument(..., help="YYYY-MM-DD"),
    name: str = typer.Option(..., "--name", help="名称，如：调休上班"),
    db: str | None = typer.Option(None, "--db", help=DB_OPTION_HELP),
) -> None:
    """Make a weekend or holiday a working day of this deployment (调休上班)."""
    _set(day, None, "workday", name, db)


@app.command("remove")
def remove(
    day: str = typer.Argument(..., help="YYYY-MM-DD"),
    db: str | None = typer.Option(None, "--db", help=DB_OPTION_HELP),
) -> None:
    """Drop this deployment's setting of a day (the national calendar applies again)."""
    d = _day(day)
    engine = open_engine(db)
    try:
        with session_scope(engine) as s:
            workcalendar.remove_day(s, CLI, d)
    except (CalendarError, ServiceError) as exc:
        raise fail(str(exc), 2) from None
    finally:
        engine.dispose()
    typer.echo(f"已取消 {d.isoformat()} 的本地设置")


@app.command("list")
def list_days(
    year: int = typer.Option(..., "--year", min=1990, max=2100),
    db: str | None = typer.Option(None, "--db", help=DB_OPTION_HELP),
    as_json: bool = typer.Option(False, "--json", help="JSON lines"),
) -> None:
    """The year's holidays and working weekends (national and local), with the notice."""
    engine = open_engine(db)
    try:
        with session_scope(engine) as s:
            days = workcalendar.special_days(s, year)
    finally:
        engine.dispose()
    notice = national_calendar().notices.get(year)
    if not as_json:
        if notice is None:
            typer.echo(f"{year}年：未收录国务院办公厅节假日安排通知，除本地设置外按周六、周日休息")
        else:
            state = "已核实" if notice.verified else f"未核实（{notice.note}）"
            typer.echo(f"{year}年：{notice.notice} {notice.number}（{state}）")
    for info in days:
        if as_json:
            typer.echo(json.dumps({"day": info.day.isoformat(), "working": info.working,
                                   "reason": info.reason, "source": info.source},
                                  ensure_ascii=False))  # fmt: skip
        else:
            where = {"national": "国务院通知", "local": "本地设置", "weekday": ""}[info.source]
            typer.echo(f"{info.describe()}\t{where}")


@app.command("deadline")
def deadline(
    start: str = typer.Argument(..., help="the day the period starts from (YYYY-MM-DD)"),
    days: int = typer.Option(..., "--days", min=0, max=3660),
    working: bool = typer.Option(False, "--working", help="count working days (工作日)"),
    db: str | None = typer.Option(None, "--db", help=DB_OPTION_HELP),
) -> None:
    """When a period of N calendar or working days from START ends, and why."""
    first = _day(start)
    engine = open_engine(db)
    try:
        with session_scope(engine) as s:
            cal = workcalendar.calendar(s)
    finally:
        engine.dispose()
    d = add_working_days(cal, first, days) if working else add_calendar_days(cal, first, days)
    typer.echo(d.due.isoformat())
    typer.echo(d.explain(), err=True)
