"""Analytics over the result ledger: dual-carbon progress, carbon-efficiency grades, LMDI decomposition, peak
tracking, data completeness, the emissions cube and the restatement report.

Everything here reads stored results (``carbon.ledger``), statistics and reference data; nothing writes results.
"""
