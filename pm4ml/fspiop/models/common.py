"""Complex types shared by every resource: money, parties, transaction types, errors,
extensions."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from pm4ml.fspiop.models._types import (
    Amount,
    AuthenticationType,
    BalanceOfPayments,
    CorrelationId,
    Currency,
    Date,
    ErrorCodeText,
    ExtensionKey,
    FspId,
    Latitude,
    Longitude,
    MerchantClassificationCode,
    Name,
    PartyIdType,
    SubScenario,
    Text128,
    TransactionInitiator,
    TransactionInitiatorType,
    TransactionScenario,
)


class FspiopModel(BaseModel):
    """Base of every FSPIOP body model: frozen; JSON names as in the spec. Fields the spec does
    not define are kept (FSPIOP 1.1 allows them); :func:`pm4ml.fspiop.models.parse` refuses
    them for FSPIOP 2.0, whose definitions forbid them."""

    model_config = ConfigDict(frozen=True, extra="allow", populate_by_name=True)


class Extension(FspiopModel):
    key: ExtensionKey
    value: Text128


class ExtensionList(FspiopModel):
    extension: Annotated[list[Extension], Field(min_length=1, max_length=16)]


class Money(FspiopModel):
    """An amount (``Decimal``, never float) and its currency."""

    currency: Currency
    amount: Amount

    def minor_units(self) -> int:
        """The amount in the currency's minor units (ISO 4217 exponent)."""
        from pm4ml.fspiop.currencies import scale_amount

        return scale_amount(self.amount, self.currency)


class ErrorInformation(FspiopModel):
    errorCode: ErrorCodeText
    errorDescription: Text128
    extensionList: ExtensionList | None = None


class ErrorInformationObject(FspiopModel):
    errorInformation: ErrorInformation


class PartyIdInfo(FspiopModel):
    partyIdType: PartyIdType
    partyIdentifier: Annotated[str, Field(min_length=1, max_length=128)]
    partySubIdOrType: Annotated[str, Field(min_length=1, max_length=128)] | None = None
    fspId: FspId | None = None
    extensionList: ExtensionList | None = None


class PartyComplexName(FspiopModel):
    firstName: Name | None = None
    middleName: Name | None = None
    lastName: Name | None = None


class PartyPersonalInfo(FspiopModel):
    complexName: PartyComplexName | None = None
    dateOfBirth: Date | None = None
    kycInformation: Annotated[str, Field(min_length=1, max_length=2048)] | None = None


class Party(FspiopModel):
    partyIdInfo: PartyIdInfo
    merchantClassificationCode: MerchantClassificationCode | None = None
    name: Text128 | None = None
    personalInfo: PartyPersonalInfo | None = None
    supportedCurrencies: Annotated[list[Currency], Field(min_length=1, max_length=16)] | None = None


class Refund(FspiopModel):
    originalTransactionId: CorrelationId
    refundReason: Text128 | None = None


class TransactionType(FspiopModel):
    scenario: TransactionScenario
    subScenario: SubScenario | None = None
    initiator: TransactionInitiator
    initiatorType: TransactionInitiatorType
    refundInfo: Refund | None = None
    balanceOfPayments: BalanceOfPayments | None = None


class GeoCode(FspiopModel):
    latitude: Latitude
    longitude: Longitude


class AuthenticationInfo(FspiopModel):
    authentication: AuthenticationType
    authenticationValue: Annotated[str, Field(min_length=1, max_length=64)] | dict[str, Any]


__all__ = [
    "AuthenticationInfo",
    "ErrorInformation",
    "ErrorInformationObject",
    "Extension",
    "ExtensionList",
    "FspiopModel",
    "GeoCode",
    "Money",
    "Party",
    "PartyComplexName",
    "PartyIdInfo",
    "PartyPersonalInfo",
    "Refund",
    "TransactionType",
]
