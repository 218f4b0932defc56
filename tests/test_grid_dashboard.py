"""The data-quality page shows each enterprise's agreement with the grid and its discrepancies, by label, to the
staff of its jurisdiction only."""

from __future__ import annotations

import pandas as pd
import pytest

from carbon import db
from carbon.access import Viewer
from carbon.grid_accounts import add_account
from carbon.intake import receive_grid_statements
from tests.test_dashboard_app import open_page, sign_in
from tests.zone_fixture import A, C, build


@pytest.fixture(scope="module")
def grid_zone(tmp_path_factory):
    folder = tmp_path_factory.mktemp("gridzone")
    url = build(f"sqlite:///{folder / 'zone.db'}", folder)
    engine = db.make_engine(url)
    zone = Viewer("zone1", "zone")
    add_account(engine, zone, enterprise=A, utility=None, account="3100800001", meters=["E-01"])
    add_account(engine, zone, enterprise=C, utility=None, account="3200800002", meters=["E-01"])
    row = {"account_name": "", "unit": "kWh", "issued_at": "2024-06-01T00:00:00+08:00"}
    statements = pd.DataFrame(
        [  # A's meter reads 485,000 kWh a month in 2024, C's 388,000
            {
                **row,
                "utility": "sgcc_shanghai",
                "account": "3100800001",
                "period_start": "2024-03-01",
                "period_end": "2024-04-01",
                "energy": 485_000,
            },
            {
                **row,
                "utility": "sgcc_shanghai",
                "account": "3100800001",
                "period_start": "2024-04-01",
                "period_end": "2024-05-01",
                "energy": 520_000,
            },
            {
                **row,
                "utility": "sgcc_jiangsu",
                "account": "3200800002",
                "period_start": "2024-04-01",
                "period_end": "2024-05-01",
                "energy": 300_000,
            },
        ]
    )
    assert receive_grid_statements(engine, statements, "test").stored == 3
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CARBON_DATABASE_URL", url)
        yield engine


def grid_tables(at) -> list[pd.DataFrame]:
    return [df.value for df in at.dataframe if "agreement_share" in df.value or "utility_kwh" in df.value]


def test_jurisdiction_staff_see_their_enterprises_agreement_and_discrepancies(grid_zone):
    at = open_page(sign_in("qp-staff"), "quality")
    agreement, discrepancies = grid_tables(at)
    assert list(agreement["enterprise_uscc"]) == [A]  # not C, of Wujiang
    assert agreement.iloc[0]["agreement_share"] == pytest.approx(0.5)
    assert (agreement.iloc[0]["periods_compared"], agreement.iloc[0]["periods_discrepant"]) == (2, 1)
    (row,) = discrepancies.itertuples()
    assert (row.utility_kwh, row.upload_kwh) == (520_000, pytest.approx(485_000))
    assert (
        row.utility == "国网上海市电力公司"
        and row.upload_status == "不一致"
        and row.metered_status == "无数据（无法比对）"
    )
    assert pd.isna(row.metered_kwh)  # shown as no data, never 0
    assert "sgcc_shanghai" not in discrepancies.to_string()


def test_zone_staff_see_every_jurisdiction(grid_zone):
    at = open_page(sign_in("zone1"), "quality")
    agreement, discrepancies = grid_tables(at)
    assert set(agreement["enterprise_uscc"]) == {A, C}
    assert set(discrepancies["account_no"]) == {"3100800001", "3200800002"}


def test_grid_tables_export_with_labels(grid_zone):
    from carbon import views
    from dashboard import labels

    grid = views.grid_agreement(grid_zone, Viewer("zone1", "zone"), 2024)
    out = labels.readable(grid["discrepancies"], "en")
    assert set(out["utility"]) == {
        "State Grid Shanghai Municipal Electric Power Company",
        "State Grid Jiangsu Electric Power Co.",
    }
    assert set(out["upload_status"]) == {"discrepancy"} and set(out["metered_status"]) == {"no data (cannot compare)"}
    assert set(out["discrepancy"]) == {"yes"}
