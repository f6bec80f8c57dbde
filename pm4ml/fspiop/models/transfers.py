"""Transfers, including the ``PATCH`` notification."""

from __future__ import annotations

from pm4ml.fspiop.models._types import (
    CorrelationId,
    DateTime,
    FspId,
    IlpCondition,
    IlpFulfilment,
    IlpPacket,
    TransferState,
)
from pm4ml.fspiop.models.common import ExtensionList, FspiopModel, Money


class TransfersPostRequest(FspiopModel):
    """``POST /transfers``."""

    transferId: CorrelationId
    payeeFsp: FspId
    payerFsp: FspId
    amount: Money
    ilpPacket: IlpPacket
    condition: IlpCondition
    expiration: DateTime
    extensionList: ExtensionList | None = None


class TransfersIDPutResponse(FspiopModel):
    """``PUT /transfers/{ID}``."""

    fulfilment: IlpFulfilment | None = None
    completedTimestamp: DateTime | None = None
    transferState: TransferState
    extensionList: ExtensionList | None = None


class TransfersIDPatchResponse(FspiopModel):
    """``PATCH /transfers/{ID}``: the hub's final word after a ``RESERVED`` fulfilment."""

    completedTimestamp: DateTime
    transferState: TransferState
    extensionList: ExtensionList | None = None
