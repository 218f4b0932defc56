"""The ``carbon`` command line.  It only calls the public API; exit 0 ok, 2 bad input, 1 internal error."""

from __future__ import annotations

import getpass
import json
import math
import os
import sys
import warnings
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click
import numpy as np
import pandas as pd
from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError

from carbon import codes, db, fields, reference
from carbon.errors import CarbonError, DerivedDataWarning, FactorDataError, InputError
from carbon.factor_choice import BASES, GWP_SETS, YEARS
from carbon.flags import describe, factors_text
from carbon.ledger import GWP_OF_RECORD
from carbon.sources import missing
from carbon.tables import beijing_time, num, render


def _engine(ctx: click.Context) -> Engine:
    """The command's database, once per command; whatever recalculation an earlier process left owed is paid
    first (``carbon.intake.settle``), so every figure printed is current."""
    if "engine" in ctx.obj:
        return ctx.obj["engine"]
    engine = db.make_engine(ctx.obj["db"])
    if not db.schema_exists(engine):
        raise InputError(
            "数据库尚未初始化，请先运行 carbon init",
            "The database is not initialised; run carbon init first",
            db=db.display_url(ctx.obj["db"]),
        )
    from carbon.intake import settle

    try:
        settle(engine)
    except CarbonError as exc:  # the command can still fix the cause (e.g. import the missing factor)
        click.echo(
            f"警告：结果未能更新，仍欠重新核算 / warning: results could not be brought up to date and stay owed: "
            f"{exc.message}",
            err=True,
        )
    ctx.obj["engine"] = engine
    return engine


YEAR = click.IntRange(YEARS.start, YEARS.stop - 1)
REGIONS = click.Choice(("zone", *reference.JURISDICTIONS))


def basis_option(f: Callable) -> Callable:
    """``--basis``: one of the accounting bases (refused otherwise, with the list)."""
    choice = click.Choice(BASES)
    return click.option("--basis", type=choice, default="location", show_default=True, help="核算口径 / basis")(f)


def jurisdiction_option(f: Callable) -> Callable:
    """``--region``: one jurisdiction, or all three when not given."""
    choice = click.Choice(reference.JURISDICTIONS)
    return click.option("--region", type=choice, help="区县（默认全部）/ jurisdiction (default: all)")(f)


def json_option(f: Callable) -> Callable:
    """``--json``: machine-readable output."""
    return click.option("--json", "as_json", is_flag=True, help="输出JSON / print JSON")(f)


def json_ready(obj: Any, where: str = "") -> tuple[Any, list[str]]:
    """``obj`` as JSON can hold it, and where it held an infinity.  Pure.

    NaN, NaT and NA are missing: ``null``.  An infinity (a sum beyond the float range) has no JSON form either and
    becomes ``null`` too; its place (``by_carrier[0].quantity_canonical``) is returned so the caller can say so.
    Numpy scalars become Python numbers; dict keys and other values are left to ``json.dumps``.
    """
    if isinstance(obj, dict):
        pairs = [(k, json_ready(v, f"{where}.{k}" if where else str(k))) for k, v in obj.items()]
        return {k: v for k, (v, _) in pairs}, [p for _, (_, ps) in pairs for p in ps]
    if isinstance(obj, list | tuple):
        items = [json_ready(v, f"{where}[{i}]") for i, v in enumerate(obj)]
        return [v for v, _ in items], [p for _, ps in items for p in ps]
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None, [] if math.isnan(obj) else [where]
    if obj is pd.NA or obj is pd.NaT:
        return None, []
    return obj, []


def json_text(obj: Any, indent: int | None = None) -> str:
    """Valid JSON, always (RFC 8259: never ``NaN`` or ``Infinity``); infinities are reported on stderr."""
    ready, infinite = json_ready(obj)
    if infinite:
        click.echo(
            f"警告：以下数值超出可表示范围，输出为 null，请核对数据 / warning: these figures are beyond the range of "
            f"numbers and are printed as null; check the data: {', '.join(infinite)}",
            err=True,
        )
    return json.dumps(ready, ensure_ascii=False, indent=indent, default=str, allow_nan=False)


def _print_json(obj: Any) -> None:
    click.echo(json_text(obj, indent=2))


def headers(*names: str) -> list[str]:
    """CLI table headers of fields, from the registry (``carbon.fields.header``)."""
    return [fields.header(n) for n in names]


NO_DATA = f"{fields.NO_DATA['zh']} / {fields.NO_DATA['en']}"


def cell(name: str, value: Any) -> str:
    """A field's value as the CLI prints it: shares as percentages and figures with the field's digits
    (``carbon/data/fields.csv``), ``-`` for no data."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    kind, digits = fields.kind(name), fields.digits(name)
    if kind == "share":
        return f"{value:.{digits or 0}%}"
    if kind == "figure":
        return num(value, 2 if digits is None else digits)
    return str(value)


@click.group()
@click.option(
    "--db",
    "db_url",
    metavar="URL",
    help="数据库URL / database URL (default: CARBON_DATABASE_URL or sqlite:///carbon.db)",
)
@click.pass_context
def cli(ctx: click.Context, db_url: str | None) -> None:
    """长三角示范区碳排放监测核算 / YRD demonstration-zone carbon accounting."""
    ctx.obj = {"db": db_url}


@cli.command()
@click.pass_context
def init(ctx: click.Context) -> None:
    """建库并载入区域、行业和排放因子库 / create the schema, load regions, industries and factors."""
    count = db.initialise(db.make_engine(ctx.obj["db"]))
    click.echo(f"数据库已就绪 / database ready: {db.display_url(ctx.obj['db'])} — {count} 条因子记录 / factor records")


@cli.group()
def enterprise() -> None:
    """企业登记 / enterprises."""


@enterprise.command("add")
@click.option("--code", required=True, help="统一社会信用代码 (18 characters)")
@click.option("--name", required=True, help="企业名称 / name")
@click.option("--region", required=True, type=click.Choice(reference.JURISDICTIONS))
@click.option("--industry", required=True, help="GB/T 4754-2017 行业代码 / industry code (e.g. 26 or 2614)")
@click.pass_context
def enterprise_add(ctx: click.Context, code: str, name: str, region: str, industry: str) -> None:
    """登记企业 / register an enterprise."""
    from carbon.enterprises import add_enterprise

    ent = add_enterprise(_engine(ctx), code=code, name=name, region=region, industry=industry)
    div = reference.industry_divisions().loc[ent.division_code]
    click.echo(
        f"已登记 / registered: {ent.uscc} {ent.name} ({codes.area(region, 'zh')}; {ent.division_code} "
        f"{div['name_zh']}; "
        f"{reference.sectors().loc[div['sector'], 'name_zh']})"
    )


@enterprise.command("update")
@click.argument("code")
@click.option("--name", help="新名称 / new name")
@click.option("--region", type=click.Choice(reference.JURISDICTIONS), help="新区域 / new jurisdiction")
@click.option("--industry", help="新行业代码 / new GB/T 4754-2017 industry code")
@click.pass_context
def enterprise_update(
    ctx: click.Context, code: str, name: str | None, region: str | None, industry: str | None
) -> None:
    """更改企业名称、区域或行业，结果随之更新 / change an enterprise's name, region or industry; results follow."""
    from carbon import audit
    from carbon.enterprises import update_enterprise
    from carbon.intake import settle

    engine = _engine(ctx)
    ent = update_enterprise(engine, code, name=name, region=region, industry=industry)
    settle(engine)
    audit.record(
        engine,
        f"cli:{getpass.getuser()}",
        "enterprise_update",
        {"name": name, "region": region, "industry": industry},
        enterprise=ent.uscc,
    )
    click.echo(f"已更新 / updated: {ent.uscc} {ent.name} ({ent.region_id}; {ent.division_code})")


@enterprise.command("list")
@click.option("--region", type=click.Choice(reference.JURISDICTIONS))
@json_option
@click.pass_context
def enterprise_list(ctx: click.Context, region: str | None, as_json: bool) -> None:
    """列出已登记企业 / list registered enterprises."""
    from carbon.enterprises import list_enterprises

    df = list_enterprises(_engine(ctx), region)
    if as_json:
        _print_json(df.to_dict("records"))
        return
    click.echo(
        render(
            headers("uscc", "name", "region_id", "industry_code", "sector_zh"),
            [
                [r.uscc, r.name, r.region_id, f"{r.industry_code} {r.division_name}", r.sector_zh]
                for r in df.itertuples()
            ],
        )
    )


@cli.group()
def grid() -> None:
    """电网户号与电量账单 / utility accounts (户号) and the utility's statements."""


@grid.group("account")
def grid_account() -> None:
    """用电户号 / utility accounts."""


@grid_account.command("add")
@click.option("--enterprise", "uscc", required=True, help="统一社会信用代码 / USCC")
@click.option("--account", "number", required=True, help="户号 / account number at the utility")
@click.option(
    "--meter",
    "meters",
    multiple=True,
    required=True,
    help="该户号下的电表表号，可重复 / an electricity meter behind the account (repeatable)",
)
@click.option(
    "--utility",
    help="供电单位代码或名称（默认：企业所在省的电网企业）/ utility code or name (default: the grid company of the "
    "enterprise's province)",
)
@click.pass_context
def grid_account_add(ctx: click.Context, uscc: str, number: str, meters: tuple[str, ...], utility: str | None) -> None:
    """登记户号及其电表（须为企业已有的电表）；本企业已登记的户号则添加电表；一个户号只能属于一家企业 / register an
    account and its meters (existing meters of the enterprise); on an account the enterprise already holds, add the
    meters; one account, one enterprise."""
    from carbon.grid_accounts import accounts, add_account

    acc = add_account(
        _engine(ctx), _administrator(), enterprise=uscc, utility=utility, account=number, meters=list(meters)
    )
    if acc["existing"]:
        added = ", ".join(acc["added_meters"]) or "无（均已在该户号下）/ none (all already behind it)"
        click.echo(
            f"户号 {acc['account_no']} ({codes.bilingual('utility', acc['utility'])}) 已在本企业名下，已添加电表 / "
            f"already this enterprise's; meters added: {added}"
        )
    else:
        click.echo(
            f"已登记 / registered: {acc['account_no']} ({codes.bilingual('utility', acc['utility'])}) -> "
            f"{acc['enterprise_uscc']}"
        )
    click.echo(f"电表 / meters: {', '.join(acc['meter_codes'])}")
    mine = accounts(_engine(ctx), [acc["enterprise_uscc"]])
    _utility_warnings(mine.loc[mine["account_id"] == acc["account_id"]])


