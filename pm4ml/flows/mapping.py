"""Pure mapping between FSPIOP bodies (validated JSON) and the connector's value types.

Kept apart from the flows so it can be tested without I/O, resource by resource.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from pm4ml.connectors import (
    AmountType,
    IncomingTransfer,
    Money,
    Party,
    PartyId,
    QuoteRequest,
    QuoteTerms,
    TransactionType,
)
from pm4ml.fspiop.errors import ErrorCode, FspiopError
from pm4ml.fspiop.ilp import Ilp


def fspiop_amount(value: Decimal) -> str:
    """FSPIOP amount text: no exponent, no trailing zeros (``Decimal("10.50")`` -> ``"10.5"``)."""
    text = format(value.normalize(), "f")
    return text


def money_json(money: Money) -> dict[str, str]:
    return {"amount": fspiop_amount(money.amount), "currency": money.currency}


def money_from(value: Mapping[str, Any]) -> Money:
    return Money(Decimal(str(value["amount"])), str(value["currency"]))


def fspiop_datetime(value: datetime) -> str:
    """FSPIOP DateTime with millisecond precision in UTC: ``2030-01-01T12:00:00.000Z``."""
    utc = value.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def parse_datetime(value: str) -> datetime:
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def party_id_from(info: Mapping[str, Any]) -> PartyId:
    """A ``PartyIdInfo`` object as a connector ``PartyId``."""
    return PartyId(
        id_type=str(info["partyIdType"]),
        id_value=str(info["partyIdentifier"]),
        sub_id=info.get("partySubIdOrType"),
    )


def party_id_info(party: PartyId, fsp_id: str | None) -> dict[str, Any]:
    info: dict[str, Any] = {"partyIdType": party.id_type, "partyIdentifier": party.id_value}
    if party.sub_id:
        info["partySubIdOrType"] = party.sub_id
    if fsp_id:
        info["fspId"] = fsp_id
    return info


def party_body(party: Party, requested: PartyId, fsp_id: str, version: str) -> dict[str, Any]:
    """The ``PUT /parties`` body for a customer the CBS found. The identifier echoes the one
    that was asked for: the hub matches the callback to the request by it."""
    body: dict[str, Any] = {"partyIdInfo": party_id_info(requested, fsp_id)}
    if party.display_name:
        body["name"] = party.display_name[:128]
    complex_name = {
        key: value[:128]
        for key, value in (
            ("firstName", party.first_name),
            ("middleName", party.middle_name),
            ("lastName", party.last_name),
        )
        if value
    }
    personal: dict[str, Any] = {}
    if complex_name:
        personal["complexName"] = complex_name
    if party.date_of_birth:
        personal["dateOfBirth"] = party.date_of_birth
    if personal:
        body["personalInfo"] = personal
    if party.merchant_classification_code:
        body["merchantClassificationCode"] = party.merchant_classification_code
    if version.startswith("2") and party.supported_currencies:
        body["supportedCurrencies"] = list(party.supported_currencies)
    return {"party": body}


def transaction_type_from(value: Mapping[str, Any]) -> TransactionType:
    refund = value.get("refundInfo") or {}
    return TransactionType(
        scenario=str(value.get("scenario", "TRANSFER")),
        initiator=str(value.get("initiator", "PAYER")),
        initiator_type=str(value.get("initiatorType", "CONSUMER")),
        sub_scenario=value.get("subScenario"),
        refund_of=refund.get("originalTransactionId"),
    )


def quote_request_from(body: Mapping[str, Any]) -> QuoteRequest:
    payer = body["payer"]
    payer_info = payer["partyIdInfo"]
    expiration = body.get("expiration")
    return QuoteRequest(
        quote_id=str(body["quoteId"]),
        transaction_id=str(body["transactionId"]),
        payee=party_id_from(body["payee"]["partyIdInfo"]),
        payer=party_id_from(payer_info),
        payer_fsp=str(payer_info.get("fspId") or ""),
        amount=money_from(body["amount"]),
        amount_type=AmountType(body["amountType"]),
        transaction_type=transaction_type_from(body.get("transactionType") or {}),
        payer_name=payer.get("name"),
        note=body.get("note"),
        expiration=parse_datetime(expiration) if expiration else None,
        transaction_request_id=body.get("transactionRequestId"),
    )


def quote_response_body(terms: QuoteTerms, expiration: datetime) -> dict[str, Any]:
    """The ``PUT /quotes/{ID}`` body without its ILP fields (which are computed over it)."""
    body: dict[str, Any] = {
        "transferAmount": money_json(terms.transfer_amount),
        "expiration": fspiop_datetime(expiration),
    }
    optional = (
        ("payeeReceiveAmount", terms.payee_receive_amount),
        ("payeeFspFee", terms.payee_fsp_fee),
        ("payeeFspCommission", terms.payee_fsp_commission),
    )
    for key, money in optional:
        if money is not None:
            body[key] = money_json(money)
    return body


def incoming_transfer(
    body: Mapping[str, Any], quote_request: Mapping[str, Any], quote_response: Mapping[str, Any]
) -> IncomingTransfer:
    """What the CBS credits: the payee receive amount the quote promised (the transfer
    amount when the quote named no separate receive amount)."""
    receive = quote_response.get("payeeReceiveAmount") or quote_response["transferAmount"]
    payer_info = quote_request["payer"]["partyIdInfo"]
    return IncomingTransfer(
        transfer_id=str(body["transferId"]),
        quote_id=str(quote_request["quoteId"]),
        transaction_id=str(quote_request["transactionId"]),
        payee=party_id_from(quote_request["payee"]["partyIdInfo"]),
        payer=party_id_from(payer_info),
        payer_fsp=str(body["payerFsp"]),
        amount=money_from(receive),
        expiration=parse_datetime(str(body["expiration"])),
        note=quote_request.get("note"),
    )


def check_quote_answer(
    quote_id: str,
    quote: Mapping[str, Any],
    *,
    ilp: Ilp,
    now: datetime,
    currency: str | None = None,
) -> None:
    """The payer's checks on a ``PUT /quotes/{ID}``: refuse one that cannot be read, has
    expired, is in another currency, has no condition, or whose ILP packet does not describe
    this quote and amount (the payer would hold and send the wrong amount)."""
    amount = quote.get("transferAmount") or {}
    if currency is not None and amount.get("currency") != currency:
        raise FspiopError(ErrorCode.VALIDATION_ERROR, "quote is in another currency")
    if not quote.get("condition"):
        raise FspiopError(ErrorCode.MISSING_ELEMENT, "quote has no condition")
    try:
        expiration = parse_datetime(str(quote.get("expiration")))
        txn = ilp.transaction_object(str(quote.get("ilpPacket")))
    except (ValueError, FspiopError):
        raise FspiopError(ErrorCode.VALIDATION_ERROR, "the quote cannot be read") from None
    if expiration <= now:
        raise FspiopError(ErrorCode.QUOTE_EXPIRED, "the quote has expired")
    if txn.get("quoteId") != quote_id or txn.get("amount") != amount:
        raise FspiopError(ErrorCode.VALIDATION_ERROR, "ilpPacket does not match the quote")
