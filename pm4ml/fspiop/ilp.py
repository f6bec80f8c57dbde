"""ILP condition, fulfilment and packet, as the Mojaloop reference makes them (PROTOCOL.md §2).

The payee makes the terms at quote time (:meth:`Ilp.quote_terms`, :meth:`Ilp.fx_terms`): a packet
carrying the transaction object, a fulfilment (an HMAC only the payee's secret can produce) and
its condition (the fulfilment's SHA-256). At transfer time the payee checks ``POST /transfers``
against its own packet (:func:`check_transfer_against_packet`) and re-derives the fulfilment from
the packet alone (:meth:`Ilp.fulfilment_for_packet`), so no quote state needs to be kept. The
payer checks the fulfilment it receives with :func:`fulfilment_matches`.

Two versions, chosen by configuration and never negotiated: v1 (``IlpPayment``, FSPIOP 1.x) signs
the packet's base64url *text*; v4 (``IlpPrepare``, FSPIOP 2.0) signs the standard base64 of the
canonical transaction-object JSON. Both take the HMAC key to be the ASCII of the standard base64
of the UTF-8 secret, exactly as the reference does. Every byte is checked against
``shared/vectors/ilp_v*.json``; where the reference truncates, wraps or accepts garbage we raise
``FspiopError`` (3100, or 3102 for a missing element) with a message naming the problem.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import json
import re
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, ClassVar

from pm4ml.fspiop import canonical, oer
from pm4ml.fspiop.currencies import scale_amount
from pm4ml.fspiop.errors import ErrorCode, FspiopError
from pm4ml.fspiop.oer import IlpPacket

ILP_V4_DESTINATION = "g.mojaloop"
"""The constant v4 ``destination`` (SSC ``ILP_ADDRESS``): Mojaloop routes by FSP id, not by ILP."""

_FULFILMENT_CHARS_MAX = 64
_FROM_REQUEST = ("quoteId", "transactionId", "transactionType", "payee", "payer")
# FSPIOP DateTime with a mandatory zone; 1-3 fraction digits since the packet keeps milliseconds.
_DATE_TIME = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,3}))?(Z|[+-]\d{2}:\d{2})"
)


@dataclass(frozen=True)
class IlpTerms:
    """What the payee puts in its quote response (``ilpPacket``, ``condition``) and the
    ``fulfilment`` it keeps secret until the transfer; ``repr`` never shows the fulfilment."""

    packet: str
    condition: str
    fulfilment: str

    def __repr__(self) -> str:
        return (
            f"IlpTerms(packet={self.packet[:16]!r}... ({len(self.packet)} chars), "
            f"condition={self.condition!r}, fulfilment=<redacted>)"
        )


def transaction_object_for_quote(
    quote_request: Mapping[str, Any], quote_response: Mapping[str, Any]
) -> dict[str, Any]:
    """The transaction object of PROTOCOL.md §2.1: ``quoteId``, ``transactionId``,
    ``transactionType``, ``payee``, ``payer`` from the quote request; ``expiration`` and
    ``amount`` (= ``transferAmount``) from the response; ``note`` only if non-empty."""
    txn = {key: _required(quote_request, key, "quote request") for key in _FROM_REQUEST}
    txn["expiration"] = _required(quote_response, "expiration", "quote response")
    txn["amount"] = _required(quote_response, "transferAmount", "quote response")
    if quote_response.get("note"):
        txn["note"] = quote_response["note"]
    return copy.deepcopy(txn)


def transaction_object_for_fx_quote(
    fx_quote_request: Mapping[str, Any], fx_quote_response: Mapping[str, Any]
) -> dict[str, Any]:
    """The FX transaction object: ``conversionRequestId`` from the fxQuote request and the
    ``conversionTerms`` of the response (the terms the FXP commits to)."""
    return copy.deepcopy(
        {
            "conversionRequestId": _required(
                fx_quote_request, "conversionRequestId", "fxQuote request"
            ),
            "conversionTerms": _required(fx_quote_response, "conversionTerms", "fxQuote response"),
        }
    )


def condition_for(fulfilment: str) -> str:
    """``base64url(SHA-256(fulfilment bytes))``; the fulfilment must decode to exactly 32 bytes."""
    preimage = oer.decode_base64(fulfilment, "ILP fulfilment", _FULFILMENT_CHARS_MAX)
    if len(preimage) != oer.CONDITION_BYTES:
        raise _invalid(f"ILP fulfilment must be exactly 32 bytes, not {len(preimage)}")
    return oer.encode_base64url(hashlib.sha256(preimage).digest())


def fulfilment_matches(fulfilment: str, condition: str) -> bool:
    """The payer's check on ``PUT /transfers``, with the reference's exact semantics: the
    fulfilment is base64 (either alphabet) of exactly 32 bytes, and the base64url SHA-256 of
    those bytes equals ``condition`` as a string (so a padded or ``+/`` condition never
    matches). The comparison takes constant time. Never raises."""
    try:
        computed = condition_for(fulfilment)
    except FspiopError:
        return False
    if not isinstance(condition, str):
        return False
    return hmac.compare_digest(computed.encode("ascii"), condition.encode("utf-8"))


def check_transfer_against_packet(transfer: Mapping[str, Any], txn: Mapping[str, Any]) -> None:
    """Raise unless ``POST /transfers`` (``transfer``) names the same ``payerFsp``, ``payeeFsp``,
    ``amount.currency`` and ``amount.amount`` (as strings, like the reference) as the
    transaction object ``txn`` in its own ILP packet."""
    # 3100 VALIDATION_ERROR, not a 5xxx payee rejection: the payee is not declining a valid
    # transfer, it has found the request contradicting the packet it issued itself, which makes
    # the request invalid. The message names the field so the payer can see what drifted.
    sent_amount = transfer.get("amount")
    issued_amount = txn.get("amount")
    pairs = (
        ("payerFsp", transfer.get("payerFsp"), _dig(txn, "payer", "partyIdInfo", "fspId")),
        ("payeeFsp", transfer.get("payeeFsp"), _dig(txn, "payee", "partyIdInfo", "fspId")),
        ("amount.currency", _dig(sent_amount, "currency"), _dig(issued_amount, "currency")),
        ("amount.amount", _dig(sent_amount, "amount"), _dig(issued_amount, "amount")),
    )
    for field, sent, issued in pairs:
        if not isinstance(sent, str) or sent != issued:
            raise _invalid(
                f"Transfer {field} {_show(sent)} does not match the ILP packet's {_show(issued)}"
            )


class Ilp(ABC):
    """One ILP version bound to the payee's secret. Build with :func:`ilp_for_version`."""

    version: ClassVar[int]

    def __init__(self, secret: str) -> None:
        if not isinstance(secret, str) or not secret:
            raise ValueError("the ILP secret must be a non-empty string")
        # The reference keys the HMAC with the base64 *text* of the secret, not its bytes.
        self._key = base64.b64encode(secret.encode("utf-8"))

    def __repr__(self) -> str:
        return f"{type(self).__name__}(secret=<redacted>)"

    def quote_terms(
        self, quote_request: Mapping[str, Any], quote_response: Mapping[str, Any]
    ) -> IlpTerms:
        """Packet, condition and fulfilment for the quote response the payee is about to send."""
        return self._terms(transaction_object_for_quote(quote_request, quote_response))

    def fx_terms(
        self, fx_quote_request: Mapping[str, Any], fx_quote_response: Mapping[str, Any]
    ) -> IlpTerms:
        """Packet, condition and fulfilment for an FXP's fxQuote response (ILP amount 0)."""
        return self._terms(transaction_object_for_fx_quote(fx_quote_request, fx_quote_response))

    @abstractmethod
    def fulfilment_for_packet(self, packet: str) -> str:
        """The fulfilment of a packet this payee issued, re-derived from the packet alone."""

    def decode(self, packet: str) -> IlpPacket:
        """Decode packet text (base64 in either alphabet, padding optional) of this version."""
        raw = oer.decode_base64(packet, "ILP packet", oer.PACKET_TEXT_CHARS_MAX)
        return oer.decode(raw, self.version)

    def transaction_object(self, packet: str) -> dict[str, Any]:
        """The transaction object carried in the packet's data field."""
        return _transaction_object(self.decode(packet).data)

    @abstractmethod
    def _terms(self, txn: Mapping[str, Any]) -> IlpTerms: ...

    def _hmac(self, message: str) -> str:
        digest = hmac.new(self._key, message.encode("ascii"), hashlib.sha256).digest()
        return oer.encode_base64url(digest)


