"""Log-in, log-out, who am I, API tokens, user administration, the audit log."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response
from pydantic import BaseModel, Field
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from qingshan.clock import utcnow
from qingshan.storage.models_web import ApiToken, AuditEntry, WebSession, WebUser
from qingshan.web.auth import (
    CSRF_COOKIE,
    ROLE_LABELS,
    SESSION_COOKIE,
    AccountError,
    Principal,
    authenticate,
    create_user,
    hash_password,
    new_session,
    new_token,
    principal_of,
    sha256,
)
from qingshan.web.deps import (
    MAX_ID,
    READERS,
    PathId,
    audit,
    client_of,
    ctx,
    principal,
    read_db,
    require,
    snapshot,
    write_db,
)

router = APIRouter(tags=["accounts"])

Role = Literal["admin", "staff", "unit", "grid", "enterprise", "leader"]
USER_FIELDS = ("username", "role", "display_name", "unit", "enterprise_id", "active")


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


def _me(p: Principal) -> Me:
    return Me(
        authenticated=not p.is_public,
        role=p.role,
        role_label=ROLE_LABELS[p.role],
        username=p.username,
        unit=p.unit,
        enterprise_id=p.enterprise_id,
        csrf_token=p.csrf_token,
    )


@router.post(
    "/auth/login",
    response_model=Me,
    responses={
        401: {"description": "wrong user name or password"},
        429: {"description": "too many failed log-ins"},
    },
)
def login(body: LoginIn, request: Request, response: Response) -> Me:
    """Log in with user name and password; sets the session cookie (HttpOnly)."""
    c = ctx(request)
    keys = (f"user:{body.username.lower()}", f"ip:{client_of(request)}")
    wait = c.limiter.retry_after(*keys)
    if wait:
        raise HTTPException(
            429, f"登录失败次数过多，请 {wait} 秒后再试", headers={"Retry-After": str(wait)}
        )
    with c.write() as s, s.begin():
        user = authenticate(s, body.username, body.password)
        if user is None:
            c.limiter.failed(*keys)
            raise HTTPException(401, "用户名或密码错误")
        c.limiter.succeeded(keys[0])
        user.last_login_at = utcnow()
        s.execute(delete(WebSession).where(WebSession.expires_at <= utcnow()))
        sid, row = new_session(s, user, c.settings.web_session_hours)
        p = principal_of(user, "session", row.csrf_token)
        audit(
            s,
            p,
            request,
            action="login",
            entity="session",
            entity_id=user.id,
            before=None,
            after=None,
        )
    secure = c.settings.web_cookie_secure
    max_age = int(c.settings.web_session_hours * 3600)
    path = (c.settings.web_root_path or "") + "/"
    response.set_cookie(
        SESSION_COOKIE,
        sid,
        max_age=max_age,
        path=path,
        secure=secure,
        httponly=True,
        samesite="lax",
    )
    response.set_cookie(
        CSRF_COOKIE,
        row.csrf_token,
        max_age=max_age,
        path=path,
        secure=secure,
        httponly=False,
        samesite="strict",
    )
    return _me(p)


@router.post("/auth/logout", status_code=204)
def logout(
    request: Request, response: Response, p: Principal = Depends(require(*READERS))
) -> Response:
    """End the browser session (deletes it server-side)."""
    sid = request.cookies.get(SESSION_COOKIE)
    with ctx(request).write() as s, s.begin():
        if sid:
            s.execute(delete(WebSession).where(WebSession.id_hash == sha256(sid)))
        audit(
            s,
            p,
            request,
            action="logout",
            entity="session",
            entity_id=p.user_id,
            before=None,
            after=None,
        )
    ctx(request).auth_cache.clear()  # after the commit
    out = Response(status_code=204)
    out.delete_cookie(SESSION_COOKIE, path=(ctx(request).settings.web_root_path or "") + "/")
    out.delete_cookie(CSRF_COOKIE, path=(ctx(request).settings.web_root_path or "") + "/")
    return out


@router.get("/auth/me", response_model=Me)
def me(p: Principal = Depends(principal)) -> Me:
    """The caller's identity and role (anonymous callers get role ``public``)."""
    return _me(p)


class TokenIn(BaseModel):
    name: str = Field(min_length=1, max_length=100, description="what the token is for")


class TokenOut(BaseModel):
    id: int
    name: str
    prefix: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class NewToken(TokenOut):
    token: str = Field(description="shown once; send as 'Authorization: Bearer <token>'")


def _token_out(t: ApiToken) -> TokenOut:
    return TokenOut(
        id=t.id,
        name=t.name,
        prefix=t.prefix,
        created_at=t.created_at,
        last_used_at=t.last_used_at,
        revoked_at=t.revoked_at,
    )


@router.get("/auth/tokens", response_model=list[TokenOut])
def list_tokens(
    p: Principal = Depends(require(*READERS)), s: Session = Depends(read_db)
) -> list[TokenOut]:
    """The caller's own API tokens (never the secrets)."""
    rows = s.scalars(select(ApiToken).where(ApiToken.user_id == p.user_id).order_by(ApiToken.id))
    return [_token_out(t) for t in rows]


@router.post("/auth/tokens", response_model=NewToken, status_code=201)
def create_token(
    body: TokenIn,
    request: Request,
    p: Principal = Depends(require(*READERS)),
    s: Session = Depends(write_db),
) -> NewToken:
    """A new API token acting as the caller (same role and scope)."""
    user = s.get(WebUser, p.user_id)
    if user is None:
        raise HTTPException(401, "user no longer exists")
    try:
        token, row = new_token(s, user, body.name)
    except AccountError as exc:
        raise HTTPException(422, str(exc)) from None
    audit(
        s,
        p,
        request,
        action="create",
        entity="api_token",
        entity_id=row.id,
        before=None,
        after={"name": row.name, "prefix": row.prefix},
    )
    return NewToken(token=token, **_token_out(row).model_dump())


