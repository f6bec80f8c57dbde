"""Reading a Prometheus exposition the way Prometheus does (its text format parser)."""

from __future__ import annotations

import httpx
from prometheus_client.parser import text_string_to_metric_families


async def scrape(
    http: httpx.AsyncClient, url: str
) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample of ``url``/metrics, keyed by sample name and label set."""
    response = await http.get(url + "/metrics")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    samples: dict[tuple[str, frozenset[tuple[str, str]]], float] = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return samples


def value(
    samples: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str
) -> float:
    """One sample's value; 0 when absent (a counter never incremented is not exported)."""
    return samples.get((name, frozenset(labels.items())), 0.0)
