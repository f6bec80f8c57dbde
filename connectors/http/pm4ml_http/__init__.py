"""The ``http`` connector: pm4ml in front of an existing core connector that speaks the
sdk-scheme-adapter Backend API (v2.1.0)."""

from pm4ml_http.connector import BackendOptions, HttpConnector
from pm4ml_http.errors import error_for

__version__ = "0.1.0"

__all__ = ["BackendOptions", "HttpConnector", "__version__", "error_for"]
