"""The FSPIOP client: every request pm4ml sends to the hub or a peer goes through here.

It builds the FSPIOP headers, signs the body (JWS) when the scheme policy says so, sends the
canonical bytes it signed, and gives back what happened. One ``httpx.AsyncClient`` per peer
with keep-alive, over the aiohttp transport (several times cheaper per request than httpx's
own under concurrency, DESIGN.md section 5), explicit timeouts and pool limits.

Retries: only a request that certainly never reached the peer (the TCP connection was not
established) is retried, with capped exponential backoff. A timeout or a dropped connection
after sending is not retried here: the peer may have acted on it, so the caller decides (the
job worker retries callbacks, which FSPIOP receivers treat idempotently).
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

import aiohttp
import httpx
from httpx_aiohttp import AiohttpTransport

from pm4ml.fspiop.errors import CommunicationError, ErrorCode, FspiopError
from pm4ml.fspiop.headers import ApiVersion, build_headers, resource_of
from pm4ml.fspiop.jws import should_sign
from pm4ml.fspiop.jws_ring import Signer
from pm4ml.tls.context import ReloadingClientContext

CONNECT_ATTEMPTS_MAX = 3
BACKOFF_SECONDS_MAX = 1.0


class NotDelivered(CommunicationError):
    """The peer certainly did not act on the request: the connection was never established,
    or the peer refused it synchronously (HTTP 4xx). Safe to give up, or to retry."""


class RequestSpans(Protocol):
    """Tracing of the requests sent (:class:`pm4ml.observability.otel.Tracing`)."""

    def request(
        self, method: str, path: str, headers: dict[str, str]
    ) -> contextlib.AbstractContextManager[Callable[[int], None]]:
        """Spans one request; may rewrite ``headers`` (its ``traceparent``); the yielded
        function is told the HTTP status."""
        ...


@dataclass(frozen=True)
class ClientOptions:
    """How to reach one peer. Every bound is explicit (STYLE.md practice 10)."""

    base_url: str
    source: str
    timeout_seconds: float = 10.0
    connections_max: int = 100
    sign: bool = True
    sign_put_parties: bool = True
    # A reloading context follows a renewed client certificate on disk (pm4ml.tls.context).
    ssl_context: ssl.SSLContext | ReloadingClientContext | None = None


@dataclass(frozen=True)
class Sent:
    """What was sent and the peer's answer: for the message log and the caller."""

    method: str
    path: str
    headers: Mapping[str, str]
    body: bytes | None
    status_code: int
    response_body: bytes = b""
    error: FspiopError | None = field(default=None)
    sent_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    @property
    def ok(self) -> bool:
        return 200 <= self.status_code < 300


