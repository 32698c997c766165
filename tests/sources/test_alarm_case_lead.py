"""The unit answering for automatic-alarm cases (报警责任单位): a rule per region, its ancestors
or the whole deployment, set by administrators (service, command line, API); the cases of new
episodes get it as their lead unit, or none with a visible warning; 确认 from the case page's
API is ``qingshan case confirm``'s path; an enterprise user reads its own alarm cases and
no other's (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select
from typer.testing import CliRunner

from qingshan.cli.main import app
from qingshan.roles import CLI, Principal, Role
from qingshan.services.accounts import hash_password
from qingshan.services.cases import alarm as alarm_cases
from qingshan.services.cases import core
from qingshan.services.errors import NotFound
from qingshan.settings import get_settings
from qingshan.storage.db import session_factory, session_scope
from qingshan.storage.models import Enterprise
from qingshan.storage.models_cases import CaseItem
from qingshan.storage.models_casework import TimelineEvent
from qingshan.storage.models_registry import OrgUnit
from qingshan.storage.models_web import WebUser
from qingshan.web import create_app
from support.web_seed import PASSWORD
from web.conftest import login

from .conftest import H
from .test_alarm_cases import alarm_cases as cases_of_episodes
from .test_alarm_cases import episode_of
from .test_source_alarms import NEXT_MIDNIGHT, detect


def _units(engine: Engine) -> None:
    with session_scope(engine) as s:
        units = (("ZFDD", "生态环境执法大队"), ("SHJ", "生态环境分局"), ("YX", "另一县环境局"))
        for code, name in units:
            s.add(OrgUnit(code=code, name=name, kind="department", region_code="620802"))


def _user(engine: Engine, name: str, role: Role, **extra: Any) -> Principal:
    with session_scope(engine) as s:
        u = WebUser(username=name, password_hash=hash_password(PASSWORD), role=role,
                    active=True, created_at=datetime(2026, 1, 1), **extra)  # fmt: skip
        s.add(u)
        s.flush()
        return Principal(role=role, user_id=u.id, username=name, **extra)


def test_the_rule_by_region_ancestor_and_deployment(engine: Engine, world: dict[str, Any]) -> None:
    _units(engine)
    staff = _user(engine, "staff1", Role.STAFF)
    with session_scope(engine) as s:
        assert alarm_cases.lead_unit_for(s, "620802") is None  # nothing set: none
        with pytest.raises(core.CaseError, match="无权设置报警责任单位"):
            alarm_cases.set_alarm_lead(s, staff, "ZFDD")
        with pytest.raises(core.CaseError, match="区划 999999 不存在"):
            alarm_cases.set_alarm_lead(s, CLI, "ZFDD", region="999999")
        with pytest.raises(core.CaseError, match="未登记"):
            alarm_cases.set_alarm_lead(s, CLI, "财政局")
        alarm_cases.set_alarm_lead(s, CLI, "生态环境分局")  # by name: every region
        alarm_cases.set_alarm_lead(s, CLI, "ZFDD", region="620800")  # the city and below
        alarm_cases.set_alarm_lead(s, CLI, "YX", region="620803")
        assert alarm_cases.lead_unit_for(s, "620802") == "ZFDD"  # from its parent 620800
        assert alarm_cases.lead_unit_for(s, "620803") == "YX"  # its own
        assert alarm_cases.lead_unit_for(s, "620000") == "SHJ"  # above: the default
        assert alarm_cases.lead_unit_for(s, None) == "SHJ"
        assert [(x.region_code, x.unit_code) for x in alarm_cases.alarm_leads(s)] == [
            (None, "SHJ"),
            ("620800", "ZFDD"),
            ("620803", "YX"),
        ]
        alarm_cases.set_alarm_lead(s, CLI, None, region="620803")  # removed
        assert alarm_cases.lead_unit_for(s, "620803") == "ZFDD"
        events = s.scalars(
            select(TimelineEvent.summary).where(TimelineEvent.entity_type == "case_alarm_lead")
        ).all()
        assert "平凉市的自动监控报警由生态环境执法大队（ZFDD）牵头办理" in events
        assert "取消另一县的自动监控报警责任单位" in events


def test_alarm_cases_get_the_unit_confirm_from_the_case_and_enterprise_scope(
    db_url: str, engine: Engine, world: dict[str, Any], tmp_path: Path
) -> None:
    _units(engine)
    _user(engine, "staff", Role.STAFF)
    _user(engine, "zfdd", Role.UNIT, unit="ZFDD")
    with session_scope(engine) as s:
        e1 = s.scalar(select(Enterprise.id).where(Enterprise.name == "甲热力公司"))
        e2 = s.scalar(select(Enterprise.id).where(Enterprise.name == "乙砖厂"))
    _user(engine, "e1", Role.ENTERPRISE, enterprise_id=e1)
    _user(engine, "e2", Role.ENTERPRISE, enterprise_id=e2)
    # set by the command line, for 崆峒区 only
    r = CliRunner().invoke(
        app, ["case", "alarm-unit", "set", "ZFDD", "--region", "620802", "--db", db_url]
    )
    assert r.exit_code == 0 and "崆峒区的自动监控报警由生态环境执法大队（ZFDD）牵头办理" in r.stderr
    r = CliRunner().invoke(app, ["case", "alarm-unit", "list", "--json", "--db", db_url])
    assert '"unit_code": "ZFDD"' in r.stdout
    detect(engine)
    so2 = episode_of(engine, "exceedance", "a21026")  # 甲热力公司 (620802), cleared
    code = cases_of_episodes(engine)[so2][0]
    with session_scope(engine) as s:
        case = core.get(s, CLI, code)
        assert case.lead_unit == "ZFDD"
        zfdd = Principal(role=Role.UNIT, username="zfdd", unit="ZFDD")
        assert core.get(s, zfdd, code).code == code  # the unit now works it
    settings = get_settings(
        db_url=db_url, web_cookie_secure=False, attachments_dir=str(tmp_path / "att")
    )
    web = create_app(settings, session_factory(engine))
    c = {n: login(web, n) for n in ("staff", "zfdd", "e1", "e2")}
    # the 确认 button: shown to the bureau while the episode is unconfirmed, not to the unit
    assert c["staff"].get(f"/api/v1/cases/{code}").json()["may_confirm"] is True
    assert c["zfdd"].get(f"/api/v1/cases/{code}").json()["may_confirm"] is False
    assert c["zfdd"].post(f"/api/v1/cases/{code}/confirm", json={"note": "x"}).status_code == 403
    # enterprise users: their own enterprise's alarm cases, read-only; another's is not there
    mine = sorted(code for ep, (code, _st) in cases_of_episodes(engine).items())
    assert len(mine) == 2  # both exceedances are 甲热力公司's
    assert sorted(x["code"] for x in c["e1"].get("/api/v1/cases").json()) == mine
    assert c["e2"].get(f"/api/v1/cases/{code}").status_code == 404
    assert c["e1"].get(f"/api/v1/cases/{code}").json()["may_confirm"] is False
    assert c["e1"].post(f"/api/v1/cases/{code}/confirm", json={"note": "x"}).status_code == 403
    r = c["staff"].post(f"/api/v1/cases/{code}/confirm", json={"note": "已核实：脱硫剂供应中断"})
    assert r.status_code == 200, r.text
    d = r.json()
    assert d["state"] == "closed" and d["may_confirm"] is False
    assert any("已核实：脱硫剂供应中断" in (e["summary"] or "") for e in d["timeline"])
    again = c["staff"].post(f"/api/v1/cases/{code}/confirm", json={"note": "再次"})
    assert again.status_code == 422
    # an episode still going on: confirmed, the case stays open and says so on its timeline
    detect(engine, NEXT_MIDNIGHT + 5 * H)
    off = episode_of(engine, "offline", "")
    off_code = cases_of_episodes(engine)[off][0]
    r = c["staff"].post(f"/api/v1/cases/{off_code}/confirm", json={"note": "数采仪断电"})
    assert r.status_code == 200 and r.json()["state"] == "alarmed"
    assert any("恢复后案件自动关闭" in (e["summary"] or "") for e in r.json()["timeline"])
    # no rule for the region of 乙砖厂 (620803): its alarm cases have no lead unit, and the
    # case page warns
    with session_scope(engine) as s:
        other = s.scalars(select(CaseItem).where(CaseItem.enterprise_id == e2)).all()
    for x in other:
        assert x.lead_unit is None
        d = c["staff"].get(f"/api/v1/cases/{x.code}").json()
        assert d["notices"] == [alarm_cases.NO_LEAD_WARNING]
        assert c["e1"].get(f"/api/v1/cases/{x.code}").status_code == 404
    # the web setting: administrators only
    admin = _user(engine, "admin1", Role.ADMIN)
    assert admin.role == Role.ADMIN
    a = login(web, "admin1")
    body = {"region": "620803", "unit": "YX"}
    assert c["staff"].put("/api/v1/cases/settings/alarm-leads", json=body).status_code == 403
    r = a.put("/api/v1/cases/settings/alarm-leads", json=body)
    assert r.status_code == 200 and {x["unit_code"] for x in r.json()} == {"ZFDD", "YX"}
    assert len(c["staff"].get("/api/v1/cases/settings/alarm-leads").json()) == 2
    with session_scope(engine) as s, pytest.raises(NotFound):
        core.get(s, Principal(role=Role.ENTERPRISE, username="e", enterprise_id=e2), code)
