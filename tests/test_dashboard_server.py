"""Clean shutdown: ``carbon dashboard`` and ``carbon demo`` never leave their Streamlit server behind.

Each test runs the real ``carbon`` command in its own session (as a shell runs a job), waits until its server answers
``/_stcore/health``, signals the command as a user or a service manager would, and checks that the command exits,
the port stops answering and no process of that server remains (read from ``/proc``; a zombie is not serving).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from dashboard import server

CARBON = str(Path(sys.executable).parent / "carbon")
PROC = Path("/proc")
pytestmark = pytest.mark.skipif(not (PROC / "self" / "stat").exists(), reason="reads processes from /proc (Linux)")
STARTUP_S = 120  # bound on waiting for a server to come up (a failure, not a measurement)
STOP_S = 60  # bound on waiting for it to go away: well above dashboard.server.GRACE_S


def _state(pid: int) -> str | None:
    """The process's state letter from /proc (``Z``: zombie), or None if it does not exist."""
    try:
        stat = (PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[0]


def _cmdline(pid: int) -> list[str]:
    try:
        return (PROC / str(pid) / "cmdline").read_bytes().decode(errors="replace").split("\0")
    except OSError:
        return []


def servers_on(port: int) -> list[int]:
    """Live (not zombie) processes whose command line is a Streamlit server on ``port``."""
    flag = f"--server.port={port}"
    found = []
    for entry in PROC.iterdir():
        if entry.name.isdigit() and flag in _cmdline(int(entry.name)) and _state(int(entry.name)) not in (None, "Z"):
            found.append(int(entry.name))
    return found


def answers(port: int) -> bool:
    """True if something accepts a TCP connection on 127.0.0.1:``port``."""
    with socket.socket() as s:
        s.settimeout(2)
        return s.connect_ex(("127.0.0.1", port)) == 0


def wait_until(condition: Callable[[], bool], bound_s: float, what: str) -> None:
    deadline = time.monotonic() + bound_s
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not within {bound_s:.0f} s")
        time.sleep(0.2)


@pytest.fixture(scope="module")
def ready(tmp_path_factory: pytest.TempPathFactory) -> str:
    """An initialised SQLite database (``carbon init``)."""
    url = f"sqlite:///{tmp_path_factory.mktemp('server') / 'carbon.db'}"
    r = subprocess.run([CARBON, "--db", url, "init"], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    return url


@contextmanager
def launched(args: list[str], log: Path) -> Iterator[tuple[subprocess.Popen, int]]:
    """``carbon ARGS --port P`` in its own session; yields it and P once its server answers ``/_stcore/health``.

    Whatever happens, the command and its server are gone afterwards (a failing test leaves nothing running).
    """
    port = server.free_port()
    with log.open("w") as out:
        proc = subprocess.Popen([CARBON, *args, "--port", str(port)], stdout=out, stderr=out, start_new_session=True)
    try:
        wait_until(
            lambda: proc.poll() is not None or server.healthy(f"http://127.0.0.1:{port}"),
            STARTUP_S,
            "the dashboard answers /_stcore/health",
        )
        assert proc.poll() is None, f"carbon exited with {proc.returncode}:\n{log.read_text()}"
        yield proc, port
    finally:
        for pid in [proc.pid, *servers_on(port)]:
            if _state(pid) not in (None, "Z"):
                os.kill(pid, signal.SIGKILL)
        proc.wait()


def check_stopped(proc: subprocess.Popen, port: int, log: Path, status: int | None = 0) -> None:
    """The command has exited (with ``status`` unless None), its port is closed and its server is gone."""
    try:
        proc.wait(timeout=STOP_S)
    except subprocess.TimeoutExpired:
        pytest.fail(f"carbon still running {STOP_S} s after the signal:\n{log.read_text()}")
    if status is not None:
        assert proc.returncode == status, log.read_text()
    wait_until(lambda: not servers_on(port), STOP_S, "no Streamlit server process remains")
    assert not answers(port)


def test_a_server_runs_while_its_command_runs(ready, tmp_path):
    log = tmp_path / "carbon.log"
    with launched(["--db", ready, "dashboard"], log) as (proc, port):
        servers = servers_on(port)
        assert len(servers) == 1 and servers[0] != proc.pid
        assert _state(proc.pid) not in (None, "Z") and answers(port)


@pytest.mark.parametrize(
    ("how", "send"),
    [
        ("SIGTERM to the command (kill, a service manager)", lambda p: os.kill(p.pid, signal.SIGTERM)),
        ("Ctrl-C at the terminal (SIGINT to the job's process group)", lambda p: os.killpg(p.pid, signal.SIGINT)),
        ("SIGINT to the command alone", lambda p: os.kill(p.pid, signal.SIGINT)),
        ("SIGHUP (the terminal closed)", lambda p: os.kill(p.pid, signal.SIGHUP)),
    ],
)
def test_dashboard_stops_its_server_on_a_signal(ready, tmp_path, how, send):
    log = tmp_path / "carbon.log"
    with launched(["--db", ready, "dashboard"], log) as (proc, port):
        send(proc)
        check_stopped(proc, port, log)


def test_a_second_ctrl_c_still_stops_everything(ready, tmp_path):
    log = tmp_path / "carbon.log"
    with launched(["--db", ready, "dashboard"], log) as (proc, port):
        os.killpg(proc.pid, signal.SIGINT)
        os.killpg(proc.pid, signal.SIGINT)  # impatient: the server is killed instead of given its grace period
        check_stopped(proc, port, log, status=None)
        assert proc.returncode in (0, 1)


def test_server_dies_with_a_killed_command(ready, tmp_path):
    """Even SIGKILL, which the command cannot handle, takes the server down (Linux: PR_SET_PDEATHSIG)."""
    if not sys.platform.startswith("linux"):
        pytest.skip("the server follows a killed parent only on Linux")
    log = tmp_path / "carbon.log"
    with launched(["--db", ready, "dashboard"], log) as (proc, port):
        os.kill(proc.pid, signal.SIGKILL)
        check_stopped(proc, port, log, status=-signal.SIGKILL)


def test_demo_stops_its_server_on_sigterm(tmp_path):
    """``carbon demo`` seeds a (small) demo zone, prints its summary, serves it and stops cleanly."""
    log = tmp_path / "carbon.log"
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    with launched(["--db", url, "demo", "--per-region", "1"], log) as (proc, port):
        assert "模拟数据" in log.read_text()
        os.kill(proc.pid, signal.SIGTERM)
        check_stopped(proc, port, log)