def _transaction_object(data: bytes) -> dict[str, Any]:
    if not data.isascii():
        raise _invalid("ILP packet data is not base64url text")
    decoded = oer.decode_base64(data.decode("ascii"), "ILP packet data", len(data))
    try:
        txn = json.loads(decoded.decode("utf-8"), parse_constant=_reject_constant)
    except ValueError as exc:  # UnicodeDecodeError and JSONDecodeError are ValueErrors.
        raise _invalid(f"ILP packet data is not UTF-8 JSON: {str(exc)[:60]}") from None
    if not isinstance(txn, dict):
        raise _invalid("ILP packet data is JSON but not an object")
    return txn


class IlpV1(Ilp):
    """ILP v1 (``IlpPayment``): the fulfilment is the HMAC of the packet's base64url text, so
    the payer must pass that text through unchanged."""

    version = 1

    def fulfilment_for_packet(self, packet: str) -> str:
        """HMAC of the packet text, after checking it is a well-formed v1 packet."""
        self.decode(packet)
        return self._hmac(packet)

    def _terms(self, txn: Mapping[str, Any]) -> IlpTerms:
        if "conversionTerms" in txn:
            terms = _mapping(txn, "conversionTerms", "fxQuote")
            _expiration(terms, "conversionTerms")
            amount, account = 0, _fx_account(terms)
        else:
            _expiration(txn, "quote response")
            amount, account = _scaled_amount(txn), _payee_account(txn)
        packet = _packet_text(IlpPacket(1, amount, account, _data(txn)))
        fulfilment = self._hmac(packet)
        return IlpTerms(packet, condition_for(fulfilment), fulfilment)


