"""Fineract's error answers to connector errors.

Fineract refuses with a JSON body whose ``errors[]`` entries (and the body itself) carry a
``userMessageGlobalisationCode``: 400 for validation errors, 403 for broken domain rules
(``validation.msg.domain.rule.violation``), 404 for unknown resources, 401 for bad
credentials, 500 when it fails. The codes pm4ml knows keep their meaning; the rest fall back
on the HTTP status::

    userMessageGlobalisationCode (any entry)              connector error
    ...transaction.insufficient.account.balance[.withdraw] InsufficientFunds
    ...savings.account.{credit,debit}.transaction.not.allowed,
    ...saving.account.blocked.transaction.not.allowed      Blocked
    ...transaction.account.is.not.active                   Blocked
    none of those, HTTP 404                                PartyNotFound / UnknownTransfer
    none of those, HTTP 400 or 403                         Rejected
    HTTP 401                                               Unavailable (credentials refused)
    HTTP 5xx                                               Unavailable
"""

from __future__ import annotations

from typing import Any

from pm4ml.connectors import (
    Blocked,
    ConnectorError,
    InsufficientFunds,
    Rejected,
    Unavailable,
)

_BY_CODE: dict[str, type[ConnectorError]] = {
    "error.msg.savingsaccount.transaction.insufficient.account.balance": InsufficientFunds,
    "error.msg.savingsaccount.transaction.insufficient.account.balance.withdraw": (
        InsufficientFunds
    ),
    "error.msg.savings.account.credit.transaction.not.allowed": Blocked,
    "error.msg.savings.account.debit.transaction.not.allowed": Blocked,
    "error.msg.saving.account.blocked.transaction.not.allowed": Blocked,
    "error.msg.savingsaccount.transaction.account.is.not.active": Blocked,
}


def codes_of(body: Any) -> list[str]:
    """Every ``userMessageGlobalisationCode`` of a Fineract error body, most specific first."""
    if not isinstance(body, dict):
        return []
    entries = body.get("errors")
    found = [
        entry["userMessageGlobalisationCode"]
        for entry in (entries if isinstance(entries, list) else [])
        if isinstance(entry, dict) and isinstance(entry.get("userMessageGlobalisationCode"), str)
    ]
    top = body.get("userMessageGlobalisationCode")
    return [*found, top] if isinstance(top, str) else found


def _message(body: Any, fallback: str) -> str:
    # defaultUserMessage is meant for end users; developerMessage may hold internals.
    text = None
    if isinstance(body, dict):
        entries = body.get("errors")
        first = entries[0] if isinstance(entries, list) and entries else None
        for candidate in (first, body):
            if isinstance(candidate, dict) and isinstance(candidate.get("defaultUserMessage"), str):
                text = candidate["defaultUserMessage"]
                break
    return (text or fallback)[:128]


def error_for(status: int, body: Any, *, not_found: type[ConnectorError]) -> ConnectorError:
    """The connector error for a non-2xx Fineract answer. ``body`` is the decoded JSON (or
    ``None``); ``not_found`` is what a 404 means for the request that got it."""
    for code in codes_of(body):
        if code in _BY_CODE:
            return _BY_CODE[code](_message(body, code))
    if status == 404:
        return not_found(_message(body, "not found in the core banking system"))
    if status == 401:
        return Unavailable("the core banking system refused pm4ml's credentials")
    if 400 <= status < 500:
        return Rejected(_message(body, f"the core banking system refused (HTTP {status})"))
    return Unavailable(f"the core banking system failed (HTTP {status})")
