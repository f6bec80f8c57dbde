"""FSPIOP 1.1 and 2.0 data models (pydantic v2), one model per message body.

One model set serves both versions: the 2.0 additions (``supportedCurrencies``, FX fields,
ULID ids, the ``fx*`` resources) are optional fields or extra models, since everything 1.1
requires 2.0 requires too. What differs is strictness about undefined fields: 1.1 allows them,
2.0 forbids them, so :func:`parse` refuses them only for a 2.0 message.

Attribute names are the spec's JSON names, so a model and its JSON read the same. Amounts are
``Decimal`` (never float) that serialise back to the exact text received; dates stay the text
received. :func:`to_wire` gives the canonical bytes pm4ml sends and signs.

:func:`parse` turns every validation failure into an :class:`FspiopError` whose description
names the field (a JSON path such as ``amount.currency``):

=========================================  ====  =========================
failure                                    code  name
=========================================  ====  =========================
not JSON, or not a JSON object             3101  Malformed syntax
a required element is missing              3102  Missing mandatory element
an array longer than allowed (extensions)  3103  Too many elements
an undefined field in a 2.0 message        3100  Generic validation error
any other pattern, enum, length or type    3100  Generic validation error
=========================================  ====  =========================
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from pm4ml.fspiop import canonical
from pm4ml.fspiop.errors import ErrorCode, FspiopError
from pm4ml.fspiop.models.bulk import (
    BulkQuotesIDPutResponse,
    BulkQuotesPostRequest,
    BulkTransfersIDPatchResponse,
    BulkTransfersIDPutResponse,
    BulkTransfersPostRequest,
    IndividualQuote,
    IndividualQuoteResult,
    IndividualTransfer,
    IndividualTransferResult,
)
from pm4ml.fspiop.models.common import (
    AuthenticationInfo,
    ErrorInformation,
    ErrorInformationObject,
    Extension,
    ExtensionList,
    FspiopModel,
    GeoCode,
    Money,
    Party,
    PartyComplexName,
    PartyIdInfo,
    PartyPersonalInfo,
    Refund,
    TransactionType,
)
from pm4ml.fspiop.models.fx import (
    FxCharge,
    FxConversion,
    FxMoney,
    FxQuotesIDPutResponse,
    FxQuotesPostRequest,
    FxTransfersIDPatchResponse,
    FxTransfersIDPutResponse,
    FxTransfersPostRequest,
)
from pm4ml.fspiop.models.parties import (
    ParticipantsIDPutResponse,
    ParticipantsPostRequest,
    ParticipantsTypeIDPutResponse,
    ParticipantsTypeIDSubIDPostRequest,
    PartiesTypeIDPutResponse,
    PartyResult,
)
from pm4ml.fspiop.models.quotes import QuotesIDPutResponse, QuotesPostRequest
from pm4ml.fspiop.models.transaction_requests import (
    AuthorizationsIDPutResponse,
    TransactionRequestsIDPutResponse,
    TransactionRequestsPostRequest,
)
from pm4ml.fspiop.models.transfers import (
    TransfersIDPatchResponse,
    TransfersIDPutResponse,
    TransfersPostRequest,
)

M = TypeVar("M", bound=FspiopModel)


def parse(model: type[M], body: bytes | str | Mapping[str, Any], *, strict: bool = False) -> M:
    """Validate a body; ``strict`` (FSPIOP 2.0) also refuses fields the spec does not define.
    Raises ``FspiopError`` (3100 family) naming the field."""
    if isinstance(body, bytes | str):
        try:
            body = json.loads(body)
        except ValueError:
            raise FspiopError(ErrorCode.MALFORMED_SYNTAX, "body is not valid JSON") from None
    if not isinstance(body, Mapping):
        raise FspiopError(ErrorCode.MALFORMED_SYNTAX, "body is not a JSON object")
    try:
        value = model.model_validate(body)
    except ValidationError as exc:
        raise _to_fspiop(exc) from None
    if strict:
        _refuse_extras(value, "")
    return value


def to_wire(model: BaseModel) -> bytes:
    """The canonical bytes of a model: what pm4ml sends, signs and hashes."""
    return canonical.dumps(model.model_dump(mode="json", exclude_none=True))


def _path(location: tuple[int | str, ...]) -> str:
    parts: list[str] = []
    for part in location:
        if isinstance(part, int):
            parts[-1:] = [f"{parts[-1] if parts else ''}[{part}]"]
        else:
            parts.append(part)
    return ".".join(parts) or "body"


def _to_fspiop(exc: ValidationError) -> FspiopError:
    error = exc.errors()[0]
    where = _path(tuple(part for part in error["loc"] if not str(part).startswith("function-")))
    kind = error["type"]
    if kind == "missing":
        code = ErrorCode.MISSING_ELEMENT
    elif (
        kind == "too_long"
        and isinstance((error.get("ctx") or {}).get("max_length"), int)
        and (isinstance(error.get("input"), list))
    ):
        code = ErrorCode.TOO_MANY_ELEMENTS
    else:
        code = ErrorCode.VALIDATION_ERROR
    message = error["msg"].removeprefix("Value error, ")
    return FspiopError(code, f"{where}: {message}"[:128])


def _refuse_extras(value: BaseModel, where: str) -> None:
    for name in value.model_extra or {}:
        raise FspiopError(ErrorCode.VALIDATION_ERROR, f"{where}{name}: not a defined field")
    for name in type(value).model_fields:
        child = getattr(value, name)
        items = child if isinstance(child, list) else [child]
        for item in items:
            if isinstance(item, BaseModel):
                _refuse_extras(item, f"{where}{name}.")


__all__ = [
    "AuthenticationInfo",
    "AuthorizationsIDPutResponse",
    "BulkQuotesIDPutResponse",
    "BulkQuotesPostRequest",
    "BulkTransfersIDPatchResponse",
    "BulkTransfersIDPutResponse",
    "BulkTransfersPostRequest",
    "ErrorInformation",
    "ErrorInformationObject",
    "Extension",
    "ExtensionList",
    "FspiopModel",
    "FxCharge",
    "FxConversion",
    "FxMoney",
    "FxQuotesIDPutResponse",
    "FxQuotesPostRequest",
    "FxTransfersIDPatchResponse",
    "FxTransfersIDPutResponse",
    "FxTransfersPostRequest",
    "GeoCode",
    "IndividualQuote",
    "IndividualQuoteResult",
    "IndividualTransfer",
    "IndividualTransferResult",
    "Money",
    "ParticipantsIDPutResponse",
    "ParticipantsPostRequest",
    "ParticipantsTypeIDPutResponse",
    "ParticipantsTypeIDSubIDPostRequest",
    "PartiesTypeIDPutResponse",
    "Party",
    "PartyComplexName",
    "PartyIdInfo",
    "PartyPersonalInfo",
    "PartyResult",
    "QuotesIDPutResponse",
    "QuotesPostRequest",
    "Refund",
    "TransactionRequestsIDPutResponse",
    "TransactionRequestsPostRequest",
    "TransactionType",
    "TransfersIDPatchResponse",
    "TransfersIDPutResponse",
    "TransfersPostRequest",
    "parse",
    "to_wire",
]