class FspiopClient:
    """Sends FSPIOP requests to one peer (the hub, or a peer DFSP in a test set-up)."""

    def __init__(
        self,
        options: ClientOptions,
        signer: Signer | None,
        transport: httpx.AsyncBaseTransport | None = None,
        observe: Callable[[str, str, int | None, float], None] | None = None,
        spans: RequestSpans | None = None,
    ) -> None:
        """``observe(resource, method, status or None, seconds)`` is told about every request
        sent (metrics); ``spans`` traces them (OpenTelemetry, when configured)."""
        if options.sign and signer is None:
            raise ValueError("signing is on but no JWS signing key is configured")
        self.options = options
        self._signer = signer
        self._observe = observe
        tls = options.ssl_context
        self._tls = tls if isinstance(tls, ReloadingClientContext) else None
        self._spans = spans
        self._http = httpx.AsyncClient(
            base_url=options.base_url,
            timeout=httpx.Timeout(options.timeout_seconds),
            transport=transport or AiohttpTransport(client=lambda: _session(options)),
            trust_env=False,
        )
        # httpx would add "Accept: */*" to every request; FSPIOP callbacks (PUT) carry none.
        self._http.headers.pop("accept", None)

    async def aclose(self) -> None:
        await self._http.aclose()

    def headers_for(
        self,
        method: str,
        path: str,
        body: bytes | None,
        *,
        destination: str | None,
        version: ApiVersion,
        date: datetime | None = None,
        extra: Mapping[str, str] | None = None,
    ) -> dict[str, str]:
        """The complete header set for one request, signature included."""
        resource = resource_of(path)
        headers = build_headers(
            resource=resource,
            method=method,
            version=version,
            source=self.options.source,
            destination=destination,
            date=date or datetime.now(UTC),
        )
        if extra:
            headers.update(extra)
        signing = should_sign(
            method,
            resource,
            sign=self.options.sign,
            sign_put_parties=self.options.sign_put_parties,
        )
        if signing and body is not None and self._signer is not None:
            url = self.options.base_url + path
            headers.update(self._signer.sign(method=method, url=url, headers=headers, body=body))
        return headers

    async def send(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        *,
        destination: str | None,
        version: ApiVersion,
        extra_headers: Mapping[str, str] | None = None,
    ) -> Sent:
        """Send one request. Returns :class:`Sent` for any HTTP answer (check ``ok``); raises
        ``FspiopError`` 1001 when the peer could not be reached or did not answer in time."""
        sent_at = datetime.now(UTC)
        if self._tls is not None:
            self._tls.maybe_refresh()
        headers = self.headers_for(
            method, path, body, destination=destination, version=version, extra=extra_headers
        )
        if self._spans is None:
            response = await self._measured(method, path, headers, body)
        else:
            with self._spans.request(method, path, headers) as answered:
                response = await self._measured(method, path, headers, body)
                answered(response.status_code)
        error = None
        if not 200 <= response.status_code < 300:
            error = _error_from_response(response)
        return Sent(
            method, path, headers, body, response.status_code, response.content, error, sent_at
        )

    async def _measured(
        self, method: str, path: str, headers: dict[str, str], body: bytes | None
    ) -> httpx.Response:
        if self._observe is None:
            return await self._request(method, path, headers, body)
        started = time.perf_counter()
        status: int | None = None
        try:
            response = await self._request(method, path, headers, body)
            status = response.status_code
            return response
        finally:
            self._observe(resource_of(path), method, status, time.perf_counter() - started)

    async def _request(
        self, method: str, path: str, headers: dict[str, str], body: bytes | None
    ) -> httpx.Response:
        for attempt in range(1, CONNECT_ATTEMPTS_MAX + 1):
            try:
                return await self._http.request(method, path, headers=headers, content=body)
            except httpx.TransportError as exc:
                never_sent = _never_sent(exc)
                if attempt < CONNECT_ATTEMPTS_MAX and (never_sent or method == "GET"):
                    await asyncio.sleep(min(BACKOFF_SECONDS_MAX, 0.05 * 2**attempt))
                    continue
                error_class = NotDelivered if never_sent else FspiopError
                raise error_class(
                    ErrorCode.DESTINATION_COMMUNICATION_ERROR,
                    f"{method} {path}: {type(exc).__name__}",
                ) from exc
        raise AssertionError("unreachable")


def _session(options: ClientOptions) -> aiohttp.ClientSession:
    """The aiohttp session under the httpx client (created on first use, inside the loop).
    It must not add its own ``Accept: */*``: a peer validates an Accept header when one is
    present, and the reference refuses that one on a callback (3101)."""
    tls = options.ssl_context
    if isinstance(tls, ReloadingClientContext):
        tls = tls.context
    connector = aiohttp.TCPConnector(
        limit=options.connections_max,
        keepalive_timeout=30,
        ssl=tls if tls is not None else True,
    )
    return aiohttp.ClientSession(
        connector=connector, skip_auto_headers=("Accept",), trust_env=False
    )


def _never_sent(exc: BaseException) -> bool:
    """True when the connection was never established, so the peer cannot have seen the
    request and resending it is safe."""
    cause = exc.__cause__
    if isinstance(cause, aiohttp.ClientConnectorError):
        return True
    return isinstance(exc, httpx.ConnectError) and cause is None


def _error_from_response(response: httpx.Response) -> FspiopError:
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and "errorInformation" in body:
        return FspiopError.from_body(body)
    code = ErrorCode.DESTINATION_COMMUNICATION_ERROR
    return FspiopError(code, f"peer answered HTTP {response.status_code}")
