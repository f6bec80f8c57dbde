"""Payee side of a request to pay: a customer of this DFSP (merchant, agent, ATM or person)
asks a customer of another DFSP to pay (``POST /transactionRequests``).

Two steps, as in the Outbound API's ``POST /requestToPay``: a party lookup finds the payer's
DFSP (skipped when the caller names it), then the transaction request goes there and the flow
waits, bounded, for the payer DFSP's decision (``PUT /transactionRequests/{ID}``). Nothing
moves money: an accepted request is paid by a transfer the payer DFSP sends, which the payee
flows receive like any other. Each request is stored (``transaction_requests``, role
``payee``) before its lookup or its ``POST`` is sent, and the answer (or the error, or
``TIMEOUT`` when none came in time) is stored when it arrives; the message log keeps the
messages themselves under the ``transactionRequestId``.

The FSPIOP body follows FSPIOP's roles: ``payee`` is our customer (the request's ``from``),
``payer`` the looked-up one (``to``), who is asked to pay.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from pm4ml.connectors import PartyId, TransactionRequestState
from pm4ml.flows import mapping
from pm4ml.flows.asking import Answer, Ask, ask
from pm4ml.flows.context import FlowContext
from pm4ml.flows.jobs import queue_request_outcome
from pm4ml.flows.payer_requests import PayerRequests
from pm4ml.flows.rtp_records import (
    RequestRole,
    RequestState,
    new_row,
    record_decision,
    record_error,
)
from pm4ml.fspiop import models as fspiop
from pm4ml.fspiop.errors import ErrorCode, FspiopError
from pm4ml.store.schema import Job, TransactionRequestRow
from pm4ml.transport.bus import BusMessage
from pm4ml.transport.client import Sent


@dataclass(frozen=True)
class RequestToPay:
    """What the DFSP's backend asks for, already checked: ``payee`` is our customer, ``payer``
    the customer asked to pay, at ``payer_fsp`` when known (else it is looked up)."""

    transaction_request_id: str
    payee: PartyId
    payer: PartyId
    amount: str
    currency: str
    scenario: str
    initiator_type: str = "CONSUMER"
    sub_scenario: str | None = None
    payee_name: str | None = None
    payer_fsp: str | None = None
    authentication_type: str | None = None
    amount_type: str | None = None
    home_transaction_id: str | None = None
    #: The caller's request as it came (Outbound API), kept so a continuation answers in the
    #: same shape as the first call.
    api_request: Mapping[str, Any] | None = None
    #: FSPIOP ``refundInfo`` of a ``REFUND``: ``originalTransactionId``, ``refundReason``.
    refund: Mapping[str, str] | None = None


@dataclass
class RequestToPayResult:
    """How far a request to pay got: the lookup answer (when one was made), the payer DFSP's
    answer, and the error that ended it early, if any. ``refused``: the error is the
    caller's, found before the transaction request was sent."""

    payer_fsp: str | None = None
    refused: bool = False
    party: BusMessage | None = None
    answer: BusMessage | None = None
    error: FspiopError | None = None
    #: Stopped after the lookup until the caller accepts the party (``PUT /requestToPay``).
    waiting: bool = False
    api_request: Mapping[str, Any] = field(default_factory=dict)


