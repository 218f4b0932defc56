"""File drop: files that enterprise systems or an SFTP server put in an inbox go through the upload importer.

Layout: ``inbox/`` (one subfolder per enterprise USCC, or the configured ``enterprise`` for the whole inbox),
``archive/`` and ``failed/`` beside it.  A file is taken only once its size and modification time have not
changed for ``settle_seconds`` (a file still being written is left for the next run); temporary names
(``.part``, ``.tmp``, ``~$``, dot files) are never taken.  After the import the file moves to ``archive/`` or
``failed/`` with ``<name>.report.json`` beside it.
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

from connectors.base import Connector, Fetched

TEMPORARY = (".part", ".tmp", ".crdownload", ".filepart")


def settled(path: Path, settle_seconds: float, now: float | None = None) -> bool:
    """True when the file has not been modified for ``settle_seconds`` (and is not a temporary name)."""
    name = path.name
    if name.startswith((".", "~$")) or name.endswith(TEMPORARY):
        return False
    return (now or time.time()) - path.stat().st_mtime >= settle_seconds


class FileDrop(Connector):
    """Watches an inbox folder."""

    @property
    def inbox(self) -> Path:
        return Path(self.config.options["inbox"])

    def _enterprise(self, path: Path) -> str | None:
        parent = path.parent
        return self.config.options.get("enterprise") if parent == self.inbox else parent.name

    def fetch(self, watermark: str | None) -> Fetched:
        settle = float(self.config.options.get("settle_seconds", 5))
        files = [p for p in sorted(self.inbox.rglob("*")) if p.is_file() and settled(p, settle)]
        out = Fetched()
        for p in files:
            enterprise = self._enterprise(p)
            if enterprise:
                out.files.append((p, enterprise.strip().upper()))
            else:
                self.finish(
                    p,
                    False,
                    {
                        "file": str(p),
                        "error": "no enterprise: put the file in a folder named by "
                        "the enterprise's USCC or set enterprise in the connector configuration",
                    },
                )
        return out

    def finish(self, path: Path, ok: bool, details: dict) -> None:
        target = self.inbox.parent / ("archive" if ok else "failed") / path.relative_to(self.inbox).parent
        target.mkdir(parents=True, exist_ok=True)
        dest = target / path.name
        if dest.exists():  # never overwrite an earlier file of the same name
            dest = target / f"{path.stem}.{int(time.time() * 1000)}{path.suffix}"
        shutil.move(str(path), dest)
        dest.with_name(dest.name + ".report.json").write_text(
            json.dumps(details, ensure_ascii=False, indent=2, default=str), encoding="utf-8"
        )
