"""Currency conversion (FSPIOP 2.0): ``/fxQuotes`` and ``/fxTransfers``."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from pm4ml.fspiop.models._types import (
    Amount,
    AmountType,
    CorrelationId,
    Currency,
    DateTime,
    FspId,
    IlpCondition,
    IlpFulfilment,
    TransferState,
)
from pm4ml.fspiop.models.common import ExtensionList, FspiopModel, Money


class FxMoney(FspiopModel):
    """Money whose amount may be left for the FXP to fill in."""

    currency: Currency
    amount: Amount | None = None


class FxCharge(FspiopModel):
    chargeType: Annotated[str, Field(min_length=1, max_length=32)]
    sourceAmount: Money | None = None
    targetAmount: Money | None = None


class FxConversion(FspiopModel):
    conversionId: CorrelationId
    determiningTransferId: CorrelationId | None = None
    initiatingFsp: FspId
    counterPartyFsp: FspId
    amountType: AmountType
    sourceAmount: FxMoney
    targetAmount: FxMoney
    expiration: DateTime
    charges: Annotated[list[FxCharge], Field(min_length=1, max_length=16)] | None = None
    extensionList: ExtensionList | None = None


class FxQuotesPostRequest(FspiopModel):
    """``POST /fxQuotes``."""

    conversionRequestId: CorrelationId
    conversionTerms: FxConversion


class FxQuotesIDPutResponse(FspiopModel):
    """``PUT /fxQuotes/{ID}``."""

    condition: IlpCondition | None = None
    conversionTerms: FxConversion


class FxTransfersPostRequest(FspiopModel):
    """``POST /fxTransfers``."""

    commitRequestId: CorrelationId
    determiningTransferId: CorrelationId | None = None
    initiatingFsp: FspId
    counterPartyFsp: FspId
    sourceAmount: Money
    targetAmount: Money
    condition: IlpCondition
    expiration: DateTime | None = None


class FxTransfersIDPutResponse(FspiopModel):
    """``PUT /fxTransfers/{ID}``."""

    fulfilment: IlpFulfilment | None = None
    completedTimestamp: DateTime | None = None
    conversionState: TransferState
    extensionList: ExtensionList | None = None


class FxTransfersIDPatchResponse(FspiopModel):
    """``PATCH /fxTransfers/{ID}``."""

    completedTimestamp: DateTime | None = None
    conversionState: TransferState
    extensionList: ExtensionList | None = None
