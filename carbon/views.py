"""What the dashboard shows, already scoped to the signed-in user (``carbon.access``).

Every function takes the ``Viewer`` first and refuses (``AccessDenied``) or filters before it returns anything, so
a page, a URL parameter or a download can never reach data the user may not see.  The functions only gather the
results of the engine and the analytics (``progress``, ``grades``, ``cube``, ``peak``, ``decompose``, ``ingest``);
figures carry their basis and the as-of time of the results they come from.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from typing import Any

import pandas as pd
from sqlalchemy import Engine, Row

from carbon import audit, codes, fields, reference
from carbon.access import (
    Viewer,
    aggregate_regions,
    full_regions,
    line_regions,
    require_enterprise,
    require_export,
    require_region,
    require_staff,
    require_writer,
    scope_regions,
)
from carbon.accounting import LOCAL_TZ
from carbon.analytics.completeness import completeness as enterprise_completeness
from carbon.analytics.completeness import coverage, data_as_of, overdue_after
from carbon.analytics.coverage import reconciliation as reconcile_coverage
from carbon.analytics.cube import build_cube, enterprise_results
from carbon.analytics.cube import data_version as inputs_version
from carbon.analytics.cube import keep_results as keep_read_results
from carbon.analytics.decompose import decompose_region
from carbon.analytics.disclosure import suppression
from carbon.analytics.grades import grade_year
from carbon.analytics.grid_reconciliation import grid_reconciliation
from carbon.analytics.inventory import sector_label  # noqa: F401  (for the pages)
from carbon.analytics.peak import estimate
from carbon.analytics.progress import (  # noqa: F401  (family_title, target_region, target_state, target_title: for the pages)
    BAND,
    BAND_FIGURES,
    HEADLINE_FIGURES,
    INVENTORY,
    MONITORED,
    TARGET_PATH_COLUMNS,
    applicable_targets,
    family_title,
    inventory_intensity,
    is_key_emitter,
    jurisdiction_targets,
    parameters,
    progress,
    progress_with_totals,
    region_gdp,
    target_path,
    target_progress,
    target_region,
    target_state,
    target_title,
)
from carbon.enterprises import get_enterprise, list_enterprises
from carbon.errors import AccessDenied, NotFoundError
from carbon.export import csv_bytes, csv_zip, xlsx_bytes
from carbon.factor_choice import BASES, check_choices
from carbon.grid_accounts import UTILITY_OF_PROVINCE, add_account, mismatch_warning, visible_accounts
from carbon.grid_statements import parameters as grid_parameters
from carbon.ingest import FileReport, Upload, history, read_files
from carbon.ingest.preview import preview_rows
from carbon.ingest.rejects import rejected_rows
from carbon.intake import receive_files, upload_detail
from carbon.ledger import current_lines, load_factors, newest_as_of
from carbon.ledger import result_years as stored_years
from carbon.models import Enterprise
from carbon.sites import list_sites, meter_sites
from carbon.stats import current_stats

# a site in another jurisdiction than its enterprise's registration, as ``cross_sites`` gives it
CROSS_SITE_COLUMNS = [
    "site_id", "site_name", "enterprise_uscc", "enterprise_name", "registered_region_id", "site_region_id", "meters",
    "emissions_tco2e", "energy_tce", "factor_ids",
]  # fmt: skip
# the ends of each inventory intensity's 95 % band, for the pages' charts
INTENSITY_BAND = BAND
# the monitored-enterprise intensity that stands for each regional intensity indicator, for the pages
MONITORED_INTENSITY = {indicator: column for indicator, (column, _) in MONITORED.items()}


def statistics_status_label(status: str | None, lang: str = "zh") -> str:
    """The status of regional statistics as a person reads it (快报（初步）, 最终, 修订), ``无数据`` for none."""
    return fields.NO_DATA[lang] if status is None else codes.label("statistics_status", status, lang)


def as_of(engine: Engine, basis: str = "location") -> pd.Timestamp | None:
    """Time of the newest stored result of a basis (UTC): the "as of" of every figure built from results."""
    return newest_as_of(engine, basis)


def data_version(engine: Engine) -> tuple:
    """What every figure here depends on (``carbon.analytics.cube.data_version``): the dashboard keeps a page's
    figures until it changes."""
    return inputs_version(engine)


def keep_results(store: dict) -> None:
    """Serve the stored results this thread or script run reads from ``store`` (a dict the caller keeps, one per
    server) while the ledger and the enterprise register are unchanged, instead of reading each year again for
    every figure (``carbon.analytics.cube.keep_results``).  The access rules apply as before: what is kept is
    read by the functions here, which scope it to the viewer."""
    keep_read_results(store)


def result_years(engine: Engine) -> list[int]:
    """Years that have stored results, oldest first."""
    return stored_years(engine)


def _enterprise(engine: Engine, viewer: Viewer, uscc: str) -> Enterprise:
    """The enterprise if the viewer may see it; an unknown code is refused the same way, revealing nothing.  Every
    refusal is audited (``audit.record_denied``), the same for an unknown code as for another's enterprise."""
    try:
        ent = get_enterprise(engine, uscc)
        require_enterprise(viewer, ent.uscc, ent.region_id)
    except (NotFoundError, AccessDenied):
        audit.record_denied(engine, viewer, "enterprise", uscc)
        raise AccessDenied(
            "无权查看该企业的数据", "Not allowed to see this enterprise's data", user=viewer.username
        ) from None
    return ent


