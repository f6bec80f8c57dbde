"""Payer side of a request to pay: a payee DFSP asks one of our customers to pay
(``POST /transactionRequests``).

The CBS decides (:meth:`pm4ml.connectors.Connector.decide_transaction_request`) and the payee
DFSP gets the decision as ``PUT /transactionRequests/{ID}`` (``RECEIVED``, ``PENDING``,
``ACCEPTED`` or ``REJECTED``), or ``PUT /transactionRequests/{ID}/error`` when the CBS could not
decide (no such customer: 3204; CBS down: 2003). A request that has already expired is refused
with 3301 without asking the CBS. Nothing moves money here: an accepted request is paid by a
normal transfer from this DFSP, which carries the ``transactionRequestId``. So, like lookups
and quotes sent on the DFSP's behalf, the message log (correlation id: the
``transactionRequestId``) is the record of each request and its answer. A repeated request is
decided again; the connector contract makes the decision idempotent on the id.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

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
from pm4ml.fspiop.errors import ErrorCode, FspiopError
from pm4ml.store.schema import Job

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


class PayerTransactionRequests:
    """Answers ``POST /transactionRequests`` with the CBS's decision."""

    def __init__(self, ctx: FlowContext) -> None:
        self.ctx = ctx

    async def on_post_transaction_request(self, msg: Inbound) -> Continuation:
        ctx = self.ctx
        request_id = str(msg.json["transactionRequestId"])
        async with ctx.store.transaction() as session:
            ctx.log_inbound(session, msg, correlation_id=request_id)
        return lambda: self._decide(msg, request_id)

    async def _decide(self, msg: Inbound, request_id: str) -> None:
        ctx = self.ctx
        path = f"/transactionRequests/{request_id}"
        job: Job
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
            async with ctx.store.transaction() as session:
                job = ctx.error_callback(session, msg.reply_to, path, error)
        else:
            async with ctx.store.transaction() as session:
                job = ctx.callback(session, msg.reply_to, path, body)
        await ctx.jobs.run_now(job)
