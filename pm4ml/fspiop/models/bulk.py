"""Bulk quotes and bulk transfers."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from pm4ml.fspiop.models._types import (
    AmountType,
    BulkTransferState,
    CorrelationId,
    DateTime,
    FspId,
    IlpCondition,
    IlpFulfilment,
    IlpPacket,
    Text128,
)
from pm4ml.fspiop.models.common import (
    ErrorInformation,
    ExtensionList,
    FspiopModel,
    GeoCode,
    Money,
    Party,
    TransactionType,
)


class IndividualQuote(FspiopModel):
    quoteId: CorrelationId
    transactionId: CorrelationId
    payee: Party
    amountType: AmountType
    amount: Money
    fees: Money | None = None
    transactionType: TransactionType
    note: Text128 | None = None
    extensionList: ExtensionList | None = None


class BulkQuotesPostRequest(FspiopModel):
    """``POST /bulkQuotes``."""

    bulkQuoteId: CorrelationId
    payer: Party
    geoCode: GeoCode | None = None
    expiration: DateTime | None = None
    individualQuotes: Annotated[list[IndividualQuote], Field(min_length=1, max_length=1000)]
    extensionList: ExtensionList | None = None


class IndividualQuoteResult(FspiopModel):
    quoteId: CorrelationId
    payee: Party | None = None
    transferAmount: Money | None = None
    payeeReceiveAmount: Money | None = None
    payeeFspFee: Money | None = None
    payeeFspCommission: Money | None = None
    ilpPacket: IlpPacket | None = None
    condition: IlpCondition | None = None
    errorInformation: ErrorInformation | None = None
    extensionList: ExtensionList | None = None


class BulkQuotesIDPutResponse(FspiopModel):
    """``PUT /bulkQuotes/{ID}``."""

    individualQuoteResults: (
        Annotated[list[IndividualQuoteResult], Field(max_length=1000)] | None
    ) = None
    expiration: DateTime
    extensionList: ExtensionList | None = None


class IndividualTransfer(FspiopModel):
    transferId: CorrelationId
    transferAmount: Money
    ilpPacket: IlpPacket
    condition: IlpCondition
    extensionList: ExtensionList | None = None


class BulkTransfersPostRequest(FspiopModel):
    """``POST /bulkTransfers``."""

    bulkTransferId: CorrelationId
    bulkQuoteId: CorrelationId
    payerFsp: FspId
    payeeFsp: FspId
    individualTransfers: Annotated[list[IndividualTransfer], Field(min_length=1, max_length=1000)]
    expiration: DateTime
    extensionList: ExtensionList | None = None


class IndividualTransferResult(FspiopModel):
    transferId: CorrelationId
    fulfilment: IlpFulfilment | None = None
    errorInformation: ErrorInformation | None = None
    extensionList: ExtensionList | None = None


class BulkTransfersIDPutResponse(FspiopModel):
    """``PUT /bulkTransfers/{ID}``."""

    completedTimestamp: DateTime | None = None
    individualTransferResults: (
        Annotated[list[IndividualTransferResult], Field(max_length=1000)] | None
    ) = None
    bulkTransferState: BulkTransferState
    extensionList: ExtensionList | None = None


class BulkTransfersIDPatchResponse(FspiopModel):
    """``PATCH /bulkTransfers/{ID}`` (FSPIOP 2.0)."""

    completedTimestamp: DateTime
    individualTransferResults: (
        Annotated[list[IndividualTransferResult], Field(max_length=1000)] | None
    ) = None
    bulkTransferState: BulkTransferState
    extensionList: ExtensionList | None = None
