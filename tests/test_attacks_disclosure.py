"""Attack suite, disclosure between jurisdictions: a jurisdiction's staff must not be able to work out single
enterprises of another jurisdiction, neither by differencing the cells they are shown against what they already
know, nor from what the data layer returns but the page does not show."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from carbon import reference, views
from carbon.access import Viewer
from carbon.analytics.disclosure import cells, primary, recoverable, suppression
from carbon.analytics.progress import parameters
from carbon.enterprises import add_enterprise
from carbon.errors import AccessDenied, CarbonError
from carbon.intake import receive_records
from tests.helpers import uscc

YEAR = 2024
ADMIN = {"qingpu": "310118", "wujiang": "320509", "jiashan": "330421"}
QP = Viewer("qp", "region", region="qingpu")
ZONE = Viewer("zone", "zone")
# industry -> sector: 2614 chemicals (industry), 3982 electronics (industry), 7010 real estate (services)
ENTERPRISES = [  # (serial, region, industry, kWh a month)
    (1, "qingpu", "2614", 90_000),
    (2, "qingpu", "2614", 80_000),
    (3, "wujiang", "2614", 70_000),  # the cell: 2 in Qingpu, 1 in Wujiang
    (4, "wujiang", "7010", 10_000),
    (5, "wujiang", "7010", 11_000),
    (6, "wujiang", "7010", 12_000),
    (7, "wujiang", "7010", 13_000),
    (8, "jiashan", "7010", 20_000),
    (9, "jiashan", "7010", 21_000),
    (10, "jiashan", "7010", 22_000),
    (11, "jiashan", "7010", 5_000_000),  # dominates its services cell; a key emitter (over 26,000 tCO2e)
    (12, "qingpu", "7010", 5_000),
    (13, "jiashan", "2614", 30_000),
    (14, "jiashan", "2614", 31_000),
    (15, "jiashan", "2614", 32_000),
]


def code(serial: int, region: str) -> str:
    return uscc(900 + serial, ADMIN[region])


@pytest.fixture(scope="module")
def small_zone(tmp_path_factory) -> Iterator[Any]:
    from carbon import db

    engine = db.make_engine(f"sqlite:///{tmp_path_factory.mktemp('disclosure') / 'zone.db'}")
    db.initialise(engine)
    rows = []
    for serial, region, industry, kwh in ENTERPRISES:
        c = code(serial, region)
        add_enterprise(engine, code=c, name=f"企业{serial}号", region=region, industry=industry)
        start = pd.Timestamp(year=YEAR, month=1, day=1, tz="Asia/Shanghai")
        rows.append(
            {
                "enterprise": c,
                "meter": "E1",
                "carrier": "electricity",
                "kind": "interval",
                "start": start.isoformat(),
                "end": (start + pd.DateOffset(years=1)).isoformat(),
                "value": float(kwh * 12),
                "unit": "kWh",
            }
        )
    receive_records(engine, pd.DataFrame(rows), "disclosure-test")
    yield engine
    engine.dispose()


def per_enterprise(engine) -> pd.DataFrame:
    table = views.enterprise_table(engine, ZONE, YEAR)
    ents = views.visible_enterprises(engine, ZONE).set_index("uscc")
    return table.assign(
        enterprise_uscc=table["uscc"],
        region=table["region_id"],
        sector=table["uscc"].map(ents["sector"]),
    )[["enterprise_uscc", "region", "sector", "emissions_tco2e", "energy_tce"]]


def test_differencing_a_small_cell_with_own_enterprises_is_refused(small_zone):
    """The issue's attack: the zone's chemicals cell has 3 enterprises, 2 of them Qingpu's; Qingpu staff subtract
    their own two and get the Wujiang enterprise's exact figure.  Now that cell is suppressed for Qingpu staff (and
    whatever would give it back by subtraction), and zone staff still see it."""
    ents = per_enterprise(small_zone).set_index("enterprise_uscc")
    theirs = ents.loc[code(3, "wujiang"), "emissions_tco2e"]
    zone_split = views.sector_split(small_zone, QP, "zone", YEAR).set_index("sector")
    own = views.sector_split(small_zone, QP, "qingpu", YEAR).set_index("sector")
    assert zone_split.loc["industry", "suppressed"] and pd.isna(zone_split.loc["industry", "emissions_tco2e"])
    # no published figure, minus what Qingpu knows, gives the Wujiang enterprise
    shown = [v for v in zone_split["emissions_tco2e"].dropna()] + [
        views.overview(small_zone, QP, r, YEAR)["headline"]["emissions_tco2e"] for r in ("zone", "wujiang")
    ]
    known = own["emissions_tco2e"].sum()
    for value in shown:
        for minus in (own.loc["industry", "emissions_tco2e"], known):
            assert not np.isclose(value - minus, theirs, rtol=1e-9), (value, minus)
    assert not views.sector_split(small_zone, ZONE, "zone", YEAR)["suppressed"].any()  # zone staff see all
    assert not own["suppressed"].any()  # nor is anything of Qingpu's own hidden from Qingpu


def test_a_dominated_cell_is_suppressed(small_zone):
    """Jiashan's services cell has 4 enterprises, one of them over 85 % of it: (n,k) dominance, n=2, k=0.85."""
    split = views.sector_split(small_zone, QP, "jiashan", YEAR).set_index("sector")
    assert split.loc["buildings_services", "enterprises"] == 4 and split.loc["buildings_services", "suppressed"]