@grid_account.command("list")
@click.option("--region", type=click.Choice(reference.JURISDICTIONS))
@json_option
@click.pass_context
def grid_account_list(ctx: click.Context, region: str | None, as_json: bool) -> None:
    """列出已登记户号；供电单位与电表所在省的电网企业不符时提示 / list registered accounts; warns where an account's
    utility is not the grid company of the province its meters count in."""
    from carbon.grid_accounts import accounts, mismatch_warning

    df = accounts(_engine(ctx))
    if region:
        df = df.loc[df["region_id"] == region]
    if as_json:
        warnings = [
            " / ".join(mismatch_warning(r.utility, r.account_no, r.meter_region_ids)) if r.utility_mismatch else None
            for r in df.itertuples()
        ]
        out = df.assign(registered_at=df["registered_at"].map(lambda t: t.isoformat()), utility_warning=warnings)
        _print_json(out.to_dict("records"))
        return
    click.echo(
        render(
            headers(
                "utility", "account_no", "enterprise_uscc", "region_id", "meter_codes", "registered_by", "registered_at"
            ),
            [
                [
                    codes.label("utility", r.utility),
                    r.account_no,
                    r.enterprise_uscc,
                    codes.area(r.region_id),
                    ", ".join(r.meter_codes),
                    r.registered_by,
                    beijing_time(r.registered_at),
                ]
                for r in df.itertuples()
            ],
        )
    )
    _utility_warnings(df)


def _utility_warnings(df: pd.DataFrame) -> None:
    """Print a warning per account (``carbon.grid_accounts.accounts`` rows) whose utility is not the grid company of
    the province its meters count in."""
    from carbon.grid_accounts import mismatch_warning

    for r in df.loc[df["utility_mismatch"]].itertuples():
        zh, en = mismatch_warning(r.utility, r.account_no, r.meter_region_ids)
        click.echo(f"注意 / warning: {zh} / {en}")


@grid.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--utility", help="文件无供电单位列时的供电单位代码 / utility code for a file without a utility column")
@json_option
@click.pass_context
def grid_import(ctx: click.Context, file: Path, utility: str | None, as_json: bool) -> None:
    """导入电网电量账单文件（CSV/XLSX），整体导入：任一行被拒则不存储任何数据（退出码2）/ import a utility statement
    file (CSV/XLSX) whole: if any row is refused nothing is stored (exit 2)."""
    from carbon.grid_accounts import utility_code
    from carbon.intake import receive_grid_file

    engine = _engine(ctx)
    report = receive_grid_file(engine, file, f"cli:{getpass.getuser()}", utility_code(utility) if utility else None)
    d = report.as_dict()
    if as_json:
        _print_json(d)
    else:
        click.echo(
            f"{file.name}: 收到 / received {d['received']}, 存储 / stored {d['stored']}, 重复 / duplicates "
            f"{d['duplicates']}, 更正 / restated {d['restated']}, 较旧未存 / stale {d['stale']}, 拒绝 / refused "
            f"{len(d['refused'])}"
        )
        if d["nothing_stored"]:
            click.echo(
                "未存储任何数据：文件须整体导入，请按下列各行改正后重新导入整个文件 / nothing stored: a file is "
                "imported whole; correct the rows below and import the whole file again"
            )
        for r in d["refused"]:
            click.echo(f"  第{r['source_row']}行 / row {r['source_row']}: {r['reason']}")
        for u in d["unknown_accounts"]:
            click.echo(
                f"  未登记户号 / unregistered account: {u['account_no']} ({codes.bilingual('utility', u['utility'])})"
                " — 已保存，登记后参与比对 / kept; compared once registered"
            )
    if d["refused"]:
        sys.exit(2)


@cli.group()
def site() -> None:
    """企业厂区（可跨区域）/ enterprise sites, also in another jurisdiction."""


@site.command("add")
@click.option("--enterprise", "uscc", required=True, help="统一社会信用代码 / USCC")
@click.option("--name", required=True, help="厂区名称 / site name")
@click.option("--region", required=True, type=click.Choice(reference.JURISDICTIONS), help="厂区所在区县 / jurisdiction")
@json_option
@click.pass_context
def site_add(ctx: click.Context, uscc: str, name: str, region: str, as_json: bool) -> None:
    """登记企业厂区 / register a site of an enterprise."""
    from carbon import audit
    from carbon.sites import add_site

    engine = _engine(ctx)
    s = add_site(engine, enterprise=uscc, name=name, region=region)
    audit.record(
        engine, f"cli:{getpass.getuser()}", "site_add", {"site": s.id, "name": s.name, "region": region},
        enterprise=s.enterprise_uscc,
    )  # fmt: skip
    if as_json:
        _print_json({"site_id": s.id, "enterprise_uscc": s.enterprise_uscc, "name": s.name, "region_id": region})
        return
    click.echo(f"已登记厂区 / site registered: {s.id} {s.name} ({codes.area(region, 'zh')}; {s.enterprise_uscc})")


@site.command("update")
@click.option("--site", "site_id", required=True, type=int, help="厂区编号 / site id")
@click.option("--name", help="新名称 / new name")
@click.option("--region", type=click.Choice(reference.JURISDICTIONS), help="新所在区县 / new jurisdiction")
@click.pass_context
def site_update(ctx: click.Context, site_id: int, name: str | None, region: str | None) -> None:
    """更改厂区名称或所在区县，结果随之更新 / rename a site or change its jurisdiction; results follow."""
    from carbon import audit
    from carbon.intake import settle
    from carbon.sites import update_site

    engine = _engine(ctx)
    s = update_site(engine, site_id, name=name, region=region)
    settle(engine)
    audit.record(
        engine, f"cli:{getpass.getuser()}", "site_update", {"site": s.id, "name": name, "region": region},
        enterprise=s.enterprise_uscc,
    )  # fmt: skip
    click.echo(f"已更新厂区 / site updated: {s.id} {s.name} ({codes.area(s.region_id, 'zh')}; {s.enterprise_uscc})")


@site.command("list")
@click.option("--enterprise", "uscc", help="统一社会信用代码 / USCC")
@click.option("--region", type=click.Choice(reference.JURISDICTIONS), help="厂区所在区县 / site jurisdiction")
@json_option
@click.pass_context
def site_list(ctx: click.Context, uscc: str | None, region: str | None, as_json: bool) -> None:
    """列出厂区 / list sites."""
    from carbon.sites import list_sites

    df = list_sites(_engine(ctx), enterprise=uscc, regions=[region] if region else None)
    if as_json:
        _print_json(df.assign(created_at=df["created_at"].map(lambda t: t.isoformat())).to_dict("records"))
        return
    names = ("site_id", "site_name", "site_region_id", "uscc", "enterprise_name", "registered_region_id", "meters")
    rows = [
        [r.site_id, r.name, codes.area(r.region_id, "zh"), r.enterprise_uscc, r.enterprise_name,
         codes.area(r.registered_region_id, "zh"), r.meters]
        for r in df.itertuples()
    ]  # fmt: skip
    click.echo(render(headers(*names), rows))


@site.command("assign")
@click.option("--enterprise", "uscc", required=True, help="统一社会信用代码 / USCC")
@click.option("--meter", required=True, help="表号 / meter code")
@click.option("--site", "site_id", type=int, help="厂区编号 / site id")
@click.option("--no-site", is_flag=True, help="移出厂区，计入登记区县 / off its site (counts where registered)")
@json_option
@click.pass_context
def site_assign(ctx: click.Context, uscc: str, meter: str, site_id: int | None, no_site: bool, as_json: bool) -> None:
    """将计量表归入本企业的厂区，结果随之更新 / put a meter on one of its enterprise's sites; results follow."""
    from carbon import audit
    from carbon.intake import settle
    from carbon.sites import assign_meter

    if (site_id is None) == (not no_site):
        raise InputError("请给出 --site 厂区编号或 --no-site（二者选一）", "Give --site ID or --no-site (one of them)")
    engine = _engine(ctx)
    moved = assign_meter(engine, enterprise=uscc, meter=meter, site_id=site_id)
    settle(engine)
    audit.record(engine, f"cli:{getpass.getuser()}", "site_assign", moved, enterprise=moved["enterprise_uscc"])
    if as_json:
        _print_json(moved)
        return
    where = "无厂区 / no site" if site_id is None else str(site_id)
    click.echo(f"已归入 / assigned: {moved['enterprise_uscc']} {moved['meter']} -> {where}")


@cli.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--enterprise", "uscc", required=True, help="统一社会信用代码 / USCC")
@click.option(
    "--accept-valid", is_flag=True, help="存入有效行，拒绝行留待下载修正 / store the valid rows, keep refused ones"
)
@click.option("--sheet", help="XLSX工作表名 / XLSX sheet name (default: the first with a recognisable header)")
@click.option("--json", "as_json", is_flag=True, help="每个文件输出一个JSON对象 / one JSON object per file")
@click.pass_context
def ingest(
    ctx: click.Context, files: tuple[Path, ...], uscc: str, accept_valid: bool, sheet: str | None, as_json: bool
) -> None:
    """导入能源数据文件 / ingest meter exports, bills and template files.

    默认全有或全无：任何一行被拒绝则不存入任何读数（退出码2）；--accept-valid 存入有效行。
    By default all or nothing: if any row is refused no reading is stored (exit 2); --accept-valid stores the
    valid rows and keeps the refused ones to download (carbon rejects BATCH).
    """
    from tqdm import tqdm

    from carbon.intake import receive_files

    def progress(paths: list[Path]) -> tqdm:
        return tqdm(paths, desc="读取 / reading", unit="file", disable=None if len(paths) > 1 else True)

    reports = receive_files(
        _engine(ctx),
        list(files),
        uscc.strip().upper(),
        actor=f"cli:{getpass.getuser()}",
        progress=progress,
        accept_valid=accept_valid,
        sheet=sheet,
    )
    for r in reports:
        if as_json:
            click.echo(json_text(r.as_dict()))
            continue
        state = codes.bilingual("batch_status", r.status)
        shape = codes.bilingual("file_shape", r.shape) if r.shape else "-"
        click.echo(
            f"{r.file}: {state} [{shape}] 批次/batch {r.batch_id}; 读取/read {r.rows_read}, "
            f"接受/accepted {r.rows_accepted}, 拒绝/rejected {r.rows_rejected}, 重复/duplicate "
            f"{r.rows_duplicate}, 更正/corrected {r.rows_corrected}, 警告/warnings {len(r.warnings)}"
        )
        if r.ignored_columns:
            click.echo(f"  忽略的列 / ignored columns: {', '.join(r.ignored_columns)}")
    for r in reports:
        for e in [*r.errors, *r.warnings]:
            label = "错误/error" if e.severity == "error" else "警告/warning"
            click.echo(f"{r.file} 第{e.row}行/row {e.row} {label}, {e.column} = {e.value!r}: {e.message}", err=True)
    if any(r.errors for r in reports) and not accept_valid:
        click.echo(
            "有行被拒绝，本次未写入任何读数；请修正后重新导入（carbon rejects 批次号 可下载被拒行）/ rows were "
            "refused and no reading was stored; fix them and ingest again (carbon rejects BATCH downloads "
            "them)",
            err=True,
        )
        sys.exit(2)


@cli.command()
@click.argument("batch_id", type=int)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="写入CSV / write a CSV file")
@click.pass_context
def rejects(ctx: click.Context, batch_id: int, out: Path | None) -> None:
    """下载被拒绝的行及原因 / the refused rows of a batch with their reasons."""
    from carbon.export import csv_text, write_csv
    from carbon.ingest.rejects import rejected_rows

    df = rejected_rows(_engine(ctx), batch_id)
    if out:
        write_csv(df, out)
        click.echo(f"{len(df)} 行 / rows -> {out}")
    else:
        click.echo(csv_text(df), nl=False)


