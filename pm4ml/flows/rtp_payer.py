"""Payer side of a request to pay: a payee DFSP asks one of our customers to pay
(``POST /transactionRequests``).

The CBS decides (:meth:`pm4ml.connectors.Connector.decide_transaction_request`) and the payee
DFSP gets the decision as ``PUT /transactionRequests/{ID}`` (``RECEIVED``, ``PENDING``,
``ACCEPTED`` or ``REJECTED``), or ``PUT /transactionRequests/{ID}/error`` when the CBS could not
decide (no such customer: 3204; CBS down: 2003). A request that has already expired is refused
with 3301 without asking the CBS. Nothing moves money here: an accepted request is paid by a
normal transfer from this DFSP, which carries the ``transactionRequestId``.

Each request is stored (``transaction_requests``, role ``payer``) as ``DECIDING`` before the CBS
is asked, and its decision or error is stored in the same transaction as the callback that
carries it. A repeated request from the same DFSP gets the stored answer again (one still
being decided is decided again: only the first decision stored is sent); the same id from
another DFSP is refused (3106).
``GET /transactionRequests/{ID}`` answers from the stored record (3206 when there is none for
the asking DFSP).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from pm4ml.connectors import (
    ConnectorError,
    Role,
    TransactionRequest,
    TransactionRequestDecision,
    to_fspiop_error,
)
from pm4ml.flows import mapping
from pm4ml.flows.context import Continuation, FlowContext
from pm4ml.flows.messages import Inbound
from pm4ml.flows.rtp_records import (
    DECISIONS,
    RequestRole,
    RequestState,
    new_row,
    record_decision,
    record_error,
)
from pm4ml.fspiop.errors import ErrorCode, FspiopError
from pm4ml.store.schema import Job, TransactionRequestRow

log = logging.getLogger(__name__)


def transaction_request_from(body: Mapping[str, Any], source: str) -> TransactionRequest:
    """A checked ``TransactionRequestsPostRequest`` as the connector's value type. The payee's
    DFSP is the one that sent it (``FSPIOP-Source``), whatever ``fspId`` the body names."""
    payee = body["payee"]
    expiration = body.get("expiration")
    return TransactionRequest(
        transaction_request_id=str(body["transactionRequestId"]),
        payee=mapping.party_id_from(payee["partyIdInfo"]),
        payee_fsp=source,
        payer=mapping.party_id_from(body["payer"]),
        amount=mapping.money_from(body["amount"]),
        transaction_type=mapping.transaction_type_from(body["transactionType"]),
        payee_name=payee.get("name"),
        note=body.get("note"),
        authentication_type=body.get("authenticationType"),
        expiration=mapping.parse_datetime(expiration) if expiration else None,
    )


def decision_body(decision: TransactionRequestDecision) -> dict[str, Any]:
    """The ``PUT /transactionRequests/{ID}`` body for ``decision``."""
    body: dict[str, Any] = {"transactionRequestState": str(decision.state)}
    if decision.transaction_id:
        body["transactionId"] = decision.transaction_id
    return body


def stored_answer(row: TransactionRequestRow) -> dict[str, Any] | FspiopError | None:
    """What the payee DFSP is told about ``row`` now: its decision, its error, or ``RECEIVED``
    while the CBS is still deciding (``None`` for a repeated ``POST``: its answer is coming)."""
    if row.state in DECISIONS:
        decision = (row.data or {}).get("decision")
        return dict(decision) if decision else {"transactionRequestState": row.state}
    if row.state == RequestState.DECIDING:
        return None
    code = ErrorCode.from_code(row.last_error_code) if row.last_error_code else None
    return FspiopError(code or ErrorCode.SERVER_ERROR, row.last_error_description or "")


class PayerTransactionRequests:
    """Answers ``POST /transactionRequests`` with the CBS's decision."""

    def __init__(self, ctx: FlowContext) -> None:
        self.ctx = ctx

    async def on_post_transaction_request(self, msg: Inbound) -> Continuation:
        ctx = self.ctx
        request_id = str(msg.json["transactionRequestId"])
        path = f"/transactionRequests/{request_id}"
        async with ctx.store.transaction() as session:
            ctx.log_inbound(session, msg, correlation_id=request_id)
            row = await ctx.store.transaction_request(
                session, request_id, RequestRole.PAYER, lock=True
            )
            if row is None:
                session.add(
                    new_row(msg.json, RequestRole.PAYER, RequestState.DECIDING, peer_fsp=msg.source)
                )
            elif row.peer_fsp != msg.source:
                error = FspiopError(
                    ErrorCode.MODIFIED_REQUEST, "this transactionRequestId is another DFSP's"
                )
                job = ctx.error_callback(session, msg.reply_to, path, error)
                return lambda: ctx.jobs.run_now(job)
            else:
                answer = stored_answer(row)
                if answer is not None:
                    job = self._answer(session, msg, path, answer)
                    return lambda: ctx.jobs.run_now(job)
                # Still DECIDING: the first decision may have died with its process, so decide
                # again (the connector's decision is idempotent on the id); whichever decision
                # is stored first is the one answered, once.
        return lambda: self._decide(msg, request_id)

    async def on_get_transaction_request(self, msg: Inbound) -> Continuation:
        ctx = self.ctx
        request_id = msg.params["ID"]
        path = f"/transactionRequests/{request_id}"
        async with ctx.store.transaction() as session:
            ctx.log_inbound(session, msg, correlation_id=request_id)
            row = await ctx.store.transaction_request(session, request_id, RequestRole.PAYER)
            answer: dict[str, Any] | FspiopError | None
            if row is None or row.peer_fsp != msg.source:
                # Another DFSP's request is as unknown to the asker as a missing one.
                answer = FspiopError(ErrorCode.TXN_REQUEST_ID_NOT_FOUND)
            else:
                answer = stored_answer(row)
                if answer is None:
                    answer = {"transactionRequestState": str(RequestState.RECEIVED)}
            job = self._answer(session, msg, path, answer)
        return lambda: ctx.jobs.run_now(job)

    def _answer(
        self, session: AsyncSession, msg: Inbound, path: str, answer: dict[str, Any] | FspiopError
    ) -> Job:
        if isinstance(answer, FspiopError):
            return self.ctx.error_callback(session, msg.reply_to, path, answer)
        return self.ctx.callback(session, msg.reply_to, path, answer)

    async def _decide(self, msg: Inbound, request_id: str) -> None:
        ctx = self.ctx
        path = f"/transactionRequests/{request_id}"
        body: dict[str, Any] | None = None
        error: FspiopError | None = None
        try:
            request = transaction_request_from(msg.json, msg.source)
            if request.expiration is not None and request.expiration <= ctx.clock():
                raise FspiopError(
                    ErrorCode.TXN_REQUEST_EXPIRED, "the transaction request has expired"
                )
            decision = await ctx.cbs(ctx.connector.decide_transaction_request(request))
            body = decision_body(decision)
        except Exception as exc:
            if not isinstance(exc, ConnectorError | FspiopError):
                log.exception("transaction request %s failed", request_id)
            error = to_fspiop_error(exc, Role.PAYER)
        job: Job
        async with ctx.store.transaction() as session:
            row = await ctx.store.transaction_request(
                session, request_id, RequestRole.PAYER, lock=True
            )
            assert row is not None, request_id
            if row.state != RequestState.DECIDING:
                return  # answered already
            if body is not None:
                record_decision(row, body)
                job = ctx.callback(session, msg.reply_to, path, body)
            else:
                assert error is not None
                record_error(row, error)
                job = ctx.error_callback(session, msg.reply_to, path, error)
        await ctx.jobs.run_now(job)
