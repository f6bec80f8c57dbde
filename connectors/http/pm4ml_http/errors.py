"""Backend API errors to connector errors.

The Backend API answers a refusal with ``errorResponse`` ``{"statusCode": "...", "message":
"..."}`` where ``statusCode`` is ideally an FSPIOP code. pm4ml maps it like the
sdk-scheme-adapter does: a known FSPIOP code keeps its meaning (and is passed on exactly),
anything else falls back on the HTTP status::

    statusCode            connector error        FSPIOP code sent
    3204                  PartyNotFound          3204
    3208                  UnknownTransfer        3208
    4001 / 5001           InsufficientFunds      4001 payer / 5001 payee
    4200 / 5200           LimitExceeded          4200 / 5200
    4300 / 5300           PermissionDenied       4300 / 5300
    4400 / 5400           Blocked                4400 / 5400
    4103 / 5106           UnsupportedCurrency    4103 / 5106
    2003                  Unavailable            2003 (retryable)
    other 3xxx-5xxx       Rejected               that code (unknown ones: its category)
    none, HTTP 404        PartyNotFound or UnknownTransfer (by endpoint)
    none, HTTP 4xx        Rejected               4100 / 5100
    none, HTTP 5xx        Unavailable            2003
    connection refused, timeout, garbage answer  Unavailable  2003
"""

from __future__ import annotations

from typing import Any

from pm4ml.connectors import (
    Blocked,
    ConnectorError,
    InsufficientFunds,
    LimitExceeded,
    PartyNotFound,
    PermissionDenied,
    Rejected,
    Unavailable,
    UnknownTransfer,
    UnsupportedCurrency,
)
from pm4ml.fspiop.errors import ErrorCode

_BY_STATUS_CODE: dict[str, type[ConnectorError]] = {
    "3204": PartyNotFound,
    "3208": UnknownTransfer,
    "4001": InsufficientFunds,
    "5001": InsufficientFunds,
    "4200": LimitExceeded,
    "5200": LimitExceeded,
    "4300": PermissionDenied,
    "5300": PermissionDenied,
    "4400": Blocked,
    "5400": Blocked,
    "4103": UnsupportedCurrency,
    "5106": UnsupportedCurrency,
    "2003": Unavailable,
}


def _message(body: Any, fallback: str) -> str:
    message = body.get("message") if isinstance(body, dict) else None
    text = message if isinstance(message, str) and message else fallback
    return text[:128]


def error_for(status: int, body: Any, *, not_found: type[ConnectorError]) -> ConnectorError:
    """The connector error for a non-2xx backend answer. ``body`` is the decoded JSON (or
    ``None``); ``not_found`` is what a bare 404 means on this endpoint."""
    code = body.get("statusCode") if isinstance(body, dict) else None
    code = str(code) if isinstance(code, str | int) else None
    message = _message(body, f"the core banking system refused (HTTP {status})")
    if code in _BY_STATUS_CODE:
        return _BY_STATUS_CODE[code](message)
    if code is not None and len(code) == 4 and code.isdigit() and code[0] in "345":
        return Rejected(message, code=ErrorCode.from_code(code))
    if status == 404:
        return not_found(message)
    if 400 <= status < 500:
        return Rejected(message)
    return Unavailable(_message(body, f"the core banking system failed (HTTP {status})"))
