"""Scalar FSPIOP types: patterns, enumerations and length limits of the FSPIOP 1.1 and 2.0
definitions, as ``Annotated`` aliases.

Byte fidelity: a body pm4ml parses and later re-emits (or signs, or hashes into an ILP packet)
must not change. So dates stay the exact strings received (``DateTime`` is text checked by the
spec's pattern, turned into a ``datetime`` only where compared), and amounts, ``Decimal`` in
Python, serialise back to the same text (the pattern admits no trailing zeros or exponents).
"""

from __future__ import annotations

import re
import unicodedata
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BeforeValidator, Field, PlainSerializer

from pm4ml.fspiop.models._currencies import CURRENCY_CODES

AMOUNT_PATTERN = re.compile(r"^([0]|([1-9][0-9]{0,17}))([.][0-9]{0,3}[1-9])?$")
UUID_PATTERN = r"^[0-9a-f]{8}-[0-9a-f]{4}-[1-7][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$"
ULID_PATTERN = r"^[0-9A-HJKMNP-TV-Z]{26}$"
_DATE = (
    r"(?:[1-9]\d{3}-(?:(?:0[1-9]|1[0-2])-(?:0[1-9]|1\d|2[0-8])|(?:0[13-9]|1[0-2])-(?:29|30)"
    r"|(?:0[13578]|1[02])-31)|(?:[1-9]\d(?:0[48]|[2468][048]|[13579][26])"
    r"|(?:[2468][048]|[13579][26])00)-02-29)"
)
DATE_PATTERN = rf"^{_DATE}$"
DATETIME_PATTERN = (
    rf"^{_DATE}T(?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d(?:(\.\d{{3}}))(?:Z|[+-][01]\d:[0-5]\d)$"
)


def _amount(value: Any) -> Decimal:
    # FSPIOP amounts are JSON strings; a JSON number (a float, rounded by every parser) is an
    # error, never silently accepted.
    if not isinstance(value, str | Decimal):
        raise ValueError('must be a string such as "100.5"')
    text = value if isinstance(value, str) else format(value, "f")
    if not AMOUNT_PATTERN.match(text):
        raise ValueError("must match the FSPIOP Amount pattern (no sign, no trailing zeros)")
    return Decimal(text)


Amount = Annotated[
    Decimal,
    BeforeValidator(_amount),
    PlainSerializer(lambda value: format(value, "f"), return_type=str),
]


def _currency(value: str) -> str:
    if value not in CURRENCY_CODES:
        raise ValueError(f"{value!r} is not an FSPIOP currency code")
    return value


Currency = Annotated[str, AfterValidator(_currency)]
CorrelationId = Annotated[str, Field(pattern=f"{UUID_PATTERN}|{ULID_PATTERN}")]
FspId = Annotated[str, Field(min_length=1, max_length=32)]
DateTime = Annotated[str, Field(pattern=DATETIME_PATTERN)]
Date = Annotated[str, Field(pattern=DATE_PATTERN)]
Text128 = Annotated[str, Field(min_length=1, max_length=128)]
ExtensionKey = Annotated[str, Field(min_length=1, max_length=32)]
IlpPacket = Annotated[
    str, Field(pattern=r"^[A-Za-z0-9-_]+[=]{0,2}$", min_length=1, max_length=32768)
]
IlpCondition = Annotated[str, Field(pattern=r"^[A-Za-z0-9-_]{43}$", max_length=48)]
IlpFulfilment = IlpCondition
ErrorCodeText = Annotated[str, Field(pattern=r"^[1-9]\d{3}$")]
MerchantClassificationCode = Annotated[str, Field(pattern=r"^[\d]{1,4}$")]
SubScenario = Annotated[str, Field(pattern=r"^[A-Z_]{1,32}$")]
BalanceOfPayments = Annotated[str, Field(pattern=r"^[1-9]\d{2}$")]
Latitude = Annotated[
    str,
    Field(pattern=r"^(\+|-)?(?:90(?:(?:\.0{1,6})?)|(?:[0-9]|[1-8][0-9])(?:(?:\.[0-9]{1,6})?))$"),
]
Longitude = Annotated[
    str,
    Field(
        pattern=r"^(\+|-)?(?:180(?:(?:\.0{1,6})?)|(?:[0-9]|[1-9][0-9]|1[0-7][0-9])"
        r"(?:(?:\.[0-9]{1,6})?))$"
    ),
]

_NAME_EXTRA = frozenset(" .,'\u2019-\u200c\u200d")


def _name(value: str) -> str:
    """The spec's name pattern, ``[\\p{L}\\p{gc=Mark}\\p{digit}\\p{gc=Connector_Punctuation}
    \\p{Join_Control} .,''-]{1,128}`` and not blank, written with ``unicodedata`` because
    Python's ``re`` has no Unicode property classes. Accents and CJK names pass."""
    if not value.strip():
        raise ValueError("must not be blank")
    for char in value:
        category = unicodedata.category(char)
        if char in _NAME_EXTRA or category[0] in "LM" or category in ("Nd", "Pc"):
            continue
        raise ValueError(f"character {char!r} is not allowed in a name")
    return value


Name = Annotated[str, Field(min_length=1, max_length=128), AfterValidator(_name)]

PartyIdType = Literal[
    "MSISDN", "EMAIL", "PERSONAL_ID", "BUSINESS", "DEVICE", "ACCOUNT_ID", "IBAN", "ALIAS"
]
AmountType = Literal["SEND", "RECEIVE"]
TransactionScenario = Literal["DEPOSIT", "WITHDRAWAL", "TRANSFER", "PAYMENT", "REFUND"]
TransactionInitiator = Literal["PAYER", "PAYEE"]
TransactionInitiatorType = Literal["CONSUMER", "AGENT", "BUSINESS", "DEVICE"]
TransferState = Literal["RECEIVED", "RESERVED", "COMMITTED", "ABORTED"]
TransactionRequestState = Literal["RECEIVED", "PENDING", "ACCEPTED", "REJECTED"]
BulkTransferState = Literal[
    "RECEIVED", "PENDING", "ACCEPTED", "PROCESSING", "COMPLETED", "REJECTED"
]
AuthenticationType = Literal["OTP", "QRCODE", "U2F"]
AuthorizationResponse = Literal["ENTERED", "REJECTED", "RESEND"]
