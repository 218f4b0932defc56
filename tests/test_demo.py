"""The demo zone: seeded through the real importer, labelled as simulated, consistent, repeatable."""

from __future__ import annotations

import pytest

from carbon.demo import DEMO_TAG, format_summary, run_demo
from carbon.enterprises import add_enterprise
from carbon.errors import InputError
from tests.helpers import uscc


def test_demo_summary_adds_up_and_is_repeatable(db_url):
    first = run_demo(db_url, year=2024)
    assert first["enterprises"] == 36 and "模拟数据" in first["label"]
    regions = first["regions"]
    for basis in ("location", "local", "market"):
        parts = sum(regions[r][basis]["total_tco2e"] for r in ("qingpu", "wujiang", "jiashan"))
        assert regions["zone"][basis]["total_tco2e"] == pytest.approx(parts)
    # Shanghai's local electricity factor (0.42) is below its MEE average (0.5737): Qingpu local < location
    assert regions["qingpu"]["local"]["total_tco2e"] < regions["qingpu"]["location"]["total_tco2e"]
    assert regions["wujiang"]["local"]["total_tco2e"] == pytest.approx(regions["wujiang"]["location"]["total_tco2e"])
    assert sum(s["emissions_tco2e"] for s in first["sectors"]) == pytest.approx(
        regions["zone"]["location"]["total_tco2e"]
    )
    assert any(f.startswith("period_split:") for f in regions["zone"]["location"]["flags"])
    statuses = {t["id"]: t["status"] for t in first["progress"]}
    assert statuses["cn-2030-carbon-intensity"] == "no_base_data" and "zone-2025-carbon-intensity" in statuses
    assert sum(first["grades"].values()) == 36 and set(first["grades"]) <= {1, 2, 3, 4, 5}
    again = run_demo(db_url, year=2024)
    assert again["regions"]["zone"]["location"]["total_tco2e"] == pytest.approx(
        regions["zone"]["location"]["total_tco2e"]
    )
    text = format_summary(again)
    assert "模拟数据" in text and "上海市青浦区" in text


def test_demo_refuses_a_database_with_real_enterprises(engine, db_url):
    add_enterprise(engine, code=uscc(3), name="真实企业", region="qingpu", industry="26")
    with pytest.raises(InputError, match="real enterprises"):
        run_demo(db_url)
    assert DEMO_TAG not in "真实企业"
