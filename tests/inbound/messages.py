"""FSPIOP request bodies for the payee tests, built the way a payer DFSP builds them."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from pm4ml.flows.mapping import fspiop_datetime


def later(seconds: float = 60) -> str:
    return fspiop_datetime(datetime.now(UTC) + timedelta(seconds=seconds))


def quote_request(
    amount: str = "100", *, payee_id: str = "27713803912", currency: str = "USD", **extra: Any
) -> dict[str, Any]:
    return {
        "quoteId": str(uuid.uuid4()),
        "transactionId": str(uuid.uuid4()),
        "payee": {"partyIdInfo": {"partyIdType": "MSISDN", "partyIdentifier": payee_id,
                                  "fspId": "payeefsp"}},
        "payer": {"partyIdInfo": {"partyIdType": "MSISDN", "partyIdentifier": "44123456789",
                                  "fspId": "payerfsp"}, "name": "Mats Hagman"},
        "amountType": "SEND",
        "amount": {"amount": amount, "currency": currency},
        "transactionType": {"scenario": "TRANSFER", "initiator": "PAYER",
                            "initiatorType": "CONSUMER"},
        "expiration": later(60),
        **extra,
    }  # fmt: skip


def transfer_request(quote: dict[str, Any], answer: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """The POST /transfers a payer sends after the quote ``answer`` (PUT /quotes body)."""
    return {
        "transferId": quote["transactionId"],
        "payerFsp": "payerfsp",
        "payeeFsp": "payeefsp",
        "amount": answer["transferAmount"],
        "ilpPacket": answer["ilpPacket"],
        "condition": answer["condition"],
        "expiration": later(30),
        **extra,
    }
