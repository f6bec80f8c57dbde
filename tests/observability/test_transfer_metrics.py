"""End-to-end transfer signals on a real pair: transfers counted by direction and outcome
once they end, their duration, callback waits by outcome, and the health probe's gauges
(database, bus, transfers in flight)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from pm4ml.flows.asking import Ask, ask
from pm4ml.flows.states import Direction, TransferState
from pm4ml.fspiop.errors import ErrorCode, FspiopError
from pm4ml.fspiop.headers import ApiVersion
from pm4ml.observability.health import Readiness, gauged
from pm4ml.observability.metrics import Metrics
from pm4ml.store.schema import Transfer, utcnow
from pm4ml.transport.client import ClientOptions, FspiopClient
from tests.e2e.conftest import Pair
from tests.e2e.test_pm4ml_pair import settle
from tests.observability.scrape import scrape, value
from tests.support import recorder, serve_app

WAIT = "pm4ml_callback_wait_seconds_count"


async def test_completed_transfers_are_counted_on_both_sides(pair: Pair) -> None:
    async with (
        serve_app(pair.payer.runtime.metrics_app()) as payer_ops,
        serve_app(pair.payee.runtime.metrics_app()) as payee_ops,
    ):
        for amount in ("10", "2.5"):
            response = await pair.send(amount)
            assert response.status_code == 200, response.text
            assert response.json()["currentState"] == "COMPLETED"
        await settle(pair)
        for side in (pair.payer, pair.payee):
            await side.runtime.readiness.run()

        payer = await scrape(pair.http, payer_ops)
        ended = {"direction": "OUTBOUND", "outcome": "COMMITTED"}
        assert value(payer, "pm4ml_transfers_total", **ended) == 2
        took = "pm4ml_transfer_duration_seconds"
        assert value(payer, took + "_count", direction="OUTBOUND") == 2
        assert value(payer, took + "_sum", direction="OUTBOUND") > 0
        for resource in ("parties", "quotes", "transfers"):
            assert value(payer, WAIT, resource=resource, outcome="answered") == 2, resource
        assert value(payer, "pm4ml_transfers_in_flight", direction="OUTBOUND") == 0
        assert value(payer, "pm4ml_database_up") == 1
        assert value(payer, "pm4ml_bus_up") == 1
        assert value(payer, "pm4ml_database_check_duration_seconds") > 0

        payee = await scrape(pair.http, payee_ops)
        ended = {"direction": "INBOUND", "outcome": "COMMITTED"}
        assert value(payee, "pm4ml_transfers_total", **ended) == 2
        assert value(payee, took + "_count", direction="INBOUND") == 2
        assert value(payee, "pm4ml_transfers_total", direction="OUTBOUND", outcome="COMMITTED") == 0
        assert value(payee, "pm4ml_transfers_in_flight", direction="INBOUND") == 0


async def test_failed_transfers_and_error_callbacks_are_counted(pair: Pair) -> None:
    async with serve_app(pair.payer.runtime.metrics_app()) as ops:
        unknown = await pair.send("1", to="999999")  # the payee answers PUT /parties/.../error
        assert unknown.status_code == 500, unknown.text
        broke = await pair.send("5000")  # more than the payer has: the CBS refuses the hold
        assert broke.status_code == 500, broke.text
        await settle(pair)
        samples = await scrape(pair.http, ops)
    failed = {"direction": "OUTBOUND", "outcome": "FAILED"}
    assert value(samples, "pm4ml_transfers_total", **failed) == 2
    assert value(samples, "pm4ml_transfers_total", direction="OUTBOUND", outcome="COMMITTED") == 0
    assert value(samples, WAIT, resource="parties", outcome="error") == 1
    assert value(samples, WAIT, resource="parties", outcome="answered") == 1


async def test_a_rolled_back_end_counts_nothing_and_in_flight_comes_from_the_database(
    pair: Pair,
) -> None:
    runtime = pair.payee.runtime
    store, metrics = runtime.store, runtime.metrics

    def received(transfer_id: str) -> Transfer:
        return Transfer(
            transfer_id=transfer_id,
            direction=Direction.INBOUND,
            state=TransferState.RECEIVED,
            payer_fsp="payerfsp",
            payee_fsp="payeefsp",
            amount="1",
            currency="USD",
            created_at=utcnow() - timedelta(seconds=2),
        )

    async with store.transaction() as session:
        session.add(received("t-in-flight"))
    await runtime.readiness.run()
    in_flight = {"direction": "INBOUND"}
    assert metrics.registry.get_sample_value("pm4ml_transfers_in_flight", in_flight) == 1

    async def abort_then_fail() -> None:
        async with store.transaction() as session:
            row = await store.locked_transfer(session, "t-in-flight")
            row.state = TransferState.ABORTED
            row.completed_at = utcnow()
            await session.flush()
            raise RuntimeError("the transaction fails after the flush")

    with pytest.raises(RuntimeError):
        await abort_then_fail()
    async with serve_app(runtime.metrics_app()) as ops:
        samples = await scrape(pair.http, ops)
        assert value(samples, "pm4ml_transfers_total", direction="INBOUND", outcome="ABORTED") == 0

        async with store.transaction() as session:
            row = await store.locked_transfer(session, "t-in-flight")
            row.state = TransferState.ABORTED
            row.completed_at = utcnow()
        async with store.transaction() as session:  # a later change of a final row
            row = await store.locked_transfer(session, "t-in-flight")
            row.last_error_code = "5000"
        await runtime.readiness.run()
        samples = await scrape(pair.http, ops)
    assert value(samples, "pm4ml_transfers_total", direction="INBOUND", outcome="ABORTED") == 1
    took = value(samples, "pm4ml_transfer_duration_seconds_sum", direction="INBOUND")
    assert 2 <= took < 60
    assert value(samples, "pm4ml_transfers_in_flight", direction="INBOUND") == 0


async def test_a_callback_that_never_comes_is_a_timeout(pair: Pair) -> None:
    metrics = pair.payer.runtime.metrics
    async with recorder() as silent_peer:  # answers 202, never calls back
        client = FspiopClient(ClientOptions(silent_peer.url, "payerfsp", sign=False), None)
        try:
            answer = await ask(
                client,
                pair.payer.runtime.bus,
                Ask("GET", "/parties/MSISDN/1", None, None, "parties/MSISDN/1"),
                version=ApiVersion.parse("1.1"),
                wait_seconds=0.2,
                observe_wait=metrics.observe_callback_wait,
            )
        finally:
            await client.aclose()
    assert isinstance(answer, FspiopError)
    assert answer.code == ErrorCode.SERVER_TIMED_OUT
    timeout = {"resource": "parties", "outcome": "timeout"}
    assert metrics.registry.get_sample_value(WAIT, timeout) == 1
    waited = metrics.registry.get_sample_value("pm4ml_callback_wait_seconds_sum", timeout)
    assert waited is not None and waited >= 0.2


async def test_health_gauges_follow_failing_and_hanging_checks() -> None:
    metrics = Metrics()
    readiness = Readiness(metrics, seconds_max=0.1)

    async def fails() -> None:
        raise ConnectionRefusedError("database down")

    async def hangs() -> None:
        await asyncio.sleep(10)

    readiness.add("database", gauged(fails, metrics.database_up, metrics.database_check_duration))
    readiness.add("bus", gauged(hangs, metrics.bus_up))
    outcomes = await readiness.run()
    assert outcomes["database"] == "ConnectionRefusedError: database down"
    assert outcomes["bus"] == "no answer within 0.1 s"
    sample = metrics.registry.get_sample_value
    assert sample("pm4ml_database_up") == 0
    assert sample("pm4ml_bus_up") == 0
    took = sample("pm4ml_database_check_duration_seconds")
    assert took is not None and took >= 0
