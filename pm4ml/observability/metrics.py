"""Prometheus metrics, one registry per :class:`~pm4ml.runtime.Runtime` (so two DFSPs in one
process, as in the tests, never mix their numbers).

Cheap on the hot path: the HTTP middleware is plain ASGI (no request objects), labels are the
route *template* Starlette matched (``/transfers/{ID}``), never a raw path, so cardinality is
bounded by the route table.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

UNMATCHED = "unmatched"
# Anything else a client invents is counted as "other": labels stay bounded.
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

# Callbacks and connector calls usually take milliseconds, but a slow hub or CBS goes up to
# the configured timeouts (tens of seconds); the buckets cover both ends.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
# A transfer may wait for its caller's acceptance or end by expiry (the sweeper): minutes.
TRANSFER_BUCKETS = (*LATENCY_BUCKETS, 120.0, 300.0, 900.0)


class Metrics:
    """Every metric pm4ml exports. Names are listed in the README (section Observability)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.http_requests = Counter(
            "pm4ml_http_requests",
            "Requests answered by a pm4ml server, by server, route template, method, status.",
            ["server", "route", "method", "status"],
            registry=r,
        )
        self.http_duration = Histogram(
            "pm4ml_http_request_duration_seconds",
            "Time to answer a request, by server, route template and method.",
            ["server", "route", "method"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.certificate_expiry = Gauge(
            "pm4ml_certificate_expiry_seconds",
            "Seconds until a configured certificate expires (negative once expired).",
            ["name", "kind"],
            registry=r,
        )
        self.http_in_flight = Gauge(
            "pm4ml_http_requests_in_flight",
            "Requests being answered now, by server.",
            ["server"],
            registry=r,
        )
        self.fspiop_requests = Counter(
            "pm4ml_fspiop_client_requests",
            "FSPIOP requests sent to the hub or peer, by resource, method and outcome "
            "(HTTP status, or 'error' when no answer came).",
            ["resource", "method", "status"],
            registry=r,
        )
        self.fspiop_duration = Histogram(
            "pm4ml_fspiop_client_request_duration_seconds",
            "Time until the hub or peer answered an FSPIOP request, by resource and method.",
            ["resource", "method"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.connector_calls = Counter(
            "pm4ml_connector_calls",
            "Core-banking connector calls, by operation and outcome (ok or the error class).",
            ["operation", "outcome"],
            registry=r,
        )
        self.connector_duration = Histogram(
            "pm4ml_connector_call_duration_seconds",
            "Time a core-banking connector call took, by operation.",
            ["operation"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.background_tasks = Gauge(
            "pm4ml_background_tasks",
            "Work started after an inbound request was answered and not finished yet.",
            registry=r,
        )
        self.ready = Gauge(
            "pm4ml_ready",
            "1 when the last readiness check passed, by component (database, bus, "
            "connector, certificates), else 0.",
            ["component"],
            registry=r,
        )
        self.transfers = Counter(
            "pm4ml_transfers",
            "Transfers that reached a final state, by direction (INBOUND: we are the payee, "
            "OUTBOUND: we are the payer) and outcome (COMMITTED, ABORTED, FAILED).",
            ["direction", "outcome"],
            registry=r,
        )
        self.transfer_duration = Histogram(
            "pm4ml_transfer_duration_seconds",
            "Time from a transfer's creation to its final state, by direction.",
            ["direction"],
            buckets=TRANSFER_BUCKETS,
            registry=r,
        )
        self.transfers_in_flight = Gauge(
            "pm4ml_transfers_in_flight",
            "Stored transfers not in a final state, by direction (counted in the database "
            "by the health probe: the same total on every replica).",
            ["direction"],
            registry=r,
        )
        self.callback_wait = Histogram(
            "pm4ml_callback_wait_seconds",
            "Time from an FSPIOP request being accepted by the hub to the end of the wait "
            "for its callback, by resource and outcome (answered, error, timeout).",
            ["resource", "outcome"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.database_up = Gauge(
            "pm4ml_database_up",
            "1 when the database answered the last health probe, else 0.",
            registry=r,
        )
        self.database_check_duration = Gauge(
            "pm4ml_database_check_duration_seconds",
            "How long the last health probe's database query took.",
            registry=r,
        )
        self.bus_up = Gauge(
            "pm4ml_bus_up",
            "1 when the callback bus (Redis, or the in-process bus) passed the last health "
            "probe, else 0.",
            registry=r,
        )

    def track_background(self, count: Callable[[], int]) -> None:
        """Read the number of background tasks at scrape time (no cost per request)."""
        self.background_tasks.set_function(lambda: float(count()))

    def observe_fspiop(
        self, resource: str, method: str, status: int | None, seconds: float
    ) -> None:
        """Record one request the FSPIOP client sent (``status`` None: no answer)."""
        self.fspiop_requests.labels(resource, method, str(status or "error")).inc()
        self.fspiop_duration.labels(resource, method).observe(seconds)

    def observe_callback_wait(self, resource: str, outcome: str, seconds: float) -> None:
        """Record one wait for a callback (``outcome``: answered, error, timeout)."""
        self.callback_wait.labels(resource, outcome).observe(seconds)


class MetricsMiddleware:
    """ASGI middleware counting and timing every HTTP request of one server."""

    def __init__(self, app: ASGIApp, metrics: Metrics, server: str) -> None:
        self.app = app
        self.metrics = metrics
        self.server = server
        self._in_flight = metrics.http_in_flight.labels(server)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500  # what the client sees when the app raises before answering
        started = time.perf_counter()

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        self._in_flight.inc()
        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            self._in_flight.dec()
            route = scope.get("route")
            template = getattr(route, "path", UNMATCHED) if route is not None else UNMATCHED
            method = scope["method"] if scope["method"] in METHODS else "other"
            self.metrics.http_requests.labels(self.server, template, method, str(status)).inc()
            self.metrics.http_duration.labels(self.server, template, method).observe(
                time.perf_counter() - started
            )
