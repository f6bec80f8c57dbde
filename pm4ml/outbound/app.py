"""The outbound simplified API (Starlette): what the DFSP's own systems call to send money.
Wire-compatible with the sdk-scheme-adapter Outbound API v2.1.0, so existing integrations
can switch. Synchronous: each call returns when the transfer is final, waits for the caller's
acceptance, or a bound from the settings runs out.
"""

from __future__ import annotations

import logging

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from pm4ml.flows.payer import PayerTransfers
from pm4ml.flows.payer_requests import PayerRequests
from pm4ml.flows.rtp_payee import PayeeRequestsToPay
from pm4ml.flows.rtp_records import RtpOptions
from pm4ml.flows.states import Direction, TransferState
from pm4ml.fspiop.errors import ErrorCode, FspiopError
from pm4ml.outbound import models, requests_api, responses, rtp_api, rtp_transfer_api
from pm4ml.outbound.http import json_response, read_json, trace_headers
from pm4ml.store.schema import Transfer

log = logging.getLogger(__name__)


def _error(error: FspiopError, status: int | None = None, row: Transfer | None = None) -> Response:
    return json_response(responses.error_body(error, row), status or error.http_status)


def _transfer_answer(row: Transfer) -> Response:
    """200 with ``transferResponse`` when completed or waiting for the caller; else the
    error shape with the transfer's state, 504 for a timeout and 500 otherwise."""
    state = responses.current_state(row)
    if state != responses.ERROR_OCCURRED:
        return json_response(responses.transfer_response(row))
    error = responses.last_error(row) or FspiopError(ErrorCode.SERVER_ERROR)
    return _error(error, responses.failure_status(row), row)


class OutboundApi:
    def __init__(self, payer: PayerTransfers) -> None:
        self.payer = payer

    async def health(self, request: Request) -> Response:
        return json_response({"status": "ok"})

    async def post_transfer(self, request: Request) -> Response:
        try:
            body = await read_json(request)
            checked = models.validate(models.TransferRequest, body)
        except FspiopError as error:
            return _error(error, 400)
        request_json = checked.model_dump(mode="json", by_alias=True, exclude_none=True)
        row = await self.payer.create(request_json, trace_headers(request))
        return _transfer_answer(row)

    async def put_transfer(self, request: Request) -> Response:
        transfer_id = request.path_params["transferId"]
        try:
            body = await read_json(request)
            if isinstance(body, dict) and "acceptParty" in body:
                step, accepted = "party", models.validate(models.AcceptParty, body)
                value = bool(getattr(accepted, "acceptParty"))  # noqa: B009
            else:
                step, accepted = "quote", models.validate(models.AcceptQuote, body)
                value = bool(getattr(accepted, "acceptQuote"))  # noqa: B009
            row = await self.payer.accept(transfer_id, step, value)
        except FspiopError as error:
            return _error(error, 400 if error.http_status < 500 else 500)
        if row is None:
            return _error(FspiopError(ErrorCode.TRANSFER_ID_NOT_FOUND), 404)
        return _transfer_answer(row)

    async def get_transfer(self, request: Request) -> Response:
        transfer_id = request.path_params["transferId"]
        row = await self.payer.refresh(transfer_id)
        if row is None or row.direction != Direction.OUTBOUND:
            return _error(FspiopError(ErrorCode.TRANSFER_ID_NOT_FOUND), 404)
        return json_response(responses.status_response(row))


def create_outbound_app(
    payer: PayerTransfers, requests: PayerRequests, rtp: RtpOptions | None = None
) -> Starlette:
    rtp = rtp or RtpOptions()
    api = OutboundApi(payer)
    routes = [
        Route("/", api.health, methods=["GET"]),
        Route("/transfers", api.post_transfer, methods=["POST"]),
        Route("/transfers/{transferId}", api.put_transfer, methods=["PUT"]),
        Route("/transfers/{transferId}", api.get_transfer, methods=["GET"]),
        *requests_api.routes(requests),
        *rtp_api.routes(PayeeRequestsToPay(requests, auto_accept_party=rtp.auto_accept_party)),
        *rtp_transfer_api.routes(payer, rtp),
    ]
    return Starlette(routes=routes)


__all__ = ["TransferState", "create_outbound_app"]
