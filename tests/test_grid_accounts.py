"""Utility accounts (户号): registered by the enterprise or its jurisdiction's staff, one account one enterprise, also
when two registrations race."""

from __future__ import annotations

import json
import threading

import pytest
from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from carbon.access import Viewer
from carbon.enterprises import add_enterprise
from carbon.errors import AccessDenied, InputError
from carbon.grid_accounts import accounts, add_account, visible_accounts
from carbon.models import GridAccount, GridAccountMeter, Meter
from tests.helpers import uscc
from tests.test_attacks import run

ZONE = Viewer("zone1", "zone")
QP_STAFF = Viewer("qp1", "region", region="qingpu")
WJ_STAFF = Viewer("wj1", "region", region="wujiang")
A, B = uscc(501), uscc(502, "320509")


@pytest.fixture
def two(engine):
    add_enterprise(engine, code=A, name="青浦户号甲", region="qingpu", industry="26")
    add_enterprise(engine, code=B, name="吴江户号乙", region="wujiang", industry="26")
    meters = [(A, c) for c in ("M1", "M2", "M3", "X" + A[-3:])] + [(B, c) for c in ("W1", "X" + B[-3:])]
    with engine.begin() as conn:  # the meters their uploads would have brought
        conn.execute(
            insert(Meter), [{"enterprise_uscc": e, "meter_code": c, "carrier": "electricity"} for e, c in meters]
        )
    return engine


def test_an_enterprise_registers_its_account_and_its_jurisdiction_sees_it(two):
    own = Viewer("a1", "enterprise", enterprise=A)
    acc = add_account(two, own, enterprise=A, utility=None, account="３１００ 123456", meters=["M1", "M2", "M1"])
    assert acc["utility"] == "sgcc_shanghai"  # the grid company of Qingpu's province
    assert acc["account_no"] == "3100123456" and acc["meter_codes"] == ["M1", "M2"] and acc["registered_by"] == "a1"
    with Session(two) as s:  # the meters are the enterprise's electricity meters
        meters = s.exec(select(Meter.meter_code, Meter.carrier).where(Meter.enterprise_uscc == A)).all()
    assert ("M1", "electricity") in meters and ("M2", "electricity") in meters
    assert list(visible_accounts(two, QP_STAFF)["account_no"]) == ["3100123456"]
    assert visible_accounts(two, WJ_STAFF).empty  # another jurisdiction's staff do not see it
    assert visible_accounts(two, Viewer("b1", "enterprise", enterprise=B)).empty


def test_only_the_enterprise_or_its_jurisdictions_staff_may_register(two):
    with pytest.raises(AccessDenied):
        add_account(
            two, Viewer("b1", "enterprise", enterprise=B), enterprise=A, utility=None, account="31001", meters=["M1"]
        )
    with pytest.raises(AccessDenied):
        add_account(two, WJ_STAFF, enterprise=A, utility=None, account="31001", meters=["M1"])
    with pytest.raises(AccessDenied):
        add_account(
            two, Viewer("wall", "display", region="zone"), enterprise=A, utility=None, account="31001", meters=["M1"]
        )
    add_account(two, WJ_STAFF, enterprise=B, utility="国网江苏省电力有限公司", account="32001", meters=["W1"])
    assert list(accounts(two)["utility"]) == ["sgcc_jiangsu"]


def test_one_account_claimed_by_two_enterprises_is_refused(two):
    add_account(two, ZONE, enterprise=A, utility="sgcc_jiangsu", account="3200777", meters=["M1"])
    with pytest.raises(InputError) as exc:
        add_account(two, ZONE, enterprise=B, utility="sgcc_jiangsu", account="3200777", meters=["W1"])
    assert "不能登记给两家企业" in exc.value.zh and "counted twice" in exc.value.en
    # the same number at another utility is another account
    add_account(two, ZONE, enterprise=B, utility="sgcc_zhejiang", account="3200777", meters=["W1"])
    with Session(two) as s:  # nothing of the refused claim was stored (its meter neither)
        assert len(s.exec(select(GridAccount)).all()) == 2
        assert s.exec(select(Meter).where(Meter.meter_code == "W1")).all()[0].enterprise_uscc == B


def test_the_database_refuses_a_second_claim_by_itself(two):
    add_account(two, ZONE, enterprise=A, utility="sgcc_shanghai", account="3100555", meters=["M1"])
    with pytest.raises(IntegrityError), two.begin() as conn:  # the unique index, not only the check in add_account
        conn.execute(
            insert(GridAccount).values(
                utility="sgcc_shanghai",
                account_no="3100555",
                enterprise_uscc=B,
                registered_by="x",
                registered_at=accounts(two)["registered_at"][0].to_pydatetime(),
            )
        )


