"""Parties and participants (the account lookup service)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from pm4ml.fspiop.models._types import CorrelationId, Currency, FspId
from pm4ml.fspiop.models.common import (
    ErrorInformation,
    ExtensionList,
    FspiopModel,
    Party,
    PartyIdInfo,
)


class PartiesTypeIDPutResponse(FspiopModel):
    """``PUT /parties/{Type}/{ID}[/{SubId}]``."""

    party: Party


class ParticipantsTypeIDSubIDPostRequest(FspiopModel):
    """``POST /participants/{Type}/{ID}[/{SubId}]``: register one alias."""

    fspId: FspId
    currency: Currency | None = None
    extensionList: ExtensionList | None = None


class ParticipantsTypeIDPutResponse(FspiopModel):
    """``PUT /participants/{Type}/{ID}[/{SubId}]``."""

    fspId: FspId | None = None


class ParticipantsPostRequest(FspiopModel):
    """``POST /participants``: register several aliases at once."""

    requestId: CorrelationId
    partyList: Annotated[list[PartyIdInfo], Field(min_length=1, max_length=10000)]
    currency: Currency | None = None


class PartyResult(FspiopModel):
    partyId: PartyIdInfo
    errorInformation: ErrorInformation | None = None


class ParticipantsIDPutResponse(FspiopModel):
    """``PUT /participants/{ID}``: the outcome per alias of a ``POST /participants``."""

    partyList: Annotated[list[PartyResult], Field(min_length=1, max_length=10000)]
    currency: Currency | None = None
