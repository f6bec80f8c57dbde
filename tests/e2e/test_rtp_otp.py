"""A merchant payment on POS authorised with a one-time password, pm4ml to pm4ml on loopback,
JWS on: the payer's ledger issues the password when it receives the request (the customer's
SMS), the payer types it on the merchant's terminal (the payee DFSP's connector answers
``one_time_password`` with what was typed: the one fake here, standing in for a person at a
POS), and the payer DFSP checks it after the quote (``GET``/``PUT /authorizations``).

Right password, wrong then right, too many wrong (rejected, no money moves, both sides'
requests ``REJECTED``), declined on the terminal, the payee DFSP not answering (timeout), and
the backend checking it itself (``PM4ML_AUTO_ACCEPT_OTP=false``, ``acceptOTP``)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import pytest

from pm4ml.connectors import Rejected
from pm4ml.store.schema import TransactionRequestRow
from tests.e2e.conftest import PAYEE, PAYER, Pair, PairFactory, Side
from tests.e2e.test_pm4ml_pair import settle
from tests.e2e.test_use_cases import assert_no_money_moved, pay_request, received_request

OTP_REQUEST = {
    "authenticationType": "OTP",
    "subScenario": "POS",
    "amountType": "RECEIVE",
}


class Terminal:
    """The merchant's POS: what the payer types there, one entry per ask. ``None`` is the
    payer pressing *cancel*; nothing left is a terminal that never answers."""

    def __init__(self) -> None:
        self.typed: list[str | None] = []
        self.asked = 0

    async def one_time_password(self, transaction_request_id: str) -> str:
        self.asked += 1
        if not self.typed:
            await asyncio.sleep(3600)
        value = self.typed.pop(0)
        if value is None:
            raise Rejected("the customer cancelled on the terminal")
        return value


@pytest.fixture
def terminal() -> Terminal:
    return Terminal()


def with_terminal(pair: Pair, terminal: Terminal, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        pair.payee.runtime.ctx.connector, "one_time_password", terminal.one_time_password
    )


@pytest.fixture
async def otp_pair(
    pair_factory: PairFactory, terminal: Terminal, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Pair]:
    async with pair_factory() as pair:
        with_terminal(pair, terminal, monkeypatch)
        yield pair


async def otp_request(pair: Pair) -> tuple[str, str]:
    """A POS request with an OTP, received by the payer DFSP; its id and the password the
    payer's ledger issued for it."""
    request_id = await received_request(
        pair, scenario="PAYMENT", initiator_type="DEVICE", **OTP_REQUEST
    )
    issued = await pair.payer.ledger.issued_one_time_password(request_id)
    assert issued is not None and len(issued) == 6
    return request_id, issued


def wrong(issued: str) -> str:
    return f"{(int(issued) + 1) % 1_000_000:06d}"


async def pay(pair: Pair, request_id: str, **extra: Any) -> Any:
    return await pay_request(
        pair, request_id, "25.5", "PAYMENT", "DEVICE", "RECEIVE", subScenario="POS", **extra
    )


async def stored(side: Side, request_id: str, role: str) -> TransactionRequestRow:
    store = side.runtime.store
    async with store.reading() as session:
        row = await store.transaction_request(session, request_id, role)
    assert row is not None
    return row


async def assert_paid_once(pair: Pair) -> None:
    await settle(pair)
    assert await pair.payer.balance(PAYER) == (Decimal("974.5"), Decimal(0))
    assert await pair.payee.balance(PAYEE) == (Decimal("25.5"), Decimal(0))


async def test_right_password_pays(otp_pair: Pair, terminal: Terminal) -> None:
    request_id, issued = await otp_request(otp_pair)
    terminal.typed = [issued]
    response = await pay(otp_pair, request_id)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["currentState"] == "COMPLETED"
    authorization = body["authorizationResponse"]["body"]
    assert authorization == {
        "authenticationInfo": {"authentication": "OTP", "authenticationValue": issued},
        "responseType": "ENTERED",
    }
    await assert_paid_once(otp_pair)
    approved = await stored(otp_pair.payer, request_id, "payer")
    assert (approved.state, approved.otp_attempts) == ("ACCEPTED", 1)
    assert (await stored(otp_pair.payee, request_id, "payee")).otp_attempts == 1