@cli.command()
@click.option("--enterprise", "uscc", help="统一社会信用代码 / USCC")
@click.option("--region", type=REGIONS)
@click.option("--year", required=True, type=YEAR)
@basis_option
@click.option("--gwp", "gwp_set", type=click.Choice(GWP_SETS), default=GWP_OF_RECORD, show_default=True)
@json_option
@click.pass_context
def account(
    ctx: click.Context, uscc: str | None, region: str | None, year: int, basis: str, gwp_set: str, as_json: bool
) -> None:
    """核算排放 / account emissions of an enterprise or region for a year."""
    from carbon.ledger import account as run_account
    from carbon.ledger import load_factors

    if bool(uscc) == bool(region):
        raise click.UsageError("请给出 --enterprise 或 --region 之一 / give exactly one of --enterprise or --region")
    engine = _engine(ctx)
    result = run_account(engine, year=year, enterprise=uscc, region=region, basis=basis, gwp_set=gwp_set)
    if as_json:
        _print_json(result.as_dict())
        return
    click.echo(format_result(result.as_dict(), load_factors(engine).set_index("id")))


@cli.command()
@click.option("--enterprise", "uscc", help="统一社会信用代码 / USCC")
@click.option("--region", type=REGIONS)
@click.option("--year", required=True, type=YEAR)
@basis_option
@json_option
@click.pass_context
def results(ctx: click.Context, uscc: str | None, region: str | None, year: int, basis: str, as_json: bool) -> None:
    """已存核算结果（看板所示）/ the stored figures the dashboard serves, with their runs and as-of time.

    与 carbon account 同字段；二者对任何数据都应相等 / the same fields as carbon account, which computes now
    from the stored activity; for any data the two are equal."""
    from carbon.ledger import stored_result

    if bool(uscc) == bool(region):
        raise click.UsageError("请给出 --enterprise 或 --region 之一 / give exactly one of --enterprise or --region")
    from carbon.ledger import load_factors

    engine = _engine(ctx)
    result = stored_result(engine, year=year, enterprise=uscc, region=region, basis=basis)
    if as_json:
        _print_json(result.as_dict())
        return
    click.echo(format_result(result.as_dict(), load_factors(engine).set_index("id")))


def _carrier(carrier: str) -> str:
    """A carrier by its names: ``天然气 / natural gas``."""
    row = reference.carriers().loc[carrier]
    return f"{row['name_zh']} / {row['name_en']}"


def format_result(d: dict[str, Any], library: pd.DataFrame | None = None) -> str:
    """A result as readable tables, Chinese labels with English; without data, says so and why.  With the factor
    ``library`` (indexed by id), the factors each carrier used are described record by record."""
    subject = d["subject"]["id"]
    if d["subject"]["kind"] == "region":
        subject = f"{codes.area(subject, 'zh')} / {codes.area(subject, 'en')}"
    head = (
        f"{subject} {d['year']}年 核算口径/basis: {codes.bilingual('basis_short', d['basis'])}  "
        f"GWP: {d['gwp_set']}  "
        f"计算时间/as of: {beijing_time(d['as_of']) if d['as_of'] else '— (' + NO_DATA + ')'}"
    )
    flags = "\n".join(f"  - {describe(f)}" for f in d["flags"]) or "  (无 / none)"
    if not d["has_data"]:
        return f"{head}\n\n{NO_DATA}\n\n提示 / flags:\n{flags}"
    totals = render(
        ["项目 / item", "数值 / value"],
        [[fields.header(k), cell(k, d[k])] for k in ("total_tco2e", "scope1_tco2e", "scope2_tco2e", "energy_tce")],
        right=[1],
    )
    lines = render(
        headers("carrier", "quantity_canonical", "unit", "emissions_tco2e", "energy_tce", "factor_ids"),
        [
            [
                _carrier(c["carrier"]),
                cell("quantity_canonical", c["quantity_canonical"]),
                c["unit"],
                cell("emissions_tco2e", c["emissions_tco2e"]),
                cell("energy_tce", c["energy_tce"]),
                ", ".join(c["factor_ids"]),
            ]
            for c in d["by_carrier"]
        ],
        right=[1, 3, 4],
    )
    months = render(
        headers("month", "emissions_tco2e", "energy_tce"),
        [
            [f"{d['year']}年{m['month']}月", NO_DATA, ""]
            if m["emissions_tco2e"] is None
            else [
                f"{d['year']}年{m['month']}月",
                cell("emissions_tco2e", m["emissions_tco2e"]),
                cell("energy_tce", m["energy_tce"]),
            ]
            for m in d["by_month"]
        ],
        right=[1, 2],
    )
    reasons = "\n".join(
        f"  - {_carrier(c['carrier'])}: "
        + (factors_text(c["factor_ids"], library, "zh") if library is not None else "; ".join(c["factor_reasons"]))
        for c in d["by_carrier"]
    )
    return (
        f"{head}\n\n{totals}\n\n{lines}\n\n{months}\n\n因子选择 / factor choice:\n{reasons}\n\n提示 / flags:\n{flags}"
    )


@cli.group()
def factors() -> None:
    """排放因子库 / the factor library."""


@factors.command("list")
@click.option("--parameter", type=click.Choice(codes.codes("factor_parameter")), help="参数 / parameter")
@click.option("--carrier", type=click.Choice(tuple(reference.carriers().index)), help="能源品种 / energy carrier")
@json_option
@click.pass_context
def factors_list(ctx: click.Context, parameter: str | None, carrier: str | None, as_json: bool) -> None:
    """列出因子及其来源（正式引用）/ list factors with their sources (official citation)."""
    from carbon import sources
    from carbon.ledger import load_factors

    df = load_factors(_engine(ctx))
    if parameter:
        df = df.loc[df["parameter"] == parameter]
    if carrier:
        df = df.loc[df["carrier"] == carrier]
    if as_json:
        df = df.assign(source_kind=sources.kinds(df))
        _print_json(df.astype(object).where(df.notna(), None).to_dict("records"))
        return
    click.echo(
        render(
            headers("id", "value", "unit", "vintage", "status", "source"),
            [
                [
                    r.id,
                    f"{r.value:g}",
                    codes.label("unit", r.unit, "zh"),
                    "-" if r.vintage is None or r.vintage != r.vintage else int(r.vintage),
                    codes.bilingual("factor_status", r.status),
                    sources.citation(r._asdict(), "zh"),
                ]
                for r in df.itertuples(index=False)
            ],
            right=[1],
        )
    )


@cli.command()
@click.option("--year", type=YEAR, default=None, help="汇总年份 / year to summarise")
@json_option
@click.option("--no-dashboard", is_flag=True, help="只生成数据，不启动仪表板 / seed only, do not start the dashboard")
@click.option("--port", type=click.IntRange(1, 65535), default=8501, show_default=True)
@click.option(
    "--per-region",
    type=click.IntRange(1, 1000),
    default=None,
    help="每个区县的模拟企业数（默认100）；较小的演示生成更快 / simulated enterprises per jurisdiction (default 100); "
    "a smaller demo seeds faster",
)
@click.pass_context
def demo(
    ctx: click.Context, year: int | None, as_json: bool, no_dashboard: bool, port: int, per_region: int | None
) -> None:
    """生成模拟数据、输出汇总并启动仪表板 / seed a demo zone (模拟数据), print its summary, start the dashboard.

    Ctrl-C、SIGTERM 或 SIGHUP 停止本命令及其启动的仪表板服务 / Ctrl-C, SIGTERM or SIGHUP stop this command and the
    dashboard server it started.
    """
    from carbon_demo.seed import DEMO_URL, PER_REGION, run_demo

    url = ctx.obj["db"] or DEMO_URL
    summary = run_demo(url, year=year, per_region=per_region or PER_REGION)
    if as_json:
        _print_json(summary)
    else:
        from carbon_demo.seed import format_summary

        click.echo(format_summary(summary))
    if not no_dashboard and not as_json:
        _serve(url, port, "127.0.0.1")


def _serve(url: str, port: int, address: str) -> None:
    from dashboard.server import serve

    click.echo(
        f"\n仪表板 / dashboard: http://{address}:{port}  (数据库 / database {db.display_url(url)}; "
        "Ctrl-C 停止 / to stop)"
    )
    sys.exit(serve(url, port, address))


@cli.command()
@click.option("--port", type=click.IntRange(1, 65535), default=8501, show_default=True)
@click.option(
    "--address",
    default="127.0.0.1",
    show_default=True,
    help="监听地址；对外服务请放在HTTPS反向代理之后 / listen address; serve it to others behind an HTTPS reverse proxy",
)
@click.pass_context
def dashboard(ctx: click.Context, port: int, address: str) -> None:
    """启动仪表板 / start the dashboard on an existing database (accounts: carbon user add).

    Ctrl-C、SIGTERM 或 SIGHUP 停止本命令及其启动的仪表板服务 / Ctrl-C, SIGTERM or SIGHUP stop this command and the
    dashboard server it started.
    """
    from sqlalchemy import func, select

    from carbon.models import UserAccount

    engine = _engine(ctx)
    with engine.connect() as conn:
        accounts = conn.execute(select(func.count()).select_from(UserAccount)).scalar()
    if not accounts:
        click.echo(
            "提示：数据库中还没有账号，请先运行 carbon user add / note: no accounts yet; add one with carbon user add",
            err=True,
        )
    _serve(engine.url.render_as_string(hide_password=False), port, address)


@cli.group()
def stats() -> None:
    """统计数据（GDP、增加值、产值）/ official statistics."""


@stats.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@json_option
@click.pass_context
def stats_import(ctx: click.Context, file: Path, as_json: bool) -> None:
    """导入统计数据 / import GDP, value added or output value (all or nothing; revisions keep history)."""
    from carbon.stats import import_stats

    report = import_stats(_engine(ctx), file)
    if as_json:
        click.echo(json_text(report.as_dict()))
    else:
        click.echo(
            f"{file}: 读取/read {report.rows_read}, 新增或修订/stored {report.stored} (修订/revised "
            f"{report.revised}), 未变/unchanged {report.unchanged}"
            + (f", 批次/release {report.release_id}" if getattr(report, "release_id", None) else "")
        )
    for e in report.errors:
        click.echo(f"{file} 第{e.row}行/row {e.row}, {e.column} = {e.value!r}: {e.message}", err=True)
    if report.errors:
        sys.exit(2)