def _enterprise_lines(engine: Engine, viewer: Viewer, uscc: str) -> tuple[Enterprise, list[str] | None]:
    """The enterprise and the jurisdictions whose lines of it the viewer may see (None: all; ``line_regions``):
    staff of a jurisdiction where it only has a site see that site's lines.  Refused (and audited) like
    ``_enterprise`` otherwise."""
    try:
        ent = get_enterprise(engine, uscc)
        sited = list(list_sites(engine, enterprise=ent.uscc)["region_id"])
        return ent, line_regions(viewer, ent.uscc, ent.region_id, sited)
    except (NotFoundError, AccessDenied):
        audit.record_denied(engine, viewer, "enterprise", uscc)
        raise AccessDenied(
            "无权查看该企业的数据", "Not allowed to see this enterprise's data", user=viewer.username
        ) from None


def default_year(engine: Engine, basis: str = "location", cache: dict | None = None) -> int | None:
    """The newest year with results in all twelve months (else the newest with any): what a page opens on, so a
    few early uploads for a new year do not replace the last complete year."""
    cube = build_cube(engine, basis, cache=cache)
    if not cube.sizes.get("time"):
        return None
    monthly = cube["emissions_tco2e"].sum(["region", "division", "carrier"]).to_series()
    months = (monthly > 0).groupby(monthly.index.year).sum()
    full = months[months == 12]
    return int(full.index.max() if len(full) else months.index.max())


def visible_enterprises(engine: Engine, viewer: Viewer) -> pd.DataFrame:
    """Registered enterprises the viewer may see one by one (name, region, division, sector)."""
    ents = list_enterprises(engine)
    if viewer.role == "enterprise":
        return ents.loc[ents["uscc"] == viewer.enterprise].reset_index(drop=True)
    return ents.loc[ents["region_id"].isin(full_regions(viewer))].reset_index(drop=True)


def site_enterprises(engine: Engine, viewer: Viewer) -> pd.DataFrame:
    """Enterprises registered in another jurisdiction that the viewer (staff of a jurisdiction) sees only through
    their sites in its scope: the columns of ``visible_enterprises`` and ``site_regions``, the jurisdictions of the
    viewer's scope they have sites in (the only ones whose lines it sees).  Empty for zone staff (who see every
    enterprise in full), enterprise users and display accounts."""
    regions = full_regions(viewer)
    ents = list_enterprises(engine)
    sites = list_sites(engine, regions=regions)
    sites = sites.loc[~sites["registered_region_id"].isin(regions)]
    where = sites.groupby("enterprise_uscc")["region_id"].agg(lambda r: sorted(set(r)))
    out = ents.loc[ents["uscc"].isin(where.index)].reset_index(drop=True)
    out["site_regions"] = out["uscc"].map(where)
    return out


def visible_sites(engine: Engine, viewer: Viewer, uscc: str | None = None) -> pd.DataFrame:
    """Sites the viewer may see (``carbon.sites.SITE_COLUMNS``), of one enterprise or all: an enterprise user its
    own; staff every site in their jurisdictions and every site of the enterprises registered there; zone staff
    all."""
    sites = list_sites(engine, enterprise=uscc)
    if viewer.role == "enterprise":
        return sites.loc[sites["enterprise_uscc"] == viewer.enterprise].reset_index(drop=True)
    regions = full_regions(viewer)
    seen = sites["region_id"].isin(regions) | sites["registered_region_id"].isin(regions)
    return sites.loc[seen].reset_index(drop=True)


# --- overview and regions -------------------------------------------------------------------------------------


def _annual(cube_region: Any) -> pd.DataFrame:
    """Yearly totals (NaN for a year without any result: no data, not zero) and the number of months with results."""
    ds = cube_region.sum(["region", "division", "carrier"], min_count=1)
    df = ds[["emissions_tco2e", "energy_tce"]].to_dataframe()
    out = df.groupby(df.index.year).sum(min_count=1).rename_axis("year")
    out["months_with_results"] = (df["emissions_tco2e"] > 0).groupby(df.index.year).sum()
    return out


