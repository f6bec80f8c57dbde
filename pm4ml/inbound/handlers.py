"""Inbound handlers: one per route-table entry, each a thin call into a flow.

Requests (``GET``/``POST``) go to the payee flows. Callbacks (``PUT``) answer requests this
DFSP sent as payer, so they go to the bus, where the waiting payer flow picks them up; a
``PUT /transfers/{ID}/error`` about a transfer we are being paid goes to the payee flow.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from pm4ml.flows.context import Continuation, FlowContext
from pm4ml.flows.messages import Inbound
from pm4ml.flows.payee_quotes import PayeeQuotes
from pm4ml.flows.payee_transfers import PayeeTransfers
from pm4ml.flows.payer_results import apply_transfer_answer
from pm4ml.flows.rtp_authorization import PayeeAuthorizations
from pm4ml.flows.rtp_payee import record_late_answer
from pm4ml.flows.rtp_payer import PayerTransactionRequests
from pm4ml.flows.states import Direction
from pm4ml.fspiop.errors import FspiopError
from pm4ml.store.schema import Job
from pm4ml.transport.bus import Bus, BusMessage

Handler = Callable[[Inbound], Awaitable[Continuation]]


def callback_key(msg: Inbound) -> str:
    """The bus key of a callback: its path without ``/error`` (``transfers/<id>``)."""
    path = msg.path.strip("/")
    return path.removesuffix("/error")


class Handlers:
    def __init__(self, ctx: FlowContext, bus: Bus) -> None:
        self.ctx = ctx
        self.bus = bus
        self.quotes = PayeeQuotes(ctx)
        self.transfers = PayeeTransfers(ctx)
        self.transaction_requests = PayerTransactionRequests(ctx)
        self.authorizations = PayeeAuthorizations(ctx)

    def get(self, name: str) -> Handler:
        handler: Handler = getattr(self, name)
        return handler

    # --- requests to us as payee ---------------------------------------------------------

    async def get_party(self, msg: Inbound) -> Continuation:
        return await self.quotes.on_get_party(msg)

    async def get_participant(self, msg: Inbound) -> Continuation:
        return await self.quotes.on_get_participant(msg)

    async def post_quote(self, msg: Inbound) -> Continuation:
        return await self.quotes.on_post_quote(msg)

    async def get_quote(self, msg: Inbound) -> Continuation:
        return await self.quotes.on_get_quote(msg)

    async def post_transfer(self, msg: Inbound) -> Continuation:
        return await self.transfers.on_post_transfer(msg)

    async def get_transfer(self, msg: Inbound) -> Continuation:
        return await self.transfers.on_get_transfer(msg)

    async def patch_transfer(self, msg: Inbound) -> Continuation:
        return await self.transfers.on_patch_transfer(msg)

    # --- requests to us as payer (request to pay) ----------------------------------------

    async def post_transaction_request(self, msg: Inbound) -> Continuation:
        return await self.transaction_requests.on_post_transaction_request(msg)

    async def get_transaction_request(self, msg: Inbound) -> Continuation:
        return await self.transaction_requests.on_get_transaction_request(msg)

    # --- OTP: the payer's DFSP asks us, as payee, for the password typed on our device ------

    async def get_authorization(self, msg: Inbound) -> Continuation:
        return await self.authorizations.on_get_authorization(msg)

    # --- callbacks for requests we sent as payer ----------------------------------------------

    async def put_party(self, msg: Inbound) -> Continuation:
        return await self._deliver(msg, "put")

    async def party_error(self, msg: Inbound) -> Continuation:
        return await self._deliver(msg, "error")

    async def put_participant(self, msg: Inbound) -> Continuation:
        return await self._deliver(msg, "put")

    async def participant_error(self, msg: Inbound) -> Continuation:
        return await self._deliver(msg, "error")

    async def put_quote(self, msg: Inbound) -> Continuation:
        return await self._deliver(msg, "put", correlation_id=msg.params["ID"])

    async def quote_error(self, msg: Inbound) -> Continuation:
        return await self._deliver(msg, "error", correlation_id=msg.params["ID"])

    async def put_transfer(self, msg: Inbound) -> Continuation:
        # The hub's answer to our GET about a transfer we are being paid (expiry sweep) is a
        # notification for the payee flow; any other PUT answers a payer flow. One
        # transaction reads the row and applies whichever it is.
        ctx = self.ctx
        transfer_id = msg.params["ID"]
        jobs: list[Job] = []
        async with ctx.store.transaction() as session:
            ctx.log_inbound(session, msg, transfer_id=transfer_id)
            row = await ctx.store.transfer(session, transfer_id, lock=True)
            payee = row is not None and self.transfers.waits_for_state(row)
            if row is not None and payee:
                jobs = self.transfers.apply_transfer_state(session, row, msg)
            elif row is not None:
                jobs = apply_transfer_answer(session, row, "put", msg.json)
        if payee:
            return lambda: ctx.jobs.run_now(*jobs)
        return await self._wake(msg, "put", jobs)

    async def transfer_error(self, msg: Inbound) -> Continuation:
        ctx = self.ctx
        transfer_id = msg.params["ID"]
        jobs: list[Job] = []
        async with ctx.store.transaction() as session:
            row = await ctx.store.transfer(session, transfer_id, lock=True)
            if row is not None and row.direction == Direction.INBOUND:
                ctx.log_inbound(session, msg, transfer_id=transfer_id)
                error = FspiopError.from_body(msg.json)
                jobs = self.transfers.on_transfer_error(session, row, error)
        if row is not None and row.direction == Direction.INBOUND:
            return lambda: ctx.jobs.run_now(*jobs)
        return await self._outbound_answer(msg, "error")

    # --- callbacks for requests to pay we sent as payee --------------------------------------

    async def put_transaction_request(self, msg: Inbound) -> Continuation:
        await record_late_answer(self.ctx, msg.params["ID"], msg.source, msg.json)
        return await self._deliver(msg, "put", correlation_id=msg.params["ID"])

    async def transaction_request_error(self, msg: Inbound) -> Continuation:
        return await self._deliver(msg, "error", correlation_id=msg.params["ID"])

    # --- OTP: answers to the authorizations we asked for as payer --------------------------

    async def put_authorization(self, msg: Inbound) -> Continuation:
        # As payee we only ever get the payer DFSP's REJECTED notice; anything else answers
        # our own GET as payer.
        if await self.authorizations.on_rejected_notice(msg):
            return None
        return await self._deliver(msg, "put", correlation_id=msg.params["ID"])

    async def authorization_error(self, msg: Inbound) -> Continuation:
        return await self._deliver(msg, "error", correlation_id=msg.params["ID"])

    async def _outbound_answer(self, msg: Inbound, kind: str) -> Continuation:
        """The hub's answer about a transfer we sent: applied to the store here, in the same
        transaction as its log line, then the waiting flow (if any, in any replica) is woken."""
        ctx = self.ctx
        transfer_id = msg.params["ID"]
        async with ctx.store.transaction() as session:
            ctx.log_inbound(session, msg, transfer_id=transfer_id)
            row = await ctx.store.transfer(session, transfer_id, lock=True)
            jobs = apply_transfer_answer(session, row, kind, msg.json) if row else []
        return await self._wake(msg, kind, jobs)

    async def _wake(self, msg: Inbound, kind: str, jobs: list[Job]) -> Continuation:
        """Publish an applied answer about a transfer we sent to the flow waiting for it (if
        any, in any replica); the continuation runs the jobs the answer queued."""
        ctx = self.ctx
        headers = {"fspiop-source": msg.source, "signature": msg.signature, **msg.trace_headers}
        await self.bus.publish(callback_key(msg), BusMessage(kind, msg.json, headers))
        return (lambda: ctx.jobs.run_now(*jobs)) if jobs else None

    async def _deliver(
        self,
        msg: Inbound,
        kind: str,
        *,
        transfer_id: str | None = None,
        correlation_id: str | None = None,
    ) -> Continuation:
        """Log the callback, then publish it to whichever flow waits for it. Logging first
        means a callback nobody waits for any more is still on record."""
        key = callback_key(msg)
        await self.ctx.log_inbound_alone(
            msg, transfer_id=transfer_id, correlation_id=correlation_id or key
        )
        headers = {"fspiop-source": msg.source, "signature": msg.signature, **msg.trace_headers}
        await self.bus.publish(key, BusMessage(kind, msg.json, headers))
        return None
