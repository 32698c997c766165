"""The report kinds registry: period parsers for month, year, day and week (a Monday), each
refusing bad text with a Chinese message that says what to write; the report_issue table's
migration matches its model and goes down and up again on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect

from qingshan.services.reports import kinds
from qingshan.services.reports.kinds import (
    PeriodError,
    parse_day,
    parse_month,
    parse_week,
    parse_year,
)
from qingshan.storage.db import init_db, migrate
from qingshan.storage.models import Base


def test_month_and_year() -> None:
    p = parse_month("2026-02")
    assert (p.key, p.start, p.end, p.label) == (
        "2026-02",
        date(2026, 2, 1),
        date(2026, 2, 28),
        "2026年2月",
    )
    assert parse_month(" 2024-02 ").end == date(2024, 2, 29)
    y = parse_year("2026")
    assert (y.key, y.start, y.end, y.label) == (
        "2026",
        date(2026, 1, 1),
        date(2026, 12, 31),
        "2026年",
    )


def test_day_and_week() -> None:
    d = parse_day("2026-02-03")
    assert (d.key, d.start, d.end, d.label) == (
        "2026-02-03",
        date(2026, 2, 3),
        date(2026, 2, 3),
        "2026年2月3日",
    )
    w = parse_week("2026-02-23")  # a Monday; the week runs into March
    assert (w.start, w.end) == (date(2026, 2, 23), date(2026, 3, 1))
    assert w.label == "2026年2月23日—2026年3月1日"
    with pytest.raises(PeriodError, match="2026-02-25 所在周的周一是 2026-02-23"):
        parse_week("2026-02-25")


@pytest.mark.parametrize(
    ("parse", "text", "words"),
    [
        (parse_month, "2026-13", "请按 YYYY-MM 填写"),
        (parse_month, "2026-00", "请按 YYYY-MM 填写"),
        (parse_month, "2026-2", "请按 YYYY-MM 填写"),
        (parse_month, "1999-12", "超出范围"),
        (parse_year, "26", "请按 YYYY 填写"),
        (parse_year, "2101", "超出范围"),
        (parse_year, "٢٠٢٦", "请按 YYYY 填写"),  # ASCII digits only
        (parse_day, "2026-02-30", "请按 YYYY-MM-DD 填写"),
        (parse_day, "2026/02/03", "请按 YYYY-MM-DD 填写"),
        (parse_week, "2026-02-30", "请按 YYYY-MM-DD 填写"),
        (parse_week, "", "请按 YYYY-MM-DD 填写"),
    ],
)
def test_bad_periods_say_what_to_write(parse: Any, text: str, words: str) -> None:
    with pytest.raises(PeriodError, match=words):
        parse(text)


def test_registry() -> None:
    assert {k: (v.short, v.period_hint) for k, v in kinds.KINDS.items()} == {
        "monthly": ("月报", "YYYY-MM"),
        "annual": ("年报", "YYYY"),
        "daily": ("日报", "YYYY-MM-DD"),
        "weekly": ("周报", "YYYY-MM-DD（周一）"),
    }
    assert kinds.get("monthly").parse is parse_month
    assert kinds.get("weekly").parse is parse_week
    with pytest.raises(PeriodError, match="可选：月报（monthly）、年报（annual）、日报（daily）"):
        kinds.get("hourly")


def _ours(obj: Any, name: str | None, type_: str, _reflected: bool, _other: Any) -> bool:
    table = name if type_ == "table" else getattr(getattr(obj, "table", None), "name", None)
    return table == "report_issue"


def test_migration_matches_the_model(engine: Engine) -> None:
    import qingshan.storage.models_reports  # noqa: F401  (the table in Base.metadata)

    assert "report_issue" in inspect(engine).get_table_names()
    with engine.connect() as conn:
        mc = MigrationContext.configure(conn, opts={"compare_type": True, "include_object": _ours})
        assert compare_metadata(mc, Base.metadata) == []


def test_downgrade_and_upgrade_again(db_url: str) -> None:
    engine = init_db(db_url)
    migrate(engine, "0845_cases_more")
    assert "report_issue" not in inspect(engine).get_table_names()
    init_db(engine)
    assert "report_issue" in inspect(engine).get_table_names()
    engine.dispose()
