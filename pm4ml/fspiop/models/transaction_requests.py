"""Transaction requests (request to pay) and authorizations (OTP)."""

from __future__ import annotations

from pm4ml.fspiop.models._types import (
    AuthenticationType,
    AuthorizationResponse,
    CorrelationId,
    DateTime,
    Text128,
    TransactionRequestState,
)
from pm4ml.fspiop.models.common import (
    AuthenticationInfo,
    ExtensionList,
    FspiopModel,
    GeoCode,
    Money,
    Party,
    PartyIdInfo,
    TransactionType,
)


class TransactionRequestsPostRequest(FspiopModel):
    """``POST /transactionRequests``: a payee asks a payer to pay."""

    transactionRequestId: CorrelationId
    payee: Party
    payer: PartyIdInfo
    amount: Money
    transactionType: TransactionType
    note: Text128 | None = None
    geoCode: GeoCode | None = None
    authenticationType: AuthenticationType | None = None
    expiration: DateTime | None = None
    extensionList: ExtensionList | None = None


class TransactionRequestsIDPutResponse(FspiopModel):
    """``PUT /transactionRequests/{ID}``."""

    transactionId: CorrelationId | None = None
    transactionRequestState: TransactionRequestState
    extensionList: ExtensionList | None = None


class AuthorizationsIDPutResponse(FspiopModel):
    """``PUT /authorizations/{ID}``: the payer's OTP (or refusal)."""

    authenticationInfo: AuthenticationInfo | None = None
    responseType: AuthorizationResponse
