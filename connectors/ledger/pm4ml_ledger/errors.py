"""Errors of the ledger's administration API (the CLI and the tests use it).

The connector methods raise the ``pm4ml.connectors`` errors instead, because pm4ml maps those
to FSPIOP error codes; these are for operators and print as they are.
"""

from __future__ import annotations


class LedgerError(Exception):
    """An administration request was refused; the message says why."""


class AccountExists(LedgerError):
    """An account for this party and currency is already open."""


class AccountNotFound(LedgerError, LookupError):
    """No account for this party and currency."""
