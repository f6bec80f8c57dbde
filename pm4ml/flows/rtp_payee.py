"""Payee side of a request to pay: a customer of this DFSP (merchant, agent, ATM or person)
asks a customer of another DFSP to pay (``POST /transactionRequests``).

Two steps, as in the Outbound API's ``POST /requestToPay``: a party lookup finds the payer's
DFSP (skipped when the caller names it), then the transaction request goes there and the flow
waits, bounded, for the payer DFSP's decision (``PUT /transactionRequests/{ID}``). Nothing
moves money: an accepted request is paid by a transfer the payer DFSP sends, which the payee
flows receive like any other. So, like the lookups and quotes of
:mod:`pm4ml.flows.payer_requests`, the message log (correlation id: the
``transactionRequestId``) is the record of each request and its answer.

The FSPIOP body follows FSPIOP's roles: ``payee`` is our customer (the request's ``from``),
``payer`` the looked-up one (``to``), who is asked to pay.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from pydantic import ValidationError

from pm4ml.connectors import PartyId
from pm4ml.flows import mapping
from pm4ml.flows.asking import Answer, Ask, ask
from pm4ml.flows.payer_requests import PayerRequests
from pm4ml.fspiop import models as fspiop
from pm4ml.fspiop.errors import ErrorCode, FspiopError
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


class PayeeRequestsToPay:
    """Sends requests to pay on behalf of this DFSP's customers."""

    def __init__(self, lookups: PayerRequests) -> None:
        # The party lookup, the FSPIOP client, the bus and the version are the outbound
        # requests' own: one set of them per DFSP.
        self.lookups = lookups
        self.ctx = lookups.ctx
        self.client = lookups.client
        self.bus = lookups.bus
        self.version = lookups.version

    async def send(self, request: RequestToPay, trace: Mapping[str, str]) -> RequestToPayResult:
        """Look the payer up (unless its DFSP is given), send the transaction request and wait
        for the decision. Never raises for a peer's failure: it is in ``error``."""
        result = RequestToPayResult(payer_fsp=request.payer_fsp)
        if result.payer_fsp is None:
            found = await self.lookups.lookup_party(request.payer, trace)
            if isinstance(found, FspiopError):
                result.error = found
                return result
            result.party = found
            fsp = ((found.body.get("party") or {}).get("partyIdInfo") or {}).get("fspId")
            if not fsp:
                result.error = FspiopError(
                    ErrorCode.PAYER_FSP_ID_NOT_FOUND, "the party lookup named no DFSP"
                )
                return result
            result.payer_fsp = str(fsp)
        try:
            body = self.transaction_request_body(request, result.payer_fsp)
        except FspiopError as error:
            result.error, result.refused = error, True
            return result
        answer = await self._ask(
            Ask(
                "POST",
                "/transactionRequests",
                body,
                result.payer_fsp,
                f"transactionRequests/{request.transaction_request_id}",
            ),
            trace,
            request.transaction_request_id,
        )
        if isinstance(answer, FspiopError):
            result.error = answer
        else:
            result.answer = answer
        return result

    def transaction_request_body(self, request: RequestToPay, payer_fsp: str) -> dict[str, Any]:
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
