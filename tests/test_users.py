"""User accounts, sign-in, the audit log and session limits, as the dashboard and the administrator rely on them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select, text
from sqlmodel import Session

from carbon.access import Viewer
from carbon.audit import audit_log, record
from carbon.enterprises import add_enterprise
from carbon.errors import AccessDenied, InputError, NotFoundError
from carbon.models import AuditEvent, UserAccount
from carbon.users import (
    DISPLAY_SESSION_MAX,
    LOCKOUT_FAILURES,
    LOCKOUT_WINDOW,
    MIN_PASSWORD_LENGTH,
    SESSION_IDLE,
    SESSION_MAX,
    add_user,
    authenticate,
    list_users,
    role_session_limits,
    session_limits,
    session_state,
)
from tests.helpers import carbon, uscc

PASSWORD = "Qingpu-2024-secret"
T0 = datetime(2024, 3, 1, 8, 0, tzinfo=UTC)
QINGPU_ENT = uscc(1)
WUJIANG_ENT = uscc(2, "320509")
ZONE = Viewer("zone-admin", "zone")
QINGPU = Viewer("qp-staff", "region", region="qingpu")
WUJIANG = Viewer("wj-staff", "region", region="wujiang")
ENTERPRISE = Viewer("qp-ent", "enterprise", enterprise=QINGPU_ENT)


@pytest.fixture
def ents(engine):
    add_enterprise(engine, code=QINGPU_ENT, name="青浦测试有限公司", region="qingpu", industry="26")
    add_enterprise(engine, code=WUJIANG_ENT, name="吴江测试有限公司", region="wujiang", industry="26")
    return engine


@pytest.fixture
def users(ents):
    """One user of each kind: zone, qingpu and wujiang staff, a qingpu enterprise and a wujiang enterprise."""
    engine = ents
    add_user(engine, "zone-admin", PASSWORD, "zone", now=T0)
    add_user(engine, "qp-staff", PASSWORD, "region", region="qingpu", now=T0)
    add_user(engine, "wj-staff", PASSWORD, "region", region="wujiang", now=T0)
    add_user(engine, "qp-ent", PASSWORD, "enterprise", enterprise=QINGPU_ENT, now=T0)
    add_user(engine, "wj-ent", PASSWORD, "enterprise", enterprise=WUJIANG_ENT.lower(), now=T0)
    return engine


def stored_hash(engine, username: str) -> str:
    with Session(engine) as session:
        return session.execute(select(UserAccount.password_hash).where(UserAccount.username == username)).scalar_one()


def all_events_text(engine) -> str:
    with engine.connect() as conn:
        return repr(conn.execute(select(AuditEvent.__table__)).all())


# --- accounts and passwords -------------------------------------------------------------------------------------


def test_hashes_are_salted_argon2id_and_never_contain_the_password(ents):
    add_user(ents, "alice", PASSWORD, "zone")
    add_user(ents, "bob", PASSWORD, "zone")
    a, b = stored_hash(ents, "alice"), stored_hash(ents, "bob")
    assert a != b
    assert a.startswith("$argon2id$") and b.startswith("$argon2id$")
    assert PASSWORD not in a and PASSWORD not in b


def test_add_user_returns_the_viewer_that_signing_in_gives(ents):
    added = add_user(ents, "qp.ent_1", PASSWORD, "enterprise", enterprise=f" {QINGPU_ENT.lower()} ")
    assert added == Viewer("qp.ent_1", "enterprise", None, QINGPU_ENT)
    assert authenticate(ents, "qp.ent_1", PASSWORD) == added


def test_right_and_wrong_password(users):
    assert authenticate(users, "qp-staff", PASSWORD) == QINGPU
    assert authenticate(users, "qp-staff", PASSWORD + "x") is None
    assert authenticate(users, "qp-staff", "") is None
    assert authenticate(users, "QP-STAFF", PASSWORD) is None  # usernames are exact


def test_repeated_failures_lock_the_username_for_the_window(users):
    minute = timedelta(minutes=1)
    for i in range(LOCKOUT_FAILURES - 1):  # failures before a success do not count after it
        assert authenticate(users, "qp-staff", "guess", now=T0 + i * minute) is None
    assert authenticate(users, "qp-staff", PASSWORD, now=T0 + 5 * minute) == QINGPU
    for i in range(LOCKOUT_FAILURES):
        assert authenticate(users, "qp-staff", "guess", now=T0 + (6 + i) * minute) is None
    last = T0 + (5 + LOCKOUT_FAILURES) * minute
    assert authenticate(users, "qp-staff", PASSWORD, now=last + minute) is None  # locked: right password refused
    assert authenticate(users, "wj-staff", PASSWORD, now=last + minute) == WUJIANG  # other names unaffected
    assert authenticate(users, "qp-staff", PASSWORD, now=last + LOCKOUT_WINDOW + minute) == QINGPU
    actions = list(audit_log(users, ZONE)["action"])
    assert actions.count("login_locked") == 1 and actions.count("login_failed") == 2 * LOCKOUT_FAILURES - 1


def test_disabled_and_unknown_users_cannot_sign_in(users):
    with Session(users) as session:
        session.execute(text("UPDATE user_account SET disabled = :yes WHERE username = 'wj-staff'"), {"yes": True})
        session.commit()
    assert authenticate(users, "wj-staff", PASSWORD) is None
    assert authenticate(users, "nobody", PASSWORD) is None
    failed = audit_log(users, ZONE).query("action == 'login_failed'")
    assert dict(zip(failed["username"], failed["detail"].map(lambda d: d["reason"]), strict=True)) == {
        "wj-staff": "disabled",
        "nobody": "unknown_user",
    }


def test_a_hash_with_outdated_parameters_is_upgraded_on_sign_in(users):
    weak = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash(PASSWORD)
    with Session(users) as session:
        session.execute(text("UPDATE user_account SET password_hash = :h WHERE username = 'zone-admin'"), {"h": weak})
        session.commit()
    assert authenticate(users, "zone-admin", PASSWORD) == ZONE
    upgraded = stored_hash(users, "zone-admin")
    assert upgraded != weak and not PasswordHasher().check_needs_rehash(upgraded)
    assert authenticate(users, "zone-admin", PASSWORD) == ZONE


@pytest.mark.parametrize(
    ("username", "password", "role", "region", "enterprise", "expected"),
    [
        ("ab", PASSWORD, "zone", None, None, ["用户名 'ab' 无效", "3 to 64 letters"]),
        ("a" * 65, PASSWORD, "zone", None, None, ["用户名", "3 to 64 letters"]),
        ("ann smith", PASSWORD, "zone", None, None, ["'ann smith'", "letters, digits or the characters . _ -"]),
        ("张三丰", PASSWORD, "zone", None, None, ["'张三丰'", "letters, digits"]),
        ("carol", PASSWORD, "admin", None, None, ["角色 'admin' 无效", "choose zone, region, enterprise or display"]),
        ("carol", PASSWORD, "display", None, None, ["display 角色须指定范围（--region）", "jiashan"]),
        ("carol", PASSWORD, "display", "shanghai", None, ["而不是 shanghai", "not shanghai"]),
        ("carol", PASSWORD, "display", "zone", QINGPU_ENT, ["display 角色不能指定企业", "aggregates only"]),
        ("carol", PASSWORD, "zone", "qingpu", None, ["zone 角色", "qingpu", "leave them out"]),
        ("carol", PASSWORD, "zone", None, QINGPU_ENT, ["zone 角色", QINGPU_ENT, "leave them out"]),
        (
            "carol",
            PASSWORD,
            "region",
            None,
            None,
            ["region 角色须指定区域", "needs a region: qingpu, wujiang or jiashan"],
        ),
        ("carol", PASSWORD, "region", "shanghai", None, ["而不是 shanghai", "not shanghai"]),
        ("carol", PASSWORD, "region", "zone", None, ["而不是 zone", "not zone"]),
        (
            "carol",
            PASSWORD,
            "region",
            "qingpu",
            QINGPU_ENT,
            ["region 角色不能指定企业", QINGPU_ENT, "give only the region"],
        ),
        ("carol", PASSWORD, "enterprise", None, None, ["enterprise 角色须指定企业", "unified social credit code"]),
        (
            "carol",
            PASSWORD,
            "enterprise",
            "qingpu",
            QINGPU_ENT,
            ["不能指定区域（收到 qingpu）", "give only the enterprise"],
        ),
        ("carol", "short7!", "zone", None, None, ["密码太短", f"at least {MIN_PASSWORD_LENGTH} characters"]),
    ],
)
def test_add_user_refuses_bad_input_with_a_bilingual_message(
    ents, username, password, role, region, enterprise, expected
):
    with pytest.raises(InputError) as err:
        add_user(ents, username, password, role, region=region, enterprise=enterprise)
    message = err.value.message
    assert message.startswith(f"{err.value.zh} / {err.value.en}")  # Chinese first, then English
    assert any("\u4e00" <= ch <= "\u9fff" for ch in err.value.zh)
    for part in expected:
        assert part in message
    assert password not in message
    assert list_users(ents, ZONE).empty
    assert audit_log(ents, ZONE).empty


def test_an_unregistered_enterprise_is_not_found(ents):
    missing = uscc(99)
    with pytest.raises(NotFoundError, match=f"企业 {missing} 未登记.*carbon enterprise add"):
        add_user(ents, "carol", PASSWORD, "enterprise", enterprise=missing)
    assert list_users(ents, ZONE).empty


def test_a_taken_username_is_refused_whatever_its_case(users):
    for name in ("qp-staff", "QP-Staff"):
        with pytest.raises(InputError, match=f"用户名 {name} 已被使用.*choose another username"):
            add_user(users, name, PASSWORD, "zone")
    assert authenticate(users, "qp-staff", PASSWORD) == QINGPU  # the first account is untouched


# --- the audit log ---------------------------------------------------------------------------------------------


def test_sign_ins_and_account_additions_are_audited_without_the_password(ents):
    add_user(ents, "qp-staff", PASSWORD, "region", region="qingpu", now=T0, actor=ZONE)
    authenticate(ents, "qp-staff", PASSWORD, now=T0 + timedelta(minutes=1))
    authenticate(ents, "qp-staff", "wrong-password-1", now=T0 + timedelta(minutes=2))
    log = audit_log(ents, ZONE)
    assert log[["username", "role", "region", "action"]].to_dict("records") == [
        {"username": "qp-staff", "role": "region", "region": "qingpu", "action": "login_failed"},
        {"username": "qp-staff", "role": "region", "region": "qingpu", "action": "login_attempt"},
        {"username": "qp-staff", "role": "region", "region": "qingpu", "action": "login"},
        {"username": "qp-staff", "role": "region", "region": "qingpu", "action": "login_attempt"},
        {"username": "zone-admin", "role": "zone", "region": "qingpu", "action": "user_add"},
    ]  # every attempt is recorded before its password is checked, then its outcome (the log is only appended to)
    assert list(log["at"]) == [T0 + timedelta(minutes=m) for m in (2, 2, 1, 1, 0)]
    assert log["detail"].iloc[0] == {"reason": "wrong_password"}
    assert log["detail"].iloc[4] == {"user": "qp-staff", "role": "region", "region": "qingpu", "enterprise": None}
    stored = all_events_text(ents)
    assert PASSWORD not in stored and "wrong-password-1" not in stored


def test_audit_log_columns_order_since_and_limit(users):
    for minutes, action in [(10, "upload_preview"), (20, "upload_confirm"), (30, "export")]:
        record(users, ENTERPRISE, action, {"file": "电表.csv"}, now=T0 + timedelta(minutes=minutes))
    log = audit_log(users, ZONE, since=T0 + timedelta(minutes=15))
    assert list(log.columns) == ["at", "username", "role", "region", "enterprise", "action", "detail"]
    assert list(log["action"]) == ["export", "upload_confirm"]
    assert log["detail"].iloc[0] == {"file": "电表.csv"}
    assert list(audit_log(users, ZONE, limit=1)["action"]) == ["export"]
    with pytest.raises(InputError, match="positive integer"):
        audit_log(users, ZONE, limit=0)


def test_audit_log_is_scoped_by_role(users):
    record(users, QINGPU, "export", {"what": "qingpu enterprises"}, now=T0 + timedelta(hours=1))
    record(users, WUJIANG, "export", now=T0 + timedelta(hours=1))
    record(users, ENTERPRISE, "upload_confirm", now=T0 + timedelta(hours=1))  # region from its enterprise
    record(users, ZONE, "export", {"region": "wujiang"}, now=T0 + timedelta(hours=1))  # region named in the detail
    record(users, ZONE, "logout", now=T0 + timedelta(hours=1))  # concerns no region
    everything = audit_log(users, ZONE)
    assert len(everything) == 5 + 5  # five events plus the five user_add events
    mine = audit_log(users, QINGPU)
    assert set(mine["region"]) == {"qingpu"}
    assert sorted(mine.query("at > @T0")[["username", "action"]].itertuples(index=False, name=None)) == [
        ("qp-ent", "upload_confirm"),
        ("qp-staff", "export"),
    ]
    assert mine.query("action == 'upload_confirm'")["enterprise"].tolist() == [QINGPU_ENT]
    theirs = audit_log(users, WUJIANG)
    assert set(theirs["region"]) == {"wujiang"}
    assert len(theirs.query("at > @T0")) == 2
    for viewer in (ENTERPRISE, Viewer("qp-ent", "enterprise", region="qingpu", enterprise=QINGPU_ENT)):
        with pytest.raises(AccessDenied, match="Bureau staff only"):
            audit_log(users, viewer)


def test_a_failed_sign_in_is_shown_to_the_staff_of_the_account_region(users):
    authenticate(users, "qp-ent", "not-the-password")
    assert audit_log(users, QINGPU).query("action == 'login_failed'")["username"].tolist() == ["qp-ent"]
    assert audit_log(users, WUJIANG).query("action == 'login_failed'").empty


# --- listing users -----------------------------------------------------------------------------------------------


def test_list_users_is_scoped_by_role_and_never_shows_hashes(users):
    everyone = list_users(users, ZONE)
    assert list(everyone.columns) == [
        "username",
        "role",
        "region",
        "enterprise",
        "enterprise_name",
        "created_at",
        "disabled",
    ]
    assert set(everyone["username"]) == {"zone-admin", "qp-staff", "wj-staff", "qp-ent", "wj-ent"}
    assert not everyone["disabled"].any() and (everyone["created_at"] == T0).all()
    assert "$argon2" not in everyone.to_string()
    qingpu = list_users(users, QINGPU).set_index("username")
    assert sorted(qingpu.index) == ["qp-ent", "qp-staff"]
    assert qingpu.loc["qp-ent", "region"] == "qingpu" and qingpu.loc["qp-ent", "enterprise_name"] == "青浦测试有限公司"
    assert sorted(list_users(users, WUJIANG)["username"]) == ["wj-ent", "wj-staff"]
    with pytest.raises(AccessDenied):
        list_users(users, ENTERPRISE)


# --- sessions ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("since_login", "since_seen", "expected"),
    [
        (timedelta(0), timedelta(0), "active"),
        (timedelta(minutes=45), timedelta(minutes=29, seconds=59), "active"),
        (timedelta(minutes=45), timedelta(minutes=30), "idle_expired"),
        (timedelta(hours=8) - timedelta(seconds=1), timedelta(minutes=1), "active"),
        (timedelta(hours=8), timedelta(0), "expired"),
        (timedelta(hours=9), timedelta(hours=1), "expired"),  # both limits passed: the absolute one wins
    ],
)
def test_session_state_boundaries(since_login, since_seen, expected):
    now = T0 + timedelta(hours=10)
    assert session_state(now - since_login, now - since_seen, now) == expected


def test_session_state_with_other_limits():
    now = T0 + timedelta(hours=1)
    assert session_state(T0, now - timedelta(minutes=5), now, idle=timedelta(minutes=5)) == "idle_expired"
    assert session_state(T0, now, now, absolute=timedelta(hours=1)) == "expired"
    assert session_state(T0, now, now, absolute=timedelta(hours=2)) == "active"


def test_session_limits_defaults_and_environment(monkeypatch):
    monkeypatch.delenv("CARBON_SESSION_IDLE_MINUTES", raising=False)
    monkeypatch.delenv("CARBON_SESSION_MAX_HOURS", raising=False)
    assert session_limits() == (SESSION_IDLE, SESSION_MAX) == (timedelta(minutes=30), timedelta(hours=8))
    monkeypatch.setenv("CARBON_SESSION_IDLE_MINUTES", "15")
    monkeypatch.setenv("CARBON_SESSION_MAX_HOURS", "0.5")
    assert session_limits() == (timedelta(minutes=15), timedelta(minutes=30))
    assert session_limits({}) == (SESSION_IDLE, SESSION_MAX)
    for bad in ("0", "-5", "abc", "nan"):
        with pytest.raises(InputError, match=f"CARBON_SESSION_MAX_HOURS='{bad}'.*positive number"):
            session_limits({"CARBON_SESSION_MAX_HOURS": bad})


def test_a_display_session_has_no_idle_limit_and_its_own_absolute_one(monkeypatch):
    monkeypatch.delenv("CARBON_DISPLAY_SESSION_MAX_HOURS", raising=False)
    monkeypatch.delenv("CARBON_SESSION_IDLE_MINUTES", raising=False)
    monkeypatch.delenv("CARBON_SESSION_MAX_HOURS", raising=False)
    assert role_session_limits("display") == (None, DISPLAY_SESSION_MAX) == (None, timedelta(days=30))
    assert role_session_limits("region") == role_session_limits("zone") == (SESSION_IDLE, SESSION_MAX)
    two_days = {"CARBON_DISPLAY_SESSION_MAX_HOURS": "48"}
    assert role_session_limits("display", two_days) == (None, timedelta(hours=48))
    with pytest.raises(InputError, match=r"CARBON_DISPLAY_SESSION_MAX_HOURS='0'.*positive number"):
        role_session_limits("display", {"CARBON_DISPLAY_SESSION_MAX_HOURS": "0"})
    idle, absolute = role_session_limits("display")
    now = T0 + timedelta(days=29)
    assert session_state(T0, T0, now, idle, absolute) == "active"  # a month without a click
    assert session_state(T0, now, T0 + DISPLAY_SESSION_MAX, idle, absolute) == "expired"


def test_a_display_account_changes_no_account(users):
    wall = add_user(users, "wall-qp", PASSWORD, "display", region="qingpu")
    assert wall == Viewer("wall-qp", "display", region="qingpu") == authenticate(users, "wall-qp", PASSWORD)
    with pytest.raises(AccessDenied, match="只能查看"):
        add_user(users, "carol", PASSWORD, "zone", actor=wall)
    with pytest.raises(AccessDenied):
        list_users(users, wall)
    with pytest.raises(AccessDenied):
        audit_log(users, wall)
    assert "carol" not in set(list_users(users, ZONE)["username"])
    assert "wall-qp" in set(list_users(users, QINGPU)["username"])  # qingpu staff see their jurisdiction's wall


# --- the administrator CLI ---------------------------------------------------------------------------------------


def test_cli_adds_a_user_from_stdin_who_can_then_sign_in(ents, db_url):
    code, out, err = carbon(
        db_url,
        "user",
        "add",
        "qp-ent",
        "--role",
        "enterprise",
        "--enterprise",
        QINGPU_ENT,
        "--password-stdin",
        stdin=PASSWORD + "\n",
    )
    assert code == 0, err
    assert "qp-ent" in out and PASSWORD not in out + err
    assert authenticate(ents, "qp-ent", PASSWORD) == Viewer("qp-ent", "enterprise", None, QINGPU_ENT)
    added = audit_log(ents, ZONE).query("action == 'user_add'")
    assert added["username"].str.startswith("cli:").all() and added["region"].tolist() == ["qingpu"]
    code, out, err = carbon(db_url, "user", "list")
    assert code == 0, err
    assert "username" in out and "qp-ent" in out and QINGPU_ENT in out and "青浦测试有限公司" in out
    assert "$argon2" not in out


def test_cli_adds_a_display_account_for_the_zone_or_a_jurisdiction(ents, db_url):
    for name, scope in (("wall-qp", "qingpu"), ("wall-zone", "zone")):
        code, out, err = carbon(
            db_url, "user", "add", name, "--role", "display", "--region", scope, "--password-stdin", stdin=PASSWORD
        )
        assert code == 0, err
        assert name in out and PASSWORD not in out + err
        assert authenticate(ents, name, PASSWORD) == Viewer(name, "display", region=scope)
    code, _, err = carbon(db_url, "user", "add", "wall-x", "--role", "display", "--password-stdin", stdin=PASSWORD)
    assert code == 2 and "display 角色须指定范围" in err


def test_cli_lists_zone_staff_beside_scoped_accounts_with_labels(ents, db_url):
    """A zone account has no region or enterprise: the list shows "-" for them, and every role and region by its
    label, never the code."""
    for name, args in (("zone-a", ["--role", "zone"]), ("wall-qp", ["--role", "display", "--region", "qingpu"])):
        code, out, err = carbon(db_url, "user", "add", name, *args, "--password-stdin", stdin=PASSWORD)
        assert code == 0, err
    code, out, err = carbon(db_url, "user", "list")
    assert code == 0, err
    rows = {line.split()[0]: line for line in out.splitlines()[2:]}
    assert "示范区执委会 / zone executive committee" in rows["zone-a"] and "nan" not in out
    assert "大屏展示 / wall display" in rows["wall-qp"] and "上海市青浦区" in rows["wall-qp"]


def test_cli_prompts_twice_for_the_password_without_echo(ents, db_url):
    code, out, err = carbon(
        db_url, "user", "add", "wj-staff", "--role", "region", "--region", "wujiang", stdin=f"{PASSWORD}\n{PASSWORD}\n"
    )
    assert code == 0, err
    assert PASSWORD not in out + err
    assert authenticate(ents, "wj-staff", PASSWORD) == WUJIANG


def test_cli_refuses_bad_input_with_exit_2_and_a_bilingual_message(ents, db_url):
    code, _, err = carbon(db_url, "user", "add", "dave", "--role", "boss", "--password-stdin", stdin=PASSWORD + "\n")
    assert code == 2
    assert "角色 'boss' 无效" in err and "choose zone, region, enterprise or display" in err
    code, _, err = carbon(db_url, "user", "add", "dave", "--role", "zone", "--password-stdin", stdin="short\n")
    assert code == 2
    assert "密码太短" in err and "too short" in err
    assert list_users(ents, ZONE).empty
