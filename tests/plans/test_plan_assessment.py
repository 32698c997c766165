"""Annual assessment (考核): the pure scoring rules (deductions 扣完为止, bonuses, 一票否决,
grade bands, scheme faults) and a year computed from a plan's status and exported to Excel
through the CLI; SQLite and PostgreSQL."""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from openpyxl import load_workbook
from sqlalchemy import Engine
from typer.testing import CliRunner

from casework.conftest import make_users
from qingshan.cli.main import app
from qingshan.plans.assessment import (
    Band,
    Bonus,
    IndicatorResult,
    SchemeError,
    UnitScheme,
    parse_scheme,
    score_unit,
)
from qingshan.roles import CLI
from qingshan.services import attachments
from qingshan.services.plans import PlanError, assessment, load_template, reports
from qingshan.settings import get_settings
from qingshan.storage.db import session_factory, session_scope
from qingshan.web import create_app
from web.conftest import login

BANDS = (
    Band("优秀", Decimal(90)),
    Band("良好", Decimal(80)),
    Band("合格", Decimal(60)),
    Band("不合格", Decimal(0)),
)
SCHEME = """
year = 2025
plan = "kongtong-14th"
bands = [{ grade = "优秀", min = "90" }, { grade = "良好", min = "80" },
         { grade = "合格", min = "60" }, { grade = "不合格", min = "0" }]
[[unit]]
code = "水务局"
[[unit.item]]
indicator = "20"
points = "10"
per = "0.1"
deduct = "1"
[[unit.item]]
indicator = "8"
points = "5"
[[unit.item]]
tasks = true
points = "85"
deduct = "2"
[[unit.bonus]]
points = "2"
reason = "获评省级示范"
[[unit.veto]]
indicator = "20"
"""
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def _scheme_unit(text: str = SCHEME) -> tuple[object, ...]:
    s = parse_scheme(text)
    return s.units[0], s.bands


def test_deduction_per_step_down_to_zero_bonus_and_bands() -> None:
    u, bands = _scheme_unit()
    missed = IndicatorResult(False, Decimal("0.25"), off_track=False, reason="")
    res = score_unit(u, bands, {"20": ("森林覆盖率", missed)}, overdue_tasks=1)  # type: ignore[arg-type]
    forest, sewage, work = res.lines
    assert forest.score == Decimal(7)  # ⌈0.25 / 0.1⌉ = 3 steps × 1
    assert (sewage.score, sewage.reason) == (Decimal(0), "规划中没有此序号的指标")
    assert work.score == Decimal(83)
    assert (res.bonus, res.total, res.grade, res.vetoed_by) == (Decimal(2), Decimal(92), "优秀", [])
    far = IndicatorResult(False, Decimal(5), off_track=True, reason="")
    res = score_unit(u, bands, {"20": ("森林覆盖率", far)}, overdue_tasks=100)  # type: ignore[arg-type]
    assert [ln.score for ln in res.lines] == [Decimal(0), Decimal(0), Decimal(0)]  # 扣完为止
    assert res.vetoed_by == ["森林覆盖率"] and res.grade == "不合格"  # 一票否决


@given(st.decimals(min_value=0, max_value=200, places=2, allow_nan=False))
def test_the_grade_is_the_first_band_reached(total: Decimal) -> None:
    u = UnitScheme("X", (), bonuses=(Bonus(total, "分数"),))
    res = score_unit(u, BANDS, {}, overdue_tasks=0)
    assert res.total == total
    expected = "优秀" if total >= 90 else "良好" if total >= 80 else "合格"
    assert res.grade == (expected if total >= 60 else "不合格")


def test_scheme_faults_are_all_named() -> None:
    bad = """
plan = ""
bands = [{ grade = "合格", min = "60" }, { grade = "优秀", min = "90" }]
[[unit]]
[[unit]]
code = "X"
[[unit.item]]
points = "-1"
"""
    with pytest.raises(SchemeError) as exc:
        parse_scheme(bad)
    text = "；".join(exc.value.problems)
    for fault in ("缺少年份", "缺少规划", "从高到低", "缺少单位代码", "应为正数", "指标项"):
        assert fault in text, fault


