"""Properties of the ILP codec, conditions and amount scaling, checked with Hypothesis.

Goal: the behaviours the vectors pin at a few points hold everywhere. Method: generate packets
(any UInt64 amount, ASCII address, data bytes, millisecond UTC expiry, 32-byte condition) and
check that encoding and decoding are exact inverses in both directions, so strict decoding
accepts exactly the canonical encodings and fails only with ``FspiopError``; that conditions
and fulfilments agree for every 32-byte preimage and for no other length; that quote terms for
arbitrary parties re-derive their fulfilment from the packet alone; and that amount scaling
round-trips for every currency scale and never truncates.
"""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from pm4ml.fspiop import oer
from pm4ml.fspiop.currencies import CURRENCY_SCALES, UINT64_LIMIT, scale_amount, unscale_amount
from pm4ml.fspiop.errors import ErrorCode, FspiopError
from pm4ml.fspiop.ilp import condition_for, fulfilment_matches, ilp_for_version

SECRET = "interop-test-ilp-secret-0001"

amounts = st.integers(min_value=0, max_value=UINT64_LIMIT - 1)
addresses = st.text(st.characters(max_codepoint=127), min_size=1, max_size=300)
data_fields = st.binary(max_size=1000)
conditions = st.binary(min_size=32, max_size=32).map(oer.encode_base64url)
expiries = st.builds(
    lambda moment, millis: moment.replace(microsecond=millis * 1000),
    st.datetimes(
        min_value=datetime(1, 1, 1),
        max_value=datetime(9999, 12, 31, 23, 59, 59),
        timezones=st.just(UTC),
    ),
    st.integers(min_value=0, max_value=999),
)
v1_packets = st.builds(oer.IlpPacket, st.just(1), amounts, addresses, data_fields)
v4_packets = st.builds(
    oer.IlpPacket, st.just(4), amounts, addresses, data_fields, expiries, conditions
)
packets = st.one_of(v1_packets, v4_packets)
currencies = st.sampled_from(sorted(CURRENCY_SCALES))


def from_text(text: str) -> bytes:
    return oer.decode_base64(text, "packet", oer.PACKET_TEXT_CHARS_MAX)


def assert_strict_decoding(raw: bytes, version: int) -> None:
    """Decoding fails with a validation error, or its result re-encodes to exactly ``raw``."""
    outcome: oer.IlpPacket | FspiopError
    try:
        outcome = oer.decode(raw, version)
    except FspiopError as error:
        outcome = error
    if isinstance(outcome, FspiopError):
        assert outcome.code is ErrorCode.VALIDATION_ERROR
    else:
        assert oer.encode(outcome) == raw


# --- OER codec -----------------------------------------------------------------------------------


@given(packets)
def test_encode_then_decode_is_identity(packet: oer.IlpPacket) -> None:
    raw = oer.encode(packet)
    assert oer.decode(raw, packet.version) == packet
    assert raw[0] == (oer.TYPE_PAYMENT if packet.version == 1 else oer.TYPE_PREPARE)


@given(packets)
def test_packet_text_round_trips_in_both_alphabets(packet: oer.IlpPacket) -> None:
    raw = oer.encode(packet)
    url = oer.encode_base64url(raw)
    assert "=" not in url
    assert "+" not in url
    assert "/" not in url
    assert from_text(url) == raw
    assert from_text(base64.b64encode(raw).decode("ascii")) == raw


@given(packets, st.data())
def test_decode_accepts_only_canonical_encodings(packet: oer.IlpPacket, data: Any) -> None:
    """Mutate a valid packet (flip, drop or add a byte): decoding either fails with a
    validation error or yields a packet whose encoding is exactly the mutated bytes."""
    raw = bytearray(oer.encode(packet))
    position = data.draw(st.integers(min_value=0, max_value=len(raw) - 1))
    action = data.draw(st.sampled_from(["flip", "drop", "add"]))
    if action == "flip":
        raw[position] ^= data.draw(st.integers(min_value=1, max_value=255))
    elif action == "drop":
        del raw[position]
    else:
        raw.insert(position, data.draw(st.integers(min_value=0, max_value=255)))
    mutated = bytes(raw)
    assert_strict_decoding(mutated, packet.version)


@given(st.binary(max_size=200), st.sampled_from([1, 4]))
def test_arbitrary_bytes_decode_strictly_or_fail_cleanly(raw: bytes, version: int) -> None:
    assert_strict_decoding(raw, version)


@given(expiries)
def test_interledger_time_round_trips(moment: datetime) -> None:
    text = oer.format_interledger_time(moment)
    assert len(text) == 17
    assert text.isdigit()
    assert oer.parse_interledger_time(text.encode("ascii")) == moment


# --- condition and fulfilment --------------------------------------------------------------------


