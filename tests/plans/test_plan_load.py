"""Loading plan templates on SQLite and PostgreSQL: region chain, idempotence, ``--region``,
the schema against the models, and the ``qingshan plan`` command line."""

from __future__ import annotations

import json
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, func, inspect, select
from typer.testing import CliRunner

from qingshan.cli.main import app
from qingshan.plans import template_ids
from qingshan.roles import CLI, Principal, Role
from qingshan.services import plans
from qingshan.services.errors import NotFound
from qingshan.services.plans import PlanError, assess
from qingshan.services.registry import regions
from qingshan.storage.db import init_db, migrate, session_scope
from qingshan.storage.models import Base, Region
from qingshan.storage.models_plans import Plan, PlanIndicator, PlanTarget
from qingshan.storage.models_web import AuditEntry

TABLES = {"plan", "plan_indicator", "plan_target", "plan_task", "plan_task_unit", "plan_report"}


def _ours(obj: Any, name: str | None, type_: str, _reflected: bool, _other: Any) -> bool:
    table = name if type_ == "table" else getattr(getattr(obj, "table", None), "name", None)
    return table in TABLES


def test_migration_matches_the_models(engine: Engine) -> None:
    assert set(inspect(engine).get_table_names()) >= TABLES
    with engine.connect() as conn:
        mc = MigrationContext.configure(conn, opts={"compare_type": True, "include_object": _ours})
        assert compare_metadata(mc, Base.metadata) == []


def test_downgrade_and_upgrade_again(db_url: str) -> None:
    engine = init_db(db_url)
    migrate(engine, "0510_web_hardening")
    assert not TABLES & set(inspect(engine).get_table_names())
    init_db(engine)
    assert set(inspect(engine).get_table_names()) >= TABLES
    engine.dispose()


def test_load_inserts_the_region_chain_once_and_is_idempotent(engine: Engine) -> None:
    with session_scope(engine) as s:
        r = plans.load_template(s, CLI, "kongtong-14th")
    assert r.created and r.regions_added == ["620000", "620800", "620802"]
    assert r.indicators == 21
    with session_scope(engine) as s:
        again = plans.load_template(s, CLI, "kongtong-14th")
        assert (again.created, again.plan_id, again.regions_added) == (False, r.plan_id, [])
        assert s.scalar(select(func.count()).select_from(Plan)) == 1
        assert s.scalar(select(func.count()).select_from(PlanIndicator)) == 21
        assert s.get(Region, "620802").parent_code == "620800"  # type: ignore[union-attr]
        # the registry's own service wrote the regions: audited like any other edit
        assert (
            s.scalar(
                select(func.count()).select_from(AuditEntry).where(AuditEntry.entity == "region")
            )
            == 3
        )
        t = s.scalar(
            select(PlanTarget)
            .join(PlanIndicator, PlanIndicator.id == PlanTarget.indicator_id)
            .where(PlanIndicator.no == "1")
        )
        assert t is not None and (t.text, t.comparator, t.value) == ("96.7", "at_least", "96.7")


def test_load_into_another_region_keeps_existing_regions(engine: Engine) -> None:
    with session_scope(engine) as s:
        for code, name, parent in (
            ("620000", "甘肃省", None),
            ("620200", "嘉峪关市", "620000"),
        ):
            regions.save_region(s, CLI, regions.RegionRecord(code, name, parent))
        r = plans.load_template(s, CLI, "kongtong-14th", region="620200")
        assert r.regions_added == ["620800", "620802"]
        assert plans.find_plan(s, CLI, "kongtong-14th").region_code == "620200"
    with session_scope(engine) as s, pytest.raises(NotFound, match="没有规划"):
        plans.find_plan(s, CLI, "changji-99th")


def test_refusals(engine: Engine) -> None:
    grid = Principal(role=Role.GRID, username="g", via="session")
    ent = Principal(role=Role.ENTERPRISE, username="e", via="session", enterprise_id=1)
    with session_scope(engine) as s:
        with pytest.raises(PlanError, match="没有此模板"):
            plans.load_template(s, CLI, "nowhere-99th")
        with pytest.raises(PlanError, match="没有权限"):
            plans.load_template(s, grid, "kongtong-14th")
        with pytest.raises(PlanError, match="区划 999999 不存在"):
            plans.load_template(s, CLI, "kongtong-14th", region="999999")
    with session_scope(engine) as s:  # the refused load wrote nothing
        assert s.scalar(select(func.count()).select_from(Plan)) == 0
        plans.load_template(s, CLI, "kongtong-14th")
    with session_scope(engine) as s, pytest.raises(NotFound):
        assess.plan_status(s, ent, "kongtong-14th")


def test_status_without_monitoring_data_says_why(engine: Engine) -> None:
    from datetime import date

    with session_scope(engine) as s:
        plans.load_template(s, CLI, "kongtong-14th")
        st = assess.plan_status(s, CLI, "kongtong-14th", year=2025, today=date(2025, 6, 1))
    d = st.to_dict()
    by_no = {i["no"]: i for i in d["indicators"]}
    assert all(i["status"] == "not_assessable" for i in d["indicators"])
    assert by_no["1"]["reason"] == "区域内没有参加评价的环境空气质量监测站点"
    assert by_no["4"]["reason"] == "区域内本年没有可评价的地表水断面"
    assert by_no["9"]["reason"] == "目标为完成上级下达目标，下达值尚未录入"
    assert by_no["21"]["reason"] == "本年没有目标值"
    assert by_no["8"]["reason"] == "尚无实际值"