@cli.command()
@click.option("--year", required=True, type=YEAR)
@basis_option
@json_option
@click.pass_context
def grade(ctx: click.Context, year: int, basis: str, as_json: bool) -> None:
    """企业碳效码 / enterprise carbon-efficiency grades (1 best - 5 worst) for a year."""
    from carbon.analytics.grades import grade_year

    df = grade_year(_engine(ctx), year, basis)
    cols = [
        "uscc",
        "name",
        "region_id",
        "division_code",
        "division_name",
        "emissions_tco2e",
        "value_added_10k_cny",
        "status",
        "l_tco2e_per_10k_cny",
        "industry_l_tco2e_per_10k_cny",
        "k",
        "level",
        "grade",
    ]
    if as_json:
        _print_json(
            {
                "year": year,
                "basis": basis,
                "enterprises": df[cols].astype(object).where(df[cols].notna(), None).to_dict("records"),
            }
        )
        return
    click.echo(
        render(
            headers(
                "uscc",
                "name",
                "division_name",
                "emissions_tco2e",
                "value_added_10k_cny",
                "l_tco2e_per_10k_cny",
                "k",
                "level",
                "grade",
            ),
            [
                [
                    r.uscc,
                    r.name,
                    f"{r.division_code} {r.division_name}",
                    *(
                        cell(c, getattr(r, c))
                        for c in ("emissions_tco2e", "value_added_10k_cny", "l_tco2e_per_10k_cny", "k")
                    ),
                    "-" if pd.isna(r.level) else codes.bilingual("level", r.level),
                    "-" if pd.isna(r.grade) else r.grade,
                ]
                for r in df.itertuples()
            ],
            right=[3, 4, 5, 6, 8],
        )
    )


@cli.command()
@click.option("--region", required=True, type=REGIONS)
@click.option("--year", required=True, type=YEAR)
@basis_option
@json_option
@click.pass_context
def progress(ctx: click.Context, region: str, year: int, basis: str, as_json: bool) -> None:
    """双碳进展：监测企业总量与强度、地区目标及其状态、重点排放单位 / dual-carbon progress of a region."""
    from carbon import codes
    from carbon.analytics.progress import BAND_FIGURES, HEADLINE_FIGURES, target_state, target_title
    from carbon.analytics.progress import progress as region_progress

    p = region_progress(_engine(ctx), region, year, basis)
    if as_json:
        _print_json(p)
        return

    figures = [*HEADLINE_FIGURES, "gdp_10k_cny"]
    click.echo(f"{reference.regions().loc[region, 'name_zh']} {year}年 ({codes.bilingual('basis_short', basis)})")
    click.echo(
        "口径：监测企业的核算结果，不是地区排放总量；强度 = 监测企业排放（能耗）÷ 同一批企业的增加值。\n"
        "Coverage: the monitored enterprises' results, not the region's total; intensity = their emissions "
        "(energy) over the same enterprises' value added."
    )
    click.echo(
        render(
            ["项目 / item", "数值 / value"],
            [[fields.header(k), cell(k, p[k])] for k in figures]
            + [[fields.header("key_emitter_count"), cell("key_emitter_count", p["key_emitter_count"])]],
            right=[1],
        )
    )
    click.echo()
    click.echo(
        "地区目标按地区清单（能源活动）÷ 地区生产总值评估；无地区能源统计数据时无法评估，不用监测企业的合计代替；"
        "参考降幅为同一批监测企业单位增加值强度的变化。\n"
        "Regional targets are assessed on the regional inventory (energy activities) over GDP; without regional "
        "energy statistics they cannot be assessed, and the monitored enterprises' sums never stand in; the "
        "reference is the change of the same monitored enterprises' intensity per value added."
    )
    if p["inventory_emissions_tco2e"] is not None:
        click.echo(
            render(
                ["地区清单 / regional inventory", "数值 / value"],
                [[fields.header(k), cell(k, p[k])] for k in (
                    "inventory_emissions_tco2e", "inventory_energy_tce", "inventory_carbon_intensity_tco2e_per_10k_cny",
                    "inventory_energy_intensity_tce_per_10k_cny", *BAND_FIGURES)]
                + [[fields.header("inventory_status"), _stat_status(p["inventory_status"])],
                   [fields.header("inventory_releases"), ",".join(str(r) for r in p["inventory_releases"])]],
                right=[1],
            )
        )  # fmt: skip

    def reference_cell(t: dict) -> str:
        if t["monitored_achieved"] is None:
            return "-"
        n = t["monitored_achieved_enterprises"]
        return f"{cell('monitored_achieved', t['monitored_achieved'])} ({n}家 / {n} ent.)"

    def band_cell(t: dict) -> str:
        if t["intensity"] is None:
            return "-"
        digits = fields.digits(t["indicator"])
        low, high = (f"{t[k]:.{digits}f}" for k in ("intensity_lower", "intensity_upper"))
        return f"{t['intensity']:.{digits}f} [{low}–{high}] / {t['path_intensity']:.{digits}f}"

    click.echo(
        render(
            [
                *headers("target_title", "expected", "achieved"),
                "清单强度[较基年变化的95%区间] / 路径 / inventory intensity [95 % band of the change] / path",
                *headers("monitored_achieved", "target_status"),
            ],
            [
                [
                    target_title(t["id"], "zh"),
                    cell("expected", t["expected"]),
                    cell("achieved", t["achieved"]),
                    band_cell(t),
                    reference_cell(t),
                    f"{target_state(t['status'], t['reason'], 'zh')} / {target_state(t['status'], t['reason'], 'en')}",
                ]
                for t in p["targets"]
            ],
            right=[1, 2, 3, 4],
        )
    )


@cli.command()
@click.option("--region", required=True, type=REGIONS, help="区县或示范区 / jurisdiction or zone")
@click.option("--year", required=True, type=YEAR, help="年份 / year")
@basis_option
@click.option(
    "--restatement", is_flag=True, help="统计数据修订对清单的影响（按行业和品种）/ how a revision changed the inventory"
)
@click.option("--release", type=click.IntRange(1), help="与 --restatement 一起：哪一批修订（默认最新）/ which release")
@json_option
@click.pass_context
def inventory(
    ctx: click.Context, region: str, year: int, basis: str, restatement: bool, release: int | None, as_json: bool
) -> None:
    """地区温室气体清单（能源活动）：按行业和品种，附统计数据版本和方法 / regional inventory by sector and carrier."""
    from carbon.analytics import inventory as inv

    engine = _engine(ctx)
    if restatement:
        if region == "zone":
            raise click.UsageError("修订说明按区县给出，请选 qingpu、wujiang 或 jiashan / give a jurisdiction")
        table = inv.inventory_restatement(engine, region, year, basis, release)
        if as_json:
            _print_json({"region": region, "year": year, "basis": basis, "lines": _records(table)})
            return
        click.echo(f"{reference.regions().loc[region, 'name_zh']} {year}年 清单修订说明 / inventory restatement")
        if table.empty:
            click.echo("无修订 / no revision of this jurisdiction's statistics for the year")
            return
        click.echo(
            render(
                ["行业 / sector", "品种 / carrier", *headers("old_quantity_canonical", "new_quantity_canonical"),
                 "单位 / unit", *headers("old_emissions_tco2e", "new_emissions_tco2e", "difference_tco2e"),
                 "状态 / status", "批次 / release", "出处 / source"],
                [
                    [inv.sector_label(r.sector) + ("" if r.in_total else "（消费视角 / consumption view）"),
                     _carrier_name(r.carrier),
                     cell("old_quantity_canonical", r.old_quantity_canonical),
                     cell("new_quantity_canonical", r.new_quantity_canonical), r.unit,
                     cell("old_emissions_tco2e", r.old_emissions_tco2e),
                     cell("new_emissions_tco2e", r.new_emissions_tco2e), cell("difference_tco2e", r.difference_tco2e),
                     f"{_stat_status(r.old_status)} → {_stat_status(r.new_status)}",
                     f"{_release(r.old_release_id)} → {_release(r.new_release_id)}",
                     r.new_source if isinstance(r.new_source, str) else r.old_source]
                    for r in table.itertuples()
                ],
                right=[2, 3, 5, 6, 7],
            )
        )  # fmt: skip
        in_total = table["in_total"].astype(bool)
        click.echo(
            f"清单总量变化 / change of the inventory total: "
            f"{cell('difference_tco2e', float(table.loc[in_total, 'difference_tco2e'].sum()))} tCO2e"
        )
        if (~in_total).any():
            view = float(table.loc[~in_total, "difference_tco2e"].sum())
            click.echo(
                f"消费视角变化（电力、热力使用，不计入总量）/ change of the consumption view (electricity and heat "
                f"use, not in the total): {cell('difference_tco2e', view)} tCO2e"
            )
        return
    lines = inv.inventory_lines(engine, year, basis, [region])
    totals = inv.inventory_totals(engine, year, basis, [region])
    method = inv.method()
    if as_json:
        _print_json(
            {
                "region": region, "year": year, "basis": basis,
                "totals": _records(totals), "lines": _records(lines),
                "consumption_view": _records(inv.consumption_view(lines)) if len(lines) else [],
                "method": method.reset_index().to_dict("records"),
            }
        )  # fmt: skip
        return
    click.echo(
        f"{reference.regions().loc[region, 'name_zh']} {year}年 地区温室气体清单（能源活动） / regional inventory "
        f"({codes.bilingual('basis_short', basis)})"
    )
    g = method.loc["guideline"]
    click.echo(
        f"方法 / method: 《{g['document_title']}》（{g['document_number']}）能源活动部分："
        "各行业化石燃料燃烧 + 净调入电量 × "
        "电网排放因子；电力按当量值折标准煤 / fossil-fuel combustion by sector + net imported electricity x grid "
        "factor; electricity at its equivalent value (当量值)."
    )
    if lines.empty:
        click.echo(f"{NO_DATA}：{codes.bilingual('inventory_missing', 'no_regional_statistics')}")
        return

    def rows(part: pd.DataFrame) -> list[list[str]]:
        return [
            [inv.sector_label(r.sector, "zh", r.remainder), _carrier_name(r.carrier),
             codes.label("energy_flow", r.flow), cell("quantity_canonical", r.quantity_canonical), r.unit,
             cell("energy_tce", r.energy_tce), cell("emissions_tco2e", r.emissions_tco2e), _stat_status(r.status),
             _release(r.release_id)]
            for r in part.itertuples()
        ]  # fmt: skip

    head = ["行业 / sector", "品种 / carrier", "流向 / flow", *headers("quantity_canonical"), "单位 / unit",
            *headers("energy_tce", "emissions_tco2e"), "统计状态 / status", "批次 / release"]  # fmt: skip
    for region_id, own in lines.groupby("region_id", sort=False):
        if region == "zone":
            click.echo(f"\n{reference.regions().loc[region_id, 'name_zh']}")
        click.echo("计入清单总量 / in the inventory total:")
        click.echo(render(head, rows(own.loc[own["in_total"]]), right=[3, 5, 6]))
        view = own.loc[~own["in_total"]]
        if len(view):
            click.echo(
                "消费视角（全社会用电、用热按行业 × 因子，单独列示，不计入总量）/ consumption view (electricity and "
                "heat use by sector x factor; shown separately, not in the total):"
            )
            click.echo(render(head, rows(view), right=[3, 5, 6]))
    click.echo()
    click.echo(
        render(
            ["区域 / region", *headers("emissions_tco2e", "energy_tce", "fuel_combustion_tco2e",
                                       "net_import_electricity_tco2e"), "统计状态 / status", "批次 / releases"],
            [
                [reference.regions().loc[t.region_id, "name_zh"], cell("emissions_tco2e", t.emissions_tco2e),
                 cell("energy_tce", t.energy_tce), cell("fuel_combustion_tco2e", t.fuel_combustion_tco2e),
                 cell("net_import_electricity_tco2e", t.net_import_electricity_tco2e),
                 _stat_status(t.status) if t.status else codes.bilingual("inventory_missing", t.reason),
                 ",".join(str(r) for r in t.releases) or "-"]
                for t in totals.itertuples()
            ],
            right=[1, 2, 3, 4],
        )
    )  # fmt: skip
    sources = sorted(set(lines["source"]))
    click.echo("统计数据出处 / statistics sources: " + "; ".join(sources))
    flagged = list(dict.fromkeys(f for fl in lines["factor_flags"] for f in fl))
    click.echo("因子提示 / factor flags:")
    click.echo("\n".join(f"  - {describe(f)}" for f in flagged) or "  (无 / none)")


