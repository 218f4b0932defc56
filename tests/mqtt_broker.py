"""A real Mosquitto broker for tests: the project's broker settings on a free loopback port, restartable."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
import uuid
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def listening(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


class Broker:
    """``mosquitto`` with ``connectors/mosquitto.conf`` (persistence, unlimited queue) on its own port and folder."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = free_port()
        self.proc: subprocess.Popen | None = None
        conf = (ROOT / "connectors" / "mosquitto.conf").read_text(encoding="utf-8")
        conf = conf.replace("listener 1883 127.0.0.1", f"listener {self.port} 127.0.0.1")
        conf += f"persistence_location {folder}/\nlog_dest file {folder}/mosquitto.log\n"
        if os.geteuid() == 0:  # as root mosquitto would switch to its own user, which cannot write the test folder
            conf += "user root\n"
        (folder / "mosquitto.conf").write_text(conf, encoding="utf-8")

    def start(self) -> None:
        binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        self.proc = subprocess.Popen(
            [binary, "-c", str(self.folder / "mosquitto.conf")], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        for _ in range(100):
            if listening(self.port):
                return
            time.sleep(0.05)
        raise RuntimeError("mosquitto did not start")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.send_signal(signal.SIGTERM)  # a clean restart: the broker saves its sessions
            self.proc.wait(timeout=10)
            self.proc = None

    def restart(self) -> None:
        self.stop()
        self.start()


def publish(port: int, messages: list[tuple[str, bytes]]) -> None:
    """Publish the messages with QoS 1 and wait until the broker has them."""
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"pub-{uuid.uuid4().hex[:8]}")
    client.connect("127.0.0.1", port)
    client.loop_start()
    infos = [client.publish(topic, body, qos=1) for topic, body in messages]
    for info in infos:
        info.wait_for_publish(timeout=10)
    client.disconnect()
    client.loop_stop()


@pytest.fixture
def broker(tmp_path):
    """A Mosquitto broker of the test's own, on a free port of 127.0.0.1."""
    b = Broker(tmp_path)
    b.start()
    yield b
    b.stop()
