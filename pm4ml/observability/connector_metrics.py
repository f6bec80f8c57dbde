"""Connector call latency and outcome, measured (and, with OpenTelemetry configured, spanned)
by wrapping the connector the runtime builds (the flows are unchanged: they call the wrapper
as they would the connector)."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from pm4ml.connectors import (
    Connector,
    IncomingTransfer,
    OutgoingTransfer,
    Party,
    PartyId,
    QuoteRequest,
    QuoteTerms,
    TransactionRequest,
    TransactionRequestDecision,
    TransactionRequestState,
    TransferNotification,
)
from pm4ml.observability.metrics import Metrics

T = TypeVar("T")
SpanCall = Callable[[str, Awaitable[Any]], Awaitable[Any]]
"""``(operation, call)``: the call, awaited inside a span (OpenTelemetry, when configured)."""


class ConnectorMetrics:
    """Times connector calls into ``pm4ml_connector_calls_total{operation,outcome}`` (outcome
    ``ok`` or the exception's class name, a set bounded by the connector's code) and
    ``pm4ml_connector_call_duration_seconds{operation}``."""

    def __init__(self, metrics: Metrics, span: SpanCall | None = None) -> None:
        self.calls = metrics.connector_calls
        self.duration = metrics.connector_duration
        self.span = span

    async def timed(self, operation: str, call: Awaitable[T], *, traced: bool = True) -> T:
        started = time.perf_counter()
        outcome = "ok"
        try:
            if traced and self.span is not None:
                result: T = await self.span(operation, call)
                return result
            return await call
        except BaseException as exc:  # cancellation (the flows' timeout) is an outcome too
            outcome = type(exc).__name__
            raise
        finally:
            self.duration.labels(operation).observe(time.perf_counter() - started)
            self.calls.labels(operation, outcome).inc()


class MeteredConnector(Connector):
    """Delegates every call to ``inner`` and measures it. Attributes the interface does not
    define are read from ``inner``."""

    def __init__(self, inner: Connector, metrics: ConnectorMetrics) -> None:
        self.inner = inner
        self._metrics = metrics

    def __getattr__(self, name: str) -> Any:
        if name == "inner":  # not set yet (e.g. while copying): no endless recursion
            raise AttributeError(name)
        return getattr(self.inner, name)

    async def start(self) -> None:
        await self.inner.start()

    async def close(self) -> None:
        await self.inner.close()

    async def check(self) -> None:
        # A health probe every few seconds: measured, but no trace of its own each time.
        await self._metrics.timed("check", self.inner.check(), traced=False)

    async def lookup_party(self, party: PartyId) -> Party:
        return await self._metrics.timed("lookup_party", self.inner.lookup_party(party))

    async def participant_fsp(self, party: PartyId) -> str | None:
        return await self._metrics.timed("participant_fsp", self.inner.participant_fsp(party))

    async def quote(self, request: QuoteRequest) -> QuoteTerms:
        return await self._metrics.timed("quote", self.inner.quote(request))

    async def prepare_transfer(self, transfer: IncomingTransfer) -> None:
        await self._metrics.timed("prepare_transfer", self.inner.prepare_transfer(transfer))

    async def commit_transfer(self, transfer_id: str) -> None:
        await self._metrics.timed("commit_transfer", self.inner.commit_transfer(transfer_id))

    async def abort_transfer(self, transfer_id: str, reason: str) -> None:
        await self._metrics.timed("abort_transfer", self.inner.abort_transfer(transfer_id, reason))

    async def reserve_funds(self, transfer: OutgoingTransfer) -> None:
        await self._metrics.timed("reserve_funds", self.inner.reserve_funds(transfer))

    async def commit_funds(self, transfer_id: str) -> None:
        await self._metrics.timed("commit_funds", self.inner.commit_funds(transfer_id))

    async def release_funds(self, transfer_id: str, reason: str) -> None:
        await self._metrics.timed("release_funds", self.inner.release_funds(transfer_id, reason))

    async def decide_transaction_request(
        self, request: TransactionRequest
    ) -> TransactionRequestDecision:
        return await self._metrics.timed(
            "decide_transaction_request", self.inner.decide_transaction_request(request)
        )

    async def check_one_time_password(self, transaction_request_id: str, value: str) -> bool:
        return await self._metrics.timed(
            "check_one_time_password",
            self.inner.check_one_time_password(transaction_request_id, value),
        )

    async def one_time_password(self, transaction_request_id: str) -> str:
        return await self._metrics.timed(
            "one_time_password", self.inner.one_time_password(transaction_request_id)
        )

    async def notify_transaction_request(
        self, transaction_request_id: str, state: TransactionRequestState
    ) -> None:
        await self._metrics.timed(
            "notify_transaction_request",
            self.inner.notify_transaction_request(transaction_request_id, state),
        )


class _MeteredNotifyingConnector(MeteredConnector):
    async def notify(self, notification: TransferNotification) -> None:
        await self._metrics.timed("notify", self.inner.notify(notification))


def metered(inner: Connector, metrics: Metrics, span: SpanCall | None = None) -> MeteredConnector:
    """``inner`` wrapped (each call also spanned by ``span`` when given). ``notify`` is
    overridden only when ``inner`` overrides it: the job queue skips notifications for
    connectors that do not take them (jobs.py)."""
    notifies = type(inner).notify is not Connector.notify
    cls = _MeteredNotifyingConnector if notifies else MeteredConnector
    return cls(inner, ConnectorMetrics(metrics, span))