class IlpV4(Ilp):
    """ILP v4 (``IlpPrepare``): the fulfilment is the HMAC of the standard base64 of the
    canonical transaction-object JSON; the packet embeds the condition and the expiry."""

    version = 4

    def fulfilment_for_packet(self, packet: str) -> str:
        """Re-derive the fulfilment from the decoded transaction object.

        Raises ``FspiopError(VALIDATION_ERROR)`` when it does not produce the condition the
        packet carries: the packet was then not issued under this secret or serialisation
        (e.g. by reference releases <= 19.18.8, which did not sort keys), and answering with a
        fulfilment the hub is bound to reject would only fail the transfer later.
        """
        decoded = self.decode(packet)
        fulfilment = self._fulfilment_for(_transaction_object(decoded.data))
        if condition_for(fulfilment) != decoded.condition:
            raise _invalid("ILP packet condition does not match the fulfilment this payee derives")
        return fulfilment

    def _terms(self, txn: Mapping[str, Any]) -> IlpTerms:
        if "conversionTerms" in txn:
            expires_at = _expiration(_mapping(txn, "conversionTerms", "fxQuote"), "conversionTerms")
            amount = 0
        else:
            expires_at, amount = _expiration(txn, "quote response"), _scaled_amount(txn)
        fulfilment = self._fulfilment_for(txn)
        condition = condition_for(fulfilment)
        packet = IlpPacket(4, amount, ILP_V4_DESTINATION, _data(txn), expires_at, condition)
        return IlpTerms(_packet_text(packet), condition, fulfilment)

    def _fulfilment_for(self, txn: Mapping[str, Any]) -> str:
        return self._hmac(base64.b64encode(canonical.dumps(txn)).decode("ascii"))


def ilp_for_version(version: int, secret: str) -> Ilp:
    """The ILP implementation for the configured version: 1 (FSPIOP 1.x) or 4 (FSPIOP 2.0)."""
    if version == 1:
        return IlpV1(secret)
    if version == 4:
        return IlpV4(secret)
    raise ValueError(f"unsupported ILP version {version!r}: use 1 or 4")


def _packet_text(packet: IlpPacket) -> str:
    text = oer.encode_base64url(oer.encode(packet))
    if len(text) > oer.PACKET_TEXT_CHARS_MAX:
        raise _invalid(
            f"ILP packet would be {len(text)} characters; FSPIOP allows "
            f"{oer.PACKET_TEXT_CHARS_MAX}: the quote's parties are too large"
        )
    return text


def _data(txn: Mapping[str, Any]) -> bytes:
    # The data field holds the ASCII of the base64url text, not the JSON bytes (PROTOCOL §2.2).
    return oer.encode_base64url(canonical.dumps(txn)).encode("ascii")


