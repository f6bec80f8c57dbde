"""OER codec for the two ILP packets Mojaloop uses, and their base64 text form.

* ILP v1 ``IlpPayment`` (type 1, ``ilp-packet@2.2.0``)::

      0x01 | len | UInt64BE amount | len | account (ASCII) | len | data | 0x00 (no extensions)

* ILP v4 ``IlpPrepare`` (type 12, ``ilp-packet@3.1.3``)::

      0x0C | len | UInt64BE amount | expiresAt (17 ASCII digits, UTC, ms) | condition (32 bytes)
           | len | destination (ASCII) | len | data

``len`` is an OER length prefix: one byte below 128, else ``0x80 | n`` and ``n`` big-endian bytes.
Decoding is strict where the reference is lenient: the type, every length (canonical form, no
truncation) and the absence of trailing bytes are checked, and every failure is an
``FspiopError(VALIDATION_ERROR)`` that says what is wrong. Packet text is read like Node's
``Buffer.from(text, "base64")`` (either alphabet, padding optional) minus its tolerance of stray
characters, and written as unpadded base64url.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass
from datetime import UTC, datetime

from pm4ml.fspiop.errors import ErrorCode, FspiopError

TYPE_PAYMENT = 1
TYPE_PREPARE = 12
_TYPE_FOR_VERSION = {1: TYPE_PAYMENT, 4: TYPE_PREPARE}
_TYPE_NAMES = {TYPE_PAYMENT: "IlpPayment", TYPE_PREPARE: "IlpPrepare"}

CONDITION_BYTES = 32
PACKET_TEXT_CHARS_MAX = 32768
"""FSPIOP ``IlpPacket`` is at most 32768 characters of base64 text."""

_UINT64_LIMIT = 2**64
_TIME_CHARS = 17
# A length prefix longer than 4 bytes would describe more than 4 GiB: never a valid packet.
_LENGTH_PREFIX_BYTES_MAX = 4
_BASE64_TEXT = re.compile(r"[A-Za-z0-9+/_-]*={0,2}")
_URL_TO_STANDARD = str.maketrans("-_", "+/")


@dataclass(frozen=True, slots=True)
class IlpPacket:
    """A decoded ILP packet.

    ``version`` is 1 (``IlpPayment``) or 4 (``IlpPrepare``); ``address`` is the v1 ``account``
    or the v4 ``destination``; ``data`` holds the raw data field (in Mojaloop, the ASCII text of
    the base64url transaction object). ``expires_at`` (aware, UTC, millisecond precision) and
    ``condition`` (base64url, 32 bytes) exist in v4 only and are ``None`` in v1.
    """

    version: int
    amount: int
    address: str
    data: bytes
    expires_at: datetime | None = None
    condition: str | None = None

    def __post_init__(self) -> None:
        assert self.version in _TYPE_FOR_VERSION, "ILP version must be 1 or 4"
        v4_fields = (self.expires_at is not None, self.condition is not None)
        assert v4_fields == ((True, True) if self.version == 4 else (False, False)), (
            "expires_at and condition belong to ILP v4 packets, and only to them"
        )


def encode(packet: IlpPacket) -> bytes:
    """The OER bytes of ``packet``; ``FspiopError(VALIDATION_ERROR)`` if a field cannot be
    represented (amount outside UInt64, non-ASCII or empty address, sub-millisecond expiry)."""
    if not 0 <= packet.amount < _UINT64_LIMIT:
        raise _error(f"ILP amount {packet.amount} does not fit in a UInt64")
    amount = packet.amount.to_bytes(8, "big")
    address = _var_octets(_address_bytes(packet.address))
    data = _var_octets(packet.data)
    if packet.version == 1:
        content = amount + address + data + b"\x00"
    else:
        assert packet.expires_at is not None
        assert packet.condition is not None
        condition = decode_base64(packet.condition, "ILP condition", 64)
        if len(condition) != CONDITION_BYTES:
            raise _error(f"ILP condition must be 32 bytes, not {len(condition)}")
        when = format_interledger_time(packet.expires_at).encode("ascii")
        content = amount + when + condition + address + data
    return bytes([_TYPE_FOR_VERSION[packet.version]]) + _var_octets(content)


def decode(raw: bytes, version: int) -> IlpPacket:
    """Parse the OER bytes of an ILP v1 or v4 packet strictly (see the module docstring)."""
    expected = _TYPE_FOR_VERSION[version]
    if not raw:
        raise _error("ILP packet is empty")
    if raw[0] != expected:
        found = _TYPE_NAMES.get(raw[0], "unknown")
        raise _error(
            f"ILP packet has type {raw[0]} ({found}); ILP v{version} expects "
            f"{expected} ({_TYPE_NAMES[expected]})"
        )
    envelope = _Reader(raw[1:], "ILP packet")
    content = _Reader(envelope.var_octets(), f"ILP {_TYPE_NAMES[expected]}")
    envelope.end()
    amount = int.from_bytes(content.take(8), "big")
    if version == 1:
        address = _address_text(content.var_octets())
        data = content.var_octets()
        if content.take(1) != b"\x00":
            raise _error("ILP v1 packet carries extensions, which Mojaloop never uses")
        content.end()
        return IlpPacket(1, amount, address, data)
    expires_at = parse_interledger_time(content.take(_TIME_CHARS))
    condition = encode_base64url(content.take(CONDITION_BYTES))
    address = _address_text(content.var_octets())
    data = content.var_octets()
    content.end()
    return IlpPacket(4, amount, address, data, expires_at, condition)


def encode_base64url(raw: bytes) -> str:
    """Unpadded base64url text, the form of every packet, condition and fulfilment we send."""
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def decode_base64(text: str, what: str, chars_max: int) -> bytes:
    """Decode base64 in either alphabet, padded or not, like Node's ``Buffer.from(x, 'base64')``,
    but reject characters outside the alphabets, misplaced padding and impossible lengths."""
    if not isinstance(text, str) or len(text) > chars_max:
        size = len(text) if isinstance(text, str) else type(text).__name__
        raise _error(f"{what} must be base64 text of at most {chars_max} characters ({size})")
    if not _BASE64_TEXT.fullmatch(text):
        raise _error(f"{what} is not base64: it has characters outside both base64 alphabets")
    body = text.rstrip("=")
    if len(body) % 4 == 1 or (body != text and len(text) % 4 != 0):
        raise _error(f"{what} is not base64: its length ({len(text)}) is impossible")
    padded = body.translate(_URL_TO_STANDARD) + "=" * (-len(body) % 4)
    return base64.b64decode(padded, validate=True)


def format_interledger_time(moment: datetime) -> str:
    """``YYYYMMDDHHmmssSSS`` in UTC, the 17-character OER form of an ILP v4 ``expiresAt``."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise _error("ILP expiry must be a timezone-aware date-time")
    try:
        utc = moment.astimezone(UTC)
    except OverflowError:
        raise _error(f"ILP expiry {moment.isoformat()} is outside years 1-9999 in UTC") from None
    if utc.microsecond % 1000:
        raise _error(f"ILP expiry {moment.isoformat()} is more precise than milliseconds")
    # Explicit widths: strftime("%Y") does not zero-pad years below 1000 on every platform.
    return (
        f"{utc.year:04d}{utc.month:02d}{utc.day:02d}{utc.hour:02d}{utc.minute:02d}"
        f"{utc.second:02d}{utc.microsecond // 1000:03d}"
    )


