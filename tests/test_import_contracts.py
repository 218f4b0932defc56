"""What the import contracts (``[tool.importlinter]`` in pyproject.toml, checked by ``lint-imports`` in ``make test``)
cannot see: which modules an import really loads at run time."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _loaded(*modules: str) -> set[str]:
    """The project modules a fresh interpreter has loaded after importing ``modules``."""
    code = (
        "import importlib, json, sys\n"
        f"for m in {list(modules)!r}: importlib.import_module(m)\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, capture_output=True, text=True)
    return set(json.loads(out.stdout))


def _under(loaded: set[str], *packages: str) -> list[str]:
    return sorted(m for m in loaded if any(m == p or m.startswith(p + ".") for p in packages))


def test_cli_loads_the_demo_and_the_dashboard_only_when_a_command_needs_them():
    # The contract "carbon never imports the dashboard or the demo" ignores carbon.cli's two imports of them,
    # which stay inside the commands that start the apps.
    assert _under(_loaded("carbon.cli"), "dashboard", "carbon_demo") == []


def test_analytics_load_neither_the_intake_nor_ingest():
    # Importing carbon.ingest.<anything> would also run carbon/ingest/__init__.py, the whole importer.
    analytics = [f"carbon.analytics.{p.stem}" for p in (ROOT / "carbon" / "analytics").glob("*.py")]
    assert _under(_loaded(*analytics), "carbon.intake", "carbon.ingest") == []
