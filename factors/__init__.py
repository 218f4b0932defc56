"""The emission-factor library: one sourced CSV file per published source, and the loader that reads them."""

from factors.loader import COLUMNS, PARAMETERS, STATUSES, load_library, validate_library

__all__ = ["COLUMNS", "PARAMETERS", "STATUSES", "load_library", "validate_library"]
