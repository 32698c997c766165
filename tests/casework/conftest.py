"""Shared by the casework tests: users of every role in a migrated database."""

from __future__ import annotations

from functools import cache

from sqlalchemy import Engine

from qingshan.clock import utcnow
from qingshan.roles import Principal, Role
from qingshan.services.accounts import hash_password
from qingshan.storage.db import session_scope
from qingshan.storage.models import Enterprise, Region
from qingshan.storage.models_registry import OrgUnit
from qingshan.storage.models_web import WebUser

PASSWORD = "correct-horse-1"


@cache
def _password_hash() -> str:
    # argon2 is slow by design: hash once, not once per user per test
    return hash_password(PASSWORD)


def make_users(engine: Engine) -> dict[str, Principal]:
    """One user per role (two unit users of different units); principals by name."""
    out: dict[str, Principal] = {}
    with session_scope(engine) as s:
        s.add(Region(code="620200", name="嘉峪关市", level="city"))
        s.flush()
        ent = Enterprise(
            name="甲钢铁有限公司", credit_code="91620200000000001A", region_code="620200"
        )
        s.add(ent)
        # web_user.unit refers to a registered 责任单位 (org_unit).
        for unit in ("水务局", "自然资源局"):
            s.add(OrgUnit(code=unit, name=unit, kind="department", region_code="620200"))
        s.flush()
        specs = {
            "admin": (Role.ADMIN, {}),
            "staff": (Role.STAFF, {}),
            "unit": (Role.UNIT, {"unit": "水务局"}),
            "unit2": (Role.UNIT, {"unit": "自然资源局"}),
            "grid": (Role.GRID, {}),
            "ent": (Role.ENTERPRISE, {"enterprise_id": ent.id}),
            "leader": (Role.LEADER, {}),
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
