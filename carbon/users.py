"""Dashboard user accounts: adding them, signing in (argon2id hashes), listing them, and session limits.

Passwords are never stored or logged: only their argon2id hash (salted, so the same password gives a different
hash each time) is kept, and every sign-in, failed or not, is written to the audit log (``carbon.audit``).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from functools import cache
from secrets import token_urlsafe

import pandas as pd
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Engine, func, or_, text
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from carbon import reference
from carbon.access import ROLES, Viewer, full_regions, require_staff, require_writer
from carbon.audit import add_event, as_utc, record
from carbon.errors import InputError, NotFoundError
from carbon.models import AuditEvent, Enterprise, UserAccount

USERNAME_PATTERN = re.compile(r"[A-Za-z0-9._-]{3,64}")
# Project default, not a regulation: the shortest password add_user accepts.
MIN_PASSWORD_LENGTH = 8
# Project defaults for dashboard sessions: signed out after this long without activity, and after this long in any
# case.  Override them with CARBON_SESSION_IDLE_MINUTES and CARBON_SESSION_MAX_HOURS (see ``session_limits``).
SESSION_IDLE = timedelta(minutes=30)
SESSION_MAX = timedelta(hours=8)
# Project default for a wall display's session (role ``display``): no idle limit (the wall is looked at, not used),
# and ended this long after its sign-in, so someone who holds the password confirms the wall now and then.  Override
# it with CARBON_DISPLAY_SESSION_MAX_HOURS.
DISPLAY_SESSION_MAX = timedelta(days=30)
SESSION_STATES = ("active", "idle_expired", "expired", "disabled")  # disabled: a display account switched off
# Project defaults against password guessing: after this many failed sign-ins for one username within the window
# (and since its last successful one), sign-in is refused without checking the password until the window passes.
LOCKOUT_FAILURES = 5
LOCKOUT_WINDOW = timedelta(minutes=15)
USER_COLUMNS = ["username", "role", "region", "enterprise", "enterprise_name", "created_at", "disabled"]


def check_new_user(
    engine: Engine, username: str, role: str, region: str | None = None, enterprise: str | None = None
) -> tuple[str | None, str | None]:
    """Refuse a bad username, role or scope, or a username already taken; returns (region, enterprise USCC)."""
    if not isinstance(username, str) or not USERNAME_PATTERN.fullmatch(username):
        raise InputError(
            f"用户名 {username!r} 无效：须为3至64个字母、数字或 . _ - 字符",
            f"Username {username!r} is invalid: use 3 to 64 letters, digits or the characters . _ -",
            value=username,
        )
    if role not in ROLES:
        raise InputError(
            f"角色 {role!r} 无效：请选择 zone（示范区）、region（区）、enterprise（企业）或 display（大屏展示）",
            f"Role {role!r} is invalid: choose zone, region, enterprise or display",
            value=role,
        )
    region = region or None
    enterprise = str(enterprise).strip().upper() if enterprise else None
    if role == "display":
        check_display_scope(region, enterprise)
    if role == "zone" and (region or enterprise):
        raise InputError(
            f"zone 角色可查看整个示范区，不能指定区域或企业（收到 {region or enterprise}）：请去掉区域和企业",
            f"The zone role sees the whole zone and takes no region or enterprise (got {region or enterprise}): "
            "leave them out",
            value=region or enterprise,
        )
    if role == "region":
        if enterprise:
            raise InputError(
                f"region 角色不能指定企业（收到 {enterprise}）：请只指定区域",
                f"The region role takes no enterprise (got {enterprise}): give only the region",
                value=enterprise,
            )
        if not region:
            raise InputError(
                "region 角色须指定区域：qingpu、wujiang 或 jiashan",
                "The region role needs a region: qingpu, wujiang or jiashan",
            )
        if region not in reference.JURISDICTIONS:
            raise InputError(
                f"区域须为 qingpu、wujiang 或 jiashan，而不是 {region}",
                f"The region must be qingpu, wujiang or jiashan, not {region}",
                value=region,
            )
    with Session(engine) as session:
        if role == "enterprise":
            if region:
                raise InputError(
                    f"enterprise 角色不能指定区域（收到 {region}）：区域由企业登记信息决定，请只指定企业",
                    f"The enterprise role takes no region (got {region}): it follows from the enterprise; "
                    "give only the enterprise",
                    value=region,
                )
            if not enterprise:
                raise InputError(
                    "enterprise 角色须指定企业的统一社会信用代码",
                    "The enterprise role needs the enterprise's unified social credit code",
                )
            if session.get(Enterprise, enterprise) is None:
                raise NotFoundError(
                    f"企业 {enterprise} 未登记：请检查统一社会信用代码，或先用 carbon enterprise add 登记该企业",
                    f"Enterprise {enterprise} is not registered: check the code, or register it first with "
                    "carbon enterprise add",
                    value=enterprise,
                )
        taken = session.exec(
            select(UserAccount.username).where(func.lower(UserAccount.username) == username.lower())
        ).first()
    if taken is not None:
        raise InputError(
            f"用户名 {username} 已被使用（{taken}）：请另选一个用户名",
            f"Username {username} is already taken ({taken}): choose another username",
            value=username,
        )
    return region, enterprise


def check_display_scope(region: str | None, enterprise: str | None) -> None:
    """A display account is scoped like staff: ``region`` is ``zone`` or a jurisdiction, and no enterprise."""
    if enterprise:
        raise InputError(
            f"display 角色不能指定企业（收到 {enterprise}）：大屏只显示汇总数据，请指定 --region",
            f"The display role takes no enterprise (got {enterprise}): the wall shows aggregates only; give --region",
            value=enterprise,
        )
    if region not in ("zone", *reference.JURISDICTIONS):
        given_zh, given_en = (f"，而不是 {region}", f", not {region}") if region else ("", "")
        raise InputError(
            f"display 角色须指定范围（--region）：zone（整个示范区）、qingpu、wujiang 或 jiashan{given_zh}",
            f"The display role needs a scope (--region): zone (the whole zone), qingpu, wujiang or jiashan{given_en}",
            value=region,
        )


def check_password(password: str) -> None:
    """Refuse a password shorter than ``MIN_PASSWORD_LENGTH`` characters (the password itself is never shown)."""
    if not isinstance(password, str) or len(password) < MIN_PASSWORD_LENGTH:
        raise InputError(
            f"密码太短：至少需要 {MIN_PASSWORD_LENGTH} 个字符，请换一个更长的密码",
            f"The password is too short: it needs at least {MIN_PASSWORD_LENGTH} characters; choose a longer one",
            length=len(password) if isinstance(password, str) else None,
        )


def add_user(
    engine: Engine,
    username: str,
    password: str,
    role: str,
    region: str | None = None,
    enterprise: str | None = None,
    now: datetime | None = None,
    *,
    actor: Viewer | str = "carbon:system",
) -> Viewer:
    """Create an account (argon2id hash only) and record ``user_add`` by ``actor``; returns the new user's Viewer.

    A zone user takes no region or enterprise, a region user one jurisdiction, an enterprise user one registered
    enterprise (``NotFoundError`` otherwise), a display user ``zone`` or one jurisdiction.  Every refusal is an
    ``InputError`` and changes nothing; a read-only ``actor`` (a display account) is refused (``AccessDenied``).
    """
    if isinstance(actor, Viewer):
        require_writer(actor)
    region, enterprise = check_new_user(engine, username, role, region, enterprise)
    check_password(password)
    created_at = as_utc(now)
    account = UserAccount(
        username=username,
        password_hash=PasswordHasher().hash(password),
        role=role,
        region_id=region,
        enterprise_uscc=enterprise,
        created_at=created_at,
    )
    try:
        with Session(engine) as session:
            session.add(account)
            session.commit()
    except IntegrityError as exc:  # added by someone else meanwhile
        raise InputError(
            f"用户名 {username} 已被使用：请另选一个用户名",
            f"Username {username} is already taken: choose another username",
            value=username,
        ) from exc
    record(
        engine,
        actor,
        "user_add",
        {"user": username, "role": role, "region": region, "enterprise": enterprise},
        region=region,
        enterprise=enterprise,
        now=created_at,
    )
    return Viewer(username=username, role=role, region=region, enterprise=enterprise)


@cache
def _dummy_hash() -> str:
    """A hash of a random password, verified against when the username is unknown (same cost as a real one)."""
    return PasswordHasher().hash(token_urlsafe(16))


def _verify(hasher: PasswordHasher, password_hash: str, password: str) -> bool:
    try:
        return hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def authenticate(engine: Engine, username: str, password: str, now: datetime | None = None) -> Viewer | None:
    """The user's Viewer if the password is right and the account enabled, else None; records login/login_failed.

    The hash is verified even for unknown usernames, so the time taken does not tell which usernames exist; a hash
    made with weaker parameters than the current ones is replaced on a successful sign-in.  After
    ``LOCKOUT_FAILURES`` failures within ``LOCKOUT_WINDOW`` the username is locked until the window has passed
    (``login_locked`` in the audit log).

    Attempts are counted before any password is checked, one username at a time (``_begin_attempt``), so
    simultaneous attempts cannot all pass the limit: at most ``LOCKOUT_FAILURES`` passwords are checked however many
    arrive at once.
    """
    now = as_utc(now)
    if not _begin_attempt(engine, username, now):
        return None
    viewer, reason = _check_password(engine, username, password)
    if viewer is None:
        record(engine, username, "login_failed", {"reason": reason}, now=now)
        return None
    record(engine, viewer, "login", now=now)
    return viewer


def _begin_attempt(engine: Engine, username: str, now: datetime) -> bool:
    """Record a sign-in attempt and decide whether its password may be checked.

    In one transaction, serialised per username (PostgreSQL: an advisory lock on the name; SQLite: the write lock
    the insert takes), a ``login_attempt`` event is written first and then the attempts are counted, this one
    among them.  Over ``LOCKOUT_FAILURES``, a ``login_locked`` event is written beside it and the attempt is
    refused; a locked attempt does not count, so the lock ends when the window has passed.  The audit log is only
    ever appended to: the outcome of an allowed attempt is its own event (``login`` or ``login_failed``).
    """
    with Session(engine) as session:
        if engine.dialect.name == "postgresql":
            session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:name))"), {"name": username})
        add_event(session, username, "login_attempt", now=now)
        allowed = _failures(session, username, now) <= LOCKOUT_FAILURES
        if not allowed:
            add_event(session, username, "login_locked", now=now)
        session.commit()
    return allowed


def _check_password(engine: Engine, username: str, password: str) -> tuple[Viewer | None, str | None]:
    """Verify the password: (the user's Viewer, None), or (None, why not); upgrades an outdated hash."""
    hasher = PasswordHasher()
    with Session(engine) as session:
        account = session.exec(select(UserAccount).where(UserAccount.username == username)).first()
        ok = _verify(hasher, account.password_hash if account is not None else _dummy_hash(), password)
        if account is None:
            return None, "unknown_user"
        if account.disabled:
            return None, "disabled"
        if not ok:
            return None, "wrong_password"
        if hasher.check_needs_rehash(account.password_hash):
            account.password_hash = hasher.hash(password)
            session.add(account)
            session.commit()
        return Viewer(account.username, account.role, account.region_id, account.enterprise_uscc), None


def recent_failures(engine: Engine, username: str, now: datetime) -> int:
    """Failed sign-ins of ``username`` within ``LOCKOUT_WINDOW`` before ``now`` and after its last sign-in."""
    with Session(engine) as session:
        return _failures(session, username, now)


def _failures(session: Session, username: str, now: datetime) -> int:
    """Attempts of ``username`` within ``LOCKOUT_WINDOW`` before ``now`` and after its last sign-in that were not
    refused as locked: the failed ones and those still being checked."""
    last_ok = session.exec(
        select(func.max(AuditEvent.at)).where(AuditEvent.username == username, AuditEvent.action == "login")
    ).one()
    since = now - LOCKOUT_WINDOW
    if last_ok is not None:
        since = max(since, as_utc(last_ok if last_ok.tzinfo else last_ok.replace(tzinfo=UTC)))

    def count(action: str) -> int:
        return session.exec(
            select(func.count()).where(
                AuditEvent.username == username, AuditEvent.action == action, AuditEvent.at > since
            )
        ).one()

    return count("login_attempt") - count("login_locked")


def list_users(engine: Engine, viewer: Viewer) -> pd.DataFrame:
    """Accounts (columns ``USER_COLUMNS``, never the hash); ``region`` is an enterprise user's enterprise's region.

    Zone staff see all; region staff the users of their jurisdiction and of its enterprises; enterprise users none.
    """
    require_staff(viewer)
    stmt = (
        select(
            UserAccount.username,
            UserAccount.role,
            func.coalesce(UserAccount.region_id, Enterprise.region_id),
            UserAccount.enterprise_uscc,
            Enterprise.name,
            UserAccount.created_at,
            UserAccount.disabled,
        )
        .outerjoin(Enterprise, Enterprise.uscc == UserAccount.enterprise_uscc)
        .order_by(UserAccount.username)
    )
    if viewer.role != "zone":
        regions = full_regions(viewer)
        stmt = stmt.where(or_(UserAccount.region_id.in_(regions), Enterprise.region_id.in_(regions)))
    with engine.connect() as conn:
        df = pd.DataFrame(conn.execute(stmt).all(), columns=USER_COLUMNS)
    df["created_at"] = pd.to_datetime(df["created_at"], utc=True)
    df["disabled"] = df["disabled"].astype(bool)
    return df


def _positive_env(environ: Mapping[str, str], name: str) -> float | None:
    raw = environ.get(name, "").strip()
    if not raw:
        return None
    try:
        value = float(raw)
    except ValueError:
        value = float("nan")
    if not value > 0:
        raise InputError(
            f"环境变量 {name}={raw!r} 无效：须为正数，或不设置以使用默认值",
            f"Environment variable {name}={raw!r} is invalid: give a positive number, or unset it for the default",
            value=raw,
        )
    return value


def session_limits(environ: Mapping[str, str] | None = None) -> tuple[timedelta, timedelta]:
    """(idle, absolute) session limits: ``SESSION_IDLE`` and ``SESSION_MAX`` unless overridden by the environment."""
    env = os.environ if environ is None else environ
    idle = _positive_env(env, "CARBON_SESSION_IDLE_MINUTES")
    absolute = _positive_env(env, "CARBON_SESSION_MAX_HOURS")
    return (
        SESSION_IDLE if idle is None else timedelta(minutes=idle),
        SESSION_MAX if absolute is None else timedelta(hours=absolute),
    )


def role_session_limits(role: str, environ: Mapping[str, str] | None = None) -> tuple[timedelta | None, timedelta]:
    """(idle, absolute) session limits of an account of ``role``: a display account has no idle limit (``None``)
    and ``DISPLAY_SESSION_MAX`` (or ``CARBON_DISPLAY_SESSION_MAX_HOURS``) in any case; every other role has
    ``session_limits``.  ``InputError`` for a variable that is not a positive number."""
    env = os.environ if environ is None else environ
    if role != "display":
        return session_limits(env)
    hours = _positive_env(env, "CARBON_DISPLAY_SESSION_MAX_HOURS")
    return None, DISPLAY_SESSION_MAX if hours is None else timedelta(hours=hours)


def account_enabled(engine: Engine, username: str) -> bool:
    """Whether the account exists and is not disabled (a long display session is ended once it is not)."""
    with Session(engine) as session:
        disabled = session.exec(select(UserAccount.disabled).where(UserAccount.username == username)).first()
    return disabled is not None and not disabled


def session_state(
    login_at: datetime,
    last_seen: datetime,
    now: datetime,
    idle: timedelta | None = SESSION_IDLE,
    absolute: timedelta = SESSION_MAX,
) -> str:
    """``expired`` once ``absolute`` has passed since sign-in, else ``idle_expired`` once ``idle`` has passed
    since the last activity (never when ``idle`` is None), else ``active`` (a limit reached exactly counts as
    passed).
    """
    if now - login_at >= absolute:
        return "expired"
    if idle is not None and now - last_seen >= idle:
        return "idle_expired"
    return "active"
