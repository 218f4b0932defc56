"""Scheduled connectors that feed ``carbon.ingest``: ``file_drop``, ``http_api``, ``mqtt``, ``modbus_tcp``.

Each connector only fetches and decodes (``base.Connector.fetch``); ``runtime.run_once`` stores what it fetched
through the same validated, idempotent path as uploads and records its health; ``scheduler`` runs them all.
"""
