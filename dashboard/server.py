"""Start the dashboard: ``streamlit run`` on ``dashboard/app.py`` with the settings the project relies on.

- uploads at most ``MAX_UPLOAD_MB`` per file (Streamlit's own limit; the importer checks content and XLSX expansion);
- XSRF protection on, usage statistics off, no file watcher, headless (no browser opened on the server);
- the server never outlives the process that started it (``carbon dashboard``, ``carbon demo``, a test):

  * SIGINT (Ctrl-C), SIGTERM and SIGHUP to that process stop the server: SIGTERM to its process group, up to
    ``GRACE_S`` seconds to finish, then SIGKILL; a second signal kills it at once;
  * the server runs in its own session and process group, so a Ctrl-C at the terminal reaches only the parent, which
    stops the server in that one order (not two processes racing on the same signal), and the stop reaches anything
    the server itself starts;
  * on Linux the server asks the kernel (``prctl(PR_SET_PDEATHSIG, SIGTERM)``) to be sent SIGTERM when its parent
    dies, so even a parent killed by SIGKILL, or one that crashes, takes the server down.  This is done in the
    server's own interpreter before Streamlit starts (``CHILD``), not in a ``preexec_fn``, which is unsafe in a
    parent with threads (``carbon demo`` has tqdm's monitor thread).  Elsewhere only the signals above are covered.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType

APP = Path(__file__).with_name("app.py")
MAX_UPLOAD_MB = 50
GRACE_S = 10.0  # seconds a stopping server gets to close its sessions before it is killed
STOP_SIGNALS = tuple(getattr(signal, n) for n in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, n))
# The server's interpreter runs this (``python -c CHILD PARENT_PID run APP ...``) before Streamlit: on Linux, SIGTERM
# when the parent dies (PR_SET_PDEATHSIG = 1); exit at once if the parent is already gone (it died before the prctl).
CHILD = """\
import os, sys
parent = int(sys.argv.pop(1))
if sys.platform.startswith("linux"):
    import ctypes, signal
    if ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG)")
if os.getppid() != parent:
    sys.exit(0)
from streamlit.web.cli import main
main(prog_name="streamlit")
"""


def command(port: int = 8501, address: str = "127.0.0.1", app: Path = APP, parent: int | None = None) -> list[str]:
    """The server's command line: ``streamlit run`` of ``app`` (the dashboard, or another script with the same
    settings) through ``CHILD``, bound to the process ``parent`` (default: this one)."""
    return [
        sys.executable,
        "-c",
        CHILD,
        str(os.getpid() if parent is None else parent),
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


def start(argv: list[str], env: dict[str, str], quiet: bool = False) -> subprocess.Popen:
    """Start ``argv`` (from ``command``) as the leader of its own session and process group.

    ``quiet``: discard its output (else it shares this process's stdout and stderr).
    """
    out = subprocess.DEVNULL if quiet else None
    return subprocess.Popen(argv, env=env, stdout=out, stderr=out, start_new_session=True)


def signal_group(proc: subprocess.Popen, signum: int) -> None:
    """Send ``signum`` to the process group ``proc`` leads, unless it has been waited for (its id may be reused)."""
    if proc.returncode is not None:
        return
    if not hasattr(os, "killpg"):  # not POSIX: no process groups
        proc.send_signal(signum)
        return
    with contextlib.suppress(ProcessLookupError):  # the whole group has exited (the leader awaits its wait())
        os.killpg(proc.pid, signum)


def stop(proc: subprocess.Popen, grace_s: float = GRACE_S) -> bool:
    """Stop the server ``proc``: SIGTERM to its group, wait up to ``grace_s`` seconds, then SIGKILL and wait.

    Returns True if it stopped within the grace period, False if it had to be killed.
    """
    signal_group(proc, signal.SIGTERM)
    try:
        proc.wait(timeout=grace_s)
        return True
    except subprocess.TimeoutExpired:
        signal_group(proc, getattr(signal, "SIGKILL", signal.SIGTERM))
        proc.wait()
        return False


class _Stopper:
    """The parent's handler of ``STOP_SIGNALS`` while it serves: the first signal stops the server (SIGTERM, then
    SIGKILL after ``grace_s`` from a timer thread), a second one kills it at once."""

    def __init__(self, grace_s: float) -> None:
        self.grace_s = grace_s
        self.proc: subprocess.Popen | None = None
        self.received: list[int] = []
        self.killed = False
        self._timer: threading.Timer | None = None

    def on_signal(self, signum: int, _frame: FrameType | None) -> None:
        self.received.append(signum)
        self.forward()

    def forward(self) -> None:
        """Act on the signals received so far (none while the server is not started yet)."""
        if self.proc is None or not self.received:
            return
        if len(self.received) > 1:
            self._kill()
        elif self._timer is None:
            signal_group(self.proc, signal.SIGTERM)
            self._timer = threading.Timer(self.grace_s, self._kill)
            self._timer.daemon = True
            self._timer.start()

    def _kill(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.killed = True
            signal_group(self.proc, getattr(signal, "SIGKILL", signal.SIGTERM))

    def cancel(self) -> None:
        if self._timer is not None:
            self._timer.cancel()


def exit_status(returncode: int, stop_requested: bool, killed: bool) -> int:
    """The parent's exit status for a server that ended with ``returncode`` (negative: killed by that signal).

    Stopped on request: 0, or 1 if it had to be killed after the grace period.  Ended by itself: its own status, a
    death by signal N reported as 128 + N as a shell does.
    """
    if stop_requested:
        return 1 if killed else 0
    return 128 - returncode if returncode < 0 else returncode


def serve(database_url: str, port: int = 8501, address: str = "127.0.0.1", grace_s: float = GRACE_S) -> int:
    """Run the server in the foreground until it ends or this process gets SIGINT, SIGTERM or SIGHUP; returns the
    exit status for this process (``exit_status``).  Must be called from the main thread (it handles signals)."""
    stopper = _Stopper(grace_s)
    previous = {s: signal.signal(s, stopper.on_signal) for s in STOP_SIGNALS}
    try:
        stopper.proc = start(command(port, address), environment(database_url))
        stopper.forward()  # a signal that came while the server was being started
        returncode = stopper.proc.wait()
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
        stopper.cancel()
        if stopper.proc is not None and stopper.proc.returncode is None:  # an error in this process: stop it too
            stop(stopper.proc, grace_s)
    return exit_status(returncode, bool(stopper.received), stopper.killed)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def healthy(url: str) -> bool:
    """True if the server at ``url`` answers ``/_stcore/health`` with ``ok`` (within 2 s)."""
    try:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
            return r.read().decode().strip() == "ok"
    except OSError:
        return False


@contextmanager
def running(database_url: str, app: Path = APP, timeout_s: float = 60) -> Iterator[str]:
    """A server on a free port, once it answers ``/_stcore/health``; yields its base URL and stops it afterwards.

    Raises ``RuntimeError`` if it exits or does not answer within ``timeout_s``.
    """
    port = free_port()
    proc = start(command(port, app=app), environment(database_url), quiet=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout_s
        while not healthy(url):
            if proc.poll() is not None:
                raise RuntimeError(f"the dashboard server exited with status {proc.returncode}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"the dashboard server did not answer /_stcore/health within {timeout_s:.0f} s")
            time.sleep(0.2)
        yield url
    finally:
        stop(proc, 15)
