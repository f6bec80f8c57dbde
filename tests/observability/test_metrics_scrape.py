"""Scrape ``/metrics`` on both servers of a real pm4ml pair after real transfers."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from tests.e2e.conftest import Pair
from tests.e2e.test_pm4ml_pair import settle


async def _scrape(pair: Pair, url: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    response = await pair.http.get(f"{url}/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    samples: dict[tuple[str, frozenset[tuple[str, str]]], float] = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return samples


def _value(
    samples: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str
) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


async def test_counters_and_histograms_move_after_transfers(pair: Pair) -> None:
    before_out = await _scrape(pair, pair.payer.outbound_url)
    before_in = await _scrape(pair, pair.payee.inbound_url)
    for _ in range(2):
        response = await pair.send("5")
        assert response.status_code == 200, response.text
    await settle(pair)
    after_out = await _scrape(pair, pair.payer.outbound_url)
    after_in = await _scrape(pair, pair.payee.inbound_url)

    posted = {"server": "outbound", "resource": "/transfers", "method": "POST", "status": "200"}
    assert (
        _value(after_out, "pm4ml_http_requests_total", **posted)
        - _value(before_out, "pm4ml_http_requests_total", **posted)
        == 2
    )
    timed = {"server": "outbound", "resource": "/transfers", "method": "POST"}
    count = "pm4ml_http_request_duration_seconds_count"
    assert _value(after_out, count, **timed) - _value(before_out, count, **timed) == 2
    total = "pm4ml_http_request_duration_seconds_sum"
    assert _value(after_out, total, **timed) > _value(before_out, total, **timed)

    quotes = {"server": "inbound", "resource": "/quotes", "method": "POST", "status": "202"}
    assert (
        _value(after_in, "pm4ml_http_requests_total", **quotes)
        - _value(before_in, "pm4ml_http_requests_total", **quotes)
        == 2
    )
    # Ids never become labels: the transfer id is folded into the route template.
    assert not any(
        "resource" in dict(labels) and dict(labels)["resource"].count("-") >= 4
        for _, labels in after_in
    )


async def test_unknown_path_is_labelled_unmatched(pair: Pair) -> None:
    await pair.http.get(f"{pair.payer.outbound_url}/no/such/path/12345")
    samples = await _scrape(pair, pair.payer.outbound_url)
    assert (
        _value(
            samples,
            "pm4ml_http_requests_total",
            server="outbound",
            resource="unmatched",
            method="GET",
            status="404",
        )
        >= 1
    )
