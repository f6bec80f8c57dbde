"""Shaping outbound API answers from a stored transfer, as the sdk-scheme-adapter Outbound API
v2.1.0 defines them (``transferResponse``, ``errorTransferResponse``,
``transferStatusResponse``). Pure: a row in, JSON out."""

from __future__ import annotations

from typing import Any

from pm4ml.flows.states import TransferState
from pm4ml.fspiop.errors import ErrorCode, FspiopError
from pm4ml.store.schema import Transfer

S = TransferState

COMPLETED = "COMPLETED"
ERROR_OCCURRED = "ERROR_OCCURRED"
WAITING_FOR_PARTY_ACCEPTANCE = "WAITING_FOR_PARTY_ACCEPTANCE"
WAITING_FOR_QUOTE_ACCEPTANCE = "WAITING_FOR_QUOTE_ACCEPTANCE"


def current_state(row: Transfer) -> str:
    """The Outbound API ``currentState`` for a stored transfer."""
    waiting = (row.data or {}).get("waiting")
    if row.state == S.COMMITTED:
        return COMPLETED
    if waiting and row.state == S.PARTY_RECEIVED:
        return WAITING_FOR_PARTY_ACCEPTANCE
    if waiting and row.state == S.QUOTE_RECEIVED:
        return WAITING_FOR_QUOTE_ACCEPTANCE
    return ERROR_OCCURRED


def last_error(row: Transfer) -> FspiopError | None:
    body = (row.data or {}).get("last_error")
    return FspiopError.from_body(body) if body else None


def _to_party(request_to: dict[str, Any], party_answer: dict[str, Any] | None) -> dict[str, Any]:
    """The ``to`` party enriched with what the lookup returned (names, fspId)."""
    to = dict(request_to)
    party = (party_answer or {}).get("party") or {}
    info = party.get("partyIdInfo") or {}
    if info.get("fspId"):
        to["fspId"] = info["fspId"]
    if party.get("name"):
        to["displayName"] = party["name"]
    names = (party.get("personalInfo") or {}).get("complexName") or {}
    for key in ("firstName", "middleName", "lastName"):
        if names.get(key):
            to[key] = names[key]
    dob = (party.get("personalInfo") or {}).get("dateOfBirth")
    if dob:
        to["dateOfBirth"] = dob
    if party.get("supportedCurrencies"):
        to["supportedCurrencies"] = party["supportedCurrencies"]
    return to


def transfer_response(row: Transfer) -> dict[str, Any]:
    """``transferResponse``: the request, echoed and completed with every step's answer."""
    data = row.data or {}
    request = data.get("request") or {}
    body: dict[str, Any] = {
        "transferId": row.transfer_id,
        "homeTransactionId": request.get("homeTransactionId", row.home_transaction_id),
        "from": request.get("from"),
        "to": _to_party(request.get("to") or {}, data.get("party")),
        "amountType": request.get("amountType"),
        "currency": request.get("currency"),
        "amount": request.get("amount"),
        "transactionType": request.get("transactionType", "TRANSFER"),
        "currentState": current_state(row),
    }
    for key in ("note", "subScenario", "skipPartyLookup"):
        if key in request:
            body[key] = request[key]
    if row.quote_id:
        body["quoteId"] = row.quote_id
    if data.get("party"):
        body["getPartiesResponse"] = {"body": data["party"], "headers": {}}
    if data.get("quote"):
        body["quoteResponse"] = {"body": data["quote"], "headers": {}}
        body["quoteResponseSource"] = row.payee_fsp
    if data.get("fulfil"):
        body["fulfil"] = {"body": data["fulfil"], "headers": {}}
    error = last_error(row)
    if error is not None and body["currentState"] == ERROR_OCCURRED:
        body["lastError"] = {
            "httpStatusCode": error.http_status,
            "mojaloopError": error.to_body(),
        }
    return body


def error_body(error: FspiopError, row: Transfer | None = None) -> dict[str, Any]:
    """``errorTransferResponse`` (with the transfer's state) or ``errorResponse``."""
    body: dict[str, Any] = {"message": error.description, "statusCode": error.code_text}
    if row is not None:
        body["transferState"] = transfer_response(row)
    return body


def failure_status(row: Transfer) -> int:
    """HTTP status for a transfer that did not complete: 504 when a peer did not answer in
    time, else 500 (the Outbound API's two error statuses for ``POST /transfers``)."""
    error = last_error(row)
    if error is not None and error.code is ErrorCode.SERVER_TIMED_OUT:
        return 504
    return 500


def status_response(row: Transfer) -> dict[str, Any]:
    """``transferStatusResponse`` for ``GET /transfers/{transferId}``."""
    fulfil = (row.data or {}).get("fulfil") or {"transferState": _fspiop_state(row)}
    return {
        "transferId": row.transfer_id,
        "currentState": current_state(row),
        "fulfil": {"body": fulfil, "headers": {}},
    }


def _fspiop_state(row: Transfer) -> str:
    if row.state == S.COMMITTED:
        return "COMMITTED"
    if row.state in (S.ABORTED, S.FAILED):
        return "ABORTED"
    return "RECEIVED"
