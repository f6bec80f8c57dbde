"""Amounts cross into the ledger as integers of 1e-4 units and come back as the same Decimal:
exact for every FSPIOP amount (at most four decimals), refused for anything else.

Method: property tests with Hypothesis over the whole FSPIOP amount range, plus edge cases.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pm4ml_ledger.units import AMOUNT_UNITS_MAX, from_units, parse_amount, to_units

fspiop_amounts = st.integers(min_value=-AMOUNT_UNITS_MAX, max_value=AMOUNT_UNITS_MAX).map(
    lambda units: Decimal(units).scaleb(-4)
)


@given(fspiop_amounts)
def test_every_fspiop_amount_round_trips(amount: Decimal) -> None:
    units = to_units(amount)
    assert isinstance(units, int)
    assert from_units(units) == amount
    assert "E" not in str(from_units(units))


@pytest.mark.parametrize(
    ("units", "text"),
    [(0, "0"), (10_000, "1"), (1_050_000, "105"), (1_005_000, "100.5"), (1, "0.0001")],
)
def test_from_units_prints_without_trailing_zeros(units: int, text: str) -> None:
    assert str(from_units(units)) == text


@pytest.mark.parametrize(
    "amount",
    [Decimal("0.00001"), Decimal("1E+18"), Decimal("NaN"), Decimal("Infinity"), 1.5],
)
def test_to_units_refuses_what_it_cannot_hold_exactly(amount: Decimal) -> None:
    with pytest.raises(ValueError, match="amount"):
        to_units(amount)


def test_parse_amount() -> None:
    assert parse_amount(" 10.50 ") == Decimal("10.50")
    for text in ("ten", "1.23456", ""):
        with pytest.raises(ValueError, match="amount"):
            parse_amount(text)
