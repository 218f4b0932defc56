"""Carbon monitoring and accounting for the 长三角生态绿色一体化发展示范区.

Public API: ``carbon.enterprises``; ``carbon.ingest`` (files) and ``carbon.ingest.records`` (connector readings);
``carbon.ledger`` (accounting runs); ``carbon.accounting`` and ``carbon.factor_choice`` (pure functions);
``carbon.units``.
"""

__version__ = "0.1.0"
