"""Ingest meter exports, bills and upload-template files: read, recognise, validate, store once.

Public API: ``ingest_files`` and ``FileReport`` (``carbon.ingest.pipeline``), ``rejected_rows``
(``carbon.ingest.rejects``).
"""

from carbon.ingest.pipeline import FileReport, ingest_files

__all__ = ["FileReport", "ingest_files"]
