"""Request bodies and path parameters of the Outbound API's single-request endpoints
(sdk-scheme-adapter Outbound API v2.1.0): ``GET /parties``, ``POST /quotes``,
``POST /simpleTransfers``, ``POST /accounts`` and ``DELETE /accounts``.

The outer shapes are checked here; the FSPIOP bodies they carry (``quotesPostRequest``,
``transfersPostRequest``) are checked with the FSPIOP models, strictly, because the Outbound
API declares them ``additionalProperties: false``. Every failure is an ``FspiopError`` of the
3100 family naming the field, answered 400 before anything is sent.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, TypeVar

from pydantic import AfterValidator, Field

from pm4ml.connectors import PartyId
from pm4ml.fspiop import models as fspiop
from pm4ml.fspiop.errors import FspiopError
from pm4ml.outbound.models import PARTY_ID_TYPES, Currency, FspId, _Model, validate

#: Most accounts one ``POST /accounts`` may register (FSPIOP's ``partyList`` maximum; the
#: request is split into one ``POST /participants`` per currency anyway).
ACCOUNTS_MAX = 10_000

M = TypeVar("M", bound=_Model)
F = TypeVar("F", bound=fspiop.FspiopModel)


def _party_id_type(value: str) -> str:
    if value not in PARTY_ID_TYPES:
        raise ValueError(f"must be one of {', '.join(PARTY_ID_TYPES)}")
    return value


IdType = Annotated[str, AfterValidator(_party_id_type)]
IdValue = Annotated[str, Field(min_length=1, max_length=128)]


class PartyPath(_Model):
    """``{Type}/{ID}[/{SubId}]`` of ``GET /parties`` and ``DELETE /accounts``."""

    Type: IdType
    ID: IdValue
    SubId: IdValue | None = None

    def party(self) -> PartyId:
        return PartyId(self.Type, self.ID, self.SubId)


class Account(_Model):
    """One item of ``accountsRequest``."""

    idType: IdType
    idValue: IdValue
    idSubValue: IdValue | None = None
    currency: Currency | None = None


class AccountsRequest(_Model):
    """``accountsRequest`` is a bare JSON array; it is validated under this one field so that
    an error names the item (``accounts.2.idType``)."""

    accounts: Annotated[list[Account], Field(max_length=ACCOUNTS_MAX)]


class SimpleQuoteRequest(_Model):
    """``simpleQuotesPostRequest``."""

    fspId: FspId
    quotesPostRequest: dict[str, Any]


class SimpleTransferRequest(_Model):
    """``simpleTransfersPostRequest``."""

    fspId: FspId
    transfersPostRequest: dict[str, Any]


def _checked(model: type[M], body: Any) -> M:
    value = validate(model, body)
    assert isinstance(value, model)
    return value


def party_path(params: Mapping[str, str]) -> PartyId:
    """The party named by a request path; 3100 for an unknown type or a bad identifier."""
    return _checked(PartyPath, dict(params)).party()


def accounts(body: Any) -> list[dict[str, Any]]:
    """The accounts of a ``POST /accounts`` body, as JSON without unset fields."""
    checked = _checked(AccountsRequest, {"accounts": body})
    return [item.model_dump(exclude_none=True) for item in checked.accounts]


def _inner(model: type[F], field: str, body: dict[str, Any]) -> F:
    """An FSPIOP body carried in ``field``; the error names the field it sits in."""
    try:
        return fspiop.parse(model, body, strict=True)
    except FspiopError as error:
        raise FspiopError(error.code, f"{field}.{error.description}"[:128]) from None


def simple_quote(body: Any) -> tuple[SimpleQuoteRequest, fspiop.QuotesPostRequest]:
    """A ``POST /quotes`` body and its ``quotesPostRequest`` as an FSPIOP model."""
    checked = _checked(SimpleQuoteRequest, body)
    quote = _inner(fspiop.QuotesPostRequest, "quotesPostRequest", checked.quotesPostRequest)
    return checked, quote


def simple_transfer(body: Any) -> tuple[SimpleTransferRequest, fspiop.TransfersPostRequest]:
    """A ``POST /simpleTransfers`` body and its ``transfersPostRequest`` as an FSPIOP model."""
    checked = _checked(SimpleTransferRequest, body)
    transfer = _inner(
        fspiop.TransfersPostRequest, "transfersPostRequest", checked.transfersPostRequest
    )
    return checked, transfer
