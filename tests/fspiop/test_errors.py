"""The FSPIOP error table and the error type: complete, exact, and lossless on the wire.

Goal: every code the reference knows (sdk-standard-components ``errors/index.js`` and
central-services-error-handling, listed in shared/PROTOCOL.md section 4) is in ``ErrorCode``
with the reference's exact description and the HTTP status the hub uses; every error gets the
class of its category; an ``errorInformation`` body survives ``to_body``/``from_body``, a peer's
unknown code included; and the spec's size limits hold on what we send.
Method: the expected table is written out below by hand (not derived from the code under test)
and compared in both directions; the rest are small parametrised checks.
"""

from __future__ import annotations

import pickle
import re
from typing import Any

import pytest

from pm4ml.fspiop.errors import (
    ClientError,
    CommunicationError,
    ErrorCode,
    ExpiredError,
    FspiopError,
    IdNotFoundError,
    PayeeError,
    PayerError,
    ServerError,
    ThirdpartyError,
    ValidationError,
)

# (code, description) exactly as in the reference tables.
EXPECTED: set[tuple[str, str]] = {
    ("1000", "Communication error"),
    ("1001", "Destination communication error"),
    ("2000", "Generic server error"),
    ("2001", "Internal server error"),
    ("2002", "Not implemented"),
    ("2003", "Service currently unavailable"),
    ("2004", "Server timed out"),
    ("2005", "Server busy"),
    ("2006", "Temporary party resolution failed, try again"),
    ("3000", "Generic client error"),
    ("3000", "Generic client error - Method Not Allowed"),
    ("3001", "Unacceptable version requested"),
    ("3002", "Unknown URI"),
    ("3003", "Add Party information error"),
    ("3040", "Delete Party information error"),
    ("3100", "Generic validation error"),
    ("3101", "Malformed syntax"),
    ("3102", "Missing mandatory element"),
    ("3103", "Too many elements"),
    ("3104", "Too large payload"),
    ("3105", "Invalid signature"),
    ("3106", "Modified request"),
    ("3107", "Missing mandatory extension parameter"),
    ("3200", "Generic ID not found"),
    ("3201", "Destination FSP Error"),
    ("3202", "Payer FSP ID not found"),
    ("3203", "Payee FSP ID not found"),
    ("3204", "Party not found"),
    ("3205", "Quote ID not found"),
    ("3206", "Transaction request ID not found"),
    ("3207", "Transaction ID not found"),
    ("3208", "Transfer ID not found"),
    ("3209", "Bulk quote ID not found"),
    ("3210", "Bulk transfer ID not found"),
    ("3300", "Generic expired error"),
    ("3301", "Transaction request expired"),
    ("3302", "Quote expired"),
    ("3303", "Transfer expired"),
    ("4000", "Generic Payer error"),
    ("4001", "Payer FSP insufficient liquidity"),
    ("4100", "Generic Payer rejection"),
    ("4101", "Payer rejected transaction request"),
    ("4102", "Payer FSP unsupported transaction type"),
    ("4103", "Payer unsupported currency"),
    ("4200", "Payer limit error"),
    ("4300", "Payer permission error"),
    ("4400", "Generic Payer blocked error"),
    ("5000", "Generic Payee error"),
    ("5001", "Payee FSP insufficient liquidity"),
    ("5100", "Generic Payee rejection"),
    ("5101", "Payee rejected quote"),
    ("5102", "Payee FSP unsupported transaction type"),
    ("5103", "Payee FSP rejected quote"),
    ("5104", "Payee rejected transaction"),
    ("5105", "Payee FSP rejected transaction"),
    ("5106", "Payee unsupported currency"),
    ("5107", "Payee identifier no-longer valid"),
    ("5200", "Payee limit error"),
    ("5300", "Payee permission error"),
    ("5400", "Generic Payee blocked error"),
    ("7000", "Generic Thirdparty error"),
    ("7100", "Generic Thirdparty transaction error"),
    ("7101", "Transaction request failed DFSP validation"),
    ("7102", "Transaction request PUT update send to PISP failed"),
    ("7103", "Transaction request quote send to payee DFSP failed"),
    ("7104", "Transaction request for user authorization send to PISP failed"),
    ("7105", "Authorization received from PISP failed DFSP validation"),
    ("7106", "DFSP received reject by user authorization, so transaction cancelled"),
    ("7107", "DFSP received unexpected authorization responseType"),
    ("7108", "Transaction request transfer failed"),
    ("7109", "Transaction request notification failed"),
    ("7200", "Generic Thirdparty account linking error"),
    ("7201", "No thirdparty enabled FSP found"),
    ("7202", "No accounts found for generic ID"),
    ("7203", "FSP does not support any requested authentication channels"),
    ("7204", "FSP does not support any requested scope actions"),
    ("7205", "OTP failed validation"),
    ("7206", "FSP failed to validate OTP"),
    ("7207", "FSP failed retrieve scopes for consent request"),
    ("7208", "FSP failed to validate consent request"),
    ("7209", "FSP does not find scopes suitable"),
    ("7210", "FSP does not trust PISP callback URI"),
    ("7211", "FSP does not allow consent requests for specified username"),
    ("7212", "Signed challenge does not match derived challenge"),
    ("7213", "Consent is invalid"),
    ("7214", "Failed to register account links with oracle"),
    ("7300", "Generic Thirdparty auth service error"),
}

