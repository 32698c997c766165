"""Shared by the case tests: a county with units and one user per role, in a migrated database."""

from __future__ import annotations

from datetime import date
from functools import cache
from typing import Any

from sqlalchemy import Engine

from qingshan.clock import utcnow
from qingshan.roles import Principal, Role
from qingshan.services.accounts import hash_password
from qingshan.services.cases import core
from qingshan.storage.db import session_scope
from qingshan.storage.models import Enterprise, Region
from qingshan.storage.models_registry import OrgUnit
from qingshan.storage.models_web import WebUser

PASSWORD = "correct-horse-1"
UNITS = {
    "SWJ": "水务局",
    "ZRZY": "自然资源局",
    "SHJ": "生态环境分局",
    "ZJJ": "住建局",
}
CREDIT = "91620200000000001A"


@cache
def _password_hash() -> str:
    return hash_password(PASSWORD)


def make_county(engine: Engine) -> dict[str, Principal]:
    """Region 620802 (under 620800), four units, one enterprise; users by name: admin,
    staff, lead (unit 水务局), acc (unit 生态环境分局), other (unit 住建局), grid, leader,
    ent."""
    out: dict[str, Principal] = {}
    with session_scope(engine) as s:
        s.add(Region(code="620800", name="平凉市", level="city"))
        s.add(Region(code="620802", name="崆峒区", level="county", parent_code="620800"))
        s.add(Region(code="620821", name="泾川县", level="county", parent_code="620800"))
        s.flush()
        ent = Enterprise(name="甲水泥有限公司", credit_code=CREDIT, region_code="620802")
        s.add(ent)
        for code, name in UNITS.items():
            s.add(OrgUnit(code=code, name=name, kind="department", region_code="620802"))
        s.flush()
        specs: dict[str, tuple[Role, dict[str, Any]]] = {
            "admin": (Role.ADMIN, {}),
            "staff": (Role.STAFF, {}),
            "lead": (Role.UNIT, {"unit": "SWJ"}),
            "acc": (Role.UNIT, {"unit": "SHJ"}),
            "other": (Role.UNIT, {"unit": "ZJJ"}),
            "grid": (Role.GRID, {}),
            "leader": (Role.LEADER, {}),
            "ent": (Role.ENTERPRISE, {"enterprise_id": ent.id}),
        }
        for name, (role, extra) in specs.items():
            u = WebUser(
                username=name,
                password_hash=_password_hash(),
                role=role,
                active=True,
                created_at=utcnow(),
                **extra,
            )
            s.add(u)
            s.flush()
            out[name] = Principal(
                role=role,
                user_id=u.id,
                username=name,
                unit=extra.get("unit"),
                enterprise_id=extra.get("enterprise_id"),
                via="session",
            )
    return out


def problem(**kw: Any) -> core.CaseInput:
    """A 督察整改 item of the first central round, led by 水务局, accepted by 生态环境分局."""
    base: dict[str, Any] = {
        "origin": "central_inspection",
        "round": 1,
        "title": "泾河沿岸生活污水直排",
        "received_on": date(2026, 3, 2),
        "lead_unit": "SWJ",
        "acceptance_unit": "SHJ",
        "supporting_units": ["自然资源局"],
        "region": "620802",
        "category": "水",
        "due_on": date(2026, 9, 30),
    }
    base.update(kw)
    return core.CaseInput(**base)


def complaint(**kw: Any) -> core.CaseInput:
    base: dict[str, Any] = {
        "origin": "hotline",
        "channel": "12369",
        "title": "反映某料场扬尘",
        "received_on": date(2026, 3, 2),
        "region": "620802",
        "category": "大气",
    }
    base.update(kw)
    return core.CaseInput(**base)