async def test_wrong_then_right_password_pays(otp_pair: Pair, terminal: Terminal) -> None:
    request_id, issued = await otp_request(otp_pair)
    terminal.typed = [wrong(issued), issued]
    response = await pay(otp_pair, request_id)
    assert response.status_code == 200, response.text
    assert response.json()["currentState"] == "COMPLETED"
    await assert_paid_once(otp_pair)
    assert (await stored(otp_pair.payer, request_id, "payer")).otp_attempts == 2


async def test_too_many_wrong_passwords_reject_the_request(
    otp_pair: Pair, terminal: Terminal
) -> None:
    request_id, issued = await otp_request(otp_pair)
    terminal.typed = [*[wrong(issued)] * 3, issued]
    response = await pay(otp_pair, request_id)
    assert response.status_code == 500, response.text
    body = response.json()
    assert body["statusCode"] == "4101"
    assert body["transferState"]["currentState"] == "ERROR_OCCURRED"
    assert terminal.asked == 3  # PM4ML_OTP_ATTEMPTS_MAX
    await settle(otp_pair)
    await assert_no_money_moved(otp_pair)
    asked = await stored(otp_pair.payer, request_id, "payer")
    assert (asked.state, asked.otp_attempts) == ("REJECTED", 3)
    for _ in range(100):  # the payee DFSP hears of it with PUT /authorizations REJECTED
        if (await stored(otp_pair.payee, request_id, "payee")).state == "REJECTED":
            break
        await asyncio.sleep(0.05)
    assert (await stored(otp_pair.payee, request_id, "payee")).state == "REJECTED"
    again = await pay_request(otp_pair, request_id)
    assert again.status_code == 400, again.text


async def test_payer_cancelling_on_the_terminal_rejects(otp_pair: Pair, terminal: Terminal) -> None:
    request_id, _ = await otp_request(otp_pair)
    terminal.typed = [None]
    response = await pay(otp_pair, request_id)
    assert response.status_code == 500, response.text
    assert response.json()["statusCode"] == "4101"
    await settle(otp_pair)
    await assert_no_money_moved(otp_pair)
    assert (await stored(otp_pair.payer, request_id, "payer")).state == "REJECTED"


async def test_payee_dfsp_not_answering_times_out(otp_pair: Pair, terminal: Terminal) -> None:
    otp_pair.payer.runtime.ctx.callback_wait_seconds = 0.5
    otp_pair.payee.runtime.ctx.connector_timeout_seconds = 1.0  # its late 2003 goes nowhere
    request_id, _ = await otp_request(otp_pair)
    response = await pay(otp_pair, request_id)
    assert response.status_code == 504, response.text
    assert response.json()["statusCode"] == "2004"
    await settle(otp_pair)
    await assert_no_money_moved(otp_pair)
    asked = await stored(otp_pair.payer, request_id, "payer")
    assert (asked.state, asked.last_error_code) == ("TIMEOUT", "2004")


async def test_backend_accepts_or_declines_the_password(
    pair_factory: PairFactory, terminal: Terminal, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with pair_factory(payer={"auto_accept_otp": False}) as pair:
        with_terminal(pair, terminal, monkeypatch)
        request_id, issued = await otp_request(pair)
        terminal.typed = [issued]
        waiting = await pay(pair, request_id)
        assert waiting.status_code == 200, waiting.text
        body = waiting.json()
        assert body["currentState"] == "WAITING_FOR_OTP_ACCEPTANCE"
        entered = body["authorizationResponse"]["body"]["authenticationInfo"]
        assert entered["authenticationValue"] == issued
        await assert_no_money_moved(pair)
        url = f"{pair.payer.outbound_url}/requestToPayTransfer/{request_id}"
        wrong_step = await pair.http.put(url, json={"acceptQuote": True})
        assert wrong_step.status_code == 400, wrong_step.text
        accepted = await pair.http.put(url, json={"acceptOTP": True})
        assert accepted.status_code == 200, accepted.text
        assert accepted.json()["currentState"] == "COMPLETED"
        await assert_paid_once(pair)

        declined_id, issued = await otp_request(pair)
        terminal.typed = [issued]
        await pay(pair, declined_id)
        url = f"{pair.payer.outbound_url}/requestToPayTransfer/{declined_id}"
        declined = await pair.http.put(url, json={"acceptOTP": False})
        assert declined.status_code == 500, declined.text
        assert declined.json()["statusCode"] == "4101"
        await assert_paid_once(pair)  # the first payment only
        assert (await stored(pair.payer, declined_id, "payer")).state == "REJECTED"