def overview(
    engine: Engine, viewer: Viewer, region: str, year: int, basis: str = "location", cache: dict | None = None
) -> dict[str, Any]:
    """Headline indicators of the monitored enterprises (``progress``: totals, their intensity over their own value
    added, the state of every applicable regional target), the trend with the peak band, the monitored
    enterprises' intensity by year with each target's straight path from its base-year value as a reference, and
    splits by jurisdiction and sector.  ``inventory_annual``: the region's inventory and its intensities over GDP
    by year (``carbon.analytics.progress.inventory_intensity``, NaN without statistics); ``inventory_paths``: the
    straight path of every target assessed on the inventory, from its base-year inventory intensity."""
    check_choices(basis, year)
    require_region(viewer, region)
    cube = build_cube(engine, basis, cache=cache)
    parts = reference.region_ids(region)
    in_region = cube.sel(region=[r for r in parts if r in cube["region"].values])
    annual = _annual(in_region)
    annual = annual.loc[annual.index <= year]
    head, totals = progress_with_totals(engine, region, year, basis, years=[int(y) for y in annual.index])
    # the count is an aggregate; the list (codes and figures) only of enterprises the viewer may see one by one
    visible = set(visible_enterprises(engine, viewer)["uscc"])
    head["key_emitters"] = [k for k in head["key_emitters"] if k["enterprise_uscc"] in visible]
    monitored = [name for name, _ in MONITORED.values()]
    annual = annual.join(totals[["monitored_value_added_10k_cny", "enterprises_with_value_added", *monitored]])
    horizon = max((t["target_year"] for t in head["targets"]), default=None)
    peak = estimate(
        annual.loc[annual["months_with_results"] == 12, "emissions_tco2e"], to_year=horizon
    )  # whole years only
    paths = []
    for t in head["targets"]:  # a regional target's rate applied to the monitored enterprises: a reference
        name = MONITORED[t["indicator"]][0]
        paths.append(target_path({**t, "indicator": name}, annual[name].get(t["base_year"])))
    paths = [p for p in paths if len(p)]
    # the region's own intensity on its inventory, and the straight path of every target assessed on it
    inventory = inventory_intensity(
        engine, region, sorted({*annual.index.astype(int), *(t["base_year"] for t in head["targets"])}), basis
    )
    inventory_paths = [
        target_path(
            {**t, "indicator": INVENTORY[t["indicator"]]}, inventory[INVENTORY[t["indicator"]]].get(t["base_year"])
        )
        for t in head["targets"]
        if t["assessed_on"] == "inventory"
    ]
    year_cube = cube.sel(time=cube["time"].dt.year == year)
    by_region = year_cube.sum(["time", "division", "carrier"], min_count=1)[["emissions_tco2e", "energy_tce"]]
    by_region = by_region.to_dataframe()  # NaN: a jurisdiction without data that year
    by_region = by_region.loc[by_region.index.isin(parts)]
    sector = sector_split(engine, viewer, region, year, basis)
    return {
        "region": region,
        "year": year,
        "basis": basis,
        "as_of": as_of(engine, basis),
        "headline": head,
        "annual": annual.reset_index(),
        "target_paths": pd.concat(paths, ignore_index=True) if paths else pd.DataFrame(columns=TARGET_PATH_COLUMNS),
        "inventory_annual": inventory.drop(columns="inventory_releases").reset_index(),
        "inventory_paths": (
            pd.concat(inventory_paths, ignore_index=True)
            if inventory_paths
            else pd.DataFrame(columns=TARGET_PATH_COLUMNS)
        ),
        "peak": peak,
        "by_region": by_region.reset_index(),
        "by_sector": sector,
    }


def contributions(engine: Engine, year: int, basis: str) -> pd.DataFrame:
    """Each enterprise's energy and its emissions on every basis for ``year`` (``emissions_tco2e`` on ``basis``):
    what cell suppression weighs, so that the cells hidden are the same whichever basis is shown."""
    keys = ["enterprise_uscc", "region", "sector"]
    per_basis = {
        b: enterprise_results(engine, b, years=[year]).groupby(keys)[["emissions_tco2e", "energy_tce"]].sum()
        for b in BASES
    }
    out = per_basis[basis][["emissions_tco2e", "energy_tce"]].copy()
    for b in BASES:
        out[f"emissions_tco2e_{b}"] = per_basis[b]["emissions_tco2e"].reindex(out.index)
    return out.reset_index()


def sector_split(engine: Engine, viewer: Viewer, region: str, year: int, basis: str = "location") -> pd.DataFrame:
    """Emissions and energy by sector of a region (or the zone); cells that would let the viewer work out single
    enterprises of another jurisdiction are suppressed, against what the viewer already sees and with
    complementary cells (``carbon.analytics.disclosure``)."""
    check_choices(basis, year)
    require_region(viewer, region)
    table = suppression(contributions(engine, year, basis), full_regions(viewer), parameters())
    regions = table.index.get_level_values("region")
    out = table.xs(region, level="region") if region in regions else table.droplevel("region").iloc[0:0]
    out = out[["emissions_tco2e", "energy_tce", "enterprises", "suppressed"]].copy()  # the figures of ``basis``
    out.loc[out["suppressed"], ["emissions_tco2e", "energy_tce"]] = float("nan")
    out["sector_zh"] = out.index.map(reference.sectors()["name_zh"])
    return out.sort_values("emissions_tco2e", ascending=False).rename_axis("sector").reset_index()


FIGURES_COMPARED = [*HEADLINE_FIGURES, "gdp_10k_cny"]
TARGETS_COMPARED = [
    "region", "indicator", "target_year", "target", "target_region", "base_year", "reduction", "qualifier",
    "target_status", "reason", "assessed_on", "achieved", "expected", "monitored_achieved",
    "monitored_achieved_enterprises",
]  # fmt: skip


def compare_regions(engine: Engine, viewer: Viewer, year: int, basis: str = "location") -> dict[str, pd.DataFrame]:
    """The three jurisdictions side by side (aggregates only), like with like.

    ``figures``: one row per jurisdiction, the monitored enterprises' totals and their intensities over their own
    value added (``FIGURES_COMPARED``, with ``key_emitter_count``).  ``targets``: per family of targets (indicator
    and target year), one row per jurisdiction with the target that applies to it (its own, else its province's,
    else the national one: ``jurisdiction_targets``), its status (on the regional inventory; ``not_assessable`` with
    its ``reason`` without it), the reduction its path expects by the year and the monitored enterprises' own reduction
    for reference (``TARGETS_COMPARED``; ``target`` is the id, worded by ``target_title``).
    """
    check_choices(basis, year)
    figures, rows = [], []
    for region in reference.JURISDICTIONS:
        require_region(viewer, region)
        p = progress(engine, region, year, basis)
        figures.append({"region": region, **{k: p[k] for k in FIGURES_COMPARED}})
        figures[-1]["key_emitter_count"] = p["key_emitter_count"]
        for t in jurisdiction_targets(p["targets"], region):
            rows.append(
                {
                    **{k: t[k] for k in TARGETS_COMPARED if k in t},
                    "region": region,
                    "target": t["id"],
                    "target_region": t["region"],
                    "target_status": t["status"],
                }
            )
    targets = pd.DataFrame(rows, columns=TARGETS_COMPARED)
    indicators = list(MONITORED)[::-1]  # energy intensity, then carbon intensity
    key = [
        (indicators.index(i), y, reference.JURISDICTIONS.index(r))
        for i, y, r in targets[["indicator", "target_year", "region"]].itertuples(index=False)
    ]
    targets = targets.iloc[sorted(range(len(targets)), key=key.__getitem__)]
    return {"figures": pd.DataFrame(figures), "targets": targets.reset_index(drop=True)}


