"""``GET /participants/{Type}/{ID}[/{SubId}]`` asked of pm4ml, end to end over real sockets:
the connector's ``participant_fsp`` answers, and the signed ``PUT /participants/...`` (or its
``/error``) lands at the recording hub. With the ledger connector (the interface's default:
its own customers are this DFSP's) and with the ``http`` connector in front of the Backend
API server of ``connectors/http/http_tests/backend.py``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal

import pytest
from http_tests.backend import Account, Backend

from pm4ml.config import Settings
from pm4ml.connectors import ConnectorContext
from pm4ml_http import HttpConnector
from tests.inbound.conftest import PayeeEnv, PayeeFactory
from tests.support import serve_app


async def test_own_customer_is_held_by_this_dfsp(payee: PayeeEnv) -> None:
    sent = await payee.send("GET", "/participants/MSISDN/27713803912")
    assert sent.status_code == 202
    body = await payee.callback("PUT", "/participants/MSISDN/27713803912")
    assert body == {"fspId": "payeefsp"}


async def test_unknown_party_gets_3204(payee: PayeeEnv) -> None:
    await payee.send("GET", "/participants/MSISDN/999")
    body = await payee.callback("PUT", "/participants/MSISDN/999/error")
    assert body["errorInformation"]["errorCode"] == "3204"


@pytest.fixture
async def backend() -> AsyncIterator[Backend]:
    server = Backend()
    async with serve_app(server.app()) as url:
        server.url = url
        yield server


async def test_the_http_backend_names_the_fsp(
    payee_factory: PayeeFactory, backend: Backend
) -> None:
    backend.accounts[("MSISDN", "255700000001", None)] = Account("USD", Decimal(0))
    backend.elsewhere[("ACCOUNT_ID", "77", "savings")] = "otherfsp"
    settings = Settings(backend_endpoint=backend.url)
    connector = HttpConnector.create(ConnectorContext(settings=settings))
    async with payee_factory(connector=connector) as env:
        await env.send("GET", "/participants/MSISDN/255700000001")
        own = await env.callback("PUT", "/participants/MSISDN/255700000001")
        await env.send("GET", "/participants/ACCOUNT_ID/77/savings")
        other = await env.callback("PUT", "/participants/ACCOUNT_ID/77/savings")
        await env.send("GET", "/participants/MSISDN/999")
        unknown = await env.callback("PUT", "/participants/MSISDN/999/error")
    assert (own, other) == ({"fspId": "backendfsp"}, {"fspId": "otherfsp"})
    assert unknown["errorInformation"]["errorCode"] == "3204"
    assert backend.requests["GET /participants"] == 3
