"""Ingest meter exports, bills and upload-template files: read, recognise, validate, store once.

Public API: ``ingest_files``, ``read_files`` (the preview: nothing stored), ``FileReport`` and ``Upload``
(``carbon.ingest.pipeline``), ``rejected_rows`` (``carbon.ingest.rejects``).
"""

from carbon.ingest.pipeline import FileReport, Upload, ingest_files, read_files

__all__ = ["FileReport", "Upload", "ingest_files", "read_files"]