def test_cli_templates_load_status(db_url: str) -> None:
    runner = CliRunner()
    out = runner.invoke(app, ["plan", "templates", "--json"])
    assert out.exit_code == 0, out.output
    listed = {t["id"]: t for t in json.loads(out.stdout)}
    assert set(listed) == set(template_ids())
    assert listed["kongtong-14th"]["indicators"] == 21
    out = runner.invoke(app, ["plan", "load", "kongtong-14th", "--db", db_url])
    assert out.exit_code == 0, out.output
    first = json.loads(out.stdout.splitlines()[0])
    assert first["created"] is True
    out = runner.invoke(app, ["plan", "load", "kongtong-14th", "--db", db_url])
    assert json.loads(out.stdout.splitlines()[0])["created"] is False
    assert "此前已载入" in out.stderr
    out = runner.invoke(
        app, ["plan", "status", str(first["plan_id"]), "--year", "2025", "--json", "--db", db_url]
    )
    assert out.exit_code == 0, out.output
    d = json.loads(out.stdout)
    assert len(d["indicators"]) == 21
    one = d["indicators"][0]
    for key in ("name", "unit", "attribute", "baseline", "targets", "actual", "status"):
        assert key in one
    assert one["name"] == "中心城区空气质量优良天数比率"
    assert one["baseline"] == {"year": 2022, "text": "96.7"}
    assert one["targets"][0]["text"] == "96.7"
    out = runner.invoke(app, ["plan", "load", "nowhere-99th", "--db", db_url])
    assert out.exit_code == 2 and "没有此模板" in out.stderr
    out = runner.invoke(app, ["plan", "status", "nowhere", "--db", db_url])
    assert out.exit_code == 2 and "没有规划" in out.stderr


def test_loading_tasks_creates_the_units_they_name_once(engine: Engine) -> None:
    from qingshan.storage.models_plans import PlanTask, PlanTaskUnit
    from qingshan.storage.models_registry import OrgUnit

    with session_scope(engine) as s:
        r = plans.load_template(s, CLI, "pingliang-2030")
        assert (r.indicators, r.tasks) == (23, 26)
        assert "市生态环境局" in r.units_added and len(r.units_added) == len(set(r.units_added))
        kinds = {n: k for n, k in s.execute(select(OrgUnit.name, OrgUnit.kind)).all()}
        assert kinds["市生态环境局"] == "department"
        assert kinds["各县(市、区)党委和人民政府"] == "county"
        assert kinds["平凉工业园区(高新区)党工委和管委会"] == "park"
        task4 = s.scalar(select(PlanTask).where(PlanTask.no == "4"))
        assert task4 is not None and task4.text == "构建要素完备的法规体系"
        roles = s.execute(
            select(OrgUnit.name, PlanTaskUnit.role)
            .join(OrgUnit, OrgUnit.code == PlanTaskUnit.unit_code)
            .where(PlanTaskUnit.task_id == task4.id)
        ).all()
        assert sorted(roles) == sorted(
            [
                ("市人大常委会法工委", "joint"),
                ("市司法局", "joint"),
                ("市生态环境局", "joint"),
                ("各县(市、区)党委和人民政府", "each"),
                ("平凉工业园区(高新区)党工委和管委会", "each"),
            ]
        )
    with session_scope(engine) as s:  # a unit already registered under that name is reused
        assert plans.load_template(s, CLI, "changji-14th").units_added == []
        n = s.scalar(select(func.count()).select_from(OrgUnit))
        assert n == len(kinds)


def test_all_five_templates_load_into_a_deployment_that_is_not_the_demo(engine: Engine) -> None:
    from datetime import date

    counts = {
        "kongtong-14th": (21, 0),
        "changji-14th": (24, 0),
        "qiandongnan-14th": (18, 0),
        "pingliang-2030": (23, 26),
        "jiayuguan-2020": (14, 31),
    }
    assert set(counts) == set(template_ids())
    with session_scope(engine) as s:
        for tid, (n_ind, n_task) in counts.items():
            r = plans.load_template(s, CLI, tid)
            assert (r.indicators, r.tasks) == (n_ind, n_task), tid
    with session_scope(engine) as s:
        assert {p.template_id for p in plans.list_plans(s, CLI)} == set(counts)
        assert s.get(Region, "652301").parent_code == "652300"  # type: ignore[union-attr]
        assert s.get(Region, "522600").level == "city"  # type: ignore[union-attr]
        for tid, (n_ind, _n) in counts.items():
            st = assess.plan_status(s, CLI, tid, year=2025, today=date(2025, 7, 1)).to_dict()
            assert len(st["indicators"]) == n_ind
            assert all(i["status"] == "not_assessable" for i in st["indicators"])  # no data
        changji = assess.plan_status(s, CLI, "changji-14th", year=2025, today=date(2025, 7, 1))
        first = changji.indicators[0]
        assert first.reason.startswith("该指标扣除沙尘影响，平台尚未记录沙尘天气")
        jyg = assess.plan_status(s, CLI, "jiayuguan-2020", year=2020, today=date(2025, 7, 1))
        assert jyg.indicators[0].target is not None
        assert jyg.indicators[0].target["text"] == "完成省上下达的目标任务"
