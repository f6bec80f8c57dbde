"""W3C trace context: a ``traceparent`` sent into the payer's outbound API reaches every
request the payee receives and every callback the payer receives, and the trace id is on the
log records written while serving a request. The JSON log lines ``pm4ml serve`` writes carry
it, and never a body, a signature or a key."""

from __future__ import annotations

import asyncio
import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select

from pm4ml.observability.logs import configure_logging, resolve_format
from pm4ml.observability.tracing import NO_TRACE, TraceIdFilter, trace_id_of
from pm4ml.server import _uvicorn, bind
from pm4ml.store.schema import Message, Transfer
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


@pytest.fixture
def json_logs() -> Iterator[io.StringIO]:
    """Every log record at INFO and above, as ``pm4ml serve`` writes them with
    ``PM4ML_LOG_FORMAT=json``, into a buffer."""
    buffer = io.StringIO()
    root = logging.getLogger()
    level = root.level
    handler = configure_logging("INFO", "json", buffer)
    try:
        yield buffer
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


def events(buffer: io.StringIO) -> list[dict[str, Any]]:
    lines = buffer.getvalue().splitlines()
    return [json.loads(line) for line in lines]  # every line is one JSON object


async def test_the_trace_id_is_in_the_peers_json_log_lines(
    pair: Pair, json_logs: io.StringIO
) -> None:
    body = {
        "homeTransactionId": "trace-logs",
        "from": {"idType": "MSISDN", "idValue": "44123456789"},
        "to": {"idType": "MSISDN", "idValue": "27713803912"},
        "amountType": "SEND",
        "currency": "USD",
        "amount": "4",
        "transactionType": "TRANSFER",
    }
    response = await pair.http.post(
        pair.payer.outbound_url + "/transfers", json=body, headers={"traceparent": TRACEPARENT}
    )
    assert response.status_code == 200, response.text
    transfer_id = response.json()["transferId"]
    await settle(pair)

    ended = [e for e in events(json_logs) if e["logger"] == "pm4ml.observability.transfers"]
    assert {e["message"].split(" ")[2] for e in ended} == {"INBOUND", "OUTBOUND"}
    for event in ended:
        assert set(event) >= {"ts", "level", "logger", "message", "trace_id", "transfer_id"}
        assert event["level"] == "INFO"
        assert event["trace_id"] == TRACE_ID
        assert event["transfer_id"] == transfer_id
        assert event["message"].startswith(f"transfer {transfer_id} ")
    payee_side = next(e for e in ended if " INBOUND " in e["message"])
    assert (payee_side["method"], payee_side["resource"]) == ("POST", "transfers")


async def test_refusals_log_method_resource_and_exceptions_as_json(
    pair: Pair, json_logs: io.StringIO
) -> None:
    url = pair.payee.inbound_url + "/parties/MSISDN/123"
    await pair.http.get(url, headers={"traceparent": TRACEPARENT})
    refused = [e for e in events(json_logs) if e["message"].startswith("refused GET")]
    assert len(refused) == 1
    assert refused[0]["trace_id"] == TRACE_ID
    assert (refused[0]["method"], refused[0]["resource"]) == ("GET", "parties")
    assert refused[0]["transfer_id"] is None

    try:
        raise ValueError("boom")
    except ValueError:
        logging.getLogger("pm4ml.test").exception("it failed")
    failed = events(json_logs)[-1]
    assert failed["level"] == "ERROR"
    assert failed["trace_id"] is None
    assert "ValueError: boom" in failed["exc"]


async def test_no_bodies_signatures_or_keys_are_logged_at_info(
    pair: Pair, json_logs: io.StringIO
) -> None:
    for amount in ("6", "5000"):  # one completes, one is refused by the payer's CBS
        await pair.send(amount)
    await pair.send("1", to="999999")  # unknown party: an error callback
    await settle(pair)

    logged = json_logs.getvalue()
    assert logged.count("\n") >= 2  # the completed transfer's ends, at least
    secrets: set[str] = set()
    for side in (pair.payer, pair.payee):
        async with side.runtime.store.engine.connect() as connection:
            transfers = (await connection.execute(select(Transfer))).all()
            messages = (await connection.execute(select(Message))).all()
        for row in transfers:
            secrets |= {str(v) for v in (row.ilp_packet, row.condition, row.fulfilment) if v}
        for message in messages:
            if message.headers.get("fspiop-signature"):
                secrets.add(message.headers["fspiop-signature"])
            if message.body:
                secrets.add(str(message.body)[:40])
        settings = side.settings
        assert settings.ilp_secret is not None
        secrets.add(settings.ilp_secret.get_secret_value())
        assert settings.jws_signing_key_path is not None
        pem = settings.jws_signing_key_path.read_text()
        secrets |= {line for line in pem.splitlines() if line and not line.startswith("-----")}
    assert len(secrets) > 10
    for secret in secrets:
        assert secret not in logged, secret
    for word in ("PRIVATE KEY", "ilpPacket", "fulfilment", "signature", "condition"):
        assert word not in logged, word


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_auto_format_is_text_on_a_terminal_and_json_otherwise() -> None:
    assert resolve_format("auto", _Terminal()) == "text"
    assert resolve_format("auto", io.StringIO()) == "json"
    assert resolve_format("text", io.StringIO()) == "text"
    terminal = _Terminal()
    root = logging.getLogger()
    level = root.level
    handler = configure_logging("WARNING", "auto", terminal)
    try:
        logging.getLogger("pm4ml.test").warning("plain words")
        logging.getLogger("pm4ml.test").info("below the level")
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
    line = terminal.getvalue()
    assert line.count("\n") == 1
    assert " WARNING pm4ml.test trace=- transfer=- plain words" in line


async def test_uvicorns_own_lines_come_out_as_json(
    json_logs: io.StringIO, monkeypatch: pytest.MonkeyPatch
) -> None:
    # As in a fresh `pm4ml serve` process: a server started earlier in this test process with
    # uvicorn's default logging config (dictConfig) may have given its loggers handlers of
    # their own and cut them off from the root logger.
    for name in ("uvicorn", "uvicorn.error"):
        logger = logging.getLogger(name)
        monkeypatch.setattr(logger, "handlers", [])
        monkeypatch.setattr(logger, "propagate", True)

    async def app(scope: Any, receive: Any, send: Any) -> None:  # never reached
        raise AssertionError(scope)

    sock = bind("127.0.0.1", 0)
    server = _uvicorn(app, "INFO")
    task = asyncio.create_task(server.serve(sockets=[sock]))
    for _ in range(200):
        if server.started:
            break
        await asyncio.sleep(0.01)
    server.should_exit = True
    await task
    uvicorn_events = [e for e in events(json_logs) if e["logger"].startswith("uvicorn")]
    messages = [e["message"] for e in uvicorn_events]
    assert any(m.startswith("Started server process") for m in messages), messages
