"""The ledger connector's request-to-pay hooks: the decision issues a one-time password for
an OTP request and checks it later, and a refund is taken on only for a payment the payer
received from the payee. On SQLite and PostgreSQL through the real connector."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import replace
from decimal import Decimal
from typing import Any

import pytest

from pm4ml.connectors import (
    IncomingTransfer,
    Money,
    PartyId,
    Rejected,
    Role,
    TransactionRequest,
    TransactionRequestState,
    TransactionType,
    to_fspiop_error,
)
from pm4ml_ledger import Ledger, LedgerConnector

MakeAccount = Callable[..., Awaitable[PartyId]]
MakeIncoming = Callable[..., IncomingTransfer]
SHOP = PartyId("MSISDN", "27700000001")


def asked(payer: PartyId, amount: str = "10", **extra: Any) -> TransactionRequest:
    values: dict[str, Any] = {
        "transaction_request_id": "r-1",
        "payee": SHOP,
        "payee_fsp": "payeefsp",
        "payer": payer,
        "amount": Money(Decimal(amount), "USD"),
    }
    return TransactionRequest(**{**values, **extra})


async def test_otp_request_gets_one_password_that_checks(
    connector: LedgerConnector, ledger: Ledger, make_account: MakeAccount
) -> None:
    payer = await make_account(balance="100")
    request = asked(payer, authentication_type="OTP")
    decision = await connector.decide_transaction_request(request)
    assert decision.state is TransactionRequestState.RECEIVED
    issued = await ledger.issued_one_time_password("r-1")
    assert issued is not None and len(issued) == 6 and issued.isdigit()
    await connector.decide_transaction_request(request)  # a repeat keeps the password
    assert await ledger.issued_one_time_password("r-1") == issued
    assert await connector.check_one_time_password("r-1", issued)
    assert not await connector.check_one_time_password("r-1", f"{(int(issued) + 1) % 10**6:06d}")
    assert not await connector.check_one_time_password("r-unknown", issued)


async def test_no_password_without_otp_or_for_a_rejected_request(
    connector: LedgerConnector, ledger: Ledger, make_account: MakeAccount
) -> None:
    payer = await make_account(balance="5")
    await connector.decide_transaction_request(asked(payer))
    assert await ledger.issued_one_time_password("r-1") is None
    too_much = asked(payer, "6", transaction_request_id="r-2", authentication_type="OTP")
    decision = await connector.decide_transaction_request(too_much)
    assert decision.state is TransactionRequestState.REJECTED
    assert await ledger.issued_one_time_password("r-2") is None


async def test_refund_only_of_a_payment_received_from_the_payee(
    connector: LedgerConnector, make_account: MakeAccount, incoming: MakeIncoming
) -> None:
    merchant = await make_account(balance="0")
    paid = replace(incoming("t-1", merchant, "40"), payer=SHOP, payer_fsp="payeefsp")
    await connector.prepare_transfer(paid)
    refund = asked(merchant, "40", transaction_type=TransactionType("REFUND", refund_of="t-1"))
    with pytest.raises(Rejected) as held_only:
        await connector.decide_transaction_request(refund)  # not committed yet
    assert to_fspiop_error(held_only.value, Role.PAYER).code.code == "3207"
    await connector.commit_transfer("t-1")
    decision = await connector.decide_transaction_request(refund)
    assert decision.state is TransactionRequestState.RECEIVED

    other = asked(
        merchant, "40", payee=PartyId("MSISDN", "999"), transaction_type=refund.transaction_type
    )
    with pytest.raises(Rejected):
        await connector.decide_transaction_request(other)  # someone else's payment
    unknown = TransactionType("REFUND", refund_of="t-unknown")
    with pytest.raises(Rejected):
        await connector.decide_transaction_request(asked(merchant, "40", transaction_type=unknown))
