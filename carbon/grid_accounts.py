"""Utility accounts (户号) of enterprises and the meters behind them.

An account is a utility's (供电单位, ``utility`` codes of ``carbon/data/codes.csv``) billing account: account numbers
are unique within a provincial grid company, so an account is keyed by utility and number.  It belongs to one
enterprise, registered by the enterprise itself or by bureau staff of its jurisdiction; a second claim of the same
account is refused (the utility's energy would be counted for two enterprises), also when two registrations race:
the database's unique index ``uq_grid_account`` decides, and the loser gets the same message as a sequential second
claim.  The meters behind an account are existing electricity meters of the same enterprise (``meter``; a code it
has no meter of is refused, never created); a meter is behind one account only (``grid_account_meter.meter_id`` is
unique).  Registering an account the same enterprise already holds adds the meters not yet behind it.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime

import pandas as pd
from sqlalchemy import Connection, Engine, func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from carbon import audit, codes, reference
from carbon.access import Viewer, full_regions, require_writer
from carbon.errors import AccessDenied, InputError, NotFoundError
from carbon.models import Enterprise, GridAccount, GridAccountMeter, Meter, Site

# The provincial grid company serving each province of the zone (State Grid: one company per province).
UTILITY_OF_PROVINCE = {"CN-SH": "sgcc_shanghai", "CN-JS": "sgcc_jiangsu", "CN-ZJ": "sgcc_zhejiang"}
ACCOUNT_NO = re.compile(r"^[0-9A-Za-z-]{4,32}$")
ACCOUNT_COLUMNS = [
    "account_id",
    "utility",
    "account_no",
    "enterprise_uscc",
    "registered_by",
    "registered_at",
    "meter_codes",
]


def normalise_account(text: object) -> str:
    """An account number as written (full-width digits and spaces folded); ``InputError`` unless it is 4 to 32
    letters, digits or hyphens.  Pure."""
    s = unicodedata.normalize("NFKC", str(text)).strip().replace(" ", "")
    if not ACCOUNT_NO.match(s):
        shown = s[:40]
        raise InputError(
            f"户号“{shown}”无效：须为4至32位数字、字母或连字符",
            f"Account number “{shown}” is not valid: it must be 4 to 32 digits, letters or hyphens",
            value=shown,
        )
    return s


def utility_code(text: object) -> str:
    """The ``utility`` code of a utility given by its code or its Chinese or English name (as ``codes.csv`` labels
    it); ``InputError`` listing the accepted names otherwise.  Pure."""
    s = unicodedata.normalize("NFKC", str(text)).strip()
    for code in codes.codes("utility"):
        if s.lower() == code or s in (codes.label("utility", code, "zh"), codes.label("utility", code, "en")):
            return code
    names_zh = "、".join(codes.label("utility", c, "zh") for c in codes.codes("utility"))
    names_en = ", ".join(codes.codes("utility"))
    raise InputError(
        f"供电单位“{s[:40]}”未知，可选：{names_zh}",
        f"Unknown utility “{s[:40]}”; one of {names_en}",
        value=s[:40],
    )


def double_claim(utility: str, account: str) -> InputError:
    """The refusal of an account another enterprise has already registered."""
    u_zh, u_en = codes.label("utility", utility, "zh"), codes.label("utility", utility, "en")
    return InputError(
        f"户号 {account}（{u_zh}）已登记在另一家企业名下：同一户号不能登记给两家企业，否则其电量会被重复计算；"
        "如户号已过户，请联系所在区生态环境部门",
        f"Account {account} ({u_en}) is already registered to another enterprise: one account cannot be claimed by two "
        "enterprises, or its energy would be counted twice; if the account has changed hands, ask the bureau of "
        "its jurisdiction",
        value=account,
    )


def _meter_taken(code: str) -> InputError:
    return InputError(
        f"计量表 {code} 已登记在另一个户号下：一块表只能属于一个户号",
        f"Meter {code} is already behind another account: a meter belongs to one account only",
        value=code,
    )


def _may_register(viewer: Viewer, enterprise: Enterprise) -> None:
    require_writer(viewer)
    own = (
        viewer.enterprise == enterprise.uscc
        if viewer.role == "enterprise"
        else enterprise.region_id in full_regions(viewer)
    )
    if not own:
        raise AccessDenied(
            "只有该企业或其所在区的工作人员可以登记它的户号",
            "Only the enterprise or bureau staff of its jurisdiction can register its accounts",
            user=viewer.username,
        )


def unknown_meters(codes_: list[str], enterprise: str, electricity_meters: list[str]) -> InputError:
    """The refusal of meter codes the enterprise has no electricity meter of, listing those it has."""
    given = "、".join(codes_)
    have_zh = "、".join(electricity_meters) if electricity_meters else "（尚无电表：请先上传或接入这些表的电量数据）"
    have_en = ", ".join(electricity_meters) if electricity_meters else "(none yet: upload or connect their data first)"
    return InputError(
        f"企业 {enterprise} 没有电表 {given}：户号下只能登记该企业已有的电表"
        f"（表号以上传或接入的数据为准，不会自动新建）；该企业的电表：{have_zh}",
        f"Enterprise {enterprise} has no electricity meter {', '.join(codes_)}: only the enterprise's existing meters "
        f"can be behind an account (meters come from uploaded or connected data and are never created here); its "
        f"electricity meters: {have_en}",
        value=", ".join(codes_)[:80],
    )


def _meter_ids(conn: Connection, enterprise: str, meters: list[str]) -> list[int]:
    """Ids of the enterprise's electricity meters of these codes; ``InputError`` for a code the enterprise has no
    meter of (listing its electricity meters; never created: a mistyped code would become a phantom meter) or a
    meter of another carrier."""
    mine = {
        m.meter_code: (m.id, m.carrier) for m in conn.execute(select(Meter).where(Meter.enterprise_uscc == enterprise))
    }
    for code in meters:
        if code in mine and mine[code][1] != "electricity":
            raise InputError(
                f"计量表 {code} 计量的不是电力：户号下只能登记电表",
                f"Meter {code} does not measure electricity: only electricity meters can be behind an account",
                value=code,
            )
    missing = [c for c in meters if c not in mine]
    if missing:
        raise unknown_meters(missing, enterprise, sorted(c for c, (_, k) in mine.items() if k == "electricity"))
    return [int(mine[c][0]) for c in meters]


def add_account(
    engine: Engine,
    viewer: Viewer,
    *,
    enterprise: str,
    utility: str | None,
    account: str,
    meters: list[str],
    now: datetime | None = None,
) -> dict:
    """Register ``account`` at ``utility`` (code or name; None: the grid company of the enterprise's province,
    ``UTILITY_OF_PROVINCE``) to ``enterprise`` (USCC) with the electricity meters behind it (existing meter codes of
    that enterprise), in one transaction, audited as ``grid_account_add``.  An account the same enterprise has
    already registered gets the meters not yet behind it (audited as ``grid_account_meters_add``).

    Returns the account as a dict (``ACCOUNT_COLUMNS``, ``meter_codes`` all its meters) plus ``existing`` (True when
    the account was registered before) and ``added_meters`` (the meters put behind it now).  Raises ``InputError``
    for a bad number or utility, no meter, a meter code the enterprise has no meter of (``unknown_meters``: never
    created), a meter of another carrier or behind another account, and for an account another enterprise has
    registered (``double_claim``); ``AccessDenied`` unless the viewer is the enterprise or staff of its
    jurisdiction; ``NotFoundError`` for an unregistered enterprise."""
    number = normalise_account(account)
    meter_codes = list(dict.fromkeys(str(m).strip() for m in meters if str(m).strip()))
    if not meter_codes:
        raise InputError(
            "请至少给出该户号下的一块电表（命令行用 --meter）",
            "Give at least one electricity meter behind the account (--meter on the command line)",
        )
    for m in meter_codes:
        if len(m) > 64:
            raise InputError(f"表号“{m[:40]}…”超过64个字符", f"Meter code “{m[:40]}…” is longer than 64", value=m[:40])
    uscc = str(enterprise).strip().upper()
    at = audit.as_utc(now)
    with Session(engine) as session:
        ent = session.get(Enterprise, uscc)
    if ent is None:
        raise NotFoundError(f"企业 {uscc} 未登记", f"Enterprise {uscc} is not registered", value=uscc)
    _may_register(viewer, ent)
    code = (
        utility_code(utility)
        if utility is not None
        else UTILITY_OF_PROVINCE[reference.regions().loc[ent.region_id, "province"]]
    )
    try:
        with engine.begin() as conn:
            held = conn.execute(
                select(
                    GridAccount.id, GridAccount.enterprise_uscc, GridAccount.registered_by, GridAccount.registered_at
                ).where(GridAccount.utility == code, GridAccount.account_no == number)
            ).first()
            if held is not None and held.enterprise_uscc != uscc:
                raise double_claim(code, number)
            ids = _meter_ids(conn, uscc, meter_codes)
            if held is None:
                account_id = conn.execute(
                    insert(GridAccount).values(
                        utility=code,
                        account_no=number,
                        enterprise_uscc=uscc,
                        registered_by=viewer.username,
                        registered_at=at,
                    )
                ).inserted_primary_key[0]
                registered_by, registered_at = viewer.username, at
            else:
                account_id, registered_by, registered_at = held.id, held.registered_by, held.registered_at
            behind = dict(
                conn.execute(
                    select(GridAccountMeter.meter_id, GridAccountMeter.account_id).where(
                        GridAccountMeter.meter_id.in_(ids)
                    )
                ).all()
            )
            for m, i in zip(meter_codes, ids, strict=True):
                if i in behind and behind[i] != account_id:
                    raise _meter_taken(m)
            added = [m for m, i in zip(meter_codes, ids, strict=True) if i not in behind]
            new_ids = [i for i in ids if i not in behind]
            if new_ids:
                conn.execute(insert(GridAccountMeter), [{"account_id": account_id, "meter_id": i} for i in new_ids])
            all_codes = sorted(
                conn.execute(
                    select(Meter.meter_code)
                    .join(GridAccountMeter, GridAccountMeter.meter_id == Meter.id)
                    .where(GridAccountMeter.account_id == account_id)
                ).scalars()
            )
    except IntegrityError as exc:  # a registration that raced this one won: the index decided
        text = str(exc.orig)
        if "meter" in text and "grid_account_meter" in text:
            raise _meter_taken(", ".join(meter_codes)) from None
        raise double_claim(code, number) from None
    if held is None or added:
        audit.record(
            engine,
            viewer,
            "grid_account_add" if held is None else "grid_account_meters_add",
            {"utility": code, "account": number, "meters": added},
            enterprise=uscc,
            now=at,
        )
    return {
        "account_id": int(account_id),
        "utility": code,
        "account_no": number,
        "enterprise_uscc": uscc,
        "registered_by": registered_by,
        "registered_at": registered_at,
        "meter_codes": all_codes,
        "existing": held is not None,
        "added_meters": added,
    }


def accounts(engine: Engine, enterprises: list[str] | None = None) -> pd.DataFrame:
    """Registered accounts (of ``enterprises`` only, when given): ``ACCOUNT_COLUMNS`` plus ``region_id`` of the
    enterprise, ``meter_region_ids`` (the jurisdictions its meters count in, sorted) and ``utility_mismatch``
    (``utility_mismatch``), one row per account, ``meter_codes`` a sorted list of meter codes.  No access check:
    callers scope."""
    stmt = (
        select(
            GridAccount.id.label("account_id"),
            GridAccount.utility,
            GridAccount.account_no,
            GridAccount.enterprise_uscc,
            GridAccount.registered_by,
            GridAccount.registered_at,
            Enterprise.region_id,
        )
        .join(Enterprise, Enterprise.uscc == GridAccount.enterprise_uscc)
        .order_by(GridAccount.enterprise_uscc, GridAccount.utility, GridAccount.account_no)
    )
    if enterprises is not None:
        stmt = stmt.where(GridAccount.enterprise_uscc.in_(enterprises))
    with engine.connect() as conn:
        df = pd.read_sql(stmt, conn)
        links = account_meters(conn)
    df["registered_at"] = pd.to_datetime(df["registered_at"], utc=True, format="ISO8601")
    grouped = links.groupby("account_id")["meter_code"].agg(lambda s: sorted(s))
    df["meter_codes"] = [grouped.get(i, []) for i in df["account_id"]]
    regions = links.groupby("account_id")["meter_region_id"].agg(lambda s: sorted(set(s)))
    df["meter_region_ids"] = [regions.get(i, []) for i in df["account_id"]]
    df["utility_mismatch"] = utility_mismatch(df["utility"], df["meter_region_ids"])
    return df[[*ACCOUNT_COLUMNS, "region_id", "meter_region_ids", "utility_mismatch"]]


def expected_utilities(region_ids: list[str]) -> list[str]:
    """The grid companies of the provinces of these jurisdictions (``UTILITY_OF_PROVINCE``), in order.  Pure."""
    provinces = reference.regions()["province"]
    return list(dict.fromkeys(UTILITY_OF_PROVINCE[provinces.loc[r]] for r in region_ids))


def utility_mismatch(utilities: pd.Series, meter_region_ids: pd.Series) -> pd.Series:
    """True where an account's utility is not the grid company of the province its meters count in (a site's
    jurisdiction, else the enterprise's): an account of ``sgcc_shanghai`` whose meters sit on a Wujiang site is
    likely registered at the wrong utility (State Grid bills by province).  False for an account without meters.
    Pure."""
    return pd.Series(
        [bool(r) and u not in expected_utilities(r) for u, r in zip(utilities, meter_region_ids, strict=True)],
        index=utilities.index,
        dtype=bool,
    )


def mismatch_warning(utility: str, account_no: str, region_ids: list[str]) -> tuple[str, str]:
    """The warning (Chinese, English) of an account whose utility is not its meters' provincial grid company."""
    expected = expected_utilities(region_ids)
    areas_zh = "、".join(codes.area(r, "zh") for r in region_ids)
    areas_en = ", ".join(codes.area(r, "en") for r in region_ids)
    return (
        f"户号 {account_no} 登记在{codes.label('utility', utility, 'zh')}，但其电表计入{areas_zh}，该地由"
        f"{'、'.join(codes.label('utility', u, 'zh') for u in expected)}供电：请核对供电单位",
        f"account {account_no} is registered at {codes.label('utility', utility, 'en')}, but its meters count in "
        f"{areas_en}, served by {', '.join(codes.label('utility', u, 'en') for u in expected)}: check the utility",
    )