def parse_interledger_time(raw: bytes) -> datetime:
    """The aware UTC ``datetime`` of a 17-digit interledger timestamp."""
    text = raw.decode("ascii", errors="replace")
    if len(text) != _TIME_CHARS or not text.isascii() or not text.isdigit():
        raise _error(f"ILP expiresAt {text!r} is not 17 digits (YYYYMMDDHHmmssSSS)")
    try:
        return datetime(
            year=int(text[0:4]),
            month=int(text[4:6]),
            day=int(text[6:8]),
            hour=int(text[8:10]),
            minute=int(text[10:12]),
            second=int(text[12:14]),
            microsecond=int(text[14:17]) * 1000,
            tzinfo=UTC,
        )
    except ValueError:
        raise _error(f"ILP expiresAt {text!r} is not a valid date-time") from None


class _Reader:
    """Bounded reads over one OER structure; every shortfall names the structure."""

    def __init__(self, raw: bytes, what: str) -> None:
        self._raw = raw
        self._offset = 0
        self._what = what

    def take(self, count: int) -> bytes:
        end = self._offset + count
        if end > len(self._raw):
            raise _error(
                f"{self._what} is truncated: {count} bytes needed at offset {self._offset}, "
                f"{len(self._raw) - self._offset} left"
            )
        chunk = self._raw[self._offset : end]
        self._offset = end
        return chunk

    def var_octets(self) -> bytes:
        return self.take(self._length_prefix())

    def end(self) -> None:
        extra = len(self._raw) - self._offset
        if extra:
            raise _error(f"{self._what} has {extra} unexpected trailing bytes")

    def _length_prefix(self) -> int:
        first = self.take(1)[0]
        if first < 0x80:
            return first
        size = first & 0x7F
        if not 1 <= size <= _LENGTH_PREFIX_BYTES_MAX:
            raise _error(f"{self._what} has an unsupported {size}-byte length prefix")
        length_bytes = self.take(size)
        length = int.from_bytes(length_bytes, "big")
        if length < 0x80 or length_bytes[0] == 0:
            raise _error(f"{self._what} has a non-canonical length prefix for {length} bytes")
        return length


def _var_octets(content: bytes) -> bytes:
    length = len(content)
    if length < 0x80:
        return bytes([length]) + content
    size = (length.bit_length() + 7) // 8
    return bytes([0x80 | size]) + length.to_bytes(size, "big") + content


def _address_bytes(address: str) -> bytes:
    if not address or not address.isascii():
        raise _error(f"ILP address {address[:40]!r} must be non-empty ASCII")
    return address.encode("ascii")


def _address_text(raw: bytes) -> str:
    if not raw or not raw.isascii():
        raise _error("ILP packet address must be non-empty ASCII")
    return raw.decode("ascii")


def _error(description: str) -> FspiopError:
    return FspiopError(ErrorCode.VALIDATION_ERROR, description)


__all__ = [
    "CONDITION_BYTES",
    "PACKET_TEXT_CHARS_MAX",
    "TYPE_PAYMENT",
    "TYPE_PREPARE",
    "IlpPacket",
    "decode",
    "decode_base64",
    "encode",
    "encode_base64url",
    "format_interledger_time",
    "parse_interledger_time",
]
