"""The payee DFSP's CBS hears how its customer's request to pay ended
(``Connector.notify_transaction_request``): ``ACCEPTED`` once the payer's transfer is committed
to us, ``REJECTED`` when the payer DFSP refuses. The payee DFSP runs the ``http`` connector
against the Backend API server of its tests, which records ``PUT /requestToPay/{ID}``."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from decimal import Decimal

import pytest
from http_tests.backend import Account, Backend

from pm4ml.config import Settings
from pm4ml.connectors import ConnectorContext
from pm4ml.flows.rtp_records import RequestRole
from pm4ml.store.schema import TransactionRequestRow
from pm4ml_http import HttpConnector
from tests.e2e.conftest import PAYEE, Pair, PairFactory
from tests.e2e.test_pm4ml_pair import settle
from tests.e2e.test_use_cases import pay_request, received_request, request_to_pay
from tests.support import serve_app

KEY = (PAYEE.id_type, PAYEE.id_value, None)


@pytest.fixture
async def backend_pair(pair_factory: PairFactory) -> AsyncIterator[tuple[Pair, Backend]]:
    backend = Backend()
    backend.accounts[KEY] = Account("USD", Decimal(0), display_name="Corner Shop")
    async with serve_app(backend.app()) as url:
        settings = Settings(backend_endpoint=url)
        connector = HttpConnector.create(ConnectorContext(settings=settings))
        async with pair_factory(payee_connector=connector) as pair:
            yield pair, backend


async def recorded(pair: Pair, request_id: str) -> TransactionRequestRow:
    store = pair.payee.runtime.store
    async with store.reading() as session:
        row = await store.transaction_request(session, request_id, RequestRole.PAYEE)
    assert row is not None
    return row


async def reported(backend: Backend, request_id: str) -> str | None:
    for _ in range(100):
        if request_id in backend.rtp_states:
            break
        await asyncio.sleep(0.05)
    return backend.rtp_states.get(request_id)


async def test_a_paid_request_is_reported_accepted_once_the_money_is_in(
    backend_pair: tuple[Pair, Backend],
) -> None:
    pair, backend = backend_pair
    request_id = await received_request(pair)
    assert request_id not in backend.rtp_states  # taken on is not paid
    response = await pay_request(pair, request_id, "25.5")
    assert response.status_code == 200, response.text
    transfer_id = response.json()["transferId"]
    await settle(pair)
    assert await reported(backend, request_id) == "ACCEPTED"
    assert backend.accounts[KEY].balance == Decimal("25.5")
    row = await recorded(pair, request_id)
    assert row.state == "ACCEPTED"
    assert (row.data or {})["paid_by"] == transfer_id
    assert backend.requests["PUT /requestToPay"] == 1


async def test_a_refused_request_is_reported_rejected(
    backend_pair: tuple[Pair, Backend],
) -> None:
    pair, backend = backend_pair
    response = await request_to_pay(pair, "1000.01")  # above the payer's balance
    assert response.status_code == 200, response.text
    request_id = response.json()["transactionRequestId"]
    await settle(pair)
    assert await reported(backend, request_id) == "REJECTED"
    assert (await recorded(pair, request_id)).state == "REJECTED"
    assert backend.accounts[KEY].balance == Decimal(0)