class PayeeRequestsToPay:
    """Sends requests to pay on behalf of this DFSP's customers."""

    def __init__(self, lookups: PayerRequests, *, auto_accept_party: bool = True) -> None:
        # The party lookup, the FSPIOP client, the bus and the version are the outbound
        # requests' own: one set of them per DFSP.
        self.lookups = lookups
        self.auto_accept_party = auto_accept_party
        self.ctx = lookups.ctx
        self.client = lookups.client
        self.bus = lookups.bus
        self.version = lookups.version

    async def send(self, request: RequestToPay, trace: Mapping[str, str]) -> RequestToPayResult:
        """Look the payer up (unless its DFSP is given), then, once the party is accepted,
        send the transaction request and wait for the decision. Never raises for a peer's
        failure: it is in ``error``."""
        result = RequestToPayResult(
            payer_fsp=request.payer_fsp, api_request=dict(request.api_request or {})
        )
        request_id = request.transaction_request_id
        try:
            body = self.transaction_request_body(request, request.payer_fsp)
        except FspiopError as refused:
            result.error, result.refused = refused, True
            return result
        first = RequestState.REQUEST_SENT if request.payer_fsp else RequestState.PARTY_LOOKUP_SENT
        row = new_row(
            body,
            RequestRole.PAYEE,
            first,
            peer_fsp=request.payer_fsp,
            home_transaction_id=request.home_transaction_id,
            amount_type=request.amount_type,
        )
        row.data = {**row.data, "api_request": result.api_request, "trace": dict(trace)}
        async with self.ctx.store.transaction() as session:
            session.add(row)
        if result.payer_fsp is None:
            if not await self._lookup(request, body, result, trace):
                return result
            if not self.auto_accept_party:
                async with self.ctx.store.transaction() as session:
                    row = await self._row(session, request_id)
                    row.state = RequestState.WAITING_FOR_PARTY_ACCEPTANCE
                result.waiting = True
                return result
            async with self.ctx.store.transaction() as session:
                (await self._row(session, request_id)).state = RequestState.REQUEST_SENT
        return await self._request(request_id, body, result, trace)

    async def accept_party(self, request_id: str, accepted: bool) -> RequestToPayResult | None:
        """The caller's answer to ``WAITING_FOR_PARTY_ACCEPTANCE`` (``PUT /requestToPay``):
        send the transaction request, or end the request. ``None``: no such request."""
        async with self.ctx.store.transaction() as session:
            row = await self.ctx.store.transaction_request(
                session, request_id, RequestRole.PAYEE, lock=True
            )
            if row is None:
                return None
            if row.state != RequestState.WAITING_FOR_PARTY_ACCEPTANCE:
                raise FspiopError(
                    ErrorCode.CLIENT_ERROR, "the request is not waiting for party acceptance"
                )
            data = row.data or {}
            party = data.get("party") or {}
            result = RequestToPayResult(
                payer_fsp=row.peer_fsp,
                party=BusMessage("put", party.get("body") or {}, party.get("headers") or {}),
                api_request=data.get("api_request") or {},
            )
            if accepted:
                row.state = RequestState.REQUEST_SENT
            else:
                result.error = FspiopError(ErrorCode.PAYEE_REJECTION, "party not accepted")
                record_error(row, result.error)
                return result
        trace = data.get("trace") or {}
        return await self._request(request_id, dict(data["request"]), result, trace)

    async def _lookup(
        self,
        request: RequestToPay,
        body: dict[str, Any],
        result: RequestToPayResult,
        trace: Mapping[str, str],
    ) -> bool:
        """Find the payer's DFSP and store it; ``False`` when the request ended here."""
        request_id = request.transaction_request_id
        found = await self.lookups.lookup_party(request.payer, trace)
        if isinstance(found, FspiopError):
            await self._ended(request_id, result, found)
            return False
        result.party = found
        fsp = ((found.body.get("party") or {}).get("partyIdInfo") or {}).get("fspId")
        if not fsp:
            no_fsp = FspiopError(ErrorCode.PAYER_FSP_ID_NOT_FOUND, "the party lookup named no DFSP")
            await self._ended(request_id, result, no_fsp)
            return False
        result.payer_fsp = str(fsp)
        body["payer"]["fspId"] = result.payer_fsp
        party = {"body": found.body, "headers": found.headers}
        async with self.ctx.store.transaction() as session:
            row = await self._row(session, request_id)
            row.peer_fsp = result.payer_fsp
            row.data = {**(row.data or {}), "request": body, "party": party}
        return True

    async def _request(
        self,
        request_id: str,
        body: dict[str, Any],
        result: RequestToPayResult,
        trace: Mapping[str, str],
    ) -> RequestToPayResult:
        """Send the stored ``POST /transactionRequests`` and store the answer."""
        assert result.payer_fsp is not None
        answer = await self._ask(
            Ask(
                "POST",
                "/transactionRequests",
                body,
                result.payer_fsp,
                f"transactionRequests/{request_id}",
            ),
            trace,
            request_id,
        )
        if isinstance(answer, FspiopError):
            return await self._ended(request_id, result, answer)
        result.answer = answer
        async with self.ctx.store.transaction() as session:
            jobs = decided(session, await self._row(session, request_id), answer.body)
        await self.ctx.jobs.run_now(*jobs)
        return result

    async def _row(self, session: AsyncSession, request_id: str) -> TransactionRequestRow:
        row = await self.ctx.store.transaction_request(
            session, request_id, RequestRole.PAYEE, lock=True
        )
        assert row is not None, request_id
        return row

    async def _ended(
        self, request_id: str, result: RequestToPayResult, error: FspiopError
    ) -> RequestToPayResult:
        """Store the error that ended the request; ``TIMEOUT`` when a peer did not answer."""
        result.error = error
        async with self.ctx.store.transaction() as session:
            timeout = error.code is ErrorCode.SERVER_TIMED_OUT
            record_error(await self._row(session, request_id), error, timeout=timeout)
        return result

    def transaction_request_body(
        self, request: RequestToPay, payer_fsp: str | None
    ) -> dict[str, Any]:
        """The ``POST /transactionRequests`` body, checked against the FSPIOP model (3100 when
        the caller's values do not fit it)."""
        payee: dict[str, Any] = {"partyIdInfo": mapping.party_id_info(request.payee, None)}
        payee["partyIdInfo"]["fspId"] = self.ctx.dfsp_id
        if request.payee_name:
            payee["name"] = request.payee_name
        transaction_type: dict[str, Any] = {
            "scenario": request.scenario,
            "initiator": "PAYEE",
            "initiatorType": request.initiator_type,
        }
        if request.sub_scenario:
            transaction_type["subScenario"] = request.sub_scenario
        if request.refund:
            transaction_type["refundInfo"] = dict(request.refund)
        expiration = self.ctx.clock() + timedelta(seconds=self.ctx.expiry_seconds)
        body: dict[str, Any] = {
            "transactionRequestId": request.transaction_request_id,
            "payee": payee,
            "payer": mapping.party_id_info(request.payer, payer_fsp),
            "amount": {"amount": request.amount, "currency": request.currency},
            "transactionType": transaction_type,
            "expiration": mapping.fspiop_datetime(expiration),
        }
        if request.authentication_type:
            body["authenticationType"] = request.authentication_type
        try:
            fspiop.TransactionRequestsPostRequest.model_validate(body)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(part) for part in first["loc"])
            message = f"{where}: {first['msg']}"[:128]
            raise FspiopError(ErrorCode.VALIDATION_ERROR, message) from None
        return body

    async def _ask(self, request: Ask, trace: Mapping[str, str], correlation_id: str) -> Answer:
        async def record(sent: Sent) -> None:
            await self.ctx.log_sent(sent, correlation_id=correlation_id)

        return await ask(
            self.client,
            self.bus,
            request,
            version=self.version,
            wait_seconds=self.ctx.callback_wait_seconds,
            trace=trace,
            record=record,
            observe_wait=self.ctx.observe_callback_wait,
        )