def decomposition(
    engine: Engine, viewer: Viewer, region: str, year0: int, year1: int, basis: str = "location"
) -> dict[str, float]:
    """LMDI effects (tCO2e) of the change of a region's emissions between two years."""
    check_choices(basis, year0, year1)
    require_region(viewer, region)
    return decompose_region(engine, region, year0, year1, basis)


# --- enterprises ----------------------------------------------------------------------------------------------


def enterprise_table(
    engine: Engine, viewer: Viewer, year: int, basis: str = "location", region: str | None = None
) -> pd.DataFrame:
    """Visible enterprises with emissions, energy, intensity, grade, key-emitter mark and data completeness.

    For staff of a jurisdiction, the enterprises registered elsewhere with a site in it follow (``sites_only``
    True): their emissions and energy are those of their sites in the viewer's jurisdictions only, and their
    whole-enterprise figures (value added, intensity, grade, key-emitter mark, completeness) are not shown (NaN)."""
    check_choices(basis, year)
    ents = visible_enterprises(engine, viewer).assign(sites_only=False)
    regions = full_regions(viewer)
    if region and region != "zone":
        ents = ents.loc[ents["region_id"] == region]
    if not region or region == "zone" or region in regions:
        partial = site_enterprises(engine, viewer)
        ents = pd.concat([ents, partial.drop(columns="site_regions").assign(sites_only=True)], ignore_index=True)
    res = enterprise_results(engine, basis, years=[year])
    res = res.loc[res["enterprise_uscc"].isin(ents["uscc"])]
    only = set(ents.loc[ents["sites_only"], "uscc"])
    res = res.loc[~res["enterprise_uscc"].isin(only) | res["region"].isin(regions)]  # their sites here only
    totals = res.groupby("enterprise_uscc")[["emissions_tco2e", "energy_tce"]].sum()
    va = current_stats(engine, "value_added", year).set_index("subject_id")["value_10k_cny"]
    grades = grade_year(engine, year, basis).set_index("uscc")
    cov = coverage(engine, year, regions=list(ents["region_id"].unique()))
    out = ents.set_index("uscc")[["name", "region_id", "division_code", "division_name", "sector_zh"]].copy()
    # an enterprise without results for the year has no figures (NaN, shown as "no data"), never 0
    out["emissions_tco2e"] = totals["emissions_tco2e"].reindex(out.index)
    out["energy_tce"] = totals["energy_tce"].reindex(out.index)
    out["has_results"] = out["emissions_tco2e"].notna()
    out["value_added_10k_cny"] = va.reindex(out.index)
    out["carbon_intensity_tco2e_per_10k_cny"] = out["emissions_tco2e"] / out["value_added_10k_cny"]
    out["grade"] = grades["grade"].reindex(out.index)
    out["key_emitter"] = (
        is_key_emitter(out["emissions_tco2e"], out["energy_tce"]).astype("boolean").where(out["has_results"])
    )
    out["completeness"] = cov.reindex(out.index).mean(axis=1).fillna(0.0)
    out["sites_only"] = ents.set_index("uscc")["sites_only"].reindex(out.index).astype(bool)
    whole = ["value_added_10k_cny", "carbon_intensity_tco2e_per_10k_cny", "grade", "key_emitter", "completeness"]
    for col in whole:  # figures of the whole enterprise: not for staff who see only its sites in their jurisdiction
        out[col] = out[col].where(~out["sites_only"])
    return out.sort_values("emissions_tco2e", ascending=False).rename_axis("uscc").reset_index()


def enterprise_detail(engine: Engine, viewer: Viewer, uscc: str, year: int, basis: str = "location") -> dict[str, Any]:
    """One enterprise: monthly emissions by carrier, its sites with their figures, its meters (with their site),
    its uploads and their reports, and the factors used.

    ``sites_only`` is a list of jurisdictions when the viewer (staff of a jurisdiction where the enterprise is not
    registered) sees only its sites there: then every figure is of those sites' lines, its meters are those
    sites', and its uploads (files of the whole enterprise) are not shown; None when the viewer sees it all."""
    check_choices(basis, year)
    ent, regions = _enterprise_lines(engine, viewer, uscc)
    res = enterprise_results(engine, basis, years=[year])
    res = res.loc[res["enterprise_uscc"] == ent.uscc]
    if regions is not None:
        res = res.loc[res["region"].isin(regions)]
    monthly = res.pivot_table(index="month", columns="carrier", values="emissions_tco2e", aggfunc="sum").reindex(
        range(1, 13)
    )
    meters = history.meters(engine, ent.uscc).merge(
        meter_sites(engine, ent.uscc)[["meter_code", "site_id", "site_name", "region_id"]], on="meter_code", how="left"
    )
    if regions is not None:
        meters = meters.loc[meters["region_id"].isin(regions) & meters["site_id"].notna()].reset_index(drop=True)
    files = uploads(engine, viewer, ent.uscc) if regions is None else history.batches(engine, []).iloc[0:0]
    return {
        "uscc": ent.uscc,
        "name": ent.name,
        "region": ent.region_id,
        "division": ent.division_code,
        "basis": basis,
        "year": year,
        "as_of": as_of(engine, basis),
        "sites_only": regions,
        "monthly": monthly,
        "sites": site_figures(ent, visible_sites(engine, viewer, ent.uscc), res, regions),
        "meters": meters,
        "uploads": files,
        "factors": factors_used(engine, viewer, ent.uscc, year, basis),
    }


