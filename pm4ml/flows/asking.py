"""Sending one FSPIOP request and waiting, bounded, for its callback: the one mechanism every
payer-side flow uses (transfers, lookups, quotes, account registration)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from pm4ml.fspiop import canonical
from pm4ml.fspiop.errors import ErrorCode, FspiopError
from pm4ml.fspiop.headers import ApiVersion, resource_of
from pm4ml.transport.bus import Bus, BusMessage, Waiter
from pm4ml.transport.client import FspiopClient, NotDelivered, Sent

Answer = BusMessage | FspiopError
ObserveWait = Callable[[str, str, float], None]
"""``(resource, outcome, seconds)``: told how each wait for a callback ended (metrics)."""


class CallbackError(FspiopError):
    """The peer answered with an error callback (``PUT .../error``), as opposed to an error
    of ours (a timeout) or a refusal of the request itself."""


@dataclass(frozen=True)
class Ask:
    """One FSPIOP request and the bus key its callback arrives under."""

    method: str
    path: str
    body: Mapping[str, Any] | None
    destination: str | None
    key: str


async def ask(
    client: FspiopClient,
    bus: Bus,
    request: Ask,
    *,
    version: ApiVersion,
    wait_seconds: float,
    trace: Mapping[str, str] | None = None,
    record: Callable[[Sent], Awaitable[None]] | None = None,
    final: Callable[[BusMessage], bool] | None = None,
    observe_wait: ObserveWait | None = None,
) -> Answer:
    """Send ``request`` and wait at most ``wait_seconds`` for its callback.

    Returns the callback, or an ``FspiopError``: a :class:`CallbackError` for an error
    callback; :class:`NotDelivered` when the peer certainly did not take the request on (it
    answered 4xx, or was never reached); 2004 when no callback came in time; any other when
    the outcome is unknown (a 5xx, a connection lost after sending). ``record`` gets what was
    sent, for the message log. A callback that ``final`` rejects (``transferState: RESERVED``)
    does not end the wait. The waiter subscribes before sending, so no callback is missed.
    ``observe_wait`` hears how the wait for the callback ended (not called when the request
    was refused: nothing was waited for)."""
    data = canonical.dumps(request.body) if request.body is not None else None
    loop = asyncio.get_running_loop()
    async with bus.waiter(request.key) as waiter:
        try:
            sent = await client.send(
                request.method,
                request.path,
                data,
                destination=request.destination,
                version=version,
                extra_headers=trace or None,
            )
        except FspiopError as error:
            return error
        if record is not None:
            await record(sent)
        if not sent.ok:
            refusal = sent.error or FspiopError(ErrorCode.DESTINATION_COMMUNICATION_ERROR)
            if sent.status_code < 500:
                return NotDelivered(refusal.code, refusal.description, code_text=refusal.code_text)
            return refusal
        started = loop.time()
        answer = await _wait(waiter, started + wait_seconds, final)
        if observe_wait is not None:
            outcome = (
                "timeout"
                if answer is None
                else "error"
                if isinstance(answer, CallbackError)
                else "answered"
            )
            observe_wait(resource_of(request.path), outcome, loop.time() - started)
    if answer is None:
        text = f"no answer to {request.method} {request.path}"
        return FspiopError(ErrorCode.SERVER_TIMED_OUT, text)
    return answer


async def _wait(
    waiter: Waiter, deadline: float, final: Callable[[BusMessage], bool] | None
) -> BusMessage | CallbackError | None:
    """The callback (or error callback) that ends the wait; None when none came in time."""
    loop = asyncio.get_running_loop()
    while (remaining := deadline - loop.time()) > 0:
        try:
            message = await waiter.get(remaining)
        except TimeoutError:
            return None
        if message.kind == "error":
            sent_error = FspiopError.from_body(message.body)
            return CallbackError(
                sent_error.code,
                sent_error.description,
                extensions=sent_error.extensions,
                code_text=sent_error.code_text,
            )
        if final is None or final(message):
            return message
    return None


def response_headers(message: BusMessage) -> dict[str, str]:
    """The callback's headers as the Outbound API echoes them (without pm4ml's own
    ``signature`` verification status, which is not a header)."""
    return {k: v for k, v in message.headers.items() if k != "signature"}


FINAL_TRANSFER_STATES = frozenset({"COMMITTED", "ABORTED"})


def transfer_answer_is_final(message: BusMessage) -> bool:
    """A ``PUT /transfers`` that is not final yet (``RESERVED``) does not end the wait."""
    return message.body.get("transferState") in FINAL_TRANSFER_STATES