@router.delete("/auth/tokens/{token_id}", status_code=204)
def revoke_token(
    token_id: PathId,
    request: Request,
    p: Principal = Depends(require(*READERS)),
    s: Session = Depends(write_db),
) -> Response:
    """Revoke one of the caller's tokens (administrators: anyone's)."""
    row = s.get(ApiToken, token_id)
    if row is None or (row.user_id != p.user_id and p.role != "admin"):
        raise HTTPException(404, f"no token {token_id}")
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        ctx(request).auth_cache.clear()
        audit(
            s,
            p,
            request,
            action="revoke",
            entity="api_token",
            entity_id=row.id,
            before={"revoked_at": None},
            after={"revoked_at": row.revoked_at.isoformat()},
        )
    return Response(status_code=204)


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


class UserIn(BaseModel):
    username: str = Field(min_length=3, max_length=64)
    password: str = Field(min_length=10, max_length=256)
    role: Role
    unit: str | None = Field(None, max_length=100)
    enterprise_id: int | None = Field(None, ge=1, le=2**31 - 1)
    display_name: str | None = Field(None, max_length=100)


class UserPatch(BaseModel):
    role: Role | None = None
    active: bool | None = None
    display_name: str | None = Field(None, max_length=100)
    password: str | None = Field(None, min_length=10, max_length=256)


def _user_out(u: WebUser) -> UserOut:
    return UserOut(
        id=u.id,
        username=u.username,
        role=u.role,
        role_label=ROLE_LABELS[u.role],
        display_name=u.display_name,
        unit=u.unit,
        enterprise_id=u.enterprise_id,
        active=u.active,
        created_at=u.created_at,
        last_login_at=u.last_login_at,
    )


@router.get("/users", response_model=list[UserOut])
def list_users(
    _: Principal = Depends(require("admin")), s: Session = Depends(read_db)
) -> list[UserOut]:
    """All accounts (administrators only)."""
    return [_user_out(u) for u in s.scalars(select(WebUser).order_by(WebUser.username))]


@router.post("/users", response_model=UserOut, status_code=201)
def add_user(
    body: UserIn,
    request: Request,
    p: Principal = Depends(require("admin")),
    s: Session = Depends(write_db),
) -> UserOut:
    """Create an account (administrators only)."""
    try:
        u = create_user(
            s,
            username=body.username,
            password=body.password,
            role=body.role,
            unit=body.unit,
            enterprise_id=body.enterprise_id,
            display_name=body.display_name,
        )
    except AccountError as exc:
        raise HTTPException(422, str(exc)) from None
    audit(
        s,
        p,
        request,
        action="create",
        entity="user",
        entity_id=u.id,
        before=None,
        after=snapshot(u, USER_FIELDS),
    )
    return _user_out(u)


@router.patch("/users/{user_id}", response_model=UserOut)
def edit_user(
    user_id: PathId,
    body: UserPatch,
    request: Request,
    p: Principal = Depends(require("admin")),
    s: Session = Depends(write_db),
) -> UserOut:
    """Change role, active flag, display name or password (administrators only)."""
    u = s.get(WebUser, user_id)
    if u is None:
        raise HTTPException(404, f"no user {user_id}")
    before = snapshot(u, USER_FIELDS)
    if body.role is not None and body.role != u.role:
        if (body.role == "enterprise") != (u.enterprise_id is not None) or (
            (body.role == "unit") != (u.unit is not None)
        ):
            raise HTTPException(
                422, "role change would break the unit/enterprise binding; create a new user"
            )
        u.role = body.role
    if body.active is not None:
        u.active = body.active
        if not body.active:
            s.execute(delete(WebSession).where(WebSession.user_id == u.id))
    if body.display_name is not None:
        u.display_name = body.display_name
    if body.password is not None:
        u.password_hash = hash_password(body.password)
        s.execute(delete(WebSession).where(WebSession.user_id == u.id))
    ctx(request).auth_cache.clear()  # role, activity or password changed: re-check credentials
    after = snapshot(u, USER_FIELDS)
    if body.password is not None:
        after["password"] = "changed"  # never the password itself
    audit(s, p, request, action="update", entity="user", entity_id=u.id, before=before, after=after)
    return _user_out(u)


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


@router.get("/audit", response_model=list[AuditOut])
def audit_log(
    entity: str | None = Query(None, max_length=40),
    limit: int = Query(100, ge=1, le=1000),
    before_id: int | None = Query(
        None, ge=1, le=MAX_ID, description="page: entries older than this id"
    ),
    p: Principal = Depends(require("admin", "unit")),
    s: Session = Depends(read_db),
) -> list[AuditOut]:
    """The audit log, newest first. Unit users see only their own unit's entries."""
    q = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
    if p.role == "unit":
        q = q.where(AuditEntry.unit == p.unit)
    if entity:
        q = q.where(AuditEntry.entity == entity)
    if before_id:
        q = q.where(AuditEntry.id < before_id)
    return [
        AuditOut(
            id=a.id,
            at=a.at,
            username=a.username,
            unit=a.unit,
            action=a.action,
            entity=a.entity,
            entity_id=a.entity_id,
            before=a.before,
            after=a.after,
            client=a.client,
        )
        for a in s.scalars(q)
    ]
