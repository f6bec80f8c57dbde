"""Connector values to Backend API bodies and back (schemas of the v2.1.0 spec). An answer
that does not fit the schema raises ``Unavailable``: pm4ml cannot know what the backend did."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import quote as escape

from pm4ml.connectors import (
    IncomingTransfer,
    Money,
    Party,
    PartyId,
    QuoteRequest,
    QuoteTerms,
    TransactionRequest,
    TransactionRequestDecision,
    TransactionRequestState,
    Unavailable,
)


class BadAnswer:
    """Marker for a body that is not JSON."""


def garbage(what: str) -> Unavailable:
    return Unavailable(f"the core banking system answered garbage ({what})"[:128])


def amount_text(amount: Decimal) -> str:
    """A Backend API ``money`` string: plain digits, no exponent, no trailing zeros."""
    text = format(amount.normalize(), "f")
    return text


def party_path(party: PartyId, resource: str = "parties") -> str:
    """``/parties/{Type}/{ID}[/{SubId}]`` (or under ``resource``), each part escaped."""
    parts = [party.id_type, party.id_value] + ([party.sub_id] if party.sub_id else [])
    return f"/{resource}/" + "/".join(escape(part, safe="") for part in parts)


def fsp_from(answer: Any) -> str:
    """``participantsResponse``'s ``fspId``."""
    fsp = answer.get("fspId") if isinstance(answer, dict) else None
    if not isinstance(fsp, str) or not fsp:
        raise garbage("fspId")
    return fsp


def party_body(party: PartyId, fsp: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"idType": party.id_type, "idValue": party.id_value}
    if party.sub_id:
        body["idSubValue"] = party.sub_id
    if fsp:
        body["fspId"] = fsp
    return body


def _text(answer: dict[str, Any], key: str) -> str | None:
    value = answer.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise garbage(f"{key} is not a string")
    return value


def party_from(answer: Any, asked: PartyId) -> Party:
    """A ``transferParty`` answer; the id is the one asked for when the backend omits it."""
    if not isinstance(answer, dict):
        raise garbage("party is not an object")
    currencies = answer.get("supportedCurrencies") or []
    if not isinstance(currencies, list) or not all(
        isinstance(c, str) and len(c) == 3 for c in currencies
    ):
        raise garbage("supportedCurrencies")
    return Party(
        id=PartyId(
            _text(answer, "idType") or asked.id_type,
            _text(answer, "idValue") or asked.id_value,
            _text(answer, "idSubValue") or asked.sub_id,
        ),
        display_name=_text(answer, "displayName"),
        first_name=_text(answer, "firstName"),
        middle_name=_text(answer, "middleName"),
        last_name=_text(answer, "lastName"),
        date_of_birth=_text(answer, "dateOfBirth"),
        merchant_classification_code=_text(answer, "merchantClassificationCode"),
        supported_currencies=tuple(currencies),
    )


def money_from(answer: dict[str, Any], key: str, currency: str | None) -> Money | None:
    value = answer.get(key)
    if value is None:
        return None
    currency = answer.get(f"{key}Currency", currency)
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        raise garbage(f"{key} is not an amount") from None
    if not amount.is_finite() or not isinstance(currency, str) or len(currency) != 3:
        raise garbage(key)
    return Money(amount, currency)


def quote_body(request: QuoteRequest) -> dict[str, Any]:
    kind = request.transaction_type
    body: dict[str, Any] = {
        "quoteId": request.quote_id,
        "transactionId": request.transaction_id,
        "to": party_body(request.payee),
        "from": party_body(request.payer, request.payer_fsp)
        | ({"displayName": request.payer_name} if request.payer_name else {}),
        "amountType": request.amount_type.value,
        "amount": amount_text(request.amount.amount),
        "currency": request.amount.currency,
        "transactionType": kind.scenario,
        "initiator": kind.initiator,
        "initiatorType": kind.initiator_type,
    }
    if kind.sub_scenario:
        body["subScenario"] = kind.sub_scenario
    if request.note:
        body["note"] = request.note
    if request.expiration is not None:
        body["expiration"] = request.expiration.isoformat()
    if request.transaction_request_id:
        body["transactionRequestId"] = request.transaction_request_id
    return body


def terms_from(answer: Any, request: QuoteRequest) -> QuoteTerms:
    if not isinstance(answer, dict):
        raise garbage("quote is not an object")
    currency = request.amount.currency
    transfer = money_from(answer, "transferAmount", None)
    if transfer is None:
        raise garbage("no transferAmount")
    return QuoteTerms(
        transfer_amount=transfer,
        payee_receive_amount=money_from(answer, "payeeReceiveAmount", currency),
        payee_fsp_fee=money_from(answer, "payeeFspFeeAmount", currency),
        payee_fsp_commission=money_from(answer, "payeeFspCommissionAmount", currency),
        expiration=request.expiration,
    )


def incoming_body(transfer: IncomingTransfer) -> dict[str, Any]:
    """``transferRequest``. pm4ml has checked the ILP packet already, so ``ilpPacket.data``
    carries the transaction it describes, decoded, as the SDK does."""
    amount = amount_text(transfer.amount.amount)
    currency = transfer.amount.currency
    body: dict[str, Any] = {
        "transferId": transfer.transfer_id,
        "quote": {
            "quoteId": transfer.quote_id or transfer.transfer_id,
            "transactionId": transfer.transaction_id or transfer.transfer_id,
            "transferAmount": amount,
            "transferAmountCurrency": currency,
            "payeeReceiveAmount": amount,
            "payeeReceiveAmountCurrency": currency,
        },
        "from": party_body(transfer.payer, transfer.payer_fsp),
        "to": party_body(transfer.payee),
        "amountType": "RECEIVE",
        "amount": amount,
        "currency": currency,
        "transactionType": "TRANSFER",
        "ilpPacket": {
            "data": {
                "transactionId": transfer.transaction_id,
                "quoteId": transfer.quote_id,
                "payee": {"partyIdInfo": party_body(transfer.payee)},
                "payer": {"partyIdInfo": party_body(transfer.payer, transfer.payer_fsp)},
                "amount": {"amount": amount, "currency": currency},
            }
        },
    }
    if transfer.note:
        body["note"] = transfer.note
    return body


def transaction_request_body(request: TransactionRequest) -> dict[str, Any]:
    """``transactionRequest``: ``from`` is the payer (our customer), ``to`` the payee who asks,
    as in the SDK's quote and transfer bodies."""
    kind = request.transaction_type
    body: dict[str, Any] = {
        "transactionRequestId": request.transaction_request_id,
        "from": party_body(request.payer),
        "to": party_body(request.payee, request.payee_fsp)
        | ({"displayName": request.payee_name} if request.payee_name else {}),
        "amount": amount_text(request.amount.amount),
        "currency": request.amount.currency,
        "transactionType": kind.scenario,
        "initiator": kind.initiator,
        "initiatorType": kind.initiator_type,
    }
    if kind.sub_scenario:
        body["subScenario"] = kind.sub_scenario
    if request.note:
        body["note"] = request.note
    if request.authentication_type:
        body["authenticationType"] = request.authentication_type
    if request.expiration is not None:
        body["expiration"] = request.expiration.isoformat()
    return body


def decision_from(answer: Any) -> TransactionRequestDecision:
    if not isinstance(answer, dict):
        raise garbage("transaction request answer is not an object")
    try:
        state = TransactionRequestState(str(answer.get("transactionRequestState")))
    except ValueError:
        raise garbage("transactionRequestState") from None
    return TransactionRequestDecision(state, _text(answer, "transactionId"))