def _records(table: pd.DataFrame) -> list[dict]:
    """A table as JSON records, no data as null."""
    return table.astype(object).where(table.notna(), None).to_dict("records")


def _carrier_name(carrier: str) -> str:
    return str(reference.carriers().loc[carrier, "name_zh"])


def _stat_status(status: object) -> str:
    return "-" if not isinstance(status, str) else codes.label("statistics_status", status)


def _release(release: object) -> str:
    return "-" if release is None or (isinstance(release, float) and math.isnan(release)) else str(int(release))


@cli.command()
@click.option("--region", required=True, type=REGIONS)
@click.option("--from", "first", required=True, type=YEAR)
@click.option("--to", "last", required=True, type=YEAR)
@basis_option
@json_option
@click.pass_context
def decompose(ctx: click.Context, region: str, first: int, last: int, basis: str, as_json: bool) -> None:
    """排放变化因素分解（LMDI）/ why emissions changed: activity, structure, intensity, fuel mix, factors."""
    from carbon.analytics.decompose import EFFECTS, decompose_region

    effects = decompose_region(_engine(ctx), region, first, last, basis)
    if as_json:
        _print_json({"region": region, "from": first, "to": last, "basis": basis, "effects_tco2e": effects})
        return
    names = {
        "activity": "规模/activity",
        "structure": "结构/structure",
        "intensity": "能耗强度/intensity",
        "fuel_mix": "能源结构/fuel mix",
        "emission_factor": "排放因子/emission factor",
        "total": "合计/total",
    }
    click.echo(
        render(
            headers("effect", "effect_tco2e"),
            [[names[k], cell("effect_tco2e", effects[k])] for k in (*EFFECTS, "total")],
            right=[1],
        )
    )


@cli.command()
@click.option("--region", required=True, type=REGIONS)
@click.option("--from", "first", type=YEAR, default=2020, show_default=True)
@click.option("--to", "last", type=YEAR, default=None, help="最后一年 / last year (default: last year)")
@basis_option
@json_option
@click.pass_context
def peak(ctx: click.Context, region: str, first: int, last: int | None, basis: str, as_json: bool) -> None:
    """碳达峰研判 / whether and when a region's emissions peak, with a projection band."""
    from datetime import date

    from carbon.analytics.peak import estimate
    from carbon.analytics.progress import annual_totals

    last = last or date.today().year - 1  # noqa: DTZ011  (a calendar year, no time of day)
    annual = annual_totals(_engine(ctx), region, list(range(first, last + 1)), basis)["emissions_tco2e"]
    annual = annual.loc[annual > 0]
    e = estimate(annual, to_year=last + 5)
    out = {
        "region": region,
        "basis": basis,
        "status": e.status,
        "peak_year": e.peak_year,
        "slope_tco2e_per_year": e.slope_per_year,
        "annual": {int(y): float(v) for y, v in annual.items()},
        "projection": e.projection.to_dict("records"),
    }
    if as_json:
        _print_json(out)
        return
    slope = "slope_tco2e_per_year"
    name = reference.regions().loc[region, "name_zh"]
    status = codes.bilingual("peak_status", e.status)
    click.echo(f"{name}: {status} {e.peak_year or ''} ({fields.header(slope)}: {cell(slope, e.slope_per_year)})")
    projected = ["emissions_projected_tco2e", "emissions_projected_low_tco2e", "emissions_projected_high_tco2e"]
    click.echo(
        render(
            headers("year", "emissions_tco2e", *projected),
            [[y, cell("emissions_tco2e", v), "", "", ""] for y, v in out["annual"].items()]
            + [[int(r["year"]), "", *(cell(c, r[c]) for c in projected)] for r in out["projection"]],
            right=[1, 2, 3, 4],
        )
    )


@cli.command()
@click.option("--year", "years", type=YEAR, multiple=True, help="默认所有年份 / default: all")
@click.option(
    "--workers",
    type=click.IntRange(1),
    help="在本机启动N个Dask工作进程 / run on a local Dask cluster of N worker processes (default: in process)",
)
@click.option(
    "--scheduler",
    metavar="ADDRESS",
    help="连接Dask集群，如 tcp://host:8786 / a Dask cluster's scheduler (default: DASK_SCHEDULER_ADDRESS)",
)
@click.option(
    "--root",
    metavar="PATH",
    help="读数Parquet数据集位置 / the readings Parquet dataset (default: CARBON_PARQUET_ROOT; read when current)",
)
@json_option
@click.pass_context
def recalc(
    ctx: click.Context,
    years: tuple[int, ...],
    workers: int | None,
    scheduler: str | None,
    root: str | None,
    as_json: bool,
) -> None:
    """重新核算全部口径 / recalculate every basis; a changed result becomes a new version, nothing is overwritten.

    结果在数据或因子变化后已自动更新；本命令用于核对 / results follow every change by themselves; this checks it
    (a run that stores nothing new confirms the stored results are current).  按企业分桶在Dask上计算 / computed
    by buckets of enterprises on Dask: in process, on a local cluster (--workers) or a real one (--scheduler)."""
    from carbon import readings_dataset
    from carbon.ledger import recalc as run_recalc
    from carbon.partitioned import Partitioned, dask_client

    engine = _engine(ctx)
    if root:  # asked for by name: it must be there
        readings_dataset.require_manifest(root)
    where = readings_dataset.configured_root(root)
    with dask_client(workers, scheduler) as client:
        lines = Partitioned(client, root=where)
        source = lines.source(engine)[0]
        state = readings_dataset.stale_reason(engine, readings_dataset.read_manifest(where)) if where else None
        out = run_recalc(engine, years=list(years) or None, trigger="carbon recalc", compute_lines=lines)
    if state:
        click.echo(
            "注意 / note: 未使用Parquet数据集 / the Parquet dataset was not used: "
            f"{codes.bilingual('dataset_state', state)}; 已从数据库计算 / computed from the database",
            err=True,
        )
    _print_json({**out, "data": source, "dataset_state": state}) if as_json else click.echo(
        f"新版本/new runs {out['runs_stored']}, 未变/unchanged {out['unchanged']} (数据/data: {source})"
    )


@cli.command()
@click.option("--since", required=True, type=click.DateTime(["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S"]))
@basis_option
@json_option
@click.pass_context
def restatement(ctx: click.Context, since: datetime, basis: str, as_json: bool) -> None:
    """重述报告：旧值、新值、因子与活动数据各自的影响 / what changed since a date, and why."""
    from carbon.analytics.restatement import restatement as report

    df = report(_engine(ctx), since.replace(tzinfo=UTC) if since.tzinfo is None else since, basis)
    by_region = (
        df.groupby("region")[["old_tco2e", "new_tco2e", "difference_tco2e", "factor_part_tco2e", "activity_part_tco2e"]]
        .sum()
        .reset_index()
        if len(df)
        else df
    )
    if as_json:
        _print_json(
            {
                "since": since.isoformat(),
                "basis": basis,
                "enterprises": df.to_dict("records"),
                "regions": by_region.to_dict("records"),
            }
        )
        return
    cols = ["old_tco2e", "new_tco2e", "difference_tco2e", "factor_part_tco2e", "activity_part_tco2e"]
    click.echo(
        render(
            headers("enterprise", "year", *cols),
            [[r.enterprise, r.year, *(cell(c, getattr(r, c)) for c in cols)] for r in df.itertuples()],
            right=[2, 3, 4, 5, 6],
        )
    )


@factors.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.pass_context
def factors_import(ctx: click.Context, file: Path) -> None:
    """导入新发布的因子（与因子库同格式），并重新核算 / import a sourced factor release, then recalculate."""
    from carbon.factor_release import import_release
    from carbon.intake import settle

    engine = _engine(ctx)
    added = import_release(engine, file)
    out = settle(engine)
    click.echo(f"已导入 / imported {len(added)} 条因子 / records; 新版本/new runs {out['runs_stored']}")


def _connector_configs(path: Path | None) -> tuple[Path, dict]:
    from connectors.config import load_config

    path = path or Path(os.environ.get("CARBON_CONNECTORS", "connectors.toml"))
    return path, load_config(path)


CONFIG_OPTION = click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="连接器配置 / connector TOML (default: CARBON_CONNECTORS or connectors.toml)",
)


@cli.group()
def connectors() -> None:
    """数据接入连接器 / scheduled connectors."""


@connectors.command("list")
@CONFIG_OPTION
@json_option
@click.pass_context
def connectors_list(ctx: click.Context, config_path: Path | None, as_json: bool) -> None:
    """列出连接器及其健康状况 / list connectors with their health."""
    from connectors.state import health

    _, configs = _connector_configs(config_path)
    states = health(_engine(ctx)).set_index("name")
    rows = []
    for name, c in configs.items():
        st = states.loc[name] if name in states.index else None
        rows.append(
            {
                "name": name,
                "kind": c.kind,
                "every_seconds": c.every_seconds,
                "healthy": None if st is None else bool(st["healthy"]),
                "last_success_at": None if st is None else st["last_success_at"],
                "last_error": None if st is None else st["last_error"],
                "lag_seconds": None if st is None else st["lag_seconds"],
                "readings_stored": 0 if st is None else int(st["readings_stored"]),
                "watermark": None if st is None else st["watermark"],
            }
        )
    if as_json:
        _print_json(rows)
        return
    click.echo(
        render(
            headers("name", "kind", "every_seconds", "healthy", "last_success_at", "readings_stored", "last_error"),
            [
                [
                    r["name"],
                    r["kind"],
                    f"{r['every_seconds']:g}",
                    {None: "-", True: "是 yes", False: "否 NO"}[r["healthy"]],
                    str(r["last_success_at"] or "-")[:19],
                    r["readings_stored"],
                    (r["last_error"] or "")[:60],
                ]
                for r in rows
            ],
            right=[2, 5],
        )
    )


@connectors.command("run")
@click.argument("name")
@click.option("--once", is_flag=True, required=True, help="运行一次 / run once now")
@CONFIG_OPTION
@json_option
@click.pass_context
def connectors_run(ctx: click.Context, name: str, once: bool, config_path: Path | None, as_json: bool) -> None:
    """手动运行一个连接器 / run one connector by hand."""
    from connectors.runtime import run_once

    path, configs = _connector_configs(config_path)
    if name not in configs:
        raise InputError(f"配置中没有连接器 {name}", f"No connector named {name} in {path}", value=name)
    result = run_once(_engine(ctx), configs[name])
    summary = {k: v for k, v in result.__dict__.items() if k != "details"}
    if as_json:
        _print_json(summary)
    else:
        click.echo(" ".join(f"{k}={v}" for k, v in summary.items()))
    if not result.ok:
        sys.exit(1)


