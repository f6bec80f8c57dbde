"""The Outbound API's ``POST /requestToPay`` (sdk-scheme-adapter Outbound API v2.1.0): a
customer of this DFSP (``from``) asks the party ``to`` to pay.
:class:`pm4ml.flows.rtp_payee.PayeeRequestsToPay` does the FSPIOP work.

With ``PM4ML_AUTO_ACCEPT_R2P_PARTY`` on (the reference's ``autoAcceptR2PParty``, the default)
the call returns once the payer DFSP has decided; off, it returns after the lookup with
``currentState: WAITING_FOR_PARTY_ACCEPTANCE`` and ``PUT /requestToPay/{transactionRequestId}``
``{"acceptParty": true|false}`` continues (or ends) it, answering in the same shape.
200 ``requestToPayResponse`` with ``currentState: COMPLETED`` and the decision in
``transactionRequestResponse`` (``REJECTED`` is a completed request too);
400 ``errorResponse`` for a request refused before anything was sent; 504 when a peer did not
answer in time, else 500, with ``requestToPayState`` carrying how far it got.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from pydantic import Field
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from pm4ml.connectors import PartyId
from pm4ml.flows.asking import response_headers
from pm4ml.flows.rtp_payee import PayeeRequestsToPay, RequestToPay, RequestToPayResult
from pm4ml.fspiop.errors import ErrorCode, FspiopError
from pm4ml.outbound.http import json_response, read_json, trace_headers
from pm4ml.outbound.models import AcceptParty, Amount, Currency, TransferParty, _Model, validate
from pm4ml.outbound.responses import (
    COMPLETED,
    ERROR_OCCURRED,
    WAITING_FOR_PARTY_ACCEPTANCE,
    error_body,
)

Scenario = Literal["DEPOSIT", "WITHDRAWAL", "TRANSFER", "PAYMENT", "REFUND"]


class RefundInfo(_Model):
    """FSPIOP ``Refund``: which transaction a ``REFUND`` gives money back for."""

    originalTransactionId: Annotated[
        str,
        Field(pattern=r"^[0-9a-f]{8}-[0-9a-f]{4}-[1-7][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$"),
    ]
    refundReason: Annotated[str, Field(min_length=1, max_length=128)] | None = None


def refund_only_for_refunds(scenario: str, refund: RefundInfo | None) -> None:
    """``refundInfo`` belongs to the ``REFUND`` scenario only (3100 otherwise)."""
    if refund is not None and scenario != "REFUND":
        raise FspiopError(ErrorCode.VALIDATION_ERROR, "refundInfo: only for a REFUND")


class RequestToPayRequest(_Model):
    """``requestToPayRequest``, plus ``refundInfo`` (a pm4ml extension: the Outbound API
    v2.1.0 has no way to name the transaction a ``REFUND`` is for)."""

    homeR2PTransactionId: Annotated[str, Field(min_length=1, max_length=128)]
    from_: TransferParty = Field(alias="from")
    to: TransferParty
    amountType: Literal["SEND", "RECEIVE"]
    currency: Currency
    amount: Amount
    transactionType: Scenario
    subScenario: Annotated[str, Field(pattern=r"^[A-Z_]{1,32}$")] | None = None
    authenticationType: Literal["OTP", "QRCODE", "U2F"] | None = None
    refundInfo: RefundInfo | None = None


def request_to_pay(checked: RequestToPayRequest, transaction_request_id: str) -> RequestToPay:
    """The flow's input: our customer (``from``) is the payee, ``to`` the payer."""
    payee, payer = checked.from_, checked.to
    return RequestToPay(
        transaction_request_id=transaction_request_id,
        payee=PartyId(payee.idType, payee.idValue, payee.idSubValue),
        payer=PartyId(payer.idType, payer.idValue, payer.idSubValue),
        amount=checked.amount,
        currency=checked.currency,
        scenario=checked.transactionType,
        initiator_type=payee.type or "CONSUMER",
        sub_scenario=checked.subScenario,
        payee_name=payee.displayName,
        payer_fsp=payer.fspId,
        authentication_type=checked.authenticationType,
        amount_type=checked.amountType,
        home_transaction_id=checked.homeR2PTransactionId,
        api_request=checked.model_dump(mode="json", by_alias=True, exclude_none=True),
        refund=checked.refundInfo.model_dump(exclude_none=True) if checked.refundInfo else None,
    )


