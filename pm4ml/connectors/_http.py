"""One request to a core banking system over HTTP, with the retry rule every connector needs:
a connection that was never made is retried with a capped, doubling backoff; anything after
the request may have left (a timeout, a broken connection) is not, because the CBS may have
acted on it. Either way the failure is ``Unavailable`` (2003, retryable by the caller, who
checks before repeating a write). The request carries the trace context (:func:`trace_headers`).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import httpx

from pm4ml.connectors._errors import Unavailable
from pm4ml.observability.tracing import trace_headers

logger = logging.getLogger(__name__)

FIRST_BACKOFF_SECONDS = 0.1


async def send_to_cbs(
    client: httpx.AsyncClient,
    method: str,
    path: str,
    *,
    retries: int,
    retry_max_seconds: float,
    **request: Any,
) -> httpx.Response:
    """``client.request(method, path, **request)``, retried up to ``retries`` times while the
    connection cannot be made; any answer, whatever its status, is returned."""
    delay = FIRST_BACKOFF_SECONDS
    for attempt in range(retries + 1):
        try:
            return await client.request(method, path, headers=trace_headers(), **request)
        except httpx.TimeoutException:
            raise Unavailable("the core banking system did not answer in time") from None
        except httpx.ConnectError as exc:
            if attempt == retries:
                logger.warning("CBS %s %s failed: %r", method, path, exc)
                raise Unavailable("the core banking system cannot be reached") from None
            await asyncio.sleep(delay)
            delay = min(delay * 2, retry_max_seconds)
        except httpx.TransportError as exc:
            logger.warning("CBS %s %s failed: %r", method, path, exc)
            raise Unavailable("the core banking system connection failed") from None
    raise AssertionError("unreachable")
