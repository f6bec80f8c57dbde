"""What a connector raises, and the one table that turns it into an FSPIOP error.

A connector raises a subclass of :class:`ConnectorError`; the flows translate it with
:func:`to_fspiop_error` at exactly one place. The code depends on the role pm4ml plays in the
transfer (a refusal is a 4xxx "payer" error when our customer pays and a 5xxx "payee" error when
our customer is paid)::

    ConnectorError            generic refusal          payer 4000  payee 5000
    ├── PartyNotFound         unknown party/account    payer 3204  payee 3204
    ├── InsufficientFunds     not enough money         payer 4001  payee 5001
    ├── LimitExceeded         a limit would be broken  payer 4200  payee 5200
    ├── Rejected              the CBS says no          payer 4100  payee 5100
    ├── UnsupportedCurrency   no account in currency   payer 4103  payee 5106
    ├── PermissionDenied      not allowed              payer 4300  payee 5300
    ├── Blocked               account blocked          payer 4400  payee 5400
    ├── UnknownTransfer       no such transfer         payer 3208  payee 3208
    └── Unavailable           CBS down or timed out    payer 2003  payee 2003  (retryable)

A connector that knows the exact FSPIOP code may pass it: ``Rejected("...", code=ErrorCode.X)``.
Anything else a connector raises becomes 2001 Internal server error, and is logged.
"""

from __future__ import annotations

import enum
from typing import ClassVar

from pm4ml.fspiop.errors import ErrorCode, FspiopError


class Role(enum.StrEnum):
    """The side of the transfer this DFSP is on."""

    PAYER = "PAYER"
    PAYEE = "PAYEE"


class ConnectorError(Exception):
    """The CBS refused or failed. ``message`` is shown to the peer in ``errorDescription``
    (at most 128 characters), so it must not hold secrets or internal details."""

    retryable: ClassVar[bool] = False

    def __init__(self, message: str = "", *, code: ErrorCode | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


class PartyNotFound(ConnectorError):
    """No such customer or account."""


class InsufficientFunds(ConnectorError):
    """Not enough available money."""


class LimitExceeded(ConnectorError):
    """A transfer, daily or balance limit would be broken."""


class Rejected(ConnectorError):
    """The CBS refuses for a reason of its own."""


class UnsupportedCurrency(ConnectorError):
    """The party has no account in this currency."""


class PermissionDenied(ConnectorError):
    """The customer may not do this."""


class Blocked(ConnectorError):
    """The account is blocked."""


class UnknownTransfer(ConnectorError):
    """The CBS has no record of this transfer id."""


class Unavailable(ConnectorError):
    """The CBS could not be reached or did not answer in time. The call may be retried with the
    same idempotency key; the outcome is unknown until it is."""

    retryable = True


_E = ErrorCode
#: (payer code, payee code) for every ConnectorError class; a test checks it is complete.
CODES: dict[type[ConnectorError], tuple[ErrorCode, ErrorCode]] = {
    ConnectorError: (_E.PAYER_ERROR, _E.PAYEE_ERROR),
    PartyNotFound: (_E.PARTY_NOT_FOUND, _E.PARTY_NOT_FOUND),
    InsufficientFunds: (_E.PAYER_FSP_INSUFFICIENT_LIQUIDITY, _E.PAYEE_FSP_INSUFFICIENT_LIQUIDITY),
    LimitExceeded: (_E.PAYER_LIMIT_ERROR, _E.PAYEE_LIMIT_ERROR),
    Rejected: (_E.PAYER_REJECTION, _E.PAYEE_REJECTION),
    UnsupportedCurrency: (_E.PAYER_UNSUPPORTED_CURRENCY, _E.PAYEE_UNSUPPORTED_CURRENCY),
    PermissionDenied: (_E.PAYER_PERMISSION_ERROR, _E.PAYEE_PERMISSION_ERROR),
    Blocked: (_E.PAYER_BLOCKED_ERROR, _E.PAYEE_BLOCKED_ERROR),
    UnknownTransfer: (_E.TRANSFER_ID_NOT_FOUND, _E.TRANSFER_ID_NOT_FOUND),
    Unavailable: (_E.SERVICE_CURRENTLY_UNAVAILABLE, _E.SERVICE_CURRENTLY_UNAVAILABLE),
}


def code_for(exc: ConnectorError, role: Role) -> ErrorCode:
    """The FSPIOP code for a connector error: the explicit one, else the table's entry for
    the nearest mapped class."""
    if exc.code is not None:
        return exc.code
    for klass in type(exc).__mro__:
        if klass in CODES:
            payer, payee = CODES[klass]
            return payer if role is Role.PAYER else payee
    raise AssertionError(f"{type(exc).__name__} is not in the table")


def to_fspiop_error(exc: BaseException, role: Role) -> FspiopError:
    """The FSPIOP error for anything a connector raised, by the table in this module."""
    if isinstance(exc, FspiopError):
        return exc
    if isinstance(exc, ConnectorError):
        return FspiopError(code_for(exc, role), exc.message or None)
    return FspiopError(ErrorCode.INTERNAL_SERVER_ERROR, "core banking system error")
