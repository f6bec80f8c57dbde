"""Quotes."""

from __future__ import annotations

from typing import Any

from pm4ml.fspiop.models._types import (
    AmountType,
    CorrelationId,
    DateTime,
    IlpCondition,
    IlpPacket,
    Text128,
)
from pm4ml.fspiop.models.common import (
    ExtensionList,
    FspiopModel,
    GeoCode,
    Money,
    Party,
    TransactionType,
)


class QuotesPostRequest(FspiopModel):
    """``POST /quotes``."""

    quoteId: CorrelationId
    transactionId: CorrelationId
    transactionRequestId: CorrelationId | None = None
    payee: Party
    payer: Party
    amountType: AmountType
    amount: Money
    fees: Money | None = None
    transactionType: TransactionType
    converter: str | None = None  # FSPIOP 2.0 (FX)
    currencyConversion: dict[str, Any] | None = None  # FSPIOP 2.0 (FX)
    geoCode: GeoCode | None = None
    note: Text128 | None = None
    expiration: DateTime | None = None
    extensionList: ExtensionList | None = None


class QuotesIDPutResponse(FspiopModel):
    """``PUT /quotes/{ID}``."""

    transferAmount: Money
    payeeReceiveAmount: Money | None = None
    payeeFspFee: Money | None = None
    payeeFspCommission: Money | None = None
    expiration: DateTime
    geoCode: GeoCode | None = None
    ilpPacket: IlpPacket
    condition: IlpCondition
    extensionList: ExtensionList | None = None
