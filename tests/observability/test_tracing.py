"""W3C trace context: a ``traceparent`` sent into the payer's outbound API reaches every
request the payee receives and every callback the payer receives, and the trace id is on the
log records written while serving a request."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import select

from pm4ml.observability.tracing import NO_TRACE, TraceIdFilter, trace_id_of
from pm4ml.store.schema import Message
from tests.e2e.conftest import Pair, Side
from tests.e2e.test_pm4ml_pair import settle

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
TRACEPARENT = f"00-{TRACE_ID}-00f067aa0ba902b7-01"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (TRACEPARENT, TRACE_ID),
        (f" {TRACEPARENT} ", TRACE_ID),
        (f"01-{TRACE_ID}-00f067aa0ba902b7-01-future", TRACE_ID),  # later versions may extend
        (f"00-{TRACE_ID}-00f067aa0ba902b7-01-extra", None),  # version 00 may not
        (f"ff-{TRACE_ID}-00f067aa0ba902b7-01", None),
        (f"00-{'0' * 32}-00f067aa0ba902b7-01", None),
        (f"00-{TRACE_ID}-{'0' * 16}-01", None),
        (f"00-{TRACE_ID.upper()}-00f067aa0ba902b7-01", None),
        ("00-abc-def-01", None),
        ("", None),
    ],
)
def test_trace_id_of(value: str, expected: str | None) -> None:
    assert trace_id_of(value) == expected


async def received(side: Side) -> list[Message]:
    async with side.runtime.store.engine.connect() as connection:
        rows = await connection.execute(select(Message).where(Message.direction == "IN"))
        return [Message(**row._mapping) for row in rows]


async def test_traceparent_reaches_the_peer_and_comes_back_on_callbacks(pair: Pair) -> None:
    body = {
        "homeTransactionId": "trace-1",
        "from": {"idType": "MSISDN", "idValue": "44123456789"},
        "to": {"idType": "MSISDN", "idValue": "27713803912"},
        "amountType": "SEND",
        "currency": "USD",
        "amount": "3",
        "transactionType": "TRANSFER",
    }
    headers = {"traceparent": TRACEPARENT, "tracestate": "dfsp=abc"}
    response = await pair.http.post(
        pair.payer.outbound_url + "/transfers", json=body, headers=headers
    )
    assert response.status_code == 200, response.text
    await settle(pair)

    at_payee = await received(pair.payee)
    seen = {(row.method, row.resource) for row in at_payee}
    assert {("GET", "parties"), ("POST", "quotes"), ("POST", "transfers")} <= seen
    for row in at_payee:
        assert trace_id_of(row.headers["traceparent"]) == TRACE_ID, (row.method, row.path)
        assert row.headers["tracestate"] == "dfsp=abc"

    at_payer = await received(pair.payer)
    assert {("PUT", "parties"), ("PUT", "quotes"), ("PUT", "transfers")} <= {
        (row.method, row.resource) for row in at_payer
    }
    for row in at_payer:
        assert trace_id_of(row.headers["traceparent"]) == TRACE_ID, (row.method, row.path)


async def test_log_records_carry_the_trace_id(pair: Pair, caplog: pytest.LogCaptureFixture) -> None:
    caplog.handler.addFilter(TraceIdFilter())
    caplog.set_level(logging.INFO, logger="pm4ml.inbound.app")
    url = pair.payee.inbound_url + "/parties/MSISDN/123"
    traced = await pair.http.get(url, headers={"traceparent": TRACEPARENT})
    untraced = await pair.http.get(url)
    assert traced.status_code == untraced.status_code == 400  # no FSPIOP headers
    refused = [r for r in caplog.records if r.getMessage().startswith("refused GET")]
    assert [getattr(r, "trace_id", None) for r in refused] == [TRACE_ID, NO_TRACE]