def test_no_published_cell_gives_a_suppressed_one_back(small_zone):
    """Whatever the viewer, the suppressed cells of the whole table cannot be solved from the published ones."""
    for viewer in (QP, Viewer("wj", "region", region="wujiang"), Viewer("js", "region", region="jiashan")):
        table = suppression(per_enterprise(small_zone), [viewer.region], parameters())
        assert not recoverable(table, table["suppressed"]).any(), viewer.region
        assert table["suppressed"].any()


@pytest.fixture(scope="module")
def basis_zone(tmp_path_factory) -> Iterator[Any]:
    """Wujiang: one industrial enterprise (so its cell is hidden from Qingpu staff), three gas-heated service
    enterprises (3 x 15,000 m3, about 97.3 tCO2e on every basis) and three builders on electricity (3 x 54,500 kWh:
    95.3 tCO2e on the location basis, 99.7 on the market one).  The cell that protects the industrial one is the
    smallest of the other two: by emissions it would be the builders on one basis and the service cell on the other."""
    from carbon import db

    engine = db.make_engine(f"sqlite:///{tmp_path_factory.mktemp('bases') / 'zone.db'}")
    db.initialise(engine)
    start = pd.Timestamp(year=YEAR, month=1, day=1, tz="Asia/Shanghai")
    rows = []
    for serial, industry, carrier, value, unit in [
        (1, "2614", "electricity", 300_000, "kWh"),
        *[(10 + i, "7010", "natural_gas", 15_000, "m3") for i in range(3)],
        *[(20 + i, "4710", "electricity", 54_500, "kWh") for i in range(3)],
    ]:
        c = code(serial, "wujiang")
        add_enterprise(engine, code=c, name=f"吴江{serial}号", region="wujiang", industry=industry)
        rows.append(
            {
                "enterprise": c,
                "meter": "M1",
                "carrier": carrier,
                "kind": "interval",
                "start": start.isoformat(),
                "end": (start + pd.DateOffset(years=1)).isoformat(),
                "value": float(value),
                "unit": unit,
            }
        )
    receive_records(engine, pd.DataFrame(rows), "disclosure-test")
    yield engine
    engine.dispose()


def test_every_basis_hides_the_same_cells(basis_zone):
    """Energy is the same on every basis: if two bases hid different cells, a viewer could take each cell's energy
    from the basis that shows it and solve the rest.  One pattern, whatever the basis shown, and it protects."""
    from carbon.factor_choice import BASES

    patterns = {
        b: views.sector_split(basis_zone, QP, "wujiang", YEAR, b).set_index("sector")["suppressed"].sort_index()
        for b in BASES
    }
    assert patterns["location"]["industry"] and patterns["location"].sum() >= 2
    assert all(p.equals(patterns["location"]) for p in patterns.values()), patterns
    shown = pd.concat(
        [views.sector_split(basis_zone, QP, "wujiang", YEAR, b).set_index("sector")["energy_tce"] for b in BASES],
        axis=1,
    )
    assert shown.notna().any(axis=1).sum() <= len(shown) - 2  # on all bases together, two cells or more stay hidden


TABLES = st.lists(
    st.tuples(
        st.sampled_from(reference.JURISDICTIONS),
        st.sampled_from(["industry", "buildings_services", "construction", "transport"]),
        st.floats(1.0, 1e6),
    ),
    min_size=1,
    max_size=25,
)