def _status(error: FspiopError) -> int:
    return 504 if error.code is ErrorCode.SERVER_TIMED_OUT else 500


def state_body(transaction_request_id: str, result: RequestToPayResult) -> dict[str, Any]:
    """``requestToPayResponse``: the request as sent, with what each step answered."""
    request_json = dict(result.api_request)
    request_json.pop("homeR2PTransactionId", None)
    request_json.pop("authenticationType", None)
    if result.payer_fsp:
        request_json["to"] = {**request_json.get("to", {}), "fspId": result.payer_fsp}
    body: dict[str, Any] = {"transactionRequestId": transaction_request_id, **request_json}
    if result.error is not None:
        body["currentState"] = ERROR_OCCURRED
    elif result.waiting:
        body["currentState"] = WAITING_FOR_PARTY_ACCEPTANCE
    else:
        body["currentState"] = COMPLETED
    if result.party is not None:
        party = result.party.body.get("party") or {}
        body["getPartiesResponse"] = {"body": party, "headers": response_headers(result.party)}
    if result.answer is not None:
        body["transactionRequestResponse"] = {
            "body": result.answer.body,
            "headers": response_headers(result.answer),
        }
    if result.error is not None:
        body["lastError"] = {
            "httpStatusCode": _status(result.error),
            "mojaloopError": result.error.to_body(),
        }
    return body


class RequestToPayApi:
    def __init__(self, flow: PayeeRequestsToPay) -> None:
        self.flow = flow

    async def post_request_to_pay(self, request: Request) -> Response:
        try:
            body = await read_json(request)
            checked = validate(RequestToPayRequest, body)
        except FspiopError as error:
            return json_response(error_body(error), 400 if error.http_status < 500 else 500)
        assert isinstance(checked, RequestToPayRequest)
        try:
            refund_only_for_refunds(checked.transactionType, checked.refundInfo)
        except FspiopError as error:
            return json_response(error_body(error), 400)
        transaction_request_id = str(uuid.uuid4())
        result = await self.flow.send(
            request_to_pay(checked, transaction_request_id), trace_headers(request)
        )
        return self._answer(transaction_request_id, result)

    async def put_request_to_pay(self, request: Request) -> Response:
        transaction_request_id = request.path_params["transactionRequestId"]
        try:
            accepted = validate(AcceptParty, await read_json(request))
            value = bool(getattr(accepted, "acceptParty"))  # noqa: B009
            result = await self.flow.accept_party(transaction_request_id, value)
        except FspiopError as error:
            return json_response(error_body(error), 400)
        if result is None:
            return json_response(error_body(FspiopError(ErrorCode.TXN_REQUEST_ID_NOT_FOUND)), 404)
        return self._answer(transaction_request_id, result)

    @staticmethod
    def _answer(transaction_request_id: str, result: RequestToPayResult) -> Response:
        state = state_body(transaction_request_id, result)
        if result.error is None:
            return json_response(state)
        status = 400 if result.refused else _status(result.error)
        return json_response({**error_body(result.error), "requestToPayState": state}, status)


def routes(flow: PayeeRequestsToPay) -> list[Route]:
    """The routes to mount in the outbound app."""
    api = RequestToPayApi(flow)
    return [
        Route("/requestToPay", api.post_request_to_pay, methods=["POST"]),
        Route("/requestToPay/{transactionRequestId}", api.put_request_to_pay, methods=["PUT"]),
    ]
