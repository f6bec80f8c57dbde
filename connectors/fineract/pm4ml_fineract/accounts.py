"""From an FSPIOP party id to Fineract savings accounts.

``ACCOUNT_ID`` names a savings account by its ``accountNo`` or ``externalId``; any other id
type names a client: ``MSISDN`` by the client's ``mobileNo``, the rest by the client's
``externalId``. Both are found with Fineract's search API (``GET /search``, ``exactMatch``),
whose hits are then compared exactly, as the search also matches names and account numbers.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from pm4ml.connectors import (
    Blocked,
    LimitExceeded,
    Money,
    Party,
    PartyId,
    PartyNotFound,
    Rejected,
    UnsupportedCurrency,
)
from pm4ml_fineract.client import FineractClient, garbage
from pm4ml_fineract.schema import Direction


@dataclass(frozen=True, slots=True)
class SavingsAccount:
    """What the connector uses of ``GET /savingsaccounts/{accountId}``."""

    savings_id: int
    account_no: str
    client_id: int | None
    client_name: str | None
    currency: str
    active: bool
    closed: bool
    block: bool
    block_credit: bool
    block_debit: bool
    balance: Decimal
    available: Decimal

    def blocked_for(self, direction: Direction) -> bool:
        """Whether the account refuses a credit (``IN``) or a debit (``OUT``)."""
        one_way = self.block_credit if direction is Direction.IN else self.block_debit
        return not self.active or self.block or one_way


def _flag(data: Any, name: str) -> bool:
    return isinstance(data, dict) and data.get(name) is True


def _decimal(value: Any, what: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, Decimal | int | str):
        raise garbage(what)
    try:
        return Decimal(value)
    except ArithmeticError:
        raise garbage(what) from None


def savings_from(answer: dict[str, Any]) -> SavingsAccount:
    """Parse a savings account; :func:`garbage` when a field pm4ml relies on is missing."""
    savings_id = answer.get("id")
    currency = answer.get("currency")
    code = currency.get("code") if isinstance(currency, dict) else None
    status = answer.get("status")
    if not isinstance(savings_id, int) or not isinstance(code, str) or not isinstance(status, dict):
        raise garbage("savings account")
    summary = answer.get("summary")
    summary = summary if isinstance(summary, dict) else {}
    balance = _decimal(summary.get("accountBalance", 0), "accountBalance")
    if "availableBalance" in summary:
        available = _decimal(summary["availableBalance"], "availableBalance")
    else:
        available = balance - _decimal(answer.get("savingsAmountOnHold") or 0, "on hold")
    sub_status = answer.get("subStatus")
    client_id = answer.get("clientId")
    client_name = answer.get("clientName")
    return SavingsAccount(
        savings_id=savings_id,
        account_no=str(answer.get("accountNo", "")),
        client_id=client_id if isinstance(client_id, int) else None,
        client_name=client_name if isinstance(client_name, str) else None,
        currency=code,
        active=_flag(status, "active"),
        closed=_flag(status, "closed"),
        block=_flag(sub_status, "block"),
        block_credit=_flag(sub_status, "blockCredit"),
        block_debit=_flag(sub_status, "blockDebit"),
        balance=balance,
        available=available,
    )


def _ids(
    hits: list[dict[str, Any]], entity_type: str, fields: tuple[str, ...], value: str
) -> list[int]:
    found = []
    for hit in hits:
        entity_id = hit.get("entityId")
        if hit.get("entityType") != entity_type or not isinstance(entity_id, int):
            continue
        if any(hit.get(name) == value for name in fields) and entity_id not in found:
            found.append(entity_id)
    return found


class Accounts:
    """Finding and checking the savings accounts of a party."""

    def __init__(self, client: FineractClient) -> None:
        self.client = client

    async def of(self, party: PartyId) -> list[SavingsAccount]:
        """The party's savings accounts that are not closed; ``PartyNotFound`` when none."""
        if party.id_type == "ACCOUNT_ID":
            hits = await self.client.search(party.id_value, "savings")
            ids = _ids(hits, "SAVING", ("entityAccountNo", "entityExternalId"), party.id_value)
        else:
            hits = await self.client.search(party.id_value, "clients")
            field = "entityMobileNo" if party.id_type == "MSISDN" else "entityExternalId"
            ids = []
            for client_id in _ids(hits, "CLIENT", (field,), party.id_value):
                for summary in await self.client.client_savings(client_id):
                    if isinstance(summary.get("id"), int):
                        ids.append(summary["id"])
        accounts = [savings_from(await self.client.savings(i)) for i in ids]
        open_accounts = [a for a in accounts if not a.closed]
        if not open_accounts:
            raise PartyNotFound(f"no savings account for party {party}"[:128])
        return open_accounts

    async def one(self, party: PartyId, currency: str, direction: Direction) -> SavingsAccount:
        """The party's account that can take a ``direction`` transaction in ``currency``.
        ``PartyNotFound``, ``UnsupportedCurrency`` or ``Blocked`` when there is none."""
        in_currency = [a for a in await self.of(party) if a.currency == currency]
        if not in_currency:
            raise UnsupportedCurrency(f"party {party} has no account in {currency}"[:128])
        usable = [a for a in in_currency if not a.blocked_for(direction)]
        if not usable:
            raise Blocked(f"the {currency} account of party {party} is blocked"[:128])
        return usable[0]

    async def party(self, party: PartyId) -> Party:
        """The party as a payee: its name and the currencies it can receive."""
        accounts = await self.of(party)
        usable = [a for a in accounts if not a.blocked_for(Direction.IN)]
        if not usable:
            raise Blocked(f"the accounts of party {party} are blocked"[:128])
        names: dict[str, Any] = {}
        if usable[0].client_id is not None:
            names = await self.client.client(usable[0].client_id)

        def text(name: str) -> str | None:
            value = names.get(name)
            return value if isinstance(value, str) and value else None

        return Party(
            id=party,
            display_name=text("displayName") or usable[0].client_name,
            first_name=text("firstname"),
            middle_name=text("middlename"),
            last_name=text("lastname"),
            supported_currencies=tuple(sorted({a.currency for a in usable})),
        )


def checked_amount(money: Money, limit: Decimal | None) -> Decimal:
    """``money.amount`` if pm4ml may move it: positive (``Rejected``), and not above
    ``limit`` when one is set (``LimitExceeded``)."""
    if money.amount <= 0:
        raise Rejected(f"amount must be positive, not {money.amount}")
    if limit is not None and money.amount > limit:
        raise LimitExceeded(f"{money.amount} {money.currency} is above the single-transfer limit")
    return money.amount
