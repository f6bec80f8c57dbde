"""W3C trace context (``traceparent``) and the request being served, for logs.

pm4ml passes the caller's ``traceparent``/``tracestate`` on, unchanged, to every FSPIOP request
and callback a request causes (the flows carry them with the transfer). This module makes the
trace id of the request being served visible to logging: an ASGI middleware reads it into a
context variable (inherited by the background work the request starts), and
:class:`TraceIdFilter` copies it onto each log record as ``trace_id``. No OpenTelemetry object
is created: with no exporter there is nothing to pay for but one header scan.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from contextvars import ContextVar

from starlette.types import ASGIApp, Receive, Scope, Send

NO_TRACE = "-"

_current: ContextVar[str | None] = ContextVar("pm4ml_trace_id", default=None)
_request: ContextVar[tuple[str, str] | None] = ContextVar("pm4ml_request", default=None)
_transfer_id: ContextVar[str | None] = ContextVar("pm4ml_transfer_id", default=None)
_incoming: ContextVar[dict[str, str] | None] = ContextVar("pm4ml_trace_headers", default=None)
#: Writes the current OpenTelemetry span's context into headers; set by
#: :mod:`pm4ml.observability.otel` when an exporter is configured, else None.
_inject: Callable[[dict[str, str]], None] | None = None

# version "00" and any future version share this prefix (W3C Trace Context, section 3.2);
# all-zero trace and parent ids are invalid.
_TRACEPARENT = re.compile(r"^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$")


def trace_id_of(traceparent: str) -> str | None:
    """The trace id of a valid ``traceparent`` header value, else None."""
    found = _TRACEPARENT.match(traceparent.strip())
    if found is None:
        return None
    version, trace_id, parent_id, _, rest = found.groups()
    if version == "ff" or (version == "00" and rest):
        return None
    if trace_id == "0" * 32 or parent_id == "0" * 16:
        return None
    return trace_id


def current_request() -> tuple[str, str] | None:
    """``(method, resource)`` of the request being served (or that started this work)."""
    return _request.get()


def set_transfer_id(transfer_id: str) -> None:
    """Name the transfer the request being served is about, for the logs. Work the request
    starts afterwards inherits it; :class:`TraceContextMiddleware` restores the previous
    value when the request ends, so call it only while serving a request."""
    _transfer_id.set(transfer_id)


def current_transfer_id() -> str | None:
    return _transfer_id.get()


def trace_headers() -> dict[str, str]:
    """The W3C trace context headers (``traceparent``, ``tracestate``) a connector should
    send on its own requests to the core banking system: those of the request being served
    (or that started this work) or, with OpenTelemetry configured, the connector call's own
    span. Empty when there is no trace."""
    headers = dict(_incoming.get() or {})
    if _inject is not None:
        _inject(headers)
    return headers


def set_injector(inject: Callable[[dict[str, str]], None]) -> None:
    """Let :func:`trace_headers` write the current span's context (OpenTelemetry)."""
    global _inject
    _inject = inject


def current_trace_id() -> str | None:
    """The trace id of the request being served (or that started this background work)."""
    return _current.get()


class TraceContextMiddleware:
    """Sets the current trace id from the request's ``traceparent``, the request's method
    and resource (``transfers``, ``parties``...) and, for ``/transfers/{ID}``, the transfer
    id, for the request's span."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        trace_id = None
        incoming: dict[str, str] = {}
        for name, value in scope["headers"]:
            if name in (b"traceparent", b"tracestate"):
                incoming[name.decode("ascii")] = value.decode("latin-1")
        if "traceparent" in incoming:
            trace_id = trace_id_of(incoming["traceparent"])
            if trace_id is None:
                incoming = {}  # an invalid traceparent is not passed on to the CBS
        token = _current.set(trace_id)
        headers = _incoming.set(incoming or None)
        segments = scope["path"].lstrip("/").split("/", 2)
        request = _request.set((scope["method"], segments[0] or "/"))
        # A transfer's callbacks, GET and PATCH name it in the path; POST carries it in the
        # body, where the flow that reads it sets it.
        named = segments[1] if segments[0] == "transfers" and len(segments) > 1 else None
        transfer = _transfer_id.set(named)
        try:
            await self.app(scope, receive, send)
        finally:
            _transfer_id.reset(transfer)
            _request.reset(request)
            _incoming.reset(headers)
            _current.reset(token)


class TraceIdFilter(logging.Filter):
    """Adds ``trace_id`` (or ``-``) to every record, for formats such as
    ``%(trace_id)s``. Install it on the handlers."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.trace_id = _current.get() or NO_TRACE
        return True
