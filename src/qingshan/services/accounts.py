"""Accounts: users, passwords, API tokens, for the web app and ``qingshan user`` alike.

* Passwords: argon2id (argon2-cffi's defaults, RFC 9106 "second recommended" parameters);
  the policy (:func:`password_problem`: at least :data:`MIN_PASSWORD` characters, no
  repetitions or runs, no common password, not the user name) holds for the web and the
  command line alike; hashes are upgraded on log-in when the parameters
  change; an unknown user costs the same time as a wrong password.
* API tokens for machines: ``qst_`` + 256 random bits, stored as SHA-256 only, acting as the
  user that made them (same role and scope), read-only or read-write, expiring, revocable,
  all revoked when the user's password changes; a token cannot make tokens.
* Every change is audited in its own transaction (:mod:`qingshan.services.audit`); passwords
  appear there only as ``"changed"``. Disabling a user or changing its password ends its
  browser sessions.

Browser sessions, cookies and CSRF are the web app's (``qingshan.web.auth``).
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import itertools
import re
import secrets
import string
from dataclasses import dataclass
from datetime import timedelta
from importlib import resources
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session, sessionmaker

from qingshan.clock import utcnow
from qingshan.roles import CLI, Principal, Role, parse_role
from qingshan.services import audit
from qingshan.services.errors import NotFound, ServiceError
from qingshan.storage.models import Enterprise
from qingshan.storage.models_registry import OrgUnit
from qingshan.storage.models_web import ApiToken, AuditEntry, WebSession, WebUser

TOKEN_PREFIX = "qst_"
MIN_PASSWORD = 10
USER_FIELDS = ("username", "role", "display_name", "unit", "enterprise_id", "active")
_USERNAME = re.compile(r"^[A-Za-z0-9_.\-]{3,64}$")

_hasher: PasswordHasher | None = None  # made on first use, from the settings


def hasher() -> PasswordHasher:
    """The Argon2id hasher with the deployment's cost (``password_hash_*`` settings; the
    defaults are argon2-cffi's, RFC 9106's low-memory profile: 3 passes over 64 MiB, 4 lanes).
    A stored hash is verified with the parameters it carries and re-hashed at the configured
    cost at the next successful log-in."""
    global _hasher
    if _hasher is None:
        from qingshan.settings import get_settings

        s = get_settings()
        _hasher = PasswordHasher(
            time_cost=s.password_hash_time_cost,
            memory_cost=s.password_hash_memory_kib,
            parallelism=s.password_hash_parallelism,
        )
    return _hasher


@functools.cache
def _dummy_hash() -> str:
    """Verifying against this keeps the time of "no such user" equal to "wrong password".
    Made on first use: an Argon2 hash costs about 0.15 s, which every command would pay at
    start-up."""
    return hasher().hash("qingshan-dummy-password")


def prepare_log_in() -> None:
    """Make the dummy hash now, so that not even a server's first log-in by an unknown name
    takes longer than a wrong password (the web app calls this when it is created)."""
    _dummy_hash()


class AccountError(ServiceError):
    """A bad account operation, with a message for the user."""


class UnknownAccount(AccountError, NotFound):
    """No such user or token (or not the caller's)."""


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


@functools.cache
def common_passwords() -> frozenset[str]:
    """The refused common passwords (``data/common_passwords.txt``, lower-case)."""
    text = resources.files("qingshan.services").joinpath("data/common_passwords.txt")
    lines = (line.strip().lower() for line in text.read_text(encoding="utf-8").splitlines())
    return frozenset(line for line in lines if line and not line.startswith("#"))


_EDGES = string.digits + string.punctuation + " "


def _periodic(pw: str) -> bool:
    """Made of one piece repeated (``aaaaaaaaaa``, ``abcabcabca``, ``passwordpassword``)."""
    n = len(pw)
    return any(pw == (pw[:k] * (n // k + 1))[:n] for k in range(1, n // 2 + 1))


def _run(pw: str) -> bool:
    """A straight run of letters or digits (``abcdefghij``, ``9876543210``)."""
    steps = {ord(b) - ord(a) for a, b in itertools.pairwise(pw.lower())}
    return steps in ({1}, {-1})


def password_problem(password: str, username: str | None = None) -> str | None:
    """Why ``password`` is refused (a message for the user, in Chinese), or None.

    At least :data:`MIN_PASSWORD` characters; not one character or piece repeated, not a
    straight run, not a common password (:func:`common_passwords`, also with digits and
    punctuation added at either end: ``Password123!``), not containing the user name."""
    if len(password) < MIN_PASSWORD:
        return (
            f"密码至少需要 {MIN_PASSWORD} 个字符"
            f"（password must have at least {MIN_PASSWORD} characters）"
        )
    if len(password) > 1024:
        return "密码过长（最多 1024 个字符）"
    low = password.lower()
    if _periodic(low):
        return "密码不能由同一个字符或片段重复组成（如 aaaaaaaaaa、abcabcabca）"
    if _run(low):
        return "密码不能是连续的字母或数字（如 abcdefghij、1234567890）"
    core = low.strip(_EDGES)
    common = common_passwords()
    if low in common or core in common:
        return "密码过于常见，容易被猜中，请换一个"
    if username and len(username) >= 3 and username.lower() in low:
        return "密码不能包含用户名"
    return None


def hash_password(password: str, username: str | None = None) -> str:
    """The argon2id hash of a password that passes the policy (else :class:`AccountError`)."""
    problem = password_problem(password, username)
    if problem is not None:
        raise AccountError(problem)
    return hasher().hash(password)


def principal_of(user: WebUser, via: str, csrf: str | None = None) -> Principal:
    return Principal(
        role=Role(user.role),
        user_id=user.id,
        username=user.username,
        unit=user.unit,
        enterprise_id=user.enterprise_id,
        via=via,
        csrf_token=csrf,
    )


# ---------------------------------------------------------------------------- users


def enterprise_id_of(s: Session, ref: str) -> int:
    """An enterprise by its id or its 统一社会信用代码 (18 characters)."""
    q = select(Enterprise.id).where(Enterprise.credit_code == ref)
    if ref.isdigit() and len(ref) < 18:
        q = select(Enterprise.id).where(Enterprise.id == int(ref))
    found = s.scalar(q)
    if found is None:
        raise AccountError(f"no enterprise {ref!r} (give its id or credit code)")
    return found


def create_user(
    s: Session,
    actor: Principal,
    *,
    username: str,
    password: str,
    role: str,
    unit: str | None = None,
    enterprise_id: int | None = None,
    display_name: str | None = None,
    client: str | None = None,
) -> WebUser:
    """Validate, add and audit a user (flushes; the caller commits)."""
    if not _USERNAME.match(username):
        raise AccountError("用户名须为 3–64 个英文字母、数字或 _ . -")
    try:
        r = parse_role(role)
    except ValueError as exc:
        raise AccountError(str(exc)) from None
    problem = _binding(s, r, unit, enterprise_id)
    if problem is not None:
        raise AccountError(problem)
    if s.scalar(select(WebUser.id).where(WebUser.username == username)) is not None:
        raise AccountError(f"用户 {username} 已存在（user already exists）")
    user = WebUser(
        username=username,
        password_hash=hash_password(password, username),
        role=r.value,
        unit=unit.strip() if unit else None,
        enterprise_id=enterprise_id,
        display_name=display_name,
        active=True,
        created_at=utcnow(),
    )
    s.add(user)
    s.flush()
    audit.record(
        s,
        actor,
        action="create",
        entity="user",
        entity_id=user.id,
        before=None,
        after=audit.snapshot(user, USER_FIELDS),
        client=client,
    )
    return user


def list_users(s: Session) -> list[WebUser]:
    return list(s.scalars(select(WebUser).order_by(WebUser.username)))


def get_user(s: Session, ref: int | str) -> WebUser:
    """A user by id or by user name."""
    if isinstance(ref, int):
        user = s.get(WebUser, ref)
    else:
        user = s.scalar(select(WebUser).where(WebUser.username == ref))
    if user is None:
        raise UnknownAccount(f"没有用户 {ref}（no user {ref}）")
    return user


_KEEP: Any = object()  # "leave unchanged" for the nullable fields of update_user


def _binding(s: Session, r: Role, unit: str | None, enterprise_id: int | None) -> str | None:
    """Why this role, unit and enterprise do not go together (a message), or None."""
    if r is Role.UNIT and not (unit and unit.strip()):
        return "责任单位用户须指定所属单位"
    if r is not Role.UNIT and unit:
        return "只有责任单位用户才指定所属单位"
    if unit and s.get(OrgUnit, unit.strip()) is None:
        return f"未知的责任单位 {unit.strip()!r}：先在登记管理中登记该单位"
    if r is Role.ENTERPRISE:
        if enterprise_id is None:
            return "企业用户须指定所属企业"
        if s.get(Enterprise, enterprise_id) is None:
            return f"没有编号为 {enterprise_id} 的企业"
    elif enterprise_id is not None:
        return "只有企业用户才指定所属企业"
    return None


def update_user(
    s: Session,
    actor: Principal,
    ref: int | str,
    *,
    role: str | None = None,
    active: bool | None = None,
    display_name: str | None = None,
    password: str | None = None,
    unit: str | None = _KEEP,
    enterprise_id: int | None = _KEEP,
    client: str | None = None,
) -> WebUser:
    """Change a user's role, unit, enterprise, active flag, display name or password, and
    audit it.

    ``unit`` and ``enterprise_id`` are changed only when given (None clears them); the role,
    unit and enterprise afterwards must go together as for :func:`create_user`. An
    administrator cannot disable itself or take away its own administrator role (someone
    must remain able to manage accounts). Disabling a user ends its browser sessions, and
    its API tokens stop working while it is disabled; setting its password ends its sessions
    and revokes all its API tokens.
    """
    u = get_user(s, ref)
    before = audit.snapshot(u, USER_FIELDS)
    new_role = Role(u.role)
    if role is not None:
        try:
            new_role = parse_role(role)
        except ValueError as exc:
            raise AccountError(str(exc)) from None
    new_unit = u.unit if unit is _KEEP else (unit.strip() if unit and unit.strip() else None)
    new_ent = u.enterprise_id if enterprise_id is _KEEP else enterprise_id
    if (new_role.value, new_unit, new_ent) != (u.role, u.unit, u.enterprise_id):
        problem = _binding(s, new_role, new_unit, new_ent)
        if problem is not None:
            raise AccountError(problem)
    if actor.user_id is not None and actor.user_id == u.id:
        if active is False:
            raise AccountError("不能停用自己的账户")
        if new_role is not Role(u.role):
            raise AccountError("不能修改自己的角色")
    u.role, u.unit, u.enterprise_id = new_role.value, new_unit, new_ent
    if new_role.value != before["role"] or (u.unit, u.enterprise_id) != (
        before["unit"],
        before["enterprise_id"],
    ):
        # What the user may see changed: its open sessions carry the old scope.
        s.execute(delete(WebSession).where(WebSession.user_id == u.id))
    if active is not None:
        u.active = active
        if not active:
            s.execute(delete(WebSession).where(WebSession.user_id == u.id))
    if display_name is not None:
        u.display_name = display_name.strip() or None
    revoked = 0
    if password is not None:
        u.password_hash = hash_password(password, u.username)
        # A new password ends every way in that the old one opened: sessions and tokens.
        s.execute(delete(WebSession).where(WebSession.user_id == u.id))
        revoked = revoke_all_tokens(s, u.id)
    after = audit.snapshot(u, USER_FIELDS)
    if password is not None:
        after["password"] = "changed"  # never the password itself
        after["tokens_revoked"] = revoked
    audit.record(
        s,
        actor,
        action="update",
        entity="user",
        entity_id=u.id,
        before=before,
        after=after,
        client=client,
    )
    return u


def one_time_password() -> str:
    """A random password that passes the policy, for an administrator's reset (shown once):
    16 characters from an alphabet without look-alikes (no 0/O, 1/l/I)."""
    alphabet = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    while True:
        pw = "".join(secrets.choice(alphabet) for _ in range(16))
        if password_problem(pw) is None:
            return pw


def reset_password(
    s: Session,
    actor: Principal,
    ref: int | str,
    *,
    password: str | None = None,
    client: str | None = None,
) -> tuple[WebUser, str | None]:
    """An administrator's (or the command line's) password reset: sets ``password`` (policy
    checked) or, without one, a :func:`one_time_password`, which is returned to be shown
    once (never stored or logged). Audited as ``reset_password``; the user's sessions end
    and its API tokens are revoked. Returns the user and the generated password (None when
    one was given)."""
    u = get_user(s, ref)
    generated = one_time_password() if password is None else None
    u.password_hash = hash_password(
        password if password is not None else generated or "", u.username
    )
    s.execute(delete(WebSession).where(WebSession.user_id == u.id))
    revoked = revoke_all_tokens(s, u.id)
    audit.record(
        s,
        actor,
        action="reset_password",
        entity="user",
        entity_id=u.id,
        before=None,
        after={
            "password": "generated" if generated is not None else "set",
            "tokens_revoked": revoked,
        },
        client=client,
    )
    return u, generated


@dataclass(frozen=True)
class VerifiedLogin:
    """A password found right by :func:`check_password`, to be completed by
    :func:`complete_login` in a short write transaction."""

    user_id: int
    verified_hash: str  # the hash the password matched (a concurrent change voids the log-in)
    new_hash: str | None  # the same password hashed with upgraded parameters, if needed


def check_password(s: Session, username: str, password: str) -> VerifiedLogin | None:
    """Verify a log-in with a read-only session: the expensive argon2 hash runs outside any
    write transaction (on SQLite a write transaction held during it blocks the gateway).
    None for an unknown or disabled user or a wrong password, at the same cost."""
    row = s.execute(
        select(WebUser.id, WebUser.password_hash, WebUser.active).where(
            WebUser.username == username
        )
    ).first()
    if row is None or not row.active:
        with contextlib.suppress(VerificationError):
            hasher().verify(_dummy_hash(), password)
        return None
    try:
        hasher().verify(row.password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return None
    new = hasher().hash(password) if hasher().check_needs_rehash(row.password_hash) else None
    return VerifiedLogin(row.id, row.password_hash, new)


def complete_login(s: Session, v: VerifiedLogin) -> WebUser | None:
    """Inside the write transaction: the user, still active and with the password that was
    verified (else None), its hash upgraded if needed and its log-in time set."""
    user = s.get(WebUser, v.user_id)
    if user is None or not user.active or user.password_hash != v.verified_hash:
        return None
    if v.new_hash is not None:
        user.password_hash = v.new_hash
    user.last_login_at = utcnow()
    return user


def authenticate(s: Session, username: str, password: str) -> WebUser | None:
    """The active user with this password, or None (same cost either way); for callers
    that hold one session (the command line, tests). The web splits the two steps."""
    v = check_password(s, username, password)
    return complete_login(s, v) if v is not None else None


DEMO_USER = "demo"


def demo_account(factory: sessionmaker[Session]) -> str:
    """For ``qingshan demo``: the log-in to print (on the console that started the demo,
    never logged).

    With no account yet, create the administrator ``demo`` with a random password. On a
    later run, when ``demo`` still has a password nobody chose (no password change or reset
    in the audit log since the demo made it), give it a fresh random password and print
    that: the old one is only on an earlier console. A password someone set is left alone
    and the message says how to reset it."""
    with factory() as s, s.begin():
        demo = s.scalar(select(WebUser).where(WebUser.username == DEMO_USER))
        if demo is None:
            if s.scalar(select(WebUser.id).limit(1)) is not None:
                return "existing accounts (add one: qingshan user add --username … --role …)"
            password = secrets.token_urlsafe(12)
            create_user(
                s,
                CLI,
                username=DEMO_USER,
                password=password,
                role=Role.ADMIN,
                display_name="演示管理员",
            )
            return f"user {DEMO_USER}, password {password} (administrator; shown only now)"
        chosen = s.scalar(
            select(AuditEntry.id)
            .where(
                AuditEntry.entity == "user",
                AuditEntry.entity_id == str(demo.id),
                AuditEntry.action.in_(("update", "reset_password")),
                AuditEntry.after.contains('"password"'),
            )
            .limit(1)
        )
        if chosen is not None or not demo.active:
            return (
                f"user {DEMO_USER} (its password was set since the first run; a new one: "
                f"qingshan user reset-password {DEMO_USER})"
            )
        password = secrets.token_urlsafe(12)
        demo.password_hash = hash_password(password, DEMO_USER)
        s.execute(delete(WebSession).where(WebSession.user_id == demo.id))
        audit.record(
            s,
            CLI,
            action="demo_password",
            entity="user",
            entity_id=demo.id,
            before=None,
            after={"demo": "new random password"},
        )
    return f"user {DEMO_USER}, password {password} (administrator; new at each demo start)"


# ---------------------------------------------------------------------------- API tokens


TOKEN_SCOPES = ("read", "write")


class TokenRefused(AccountError):
    """A token may not be made this way (by a token); the web answers 403."""


def create_token(
    s: Session,
    actor: Principal,
    name: str,
    *,
    scope: str = "read",
    days: int = 90,
    max_days: int = 365,
    client: str | None = None,
) -> tuple[str, ApiToken]:
    """A new token of the actor's own user: the secret (returned once, never stored) and
    its row. ``scope`` "read" allows only reading, "write" everything the user may do; it
    expires after ``days`` (1 … ``max_days``). A token cannot make tokens: a leaked token
    must not be able to outlive its own revocation or expiry."""
    if actor.via == "token":
        raise TokenRefused("API 令牌不能创建令牌，请登录后创建")
    if actor.user_id is None:
        raise AccountError("only a user can own API tokens")
    user = s.get(WebUser, actor.user_id)
    if user is None or not user.active:
        raise UnknownAccount("user no longer exists")
    if not name.strip() or len(name) > 100:
        raise AccountError("token name must be 1-100 characters")
    if scope not in TOKEN_SCOPES:
        raise AccountError("令牌权限只能是 read（只读）或 write（读写）")
    if not 1 <= days <= max_days:
        raise AccountError(f"令牌有效期应为 1 至 {max_days} 天")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    now = utcnow()
    row = ApiToken(
        user_id=user.id,
        name=name.strip(),
        token_hash=sha256(token),
        prefix=token[:10],
        created_at=now,
        scope=scope,
        expires_at=now + timedelta(days=days),
    )
    s.add(row)
    s.flush()
    audit.record(
        s,
        actor,
        action="create",
        entity="api_token",
        entity_id=row.id,
        before=None,
        after={
            "name": row.name,
            "prefix": row.prefix,
            "scope": scope,
            "expires_at": row.expires_at.isoformat() if row.expires_at else None,
        },
        client=client,
    )
    return token, row


def revoke_all_tokens(s: Session, user_id: int) -> int:
    """Revoke every live token of a user (its password changed); returns how many."""
    result = s.execute(
        update(ApiToken)
        .where(ApiToken.user_id == user_id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
    return int(getattr(result, "rowcount", 0) or 0)


def list_tokens(s: Session, actor: Principal) -> list[ApiToken]:
    """The actor's own tokens (rows only; the secrets are not stored)."""
    return list(
        s.scalars(select(ApiToken).where(ApiToken.user_id == actor.user_id).order_by(ApiToken.id))
    )


def revoke_token(s: Session, actor: Principal, token_id: int, *, client: str | None = None) -> bool:
    """Revoke one of the actor's tokens (administrators: anyone's); False when it already
    was. Another user's token is :class:`UnknownAccount`, like a missing one."""
    row = s.get(ApiToken, token_id)
    if row is None or (row.user_id != actor.user_id and actor.role != Role.ADMIN):
        raise UnknownAccount(f"no token {token_id}")
    if row.revoked_at is not None:
        return False
    row.revoked_at = utcnow()
    audit.record(
        s,
        actor,
        action="revoke",
        entity="api_token",
        entity_id=row.id,
        before={"revoked_at": None},
        after={"revoked_at": row.revoked_at.isoformat()},
        client=client,
    )
    return True


def token_principal(s: Session, token: str) -> tuple[Principal, ApiToken] | None:
    """Who a bearer token acts as, or None (unknown, revoked, expired, or its user
    disabled)."""
    row = s.scalar(select(ApiToken).where(ApiToken.token_hash == sha256(token)))
    if row is None or row.revoked_at is not None:
        return None
    if row.expires_at is not None and row.expires_at <= utcnow():
        return None
    user = s.get(WebUser, row.user_id)
    if user is None or not user.active:
        return None
    return principal_of(user, "token"), row


def touch_token(s: Session, token_id: int) -> None:
    s.execute(update(ApiToken).where(ApiToken.id == token_id).values(last_used_at=utcnow()))


def user_summary(u: WebUser) -> dict[str, Any]:
    """A user as the command line prints it (never the password hash)."""
    return {
        "id": u.id,
        "username": u.username,
        "role": u.role,
        "unit": u.unit,
        "enterprise_id": u.enterprise_id,
        "active": u.active,
        "last_login_at": u.last_login_at.isoformat() if u.last_login_at else None,
    }
