"""The Outbound API's ``POST /requestToPayTransfer`` and ``PUT /requestToPayTransfer/{ID}``
(sdk-scheme-adapter Outbound API v2.1.0): this DFSP's customer (``from``) pays a request to pay
it received, whose ``transactionRequestId`` names it.

It is an ordinary payer transfer (:class:`pm4ml.flows.payer.PayerTransfers`), one stored row,
with two differences: its quote carries the ``transactionRequestId`` and the request's
``transactionType`` (scenario, initiator, initiator type), so the payee DFSP can match it to
its request; and the party lookup is skipped when ``to.fspId`` is given (the payee's DFSP is
the one that sent the request). The quote waits for ``PUT .../{transactionRequestId}``
``{"acceptQuote": ...}`` unless ``PM4ML_AUTO_ACCEPT_QUOTES`` is on, as for ``POST /transfers``.
One payment per request is a database guarantee (a unique index on the outbound transfers'
``transactionRequestId``): a second call is refused with 400 while the first goes on. A request
this DFSP received and stored is linked to the transfer that pays it, and is not paid when it
has expired (3301) or this DFSP rejected it (4101). A request with ``authenticationType``
``OTP`` (in this call or in the stored request) gets the OTP step after the quote
(:mod:`pm4ml.flows.rtp_authorization`), before anything is held; with
``PM4ML_AUTO_ACCEPT_OTP`` off the answer is ``WAITING_FOR_OTP_ACCEPTANCE`` with the
``authorizationResponse``, and ``PUT .../{transactionRequestId}`` ``{"acceptOTP": ...}``
continues it. Answers are ``transferResponse`` (with
``transactionRequestId`` and ``homeR2PTransactionId``) or ``errorTransferResponse``, 500, or
504 when a peer did not answer in time.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import Field
from sqlalchemy.exc import IntegrityError
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from pm4ml.flows.payer import PayerTransfers
from pm4ml.flows.rtp_authorization import WAITING_FOR_OTP_ACCEPTANCE, PayerAuthorization
from pm4ml.flows.rtp_records import REQUIRED, WAITING, RequestRole, RequestState, RtpOptions
from pm4ml.flows.states import TransferState as S
from pm4ml.fspiop.errors import ErrorCode, FspiopError
from pm4ml.outbound import responses
from pm4ml.outbound.http import json_response, read_json, trace_headers
from pm4ml.outbound.models import (
    AcceptQuote,
    Amount,
    Currency,
    TransferParty,
    _Model,
    validate,
)
from pm4ml.outbound.rtp_api import RefundInfo, refund_only_for_refunds
from pm4ml.store.schema import TransactionRequestRow, Transfer

Scenario = Literal["DEPOSIT", "WITHDRAWAL", "TRANSFER", "PAYMENT", "REFUND"]


class AcceptOtp(_Model):
    """``transferContinuationAcceptOTP``."""

    acceptOTP: bool


class RequestToPayTransferRequest(_Model):
    """``requestToPayTransferRequest``."""

    homeR2PTransactionId: Annotated[str, Field(min_length=1, max_length=128)]
    transactionRequestId: Annotated[
        str,
        Field(pattern=r"^[0-9a-f]{8}-[0-9a-f]{4}-[1-7][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$"),
    ]
    from_: TransferParty = Field(alias="from")
    to: TransferParty
    amountType: Literal["SEND", "RECEIVE"]
    currency: Currency
    amount: Amount
    scenario: Scenario
    subScenario: Annotated[str, Field(pattern=r"^[A-Z_]{1,32}$")] | None = None
    initiator: Literal["PAYER", "PAYEE"]
    initiatorType: Literal["CONSUMER", "AGENT", "BUSINESS", "DEVICE"]
    note: Annotated[str, Field(min_length=1, max_length=128)] | None = None
    authenticationType: Literal["OTP", "QRCODE", "U2F"] | None = None
    #: A pm4ml extension, as on ``POST /requestToPay``.
    refundInfo: RefundInfo | None = None


def transfer_request(checked: RequestToPayTransferRequest) -> dict[str, Any]:
    """The payer flow's stored request: a ``POST /transfers`` body plus the FSPIOP
    ``transactionType`` and ``transactionRequestId`` its quote must carry."""
    transaction_type: dict[str, Any] = {
        "scenario": checked.scenario,
        "initiator": checked.initiator,
        "initiatorType": checked.initiatorType,
    }
    if checked.subScenario:
        transaction_type["subScenario"] = checked.subScenario
    if checked.refundInfo:
        transaction_type["refundInfo"] = checked.refundInfo.model_dump(exclude_none=True)
    request: dict[str, Any] = {
        "homeTransactionId": checked.homeR2PTransactionId,
        "from": checked.from_.model_dump(mode="json", exclude_none=True),
        "to": checked.to.model_dump(mode="json", exclude_none=True),
        "amountType": checked.amountType,
        "currency": checked.currency,
        "amount": checked.amount,
        "transactionType": checked.scenario,
        "skipPartyLookup": checked.to.fspId is not None,
        "transactionRequestId": checked.transactionRequestId,
        "fspiopTransactionType": transaction_type,
    }
    if checked.subScenario:
        request["subScenario"] = checked.subScenario
    if checked.note:
        request["note"] = checked.note
    return request


def answer(row: Transfer) -> Response:
    """``transferResponse`` when completed or waiting for the caller, else the error shape."""
    data = row.data or {}
    request = data.get("request") or {}
    body = responses.transfer_response(row)
    body.pop("skipPartyLookup", None)
    body["homeR2PTransactionId"] = body.pop("homeTransactionId")
    body["transactionRequestId"] = request.get("transactionRequestId")
    if data.get("authorization_response"):
        body["authorizationResponse"] = data["authorization_response"]
    if row.state == S.QUOTE_RECEIVED and data.get("authorization") == WAITING:
        body["currentState"] = WAITING_FOR_OTP_ACCEPTANCE
        return json_response(body)
    if responses.current_state(row) != responses.ERROR_OCCURRED:
        return json_response(body)
    error = responses.last_error(row) or FspiopError(ErrorCode.SERVER_ERROR)
    error_body = {"message": error.description, "statusCode": error.code_text}
    return json_response({**error_body, "transferState": body}, responses.failure_status(row))


class RequestToPayTransferApi:
    def __init__(self, payer: PayerTransfers, options: RtpOptions) -> None:
        self.payer = payer
        self.options = options
        self.otp = PayerAuthorization(payer, options)

    async def post(self, request: Request) -> Response:
        try:
            checked = validate(RequestToPayTransferRequest, await read_json(request))
        except FspiopError as error:
            return json_response(responses.error_body(error), 400)
        assert isinstance(checked, RequestToPayTransferRequest)
        try:
            refund_only_for_refunds(checked.scenario, checked.refundInfo)
        except FspiopError as error:
            return json_response(responses.error_body(error), 400)
        row = self.payer.new_transfer(transfer_request(checked), trace_headers(request))
        if checked.authenticationType == "OTP":
            row.data = {**row.data, "authorization": REQUIRED}
        try:
            await self._store(row, checked.transactionRequestId)
        except FspiopError as error:
            return json_response(responses.error_body(error), 400)
        return answer(await self.otp.run(await self.payer.proceed(row.transfer_id)))

    async def _store(self, row: Transfer, transaction_request_id: str) -> None:
        """Store the paying transfer and link it to the request, if this DFSP received it.
        One payment per request is the database's unique index on the outbound transfers'
        ``transaction_request_id``: of two concurrent calls, in any process, one commits and
        the other gets the ``IntegrityError``."""
        store = self.payer.ctx.store
        now = self.payer.ctx.clock()
        try:
            async with store.transaction() as session:
                session.add(row)
                asked = await store.transaction_request(
                    session, transaction_request_id, RequestRole.PAYER, lock=True
                )
                if asked is not None:
                    refuse_to_pay(asked, now)
                    link_refund(row, asked)
                    asked.transfer_id = row.transfer_id
                    if asked.authentication_type == "OTP":
                        # The request asked for an OTP, whatever the backend's call says.
                        row.data = {**row.data, "authorization": REQUIRED}
        except IntegrityError:
            raise FspiopError(
                ErrorCode.CLIENT_ERROR, "this transaction request is already being paid"
            ) from None

    async def put(self, request: Request) -> Response:
        """``{"acceptQuote": ...}`` or ``{"acceptOTP": ...}``, whichever the transfer waits
        for."""
        transaction_request_id = request.path_params["transactionRequestId"]
        try:
            body = await read_json(request)
            store = self.payer.ctx.store
            async with store.reading() as session:
                transfer_id = await store.paying_transfer(session, transaction_request_id)
            if transfer_id is None:
                return json_response(
                    responses.error_body(FspiopError(ErrorCode.TXN_REQUEST_ID_NOT_FOUND)), 404
                )
            if isinstance(body, dict) and "acceptOTP" in body:
                otp = validate(AcceptOtp, body)
                value = bool(getattr(otp, "acceptOTP"))  # noqa: B009
                row = await self.otp.accept(transfer_id, value)
            else:
                quote = validate(AcceptQuote, body)
                value = bool(getattr(quote, "acceptQuote"))  # noqa: B009
                accepted = await self.payer.accept(transfer_id, "quote", value)
                assert accepted is not None  # the transfer exists: it pays this request
                row = await self.otp.run(accepted)
        except FspiopError as error:
            return json_response(responses.error_body(error), 400)
        return answer(row)


def link_refund(row: Transfer, asked: TransactionRequestRow) -> None:
    """A refund pays for the transaction the received request named: its quote (and so the
    transfer's ILP packet) carries that ``refundInfo``; a different one in the call is
    refused (3100)."""
    if asked.original_transaction_id is None:
        return
    request = row.data["request"]
    kind = dict(request["fspiopTransactionType"])
    given = (kind.get("refundInfo") or {}).get("originalTransactionId")
    if given not in (None, asked.original_transaction_id):
        raise FspiopError(
            ErrorCode.VALIDATION_ERROR, "refundInfo: not the transaction the request refunds"
        )
    stored = ((asked.data or {}).get("request") or {}).get("transactionType") or {}
    kind["refundInfo"] = stored.get("refundInfo") or {
        "originalTransactionId": asked.original_transaction_id
    }
    row.data = {**row.data, "request": {**request, "fspiopTransactionType": kind}}


def refuse_to_pay(asked: TransactionRequestRow, now: datetime) -> None:
    """Raise when a request this DFSP received must not be paid: it expired (3301), or this
    DFSP rejected it or could not take it on (4101)."""
    if asked.expiration is not None and asked.expiration <= now:
        raise FspiopError(ErrorCode.TXN_REQUEST_EXPIRED, "the transaction request has expired")
    if asked.state in (RequestState.REJECTED, RequestState.ERROR):
        raise FspiopError(
            ErrorCode.PAYER_REJECTED_TXN_REQUEST, "this DFSP did not take the request on"
        )


def routes(payer: PayerTransfers, options: RtpOptions) -> list[Route]:
    """The routes to mount in the outbound app."""
    api = RequestToPayTransferApi(payer, options)
    return [
        Route("/requestToPayTransfer", api.post, methods=["POST"]),
        Route("/requestToPayTransfer/{transactionRequestId}", api.put, methods=["PUT"]),
    ]
