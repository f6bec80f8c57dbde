"""The one import path a connector author needs.

A connector subclasses :class:`Connector`, uses the value types below, raises the
:class:`ConnectorError` family, and registers its class under the ``pm4ml.connectors``
entry-point group in its own ``pyproject.toml``::

    [project.entry-points."pm4ml.connectors"]
    mybank = "mybank_connector:MyBankConnector"

``pm4ml.connectors.contract`` is the test suite every connector must pass (a pytest plugin).
A connector that calls its core banking system over HTTP (httpx) sends each request with
:func:`send_to_cbs`: the safe retry rule and the trace context (:func:`trace_headers`), so the
CBS's own traces join the payment's.
"""

from pm4ml.connectors._errors import (
    Blocked,
    ConnectorError,
    InsufficientFunds,
    LimitExceeded,
    PartyNotFound,
    PermissionDenied,
    Rejected,
    Role,
    Unavailable,
    UnknownTransfer,
    UnsupportedCurrency,
    to_fspiop_error,
)
from pm4ml.connectors._http import send_to_cbs
from pm4ml.connectors._interface import Connector, ConnectorContext
from pm4ml.connectors._registry import ENTRY_POINT_GROUP, ConnectorInfo, available, load
from pm4ml.connectors._types import (
    AmountType,
    IncomingTransfer,
    Money,
    OutgoingTransfer,
    Party,
    PartyId,
    QuoteRequest,
    QuoteTerms,
    TransactionRequest,
    TransactionRequestDecision,
    TransactionRequestState,
    TransactionType,
    TransferNotification,
    TransferOutcome,
)
from pm4ml.observability.tracing import trace_headers

__all__ = [
    "ENTRY_POINT_GROUP",
    "AmountType",
    "Blocked",
    "Connector",
    "ConnectorContext",
    "ConnectorError",
    "ConnectorInfo",
    "IncomingTransfer",
    "InsufficientFunds",
    "LimitExceeded",
    "Money",
    "OutgoingTransfer",
    "Party",
    "PartyId",
    "PartyNotFound",
    "PermissionDenied",
    "QuoteRequest",
    "QuoteTerms",
    "Rejected",
    "Role",
    "TransactionRequest",
    "TransactionRequestDecision",
    "TransactionRequestState",
    "TransactionType",
    "TransferNotification",
    "TransferOutcome",
    "Unavailable",
    "UnknownTransfer",
    "UnsupportedCurrency",
    "available",
    "load",
    "send_to_cbs",
    "to_fspiop_error",
    "trace_headers",
]
