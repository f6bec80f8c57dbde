"""The Outbound API's ``POST /requestToPayTransfer`` and ``PUT /requestToPayTransfer/{ID}``
(sdk-scheme-adapter Outbound API v2.1.0): this DFSP's customer (``from``) pays a request to pay
it received, whose ``transactionRequestId`` names it.

It is an ordinary payer transfer (:class:`pm4ml.flows.payer.PayerTransfers`), one stored row,
with two differences: its quote carries the ``transactionRequestId`` and the request's
``transactionType`` (scenario, initiator, initiator type), so the payee DFSP can match it to
its request; and the party lookup is skipped when ``to.fspId`` is given (the payee's DFSP is
the one that sent the request). The quote waits for ``PUT .../{transactionRequestId}``
``{"acceptQuote": ...}`` unless ``PM4ML_AUTO_ACCEPT_QUOTES`` is on, as for ``POST /transfers``.
Answers are ``transferResponse`` (with ``transactionRequestId`` and ``homeR2PTransactionId``)
or ``errorTransferResponse``, 500, or 504 when a peer did not answer in time.
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any, Literal

from pydantic import Field
from sqlalchemy import select
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from pm4ml.flows.payer import PayerTransfers
from pm4ml.flows.states import Direction
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
from pm4ml.store.schema import Transfer

Scenario = Literal["DEPOSIT", "WITHDRAWAL", "TRANSFER", "PAYMENT", "REFUND"]


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
    request = (row.data or {}).get("request") or {}
    body = responses.transfer_response(row)
    body.pop("skipPartyLookup", None)
    body["homeR2PTransactionId"] = body.pop("homeTransactionId")
    body["transactionRequestId"] = request.get("transactionRequestId")
    if responses.current_state(row) != responses.ERROR_OCCURRED:
        return json_response(body)
    error = responses.last_error(row) or FspiopError(ErrorCode.SERVER_ERROR)
    error_body = {"message": error.description, "statusCode": error.code_text}
    return json_response({**error_body, "transferState": body}, responses.failure_status(row))


class RequestToPayTransferApi:
    def __init__(self, payer: PayerTransfers) -> None:
        self.payer = payer
        self._locks: dict[str, asyncio.Lock] = {}

    async def post(self, request: Request) -> Response:
        try:
            checked = validate(RequestToPayTransferRequest, await read_json(request))
        except FspiopError as error:
            return json_response(responses.error_body(error), 400)
        assert isinstance(checked, RequestToPayTransferRequest)
        request_id = checked.transactionRequestId
        # One payment per request: the check and the row's insertion are not one database
        # statement, so two concurrent calls in this process are serialised here.
        lock = self._locks.setdefault(request_id, asyncio.Lock())
        try:
            async with lock:
                if await self._transfer_id(request_id) is not None:
                    duplicate = FspiopError(
                        ErrorCode.CLIENT_ERROR, "this transaction request is already being paid"
                    )
                    return json_response(responses.error_body(duplicate), 400)
                row = await self.payer.create(transfer_request(checked), trace_headers(request))
        finally:
            if not lock.locked():
                self._locks.pop(request_id, None)
        return answer(row)

    async def put(self, request: Request) -> Response:
        transaction_request_id = request.path_params["transactionRequestId"]
        try:
            accepted = validate(AcceptQuote, await read_json(request))
            transfer_id = await self._transfer_id(transaction_request_id)
            value = bool(getattr(accepted, "acceptQuote"))  # noqa: B009
            row = None
            if transfer_id is not None:
                row = await self.payer.accept(transfer_id, "quote", value)
        except FspiopError as error:
            return json_response(responses.error_body(error), 400)
        if row is None:
            return json_response(
                responses.error_body(FspiopError(ErrorCode.TXN_REQUEST_ID_NOT_FOUND)), 404
            )
        return answer(row)

    async def _transfer_id(self, transaction_request_id: str) -> str | None:
        """The outbound transfer that pays ``transaction_request_id``, if there is one."""
        store = self.payer.ctx.store
        request_id = Transfer.data["request"]["transactionRequestId"].as_string()
        query = select(Transfer.transfer_id).where(
            Transfer.direction == Direction.OUTBOUND, request_id == transaction_request_id
        )
        async with store.reading() as session:
            found = (await session.execute(query.limit(1))).scalar_one_or_none()
        return found


def routes(payer: PayerTransfers) -> list[Route]:
    """The routes to mount in the outbound app."""
    api = RequestToPayTransferApi(payer)
    return [
        Route("/requestToPayTransfer", api.post, methods=["POST"]),
        Route("/requestToPayTransfer/{transactionRequestId}", api.put, methods=["PUT"]),
    ]
