"""W3C trace context (``traceparent``) for logs.

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
from contextvars import ContextVar

from starlette.types import ASGIApp, Receive, Scope, Send

NO_TRACE = "-"

_current: ContextVar[str | None] = ContextVar("pm4ml_trace_id", default=None)

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


def current_trace_id() -> str | None:
    """The trace id of the request being served (or that started this background work)."""
    return _current.get()


class TraceContextMiddleware:
    """Sets the current trace id from the request's ``traceparent`` for the request's span."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        trace_id = None
        for name, value in scope["headers"]:
            if name == b"traceparent":
                trace_id = trace_id_of(value.decode("latin-1"))
                break
        token = _current.set(trace_id)
        try:
            await self.app(scope, receive, send)
        finally:
            _current.reset(token)


class TraceIdFilter(logging.Filter):
    """Adds ``trace_id`` (or ``-``) to every record, for formats such as
    ``%(trace_id)s``. Install it on the handlers."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.trace_id = _current.get() or NO_TRACE
        return True
