"""The toy core banking system: accounts with balances and holds, in memory. A real connector
calls its bank's API here instead."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

Key = tuple[str, str]


class BankError(Exception):
    """The bank refuses; ``reason`` is one of the ``REASONS``."""

    REASONS = ("no-account", "blocked", "no-money", "no-hold")

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass
class Account:
    currency: str
    balance: Decimal
    name: str
    blocked: bool = False


@dataclass
class Hold:
    """Money promised to (``incoming``) or held from an account, until settled or dropped."""

    key: Key
    amount: Decimal
    incoming: bool
    settled: bool = False
    dropped: bool = False


@dataclass
class ToyBank:
    accounts: dict[Key, Account] = field(default_factory=dict)
    holds: dict[str, Hold] = field(default_factory=dict)

    def open(self, key: Key, currency: str, balance: Decimal, name: str = "Toy Customer") -> None:
        self.accounts[key] = Account(currency, balance, name)

    def account(self, key: Key) -> Account:
        account = self.accounts.get(key)
        if account is None:
            raise BankError("no-account")
        if account.blocked:
            raise BankError("blocked")
        return account

    def available(self, key: Key) -> Decimal:
        """The balance less the outgoing holds not yet settled or dropped."""
        pending = (
            h.amount
            for h in self.holds.values()
            if h.key == key and not h.incoming and not (h.settled or h.dropped)
        )
        return self.accounts[key].balance - sum(pending, Decimal(0))

    def hold(self, hold_id: str, key: Key, amount: Decimal, *, incoming: bool) -> None:
        """Place a hold once; a repeat of ``hold_id`` does nothing."""
        if hold_id in self.holds:
            return
        self.account(key)
        if not incoming and amount > self.available(key):
            raise BankError("no-money")
        self.holds[hold_id] = Hold(key, amount, incoming)

    def settle(self, hold_id: str) -> None:
        """Move the held money, once."""
        hold = self.holds.get(hold_id)
        if hold is None or hold.dropped:
            raise BankError("no-hold")
        if not hold.settled:
            sign = 1 if hold.incoming else -1
            self.accounts[hold.key].balance += sign * hold.amount
            hold.settled = True

    def drop(self, hold_id: str) -> None:
        """Cancel an unsettled hold; unknown or dropped holds are fine."""
        hold = self.holds.get(hold_id)
        if hold is not None and not hold.settled:
            hold.dropped = True
