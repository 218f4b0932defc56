"""Scheduled connectors (file drop, HTTP platform API, MQTT, Modbus TCP) that feed ``carbon.ingest``.

Each connector only fetches and decodes; validated reading records go through the same ingest path
as uploads.  The connectors themselves are built in the connectors issue.
"""
