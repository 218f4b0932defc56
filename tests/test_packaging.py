"""A wheel built from the repository ships the factor library and the package data."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_wheel_contains_factor_files_and_data(tmp_path):
    subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(tmp_path), str(ROOT)],
        check=True,
        capture_output=True,
        timeout=600,
    )
    (wheel,) = tmp_path.glob("*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    shipped = {p.relative_to(ROOT).as_posix() for p in (ROOT / "factors" / "data").rglob("*.csv")}
    assert shipped and shipped <= names
    for needed in (
        "carbon/data/units.txt",
        "carbon/data/carriers.csv",
        "carbon/data/industry_divisions.csv",
        "carbon/migrations/env.py",
        "carbon/migrations/versions/0001_initial_schema.py",
        "connectors/__init__.py",
        "dashboard/__init__.py",
        "carbon/cli.py",
    ):
        assert needed in names
