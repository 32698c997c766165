"""Log-in, log-out, who am I, API tokens, user administration, the audit log."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from sqlalchemy.orm import Session

from qingshan.roles import ROLE_LABELS, Principal, Role
from qingshan.services import accounts, audit
from qingshan.services.permissions import AUDIT_READERS, READERS, USER_ADMINS
from qingshan.storage.models_web import ApiToken, WebSession, WebUser
from qingshan.web.auth import (
    CSRF_COOKIE,
    SESSION_COOKIE,
    LoginLimiter,
    end_session,
    new_session,
    purge_expired_sessions,
)
from qingshan.web.deps import (
    MAX_ID,
    PathId,
    WebContext,
    client_of,
    ctx,
    principal,
    read_db,
    require,
    write_db,
)
from qingshan.web.schemas.accounts import (
    AuditOut,
    LoginIn,
    Me,
    NewToken,
    PasswordChange,
    PasswordReset,
    PasswordResetOut,
    RoleOut,
    TokenIn,
    TokenOut,
    UserIn,
    UserOut,
    UserPatch,
)

router = APIRouter(tags=["accounts"])


def _me(p: Principal) -> Me:
    return Me(
        authenticated=not p.is_public,
        role=p.role,
        role_label=p.role_label,
        username=p.username,
        unit=p.unit,
        enterprise_id=p.enterprise_id,
        csrf_token=p.csrf_token,
    )


def _cookie_path(request: Request) -> str:
    return (ctx(request).settings.web_root_path or "") + "/"


def _check(c: WebContext, username: str, password: str) -> accounts.VerifiedLogin | None:
    with c.read() as s:
        return accounts.check_password(s, username, password)


def _open_session(
    c: WebContext, v: accounts.VerifiedLogin, client: str | None
) -> tuple[str, WebSession, Principal] | None:
    with c.write() as s, s.begin():
        user = accounts.complete_login(s, v)
        if user is None:
            return None
        purge_expired_sessions(s)
        sid, row = new_session(s, user, c.settings.web_session_hours)
        p = accounts.principal_of(user, "session", row.csrf_token)
        audit.record(
            s,
            p,
            action="login",
            entity="session",
            entity_id=user.id,
            before=None,
            after=None,
            client=client,
        )
    return sid, row, p


@router.post(
    "/auth/login",
    response_model=Me,
    responses={
        401: {"description": "wrong user name or password"},
        429: {"description": "too many failed log-ins: wait Retry-After seconds"},
    },
)
async def login(body: LoginIn, request: Request, response: Response) -> Me:
    """Log in with user name and password; sets the session cookie (HttpOnly)."""
    c = ctx(request)
    client = client_of(request)
    keys = LoginLimiter.keys(body.username, client)
    # Checked and counted in one step before the hash: concurrent guesses see each other.
    wait = c.limiter.attempt(*keys)
    if wait:
        raise HTTPException(
            429, f"登录失败次数过多，请 {wait} 秒后再试", headers={"Retry-After": str(wait)}
        )
    loop = asyncio.get_running_loop()
    # argon2 on a small pool of its own: a log-in storm queues there, not in the threads
    # that serve every other request, and never inside a write transaction.
    v = await loop.run_in_executor(c.hash_pool, _check, c, body.username, body.password)
    opened = await run_in_threadpool(_open_session, c, v, client) if v is not None else None
    if opened is None:
        raise HTTPException(401, "用户名或密码错误")
    c.limiter.succeeded(*keys)
    sid, row, p = opened
    secure = c.settings.web_cookie_secure
    max_age = int(c.settings.web_session_hours * 3600)
    path = _cookie_path(request)
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
            end_session(s, sid)
        audit.record(
            s,
            p,
            action="logout",
            entity="session",
            entity_id=p.user_id,
            before=None,
            after=None,
            client=client_of(request),
        )
    ctx(request).auth_cache.clear()  # after the commit
    out = Response(status_code=204)
    out.delete_cookie(SESSION_COOKIE, path=_cookie_path(request))
    out.delete_cookie(CSRF_COOKIE, path=_cookie_path(request))
    return out


@router.get("/auth/me", response_model=Me)
def me(p: Principal = Depends(principal)) -> Me:
    """The caller's identity and role (anonymous callers get role ``public``)."""
    return _me(p)


def _token_out(t: ApiToken) -> TokenOut:
    return TokenOut(
        id=t.id,
        name=t.name,
        prefix=t.prefix,
        scope=t.scope,
        created_at=t.created_at,
        expires_at=t.expires_at,
        last_used_at=t.last_used_at,
        revoked_at=t.revoked_at,
    )


def _change_password(
    c: WebContext, p: Principal, v: accounts.VerifiedLogin, new: str, client: str | None
) -> None:
    with c.write() as s, s.begin():
        user = s.get(WebUser, v.user_id)
        if user is None or user.password_hash != v.verified_hash:
            raise HTTPException(409, "密码已被修改，请重新登录")
        accounts.update_user(s, p, user.id, password=new, client=client)


