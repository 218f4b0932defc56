"""Text files as users send them: UTF-8 (with or without BOM) first, then GBK/GB18030.

Shared by the readings importer (``carbon.ingest.cells``) and the statistics import (``carbon.stats``), so that
reading statistics (which the analytics do) does not depend on the ingest path.
"""

from __future__ import annotations

from carbon.errors import InputError

ENCODINGS = ("utf-8-sig", "gb18030")  # gb18030 is a superset of GBK and GB2312


def decode(data: bytes, file: str) -> tuple[str, str]:
    """Text and the encoding it was read with (UTF-8 first, then GB18030)."""
    for encoding in ENCODINGS:
        try:
            return data.decode(encoding), encoding
        except UnicodeDecodeError:
            continue
    raise InputError(
        "无法识别文件编码（支持UTF-8、GBK/GB18030），请另存为UTF-8 CSV",
        "Cannot decode the file (UTF-8 and GBK/GB18030 are supported); save it as UTF-8 CSV",
        file=file,
    )