def test_a_year_is_computed_from_the_plan_and_exported(engine: Engine, tmp_path: Path) -> None:
    users = make_users(engine)
    store = attachments.AttachmentStore(
        tmp_path / "att", attachments.Limits(1 << 20, 10**6, 1 << 22)
    )
    with session_scope(engine) as s:
        load_template(s, CLI, "kongtong-14th")
        r = reports.report_value(s, users["unit"], "kongtong-14th", "20", 2025, "24.71")
        attachments.add(
            s, store, users["unit"], PDF, file_name="年报.pdf", entity_type="plan_report",
            entity_id=r.id, evidence="evidence",
        )  # fmt: skip
        reports.submit(s, users["unit"], r.id)
        reports.review(s, users["staff"], r.id, accept=True)
    with session_scope(engine) as s:
        during = assessment.run(s, CLI, SCHEME, today=date(2025, 9, 1)).to_dict()["units"][0]
        after = assessment.run(s, CLI, SCHEME, today=date(2026, 3, 1)).to_dict()["units"][0]
        with pytest.raises(PlanError, match="没有权限"):
            assessment.run(s, users["unit"], SCHEME)
        with pytest.raises(PlanError, match="未登记"):
            assessment.run(s, CLI, SCHEME.replace('code = "水务局"', 'code = "无此单位"'))
    # 24.71 against ≥ 24.81: 0.10 short → 1 step → 9 of 10; 农村生活污水治理率 has no value
    assert [ln["score"] for ln in during["lines"]] == ["9", "0", "85"]
    assert during["lines"][1]["reason"] == "尚无实际值"
    assert (during["total"], during["grade"], during["vetoed_by"]) == ("96", "优秀", [])
    # after the year: the missed target is off track → 一票否决
    assert (after["total"], after["grade"], after["vetoed_by"]) == ("96", "不合格", ["森林覆盖率"])
    scheme = tmp_path / "scheme.toml"
    scheme.write_text(SCHEME, encoding="utf-8")
    out_file = tmp_path / "考核.xlsx"
    url = str(engine.url.render_as_string(hide_password=False))
    out = CliRunner().invoke(
        app, ["plan", "assess", str(scheme), "--xlsx", str(out_file), "--json", "--db", url]
    )
    assert out.exit_code == 0, out.output
    wb = load_workbook(io.BytesIO(out_file.read_bytes()))
    rows = list(wb["考核结果"].iter_rows(values_only=True))
    assert rows[1] == ("单位代码", "单位", "得分", "加分", "总分", "等级", "一票否决")
    assert rows[2][:2] == ("水务局", "水务局") and rows[2][4] == 96
    detail = list(wb["评分明细"].iter_rows(values_only=True))
    assert detail[1][1] == "森林覆盖率" and detail[1][3] == 9
    bad = tmp_path / "bad.toml"
    bad.write_text("year = 2025\n", encoding="utf-8")
    out = CliRunner().invoke(app, ["plan", "assess", str(bad), "--db", url])
    assert out.exit_code == 2 and "考核方案有误" in out.stderr


def test_a_stored_scheme_is_viewed_and_exported_from_the_web(engine: Engine, db_url: str) -> None:
    """The bureau keeps the year's scheme on the platform; /plans shows it with the computed
    assessment and exports the same workbook as the command line."""
    make_users(engine)
    with session_scope(engine) as s:
        load_template(s, CLI, "kongtong-14th")
    settings = get_settings(db_url=db_url, web_cookie_secure=False)
    staff = login(create_app(settings, session_factory(engine)), "staff")
    unit = login(create_app(settings, session_factory(engine)), "unit")
    leader = login(create_app(settings, session_factory(engine)), "leader")
    url = "/api/v1/plans/kongtong-14th/assessment"
    try:
        none = staff.get(url, params={"year": 2025})
        assert none.status_code == 422 and "尚未录入2025年度考核方案" in none.json()["detail"]
        bad = staff.post(url + "/scheme", json={"text": "year = 2025\n"})
        assert bad.status_code == 422 and "考核方案有误" in bad.json()["detail"]
        stranger = SCHEME.replace('code = "水务局"', 'code = "无此单位"')
        bad = staff.post(url + "/scheme", json={"text": stranger})
        assert bad.status_code == 422 and "无此单位 未登记" in bad.json()["detail"]
        other = SCHEME.replace('plan = "kongtong-14th"', 'plan = "changji-14th"')
        bad = staff.post(url + "/scheme", json={"text": other})
        assert bad.status_code == 422 and "changji-14th 未载入" in bad.json()["detail"]
        assert unit.post(url + "/scheme", json={"text": SCHEME}).status_code == 403
        saved = staff.post(url + "/scheme", json={"text": SCHEME})
        assert saved.status_code == 201 and saved.json()["year"] == 2025
        got = staff.get(url, params={"year": 2025}).json()
        assert got["scheme"]["text"] == SCHEME and got["scheme"]["entered_by"] == "staff"
        u = got["result"]["units"][0]
        # 2025 is complete: 森林覆盖率 and 农村生活污水治理率 have no value (0 each, no veto: not
        # off track), no overdue task (85), bonus 2 → 87, 良好
        assert [ln["score"] for ln in u["lines"]] == ["0", "0", "85"]
        assert (u["score"], u["bonus"], u["total"], u["grade"]) == ("85", "2", "87", "良好")
        x = staff.get(url + ".xlsx", params={"year": 2025})
        assert x.status_code == 200 and x.content[:2] == b"PK"
        rows = list(load_workbook(io.BytesIO(x.content))["考核结果"].iter_rows(values_only=True))
        assert rows[2][0] == "水务局" and rows[2][4] == 87 and rows[2][5] == "良好"
        assert leader.get(url, params={"year": 2025}).status_code == 403
        assert unit.get(url + ".xlsx", params={"year": 2025}).status_code == 403
    finally:
        staff.close()
        unit.close()
        leader.close()
