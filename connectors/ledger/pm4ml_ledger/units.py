"""Money as integers: the ledger stores every amount in units of 1e-4 of its currency.

FSPIOP amounts have at most four decimals, so ten thousand units per major unit holds every
amount exactly, and no database ever stores money as a float. Conversion happens only here.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

UNITS_PER_MAJOR = 10_000
SCALE_DIGITS = 4

#: The largest amount FSPIOP can express: 18 digits, four of them decimals.
AMOUNT_UNITS_MAX = 10**18 - 1


def to_units(amount: Decimal) -> int:
    """``amount`` (major units) as an integer number of 1e-4 units.

    Raises ``ValueError`` when it has more than four decimals, is not finite or is too large;
    the sign is kept (callers decide whether zero or negative amounts make sense).
    """
    if not isinstance(amount, Decimal) or not amount.is_finite():
        raise ValueError(f"amount must be a finite Decimal, not {amount!r}")
    scaled = amount.scaleb(SCALE_DIGITS)
    if scaled != scaled.to_integral_value():
        raise ValueError(f"amount {amount} has more than {SCALE_DIGITS} decimals")
    units = int(scaled)
    if abs(units) > AMOUNT_UNITS_MAX:
        raise ValueError(f"amount {amount} is too large")
    return units


def from_units(units: int) -> Decimal:
    """An integer of 1e-4 units as a ``Decimal`` in major units without trailing zeros
    (``1050000`` is ``Decimal("105")``, ``1005000`` is ``Decimal("100.5")``)."""
    value = Decimal(units).scaleb(-SCALE_DIGITS)
    if value == value.to_integral_value():
        return value.quantize(Decimal(1))
    return value.normalize()


def parse_amount(text: str) -> Decimal:
    """A decimal string (from a CLI or a seed file) as a ``Decimal`` that fits the ledger."""
    try:
        amount = Decimal(text.strip())
    except InvalidOperation:
        raise ValueError(f"not a decimal amount: {text!r}") from None
    to_units(amount)
    return amount
