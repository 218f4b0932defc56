"""Scheduled connectors that feed the engine through ``carbon.intake`` and nothing else (import contract in
``pyproject.toml``): ``file_drop``, ``http_api``, ``mqtt``, ``modbus_tcp``.

Each connector only fetches and decodes (``base.Connector.fetch``); ``runtime.run_once`` stores what it fetched
through the same validated, idempotent path as uploads and records its health; ``scheduler`` runs them all.
"""