def _scaled_amount(txn: Mapping[str, Any]) -> int:
    amount = _mapping(txn, "amount", "quote response transferAmount")
    return scale_amount(
        _text(amount, "amount", "transferAmount"), _text(amount, "currency", "transferAmount")
    )


def _payee_account(txn: Mapping[str, Any]) -> str:
    """``g.<fspId>.<partyIdType>.<partyIdentifier>[.<partySubIdOrType>]``, all but the FSP id
    lower-cased (SSC ``IlpV1.js`` keeps the FSP id's case)."""
    info = _mapping(_mapping(txn, "payee", "quote request"), "partyIdInfo", "payee")
    parts = [
        _text(info, "fspId", "payee.partyIdInfo"),
        _text(info, "partyIdType", "payee.partyIdInfo").lower(),
        _text(info, "partyIdentifier", "payee.partyIdInfo").lower(),
    ]
    if info.get("partySubIdOrType"):
        parts.append(_text(info, "partySubIdOrType", "payee.partyIdInfo").lower())
    return ".".join(["g", *parts])


def _fx_account(terms: Mapping[str, Any]) -> str:
    """``g.<counterPartyFsp>.<source currency>.<target currency>``, lower-cased."""
    parts = [
        _text(terms, "counterPartyFsp", "conversionTerms"),
        _text(_mapping(terms, "sourceAmount", "conversionTerms"), "currency", "sourceAmount"),
        _text(_mapping(terms, "targetAmount", "conversionTerms"), "currency", "targetAmount"),
    ]
    return ".".join(["g", *(part.lower() for part in parts)])


def _expiration(holder: Mapping[str, Any], where: str) -> datetime:
    """Parse ``holder["expiration"]`` as an aware UTC datetime. The reference v1 never looks at
    it and v4 accepts whatever ``new Date()`` does; we require an FSPIOP DateTime in both."""
    text = _text(holder, "expiration", where)
    match = _DATE_TIME.fullmatch(text)
    if match is None:
        raise _invalid(f"Expiration {_show(text)} is not a date-time like 2030-01-31T12:00:00.000Z")
    year, month, day, hour, minute, second = (int(group) for group in match.groups()[:6])
    millis = int((match.group(7) or "0").ljust(3, "0"))
    zone = match.group(8)
    offset = timedelta(0)
    if zone != "Z":
        sign = -1 if zone[0] == "-" else 1
        offset = sign * timedelta(hours=int(zone[1:3]), minutes=int(zone[4:6]))
    try:
        local = datetime(year, month, day, hour, minute, second, millis * 1000)
        return local.replace(tzinfo=timezone(offset)).astimezone(UTC)
    except (ValueError, OverflowError):
        raise _invalid(f"Expiration {_show(text)} is not a valid date-time") from None


def _required(holder: Mapping[str, Any], key: str, where: str) -> Any:
    value = holder.get(key)
    if value is None:
        raise FspiopError(ErrorCode.MISSING_ELEMENT, f"{where} has no {key}")
    return value


def _mapping(holder: Mapping[str, Any], key: str, where: str) -> Mapping[str, Any]:
    value = _required(holder, key, where)
    if not isinstance(value, Mapping):
        raise _invalid(f"{where} {key} must be an object")
    return value


def _text(holder: Mapping[str, Any], key: str, where: str) -> str:
    value = _required(holder, key, where)
    if not isinstance(value, str) or not value:
        raise _invalid(f"{where} {key} must be a non-empty string")
    return value


def _dig(value: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(value, Mapping):
            return None
        value = value.get(key)
    return value


def _reject_constant(name: str) -> Any:
    # JSON.parse rejects NaN and Infinity; Python's json would accept them.
    raise ValueError(f"{name} is not JSON")


def _show(value: object) -> str:
    """A short printable form for messages: FSPIOP descriptions are cut at 128 characters."""
    text = str(value)
    return repr(text if len(text) <= 24 else text[:21] + "...")


def _invalid(description: str) -> FspiopError:
    return FspiopError(ErrorCode.VALIDATION_ERROR, description)


__all__ = [
    "ILP_V4_DESTINATION",
    "Ilp",
    "IlpPacket",
    "IlpTerms",
    "IlpV1",
    "IlpV4",
    "check_transfer_against_packet",
    "condition_for",
    "fulfilment_matches",
    "ilp_for_version",
    "transaction_object_for_fx_quote",
    "transaction_object_for_quote",
]
