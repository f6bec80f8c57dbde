"""Payee side, before any money moves: answering party and participant lookups and quote
requests.

Quote states (the ``quotes`` table): ``RECEIVED`` (stored, CBS being asked) -> ``ISSUED`` (terms,
ILP packet and condition stored, ``PUT /quotes`` queued) or ``REFUSED`` (error queued).
A repeated ``POST /quotes`` with the same body replays the stored outcome; with a different
body it is refused with 3106.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from pm4ml.connectors import ConnectorError, PartyId, Role, to_fspiop_error
from pm4ml.flows import mapping
from pm4ml.flows.context import Continuation, FlowContext
from pm4ml.flows.messages import Inbound
from pm4ml.fspiop.errors import ErrorCode, FspiopError
from pm4ml.store.schema import Job, Quote, utcnow

log = logging.getLogger(__name__)

RECEIVED, ISSUED, REFUSED = "RECEIVED", "ISSUED", "REFUSED"


class PayeeQuotes:
    def __init__(self, ctx: FlowContext) -> None:
        self.ctx = ctx

    # --- GET /parties/{Type}/{ID}[/{SubId}] -----------------------------------------------

    async def on_get_party(self, msg: Inbound) -> Continuation:
        return lambda: self._answer_lookup(msg, self._party)

    async def _party(self, msg: Inbound, requested: PartyId) -> dict[str, Any]:
        party = await self.ctx.cbs(self.ctx.connector.lookup_party(requested))
        return mapping.party_body(party, requested, self.ctx.dfsp_id, str(msg.version))

    # --- GET /participants/{Type}/{ID}[/{SubId}] -----------------------------------------

    async def on_get_participant(self, msg: Inbound) -> Continuation:
        return lambda: self._answer_lookup(msg, self._participant)

    async def _participant(self, msg: Inbound, requested: PartyId) -> dict[str, Any]:
        """The FSP the connector names; ``None`` from it means this DFSP."""
        fsp = await self.ctx.cbs(self.ctx.connector.participant_fsp(requested))
        return {"fspId": fsp or self.ctx.dfsp_id}

    async def _answer_lookup(
        self,
        msg: Inbound,
        answer: Callable[[Inbound, PartyId], Awaitable[dict[str, Any]]],
    ) -> None:
        """``PUT <path>`` with what ``answer`` finds for the requested party, or the
        ``<path>/error`` callback. Sent directly, not through the outbox: a lookup changes no
        state here, so nothing promises its answer, and an asker that does not get it asks
        again."""
        ctx = self.ctx
        requested = PartyId(msg.params["Type"], msg.params["ID"], msg.params.get("SubId"))
        path = msg.path
        try:
            body = await answer(msg, requested)
        except (ConnectorError, FspiopError) as exc:
            body = to_fspiop_error(exc, Role.PAYEE).to_body()
            path += "/error"
        await ctx.log_inbound_alone(msg, correlation_id=str(requested))
        to = msg.reply_to
        await ctx.jobs.send_now(
            "PUT", path, body, destination=to.fsp, version=to.version, headers=to.trace_headers
        )

    # --- POST /quotes -----------------------------------------------------------------------

    async def on_post_quote(self, msg: Inbound) -> Continuation:
        ctx = self.ctx
        quote_id = str(msg.json["quoteId"])
        path = f"/quotes/{quote_id}"
        async with ctx.store.transaction() as session:
            ctx.log_inbound(session, msg, correlation_id=quote_id)
            quote = await ctx.store.quote(session, quote_id, lock=True)
            if quote is None:
                session.add(
                    Quote(
                        quote_id=quote_id,
                        transaction_id=str(msg.json["transactionId"]),
                        state=RECEIVED,
                        request_hash=msg.body_hash,
                        peer_fsp=msg.source,
                        api_version=str(msg.version),
                        request=msg.json,
                        created_at=utcnow(),
                    )
                )
                return lambda: self._issue(msg)
            replay = self._replay(session, msg, quote, path)
        if replay is not None:
            return lambda: ctx.jobs.run_now(replay)
        return None

    def _replay(self, session: AsyncSession, msg: Inbound, quote: Quote, path: str) -> Job | None:
        """A ``POST /quotes`` for a quote id we have seen: same body -> the same outcome
        again; a different body -> 3106; still being processed -> nothing, the first
        request's callback is on its way."""
        ctx = self.ctx
        if quote.request_hash != msg.body_hash:
            error = FspiopError(ErrorCode.MODIFIED_REQUEST, f"quote {quote.quote_id} was modified")
            return ctx.error_callback(session, msg.reply_to, path, error)
        if quote.state == ISSUED and quote.response is not None:
            return ctx.callback(session, msg.reply_to, path, quote.response)
        if quote.state == REFUSED:
            code = ErrorCode.from_code(quote.error_code or "5000")
            return ctx.error_callback(session, msg.reply_to, path, FspiopError(code))
        return None

    async def _issue(self, msg: Inbound) -> None:
        ctx = self.ctx
        quote_id = str(msg.json["quoteId"])
        path = f"/quotes/{quote_id}"
        try:
            response = await self._terms(msg)
            state, error = ISSUED, None
        except Exception as exc:
            if not isinstance(exc, ConnectorError | FspiopError):
                log.exception("quote %s failed", quote_id)
            state, error, response = REFUSED, to_fspiop_error(exc, Role.PAYEE), None
        values: dict[str, Any] = {"state": state}
        if response is not None:
            values.update(
                response=response,
                ilp_packet=response["ilpPacket"],
                condition=response["condition"],
                expiration=mapping.parse_datetime(response["expiration"]),
            )
        else:
            assert error is not None
            values["error_code"] = error.code_text
        async with ctx.store.transaction() as session:
            # Only this task moves a quote out of RECEIVED, so it is not read back first.
            moved = await ctx.store.move_quote(session, quote_id, RECEIVED, **values)
            assert moved, quote_id
            if response is not None:
                job = ctx.callback(session, msg.reply_to, path, response)
            else:
                assert error is not None
                job = ctx.error_callback(session, msg.reply_to, path, error)
        await ctx.jobs.run_now(job)

    async def _terms(self, msg: Inbound) -> dict[str, Any]:
        """Ask the CBS for the terms and seal them with the ILP packet and condition."""
        ctx = self.ctx
        now = ctx.clock()
        request = mapping.quote_request_from(msg.json)
        if request.expiration is not None and request.expiration <= now:
            raise FspiopError(ErrorCode.QUOTE_EXPIRED, "the quote request has expired")
        terms = await ctx.cbs(ctx.connector.quote(request))
        if terms.transfer_amount.currency != request.amount.currency:
            raise FspiopError(
                ErrorCode.PAYEE_UNSUPPORTED_CURRENCY, "the CBS quoted in another currency"
            )
        expiration = now + timedelta(seconds=ctx.expiry_seconds)
        for limit in (terms.expiration, request.expiration):
            if limit is not None and limit < expiration:
                expiration = limit
        response = mapping.quote_response_body(terms, expiration)
        ilp = ctx.ilp.quote_terms(msg.json, response)
        return {**response, "ilpPacket": ilp.packet, "condition": ilp.condition}

    # --- GET /quotes/{ID} ---------------------------------------------------------------------

    async def on_get_quote(self, msg: Inbound) -> Continuation:
        ctx = self.ctx
        quote_id = msg.params["ID"]
        path = f"/quotes/{quote_id}"
        async with ctx.store.transaction() as session:
            ctx.log_inbound(session, msg, correlation_id=quote_id)
            quote = await ctx.store.quote(session, quote_id)
            if quote is not None and quote.state == ISSUED and quote.response is not None:
                job = ctx.callback(session, msg.reply_to, path, quote.response)
            elif quote is not None and quote.state == RECEIVED:
                return None  # the answer is on its way
            else:
                code = ErrorCode.QUOTE_ID_NOT_FOUND
                if quote is not None and quote.error_code:
                    code = ErrorCode.from_code(quote.error_code)
                job = ctx.error_callback(session, msg.reply_to, path, FspiopError(code))
        return lambda: ctx.jobs.run_now(job)
