"""The ``fineract`` connector: pm4ml in front of Apache Fineract / Mifos X savings accounts."""

from pm4ml_fineract.connector import FineractConnector
from pm4ml_fineract.errors import error_for
from pm4ml_fineract.settings import FineractSettings

__version__ = "0.1.0"

__all__ = ["FineractConnector", "FineractSettings", "__version__", "error_for"]