@cli.group()
def scheduler() -> None:
    """定时调度 / the persistent scheduler."""


@scheduler.command("run")
@CONFIG_OPTION
@click.pass_context
def scheduler_run(ctx: click.Context, config_path: Path | None) -> None:
    """启动调度器（任务存于项目数据库）/ start the scheduler; its job store is the project database."""
    from connectors.scheduler import run_scheduler

    path, _ = _connector_configs(config_path)
    _engine(ctx)
    run_scheduler(db.database_url(ctx.obj["db"]), path)


@cli.group()
def user() -> None:
    """用户账号（服务器上的管理员命令）/ dashboard user accounts (administrator commands on the server)."""


def _administrator() -> Any:
    """The CLI acts as zone staff, recorded in the audit log under the operating-system user running it."""
    import getpass

    from carbon.access import Viewer

    try:
        name = getpass.getuser()
    except (OSError, KeyError):
        name = "unknown"
    return Viewer(username=f"cli:{name}", role="zone")


@user.command("add")
@click.argument("username")
@click.option(
    "--role",
    required=True,
    metavar="zone|region|enterprise|display",
    help="角色 / role: zone, region, enterprise or display (大屏展示 / wall screen)",
)
@click.option(
    "--region",
    help="区域（region 角色：qingpu、wujiang、jiashan；display 角色另可为 zone）/ jurisdiction of a region user; "
    "scope of a display user: zone, qingpu, wujiang or jiashan",
)
@click.option("--enterprise", "uscc", help="统一社会信用代码（enterprise 角色）/ USCC of an enterprise user")
@click.option(
    "--password-stdin", is_flag=True, help="从标准输入读取一行作为密码 / read the password from one line of stdin"
)
@click.pass_context
def user_add(
    ctx: click.Context, username: str, role: str, region: str | None, uscc: str | None, password_stdin: bool
) -> None:
    """添加用户，密码只存 argon2id 哈希 / add a user; only the password's argon2id hash is stored.

    密码从 --password-stdin 读取，否则提示输入两次（不回显）。
    The password is read from stdin with --password-stdin, else prompted for twice without echo.
    """
    from carbon.users import MIN_PASSWORD_LENGTH, add_user, check_new_user

    engine = _engine(ctx)
    check_new_user(engine, username, role, region, uscc)  # refuse bad input before asking for the password
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt(
            f"密码（至少 {MIN_PASSWORD_LENGTH} 个字符）/ password (at least {MIN_PASSWORD_LENGTH} characters)",
            hide_input=True,
            confirmation_prompt="再次输入密码 / repeat the password",
        )
    viewer = add_user(engine, username, password, role, region=region, enterprise=uscc, actor=_administrator())
    scope = codes.area(viewer.region, "zh") if viewer.region else viewer.enterprise or "示范区 / whole zone"
    click.echo(f"已添加用户 / user added: {viewer.username} ({codes.bilingual('role', viewer.role)}; {scope})")


@user.command("list")
@json_option
@click.pass_context
def user_list(ctx: click.Context, as_json: bool) -> None:
    """列出全部用户 / list all users."""
    from carbon.users import list_users

    df = list_users(_engine(ctx), _administrator())
    if as_json:
        _print_json(df.assign(created_at=df["created_at"].map(lambda t: t.isoformat())).to_dict("records"))
        return
    click.echo(
        render(
            [
                *headers("username", "role", "region", "enterprise"),
                fields.header("created_at"),
                fields.header("status"),
            ],
            [
                [
                    r.username,
                    codes.bilingual("role", r.role),
                    codes.area(r.region, "zh") if not missing(r.region) else "-",
                    f"{r.enterprise} {r.enterprise_name}" if not missing(r.enterprise) else "-",
                    beijing_time(r.created_at),
                    "停用 / disabled" if r.disabled else "启用 / enabled",
                ]
                for r in df.itertuples()
            ],
        )
    )


@cli.group()
def cycle() -> None:
    """年度报送周期 / the annual reporting cycle."""


@cycle.command("open")
@click.argument("year", type=YEAR)
@click.option("--deadline", required=True, type=click.DateTime(["%Y-%m-%d"]), help="截止日期 / deadline (YYYY-MM-DD)")
@click.option(
    "--scope",
    type=click.Choice(("all", "key_emitters", "list")),
    default="all",
    show_default=True,
    help="报送范围 / who must report",
)
@click.option("--enterprise", "listed", multiple=True, help="名单中的企业（--scope list）/ a listed enterprise")
@click.option(
    "--basis",
    "bases",
    multiple=True,
    metavar="REGION=BASIS",
    help="区县的报告口径，覆盖默认 / a jurisdiction's basis of record (e.g. wujiang=local)",
)
@click.pass_context
def cycle_open(
    ctx: click.Context, year: int, deadline: Any, scope: str, listed: tuple[str, ...], bases: tuple[str, ...]
) -> None:
    """开启年度报送周期 / open the reporting cycle of a year."""
    from carbon.reporting import cycles

    given = dict(b.split("=", 1) if "=" in b else (b, "") for b in bases)
    engine = _engine(ctx)
    cycles.open_cycle(engine, _administrator(), year, deadline.date(), scope, list(listed), given)
    c = cycles.get_cycle(engine, year)
    must = cycles.cycle_enterprises(engine, c["id"])
    click.echo(
        f"已开启{year}年报送周期 / {year} reporting cycle opened: 截止 / deadline {c['deadline']}, "
        f"{codes.bilingual('cycle_scope', scope)}, {len(must)} 家企业 / enterprises"
    )
    for region, basis in c["bases"].items():
        click.echo(f"  {codes.area(region, 'zh')} / {codes.area(region, 'en')}: {codes.bilingual('basis', basis)}")


@cycle.command("status")
@click.argument("year", type=YEAR)
@json_option
@click.pass_context
def cycle_status(ctx: click.Context, year: int, as_json: bool) -> None:
    """报送状态：各区县各状态企业数、逾期企业 / the status board: counts by state and overdue enterprises."""
    from carbon.reporting import cycles

    board = cycles.status_board(_engine(ctx), _administrator(), year)
    counts = cycles.board_counts(board)
    if as_json:
        _print_json({"counts": counts.to_dict("records"), "enterprises": board.to_dict("records")})
        return
    c = cycles.get_cycle(_engine(ctx), year)
    days = (c["deadline"] - cycles.beijing_today()).days
    click.echo(
        f"{year}年报送 / {year} reporting: 截止 / deadline {c['deadline']} "
        f"({f'还有{days}天 / {days} days left' if days >= 0 else f'已过{-days}天 / {-days} days past'})"
    )
    click.echo(
        render(
            ["区县 / jurisdiction", *(codes.bilingual("submission_state", s) for s in cycles.STATES), "逾期 / overdue"],
            [
                [codes.area(r.region_id, "zh"), *(getattr(r, s) for s in cycles.STATES), r.overdue]
                for r in counts.itertuples()
            ],
            right=list(range(1, len(cycles.STATES) + 2)),
        )
    )
    late = board.loc[board["overdue"]]
    if len(late):
        click.echo("\n逾期企业 / overdue enterprises:")
        click.echo(
            render(
                headers("uscc", "name", "region_id", "state"),
                [
                    [r.uscc, r.name, codes.area(r.region_id, "zh"), codes.bilingual("submission_state", r.state)]
                    for r in late.itertuples()
                ],
            )
        )


@cli.command()
@click.option("--enterprise", "uscc", required=True, help="统一社会信用代码 / USCC")
@click.option("--year", required=True, type=YEAR)
@click.option("--declare", is_flag=True, help="确认报送声明 / make the report's declaration")
@json_option
@click.pass_context
def submit(ctx: click.Context, uscc: str, year: int, declare: bool, as_json: bool) -> None:
    """报送企业年度报告（冻结为新版本）/ submit an enterprise's annual report (a new frozen version)."""
    from carbon.reporting import submissions

    if not declare:
        raise click.UsageError(
            f"报送须确认声明，请加 --declare：{submissions.DECLARATION[0]} / submitting needs the declaration: add "
            f"--declare ({submissions.DECLARATION[1]})"
        )
    engine = _engine(ctx)
    sid = submissions.submit(engine, _administrator(), year, uscc.strip().upper(), declared=declare)
    sub = submissions.get_submission(engine, sid)
    if as_json:
        _print_json(
            {
                "id": sid,
                "version": sub.version,
                "state": sub.state,
                "basis": sub.basis,
                "total_tco2e": sub.total_tco2e,
                "result_sha256": sub.result_sha256,
            }
        )
        return
    click.echo(
        f"已报送 / submitted: 编号 / id {sid}, 第{sub.version}版 / version {sub.version}, "
        f"{codes.bilingual('basis', sub.basis)}, {cell('total_tco2e', sub.total_tco2e)} tCO2e"
    )


def _echo_state(sub: Any) -> None:
    """A version's state after a step: ``第2版：审核中 / in review``."""
    click.echo(f"第{sub.version}版：{codes.bilingual('submission_state', sub.state)}")


@cli.group()
def review() -> None:
    """审核年度报告 / review annual reports (as zone staff)."""


def _comment(text: str) -> Any:
    """``CARRIER:MONTH:METER:TEXT`` (month and meter may be empty) as a line comment."""
    from carbon.reporting.review import LineComment

    parts = text.split(":", 3)
    if len(parts) != 4:
        raise InputError(
            f"审核意见格式应为 能源品种:月份:表号:意见（月份和表号可空），而不是 {text!r}",
            f"A comment reads CARRIER:MONTH:METER:TEXT (month and meter may be empty), not {text!r}",
            value=text,
        )
    carrier, month, meter, words = (p.strip() for p in parts)
    if month and not month.isdigit():
        raise InputError(
            f"月份须为1至12的整数，而不是 {month!r}", f"The month must be 1 to 12, not {month!r}", value=month
        )
    return LineComment(words, carrier or None, int(month) if month else None, meter or None)


@review.command("start")
@click.argument("submission_id", type=int)
@click.pass_context
def review_start(ctx: click.Context, submission_id: int) -> None:
    """开始审核（此后企业不能撤回）/ start the review (the enterprise can no longer withdraw)."""
    from carbon.reporting import review as steps

    sub = steps.start_review(_engine(ctx), _administrator(), submission_id)
    _echo_state(sub)


@review.command("return")
@click.argument("submission_id", type=int)
@click.option("--comment", "comments", multiple=True, required=True, metavar="CARRIER:MONTH:METER:TEXT")
@click.pass_context
def review_return(ctx: click.Context, submission_id: int, comments: tuple[str, ...]) -> None:
    """退回报告并附逐行意见 / return a report with comments on its lines."""
    from carbon.reporting import review as steps

    sub = steps.return_submission(_engine(ctx), _administrator(), submission_id, [_comment(c) for c in comments])
    click.echo(
        f"第{sub.version}版：{codes.bilingual('submission_state', sub.state)}（{len(comments)} 条意见 / comments）"
    )


