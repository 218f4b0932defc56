"""Start the dashboard: ``streamlit run`` on ``dashboard/app.py`` with the settings the project relies on.

- uploads at most ``MAX_UPLOAD_MB`` per file (Streamlit's own limit; the importer checks content and XLSX expansion);
- XSRF protection on, usage statistics off, no file watcher, headless (no browser opened on the server).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

APP = Path(__file__).with_name("app.py")
MAX_UPLOAD_MB = 50


def command(port: int = 8501, address: str = "127.0.0.1", app: Path = APP) -> list[str]:
    """The ``streamlit run`` command line (``app``: the dashboard, or another script with the same settings)."""
    return [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(app),
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


def serve(database_url: str, port: int = 8501, address: str = "127.0.0.1") -> int:
    """Run the server in the foreground until it is stopped (Ctrl-C); returns its exit status."""
    try:
        return subprocess.run(command(port, address), env=environment(database_url), check=False).returncode
    except KeyboardInterrupt:
        return 0


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def running(database_url: str, app: Path = APP, timeout_s: float = 60) -> Iterator[str]:
    """A server on a free port, once it answers ``/_stcore/health``; yields its base URL and stops it afterwards.

    Raises ``RuntimeError`` if it exits or does not answer within ``timeout_s``.
    """
    port = free_port()
    proc = subprocess.Popen(
        command(port, app=app), env=environment(database_url), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"the dashboard server exited with status {proc.returncode}")
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                    if r.read().decode().strip() == "ok":
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"the dashboard server did not answer /_stcore/health within {timeout_s:.0f} s")
            time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
