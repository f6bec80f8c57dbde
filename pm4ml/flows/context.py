"""What every flow needs, built once by the composition root and passed in explicitly."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from pm4ml.connectors import Connector, Unavailable
from pm4ml.flows.asking import ObserveWait
from pm4ml.flows.jobs import Jobs, queue_send
from pm4ml.flows.message_log import inbound_fields, sent_fields
from pm4ml.flows.messages import Inbound, ReplyTo
from pm4ml.fspiop.errors import FspiopError
from pm4ml.fspiop.ilp import Ilp
from pm4ml.store.repo import Store
from pm4ml.store.schema import Job
from pm4ml.transport.client import Sent

T = TypeVar("T")

#: What an inbound handler returns: the work to do after the request is answered, if any.
Continuation = Callable[[], Coroutine[Any, Any, None]] | None


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class FlowContext:
    dfsp_id: str
    store: Store
    connector: Connector
    ilp: Ilp
    jobs: Jobs
    expiry_seconds: int = 60
    callback_wait_seconds: float = 30.0
    reserve_notification: bool = False
    connector_timeout_seconds: float = 10.0
    clock: Callable[[], datetime] = field(default=utc_now)
    #: Passed to every :func:`pm4ml.flows.asking.ask` (callback wait metrics).
    observe_callback_wait: ObserveWait | None = None

    async def cbs(self, call: Awaitable[T]) -> T:
        """Await a connector call, bounded: a CBS that does not answer in time is
        ``Unavailable`` (2003), and whatever it may have done is undone by the caller."""
        try:
            async with asyncio.timeout(self.connector_timeout_seconds):
                return await call
        except TimeoutError:
            raise Unavailable("the core banking system did not answer in time") from None

    def log_inbound(
        self,
        session: AsyncSession,
        msg: Inbound,
        *,
        transfer_id: str | None = None,
        correlation_id: str | None = None,
        error_code: str | None = None,
    ) -> None:
        """Log an inbound request in ``session``'s transaction, with the state it changes."""
        fields = inbound_fields(msg, transfer_id, correlation_id, error_code)
        self.store.log_message(session, **fields)

    async def log_inbound_alone(
        self, msg: Inbound, *, transfer_id: str | None = None, correlation_id: str | None = None
    ) -> None:
        """Log an inbound request that changes no state, in a transaction of its own."""
        await self.store.log_message_alone(**inbound_fields(msg, transfer_id, correlation_id))

    async def log_sent(
        self, sent: Sent, *, transfer_id: str | None = None, correlation_id: str | None = None
    ) -> None:
        """Write a request this DFSP sent to the message log, in its own transaction (the
        ``record`` hook of :func:`pm4ml.flows.asking.ask`)."""
        await self.store.log_message_alone(**sent_fields(sent, transfer_id, correlation_id))

    @staticmethod
    def callback(
        session: AsyncSession,
        to: ReplyTo,
        path: str,
        body: dict[str, Any],
        *,
        transfer_id: str | None = None,
    ) -> Job:
        """Queue a ``PUT`` callback to the sender of a request, in the API version it used."""
        return queue_send(
            session,
            "PUT",
            path,
            body,
            destination=to.fsp,
            version=to.version,
            transfer_id=transfer_id,
            headers=to.trace_headers,
        )

    @classmethod
    def error_callback(
        cls,
        session: AsyncSession,
        to: ReplyTo,
        path: str,
        error: FspiopError,
        *,
        transfer_id: str | None = None,
    ) -> Job:
        """Queue the ``PUT <path>/error`` callback carrying ``error``."""
        return cls.callback(session, to, path + "/error", error.to_body(), transfer_id=transfer_id)
