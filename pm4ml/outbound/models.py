"""Request bodies of the outbound API (sdk-scheme-adapter Outbound API v2.1.0), validated
with pydantic. A bad body is refused with 400 before anything is stored or sent."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from pm4ml.fspiop.errors import ErrorCode, FspiopError

AMOUNT = r"^([0]|([1-9][0-9]{0,17}))([.][0-9]{0,3}[1-9])?$"
PARTY_ID_TYPES = (
    "MSISDN", "EMAIL", "PERSONAL_ID", "BUSINESS", "DEVICE", "ACCOUNT_ID", "IBAN", "ALIAS",
)  # fmt: skip

Amount = Annotated[str, Field(pattern=AMOUNT)]
Currency = Annotated[str, Field(pattern=r"^[A-Z]{3}$")]
FspId = Annotated[str, Field(min_length=1, max_length=32)]
Text128 = Annotated[str, Field(min_length=1, max_length=128)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TransferParty(_Model):
    type: Literal["CONSUMER", "AGENT", "BUSINESS", "DEVICE"] | None = None
    idType: Literal[PARTY_ID_TYPES]  # type: ignore[valid-type]
    idValue: Annotated[str, Field(min_length=1, max_length=128)]
    idSubValue: Annotated[str, Field(min_length=1, max_length=128)] | None = None
    displayName: Text128 | None = None
    firstName: Text128 | None = None
    middleName: Text128 | None = None
    lastName: Text128 | None = None
    dateOfBirth: Annotated[str, Field(pattern=r"^\d{4}-\d{2}-\d{2}$")] | None = None
    merchantClassificationCode: Annotated[str, Field(pattern=r"^[\d]{1,4}$")] | None = None
    fspId: FspId | None = None
    supportedCurrencies: list[Currency] | None = None
    extensionList: Any = None


class TransferRequest(_Model):
    homeTransactionId: Annotated[str, Field(min_length=1, max_length=128)]
    from_: TransferParty = Field(alias="from")
    to: TransferParty
    amountType: Literal["SEND", "RECEIVE"]
    currency: Currency
    amount: Amount
    transactionType: Literal["TRANSFER"]
    subScenario: Annotated[str, Field(pattern=r"^[A-Z_]{1,32}$")] | None = None
    note: Annotated[str, Field(min_length=1, max_length=128)] | None = None
    quoteRequestExtensions: Any = None
    transferRequestExtensions: Any = None
    skipPartyLookup: bool | None = None
    prepareExpirySeconds: Annotated[int, Field(ge=1)] | None = None


class AcceptParty(_Model):
    acceptParty: bool


class AcceptQuote(_Model):
    acceptQuote: bool


def validate(model: type[_Model], body: Any) -> _Model:
    """Validate an outbound request body; ``FspiopError`` 3100 naming the field on failure."""
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "body"
        code = (
            ErrorCode.MISSING_ELEMENT if first["type"] == "missing" else ErrorCode.VALIDATION_ERROR
        )
        raise FspiopError(code, f"{where}: {first['msg']}"[:128]) from None