@router.post(
    "/auth/password",
    status_code=204,
    responses={403: {"description": "current password wrong, or not a browser session"}},
)
async def change_password(
    body: PasswordChange, request: Request, p: Principal = Depends(require(*READERS))
) -> Response:
    """Change one's own password (browser session only; the current password is asked
    again). Every session and API token of the user ends; log in again."""
    c = ctx(request)
    if p.via != "session" or p.username is None:
        raise HTTPException(403, "请在浏览器登录后修改密码（API 令牌不能修改密码）")
    problem = accounts.password_problem(body.new, p.username)
    if problem is not None:
        raise HTTPException(422, problem)
    keys = LoginLimiter.keys(p.username, client_of(request))
    wait = c.limiter.attempt(*keys)  # the current password is guessable here too
    if wait:
        raise HTTPException(
            429, f"失败次数过多，请 {wait} 秒后再试", headers={"Retry-After": str(wait)}
        )
    loop = asyncio.get_running_loop()
    v = await loop.run_in_executor(c.hash_pool, _check, c, p.username, body.current)
    if v is None or v.user_id != p.user_id:
        raise HTTPException(403, "当前密码错误")
    c.limiter.succeeded(*keys)
    await run_in_threadpool(_change_password, c, p, v, body.new, client_of(request))
    c.auth_cache.clear()  # after the commit
    out = Response(status_code=204)
    out.delete_cookie(SESSION_COOKIE, path=_cookie_path(request))
    out.delete_cookie(CSRF_COOKIE, path=_cookie_path(request))
    return out


@router.get("/auth/tokens", response_model=list[TokenOut])
def list_tokens(
    p: Principal = Depends(require(*READERS)), s: Session = Depends(read_db)
) -> list[TokenOut]:
    """The caller's own API tokens (never the secrets)."""
    return [_token_out(t) for t in accounts.list_tokens(s, p)]


@router.post("/auth/tokens", response_model=NewToken, status_code=201)
def create_token(
    body: TokenIn,
    request: Request,
    p: Principal = Depends(require(*READERS)),
    s: Session = Depends(write_db, scope="function"),
) -> NewToken:
    """A new API token acting as the caller (same role and rows seen), read-only unless
    ``scope`` is "write", expiring after ``days``. Only a logged-in user (a browser
    session) can make tokens, never a token."""
    settings = ctx(request).settings
    try:
        token, row = accounts.create_token(
            s,
            p,
            body.name,
            scope=body.scope,
            days=body.days if body.days is not None else settings.web_token_days,
            max_days=settings.web_token_max_days,
            client=client_of(request),
        )
    except accounts.TokenRefused as exc:
        raise HTTPException(403, str(exc)) from None
    return NewToken(token=token, **_token_out(row).model_dump())


@router.delete("/auth/tokens/{token_id}", status_code=204)
def revoke_token(
    token_id: PathId,
    request: Request,
    p: Principal = Depends(require(*READERS)),
    s: Session = Depends(write_db, scope="function"),
) -> Response:
    """Revoke one of the caller's tokens (administrators: anyone's)."""
    accounts.revoke_token(s, p, token_id, client=client_of(request))
    return Response(status_code=204)


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


@router.get("/users/roles", response_model=list[RoleOut])
def list_roles(_: Principal = Depends(require(*USER_ADMINS))) -> list[RoleOut]:
    """The roles an account can have, with their labels (administrators only)."""
    return [RoleOut(role=r.value, label=r.label) for r in Role]


@router.get("/users", response_model=list[UserOut])
def list_users(
    _: Principal = Depends(require(*USER_ADMINS)), s: Session = Depends(read_db)
) -> list[UserOut]:
    """All accounts (administrators only)."""
    return [_user_out(u) for u in accounts.list_users(s)]


@router.post("/users", response_model=UserOut, status_code=201)
def add_user(
    body: UserIn,
    request: Request,
    p: Principal = Depends(require(*USER_ADMINS)),
    s: Session = Depends(write_db, scope="function"),
) -> UserOut:
    """Create an account (administrators only)."""
    u = accounts.create_user(
        s,
        p,
        username=body.username,
        password=body.password,
        role=body.role,
        unit=body.unit,
        enterprise_id=body.enterprise_id,
        display_name=body.display_name,
        client=client_of(request),
    )
    return _user_out(u)


@router.patch("/users/{user_id}", response_model=UserOut)
def edit_user(
    user_id: PathId,
    body: UserPatch,
    request: Request,
    p: Principal = Depends(require(*USER_ADMINS)),
    s: Session = Depends(write_db, scope="function"),
) -> UserOut:
    """Change role, active flag, display name or password (administrators only); disabling
    a user ends its browser sessions, setting its password ends its sessions and revokes all
    its API tokens."""
    u = accounts.update_user(
        s,
        p,
        user_id,
        role=body.role,
        active=body.active,
        display_name=body.display_name,
        password=body.password,
        client=client_of(request),
        **{k: getattr(body, k) for k in ("unit", "enterprise_id") if k in body.model_fields_set},
    )
    return _user_out(u)


@router.post("/users/{user_id}/reset-password", response_model=PasswordResetOut)
def reset_user_password(
    user_id: PathId,
    body: PasswordReset,
    request: Request,
    p: Principal = Depends(require(*USER_ADMINS)),
    s: Session = Depends(write_db, scope="function"),
) -> PasswordResetOut:
    """Reset a user's password (administrators only): to the one given, or to a generated
    one returned once in ``password``. The user's sessions end and its API tokens are
    revoked; audited as ``reset_password``."""
    u, generated = accounts.reset_password(
        s, p, user_id, password=body.password, client=client_of(request)
    )
    return PasswordResetOut(user=_user_out(u), password=generated)


@router.get("/audit", response_model=list[AuditOut])
def audit_log(
    entity: str | None = Query(None, max_length=40),
    limit: int = Query(100, ge=1, le=1000),
    before_id: int | None = Query(
        None, ge=1, le=MAX_ID, description="page: entries older than this id"
    ),
    p: Principal = Depends(require(*AUDIT_READERS)),
    s: Session = Depends(read_db),
) -> list[AuditOut]:
    """The audit log, newest first. Unit users see only their own unit's entries."""
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
        for a in audit.entries(s, p, entity=entity, limit=limit, before_id=before_id)
    ]
