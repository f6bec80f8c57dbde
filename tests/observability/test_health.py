"""Liveness and readiness on the metrics server of a real runtime: real database, bus and
connector; failing and hanging checks answer 503 naming the component."""

from __future__ import annotations

import asyncio
import socket

import pytest

from pm4ml.fspiop.errors import ErrorCode, FspiopError
from pm4ml.fspiop.headers import ApiVersion
from pm4ml.transport.client import ClientOptions, FspiopClient
from tests.e2e.conftest import Pair, PairFactory
from tests.observability.scrape import scrape, value
from tests.support import serve_app


async def test_live_and_ready_when_everything_answers(pair: Pair) -> None:
    runtime = pair.payer.runtime
    async with serve_app(runtime.metrics_app()) as ops:
        live = await pair.http.get(ops + "/health/live")
        assert live.status_code == 200
        assert live.json() == {"status": "ok"}
        ready = await pair.http.get(ops + "/health/ready")
        assert ready.status_code == 200, ready.text
        assert ready.json() == {
            "status": "ok",
            "checks": {"database": "ok", "bus": "ok", "connector": "ok", "certificates": "ok"},
        }
        samples = await scrape(pair.http, ops)
        for component in ("database", "bus", "connector"):
            assert value(samples, "pm4ml_ready", component=component) == 1


async def test_a_failing_certificate_check_makes_it_unready(pair: Pair) -> None:
    runtime = pair.payer.runtime

    async def certificates() -> None:
        raise ValueError("client certificate expired")

    runtime.readiness.add("certificates", certificates)
    async with serve_app(runtime.metrics_app()) as ops:
        ready = await pair.http.get(ops + "/health/ready")
        assert ready.status_code == 503
        body = ready.json()
        assert body["status"] == "unavailable"
        assert body["checks"]["certificates"] == "ValueError: client certificate expired"
        assert body["checks"]["database"] == "ok"
        assert (await pair.http.get(ops + "/health/live")).status_code == 200
        samples = await scrape(pair.http, ops)
        assert value(samples, "pm4ml_ready", component="certificates") == 0
        assert value(samples, "pm4ml_ready", component="database") == 1


async def test_a_hanging_connector_is_bounded(pair: Pair) -> None:
    runtime = pair.payer.runtime
    runtime.readiness.seconds_max = 0.2

    async def hangs() -> None:
        await asyncio.sleep(60)

    runtime.readiness.add("connector", hangs)
    async with serve_app(runtime.metrics_app()) as ops:
        ready = await pair.http.get(ops + "/health/ready", timeout=5)
        assert ready.status_code == 503
        assert ready.json()["checks"]["connector"] == "no answer within 0.2 s"


@pytest.mark.redis
async def test_an_unreachable_redis_bus_makes_it_unready(pair_factory: PairFactory) -> None:
    async with pair_factory(payer={"bus_url": "redis://127.0.0.1:6379/0"}) as pair:
        runtime = pair.payer.runtime
        async with serve_app(runtime.metrics_app()) as ops:
            assert (await pair.http.get(ops + "/health/ready")).status_code == 200
            await runtime.bus.close()
            ready = await pair.http.get(ops + "/health/ready")
            assert ready.status_code == 503, ready.text
            assert ready.json()["checks"]["bus"] != "ok"
            await runtime.bus.start()


async def test_fspiop_requests_that_get_no_answer_are_counted_as_errors(pair: Pair) -> None:
    metrics = pair.payer.runtime.metrics
    with socket.socket() as closed:  # a port nothing listens on
        closed.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{closed.getsockname()[1]}"
    client = FspiopClient(
        ClientOptions(base_url=url, source="payerfsp", sign=False),
        None,
        observe=metrics.observe_fspiop,
    )
    try:
        with pytest.raises(FspiopError) as raised:
            await client.send(
                "GET", "/parties/MSISDN/1", destination=None, version=ApiVersion.parse("1.1")
            )
    finally:
        await client.aclose()
    assert raised.value.code == ErrorCode.DESTINATION_COMMUNICATION_ERROR
    async with serve_app(pair.payer.runtime.metrics_app()) as ops:
        samples = await scrape(pair.http, ops)
    sent = {"resource": "parties", "method": "GET", "status": "error"}
    assert value(samples, "pm4ml_fspiop_client_requests_total", **sent) == 1
    assert (
        value(
            samples,
            "pm4ml_fspiop_client_request_duration_seconds_count",
            resource="parties",
            method="GET",
        )
        == 1
    )
