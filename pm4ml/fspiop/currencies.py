"""ISO 4217 minor units: the one table of currency scales in pm4ml, and exact scaling.

The table is the reference's (``sdk-standard-components`` ``ilp/currency.json``, mirrored in
``shared/vectors/ilp_v*.json`` → ``currency_decimals``) entry for entry, including its oddities
(``XTS`` and ``XXX`` at 4 places). A payee must scale an ILP amount exactly as a reference payee
would, so the table may not drift from it; money models use the same table so that an amount the
portal or a connector accepts is always one an ILP packet can carry.

Scaling is exact integer arithmetic on ``Decimal`` digits. Where the reference silently
truncates (``1.005 USD`` → ``100``), wraps (``2**64`` → ``0``) or misreads exponent forms,
:func:`scale_amount` raises ``FspiopError(VALIDATION_ERROR)`` naming the amount and currency.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal
from types import MappingProxyType

from pm4ml.fspiop.errors import ErrorCode, FspiopError

_SCALE_0 = "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF"
_SCALE_3 = "BHD IQD JOD KWD LYD OMR TND"
_SCALE_4 = "CLF UYW XTS XXX"
_SCALE_2 = """
    AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BMD BND BOB BOV BRL BSD BTN BWP
    BYN BZD CAD CDF CHE CHF CHW CNY COP COU CRC CUC CUP CVE CZK DKK DOP DZD EGP ERN ETB EUR
    FJD FKP GBP GEL GHS GIP GMD GTQ GYD HKD HNL HRK HTG HUF IDR ILS INR IRR JMD KES KGS KHR
    KPW KYD KZT LAK LBP LKR LRD LSL MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MXV MYR
    MZN NAD NGN NIO NOK NPR NZD PAB PEN PGK PHP PKR PLN QAR RON RSD RUB SAR SBD SCR SDG SEK
    SGD SHP SLL SOS SRD SSP STN SVC SYP SZL THB TJS TMT TOP TRY TTD TWD TZS UAH USD USN UYU
    UZS VES WST XCD YER ZAR ZMW ZWL
"""

CURRENCY_SCALES: Mapping[str, int] = MappingProxyType(
    {
        code: scale
        for scale, codes in ((0, _SCALE_0), (2, _SCALE_2), (3, _SCALE_3), (4, _SCALE_4))
        for code in codes.split()
    }
)
"""Currency code → number of minor-unit decimal places (``USD`` → 2, ``JPY`` → 0)."""

assert len(CURRENCY_SCALES) == 168, "the reference table has 168 currencies, each listed once"

UINT64_LIMIT = 2**64
"""Scaled amounts must be below this: ILP packets carry them as a UInt64."""

_AMOUNT_TEXT_CHARS_MAX = 64
_PLAIN_DECIMAL = re.compile(r"[0-9]+(?:\.[0-9]+)?")
# 2**64 has 20 digits, so anything with a 21st integer digit is too large before computing it.
_UINT64_DIGITS_MAX = 20


def currency_scale(currency: str) -> int:
    """The minor-unit scale of ``currency``; ``FspiopError(VALIDATION_ERROR)`` if unknown."""
    scale = CURRENCY_SCALES.get(currency) if isinstance(currency, str) else None
    if scale is None:
        raise FspiopError(
            ErrorCode.VALIDATION_ERROR,
            f"Unknown currency {_show(currency)}: no ISO 4217 minor-unit scale for it",
        )
    return scale


def scale_amount(amount: str | Decimal, currency: str) -> int:
    """``amount`` (major units) in minor units of ``currency``: ``("100.5", "USD")`` → ``10050``.

    Raises ``FspiopError(VALIDATION_ERROR)`` for an unknown currency, an amount that is not a
    plain non-negative decimal (signs, exponent forms, spaces), an amount with more decimal
    places than the currency has (no truncation) and a result of ``2**64`` or more (no wrapping).
    """
    scale = currency_scale(currency)
    value = _parse(amount, currency)
    sign, digits, exponent = value.as_tuple()
    assert isinstance(exponent, int), "finite by _parse"
    assert sign == 0, "non-negative by _parse"
    significant = list(digits)
    # Drop trailing zeros (bounded by the digit count) so the check below sees real precision.
    while len(significant) > 1 and significant[-1] == 0:
        significant.pop()
        exponent += 1
    if significant == [0]:
        return 0
    shift = exponent + scale
    if shift < 0:
        raise _invalid(amount, currency, f"has more decimal places than the {scale} of")
    if len(significant) + shift > _UINT64_DIGITS_MAX:
        raise _invalid(amount, currency, "is too large: 2**64 minor units or more in")
    units = int("".join(map(str, significant)) + "0" * shift)
    if units >= UINT64_LIMIT:
        raise _invalid(amount, currency, "is too large: 2**64 minor units or more in")
    return units


def unscale_amount(units: int, currency: str) -> Decimal:
    """The inverse of :func:`scale_amount`: ``(10050, "USD")`` → ``Decimal("100.50")``."""
    assert 0 <= units < UINT64_LIMIT, "units must fit a UInt64"
    # Built from digits rather than with scaleb(), which would round to the context precision.
    return Decimal((0, tuple(int(digit) for digit in str(units)), -currency_scale(currency)))


def _parse(amount: str | Decimal, currency: str) -> Decimal:
    if isinstance(amount, Decimal):
        if not amount.is_finite():
            raise _invalid(amount, currency, "is not a finite number in")
        if amount.is_signed() and not amount.is_zero():
            raise _invalid(amount, currency, "is negative in")
        return amount.copy_abs()
    if not isinstance(amount, str):
        raise TypeError(f"amount must be str or Decimal, not {type(amount).__name__}")
    if len(amount) > _AMOUNT_TEXT_CHARS_MAX:
        raise _invalid(amount, currency, "is too long to be an amount in")
    if _PLAIN_DECIMAL.fullmatch(amount):
        return Decimal(amount)
    if amount.startswith("-"):
        raise _invalid(amount, currency, "is negative in")
    if "e" in amount.lower():
        raise _invalid(amount, currency, "is in exponent form; write plain digits for")
    raise _invalid(amount, currency, "is not a plain decimal number (digits[.digits]) in")


def _invalid(amount: object, currency: str, problem: str) -> FspiopError:
    return FspiopError(
        ErrorCode.VALIDATION_ERROR, f"Amount {_show(amount)} {problem} currency {_show(currency)}"
    )


def _show(value: object) -> str:
    """A short printable form for messages: FSPIOP descriptions are cut at 128 characters."""
    text = str(value)
    return repr(text if len(text) <= 24 else text[:21] + "...")


__all__ = [
    "CURRENCY_SCALES",
    "UINT64_LIMIT",
    "currency_scale",
    "scale_amount",
    "unscale_amount",
]