@review.command("approve")
@click.argument("submission_id", type=int)
@click.option("--note", help="审核说明 / a note")
@click.pass_context
def review_approve(ctx: click.Context, submission_id: int, note: str | None) -> None:
    """审核通过 / approve a report."""
    from carbon.reporting import review as steps

    sub = steps.approve(_engine(ctx), _administrator(), submission_id, note)
    _echo_state(sub)


@cli.group()
def verify() -> None:
    """现场核查：风险评分、抽取与核查结果 / on-site verification: risk scores, the draw and verified figures."""


@verify.command("scores")
@click.argument("year", type=YEAR)
@json_option
@click.pass_context
def verify_scores(ctx: click.Context, year: int, as_json: bool) -> None:
    """各报送的风险评分及理由 / every submission's risk score with its reasons."""
    from carbon.reporting import risk

    scored = risk.assess(_engine(ctx), _administrator(), year)
    if as_json:
        _print_json(scored.to_dict("records"))
        return
    click.echo(
        render(
            ["编号 / id", *headers("enterprise_uscc", "state"), "评分 / score", "理由 / reasons"],
            [
                [
                    r.submission_id,
                    r.enterprise_uscc,
                    codes.bilingual("submission_state", r.state),
                    f"{r.score:g}",
                    "；".join(z for _, z, _ in r.reasons) or "-",
                ]
                for r in scored.itertuples()
            ],
            right=[0, 3],
        )
    )


@verify.command("draw")
@click.argument("year", type=YEAR)
@click.option("--top", "top_n", type=click.IntRange(0, None), help="按评分抽取数 / the highest scores drawn")
@click.option("--share", type=click.FloatRange(0, 1), help="其余随机抽取比例 / random share of the rest")
@click.option(
    "--seed",
    type=click.IntRange(0, 2**63 - 1),
    help="随机种子（不给则生成并记录）/ seed (made and recorded if not given)",
)
@json_option
@click.pass_context
def verify_draw(
    ctx: click.Context, year: int, top_n: int | None, share: float | None, seed: int | None, as_json: bool
) -> None:
    """抽取现场核查对象并记录（可复现）/ draw submissions for on-site verification and record the draw."""
    from carbon.reporting import risk

    made = risk.record_draw(_engine(ctx), _administrator(), year, top_n, share, seed)
    if as_json:
        _print_json(made)
        return
    click.echo(
        f"抽取记录 / draw {made['id']}: 种子 / seed {made['seed']}, 前 / top {made['top_n']}, "
        f"随机比例 / random share {made['random_share']:g}"
    )
    click.echo(f"抽中报送编号 / submissions drawn: {', '.join(str(i) for i in made['selected']) or '-'}")


@verify.command("replay")
@click.argument("draw_id", type=int)
@click.pass_context
def verify_replay(ctx: click.Context, draw_id: int) -> None:
    """按记录的种子重做抽取并核对 / make a recorded draw again from its seed and compare."""
    from carbon.reporting import risk

    if not risk.replay_draw(_engine(ctx), draw_id):
        raise InputError(f"抽取 {draw_id} 无法复现", f"Draw {draw_id} does not come out the same", value=draw_id)
    click.echo(f"抽取 {draw_id} 可复现，结果一致 / draw {draw_id} comes out the same")


def _adjustment(text: str) -> Any:
    """``CARRIER:MONTH:DELTA_TCO2E:DELTA_TCE:REASON`` (month may be empty) as an adjustment."""
    from carbon.reporting.verification import Adjustment

    parts = [p.strip() for p in text.split(":", 4)]
    try:
        carrier, month, d_co2, d_tce, reason = parts
        return Adjustment(carrier, float(d_co2), reason, float(d_tce or 0), int(month) if month else None)
    except ValueError as exc:
        raise InputError(
            f"核查调整格式应为 能源品种:月份:排放变化tCO2e:能耗变化tce:理由，而不是 {text!r}",
            f"An adjustment reads CARRIER:MONTH:DELTA_TCO2E:DELTA_TCE:REASON, not {text!r}",
            value=text,
        ) from exc


@verify.command("record")
@click.argument("submission_id", type=int)
@click.option("--adjust", "adjustments", multiple=True, metavar="CARRIER:MONTH:DELTA_TCO2E:DELTA_TCE:REASON")
@click.option("--note", help="核查说明 / a note")
@click.pass_context
def verify_record(ctx: click.Context, submission_id: int, adjustments: tuple[str, ...], note: str | None) -> None:
    """录入核查结果（报告值与核查值都保留）/ record verified figures (reported and verified both kept)."""
    from carbon.reporting import verification

    engine = _engine(ctx)
    sub = verification.verify(engine, _administrator(), submission_id, [_adjustment(a) for a in adjustments], note)
    _echo_state(sub)


@cli.group()
def submission() -> None:
    """已报送的年度报告版本 / submitted versions of annual reports."""


@submission.command("list")
@click.option("--year", required=True, type=YEAR)
@click.option("--enterprise", "uscc", help="统一社会信用代码 / USCC")
@json_option
@click.pass_context
def submission_list(ctx: click.Context, year: int, uscc: str | None, as_json: bool) -> None:
    """列出报送版本（最新在前）/ list the submitted versions, newest first."""
    from carbon.reporting import submissions

    df = submissions.submissions(_engine(ctx), _administrator(), year, uscc)
    if as_json:
        _print_json(df.assign(submitted_at=df["submitted_at"].map(lambda t: t.isoformat())).to_dict("records"))
        return
    click.echo(
        render(
            ["编号 / id", *headers("enterprise_uscc", "version", "state", "basis", "submitted_at", "total_tco2e")],
            [
                [
                    r.id,
                    r.enterprise_uscc,
                    r.version,
                    codes.bilingual("submission_state", r.state),
                    codes.bilingual("basis_short", r.basis),
                    beijing_time(r.submitted_at),
                    cell("total_tco2e", r.total_tco2e),
                ]
                for r in df.itertuples()
            ],
            right=[0, 2, 6],
        )
    )


@submission.command("diff")
@click.argument("old_id", type=int)
@click.argument("new_id", type=int)
@json_option
@click.pass_context
def submission_diff(ctx: click.Context, old_id: int, new_id: int, as_json: bool) -> None:
    """比较同一企业的两个版本（逐能源品种、逐月）/ two versions side by side, per carrier and month."""
    from carbon.reporting import submissions

    diff = submissions.difference(_engine(ctx), _administrator(), old_id, new_id)
    changed = diff.loc[~(diff["change_tco2e"] == 0)]  # NaN (a line in one version only) counts as changed
    if as_json:
        _print_json(changed.to_dict("records"))
        return
    if changed.empty:
        click.echo("两个版本的核算结果相同 / the two versions have the same result lines")
        return
    click.echo(
        render(
            [*headers("carrier", "month"), "旧版 / old tCO2e", "新版 / new tCO2e", "变化 / change tCO2e"],
            [
                [
                    _carrier(r.carrier),
                    r.month,
                    cell("emissions_tco2e", r.emissions_tco2e_old),
                    cell("emissions_tco2e", r.emissions_tco2e_new),
                    cell("emissions_tco2e", r.change_tco2e),
                ]
                for r in changed.itertuples()
            ],
            right=[1, 2, 3, 4],
        )
    )


@submission.command("withdraw")
@click.argument("submission_id", type=int)
@click.pass_context
def submission_withdraw(ctx: click.Context, submission_id: int) -> None:
    """撤回待审核的版本 / withdraw a version waiting for review."""
    from carbon.reporting import submissions

    sub = submissions.withdraw(_engine(ctx), _administrator(), submission_id)
    _echo_state(sub)


@cli.group()
def evidence() -> None:
    """存证核验 / the evidence of submitted versions."""


@evidence.command("verify")
@click.argument("submission_id", type=int)
@json_option
@click.pass_context
def evidence_verify(ctx: click.Context, submission_id: int, as_json: bool) -> None:
    """按存档输入重新核算并核对哈希；不一致时退出码为1 / recompute from the archived inputs and check every hash;
    exit 1 when anything does not match."""
    from carbon.reporting import evidence as bundle

    report = bundle.check(_engine(ctx), _administrator(), submission_id)
    if as_json:
        _print_json(report)
    else:
        for c in report["checks"]:
            click.echo(f"{'✓' if c['ok'] else '✗'} {c['zh']} / {c['en']}")
        click.echo("存证核验通过 / evidence verified" if report["ok"] else "存证核验未通过 / evidence does NOT verify")
    if not report["ok"]:
        sys.exit(1)


@cli.group()
def report() -> None:
    """正式报告（XLSX与PDF）/ official reports (XLSX and PDF)."""


@report.command("submission")
@click.argument("submission_id", type=int)
@click.option(
    "--out",
    "folder",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("."),
    show_default=True,
    help="输出目录 / output folder",
)
@click.pass_context
def report_submission(ctx: click.Context, submission_id: int, folder: Path) -> None:
    """企业年度温室气体排放报告 / the enterprise's annual GHG report of a submitted version."""
    from carbon.reporting import documents

    engine = _engine(ctx)
    doc = documents.report(engine, _administrator(), submission_id)
    sub = documents.get_submission(engine, submission_id)
    paths = documents.write(doc, folder, f"report-{sub.enterprise_uscc}-v{sub.version}")
    for path in paths:
        click.echo(f"已生成 / written: {path}")


@report.command("region")
@click.argument("region", type=REGIONS)
@click.option("--year", required=True, type=YEAR)
@basis_option
@click.option(
    "--out",
    "folder",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("."),
    show_default=True,
    help="输出目录 / output folder",
)
@click.pass_context
def report_region(ctx: click.Context, region: str, year: int, basis: str, folder: Path) -> None:
    """示范区或区县的年度汇总报告（含图表）/ the zone's or a jurisdiction's annual summary, with its charts."""
    from carbon.reporting import documents
    from dashboard import reports  # the summary draws the dashboard's charts

    doc = reports.summary(_engine(ctx), _administrator(), region, year, basis)
    for path in documents.write(doc, folder, f"summary-{region}-{year}"):
        click.echo(f"已生成 / written: {path}")


@cli.group()
def reconcile() -> None:
    """对账：用其他来源核对企业数据 / reconciliation: enterprise data checked against other sources."""


def _kwh(value: Any) -> str:
    return "-" if value is None or pd.isna(value) else num(float(value), 0)


