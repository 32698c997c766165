"""Log-in, identity, API tokens, users, the audit log."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from qingshan.roles import Role
from qingshan.services.accounts import MIN_PASSWORD


class LoginIn(BaseModel):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)


class Me(BaseModel):
    authenticated: bool
    role: str
    role_label: str
    username: str | None = None
    unit: str | None = None
    enterprise_id: int | None = None
    csrf_token: str | None = Field(None, description="send as X-CSRF-Token on unsafe requests")


class TokenIn(BaseModel):
    name: str = Field(min_length=1, max_length=100, description="what the token is for")
    scope: Literal["read", "write"] = Field(
        "read", description="read: GET only; write: everything the user may do"
    )
    days: int | None = Field(
        None, ge=1, le=36500, description="lifetime in days (default and maximum: settings)"
    )


class TokenOut(BaseModel):
    id: int
    name: str
    prefix: str
    scope: str
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None


class PasswordChange(BaseModel):
    current: str = Field(min_length=1, max_length=256)
    new: str = Field(
        min_length=1, max_length=256, description=f"at least {MIN_PASSWORD} characters"
    )


class NewToken(TokenOut):
    token: str = Field(description="shown once; send as 'Authorization: Bearer <token>'")


class UserOut(BaseModel):
    id: int
    username: str
    role: str
    role_label: str
    display_name: str | None
    unit: str | None
    enterprise_id: int | None
    active: bool
    created_at: datetime
    last_login_at: datetime | None


class RoleOut(BaseModel):
    role: str
    label: str


class UserIn(BaseModel):
    username: str = Field(min_length=3, max_length=64)
    password: str = Field(
        min_length=1, max_length=256, description=f"at least {MIN_PASSWORD} characters, not common"
    )
    role: Role
    unit: str | None = Field(None, max_length=100)
    enterprise_id: int | None = Field(None, ge=1, le=2**31 - 1)
    display_name: str | None = Field(None, max_length=100)


class UserPatch(BaseModel):
    role: Role | None = None
    active: bool | None = None
    display_name: str | None = Field(None, max_length=100)
    unit: str | None = Field(
        None, max_length=100, description="unit role: its department (null clears; absent keeps)"
    )
    enterprise_id: int | None = Field(
        None, ge=1, le=2**31 - 1, description="enterprise role: its enterprise (absent keeps)"
    )
    password: str | None = Field(
        None, min_length=1, max_length=256, description=f"at least {MIN_PASSWORD} characters"
    )


class PasswordReset(BaseModel):
    password: str | None = Field(
        None,
        min_length=1,
        max_length=256,
        description=f"the new password (at least {MIN_PASSWORD} characters); absent: generate one",
    )


class PasswordResetOut(BaseModel):
    user: UserOut
    password: str | None = Field(
        description="the generated password, shown once (null when one was given)"
    )


class AuditOut(BaseModel):
    id: int
    at: datetime
    username: str | None
    unit: str | None
    action: str
    entity: str
    entity_id: str | None
    before: str | None
    after: str | None
    client: str | None
