"""OpenTelemetry spans, exported over OTLP/HTTP (protobuf). Imported only when an exporter
is configured (:mod:`pm4ml.observability.otel_config`); otherwise pm4ml passes the caller's
``traceparent`` on unchanged and creates no span.

- one SERVER span per request the inbound and outbound servers answer, continuing the
  request's ``traceparent`` (:class:`SpanMiddleware`); the work the request starts after it
  was answered inherits it as parent;
- one CLIENT span per FSPIOP request or callback sent (:meth:`Tracing.request`), whose context
  replaces the ``traceparent`` sent (``tracestate`` is kept), so the peer's server span is its
  child; a callback sent later by the job worker, outside any span, is parented on the
  ``traceparent`` stored with the transfer;
- one CLIENT span per connector call (:meth:`Tracing.connector_call`).

Each runtime has its own tracer provider (two DFSPs in one process, as in the tests, keep
their ``service.name`` and ``pm4ml.dfsp_id``); the global OpenTelemetry provider is untouched.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Iterator
from typing import TypeVar

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import SpanKind, Status, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from pm4ml.fspiop.headers import resource_of
from pm4ml.observability.metrics import METHODS, UNMATCHED
from pm4ml.observability.tracing import set_injector

T = TypeVar("T")
_PROPAGATOR = TraceContextTextMapPropagator()


def _inject_current(headers: dict[str, str]) -> None:
    """The current span's context into ``headers`` (connector requests: the connector call's
    span is the CBS request's parent)."""
    if trace.get_current_span().get_span_context().is_valid:
        carrier: dict[str, str] = {}
        _PROPAGATOR.inject(carrier)
        headers.update(carrier)


class Tracing:
    """One runtime's tracer and exporter."""

    def __init__(self, endpoint: str, service_name: str, dfsp_id: str) -> None:
        resource = Resource.create({"service.name": service_name, "pm4ml.dfsp_id": dfsp_id})
        self.provider = TracerProvider(resource=resource)
        self.provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint)))
        self.tracer = self.provider.get_tracer("pm4ml")
        set_injector(_inject_current)

    async def flush(self) -> None:
        """Export every finished span now (the exporter blocks: off the event loop)."""
        await asyncio.to_thread(self.provider.force_flush)

    async def shutdown(self) -> None:
        await asyncio.to_thread(self.provider.shutdown)

    @contextlib.contextmanager
    def request(
        self, method: str, path: str, headers: dict[str, str]
    ) -> Iterator[Callable[[int], None]]:
        """A CLIENT span around one FSPIOP request; writes its ``traceparent`` into
        ``headers``. Yields a function that records the peer's HTTP status."""
        parent = None
        if not trace.get_current_span().get_span_context().is_valid:
            parent = _PROPAGATOR.extract({k.lower(): v for k, v in headers.items()})
        resource = resource_of(path)
        attributes = {"http.request.method": method, "url.path": path, "fspiop.resource": resource}
        with self.tracer.start_as_current_span(
            f"{method} {resource}", context=parent, kind=SpanKind.CLIENT, attributes=attributes
        ) as span:
            carrier: dict[str, str] = {}
            _PROPAGATOR.inject(carrier)
            for name in [k for k in headers if k.lower() == "traceparent"]:
                del headers[name]
            headers["traceparent"] = carrier["traceparent"]

            def answered(status: int) -> None:
                span.set_attribute("http.response.status_code", status)
                if status >= 500:
                    span.set_status(Status(StatusCode.ERROR))

            yield answered

    async def connector_call(self, operation: str, call: Awaitable[T]) -> T:
        """A CLIENT span around one core-banking connector call."""
        with self.tracer.start_as_current_span(
            f"connector {operation}",
            kind=SpanKind.CLIENT,
            attributes={"pm4ml.connector.operation": operation},
        ):
            return await call


class SpanMiddleware:
    """A SERVER span per HTTP request, named ``<method> <route template>``, continuing the
    request's ``traceparent``; it is the current span while the request is served."""

    def __init__(self, app: ASGIApp, tracing: Tracing, server: str) -> None:
        self.app = app
        self.tracer = tracing.tracer
        self.server = server

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        carrier = {
            name.decode("latin-1"): value.decode("latin-1")
            for name, value in scope["headers"]
            if name in (b"traceparent", b"tracestate")
        }
        method = scope["method"] if scope["method"] in METHODS else "other"
        span = self.tracer.start_span(
            method,
            context=_PROPAGATOR.extract(carrier),
            kind=SpanKind.SERVER,
            attributes={"http.request.method": method, "pm4ml.server": self.server},
        )
        status = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        token = otel_context.attach(trace.set_span_in_context(span))
        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            otel_context.detach(token)
            route = scope.get("route")
            template = getattr(route, "path", UNMATCHED) if route is not None else UNMATCHED
            span.update_name(f"{method} {template}")
            span.set_attribute("http.route", template)
            span.set_attribute("http.response.status_code", status)
            if status >= 500:
                span.set_status(Status(StatusCode.ERROR))
            span.end()
