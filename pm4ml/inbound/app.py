"""The inbound FSPIOP server (Starlette): check every request, hand it to its handler.

Checks run in this order, each with its own FSPIOP error, answered at once with a 4xx and an
``errorInformation`` body: body size (3104), headers and version (3101/3102, 406 with 3001),
destination (3201), JWS signature (3105), body schema (3100 family, naming the field). A request
that passes is persisted by its handler, answered 202 (``POST``/``GET``) or 200 (``PUT``/``PATCH``),
and any further work runs in the background; a failure there becomes a ``PUT .../error``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine, Mapping
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from pm4ml.flows.messages import Inbound
from pm4ml.fspiop import canonical, models
from pm4ml.fspiop.errors import ErrorCode, FspiopError
from pm4ml.fspiop.headers import validate_request_headers
from pm4ml.fspiop.jws import JwsVerifier, signature_required
from pm4ml.inbound.handlers import Handler, Handlers
from pm4ml.inbound.routes import ROUTES, RouteSpec

log = logging.getLogger(__name__)


class Background:
    """The tasks started after a request was answered; drained on shutdown so that a clean
    stop finishes what it promised (a hard stop is covered by the outbox and resume)."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[None]] = set()

    def spawn(self, coroutine: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("background task failed", exc_info=task.exception())

    async def drain(self, seconds: float) -> None:
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=seconds)

    def cancel_all(self) -> None:
        """Stop every task now (tests use it to simulate a crash)."""
        for task in self._tasks:
            task.cancel()

    def __len__(self) -> int:
        return len(self._tasks)


class InboundPolicy:
    """What the inbound checks need besides the request."""

    def __init__(
        self,
        dfsp_id: str,
        verifier: JwsVerifier,
        *,
        require_put_parties_signature: bool = True,
        body_bytes_max: int = 5_242_880,
    ) -> None:
        self.dfsp_id = dfsp_id
        self.verifier = verifier
        self.require_put_parties_signature = require_put_parties_signature
        self.body_bytes_max = body_bytes_max


def error_response(error: FspiopError) -> Response:
    return Response(
        canonical.dumps(error.to_body()),
        status_code=error.http_status,
        media_type="application/json",
    )


async def check_request(request: Request, spec: RouteSpec, policy: InboundPolicy) -> Inbound:
    """Run every inbound check; raise ``FspiopError`` for the first that fails."""
    body = await _read_body(request, policy.body_bytes_max)
    # The raw list, repeats included: a header sent twice with different values is refused
    # there, so the dict below (last one wins) never hides a conflicting FSPIOP-Source.
    checked = validate_request_headers(spec.method, spec.resource, request.headers.items())
    headers = dict(checked.headers)
    if checked.destination is not None and checked.destination != policy.dfsp_id:
        raise FspiopError(
            ErrorCode.DESTINATION_FSP_ERROR,
            f"FSPIOP-Destination {checked.destination} is not this DFSP",
        )
    signature = "absent"
    if "fspiop-signature" in headers:
        policy.verifier.verify(method=spec.method, headers=headers, body=body)
        signature = "verified"
    elif signature_required(
        spec.method, spec.resource, require_put_parties=policy.require_put_parties_signature
    ):
        raise FspiopError(ErrorCode.INVALID_SIGNATURE, "FSPIOP-Signature header is missing")
    parsed: dict[str, Any] = {}
    if spec.model is not None:
        parsed = _json_object(body)
        models.parse(getattr(models, spec.model), parsed, strict=checked.version.major >= 2)
    return Inbound(
        method=spec.method,
        path=request.url.path,
        resource=spec.resource,
        headers=headers,
        body=body,
        json=parsed,
        source=checked.source,
        destination=checked.destination,
        version=checked.version,
        params=dict(request.path_params),
        signature=signature,
    )


def _json_object(body: bytes) -> dict[str, Any]:
    try:
        value = canonical.loads(body)
    except ValueError:
        raise FspiopError(ErrorCode.MALFORMED_SYNTAX, "body is not valid JSON") from None
    if not isinstance(value, dict):
        raise FspiopError(ErrorCode.MALFORMED_SYNTAX, "body is not a JSON object")
    return value


async def _read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise FspiopError(ErrorCode.TOO_LARGE_PAYLOAD, f"body larger than {limit} bytes")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise FspiopError(ErrorCode.TOO_LARGE_PAYLOAD, f"body larger than {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def _endpoint(
    spec: RouteSpec, handler: Handler, policy: InboundPolicy, background: Background
) -> Any:
    accepted = 202 if spec.method in ("POST", "GET") else 200

    async def endpoint(request: Request) -> Response:
        try:
            msg = await check_request(request, spec, policy)
        except FspiopError as error:
            log.info("refused %s %s: %s", spec.method, request.url.path, error)
            return error_response(error)
        try:
            continuation = await handler(msg)
        except FspiopError as error:
            return error_response(error)
        except Exception:
            log.exception("handler %s failed", spec.handler)
            return error_response(FspiopError(ErrorCode.INTERNAL_SERVER_ERROR))
        if continuation is not None:
            background.spawn(continuation())
        return Response(status_code=accepted)

    return endpoint


def _not_found(request: Request, exc: Exception) -> Response:
    return error_response(FspiopError(ErrorCode.UNKNOWN_URI, f"no route {request.url.path}"))


def _not_allowed(request: Request, exc: Exception) -> Response:
    return error_response(FspiopError(ErrorCode.METHOD_NOT_ALLOWED))


def create_inbound_app(
    handlers: Handlers,
    policy: InboundPolicy,
    background: Background,
    extra_routes: Mapping[str, Any] | None = None,
) -> Starlette:
    """The inbound ASGI app. Lifespan (start/stop of the services) belongs to the caller."""
    grouped: dict[str, list[RouteSpec]] = {}
    for spec in ROUTES:
        grouped.setdefault(spec.path, []).append(spec)
    routes = [Route("/health", _health, methods=["GET"])]
    for path, specs in grouped.items():
        routes.append(
            Route(
                path,
                _dispatch(specs, handlers, policy, background),
                methods=[spec.method for spec in specs],
            )
        )
    return Starlette(
        routes=routes,
        exception_handlers={404: _not_found, 405: _not_allowed},
    )


def _dispatch(
    specs: list[RouteSpec], handlers: Handlers, policy: InboundPolicy, background: Background
) -> Any:
    by_method = {
        spec.method: _endpoint(spec, handlers.get(spec.handler), policy, background)
        for spec in specs
    }

    async def dispatch(request: Request) -> Response:
        response: Response = await by_method[request.method](request)
        return response

    return dispatch


async def _health(request: Request) -> Response:
    return JSONResponse({"status": "OK"})
