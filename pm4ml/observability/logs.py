"""Logging set-up for ``pm4ml serve`` and ``pm4ml demo``: one event per line, as a JSON object
(for a log collector) or as text (for a terminal), each carrying what the event is about.

Every record gets, from context variables set while a request is served (and inherited by the
background work it starts): ``trace_id``, ``method`` and ``resource`` of the request, and
``transfer_id`` once it is known (the ``/transfers/{ID}`` path, or
:func:`pm4ml.observability.tracing.set_transfer_id` called by the flows). Messages are the
code's own sentences: request and callback bodies, signatures and keys are never put in a log
message at INFO (a test runs transfers with INFO logging and looks for them).
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Literal, TextIO

from pm4ml.observability.tracing import (
    NO_TRACE,
    TraceIdFilter,
    current_request,
    current_transfer_id,
)

LogFormat = Literal["auto", "json", "text"]

_HANDLER_NAME = "pm4ml"

TEXT_FORMAT = (
    "%(asctime)s %(levelname)s %(name)s trace=%(trace_id)s transfer=%(transfer_id)s %(message)s"
)


class ContextFilter(TraceIdFilter):
    """Adds ``trace_id``, ``transfer_id``, ``method`` and ``resource`` (``-`` when unknown)."""

    def filter(self, record: logging.LogRecord) -> bool:
        super().filter(record)
        record.transfer_id = current_transfer_id() or NO_TRACE
        method, resource = current_request() or (NO_TRACE, NO_TRACE)
        record.method = method
        record.resource = resource
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ``ts`` (UTC, ISO 8601), ``level``, ``logger``, ``message``,
    ``trace_id``, ``transfer_id``, ``method``, ``resource`` (null when unknown), and ``exc``
    (the formatted traceback) when the record has exception info."""

    def format(self, record: logging.LogRecord) -> str:
        event: dict[str, object] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key in ("trace_id", "transfer_id", "method", "resource"):
            found = getattr(record, key, NO_TRACE)
            event[key] = None if found == NO_TRACE else found
        if record.exc_info:
            event["exc"] = self.formatException(record.exc_info)
        elif record.exc_text:
            event["exc"] = record.exc_text
        if record.stack_info:
            event["stack"] = self.formatStack(record.stack_info)
        return json.dumps(event, ensure_ascii=False, default=str)


def resolve_format(fmt: LogFormat, stream: TextIO) -> Literal["json", "text"]:
    """``auto``: text when ``stream`` is a terminal (a person reads it), JSON otherwise."""
    if fmt != "auto":
        return fmt
    isatty = getattr(stream, "isatty", None)
    return "text" if isatty is not None and isatty() else "json"


class _StderrHandler(logging.StreamHandler[TextIO]):
    """Writes to whatever ``sys.stderr`` is when a record is emitted (not the object it was
    at set-up), so a replaced and closed stderr (a test runner's) is never written to."""

    def __init__(self) -> None:
        super().__init__()

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, value: TextIO) -> None:
        """The base class assigns it once; the property ignores it."""


def configure_logging(
    level: str, fmt: LogFormat = "auto", stream: TextIO | None = None
) -> logging.Handler:
    """Route every log record at ``level`` and above to one handler on ``stream`` (by
    default stderr) in the chosen format. Calling it again replaces the handler it installed
    before; other handlers on the root logger are left alone. Returns the handler."""
    handler: logging.StreamHandler[TextIO]
    handler = _StderrHandler() if stream is None else logging.StreamHandler(stream)
    handler.addFilter(ContextFilter())
    if resolve_format(fmt, stream if stream is not None else sys.stderr) == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter(TEXT_FORMAT))
    handler.set_name(_HANDLER_NAME)
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == _HANDLER_NAME]:
        root.removeHandler(old)
        old.close()
    root.addHandler(handler)
    root.setLevel(level)
    return handler