@given(st.binary(min_size=32, max_size=32))
def test_condition_is_sha256_of_the_preimage(preimage: bytes) -> None:
    fulfilment = oer.encode_base64url(preimage)
    condition = condition_for(fulfilment)
    assert condition == oer.encode_base64url(hashlib.sha256(preimage).digest())
    assert len(fulfilment) == 43
    assert fulfilment_matches(fulfilment, condition)
    assert fulfilment_matches(base64.b64encode(preimage).decode("ascii"), condition)
    assert not fulfilment_matches(fulfilment, condition + "=")
    padded = base64.b64encode(hashlib.sha256(preimage).digest()).decode("ascii")
    assert not fulfilment_matches(fulfilment, padded)


@given(st.binary(min_size=32, max_size=32), st.binary(min_size=32, max_size=32))
def test_a_fulfilment_matches_only_its_own_condition(first: bytes, second: bytes) -> None:
    assume(first != second)
    condition = condition_for(oer.encode_base64url(second))
    assert not fulfilment_matches(oer.encode_base64url(first), condition)


@given(st.binary(max_size=47).filter(lambda preimage: len(preimage) != 32))
def test_preimages_of_other_lengths_never_match(preimage: bytes) -> None:
    fulfilment = oer.encode_base64url(preimage)
    fake_condition = oer.encode_base64url(hashlib.sha256(preimage).digest())
    assert not fulfilment_matches(fulfilment, fake_condition)
    with pytest.raises(FspiopError, match="exactly 32 bytes"):
        condition_for(fulfilment)


@given(st.text(max_size=60), st.text(max_size=60))
def test_fulfilment_matches_never_raises(fulfilment: str, condition: str) -> None:
    assert fulfilment_matches(fulfilment, condition) in (True, False)


# --- quote terms ---------------------------------------------------------------------------------

names = st.text(max_size=40)
ascii_ids = st.text(st.characters(min_codepoint=33, max_codepoint=126), min_size=1, max_size=30)


@st.composite
def quotes(draw: st.DrawFn) -> tuple[dict[str, Any], dict[str, Any]]:
    currency = draw(currencies)
    units = draw(st.integers(min_value=0, max_value=10**15))
    amount = format(unscale_amount(units, currency), "f")
    party = {"partyIdType": draw(ascii_ids), "partyIdentifier": draw(ascii_ids)}
    request = {
        "quoteId": draw(st.uuids()).hex,
        "transactionId": draw(st.uuids()).hex,
        "payee": {"partyIdInfo": {**party, "fspId": draw(ascii_ids)}, "name": draw(names)},
        "payer": {"partyIdInfo": {**party, "fspId": draw(ascii_ids)}},
        "amountType": "SEND",
        "amount": {"currency": currency, "amount": amount},
        "transactionType": {
            "scenario": "TRANSFER",
            "initiator": "PAYER",
            "subScenario": draw(names),
        },
    }
    expiration = draw(expiries).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    response = {
        "transferAmount": {"currency": currency, "amount": amount},
        "expiration": expiration,
        "note": draw(names),
    }
    return request, response


@pytest.mark.parametrize("version", [1, 4])
@given(quote=quotes())
def test_quote_terms_rederive_from_the_packet(
    version: int, quote: tuple[dict[str, Any], dict[str, Any]]
) -> None:
    request, response = quote
    engine = ilp_for_version(version, SECRET)
    terms = engine.quote_terms(request, response)
    assert engine.fulfilment_for_packet(terms.packet) == terms.fulfilment
    assert fulfilment_matches(terms.fulfilment, terms.condition)
    txn = engine.transaction_object(terms.packet)
    assert txn["amount"] == response["transferAmount"]
    assert txn["payee"] == request["payee"]
    assert ("note" in txn) is bool(response["note"])
    decoded = engine.decode(terms.packet)
    amount = response["transferAmount"]
    assert decoded.amount == scale_amount(amount["amount"], amount["currency"])
    if version == 4:
        assert decoded.condition == terms.condition
    other = ilp_for_version(version, SECRET + "-other")
    assert other.quote_terms(request, response).fulfilment != terms.fulfilment


# --- amount scaling -----------------------------------------------------------------------------


@given(currencies, amounts)
def test_scale_amount_round_trips_every_currency(currency: str, units: int) -> None:
    value = unscale_amount(units, currency)
    assert value.as_tuple().exponent == -CURRENCY_SCALES[currency]
    assert scale_amount(value, currency) == units
    assert scale_amount(format(value, "f"), currency) == units


@given(currencies, st.integers(min_value=0, max_value=10**18), st.integers(1, 9))
def test_scale_amount_never_truncates(currency: str, units: int, extra_digit: int) -> None:
    text = format(unscale_amount(units, currency), "f")
    longer = f"{text}{extra_digit}" if "." in text else f"{text}.{extra_digit}"
    with pytest.raises(FspiopError, match="more decimal places"):
        scale_amount(longer, currency)


@given(currencies, st.integers(min_value=UINT64_LIMIT, max_value=10**25))
def test_scale_amount_never_wraps(currency: str, units: int) -> None:
    value = Decimal(units).scaleb(-CURRENCY_SCALES[currency])
    with pytest.raises(FspiopError, match="too large"):
        scale_amount(format(value, "f"), currency)
