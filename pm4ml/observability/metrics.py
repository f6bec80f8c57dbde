"""Prometheus metrics for the pm4ml servers, recorded by a thin ASGI middleware.

Labels are bounded: the resource is the route template (``/transfers/{transferId}``), never a
raw id, and a request that matched no route is labelled ``unmatched``.
"""

from __future__ import annotations

import time
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

REQUESTS = Counter(
    "pm4ml_http_requests_total",
    "HTTP requests answered, per server, resource template, method and status.",
    ["server", "resource", "method", "status"],
)
REQUEST_SECONDS = Histogram(
    "pm4ml_http_request_duration_seconds",
    "Time to answer an HTTP request, per server, resource template and method.",
    ["server", "resource", "method"],
)


def resource_template(scope: Scope) -> str:
    """The route template of a routed request, built by putting the path parameters back."""
    params: dict[str, Any] = scope.get("path_params") or {}
    if scope.get("endpoint") is None:
        return "unmatched"
    path: str = scope.get("path", "")
    for name, value in params.items():
        path = path.replace(f"/{value}", f"/{{{name}}}", 1)
    return path


class MetricsMiddleware:
    """Counts and times every HTTP request of one server (``inbound`` or ``outbound``)."""

    def __init__(self, app: ASGIApp, server: str) -> None:
        self.app = app
        self.server = server

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            resource = resource_template(scope)
            method = scope["method"]
            REQUESTS.labels(self.server, resource, method, str(status)).inc()
            REQUEST_SECONDS.labels(self.server, resource, method).observe(
                time.perf_counter() - started
            )


async def metrics_endpoint(request: Request) -> Response:
    """``GET /metrics``: every metric of this process in the Prometheus text format."""
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