SITE_FIGURE_COLUMNS = ["site_id", "site_name", "region_id", "meters", "emissions_tco2e", "energy_tce"]


def site_figures(ent: Enterprise, sites: pd.DataFrame, lines: pd.DataFrame, regions: list[str] | None) -> pd.DataFrame:
    """Per site of an enterprise (``SITE_FIGURE_COLUMNS``), and a row with ``site_id`` NaN and ``site_name`` None
    for its meters on no site (counted where it is registered) when it has lines of them: tCO2e and tce of
    ``lines`` (its result lines of a year, already scoped), NaN for a site without results (no data, not 0).
    ``regions``: the jurisdictions the viewer sees its sites in (None: all).  Pure."""
    if regions is not None:
        sites = sites.loc[sites["region_id"].isin(regions)]
    sums = lines.groupby("site_id", dropna=False)[["emissions_tco2e", "energy_tce"]].sum()
    out = sites.rename(columns={"name": "site_name"})[["site_id", "site_name", "region_id", "meters"]]
    out = out.astype({"site_id": "float64"})
    if sums.index.isna().any():
        none = pd.DataFrame([{"site_id": float("nan"), "site_name": None, "region_id": ent.region_id, "meters": pd.NA}])
        out = pd.concat([out, none], ignore_index=True) if len(out) else none
    out["emissions_tco2e"] = out["site_id"].map(sums["emissions_tco2e"]).astype(float)
    out["energy_tce"] = out["site_id"].map(sums["energy_tce"]).astype(float)
    if sums.index.isna().any():
        out.loc[out["site_id"].isna(), ["emissions_tco2e", "energy_tce"]] = sums.loc[sums.index.isna()].to_numpy()
    return out[SITE_FIGURE_COLUMNS].reset_index(drop=True)


def uploads(engine: Engine, viewer: Viewer, enterprise: str | None = None) -> pd.DataFrame:
    """Upload history (one row per file): of one enterprise, or of every enterprise the viewer may see."""
    if enterprise:
        codes = [_enterprise(engine, viewer, enterprise).uscc]
    else:
        codes = list(visible_enterprises(engine, viewer)["uscc"])
    return history.batches(engine, codes)


def _batch(engine: Engine, viewer: Viewer, batch_id: int) -> Row:
    """A batch of an enterprise the viewer may see; an unknown batch is refused the same way."""
    row = history.batch_owner(engine, batch_id)
    if row is None:
        audit.record_denied(engine, viewer, "batch", batch_id)
        raise AccessDenied("无权查看该批次", "Not allowed to see this batch", user=viewer.username)
    _enterprise(engine, viewer, row.enterprise_uscc)
    return row


def rejected(engine: Engine, viewer: Viewer, batch_id: int) -> pd.DataFrame:
    """The refused rows of a batch the viewer may see, as sent, with their reasons."""
    _batch(engine, viewer, batch_id)
    return rejected_rows(engine, batch_id)


def batch_report(engine: Engine, viewer: Viewer, batch_id: int) -> dict[str, Any]:
    """The validation report of an upload as its uploader saw it (empty for uploads stored before reports were)."""
    row = _batch(engine, viewer, batch_id)
    return json.loads(row.report_json) if row.report_json else {}


# --- uploads --------------------------------------------------------------------------------------------------


def preview_upload(engine: Engine, viewer: Viewer, enterprise: str, files: list[Upload]) -> list[FileReport]:
    """Read and check uploads for an enterprise without storing anything (rows, errors and warnings by row); refused
    to read-only (display) accounts like every step of an upload."""
    require_writer(viewer)
    enterprise = _enterprise(engine, viewer, enterprise).uscc
    reports = read_files(engine, files, enterprise)
    audit.record(engine, viewer, "upload_preview", upload_detail(reports), enterprise=enterprise)
    return reports


def upload_rows(report: FileReport, taken: Collection[str] = ()) -> pd.DataFrame:
    """The first rows of a file ``preview_upload`` read, as the user wrote them under the file's own headers, each
    with its outcome, the period read (Beijing time) and, for rows of many readings, their number
    (``carbon.ingest.preview.preview_rows``; ``taken``: the names the caller shows those columns under)."""
    return preview_rows(report, taken=taken)


def confirm_upload(engine: Engine, viewer: Viewer, enterprise: str, files: list[Upload]) -> list[FileReport]:
    """Store the valid rows of uploads (refused rows kept to download and fix) and recalculate the enterprise;
    refused to read-only (display) accounts."""
    require_writer(viewer)
    enterprise = _enterprise(engine, viewer, enterprise).uscc
    return receive_files(engine, files, enterprise, actor=viewer, action="upload_confirm", accept_valid=True)


# --- data quality, factors, targets and alerts ----------------------------------------------------------------


