"""pm4ml as a payee with the ``http`` connector, end to end: signed FSPIOP requests reach the
inbound server, the connector asks a Backend API server (``connectors/http/http_tests``), and
the customer's account there is credited once. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

from http_tests.backend import Account, Backend

from pm4ml.config import Settings
from pm4ml.connectors import ConnectorContext
from pm4ml_http import HttpConnector
from tests.conftest import KeyPair
from tests.inbound.conftest import PAYEE, PayeeFactory
from tests.inbound.messages import quote_request, transfer_request
from tests.support import serve_app

KEY = (PAYEE.id_type, PAYEE.id_value, None)


async def until(check: Callable[[], bool], seconds: float = 5.0) -> None:
    for _ in range(int(seconds / 0.05)):
        if check():
            return
        await asyncio.sleep(0.05)
    assert check()


async def test_quote_and_transfer_through_the_backend_api(
    tmp_path: Path, database_url: str, rsa_keys: dict[str, KeyPair]
) -> None:
    backend = Backend()
    backend.accounts[KEY] = Account("USD", Decimal(10), display_name="Backend Person")
    async with serve_app(backend.app()) as url:
        settings = Settings(backend_endpoint=url)
        connector = HttpConnector.create(ConnectorContext(settings=settings))
        factory = PayeeFactory(tmp_path, database_url, rsa_keys)
        async with factory(connector=connector) as env:
            await env.send("GET", f"/parties/MSISDN/{PAYEE.id_value}")
            party = await env.callback("PUT", f"/parties/MSISDN/{PAYEE.id_value}")
            assert party["party"]["name"] == "Backend Person"

            await env.send("GET", "/parties/MSISDN/999")
            error = await env.callback("PUT", "/parties/MSISDN/999/error")
            assert error["errorInformation"]["errorCode"] == "3204"

            quote = quote_request("25.5")
            await env.send("POST", "/quotes", quote)
            answer = await env.callback("PUT", f"/quotes/{quote['quoteId']}")
            assert answer["transferAmount"] == {"amount": "25.5", "currency": "USD"}

            transfer = transfer_request(quote, answer)
            await env.send("POST", "/transfers", transfer)
            fulfil = await env.callback("PUT", f"/transfers/{transfer['transferId']}")
            assert fulfil["transferState"] == "COMMITTED"
            await until(lambda: backend.accounts[KEY].balance == Decimal("35.5"))
            assert backend.transfers[transfer["transferId"]].state == "COMMITTED"
            assert backend.requests["POST /transfers"] == 1


async def test_backend_refusal_is_the_fspiop_error(
    tmp_path: Path, database_url: str, rsa_keys: dict[str, KeyPair]
) -> None:
    backend = Backend()
    backend.accounts[KEY] = Account("USD", Decimal(0), max_single_transfer=Decimal(5))
    async with serve_app(backend.app()) as url:
        connector = HttpConnector.create(ConnectorContext(settings=Settings(backend_endpoint=url)))
        async with PayeeFactory(tmp_path, database_url, rsa_keys)(connector=connector) as env:
            quote = quote_request("6")
            await env.send("POST", "/quotes", quote)
            error = await env.callback("PUT", f"/quotes/{quote['quoteId']}/error")
            assert error["errorInformation"]["errorCode"] == "5200"


async def test_the_callers_trace_context_reaches_the_backend(
    tmp_path: Path, database_url: str, rsa_keys: dict[str, KeyPair]
) -> None:
    backend = Backend()
    backend.accounts[KEY] = Account("USD", Decimal(10))
    trace_id = "4bf92f3577b34da6a3ce929d0e0e4736"
    traceparent = f"00-{trace_id}-00f067aa0ba902b7-01"
    async with serve_app(backend.app()) as url:
        connector = HttpConnector.create(ConnectorContext(settings=Settings(backend_endpoint=url)))
        async with PayeeFactory(tmp_path, database_url, rsa_keys)(connector=connector) as env:
            quote = quote_request("1")
            traced = {"traceparent": traceparent, "tracestate": "bank=1"}
            await env.send("POST", "/quotes", quote, headers=traced)
            await env.callback("PUT", f"/quotes/{quote['quoteId']}")
            # Without OpenTelemetry the caller's context is passed on unchanged.
            assert backend.traceparents["POST /quoterequests"] == traceparent

            untraced = quote_request("1")
            await env.send("POST", "/quotes", untraced)
            await env.callback("PUT", f"/quotes/{untraced['quoteId']}")
            assert backend.requests["POST /quoterequests"] == 2
            assert backend.traceparents["POST /quoterequests"] == traceparent  # none sent
