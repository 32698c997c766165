"""Who may use the platform: the account roles and the principal of a request or command.

Pure: no storage, no web. Everything that names a role (the ``web_user`` check constraint, the
web API's request models and permission checks, ``qingshan user``, the scope functions of
:mod:`qingshan.services.permissions`) takes it from here.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Literal


class Role(enum.StrEnum):
    """The roles an account can have (stored in ``web_user.role``)."""

    ADMIN = "admin"  # 系统管理员
    STAFF = "staff"  # 生态环境局工作人员
    UNIT = "unit"  # 部门（单位）用户: another department of the county, bound to its unit
    GRID = "grid"  # 网格员
    ENTERPRISE = "enterprise"  # 企业用户: bound to one enterprise, sees only its own outlets
    LEADER = "leader"  # 领导（只读）

    @property
    def label(self) -> str:
        return ROLE_LABELS[self.value]


# The anonymous caller's role name: never stored, never granted anything but disclosure.
PUBLIC_ROLE: Literal["public"] = "public"

ROLE_LABELS: dict[str, str] = {
    "admin": "系统管理员",
    "staff": "生态环境局工作人员",
    "unit": "部门（单位）用户",
    "grid": "网格员",
    "enterprise": "企业用户",
    "leader": "领导（只读）",
    PUBLIC_ROLE: "公众",
}

ROLE_NAMES: tuple[str, ...] = tuple(r.value for r in Role)


def parse_role(text: str) -> Role:
    """``Role`` from its stored name; ValueError naming the valid ones otherwise."""
    try:
        return Role(text)
    except ValueError:
        raise ValueError(f"unknown role {text!r}; use one of: {', '.join(ROLE_NAMES)}") from None


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is asking: a user (by browser session or API token), a command-line operator, or
    the anonymous public. Scope functions read ``role``, ``enterprise_id`` and ``unit``."""

    role: Role | Literal["public"]
    user_id: int | None = None
    username: str | None = None
    unit: str | None = None
    enterprise_id: int | None = None
    via: str = "anonymous"  # session | token | cli | anonymous
    csrf_token: str | None = None

    @property
    def is_public(self) -> bool:
        return self.role == PUBLIC_ROLE

    @property
    def role_label(self) -> str:
        return ROLE_LABELS[self.role]


PUBLIC = Principal(role=PUBLIC_ROLE)
# The operator at the command line (``qingshan device add``, ``qingshan user add``): whoever
# can open the database already has every right; audit entries name them "cli".
CLI = Principal(role=Role.ADMIN, username="cli", via="cli")