def completeness(engine: Engine, viewer: Viewer, year: int, region: str | None = None) -> pd.DataFrame:
    """Per visible enterprise (``uscc``, ``name``): its ``completeness_state`` for the year (``complete``;
    ``pending``: complete up to each meter's last bill, the next not yet due; ``gaps``: due time without data;
    ``no_data``: nothing in the year though data was due) and, in columns 1–12, the share of each month's due time
    its meters cover (NaN where nothing was due yet).  Judged by each meter's own cadence as of
    ``completeness_basis`` (``carbon.analytics.completeness``)."""
    check_choices(None, year)
    ents = visible_enterprises(engine, viewer)
    if region and region != "zone":
        ents = ents.loc[ents["region_id"] == region]
    table = enterprise_completeness(engine, year, list(ents["uscc"]))
    table.insert(0, "name", ents.set_index("uscc")["name"].reindex(table.index))
    return table.reset_index()


def completeness_basis(engine: Engine) -> dict[str, Any]:
    """How completeness is judged: ``as_of`` (aware, Asia/Shanghai), the end of the newest stored reading and not
    later than now, and ``bill_overdue_after_days``, how long after it is expected a meter's next bill becomes a
    gap (``carbon/data/analytics_parameters.csv``, a project default)."""
    return {
        "as_of": data_as_of(engine).tz_localize(LOCAL_TZ),
        "bill_overdue_after_days": overdue_after() / pd.Timedelta(days=1),
    }


def completeness_summary(engine: Engine, viewer: Viewer, year: int) -> pd.DataFrame:
    """Data completeness as aggregates, one row per jurisdiction of the viewer's scope (``scope_regions``), so a
    wall can show it without naming an enterprise.

    Columns: ``region``, ``registered_enterprises`` (enterprises registered in the jurisdiction),
    ``complete_enterprises`` (those whose data are complete for ``year`` as far as it was due: state ``complete`` or
    ``pending`` of ``completeness``), and months ``1``–``12``: the average over those enterprises of the share of the
    month's due time covered (0–1; an enterprise without data where data was due counts 0; NaN where nothing was
    due yet).
    """
    check_choices(None, year)
    regions = scope_regions(viewer)
    for region in regions:
        require_region(viewer, region)
    ents = list_enterprises(engine)
    ents = ents.loc[ents["region_id"].isin(regions)]
    months = list(range(1, 13))
    table = enterprise_completeness(engine, year, list(ents["uscc"]))
    table["region"] = ents.set_index("uscc")["region_id"].reindex(table.index)
    rows = []
    for region in regions:
        part = table.loc[table["region"] == region]
        rows.append(
            {
                "region": region,
                "registered_enterprises": len(part),
                "complete_enterprises": int(part["completeness_state"].isin(["complete", "pending"]).sum()),
                **{m: float(part[m].mean()) if len(part) else float("nan") for m in months},
            }
        )
    return pd.DataFrame(rows, columns=["region", "registered_enterprises", "complete_enterprises", *months])


def grid_agreement(engine: Engine, viewer: Viewer, year: int) -> dict[str, pd.DataFrame]:
    """Grid data against enterprise data for the accounts the viewer may see (staff: those counting in their
    jurisdictions, where the account's meters are, and those of the enterprises registered there; an enterprise:
    its own; a display account: refused): ``enterprises`` (agreement per enterprise and jurisdiction,
    with its name), ``meters`` (agreement per meter) and ``discrepancies`` (the billing periods beyond the tolerance
    with the three figures), as ``carbon.analytics.grid_reconciliation`` computes them from the stored rows."""
    if viewer.role != "enterprise":
        require_staff(viewer)
    table, per_meter, per_enterprise = grid_reconciliation(engine, year)
    ents = list_enterprises(engine).set_index("uscc")
    regions = full_regions(viewer)
    registered = ents.index[ents["region_id"].isin(regions)]

    def visible(df: pd.DataFrame) -> pd.DataFrame:
        """An enterprise its own; staff, as with sites, the accounts that count in their jurisdictions and those of
        the enterprises registered there."""
        if viewer.role == "enterprise":
            keep = df["enterprise_uscc"] == viewer.enterprise
        else:
            keep = df["enterprise_uscc"].isin(registered) | df["region_id"].isin(regions)
        return df.loc[keep].reset_index(drop=True)

    table, per_meter, per_enterprise = (visible(df) for df in (table, per_meter, per_enterprise))
    names = ents["name"]
    per_enterprise.insert(1, "name", per_enterprise["enterprise_uscc"].map(names))
    return {
        "enterprises": per_enterprise.sort_values(["agreement_share", "enterprise_uscc"], na_position="last"),
        "meters": per_meter,
        "discrepancies": table.loc[table["discrepancy"]].reset_index(drop=True),
    }


def grid_accounts(engine: Engine, viewer: Viewer, enterprise: str) -> dict[str, Any]:
    """An enterprise's utility accounts (户号) as the enterprise itself or staff of its jurisdiction see them
    (``carbon.grid_accounts.ACCOUNT_COLUMNS``), its electricity meters that are behind none yet (``free_meters``)
    and its province's grid company (``utility``, the default of a new account); ``utility_warnings`` (Chinese,
    English) per account whose utility is not the grid company of the province its meters count in."""
    ent = _enterprise(engine, viewer, enterprise)
    own = visible_accounts(engine, viewer)
    own = own.loc[own["enterprise_uscc"] == ent.uscc].reset_index(drop=True)
    meters = meter_sites(engine, ent.uscc)
    taken = {m for ms in own["meter_codes"] for m in ms}
    free = [m for m in meters.loc[meters["carrier"] == "electricity", "meter_code"] if m not in taken]
    province = reference.regions().loc[ent.region_id, "province"]
    warnings = [
        mismatch_warning(r.utility, r.account_no, r.meter_region_ids)
        for r in own.loc[own["utility_mismatch"]].itertuples()
    ]
    return {
        "accounts": own,
        "free_meters": free,
        "utility": UTILITY_OF_PROVINCE[province],
        "utility_warnings": warnings,
    }