@reconcile.command("grid")
@click.option("--year", required=True, type=YEAR)
@jurisdiction_option
@click.option(
    "--all",
    "show_all",
    is_flag=True,
    help="列出所有账期，不只是不一致的 / every billing period, not only discrepancies",
)
@json_option
@click.pass_context
def reconcile_grid(ctx: click.Context, year: int, region: str | None, show_all: bool, as_json: bool) -> None:
    """电网账单电量与企业上报、物联网计量比对 / the utility's energy per account against uploads and IoT meters.

    每个户号和账期并列三个数：电网结算电量、企业上报、物联网计量（按时间折算到账期）；超出允许偏差的列为不一致。
    For each account and billing period, three figures side by side (the utility's, the uploads', the IoT meters',
    prorated to the billing period); differences beyond the tolerance are discrepancies.
    """
    from carbon.analytics.grid_reconciliation import COMPARISON_COLUMNS, crosses_year, grid_comparison
    from carbon.grid_accounts import accounts, mismatch_warning

    engine = _engine(ctx)
    table = grid_comparison(engine, year, [region] if region else None)
    shown = table if show_all else table.loc[table["discrepancy"]]
    held = accounts(engine)
    held = held.loc[held["account_id"].isin(table["account_id"])]
    spans = crosses_year(shown["period_start"], shown["period_end"]) if len(shown) else pd.Series(dtype=bool)
    if as_json:
        rows = shown[COMPARISON_COLUMNS].astype(object).where(shown.notna(), None)
        out = rows.assign(
            period_start=rows["period_start"].map(str),
            period_end=rows["period_end"].map(str),
            crosses_year=[bool(v) for v in spans],
            within_tolerance=[None if v is None or v is pd.NA else bool(v) for v in rows["within_tolerance"]],
        )
        _print_json(
            {
                "year": year,
                "region": region,
                "periods": len(table),
                "discrepancies": int(table["discrepancy"].sum()),
                "rows": out.to_dict("records"),
                "utility_warnings": [
                    {
                        "utility": r.utility,
                        "account_no": r.account_no,
                        "meter_region_ids": r.meter_region_ids,
                        "warning": " / ".join(mismatch_warning(r.utility, r.account_no, r.meter_region_ids)),
                    }
                    for r in held.loc[held["utility_mismatch"]].itertuples()
                ],
            }
        )
        return
    _utility_warnings(held)
    if shown.empty:
        click.echo(
            f"{year}年无不一致的账期（共 {len(table)} 个账期）/ no discrepancies in {year} "
            f"({len(table)} billing periods)"
            if not show_all
            else f"{year}年无电网账单 / no grid statements in {year}"
        )
        return
    click.echo(
        render(
            headers(
                "enterprise_uscc",
                "utility",
                "account_no",
                "period_start",
                "period_end",
                "utility_kwh",
                "upload_kwh",
                "metered_kwh",
                "tolerance_kwh",
                "upload_status",
                "metered_status",
            ),
            [
                [
                    r.enterprise_uscc,
                    codes.label("utility", r.utility),
                    r.account_no,
                    str(r.period_start),
                    f"{r.period_end}*" if cross else str(r.period_end),
                    _kwh(r.utility_kwh),
                    _kwh(r.upload_kwh),
                    _kwh(r.metered_kwh),
                    _kwh(r.tolerance_kwh),
                    codes.bilingual("grid_status", r.upload_status),
                    codes.bilingual("grid_status", r.metered_status),
                ]
                for r, cross in zip(shown.itertuples(), spans, strict=True)
            ],
            right=[5, 6, 7, 8],
        )
    )
    if spans.any():
        click.echo(
            f"* 跨年账期：整期比对，在{year}年和相邻年份中均列出，不拆分 / the billing period spans two years: "
            "compared whole, it appears in both years, never split"
        )
    click.echo(
        f"不一致 / discrepancies: {int(table['discrepancy'].sum())} / {len(table)} 个账期 billing periods；"
        f"“-”为无数据 / '-' is no data"
    )


def usage_zh(exc: click.ClickException) -> str:
    """The Chinese half of a usage error (click's own message is English): which option or argument, and what to
    do."""
    param = getattr(exc, "param", None)
    name = (param.opts[0] if param.opts else param.name) if param is not None else None
    if isinstance(exc, click.MissingParameter) and name:
        return f"缺少 {name}，请用 --help 查看用法"
    if isinstance(exc, click.BadParameter) and isinstance(param.type, click.Path):
        return f"{name} 给出的文件或目录不存在或无法读取，请检查路径"
    if isinstance(exc, click.BadParameter) and name:
        return f"{name} 的值无效，请用 --help 查看可选值"
    if isinstance(exc, click.NoSuchOption):
        return f"没有选项 {exc.option_name}，请用 --help 查看可用选项"
    return "命令用法有误，请用 --help 查看用法"


def _note(message: Warning | str, category: type[Warning], *args: Any, **kwargs: Any) -> None:
    """``warnings.showwarning`` for the CLI: a note on stderr, without the source line."""
    click.echo(f"注意 / note: {message}", err=True)


def main(argv: list[str] | None = None) -> None:
    """Entry point: maps errors to exit codes (2 bad input or usage, 1 internal error); a ``DerivedDataWarning``
    (the data stored, a dataset or cluster not used) is shown as a note on stderr."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("always", DerivedDataWarning)
            warnings.showwarning = _note
            cli.main(args=argv, prog_name="carbon", standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.Abort:
        sys.exit(1)
    except click.ClickException as exc:
        click.echo(f"错误 / error: {usage_zh(exc)} / {exc.format_message()}", err=True)
        sys.exit(2)
    except (InputError, FactorDataError) as exc:  # a factor file is input too
        click.echo(f"错误 / error: {exc.message}", err=True)
        sys.exit(2)
    except OperationalError as exc:
        click.echo(
            f"数据库无法连接或出错，请检查 --db 地址和数据库服务 / the database cannot be reached or failed; check the "
            f"--db URL and the database server: {str(exc.orig).strip().splitlines()[0]}",
            err=True,
        )
        sys.exit(1)
    except CarbonError as exc:
        click.echo(f"内部错误 / internal error: {exc.message}", err=True)
        sys.exit(1)
    except Exception as exc:
        if os.environ.get("CARBON_DEBUG"):
            raise
        click.echo(f"内部错误 / internal error: {type(exc).__name__}: {exc}", err=True)
        sys.exit(1)


def _coverage_of(ctx: click.Context, year: int, region: str | None, basis: str) -> dict[str, Any]:
    from carbon.analytics.coverage import reconciliation

    return reconciliation(_engine(ctx), year, basis, [region] if region else None)


def _sector_name(sector: str, remainder: bool = False) -> str:
    from carbon.analytics.inventory import sector_label

    return sector_label(sector, "zh", remainder=bool(remainder))


@cli.command()
@click.option("--year", required=True, type=YEAR)
@jurisdiction_option
@basis_option
@json_option
@click.pass_context
def coverage(ctx: click.Context, year: int, region: str | None, basis: str, as_json: bool) -> None:
    """监测企业对地区清单的覆盖率 / coverage of the regional inventory by the monitored enterprises.

    按区县、行业和能源品种：清单终端消费排放与能耗、监测企业之和及其比例；清单无此行时无覆盖率。
    Per jurisdiction, sector and carrier: the inventory's final use, the monitored enterprises' sum and its share;
    no coverage without an inventory line.
    """
    got = _coverage_of(ctx, year, region, basis)
    lines = got["coverage"].loc[got["coverage"]["year"] == year]
    totals = got["totals"].loc[got["totals"]["year"] == year]
    if as_json:
        _print_json(
            {"year": year, "basis": basis, "region": region, "totals": _records(totals), "lines": _records(lines)}
        )
        return
    if totals.empty:
        click.echo(
            f"{year}年无地区能源统计数据，无法计算覆盖率 / no regional energy statistics for {year}: no coverage"
        )
        return
    figures = (
        "inventory_tco2e",
        "monitored_tco2e",
        "coverage_emissions",
        "inventory_tce",
        "monitored_tce",
        "coverage_energy",
    )
    click.echo(
        render(
            ["区县 / jurisdiction", *headers(*figures)],
            [
                [reference.regions().loc[r.region, "name_zh"], *(cell(f, getattr(r, f)) for f in figures)]
                for r in totals.itertuples()
            ],
            right=[1, 2, 3, 4, 5, 6],
        )
    )
    click.echo(
        render(
            ["区县 / jurisdiction", "行业 / sector", "品种 / carrier", *headers(*figures), *headers("enterprises")],
            [
                [
                    reference.regions().loc[r.region, "name_zh"],
                    _sector_name(r.sector, r.remainder),
                    _carrier_name(r.carrier),
                    *(cell(f, getattr(r, f)) for f in figures),
                    cell("enterprises", r.enterprises),
                ]
                for r in lines.itertuples()
            ],
            right=[3, 4, 5, 6, 7, 8, 9],
        )
    )


@reconcile.command("topdown")
@click.option("--year", required=True, type=YEAR)
@jurisdiction_option
@basis_option
@json_option
@click.pass_context
def reconcile_topdown(ctx: click.Context, year: int, region: str | None, basis: str, as_json: bool) -> None:
    """地区清单（自上而下）与监测企业（自下而上）比对的预警 / alerts of the inventory against the enterprises.

    企业之和超过清单（不可能）、覆盖率较历史明显下降、统计数据无此行；每条列出差额和变化最大的企业。
    The enterprises' sum above the inventory (impossible), coverage well below its history, or no line in the
    statistics; each with the gap and the enterprises that moved most.
    """
    alerts = _coverage_of(ctx, year, region, basis)["alerts"]
    if as_json:
        _print_json({"year": year, "basis": basis, "region": region, "alerts": alerts})
        return
    if not alerts:
        click.echo(f"{year}年无预警 / no alerts for {year}")
        return
    for a in alerts:
        movers = "; ".join(
            f"{m['enterprise_uscc']} {'新进入 / new ' if m['new'] else ''}"
            f"{cell('change_tco2e', m['change_tco2e'])} tCO2e"
            for m in a["movers"]
        )
        click.echo(
            f"[{codes.bilingual('coverage_alert', a['kind'])}] {reference.regions().loc[a['region'], 'name_zh']} · "
            f"{_sector_name(a['sector'])} · {_carrier_name(a['carrier'])}: "
            f"{fields.header('inventory_tco2e')} {cell('inventory_tco2e', a['inventory_tco2e'])}, "
            f"{fields.header('monitored_tco2e')} {cell('monitored_tco2e', a['monitored_tco2e'])}, "
            f"{fields.header('coverage_emissions')} {cell('coverage_emissions', a['coverage_emissions'])}, "
            f"{fields.header('gap_tco2e')} {cell('gap_tco2e', a['gap_tco2e'])}\n"
            f"    {fields.header('movers')}: {movers or '-'}"
        )


@cli.command("export-parquet")
@click.option(
    "--root",
    metavar="PATH",
    help="数据集位置（目录或fsspec URL）/ dataset location, a directory or fsspec URL (default: CARBON_PARQUET_ROOT)",
)
@json_option
@click.pass_context
def export_parquet(ctx: click.Context, root: str | None, as_json: bool) -> None:
    """从数据库重建读数Parquet数据集（按年、月、区县分区）/ rebuild the readings Parquet dataset from the database.

    数据库仍是唯一的记录；导入后只更新涉及的分区 / the database stays the system of record; after this, every import
    updates only the partitions it touched (with CARBON_PARQUET_ROOT set)."""
    from tqdm import tqdm

    from carbon import readings_dataset

    where = readings_dataset.require_root(root)
    manifest = readings_dataset.export(
        _engine(ctx), where, progress=lambda months: tqdm(months, desc="导出 / exporting", unit="month", disable=None)
    )
    if as_json:
        _print_json({"root": where, **manifest.as_dict()})
        return
    click.echo(
        f"已导出 / exported {manifest.rows} 行 / rows, {len(manifest.partitions)} 个分区 / partitions → {where} "
        f"(版本 / version {manifest.version})"
    )


if __name__ == "__main__":
    main()