async def record_late_answer(ctx: FlowContext, request_id: str, source: str, body: Any) -> None:
    """Store the payer DFSP's ``PUT /transactionRequests/{ID}`` on our request even when no
    flow waits for it any more (it gave up: ``TIMEOUT``, or its process died), so the record
    says what the payer DFSP decided."""
    jobs: list[Job] = []
    async with ctx.store.transaction() as session:
        row = await ctx.store.transaction_request(session, request_id, RequestRole.PAYEE, lock=True)
        if row is None or row.peer_fsp != source or not isinstance(body, dict):
            return
        if row.state in (RequestState.REQUEST_SENT, RequestState.TIMEOUT):
            jobs = decided(session, row, body)
            row.last_error_code = row.last_error_description = None
    await ctx.jobs.run_now(*jobs)


def decided(
    session: AsyncSession, row: TransactionRequestRow, answer: Mapping[str, Any]
) -> list[Job]:
    """Store the payer DFSP's decision on our request; a refusal ends it, and the CBS is told
    (``Connector.notify_transaction_request``). Acceptance is told when the payment arrives."""
    record_decision(row, answer)
    if row.state != RequestState.REJECTED:
        return []
    rejected = TransactionRequestState.REJECTED
    return [queue_request_outcome(session, row.transaction_request_id, rejected)]
