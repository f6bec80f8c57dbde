"""FSPIOP error codes and the one exception type that carries them.

Every failure that reaches the wire is an :class:`FspiopError`. Foreign errors (httpx,
connectors, the database, pydantic) are translated into one at exactly one boundary with
``raise FspiopError(...) from exc``. The hierarchy follows the first digit (category) of the
FSPIOP error code, API Definition v1.1 section 7.6::

    FspiopError                      any FSPIOP error; .code is an ErrorCode
    ├── CommunicationError           1xxx  the peer or the hub could not be reached
    ├── ServerError                  2xxx  our own (or the peer's) server failed
    ├── ClientError                  3xxx  the request is wrong
    │   ├── ValidationError          31xx  headers, signature, schema
    │   ├── IdNotFoundError          32xx  party, quote, transfer ... unknown
    │   └── ExpiredError             33xx  quote, transfer, transaction request expired
    ├── PayerError                   4xxx  the payer side refuses
    ├── PayeeError                   5xxx  the payee side refuses
    └── ThirdpartyError              7xxx  PISP / third-party API errors

The class is chosen from the code (``FspiopError(ErrorCode.PARTY_NOT_FOUND)`` builds an
``IdNotFoundError``), so ``except ExpiredError`` works for every expiry code without a list.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from typing import Any, ClassVar, NamedTuple


class _Code(NamedTuple):
    code: str
    description: str
    http_status: int


class ErrorCode(_Code, enum.Enum):
    """Every FSPIOP error code with its fixed description and the HTTP status used when the
    error is returned synchronously (a 4xx/5xx response instead of a ``PUT .../error``).

    Names and descriptions are those of the reference table (sdk-standard-components
    ``errors/index.js``, identical in central-services-error-handling ``src/errors.js``, which
    adds 2006). The HTTP status is the one the hub computes (central-services-error-handling
    ``enums.js``): the code's own status where the table gives one, else its category's
    (1xxx 503, 2xxx 500, 3xxx-5xxx 400). The hub has no category for 7xxx; we answer 400.

    ``3000`` has two entries, as in the reference: ``CLIENT_ERROR`` (400) and
    ``METHOD_NOT_ALLOWED`` (405). :meth:`from_code` returns ``CLIENT_ERROR``.
    """

    COMMUNICATION_ERROR = _Code("1000", "Communication error", 503)
    DESTINATION_COMMUNICATION_ERROR = _Code("1001", "Destination communication error", 503)

    SERVER_ERROR = _Code("2000", "Generic server error", 500)
    INTERNAL_SERVER_ERROR = _Code("2001", "Internal server error", 500)
    NOT_IMPLEMENTED = _Code("2002", "Not implemented", 501)
    SERVICE_CURRENTLY_UNAVAILABLE = _Code("2003", "Service currently unavailable", 503)
    SERVER_TIMED_OUT = _Code("2004", "Server timed out", 500)
    SERVER_BUSY = _Code("2005", "Server busy", 500)
    PARTY_RESOLUTION_FAILURE = _Code("2006", "Temporary party resolution failed, try again", 503)

    CLIENT_ERROR = _Code("3000", "Generic client error", 400)
    METHOD_NOT_ALLOWED = _Code("3000", "Generic client error - Method Not Allowed", 405)
    UNACCEPTABLE_VERSION = _Code("3001", "Unacceptable version requested", 406)
    UNKNOWN_URI = _Code("3002", "Unknown URI", 404)
    ADD_PARTY_INFO_ERROR = _Code("3003", "Add Party information error", 400)
    DELETE_PARTY_INFO_ERROR = _Code("3040", "Delete Party information error", 400)

    VALIDATION_ERROR = _Code("3100", "Generic validation error", 400)
    MALFORMED_SYNTAX = _Code("3101", "Malformed syntax", 400)
    MISSING_ELEMENT = _Code("3102", "Missing mandatory element", 400)
    TOO_MANY_ELEMENTS = _Code("3103", "Too many elements", 400)
    TOO_LARGE_PAYLOAD = _Code("3104", "Too large payload", 400)
    INVALID_SIGNATURE = _Code("3105", "Invalid signature", 400)
    MODIFIED_REQUEST = _Code("3106", "Modified request", 400)
    MISSING_MANDATORY_EXTENSION = _Code("3107", "Missing mandatory extension parameter", 400)

    ID_NOT_FOUND = _Code("3200", "Generic ID not found", 400)
    DESTINATION_FSP_ERROR = _Code("3201", "Destination FSP Error", 400)
    PAYER_FSP_ID_NOT_FOUND = _Code("3202", "Payer FSP ID not found", 400)
    PAYEE_FSP_ID_NOT_FOUND = _Code("3203", "Payee FSP ID not found", 400)
    PARTY_NOT_FOUND = _Code("3204", "Party not found", 400)
    QUOTE_ID_NOT_FOUND = _Code("3205", "Quote ID not found", 400)
    TXN_REQUEST_ID_NOT_FOUND = _Code("3206", "Transaction request ID not found", 400)
    TXN_ID_NOT_FOUND = _Code("3207", "Transaction ID not found", 400)
    TRANSFER_ID_NOT_FOUND = _Code("3208", "Transfer ID not found", 400)
    BULK_QUOTE_ID_NOT_FOUND = _Code("3209", "Bulk quote ID not found", 400)
    BULK_TRANSFER_ID_NOT_FOUND = _Code("3210", "Bulk transfer ID not found", 400)

    EXPIRED_ERROR = _Code("3300", "Generic expired error", 400)
    TXN_REQUEST_EXPIRED = _Code("3301", "Transaction request expired", 400)
    QUOTE_EXPIRED = _Code("3302", "Quote expired", 400)
    TRANSFER_EXPIRED = _Code("3303", "Transfer expired", 400)

    PAYER_ERROR = _Code("4000", "Generic Payer error", 400)
    PAYER_FSP_INSUFFICIENT_LIQUIDITY = _Code("4001", "Payer FSP insufficient liquidity", 400)
    PAYER_REJECTION = _Code("4100", "Generic Payer rejection", 400)
    PAYER_REJECTED_TXN_REQUEST = _Code("4101", "Payer rejected transaction request", 400)
    PAYER_FSP_UNSUPPORTED_TXN_TYPE = _Code("4102", "Payer FSP unsupported transaction type", 400)
    PAYER_UNSUPPORTED_CURRENCY = _Code("4103", "Payer unsupported currency", 400)
    PAYER_LIMIT_ERROR = _Code("4200", "Payer limit error", 400)
    PAYER_PERMISSION_ERROR = _Code("4300", "Payer permission error", 400)
    PAYER_BLOCKED_ERROR = _Code("4400", "Generic Payer blocked error", 400)

    PAYEE_ERROR = _Code("5000", "Generic Payee error", 400)
    PAYEE_FSP_INSUFFICIENT_LIQUIDITY = _Code("5001", "Payee FSP insufficient liquidity", 400)
    PAYEE_REJECTION = _Code("5100", "Generic Payee rejection", 400)
    PAYEE_REJECTED_QUOTE = _Code("5101", "Payee rejected quote", 400)
    PAYEE_FSP_UNSUPPORTED_TXN_TYPE = _Code("5102", "Payee FSP unsupported transaction type", 400)
    PAYEE_FSP_REJECTED_QUOTE = _Code("5103", "Payee FSP rejected quote", 400)
    PAYEE_REJECTED_TXN = _Code("5104", "Payee rejected transaction", 400)
    PAYEE_FSP_REJECTED_TXN = _Code("5105", "Payee FSP rejected transaction", 400)
    PAYEE_UNSUPPORTED_CURRENCY = _Code("5106", "Payee unsupported currency", 400)
    PAYEE_IDENTIFIER_NOT_VALID = _Code("5107", "Payee identifier no-longer valid", 400)
    PAYEE_LIMIT_ERROR = _Code("5200", "Payee limit error", 400)
    PAYEE_PERMISSION_ERROR = _Code("5300", "Payee permission error", 400)
    PAYEE_BLOCKED_ERROR = _Code("5400", "Generic Payee blocked error", 400)

    TP_ERROR = _Code("7000", "Generic Thirdparty error", 400)
    TP_TRANSACTION_ERROR = _Code("7100", "Generic Thirdparty transaction error", 400)
    TP_FSP_TRANSACTION_REQUEST_NOT_VALID = _Code(
        "7101", "Transaction request failed DFSP validation", 400
    )
    TP_FSP_TRANSACTION_UPDATE_FAILED = _Code(
        "7102", "Transaction request PUT update send to PISP failed", 400
    )
    TP_FSP_TRANSACTION_REQUEST_QUOTE_FAILED = _Code(
        "7103", "Transaction request quote send to payee DFSP failed", 400
    )
    TP_FSP_TRANSACTION_REQUEST_AUTHORIZATION_FAILED = _Code(
        "7104", "Transaction request for user authorization send to PISP failed", 400
    )
    TP_FSP_TRANSACTION_AUTHORIZATION_NOT_VALID = _Code(
        "7105", "Authorization received from PISP failed DFSP validation", 400
    )
    TP_FSP_TRANSACTION_AUTHORIZATION_REJECTED_BY_USER = _Code(
        "7106", "DFSP received reject by user authorization, so transaction cancelled", 400
    )
    TP_FSP_TRANSACTION_AUTHORIZATION_UNEXPECTED = _Code(
        "7107", "DFSP received unexpected authorization responseType", 400
    )
    TP_FSP_TRANSACTION_TRANSFER_FAILED = _Code("7108", "Transaction request transfer failed", 400)
    TP_FSP_TRANSACTION_NOTIFICATION_FAILED = _Code(
        "7109", "Transaction request notification failed", 400
    )

    TP_ACCOUNT_LINKING_ERROR = _Code("7200", "Generic Thirdparty account linking error", 400)
    TP_NO_SERVICE_PROVIDERS_FOUND = _Code("7201", "No thirdparty enabled FSP found", 400)
    TP_NO_ACCOUNTS_FOUND = _Code("7202", "No accounts found for generic ID", 400)
    TP_NO_SUPPORTED_AUTH_CHANNELS = _Code(
        "7203", "FSP does not support any requested authentication channels", 400
    )
    TP_NO_SUPPORTED_SCOPE_ACTIONS = _Code(
        "7204", "FSP does not support any requested scope actions", 400
    )
    TP_OTP_VALIDATION_ERROR = _Code("7205", "OTP failed validation", 400)
    TP_FSP_OTP_VALIDATION_ERROR = _Code("7206", "FSP failed to validate OTP", 400)
    TP_FSP_CONSENT_SCOPES_ERROR = _Code(
        "7207", "FSP failed retrieve scopes for consent request", 400
    )
    TP_CONSENT_REQ_VALIDATION_ERROR = _Code("7208", "FSP failed to validate consent request", 400)
    TP_FSP_CONSENT_REQ_NO_SCOPES = _Code("7209", "FSP does not find scopes suitable", 400)
    TP_NO_TRUSTED_CALLBACK_URI = _Code("7210", "FSP does not trust PISP callback URI", 400)
    TP_CONSENT_REQ_USER_NOT_ALLOWED = _Code(
        "7211", "FSP does not allow consent requests for specified username", 400
    )
    TP_SIGNED_CHALLENGE_MISMATCH = _Code(
        "7212", "Signed challenge does not match derived challenge", 400
    )
    TP_CONSENT_INVALID = _Code("7213", "Consent is invalid", 400)
    TP_FAILED_REG_ACCOUNT_LINKS = _Code("7214", "Failed to register account links with oracle", 400)

    TP_AUTH_SERVICE_ERROR = _Code("7300", "Generic Thirdparty auth service error", 400)

    @classmethod
    def from_code(cls, code: str) -> ErrorCode:
        """The table entry for a four-digit code; unknown codes fall back to the generic code
        of their category (``3999`` -> ``3000``, so a peer's custom code still classifies)."""
        found = _BY_CODE.get(code)
        if found is not None:
            return found
        if len(code) == 4 and code.isdigit():
            for fallback in (code[:2] + "00", code[0] + "000"):
                if fallback in _BY_CODE:
                    return _BY_CODE[fallback]
        return cls.SERVER_ERROR


# Built in reverse so that the first entry of a code wins: "3000" is CLIENT_ERROR, not the
# 405 variant listed after it.
_BY_CODE: dict[str, ErrorCode] = {member.code: member for member in reversed(ErrorCode)}


class FspiopError(Exception):
    """An FSPIOP error: a code from the table, an optional more specific description and
    optional extensions (``key``/``value`` pairs sent in ``errorInformation.extensionList``).

    ``code_text`` keeps the exact code received from a peer when it is not in our table (a
    scheme-specific ``5xxx`` code, say) so that it is reported back unchanged.
    """

    category: ClassVar[str] = ""

    def __new__(cls, code: ErrorCode, *args: Any, **kwargs: Any) -> FspiopError:
        if cls is FspiopError:
            cls = _class_for(code.code)
        return super().__new__(cls)

    def __init__(
        self,
        code: ErrorCode,
        description: str | None = None,
        *,
        extensions: Mapping[str, str] | Iterable[tuple[str, str]] | None = None,
        code_text: str | None = None,
    ) -> None:
        self.code = code
        self.code_text = code_text or code.code
        self.description = (description or code.description)[:128]
        # A list, not a dict: a key may repeat (406 lists one {major: minor} pair per version).
        pairs = extensions.items() if isinstance(extensions, Mapping) else extensions or ()
        self.extensions: list[tuple[str, str]] = [(str(k), str(v)) for k, v in pairs]
        super().__init__(f"{self.code_text} {self.description}")

    @property
    def http_status(self) -> int:
        return self.code.http_status

    def to_body(self) -> dict[str, Any]:
        """The ``ErrorInformationObject`` body for a ``PUT .../error`` callback or a 4xx/5xx."""
        info: dict[str, Any] = {
            "errorCode": self.code_text,
            "errorDescription": self.description,
        }
        if self.extensions:
            # The spec allows 1..16 extensions, keys 1..32 chars, values 1..128 chars.
            info["extensionList"] = {
                "extension": [
                    {"key": key[:32], "value": (value or "-")[:128]}
                    for key, value in self.extensions[:16]
                ]
            }
        return {"errorInformation": info}

    @classmethod
    def from_body(cls, body: dict[str, Any]) -> FspiopError:
        """Rebuild the error a peer sent us in an ``errorInformation`` body."""
        info = body.get("errorInformation") or {}
        code_text = str(info.get("errorCode") or "2000")
        extensions = [
            (str(item.get("key")), str(item.get("value")))
            for item in (info.get("extensionList") or {}).get("extension") or []
            if isinstance(item, dict)
        ]
        return cls(
            ErrorCode.from_code(code_text),
            str(info.get("errorDescription") or "") or None,
            extensions=extensions,
            code_text=code_text,
        )

    def __reduce__(self) -> Any:
        return (_rebuild, (self.code, self.description, self.extensions, self.code_text))


def _rebuild(
    code: ErrorCode, description: str, extensions: list[tuple[str, str]], code_text: str
) -> FspiopError:
    return FspiopError(code, description, extensions=extensions, code_text=code_text)


class CommunicationError(FspiopError):
    category = "1"


class ServerError(FspiopError):
    category = "2"


class ClientError(FspiopError):
    category = "3"


class ValidationError(ClientError):
    category = "31"


class IdNotFoundError(ClientError):
    category = "32"


class ExpiredError(ClientError):
    category = "33"


class PayerError(FspiopError):
    category = "4"


class PayeeError(FspiopError):
    category = "5"


class ThirdpartyError(FspiopError):
    category = "7"


_CLASSES: tuple[type[FspiopError], ...] = (
    ValidationError,
    IdNotFoundError,
    ExpiredError,
    CommunicationError,
    ServerError,
    ClientError,
    PayerError,
    PayeeError,
    ThirdpartyError,
)


def _class_for(code: str) -> type[FspiopError]:
    for klass in _CLASSES:
        if code.startswith(klass.category):
            return klass
    return ServerError


__all__ = [
    "ClientError",
    "CommunicationError",
    "ErrorCode",
    "ExpiredError",
    "FspiopError",
    "IdNotFoundError",
    "PayeeError",
    "PayerError",
    "ServerError",
    "ThirdpartyError",
    "ValidationError",
]