@settings(max_examples=200, deadline=None, derandomize=True, database=None)
@given(TABLES, st.sampled_from(reference.JURISDICTIONS))
def test_suppression_holds_on_any_table(rows, viewer_region):
    """On random tables: every sensitive cell is suppressed, and no suppressed cell can be solved from the
    published ones unless no other hidden cell is left in its row and column to protect it."""
    contributions = pd.DataFrame(
        [
            {"enterprise_uscc": f"E{i}", "region": r, "sector": s, "emissions_tco2e": v, "energy_tce": v / 3}
            for i, (r, s, v) in enumerate(rows)
        ]
    )
    params = parameters()
    table = suppression(contributions, [viewer_region], params)
    sensitive = primary(
        cells(contributions, [viewer_region], int(params["disclosure_dominance_n"])),
        int(params["disclosure_min_hidden_enterprises"]),
        float(params["disclosure_dominance_k"]),
    )
    assert (table["suppressed"] | ~sensitive).all()
    regions = table.index.get_level_values("region")
    sectors = table.index.get_level_values("sector")
    for region, sector in table.index[recoverable(table, table["suppressed"])]:
        near = (table["hidden"] > 0) & ~table["suppressed"] & ((regions == region) | (sectors == sector))
        assert not near.any(), (region, sector)
    own = table.loc[regions == viewer_region]
    assert not own["suppressed"].any()


# --- the data layer returns only what the viewer may see ----------------------------------------------------------


def scalars(obj: Any) -> Iterator[Any]:
    """Every value inside a view's return: dicts, lists, frames (cells, index and column names), dataclasses."""
    if isinstance(obj, pd.DataFrame):
        yield from obj.columns
        yield from obj.index
        for col in obj.columns:
            yield from obj[col].tolist()
    elif isinstance(obj, pd.Series):
        yield from obj.index
        yield from obj.tolist()
    elif isinstance(obj, dict):
        for k, v in obj.items():
            yield k
            yield from scalars(v)
    elif isinstance(obj, list | tuple | set):
        for v in obj:
            yield from scalars(v)
    elif dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        yield from scalars(dataclasses.asdict(obj))
    else:
        yield obj


def calls(viewer: Viewer, region: str) -> dict[str, Any]:
    return {
        "overview": lambda e: views.overview(e, viewer, region, YEAR),
        "sector_split": lambda e: views.sector_split(e, viewer, region, YEAR),
        "compare_regions": lambda e: views.compare_regions(e, viewer, YEAR),
        "decomposition": lambda e: views.decomposition(e, viewer, region, YEAR - 1, YEAR),
        "alerts": lambda e: views.alerts(e, viewer, region, YEAR),
        "enterprise_table": lambda e: views.enterprise_table(e, viewer, YEAR, region=region),
        "completeness": lambda e: views.completeness(e, viewer, YEAR, region),
        "uploads": lambda e: views.uploads(e, viewer),
        "connector_health": lambda e: views.connector_health(e, viewer),
        "audit_log": lambda e: views.audit_log(e, viewer),
        "visible_enterprises": lambda e: views.visible_enterprises(e, viewer),
    }


@pytest.mark.parametrize("region", ["zone", *reference.JURISDICTIONS])
@pytest.mark.parametrize(
    "viewer",
    [
        Viewer("qp", "region", region="qingpu"),
        Viewer("wj", "region", region="wujiang"),
        Viewer("js", "region", region="jiashan"),
        Viewer("ent", "enterprise", enterprise=code(1, "qingpu")),
    ],
    ids=["qingpu-staff", "wujiang-staff", "jiashan-staff", "enterprise"],
)
def test_no_view_returns_another_jurisdictions_enterprises(small_zone, viewer, region):
    """Every view function, as every role, for every region: no code or name of an enterprise the viewer may not
    see one by one is anywhere in what it returns (not only on the page)."""
    ents = views.visible_enterprises(small_zone, ZONE)
    allowed = ents["region_id"] == viewer.region if viewer.role == "region" else ents["uscc"] == viewer.enterprise
    foreign = set(ents.loc[~allowed, "uscc"]) | set(ents.loc[~allowed, "name"])
    answered = 0
    for name, call in calls(viewer, region).items():
        try:
            out = call(small_zone)
        except AccessDenied:
            continue
        except CarbonError:  # e.g. no value added to decompose: a refusal returns nothing
            continue
        answered += 1
        leaked = {str(v) for v in scalars(out) if isinstance(v, str) and v in foreign}
        assert not leaked, (name, leaked)
    assert answered >= (8 if viewer.is_staff else 1)