# Where the hub (central-services-error-handling) gives a code its own status; every other
# code takes its category's: 1xxx 503, 2xxx 500, 3xxx-5xxx 400 (7xxx: no hub category, 400).
SPECIAL_STATUS: dict[ErrorCode, int] = {
    ErrorCode.NOT_IMPLEMENTED: 501,
    ErrorCode.SERVICE_CURRENTLY_UNAVAILABLE: 503,
    ErrorCode.PARTY_RESOLUTION_FAILURE: 503,
    ErrorCode.METHOD_NOT_ALLOWED: 405,
    ErrorCode.UNACCEPTABLE_VERSION: 406,
    ErrorCode.UNKNOWN_URI: 404,
}
CATEGORY_STATUS = {"1": 503, "2": 500, "3": 400, "4": 400, "5": 400, "7": 400}


def test_table_is_exactly_the_reference_table() -> None:
    actual = {(member.code, member.description) for member in ErrorCode}
    assert actual - EXPECTED == set(), "codes or descriptions not in the reference"
    assert EXPECTED - actual == set(), "reference codes missing from ErrorCode"


def test_codes_are_unique_except_the_405_variant_of_3000() -> None:
    codes = [member.code for member in ErrorCode]
    duplicates = {code for code in codes if codes.count(code) > 1}
    assert duplicates == {"3000"}
    assert codes.count("3000") == 2
    assert ErrorCode.from_code("3000") is ErrorCode.CLIENT_ERROR


@pytest.mark.parametrize("member", list(ErrorCode), ids=lambda m: m.name)
def test_member_shape(member: ErrorCode) -> None:
    assert re.fullmatch(r"[1-9]\d{3}", member.code)
    assert 1 <= len(member.description) <= 128
    expected = SPECIAL_STATUS.get(member, CATEGORY_STATUS[member.code[0]])
    assert member.http_status == expected


@pytest.mark.parametrize("member", list(ErrorCode), ids=lambda m: m.name)
def test_from_code_finds_every_member(member: ErrorCode) -> None:
    found = ErrorCode.from_code(member.code)
    assert (found.code, found.description) == (member.code, member.description) or (
        member is ErrorCode.METHOD_NOT_ALLOWED and found is ErrorCode.CLIENT_ERROR
    )


@pytest.mark.parametrize(
    ("code", "klass", "parents"),
    [
        (ErrorCode.DESTINATION_COMMUNICATION_ERROR, CommunicationError, ()),
        (ErrorCode.SERVER_TIMED_OUT, ServerError, ()),
        (ErrorCode.PARTY_RESOLUTION_FAILURE, ServerError, ()),
        (ErrorCode.UNACCEPTABLE_VERSION, ClientError, ()),
        (ErrorCode.METHOD_NOT_ALLOWED, ClientError, ()),
        (ErrorCode.DELETE_PARTY_INFO_ERROR, ClientError, ()),
        (ErrorCode.MALFORMED_SYNTAX, ValidationError, (ClientError,)),
        (ErrorCode.INVALID_SIGNATURE, ValidationError, (ClientError,)),
        (ErrorCode.PARTY_NOT_FOUND, IdNotFoundError, (ClientError,)),
        (ErrorCode.BULK_TRANSFER_ID_NOT_FOUND, IdNotFoundError, (ClientError,)),
        (ErrorCode.EXPIRED_ERROR, ExpiredError, (ClientError,)),
        (ErrorCode.QUOTE_EXPIRED, ExpiredError, (ClientError,)),
        (ErrorCode.TRANSFER_EXPIRED, ExpiredError, (ClientError,)),
        (ErrorCode.PAYER_LIMIT_ERROR, PayerError, ()),
        (ErrorCode.PAYEE_REJECTED_QUOTE, PayeeError, ()),
        (ErrorCode.TP_CONSENT_INVALID, ThirdpartyError, ()),
        (ErrorCode.TP_FSP_TRANSACTION_NOTIFICATION_FAILED, ThirdpartyError, ()),
    ],
    ids=lambda value: getattr(value, "name", None) or getattr(value, "__name__", "-"),
)
def test_class_follows_category(
    code: ErrorCode, klass: type[FspiopError], parents: tuple[type[FspiopError], ...]
) -> None:
    error = FspiopError(code)
    assert type(error) is klass
    for parent in (*parents, FspiopError, Exception):
        assert isinstance(error, parent)


