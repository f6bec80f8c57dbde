"""ILP v1/v4 against the Node reference: every vector byte for byte, every edge case rejected.

Goal: a pm4ml payee must produce exactly the packet, condition and fulfilment a reference payee
produces (``shared/vectors/ilp_v1.json``, ``ilp_v4.json``), read packets made by older reference
releases, and raise a clear ``FspiopError`` wherever the reference truncates, wraps or throws.
Method: parametrise over the vector files (ids are the vector names) and compare every recorded
intermediate (transaction object, canonical JSON, data field, packet text and hex, HMAC key and
message, fulfilment, condition, decoded fields, transfer checks); then unit-test the strict
decoder, amount scaling and the secret-hiding reprs with small hand-made inputs.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from decimal import Decimal
from typing import Any

import pytest

from pm4ml.fspiop import canonical, oer
from pm4ml.fspiop.currencies import CURRENCY_SCALES, scale_amount
from pm4ml.fspiop.errors import ErrorCode, FspiopError
from pm4ml.fspiop.ilp import (
    ILP_V4_DESTINATION,
    Ilp,
    IlpTerms,
    IlpV1,
    IlpV4,
    check_transfer_against_packet,
    condition_for,
    fulfilment_matches,
    ilp_for_version,
    transaction_object_for_fx_quote,
    transaction_object_for_quote,
)
from tests.vectors import load_vector_file

FILES: dict[int, Any] = {1: load_vector_file("ilp_v1.json"), 4: load_vector_file("ilp_v4.json")}
SECRET = FILES[1]["secret"]

VECTORS = [
    pytest.param(version, vector, id=f"v{version}-{vector['id']}")
    for version, data in FILES.items()
    for vector in data["vectors"]
]
QUOTE_VECTORS = [
    pytest.param(version, vector, id=f"v{version}-{vector['id']}")
    for version, data in FILES.items()
    for vector in data["vectors"]
    if "quoteRequest" in vector["inputs"]
]
EDGE_CASES = [
    pytest.param(version, case, id=f"v{version}-{case['id']}")
    for version, data in FILES.items()
    for case in data["edge_cases"]
]
FULFILMENT_CHECKS = [
    pytest.param(check, id=f"v{version}-{check['id']}")
    for version, data in FILES.items()
    for check in data["fulfilment_checks"]
]
OLD_RELEASES = [
    pytest.param(
        version, sample, id=f"v{version}-{sample['sdk_standard_components']}-{sample['input_id']}"
    )
    for version, data in FILES.items()
    for sample in data["other_reference_versions"]
]

# What our rejection must name, per edge case where the reference truncates, wraps or throws.
REJECTED_EDGE_CASES = {
    "more-decimals-than-currency": "more decimal places",
    "unknown-currency": "XYZ",
    "zero-decimal-currency-with-fraction": "more decimal places",
    "uint64-overflow": "too large",
    "max-spec-amount": "too large",
    "invalid-expiration": "not-a-date",
}
ACCEPTED_EDGE_CASES = {"uint64-max"}


def ilp(version: int) -> Ilp:
    return ilp_for_version(version, SECRET)


def terms_for(version: int, vector: dict[str, Any]) -> IlpTerms:
    inputs = vector["inputs"]
    if "fxQuoteRequest" in inputs:
        return ilp(version).fx_terms(inputs["fxQuoteRequest"], inputs["beFxQuoteResponse"])
    return ilp(version).quote_terms(inputs["quoteRequest"], inputs["quoteResponse"])


def txn_for(vector: dict[str, Any]) -> dict[str, Any]:
    inputs = vector["inputs"]
    if "fxQuoteRequest" in inputs:
        return transaction_object_for_fx_quote(
            inputs["fxQuoteRequest"], inputs["beFxQuoteResponse"]
        )
    return transaction_object_for_quote(inputs["quoteRequest"], inputs["quoteResponse"])


def raw_packet(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def iso_millis(value: Any) -> str:
    text: str = value.isoformat(timespec="milliseconds")
    return text.replace("+00:00", "Z")


def raises_validation(match: str) -> Any:
    return pytest.raises(FspiopError, match=match)


# --- positive vectors ------------------------------------------------------------------------


@pytest.mark.parametrize(("version", "vector"), VECTORS)
def test_transaction_object_and_canonical_json(version: int, vector: dict[str, Any]) -> None:
    txn = txn_for(vector)
    assert txn == vector["transaction_object"]
    assert list(txn) == list(vector["transaction_object"])
    assert canonical.dumps(txn) == vector["transaction_object_canonical_json"].encode("utf-8")


@pytest.mark.parametrize(("version", "vector"), VECTORS)
def test_packet_reproduced_byte_for_byte(version: int, vector: dict[str, Any]) -> None:
    terms = terms_for(version, vector)
    assert terms.packet == vector["ilpPacket"]
    assert raw_packet(terms.packet).hex() == vector["ilpPacket_hex"]
    assert "=" not in terms.packet
    assert oer.encode_base64url(raw_packet(terms.packet)) == terms.packet


@pytest.mark.parametrize(("version", "vector"), VECTORS)
def test_data_field_is_base64url_text_of_the_json(version: int, vector: dict[str, Any]) -> None:
    decoded = ilp(version).decode(vector["ilpPacket"])
    assert decoded.data == vector["ilp_data_ascii"].encode("ascii")
    assert decoded.data == vector["packet_input"]["data_ascii"].encode("ascii")
    assert decoded.data == vector["decoded"]["data_ascii"].encode("ascii")
    json_text = vector["transaction_object_canonical_json"].encode("utf-8")
    assert decoded.data == oer.encode_base64url(json_text).encode("ascii")


@pytest.mark.parametrize(("version", "vector"), VECTORS)
def test_hmac_key_and_message(version: int, vector: dict[str, Any]) -> None:
    key, message = vector["hmac"]["key_ascii"], vector["hmac"]["message_ascii"]
    assert key == base64.b64encode(SECRET.encode("utf-8")).decode("ascii")
    if version == 1:
        assert message == vector["ilpPacket"]
    else:
        json_bytes = vector["transaction_object_canonical_json"].encode("utf-8")
        assert message == base64.b64encode(json_bytes).decode("ascii")
    digest = hmac.new(key.encode("ascii"), message.encode("ascii"), hashlib.sha256).digest()
    assert oer.encode_base64url(digest) == vector["fulfilment"]


@pytest.mark.parametrize(("version", "vector"), VECTORS)
def test_fulfilment_and_condition(version: int, vector: dict[str, Any]) -> None:
    terms = terms_for(version, vector)
    assert terms.fulfilment == vector["fulfilment"]
    assert terms.condition == vector["condition"]
    assert raw_packet(terms.fulfilment).hex() == vector["fulfilment_hex"]
    assert raw_packet(terms.condition).hex() == vector["condition_hex"]
    assert condition_for(terms.fulfilment) == vector["checks"]["calculateConditionFromFulfil"]


@pytest.mark.parametrize(("version", "vector"), VECTORS)
def test_decoded_fields(version: int, vector: dict[str, Any]) -> None:
    decoded = ilp(version).decode(vector["ilpPacket"])
    expected = vector["decoded"]
    assert decoded.version == version
    assert decoded.amount == int(expected["amount"]) == int(vector["packet_input"]["amount"])
    if version == 1:
        assert decoded.address == expected["account"] == vector["packet_input"]["account"]
        assert decoded.expires_at is None
        assert decoded.condition is None
        return
    packet_input = vector["packet_input"]
    assert decoded.address == expected["destination"] == ILP_V4_DESTINATION
    assert decoded.expires_at is not None
    assert iso_millis(decoded.expires_at) == expected["expiresAt"]
    interledger_time = oer.format_interledger_time(decoded.expires_at)
    assert interledger_time == packet_input["expiresAt_interledger_time"]
    assert decoded.condition is not None
    assert decoded.condition == expected["executionCondition_b64url"] == vector["condition"]
    assert raw_packet(decoded.condition).hex() == packet_input["executionCondition_hex"]


@pytest.mark.parametrize(("version", "vector"), VECTORS)
def test_decoded_transaction_object(version: int, vector: dict[str, Any]) -> None:
    txn = ilp(version).transaction_object(vector["ilpPacket"])
    assert txn == vector["decoded_transaction_object"]


@pytest.mark.parametrize(("version", "vector"), VECTORS)
def test_reference_checks(version: int, vector: dict[str, Any]) -> None:
    checks = vector["checks"]
    assert fulfilment_matches(vector["fulfilment"], vector["condition"]) is checks["validateFulfil"]
    wrong = oer.encode_base64url(bytes(32))
    assert (
        fulfilment_matches(wrong, vector["condition"]) is checks["validateFulfil_wrong_fulfilment"]
    )
    rederived = ilp(version).fulfilment_for_packet(vector["ilpPacket"])
    assert rederived == checks["calculateFulfil_from_ilpPacket"] == vector["fulfilment"]


@pytest.mark.parametrize(("version", "vector"), QUOTE_VECTORS)
def test_transfer_checked_against_packet(version: int, vector: dict[str, Any]) -> None:
    checks = vector["checks"]
    transfer = checks["transfer_request_used"]
    txn = ilp(version).transaction_object(transfer["ilpPacket"])
    assert checks["validateIlpAgainstTransferRequest_matching"] is True
    check_transfer_against_packet(transfer, txn)

    assert checks["validateIlpAgainstTransferRequest_amount_changed"] is False
    changed_amount = {**transfer, "amount": {**transfer["amount"], "amount": "99999"}}
    with raises_validation("amount.amount '99999'") as caught:
        check_transfer_against_packet(changed_amount, txn)
    assert caught.value.code is ErrorCode.VALIDATION_ERROR

    assert checks["validateIlpAgainstTransferRequest_payeeFsp_changed"] is False
    with raises_validation("payeeFsp 'another-fsp'"):
        check_transfer_against_packet({**transfer, "payeeFsp": "another-fsp"}, txn)


def test_every_vector_file_has_the_reference_currency_table() -> None:
    for data in FILES.values():
        assert dict(CURRENCY_SCALES) == data["currency_decimals"]


# --- edge cases: where the reference truncates, wraps or throws, we refuse ---------------------


def test_every_edge_case_is_classified() -> None:
    ids = {case["id"] for data in FILES.values() for case in data["edge_cases"]}
    assert ids == set(REJECTED_EDGE_CASES) | ACCEPTED_EDGE_CASES


@pytest.mark.parametrize(("version", "case"), EDGE_CASES)
def test_edge_case(version: int, case: dict[str, Any]) -> None:
    base = FILES[version]["vectors"][0]["inputs"]
    response = {
        **base["quoteResponse"],
        "transferAmount": case["transferAmount"],
        "expiration": case["expiration"],
    }
    expected = case["expected"]
    if case["id"] in ACCEPTED_EDGE_CASES:
        terms = ilp(version).quote_terms(base["quoteRequest"], response)
        assert (terms.packet, terms.condition, terms.fulfilment) == (
            expected["ilpPacket"],
            expected["condition"],
            expected["fulfilment"],
        )
        assert ilp(version).decode(terms.packet).amount == int(expected["decoded_amount"])
        return
    with pytest.raises(FspiopError) as caught:
        ilp(version).quote_terms(base["quoteRequest"], response)
    assert caught.value.code is ErrorCode.VALIDATION_ERROR
    assert REJECTED_EDGE_CASES[case["id"]] in caught.value.description
    if not expected["throws"]:
        # The reference's silently wrong packet still decodes; it shows what we refuse to make.
        decoded = ilp(version).decode(expected["ilpPacket"])
        assert decoded.amount == int(expected["decoded_amount"])
        assert condition_for(expected["fulfilment"]) == expected["condition"]
        if version == 1:
            assert ilp(1).fulfilment_for_packet(expected["ilpPacket"]) == expected["fulfilment"]


@pytest.mark.parametrize("check", FULFILMENT_CHECKS)
def test_fulfilment_checks(check: dict[str, Any]) -> None:
    assert (
        fulfilment_matches(check["fulfilment"], check["condition"])
        is (check["expected_validateFulfil"])
    )


def test_condition_for_requires_exactly_32_bytes() -> None:
    with raises_validation("exactly 32 bytes, not 31"):
        condition_for(oer.encode_base64url(bytes(31)))
    with raises_validation("not base64"):
        condition_for("not base64!")


def test_fulfilment_matches_accepts_either_alphabet_for_the_fulfilment_only() -> None:
    vector = FILES[1]["vectors"][0]
    standard = base64.b64encode(raw_packet(vector["fulfilment"])).decode("ascii")
    assert "=" in standard
    assert fulfilment_matches(standard, vector["condition"])
    assert not fulfilment_matches("?" * 43, vector["condition"])
    assert not fulfilment_matches(vector["fulfilment"], vector["condition"] + "=")
    assert not fulfilment_matches(vector["fulfilment"], "é" * 43)


# --- packets from older reference releases -----------------------------------------------------


@pytest.mark.parametrize(("version", "sample"), OLD_RELEASES)
def test_old_reference_release_packets(version: int, sample: dict[str, Any]) -> None:
    engine = ilp(version)
    decoded = engine.decode(sample["ilpPacket"])
    json_text = oer.decode_base64(decoded.data.decode("ascii"), "data", 65536).decode("utf-8")
    assert json_text == sample["transaction_object_json_in_packet"]
    txn = engine.transaction_object(sample["ilpPacket"])
    assert list(txn.items()) == list(sample["decoded_transaction_object_in_order"].items())
    assert (
        fulfilment_matches(sample["fulfilment"], sample["condition"])
        is (sample["current_validateFulfil"])
    )
    if version == 1:
        assert sample["current_calculateFulfil_matches"] is True
        assert engine.fulfilment_for_packet(sample["ilpPacket"]) == sample["fulfilment"]
        return
    assert decoded.condition == sample["condition"]
    # Unsorted keys change the HMAC input: the reference silently derives a fulfilment the hub
    # would reject; we refuse to answer with it.
    assert sample["current_calculateFulfil_matches"] is False
    with raises_validation("condition does not match"):
        engine.fulfilment_for_packet(sample["ilpPacket"])


# --- strict decoding -----------------------------------------------------------------------------


@pytest.mark.parametrize(("version", "vector"), VECTORS)
def test_packet_text_in_standard_alphabet_with_padding_decodes(
    version: int, vector: dict[str, Any]
) -> None:
    standard = base64.b64encode(raw_packet(vector["ilpPacket"])).decode("ascii")
    assert ilp(version).decode(standard) == ilp(version).decode(vector["ilpPacket"])
    assert ilp(version).transaction_object(standard) == vector["decoded_transaction_object"]
    if version == 1 and standard != vector["ilpPacket"]:
        # v1 signs the text, so only the text the payee issued re-derives its fulfilment.
        assert ilp(1).fulfilment_for_packet(standard) != vector["fulfilment"]
    if version == 4:
        assert ilp(4).fulfilment_for_packet(standard) == vector["fulfilment"]


def test_some_vector_packets_differ_in_the_standard_alphabet() -> None:
    packets = [vector["ilpPacket"] for data in FILES.values() for vector in data["vectors"]]
    standard = [base64.b64encode(raw_packet(packet)).decode("ascii") for packet in packets]
    assert sum(a != b for a, b in zip(packets, standard, strict=True)) >= 8


def test_wrong_packet_type_is_named() -> None:
    with raises_validation(r"type 12 \(IlpPrepare\); ILP v1 expects 1 \(IlpPayment\)"):
        ilp(1).decode(FILES[4]["vectors"][0]["ilpPacket"])
    with raises_validation(r"type 1 \(IlpPayment\); ILP v4 expects 12 \(IlpPrepare\)"):
        ilp(4).fulfilment_for_packet(FILES[1]["vectors"][0]["ilpPacket"])


@pytest.mark.parametrize("version", [1, 4])
def test_trailing_and_missing_bytes_are_refused(version: int) -> None:
    raw = raw_packet(FILES[version]["vectors"][0]["ilpPacket"])
    with raises_validation("1 unexpected trailing bytes"):
        oer.decode(raw + b"\x00", version)
    with raises_validation("truncated"):
        oer.decode(raw[:-1], version)
    with raises_validation("empty"):
        oer.decode(b"", version)


def test_inner_trailing_bytes_extensions_and_lengths_are_refused() -> None:
    payment = oer.encode(oer.IlpPacket(1, 5, "g.a", b"x"))
    assert payment == bytes.fromhex("01 0f 0000000000000005 03 672e61 01 78 00")
    with raises_validation("extensions"):
        oer.decode(bytes.fromhex("01 0f 0000000000000005 03 672e61 01 78 01"), 1)
    with raises_validation("IlpPayment has 1 unexpected trailing bytes"):
        oer.decode(bytes.fromhex("01 10 0000000000000005 03 672e61 01 78 00 00"), 1)
    with raises_validation("non-canonical length prefix"):
        oer.decode(bytes.fromhex("01 81 0f 0000000000000005 03 672e61 01 78 00"), 1)
    with raises_validation("unsupported 0-byte length prefix"):
        oer.decode(bytes.fromhex("01 80"), 1)
    with raises_validation("address must be non-empty ASCII"):
        oer.decode(bytes.fromhex("01 0f 0000000000000005 03 672ee9 01 78 00"), 1)


def test_bad_interledger_time_is_refused() -> None:
    good = oer.encode(
        oer.IlpPacket(4, 1, "g.a", b"", oer.parse_interledger_time(b"20300101120000000"), "A" * 43)
    )
    bad_month = good.replace(b"20300101120000000", b"20301301120000000")
    with raises_validation("not a valid date-time"):
        oer.decode(bad_month, 4)
    with raises_validation("not 17 digits"):
        oer.decode(good.replace(b"20300101120000000", b"2030010112000000Z"), 4)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("AY ID", "outside both base64 alphabets"),
        ("AYI=D", "outside both base64 alphabets"),
        ("AYIDS", "length"),
        ("AYI==", "length"),
        ("A" * (oer.PACKET_TEXT_CHARS_MAX + 1), "at most 32768"),
    ],
)
def test_bad_packet_text_is_refused(text: str, problem: str) -> None:
    with pytest.raises(FspiopError) as caught:
        ilp(1).decode(text)
    assert caught.value.code is ErrorCode.VALIDATION_ERROR
    assert problem in caught.value.description


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (b"\xff", "not base64url text"),
        (b"!!!!", "not base64"),
        (oer.encode_base64url(b"\xff\xfe").encode(), "not UTF-8 JSON"),
        (oer.encode_base64url(b"{").encode(), "not UTF-8 JSON"),
        (oer.encode_base64url(b'{"a":NaN}').encode(), "NaN is not JSON"),
        (oer.encode_base64url(b"[1]").encode(), "not an object"),
    ],
)
def test_bad_data_field_is_refused(data: bytes, problem: str) -> None:
    packet = oer.encode_base64url(oer.encode(oer.IlpPacket(1, 1, "g.a", data)))
    with raises_validation(problem):
        ilp(1).transaction_object(packet)


# --- building terms: inputs the reference would mangle -------------------------------------------


def quote_inputs() -> tuple[dict[str, Any], dict[str, Any]]:
    inputs = FILES[1]["vectors"][0]["inputs"]
    request: dict[str, Any] = canonical.loads(canonical.dumps(inputs["quoteRequest"]))
    response: dict[str, Any] = canonical.loads(canonical.dumps(inputs["quoteResponse"]))
    return request, response


@pytest.mark.parametrize("version", [1, 4])
def test_note_only_when_truthy(version: int) -> None:
    request, response = quote_inputs()
    assert "note" not in transaction_object_for_quote(request, {**response, "note": ""})
    with_note = ilp(version).quote_terms(request, {**response, "note": "Rent"})
    assert ilp(version).transaction_object(with_note.packet)["note"] == "Rent"


def test_missing_elements_are_named() -> None:
    request, response = quote_inputs()
    del request["payee"]
    with pytest.raises(FspiopError) as caught:
        ilp(4).quote_terms(request, response)
    assert caught.value.code is ErrorCode.MISSING_ELEMENT
    assert caught.value.description == "quote request has no payee"
    with raises_validation("fxQuote response has no conversionTerms"):
        ilp(1).fx_terms({"conversionRequestId": "x"}, {})


def test_v1_payee_address_needs_fsp_id_and_ascii() -> None:
    request, response = quote_inputs()
    del request["payee"]["partyIdInfo"]["fspId"]
    with raises_validation("payee.partyIdInfo has no fspId"):
        ilp(1).quote_terms(request, response)
    request, response = quote_inputs()
    request["payee"]["partyIdInfo"]["partyIdentifier"] = "Zoë"
    with raises_validation("ILP address 'g.payeefsp.msisdn.zoë' must be non-empty ASCII"):
        ilp(1).quote_terms(request, response)
    # v4 carries no party address in the packet, so the same quote is fine there.
    assert ilp(4).quote_terms(request, response).packet.startswith("DI")


@pytest.mark.parametrize(
    "expiration",
    [
        "2030-01-01T12:00:00.0001Z",
        "2030-01-01T12:00:00",
        "2030-02-30T12:00:00Z",
        "9999-12-31T23:00:00-05:00",
    ],
)
def test_bad_expiration_is_refused(expiration: str) -> None:
    request, response = quote_inputs()
    for version in (1, 4):
        with raises_validation("Expiration"):
            ilp(version).quote_terms(request, {**response, "expiration": expiration})


def test_expiration_offset_and_short_fraction_become_utc_millis() -> None:
    request, response = quote_inputs()
    terms = ilp(4).quote_terms(request, {**response, "expiration": "2030-01-01T00:30:00.5+01:00"})
    expires_at = ilp(4).decode(terms.packet).expires_at
    assert expires_at is not None
    assert iso_millis(expires_at) == "2029-12-31T23:30:00.500Z"


def test_oversized_quote_is_refused() -> None:
    request, response = quote_inputs()
    request["payee"]["name"] = "x" * 30000
    with raises_validation("FSPIOP allows 32768"):
        ilp(4).quote_terms(request, response)


@pytest.mark.parametrize(
    ("field", "change"),
    [
        ("payerFsp", {"payerFsp": "PAYERFSP"}),
        ("payeeFsp", {"payeeFsp": None}),
        ("amount.currency", {"amount": {"currency": "EUR", "amount": "100.5"}}),
        ("amount.amount", {"amount": {"currency": "USD", "amount": "100.50"}}),
        ("amount.currency", {"amount": None}),
    ],
)
def test_transfer_mismatch_names_the_field(field: str, change: dict[str, Any]) -> None:
    vector = FILES[1]["vectors"][0]
    transfer = vector["checks"]["transfer_request_used"]
    with pytest.raises(FspiopError) as caught:
        check_transfer_against_packet({**transfer, **change}, vector["transaction_object"])
    assert caught.value.code is ErrorCode.VALIDATION_ERROR
    assert caught.value.description.startswith(f"Transfer {field} ")


# --- amounts ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "currency", "units"),
    [
        ("100.5", "USD", 10050),
        ("100.50", "USD", 10050),
        ("0", "USD", 0),
        ("0.000", "JPY", 0),
        ("5000", "JPY", 5000),
        ("12.345", "KWD", 12345),
        ("1.2345", "CLF", 12345),
        ("184467440737095516.15", "USD", 2**64 - 1),
        (Decimal("1E+2"), "USD", 10000),
        (Decimal("-0"), "USD", 0),
        (Decimal("2.50"), "EUR", 250),
    ],
)
def test_scale_amount(amount: str | Decimal, currency: str, units: int) -> None:
    assert scale_amount(amount, currency) == units


@pytest.mark.parametrize(
    ("amount", "currency", "problem"),
    [
        ("-1", "USD", "negative"),
        (Decimal("-0.01"), "USD", "negative"),
        ("1e3", "USD", "exponent form"),
        ("1E3", "USD", "exponent form"),
        (" 1", "USD", "not a plain decimal"),
        ("1.", "USD", "not a plain decimal"),
        (".5", "USD", "not a plain decimal"),
        ("", "USD", "not a plain decimal"),
        ("+1", "USD", "not a plain decimal"),
        ("NaN", "USD", "not a plain decimal"),
        (Decimal("NaN"), "USD", "not a finite number"),
        (Decimal("Infinity"), "USD", "not a finite number"),
        ("1" * 65, "USD", "too long"),
        (Decimal("1E+30"), "USD", "too large"),
        (Decimal("1E-999999999"), "USD", "more decimal places"),
        ("1.005", "USD", "more decimal places than the 2"),
        ("1", "usd", "Unknown currency 'usd'"),
    ],
)
def test_scale_amount_refuses(amount: str | Decimal, currency: str, problem: str) -> None:
    with pytest.raises(FspiopError) as caught:
        scale_amount(amount, currency)
    assert caught.value.code is ErrorCode.VALIDATION_ERROR
    assert problem in caught.value.description
    assert len(caught.value.description) < 128


def test_scale_amount_refuses_float() -> None:
    with pytest.raises(TypeError, match="str or Decimal"):
        scale_amount(1.5, "USD")  # type: ignore[arg-type]


# --- construction and secrets ---------------------------------------------------------------------


def test_versions_and_secret_handling() -> None:
    assert isinstance(ilp_for_version(1, SECRET), IlpV1)
    assert isinstance(ilp_for_version(4, SECRET), IlpV4)
    with pytest.raises(ValueError, match="unsupported ILP version 2"):
        ilp_for_version(2, SECRET)
    with pytest.raises(ValueError, match="non-empty"):
        IlpV1("")
    assert SECRET not in repr(ilp(1))
    assert repr(ilp(4)) == "IlpV4(secret=<redacted>)"


def test_terms_repr_hides_the_fulfilment() -> None:
    vector = FILES[4]["vectors"][0]
    terms = terms_for(4, vector)
    assert terms.fulfilment not in repr(terms)
    assert "fulfilment=<redacted>" in repr(terms)
    assert vector["condition"] in repr(terms)
