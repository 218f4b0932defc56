"""Connector configuration: one TOML file, one ``[[connector]]`` table per connector.

Secrets never sit in the file: a key ``token_env = "NAME"`` reads the environment variable NAME, ``token_file =
"/path"`` reads a file outside the repository.  ``Secret`` hides its value from logs, reprs and errors.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from carbon.errors import InputError

KINDS = ("file_drop", "http_api", "mqtt", "modbus_tcp", "grid_statements")


class Secret:
    """A secret value that never prints."""

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__


@dataclass(frozen=True)
class ConnectorConfig:
    """One connector: name, kind, schedule (seconds between runs) and its own options."""

    name: str
    kind: str
    every_seconds: float
    options: dict[str, Any] = field(default_factory=dict)

    def secret(self, key: str) -> Secret | None:
        """``key_env`` (environment variable) or ``key_file`` (a file), else None."""
        if env := self.options.get(f"{key}_env"):
            value = os.environ.get(env)
            if value is None:
                raise InputError(
                    f"环境变量 {env} 未设置（连接器 {self.name} 的 {key}）",
                    f"Environment variable {env} is not set (the {key} of connector {self.name})",
                )
            return Secret(value.strip())
        if path := self.options.get(f"{key}_file"):
            try:
                return Secret(Path(path).read_text(encoding="utf-8").strip())
            except OSError as exc:
                raise InputError(
                    f"无法读取密钥文件（连接器 {self.name} 的 {key}）",
                    f"Cannot read the secret file for the {key} of connector {self.name}",
                    file=str(path),
                ) from exc
        return None


def load_config(path: Path) -> dict[str, ConnectorConfig]:
    """Connectors by name from a TOML file; refuses unknown kinds, duplicate names and inline secrets."""
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise InputError(
            "无法读取连接器配置", f"Cannot read the connector configuration: {exc}", file=str(path)
        ) from exc
    out: dict[str, ConnectorConfig] = {}
    for i, table in enumerate(data.get("connector", []), start=1):
        name, kind = table.get("name"), table.get("kind")
        if not name or kind not in KINDS:
            raise InputError(
                f"第{i}个连接器缺少名称或类型不对（可选 {', '.join(KINDS)}）",
                f"Connector {i} needs a name and a kind among {', '.join(KINDS)}",
                file=str(path),
            )
        if name in out:
            raise InputError(f"连接器名称重复：{name}", f"Duplicate connector name {name}", file=str(path))
        inline = [k for k in table if k in ("token", "password", "secret")]
        if inline:
            raise InputError(
                f"连接器 {name} 的密钥不能写在配置文件中，请用 {inline[0]}_env 或 {inline[0]}_file",
                f"Connector {name}: secrets must not be in the file; use {inline[0]}_env or {inline[0]}_file",
                file=str(path),
            )
        every = float(table.get("every_seconds", 300))
        options = {k: v for k, v in table.items() if k not in ("name", "kind", "every_seconds")}
        out[name] = ConnectorConfig(name=name, kind=kind, every_seconds=every, options=options)
    return out