@pytest.mark.parametrize("member", list(ErrorCode), ids=lambda m: m.name)
def test_every_member_round_trips_through_the_body(member: ErrorCode) -> None:
    sent = FspiopError(member, extensions=[("reason", "account closed")])
    body = sent.to_body()
    assert body["errorInformation"]["errorCode"] == member.code
    assert body["errorInformation"]["errorDescription"] == member.description
    received = FspiopError.from_body(body)
    assert received.to_body() == body
    assert type(received) is type(sent)
    assert received.code_text == member.code


def test_body_shape_matches_the_spec_example() -> None:
    error = FspiopError(ErrorCode.PARTY_NOT_FOUND, extensions={"reason": "account closed"})
    assert error.to_body() == {
        "errorInformation": {
            "errorCode": "3204",
            "errorDescription": "Party not found",
            "extensionList": {"extension": [{"key": "reason", "value": "account closed"}]},
        }
    }
    assert (
        "extensionList" not in FspiopError(ErrorCode.PARTY_NOT_FOUND).to_body()["errorInformation"]
    )


def test_specific_description_replaces_the_table_text() -> None:
    error = FspiopError(ErrorCode.QUOTE_EXPIRED, "quote 7c23 expired at 10:15:30")
    assert error.description == "quote 7c23 expired at 10:15:30"
    assert str(error) == "3302 quote 7c23 expired at 10:15:30"
    assert error.http_status == 400


@pytest.mark.parametrize(
    ("code_text", "member", "klass"),
    [
        ("5999", ErrorCode.PAYEE_ERROR, PayeeError),
        ("5123", ErrorCode.PAYEE_REJECTION, PayeeError),
        ("3999", ErrorCode.CLIENT_ERROR, ClientError),
        ("3399", ErrorCode.EXPIRED_ERROR, ExpiredError),
        ("7999", ErrorCode.TP_ERROR, ThirdpartyError),
        ("9999", ErrorCode.SERVER_ERROR, ServerError),
        ("abc", ErrorCode.SERVER_ERROR, ServerError),
    ],
)
def test_unknown_peer_code_keeps_its_text(
    code_text: str, member: ErrorCode, klass: type[FspiopError]
) -> None:
    body = {"errorInformation": {"errorCode": code_text, "errorDescription": "Scheme rule 17"}}
    error = FspiopError.from_body(body)
    assert error.code is member
    assert type(error) is klass
    assert error.code_text == code_text
    assert error.description == "Scheme rule 17"
    assert error.to_body() == body


@pytest.mark.parametrize(
    "body",
    [{}, {"errorInformation": None}, {"errorInformation": {"errorCode": "3204"}}],
    ids=["empty", "null-information", "no-description"],
)
def test_from_body_tolerates_incomplete_bodies(body: dict[str, Any]) -> None:
    error = FspiopError.from_body(body)
    info = error.to_body()["errorInformation"]
    assert re.fullmatch(r"[1-9]\d{3}", info["errorCode"])
    assert info["errorDescription"] == error.code.description


def test_extension_limits_hold_on_what_we_send() -> None:
    pairs = [(f"k{i}" + "x" * 40, "v" * 200) for i in range(20)] + [("empty", "")]
    error = FspiopError(ErrorCode.VALIDATION_ERROR, "d" * 300, extensions=pairs)
    info = error.to_body()["errorInformation"]
    extensions = info["extensionList"]["extension"]
    assert len(info["errorDescription"]) == 128
    assert len(extensions) == 16
    assert all(len(item["key"]) == 32 and len(item["value"]) == 128 for item in extensions)
    assert FspiopError(ErrorCode.VALIDATION_ERROR, extensions=[("empty", "")]).to_body()[
        "errorInformation"
    ]["extensionList"]["extension"] == [{"key": "empty", "value": "-"}]


def test_repeated_extension_keys_are_kept_in_order() -> None:
    # The 406 answer lists one {major: minor} pair per supported version, so "1" repeats.
    error = FspiopError(
        ErrorCode.UNACCEPTABLE_VERSION, extensions=[("1", "0"), ("1", "1"), ("2", "0")]
    )
    assert error.to_body()["errorInformation"]["extensionList"]["extension"] == [
        {"key": "1", "value": "0"},
        {"key": "1", "value": "1"},
        {"key": "2", "value": "0"},
    ]
    assert error.http_status == 406


def test_errors_pickle_with_their_class_and_fields() -> None:
    error = FspiopError.from_body(
        {"errorInformation": {"errorCode": "3399", "errorDescription": "custom expiry"}}
    )
    copy = pickle.loads(pickle.dumps(error))  # noqa: S301 - our own bytes
    assert type(copy) is ExpiredError
    assert (copy.code, copy.code_text, copy.description) == (
        ErrorCode.EXPIRED_ERROR,
        "3399",
        "custom expiry",
    )