def register_grid_account(
    engine: Engine, viewer: Viewer, enterprise: str, utility: str, account: str, meters: list[str]
) -> dict[str, Any]:
    """Register a utility account of ``enterprise`` with the meters behind it, by the enterprise itself or staff of
    its jurisdiction (``carbon.grid_accounts.add_account``: an account another enterprise has claimed is refused)."""
    _enterprise(engine, viewer, enterprise)
    return add_account(engine, viewer, enterprise=enterprise, utility=utility, account=account, meters=meters)


def grid_tolerance() -> tuple[float, float]:
    """The tolerance of the grid comparison (project defaults): relative to the utility's figure, and its floor in
    kWh."""
    p = grid_parameters()
    return float(p["grid_relative_tolerance"]), float(p["grid_absolute_tolerance_kwh"])


def reconciliation(engine: Engine, viewer: Viewer, year: int, basis: str = "location") -> dict[str, Any]:
    """Top-down against bottom-up for the jurisdictions the viewer sees in full (staff only): ``coverage`` (per
    jurisdiction, year, inventory sector and carrier: the inventory's final use, the monitored enterprises' sum and
    the coverage of emissions and energy, for ``year`` and the three years before), ``totals`` (the same per
    jurisdiction and year) and ``alerts`` of ``year`` (exceeds, coverage_drop, unmatched; each with the enterprises
    that moved most in its line, by code and name), as ``carbon.analytics.coverage.reconciliation`` computes them."""
    require_staff(viewer)
    check_choices(basis, year)
    regions = [r for r in full_regions(viewer) if r in reference.JURISDICTIONS]
    got = reconcile_coverage(engine, year, basis, regions)
    names = list_enterprises(engine).set_index("uscc")["name"]
    for alert in got["alerts"]:
        for mover in alert["movers"]:
            mover["name"] = names.get(mover["enterprise_uscc"])
    return got


def cross_sites(engine: Engine, viewer: Viewer, year: int, basis: str = "location") -> pd.DataFrame:
    """Sites in another jurisdiction than their enterprise's registration (跨区域厂区) that the viewer sees (staff
    only; ``visible_sites``), with the year's figures that count where each site is: ``site_id``, ``site_name``,
    ``enterprise_uscc``, ``enterprise_name``, ``registered_region_id``, ``site_region_id``, ``meters``,
    ``emissions_tco2e``, ``energy_tce`` (NaN without results: no data) and ``factor_ids`` (the factor records its
    lines used, by province)."""
    require_staff(viewer)
    check_choices(basis, year)
    sites = visible_sites(engine, viewer)
    sites = sites.loc[sites["region_id"] != sites["registered_region_id"]]
    columns = ["site_id", "emissions_tco2e", "energy_tce", "factor_ids"]
    owners = sorted(set(sites["enterprise_uscc"]))
    lines = current_lines(engine, basis, years=[year], enterprises=owners, columns=columns)
    sums = lines.groupby("site_id")[["emissions_tco2e", "energy_tce"]].sum()
    used = lines.groupby("site_id")["factor_ids"].agg(lambda ids: "; ".join(sorted(set(ids))))
    out = sites.rename(columns={"name": "site_name", "region_id": "site_region_id"})
    out = out.assign(
        emissions_tco2e=out["site_id"].map(sums["emissions_tco2e"]).astype(float),
        energy_tce=out["site_id"].map(sums["energy_tce"]).astype(float),
        factor_ids=out["site_id"].map(used),
    )
    return out[CROSS_SITE_COLUMNS].reset_index(drop=True)


def simulated(engine: Engine, viewer: Viewer) -> bool:
    """Whether every enterprise registered in the regions whose totals the viewer sees is a demo enterprise (its
    name ends with "（模拟）"): a yes or no any signed-in user may know, so a wall labels simulated data too."""
    ents = list_enterprises(engine)
    ents = ents.loc[ents["region_id"].isin(aggregate_regions(viewer))]
    return bool(len(ents)) and bool(ents["name"].str.endswith("（模拟）").all())


def connector_health(engine: Engine, viewer: Viewer) -> pd.DataFrame:
    """Connector health (staff only): last run, last success, last error, the newest reading, its lag behind now
    (``lag_seconds``, also while the connector fails) and counts."""
    require_staff(viewer)
    from connectors.state import health

    return health(engine)


def factor_library(engine: Engine) -> pd.DataFrame:
    """The stored factor library with sources, vintages, bases and status (public data)."""
    cols = [
        "id", "parameter", "carrier", "region", "vintage", "basis", "gas", "value", "unit", "status",
        "publisher", "document_title", "document_number", "published_on", "valid_from", "valid_to", "source_url",
    ]  # fmt: skip
    lib = load_factors(engine)
    return lib[[c for c in cols if c in lib.columns]]


