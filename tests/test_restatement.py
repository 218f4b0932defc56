"""Recalculation after a factor release or corrected data: new versions, never overwritten, and why they moved."""

from __future__ import annotations

import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest
from sqlmodel import Session, select

from carbon.analytics.restatement import restatement, split_change
from carbon.enterprises import add_enterprise
from carbon.errors import FactorDataError
from carbon.factor_release import import_release
from carbon.intake import receive_files, settle
from carbon.ledger import recalc
from carbon.models import AccountingRun
from factors.loader import COLUMNS
from tests.helpers import uscc, write_template

CARBON = str(Path(sys.executable).parent / "carbon")
ENT = uscc(131, "330421")


def release(path: Path, value: float, record_id: str = "test-release-2024-elec-cn-zj") -> Path:
    """A release file in the library format.  TEST FIXTURE: the value is not a published factor."""
    row = {c: "" for c in COLUMNS} | {
        "id": record_id,
        "parameter": "emission_factor",
        "carrier": "electricity",
        "gas": "CO2",
        "region": "CN-ZJ",
        "basis": "location",
        "vintage": "2024",
        "value": str(value),
        "unit": "kg_CO2/kWh",
        "status": "unverified",
        "publisher": "test",
        "document_title": "test fixture (not a published factor)",
        "notes": "test fixture",
    }
    pd.DataFrame([row], columns=list(COLUMNS)).to_csv(path, index=False)
    return path


def test_split_change_adds_up():
    old = pd.DataFrame({"carrier": ["electricity"], "quantity_canonical": [100.0], "emissions_tco2e": [50.0]})
    new = pd.DataFrame({"carrier": ["electricity"], "quantity_canonical": [110.0], "emissions_tco2e": [44.0]})
    factor, activity = split_change(old, new)
    assert factor + activity == pytest.approx(-6.0)
    assert factor == pytest.approx(105 * (0.4 - 0.5)) and activity == pytest.approx(0.45 * 10)


def test_factor_release_then_corrected_data(engine, tmp_path):
    add_enterprise(engine, code=ENT, name="嘉善重述测试", region="jiashan", industry="26")
    receive_files(
        engine, [write_template(tmp_path / "a.csv", ["E1,电力,2024-01-01,2025-01-01,100000,kWh"])], ENT, actor="t"
    )
    before_release = datetime.now(UTC)
    time.sleep(0.01)
    added = import_release(engine, release(tmp_path / "rel.csv", 0.45))
    assert len(added) == 1
    # a location-basis record for Zhejiang: the location and local runs change (Zhejiang has no local rule, so
    # local is location there); market (residual mix) does not
    assert settle(engine) == {"runs_stored": 2, "unchanged": 1}
    assert recalc(engine) == {"runs_stored": 0, "unchanged": 3}  # nothing changed: no new version
    (row,) = restatement(engine, before_release).to_dict("records")
    assert row["old_tco2e"] == pytest.approx(49.74) and row["new_tco2e"] == pytest.approx(45.0)
    assert row["factor_part_tco2e"] == pytest.approx(-4.74) and row["activity_part_tco2e"] == pytest.approx(0)
    assert row["region"] == "jiashan" and row["trigger"] == "factors import rel.csv"
    before_fix = datetime.now(UTC)
    time.sleep(0.01)
    (fix,) = receive_files(
        engine, [write_template(tmp_path / "b.csv", ["E1,电力,2024-01-01,2025-01-01,110000,kWh"])], ENT, actor="t"
    )
    assert fix.rows_corrected == 1
    (row,) = restatement(engine, before_fix).to_dict("records")
    assert row["new_tco2e"] == pytest.approx(49.5) and row["activity_part_tco2e"] == pytest.approx(4.5)
    assert row["factor_part_tco2e"] == pytest.approx(0)
    with Session(engine) as s:
        runs = select(AccountingRun).where(AccountingRun.basis == "location").order_by(AccountingRun.id)
        totals = [r.total_tco2e for r in s.exec(runs).all()]
    assert totals == pytest.approx([49.74, 45.0, 49.5])  # every version kept


def test_a_release_clashing_with_the_library_is_refused(engine, tmp_path):
    with pytest.raises(FactorDataError, match="problem"):
        import_release(engine, release(tmp_path / "dup.csv", 0.5, record_id="mee-2023-elec-location-cn-zj"))


def test_cli_factors_import_recalculates(engine, db_url, tmp_path):
    add_enterprise(engine, code=ENT, name="嘉善重述测试", region="jiashan", industry="26")
    receive_files(
        engine, [write_template(tmp_path / "a.csv", ["E1,电力,2024-01-01,2025-01-01,100000,kWh"])], ENT, actor="t"
    )
    out = subprocess.run(
        [CARBON, "--db", db_url, "factors", "import", str(release(tmp_path / "r.csv", 0.45))],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    assert "1 条因子" in out.stdout and "new runs 2" in out.stdout  # location and local
    again = subprocess.run(
        [CARBON, "--db", db_url, "restatement", "--since", "2000-01-01", "--json"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert again.returncode == 0 and '"regions"' in again.stdout


def test_init_again_keeps_imported_releases_and_the_results_on_them(engine, tmp_path, library):
    """``carbon init`` run again (an upgrade) loads the shipped library beside what was imported: an imported
    release and the results citing it stay, and nothing is recalculated to other figures."""
    from carbon import db
    from carbon.ledger import load_factors, stored_result

    add_enterprise(engine, code=ENT, name="嘉善重述测试", region="jiashan", industry="26")
    receive_files(
        engine, [write_template(tmp_path / "a.csv", ["E1,电力,2024-01-01,2025-01-01,100000,kWh"])], ENT, actor="t"
    )
    (added,) = import_release(engine, release(tmp_path / "rel.csv", 0.45))["id"]
    settle(engine)
    before = stored_result(engine, year=2024, enterprise=ENT).as_dict()
    assert before["total_tco2e"] == pytest.approx(45.0) and added in before["by_carrier"][0]["factor_ids"]
    db.initialise(engine, library)
    assert added in set(load_factors(engine)["id"]) and len(load_factors(engine)) == len(library) + 1
    settle(engine)
    after = stored_result(engine, year=2024, enterprise=ENT).as_dict()
    assert after["total_tco2e"] == pytest.approx(45.0) and after["run_ids"] == before["run_ids"]  # nothing moved
