"""Readiness on a real pm4ml pair, and a failing check answered 503 with its reason."""

from __future__ import annotations

from tests.e2e.conftest import Pair


async def test_ready_when_database_answers(pair: Pair) -> None:
    for url in (pair.payer.inbound_url, pair.payer.outbound_url):
        response = await pair.http.get(f"{url}/ready")
        assert response.status_code == 200, response.text
        assert response.json() == {"status": "OK", "checks": {"database": "ok"}}


async def test_failing_check_is_503_with_reason(pair: Pair) -> None:
    async def broken() -> None:
        raise ConnectionError("redis down")

    readiness = pair.payer.runtime.readiness()
    readiness.checks["bus"] = broken
    results = await readiness.results()
    assert results == {"database": "ok", "bus": "ConnectionError: redis down"}