def factors_used(engine: Engine, viewer: Viewer, uscc: str, year: int, basis: str = "location") -> pd.DataFrame:
    """Per carrier, the factor records the newest result of an enterprise and year used, and why (of its sites in
    the viewer's jurisdictions only, for staff who see it only through them)."""
    check_choices(basis, year)
    ent, regions = _enterprise_lines(engine, viewer, uscc)
    lines = current_lines(engine, basis, years=[year], enterprises=[ent.uscc], regions=regions)
    if lines.empty:
        return pd.DataFrame(columns=["carrier", "factor_ids", "factor_reason", "months"])
    return (
        lines.groupby(["carrier", "factor_ids", "factor_reason"])["month"]
        .agg(lambda m: ",".join(str(x) for x in sorted(m)))
        .rename("months")
        .reset_index()
    )


def alerts(engine: Engine, viewer: Viewer, region: str, year: int, basis: str = "location") -> dict[str, Any]:
    """The applicable regional targets with their sources and state (``progress``: on the regional inventory, not
    assessable without it); enterprises behind the reference path; missing submissions.

    The reference path is the straight path of the region's nearest carbon-intensity target (the earliest target
    year; of those the most local: the region's own, its province's, the national one), ``target_used``.  An
    enterprise is behind it when its own carbon intensity (tCO2e per 10^4 CNY of its value added) has fallen less
    than that path expects by ``year``: a comparison of the enterprise's own figure with the regional rate, not an
    assessment of the regional target.
    """
    check_choices(basis, year)
    require_region(viewer, region)
    head = progress(engine, region, year, basis)
    table = enterprise_table(engine, viewer, year, basis, region)
    province = reference.regions().loc[region, "province"] if region != "zone" else None
    rank = {region: 0, province: 1, "CN": 2}
    carbon = applicable_targets(region)
    carbon = carbon.loc[carbon["indicator"] == "carbon_intensity_tco2e_per_10k_cny"]
    target = min(carbon.itertuples(), key=lambda t: (int(t.target_year), rank.get(t.region, 3)), default=None)
    behind = pd.DataFrame(columns=["uscc", "achieved", "expected", "status", "name", "region_id"])
    table = table.loc[~table["sites_only"]]  # an enterprise's own intensity: of those seen in full only
    if target is not None and len(table):
        base = int(target.base_year)
        res = enterprise_results(engine, basis, years=[base, year])
        res = res.loc[res["enterprise_uscc"].isin(table["uscc"])]
        em = res.groupby(["enterprise_uscc", "year"])["emissions_tco2e"].sum().unstack("year")
        va = pd.concat(
            {y: current_stats(engine, "value_added", y).set_index("subject_id")["value_10k_cny"] for y in (base, year)},
            axis=1,
        )
        intensity = (em / va.reindex(em.index)).dropna()
        rows = []
        for uscc, series in intensity.iterrows():
            tp = target_progress(
                series, base, int(target.target_year), float(target.reduction_percent) / 100, year,
                parameters()["at_risk_share"],
            )  # fmt: skip
            if tp["status"] in ("off_track", "at_risk"):
                rows.append(
                    {"uscc": uscc, "achieved": tp["achieved"], "expected": tp["expected"], "status": tp["status"]}
                )
        if rows:
            behind = pd.DataFrame(rows).merge(table[["uscc", "name", "region_id"]], on="uscc")
            behind = behind.sort_values("achieved").reset_index(drop=True)
    cov = completeness(engine, viewer, year, region)
    months = [c for c in cov.columns if isinstance(c, int)]
    reported = [m for m in months if cov[m].max() > 0]  # months someone in scope has reported
    missing = cov.loc[(cov[reported] == 0).any(axis=1)] if reported else cov.iloc[0:0]
    missing = missing.assign(
        missing_months=missing[reported].eq(0).apply(lambda r: ",".join(str(m) for m, v in r.items() if v), axis=1)
    )[["uscc", "name", "missing_months"]]
    targets = pd.DataFrame(head["targets"])
    if "inventory_releases" in targets:  # a table cell holds text: the release ids joined
        targets["inventory_releases"] = targets["inventory_releases"].map(lambda rs: ", ".join(map(str, rs)) or None)
    return {
        "targets": targets,
        "target_used": None if target is None else target.id,
        "behind": behind,
        "missing": missing.reset_index(drop=True),
        "as_of": as_of(engine, basis),
    }


def export_file(viewer: Viewer, tables: dict[str, pd.DataFrame], fmt: str) -> bytes:
    """The view's tables as ``xlsx`` (one sheet each), ``csv`` (a ZIP of CSVs) or ``csv_single`` (the first table);
    formula-like cells escaped.  The tables come from the functions above, already scoped to the viewer; a
    read-only (display) account is refused (``AccessDenied``) before any file is made."""
    require_export(viewer)
    if fmt == "xlsx":
        return xlsx_bytes(tables)
    if fmt == "csv_single":
        return csv_bytes(next(iter(tables.values())))
    return csv_zip(tables)


def record_export(engine: Engine, viewer: Viewer, page: str, fmt: str, tables: dict[str, pd.DataFrame]) -> None:
    """Audit an export: who, which view, which format, how many rows per table (a display account is refused)."""
    require_export(viewer)
    audit.record(
        engine, viewer, "export", {"page": page, "format": fmt, "rows": {k: len(v) for k, v in tables.items()}}
    )


def audit_log(engine: Engine, viewer: Viewer, limit: int = 1000) -> pd.DataFrame:
    """The audit log the viewer may see (staff only)."""
    return audit.audit_log(engine, viewer, limit=limit)


def regions_for(viewer: Viewer) -> list[str]:
    """Regions the viewer may pick on the overview (zone first)."""
    return aggregate_regions(viewer)