def test_two_registrations_racing_for_one_account_end_with_one_owner(two):
    barrier = threading.Barrier(2)
    outcome: dict[str, object] = {}

    def claim(who: str) -> None:
        barrier.wait()
        try:
            outcome[who] = add_account(
                two, ZONE, enterprise=who, utility="sgcc_shanghai", account="3100999", meters=["X" + who[-3:]]
            )
        except InputError as exc:
            outcome[who] = exc

    threads = [threading.Thread(target=claim, args=(w,)) for w in (A, B)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    won = [w for w, r in outcome.items() if isinstance(r, dict)]
    lost = [r for r in outcome.values() if isinstance(r, InputError)]
    assert len(won) == 1 and len(lost) == 1
    assert "不能登记给两家企业" in lost[0].zh
    assert list(accounts(two)["enterprise_uscc"]) == won


def test_a_meter_is_behind_one_account_and_must_measure_electricity(two):
    add_account(two, ZONE, enterprise=A, utility=None, account="3100001", meters=["M1"])
    with pytest.raises(InputError, match="一块表只能属于一个户号"):
        add_account(two, ZONE, enterprise=A, utility=None, account="3100002", meters=["M1"])
    with two.begin() as conn:
        conn.execute(insert(Meter).values(enterprise_uscc=A, meter_code="G1", carrier="natural_gas"))
    with pytest.raises(InputError, match="只能登记电表"):
        add_account(two, ZONE, enterprise=A, utility=None, account="3100003", meters=["G1"])
    with pytest.raises(InputError, match="户号"):
        add_account(two, ZONE, enterprise=A, utility=None, account="31/00", meters=["M9"])
    with pytest.raises(InputError, match="供电单位"):
        add_account(two, ZONE, enterprise=A, utility="国网青浦", account="3100004", meters=["M9"])
    with Session(two) as s:
        assert len(s.exec(select(GridAccountMeter)).all()) == 1


def test_accounts_through_the_cli(two, db_url):
    r = run(
        db_url, "grid", "account", "add", "--enterprise", A, "--account", "3100123", "--meter", "M1", "--meter", "M2"
    )
    assert r.returncode == 0, r.stderr
    assert "3100123" in r.stdout and "国网上海市电力公司" in r.stdout
    again = run(
        db_url,
        "grid",
        "account",
        "add",
        "--enterprise",
        B,
        "--account",
        "3100123",
        "--utility",
        "sgcc_shanghai",
        "--meter",
        "W1",
    )
    assert again.returncode == 2 and "counted twice" in again.stderr
    listed = json.loads(run(db_url, "grid", "account", "list", "--json").stdout)
    assert [(x["account_no"], x["enterprise_uscc"], x["meter_codes"]) for x in listed] == [("3100123", A, ["M1", "M2"])]
    table = run(db_url, "grid", "account", "list").stdout
    assert "户号 / utility account" in table and "上海市青浦区" in table


def meter_codes(engine, enterprise: str) -> list[str]:
    with Session(engine) as s:
        return sorted(s.exec(select(Meter.meter_code).where(Meter.enterprise_uscc == enterprise)).all())


def test_a_meter_code_the_enterprise_has_no_meter_of_is_refused_never_created(two):
    before_a, before_b = meter_codes(two, A), meter_codes(two, B)
    with pytest.raises(InputError) as exc:
        add_account(two, ZONE, enterprise=A, utility=None, account="3100321", meters=["M1", "NOPE"])
    assert f"企业 {A} 没有电表 NOPE" in exc.value.zh and f"该企业的电表：M1、M2、M3、X{A[-3:]}" in exc.value.zh
    assert "never created" in exc.value.en and f"M1, M2, M3, X{A[-3:]}" in exc.value.en
    with pytest.raises(InputError, match="没有电表 M2"):  # another enterprise's meter code is not this one's meter
        add_account(two, ZONE, enterprise=B, utility=None, account="3200321", meters=["M2"])
    assert (meter_codes(two, A), meter_codes(two, B)) == (before_a, before_b)
    assert accounts(two).empty


def test_an_enterprise_adds_meters_to_its_own_account(two):
    first = add_account(two, ZONE, enterprise=A, utility=None, account="3100456", meters=["M1"])
    assert not first["existing"] and first["added_meters"] == ["M1"]
    more = add_account(two, Viewer("a1", "enterprise", enterprise=A), enterprise=A, utility=None, account="3100456",
                       meters=["M1", "M2"])  # fmt: skip
    assert more["existing"] and more["added_meters"] == ["M2"] and more["meter_codes"] == ["M1", "M2"]
    assert more["account_id"] == first["account_id"] and more["registered_by"] == "zone1"
    listed = accounts(two)
    assert len(listed) == 1 and listed.iloc[0]["meter_codes"] == ["M1", "M2"]
    with pytest.raises(InputError) as exc:  # another enterprise: the double claim, and only then
        add_account(two, ZONE, enterprise=B, utility="sgcc_shanghai", account="3100456", meters=["W1"])
    assert "另一家企业" in exc.value.zh and "another enterprise" in exc.value.en


def test_adding_a_meter_to_an_own_account_through_the_cli(two, db_url):
    assert (
        run(db_url, "grid", "account", "add", "--enterprise", A, "--account", "3100789", "--meter", "M1").returncode
        == 0
    )
    r = run(db_url, "grid", "account", "add", "--enterprise", A, "--account", "3100789", "--meter", "M3")
    assert r.returncode == 0, r.stderr
    assert "已在本企业名下，已添加电表 / already this enterprise's; meters added: M3" in r.stdout
    assert "电表 / meters: M1, M3" in r.stdout
    bad = run(db_url, "grid", "account", "add", "--enterprise", A, "--account", "3100790", "--meter", "NOPE")
    assert bad.returncode == 2 and "没有电表 NOPE" in bad.stderr and "M1、M2、M3" in bad.stderr
    assert meter_codes(two, A) == ["M1", "M2", "M3", f"X{A[-3:]}"]
