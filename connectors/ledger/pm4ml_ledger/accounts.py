"""What the ledger's administration API returns: snapshots of accounts and balances, with
amounts as ``Decimal`` in major units (never the stored integer units)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import NamedTuple

from pm4ml.connectors import PartyId
from pm4ml_ledger.schema import AccountKind, AccountRow, AccountStatus
from pm4ml_ledger.units import from_units


class Balance(NamedTuple):
    """An account's balance, the part of it held for transfers in flight, and the rest."""

    balance: Decimal
    held: Decimal
    available: Decimal


@dataclass(frozen=True, slots=True)
class Account:
    """One ledger account as it was when read."""

    id: int
    kind: AccountKind
    party: PartyId
    currency: str
    status: AccountStatus
    display_name: str | None
    first_name: str | None
    middle_name: str | None
    last_name: str | None
    date_of_birth: date | None
    balance: Decimal
    held: Decimal
    max_single_transfer: Decimal | None

    @property
    def available(self) -> Decimal:
        return self.balance - self.held

    @property
    def balances(self) -> Balance:
        return Balance(self.balance, self.held, self.available)

    @classmethod
    def from_row(cls, row: AccountRow) -> Account:
        limit = row.max_single_transfer
        return cls(
            id=row.id,
            kind=row.kind,
            party=PartyId(row.id_type, row.id_value, row.sub_id or None),
            currency=row.currency,
            status=row.status,
            display_name=row.display_name,
            first_name=row.first_name,
            middle_name=row.middle_name,
            last_name=row.last_name,
            date_of_birth=row.date_of_birth,
            balance=from_units(row.balance),
            held=from_units(row.held),
            max_single_transfer=None if limit is None else from_units(limit),
        )
