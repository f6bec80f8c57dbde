"""/metrics on the metrics server of both DFSPs of a real pair, scraped before and after real
transfers: counters and histograms move, labels are route templates, never raw ids."""

from __future__ import annotations

import uuid

from tests.e2e.conftest import Pair
from tests.e2e.test_pm4ml_pair import settle
from tests.observability.scrape import scrape, value
from tests.support import serve_app

PARTY_ROUTE = "/parties/{Type}/{ID}"


async def test_transfers_move_the_counters_and_histograms(pair: Pair) -> None:
    async with (
        serve_app(pair.payer.runtime.metrics_app()) as payer_ops,
        serve_app(pair.payee.runtime.metrics_app()) as payee_ops,
    ):
        before = await scrape(pair.http, payer_ops)
        out = {"server": "outbound", "route": "/transfers", "method": "POST"}
        assert value(before, "pm4ml_http_requests_total", **out, status="200") == 0

        ids = []
        for amount in ("10", "2.5"):
            response = await pair.send(amount)
            assert response.status_code == 200, response.text
            ids.append(response.json()["transferId"])
        await settle(pair)

        payer = await scrape(pair.http, payer_ops)
        assert value(payer, "pm4ml_http_requests_total", **out, status="200") == 2
        assert value(payer, "pm4ml_http_request_duration_seconds_count", **out) == 2
        assert value(payer, "pm4ml_http_request_duration_seconds_sum", **out) > 0
        assert value(payer, "pm4ml_http_request_duration_seconds_bucket", **out, le="+Inf") == 2
        # The payer sent GET /parties, POST /quotes, POST /transfers per transfer...
        for resource, method in (("parties", "GET"), ("quotes", "POST"), ("transfers", "POST")):
            sent = {"resource": resource, "method": method}
            assert value(payer, "pm4ml_fspiop_client_requests_total", **sent, status="202") == 2
            count = "pm4ml_fspiop_client_request_duration_seconds_count"
            assert value(payer, count, **sent) == 2
        # ...and received the callbacks on its inbound server, labelled by template.
        callback = {"server": "inbound", "route": PARTY_ROUTE, "method": "PUT"}
        assert value(payer, "pm4ml_http_requests_total", **callback, status="200") == 2
        transfer_cb = {"server": "inbound", "route": "/transfers/{ID}", "method": "PUT"}
        assert value(payer, "pm4ml_http_requests_total", **transfer_cb, status="200") == 2

        payee = await scrape(pair.http, payee_ops)
        asked = {"server": "inbound", "route": PARTY_ROUTE, "method": "GET"}
        assert value(payee, "pm4ml_http_requests_total", **asked, status="202") == 2
        prepared = {"server": "inbound", "route": "/transfers", "method": "POST"}
        assert value(payee, "pm4ml_http_requests_total", **prepared, status="202") == 2
        answered = {"resource": "transfers", "method": "PUT", "status": "200"}
        assert value(payee, "pm4ml_fspiop_client_requests_total", **answered) == 2

        calls = "pm4ml_connector_calls_total"
        for operation in ("reserve_funds", "commit_funds"):
            assert value(payer, calls, operation=operation, outcome="ok") == 2, operation
        for operation in ("lookup_party", "quote", "prepare_transfer", "commit_transfer"):
            assert value(payee, calls, operation=operation, outcome="ok") == 2, operation
        took = "pm4ml_connector_call_duration_seconds_count"
        assert value(payee, took, operation="prepare_transfer") == 2

        text = (await pair.http.get(payer_ops + "/metrics")).text
        for transfer_id in ids:
            assert transfer_id not in text  # bounded cardinality: no raw ids in labels
        assert "pm4ml_http_requests_in_flight" in text
        assert "pm4ml_background_tasks" in text


async def test_refused_and_unknown_requests_are_counted_with_bounded_labels(pair: Pair) -> None:
    async with serve_app(pair.payee.runtime.metrics_app()) as ops:
        refused = await pair.http.get(f"{pair.payee.inbound_url}/parties/MSISDN/123")
        assert refused.status_code == 400  # no FSPIOP headers: 3102
        unknown = await pair.http.get(f"{pair.payee.inbound_url}/nothing/{uuid.uuid4()}")
        assert unknown.status_code == 404
        invented = await pair.http.request("PROPFIND", f"{pair.payee.inbound_url}/transfers")
        assert invented.status_code in (400, 405)

        samples = await scrape(pair.http, ops)
        bad = {"server": "inbound", "route": PARTY_ROUTE, "method": "GET", "status": "400"}
        assert value(samples, "pm4ml_http_requests_total", **bad) == 1
        lost = {"server": "inbound", "route": "unmatched", "method": "GET", "status": "404"}
        assert value(samples, "pm4ml_http_requests_total", **lost) == 1
        others = [
            labels
            for (name, labels), _ in samples.items()
            if name == "pm4ml_http_requests_total" and ("method", "other") in labels
        ]
        assert len(others) == 1
        assert "PROPFIND" not in (await pair.http.get(ops + "/metrics")).text


async def test_connector_errors_are_counted_by_class(pair: Pair) -> None:
    async with serve_app(pair.payer.runtime.metrics_app()) as ops:
        response = await pair.send("5000")
        assert response.status_code == 500
        assert response.json()["statusCode"] == "4001"
        samples = await scrape(pair.http, ops)
        calls = "pm4ml_connector_calls_total"
        refused = {"operation": "reserve_funds", "outcome": "InsufficientFunds"}
        assert value(samples, calls, **refused) == 1
        assert value(samples, calls, operation="reserve_funds", outcome="ok") == 0
