"""Start the dashboard: ``streamlit run`` on ``dashboard/app.py`` with the settings the project relies on.

- uploads at most ``MAX_UPLOAD_MB`` per file (Streamlit's own limit; the importer checks content and XLSX expansion);
- XSRF protection on, usage statistics off, no file watcher, headless (no browser opened on the server).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

APP = Path(__file__).with_name("app.py")
MAX_UPLOAD_MB = 50


def command(port: int = 8501, address: str = "127.0.0.1") -> list[str]:
    """The ``streamlit run`` command line."""
    return [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(APP),
        f"--server.port={port}",
        f"--server.address={address}",
        "--server.headless=true",
        f"--server.maxUploadSize={MAX_UPLOAD_MB}",
        "--server.enableXsrfProtection=true",
        "--server.fileWatcherType=none",
        "--browser.gatherUsageStats=false",
        "--client.toolbarMode=minimal",
        "--theme.base=light",
        "--theme.primaryColor=#2e7d32",
    ]


def environment(database_url: str) -> dict[str, str]:
    """The server's environment: the project database and no telemetry."""
    return {**os.environ, "CARBON_DATABASE_URL": database_url, "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false"}


def start(database_url: str, port: int = 8501, address: str = "127.0.0.1") -> subprocess.Popen:
    """Start the server in the background (tests, benchmarks)."""
    return subprocess.Popen(command(port, address), env=environment(database_url))


def serve(database_url: str, port: int = 8501, address: str = "127.0.0.1") -> int:
    """Run the server in the foreground until it is stopped (Ctrl-C); returns its exit status."""
    try:
        return subprocess.run(command(port, address), env=environment(database_url), check=False).returncode
    except KeyboardInterrupt:
        return 0