def account_meters(conn: Connection) -> pd.DataFrame:
    """Every account's meters: account_id, utility, account_no, enterprise_uscc, meter_id, meter_code and
    meter_region_id (the jurisdiction the meter counts in: its site's, else its enterprise's)."""
    return pd.read_sql(
        select(
            GridAccount.id.label("account_id"),
            GridAccount.utility,
            GridAccount.account_no,
            GridAccount.enterprise_uscc,
            Meter.id.label("meter_id"),
            Meter.meter_code,
            func.coalesce(Site.region_id, Enterprise.region_id).label("meter_region_id"),
        )
        .join(GridAccountMeter, GridAccountMeter.account_id == GridAccount.id)
        .join(Meter, Meter.id == GridAccountMeter.meter_id)
        .join(Enterprise, Enterprise.uscc == Meter.enterprise_uscc)
        .outerjoin(Site, Site.id == Meter.site_id),
        conn,
    )


def visible_accounts(engine: Engine, viewer: Viewer) -> pd.DataFrame:
    """``accounts`` the viewer may see: an enterprise its own, staff those of their jurisdictions' enterprises
    (a display account none)."""
    if viewer.role == "enterprise":
        return accounts(engine, [str(viewer.enterprise)])
    df = accounts(engine)
    return df.loc[df["region_id"].isin(full_regions(viewer))].reset_index(drop=True)
