"""Request and response helpers shared by every outbound API endpoint."""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from pm4ml.fspiop.errors import ErrorCode, FspiopError

BODY_BYTES_MAX = 1_048_576


def json_response(body: Any, status: int = 200) -> Response:
    return JSONResponse(body, status_code=status)


async def read_json(request: Request) -> Any:
    """The request body as JSON; ``FspiopError`` 3104 when too large, 3101 when not JSON."""
    raw = await request.body()
    if len(raw) > BODY_BYTES_MAX:
        raise FspiopError(ErrorCode.TOO_LARGE_PAYLOAD)
    try:
        return json.loads(raw)
    except ValueError:
        raise FspiopError(ErrorCode.MALFORMED_SYNTAX, "body is not valid JSON") from None


def trace_headers(request: Request) -> dict[str, str]:
    """The caller's W3C trace context, passed on to every FSPIOP request it causes."""
    return {k: v for k, v in request.headers.items() if k in ("traceparent", "tracestate")}
