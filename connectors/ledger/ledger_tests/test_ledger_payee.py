"""The payee side of the ledger connector keeps the contract in ``pm4ml.connectors``: party
look-up, quotes, and prepare/commit/abort of incoming credits, each idempotent on its key.

Every test runs on SQLite and PostgreSQL through the real connector and database; the
``ledger`` fixture audits the journal after each test.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from pm4ml.connectors import (
    AmountType,
    Blocked,
    IncomingTransfer,
    LimitExceeded,
    Money,
    PartyId,
    PartyNotFound,
    QuoteRequest,
    Rejected,
    Role,
    UnknownTransfer,
    UnsupportedCurrency,
    to_fspiop_error,
)
from pm4ml_ledger import Direction, Ledger, LedgerConnector, ReservationState

MakeAccount = Callable[..., Awaitable[PartyId]]
MakeIncoming = Callable[..., IncomingTransfer]
UNKNOWN = PartyId("MSISDN", "999000111")


def quote_request(payee: PartyId, amount: str, currency: str = "USD") -> QuoteRequest:
    return QuoteRequest(
        quote_id="q-1",
        transaction_id="tx-1",
        payee=payee,
        payer=PartyId("MSISDN", "44123456789"),
        payer_fsp="payerfsp",
        amount=Money(Decimal(amount), currency),
        amount_type=AmountType.SEND,
    )


# --- lookup_party ---------------------------------------------------------------------------


async def test_lookup_party_returns_the_customer_and_its_currencies(
    connector: LedgerConnector, ledger: Ledger
) -> None:
    party = PartyId("MSISDN", "255700000001")
    await ledger.open_account(
        party,
        "USD",
        first_name="Amina",
        middle_name="B",
        last_name="Juma",
        date_of_birth=date(1990, 4, 1),
    )
    await ledger.open_account(party, "TZS", display_name="Amina J.")

    found = await connector.lookup_party(party)

    assert found.id == party
    assert (found.first_name, found.middle_name, found.last_name) == ("Amina", "B", "Juma")
    assert found.display_name == "Amina B Juma"
    assert found.date_of_birth == "1990-04-01"
    assert found.supported_currencies == ("TZS", "USD")


async def test_lookup_party_unknown_is_party_not_found(connector: LedgerConnector) -> None:
    with pytest.raises(PartyNotFound) as caught:
        await connector.lookup_party(UNKNOWN)
    assert to_fspiop_error(caught.value, Role.PAYEE).code.code == "3204"


async def test_lookup_party_sub_id_is_part_of_the_identity(
    connector: LedgerConnector, ledger: Ledger
) -> None:
    await ledger.open_account(PartyId("ACCOUNT_ID", "77", "savings"), "USD")
    assert (await connector.lookup_party(PartyId("ACCOUNT_ID", "77", "savings"))).id.sub_id
    with pytest.raises(PartyNotFound):
        await connector.lookup_party(PartyId("ACCOUNT_ID", "77"))


async def test_lookup_party_closed_account_is_not_found(
    connector: LedgerConnector, ledger: Ledger, make_account: MakeAccount
) -> None:
    party = await make_account()
    await ledger.close(party, "USD")
    with pytest.raises(PartyNotFound):
        await connector.lookup_party(party)


async def test_lookup_party_blocked_is_blocked(
    connector: LedgerConnector, ledger: Ledger, make_account: MakeAccount
) -> None:
    party = await make_account()
    await ledger.block(party, "USD")
    with pytest.raises(Blocked) as caught:
        await connector.lookup_party(party)
    assert to_fspiop_error(caught.value, Role.PAYEE).code.code == "5400"


async def test_lookup_party_lists_only_currencies_that_can_receive(
    connector: LedgerConnector, ledger: Ledger, make_account: MakeAccount
) -> None:
    party = await make_account(currency="USD")
    await ledger.open_account(party, "EUR")
    await ledger.block(party, "USD")
    assert (await connector.lookup_party(party)).supported_currencies == ("EUR",)


# --- quote ----------------------------------------------------------------------------------


@pytest.mark.parametrize("amount_type", [AmountType.SEND, AmountType.RECEIVE])
async def test_quote_charges_no_fee_and_repeats_the_same_terms(
    connector: LedgerConnector, ledger: Ledger, make_account: MakeAccount, amount_type: AmountType
) -> None:
    payee = await make_account(balance="3")
    request = replace(quote_request(payee, "12.3456"), amount_type=amount_type)

    terms = await connector.quote(request)

    assert terms.transfer_amount == Money(Decimal("12.3456"), "USD")
    assert terms.payee_receive_amount == terms.transfer_amount
    assert terms.payee_fsp_fee is None
    assert await connector.quote(request) == terms
    assert await ledger.balance(payee, "USD") == (Decimal(3), Decimal(0), Decimal(3))


async def test_quote_unknown_party(connector: LedgerConnector) -> None:
    with pytest.raises(PartyNotFound):
        await connector.quote(quote_request(UNKNOWN, "1"))


async def test_quote_in_a_currency_the_party_lacks_is_unsupported(
    connector: LedgerConnector, make_account: MakeAccount
) -> None:
    payee = await make_account(currency="USD")
    with pytest.raises(UnsupportedCurrency) as caught:
        await connector.quote(quote_request(payee, "1", "EUR"))
    assert to_fspiop_error(caught.value, Role.PAYEE).code.code == "5106"


async def test_quote_above_the_limit_is_refused(
    connector: LedgerConnector, make_account: MakeAccount
) -> None:
    payee = await make_account(max_single_transfer=Decimal("50"))
    await connector.quote(quote_request(payee, "50"))
    with pytest.raises(LimitExceeded) as caught:
        await connector.quote(quote_request(payee, "50.0001"))
    assert to_fspiop_error(caught.value, Role.PAYEE).code.code == "5200"


async def test_quote_to_a_blocked_account_is_blocked(
    connector: LedgerConnector, ledger: Ledger, make_account: MakeAccount
) -> None:
    payee = await make_account()
    await ledger.block(payee, "USD")
    with pytest.raises(Blocked):
        await connector.quote(quote_request(payee, "1"))


@pytest.mark.parametrize("amount", ["0", "-1", "1.00001"])
async def test_quote_of_an_amount_the_ledger_cannot_hold_is_rejected(
    connector: LedgerConnector, make_account: MakeAccount, amount: str
) -> None:
    payee = await make_account()
    with pytest.raises(Rejected):
        await connector.quote(quote_request(payee, amount))


# --- prepare, commit, abort -----------------------------------------------------------------


async def test_prepare_promises_and_commit_credits(
    connector: LedgerConnector, ledger: Ledger, make_account: MakeAccount, incoming: MakeIncoming
) -> None:
    payee = await make_account(balance="10")
    await connector.prepare_transfer(incoming("t-1", payee, "2.5"))
    assert await ledger.reservation_state("t-1", Direction.IN) is ReservationState.HELD
    assert await ledger.balance(payee, "USD") == (Decimal(10), Decimal(0), Decimal(10))

    await connector.commit_transfer("t-1")

    assert await ledger.reservation_state("t-1", Direction.IN) is ReservationState.COMMITTED
    assert await ledger.balance(payee, "USD") == (Decimal("12.5"), Decimal(0), Decimal("12.5"))
    assert await ledger.settlement_balance("USD") == Decimal("-12.5")


async def test_prepare_and_commit_are_idempotent(
    connector: LedgerConnector, ledger: Ledger, make_account: MakeAccount, incoming: MakeIncoming
) -> None:
    payee = await make_account()
    transfer = incoming("t-1", payee, "7")
    await connector.prepare_transfer(transfer)
    await connector.prepare_transfer(transfer)
    await connector.commit_transfer("t-1")
    await connector.commit_transfer("t-1")
    await connector.prepare_transfer(transfer)  # a late repeat of a committed transfer
    assert (await ledger.balance(payee, "USD")).balance == Decimal(7)


@pytest.mark.parametrize("change", ["amount", "payee", "currency"])
async def test_prepare_again_with_other_terms_is_rejected_as_modified(
    connector: LedgerConnector,
    ledger: Ledger,
    make_account: MakeAccount,
    incoming: MakeIncoming,
    change: str,
) -> None:
    payee, other = await make_account(), await make_account()
    await ledger.open_account(payee, "EUR")
    await connector.prepare_transfer(incoming("t-1", payee, "7"))
    changed = {
        "amount": incoming("t-1", payee, "8"),
        "payee": incoming("t-1", other, "7"),
        "currency": incoming("t-1", payee, "7", "EUR"),
    }[change]
    with pytest.raises(Rejected) as caught:
        await connector.prepare_transfer(changed)
    assert to_fspiop_error(caught.value, Role.PAYEE).code.code == "3106"
    await connector.commit_transfer("t-1")
    assert (await ledger.balance(payee, "USD")).balance == Decimal(7)
    assert (await ledger.balance(other, "USD")).balance == Decimal(0)


async def test_prepare_refusals(
    connector: LedgerConnector, ledger: Ledger, make_account: MakeAccount, incoming: MakeIncoming
) -> None:
    limited = await make_account(max_single_transfer=Decimal(5))
    blocked = await make_account()
    await ledger.block(blocked, "USD")
    with pytest.raises(PartyNotFound):
        await connector.prepare_transfer(incoming("t-1", UNKNOWN, "1"))
    with pytest.raises(LimitExceeded):
        await connector.prepare_transfer(incoming("t-2", limited, "5.01"))
    with pytest.raises(Blocked):
        await connector.prepare_transfer(incoming("t-3", blocked, "1"))
    with pytest.raises(UnsupportedCurrency):
        await connector.prepare_transfer(incoming("t-4", limited, "1", "EUR"))
    for transfer_id in ("t-1", "t-2", "t-3", "t-4"):
        assert await ledger.reservation_state(transfer_id, Direction.IN) is None


async def test_commit_of_an_unknown_transfer(connector: LedgerConnector) -> None:
    with pytest.raises(UnknownTransfer) as caught:
        await connector.commit_transfer("never-prepared")
    assert to_fspiop_error(caught.value, Role.PAYEE).code.code == "3208"


async def test_commit_succeeds_even_if_the_account_was_blocked_meanwhile(
    connector: LedgerConnector, ledger: Ledger, make_account: MakeAccount, incoming: MakeIncoming
) -> None:
    payee = await make_account()
    await connector.prepare_transfer(incoming("t-1", payee, "3"))
    await ledger.block(payee, "USD")
    await connector.commit_transfer("t-1")
    assert (await ledger.balance(payee, "USD")).balance == Decimal(3)


async def test_abort_releases_and_is_idempotent(
    connector: LedgerConnector, ledger: Ledger, make_account: MakeAccount, incoming: MakeIncoming
) -> None:
    payee = await make_account()
    transfer = incoming("t-1", payee, "3")
    await connector.prepare_transfer(transfer)
    await connector.abort_transfer("t-1", "expired")
    await connector.abort_transfer("t-1", "expired")
    await connector.abort_transfer("never-prepared", "whatever")
    assert await ledger.reservation_state("t-1", Direction.IN) is ReservationState.RELEASED

    with pytest.raises(Rejected, match="released"):
        await connector.commit_transfer("t-1")
    with pytest.raises(Rejected, match="released"):
        await connector.prepare_transfer(transfer)
    assert (await ledger.balance(payee, "USD")).balance == Decimal(0)


async def test_abort_after_commit_changes_nothing(
    connector: LedgerConnector, ledger: Ledger, make_account: MakeAccount, incoming: MakeIncoming
) -> None:
    payee = await make_account()
    await connector.prepare_transfer(incoming("t-1", payee, "3"))
    await connector.commit_transfer("t-1")
    await connector.abort_transfer("t-1", "too late")
    assert await ledger.reservation_state("t-1", Direction.IN) is ReservationState.COMMITTED
    assert (await ledger.balance(payee, "USD")).balance == Decimal(3)


async def test_prepare_keeps_the_expiration(
    connector: LedgerConnector, ledger: Ledger, make_account: MakeAccount, incoming: MakeIncoming
) -> None:
    payee = await make_account()
    expiration = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)
    transfer = incoming("t-1", payee, "3")
    await connector.prepare_transfer(replace(transfer, expiration=expiration))
    await connector.prepare_transfer(replace(transfer, expiration=expiration))
    assert await ledger.reservation_state("t-1", Direction.IN) is ReservationState.HELD
