"""The Outbound API's single-request endpoints (sdk-scheme-adapter Outbound API v2.1.0):
``GET /parties/{Type}/{ID}[/{SubId}]``, ``POST /quotes``, ``POST /simpleTransfers``,
``POST /accounts`` and ``DELETE /accounts/{Type}/{ID}[/{SubId}]``. Request parsing and response
shaping only; :class:`pm4ml.flows.payer_requests.PayerRequests` does the FSPIOP work.

Statuses: 200 with the spec's body when the peer answered; 400 ``errorResponse`` for a request
refused before anything was sent; 504 when the peer's answer did not come in time; otherwise
500 with the spec's error body, whose ``statusCode`` is the FSPIOP error code. The exception is
``GET /parties``, whose spec answers a party the peer could not find with 404 and the peer's
``errorInformation``.
"""

from __future__ import annotations

import uuid
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from pm4ml.flows.asking import CallbackError
from pm4ml.flows.asking import response_headers as headers_of
from pm4ml.flows.payer_requests import AccountsResult, PayerRequests
from pm4ml.flows.states import TransferState
from pm4ml.fspiop.errors import ErrorCode, FspiopError
from pm4ml.outbound import request_models
from pm4ml.outbound.http import json_response, read_json, trace_headers
from pm4ml.outbound.responses import COMPLETED, ERROR_OCCURRED, error_body, last_error
from pm4ml.store.schema import Transfer
from pm4ml.transport.bus import BusMessage


def _status(error: FspiopError) -> int:
    """504 when a peer did not answer in time, 500 for any other failure after sending."""
    return 504 if error.code is ErrorCode.SERVER_TIMED_OUT else 500


def _failed(error: FspiopError) -> Response:
    return json_response(error_body(error), _status(error))


def _refused(error: FspiopError) -> Response:
    """A request refused before anything was sent: the caller's to fix (400), unless it is
    our own failure."""
    return json_response(error_body(error), 400 if error.http_status < 500 else 500)


def _echo(message: BusMessage, body: dict[str, Any]) -> dict[str, Any]:
    """``{body, headers}``: how the Outbound API carries a peer's callback."""
    return {"body": body, "headers": headers_of(message)}


def _last_error(error: FspiopError) -> dict[str, Any]:
    return {"httpStatusCode": _status(error), "mojaloopError": error.to_body()}


def simple_transfer_answer(row: Transfer) -> Response:
    """``simpleTransfersPostResponse`` for a committed transfer, the error shape otherwise."""
    data = row.data or {}
    if row.state == TransferState.COMMITTED:
        fulfil = data.get("fulfil") or {"transferState": "COMMITTED"}
        transfer = {"body": fulfil, "headers": data.get("fulfil_headers") or {}}
        return json_response({"transfer": transfer, "currentState": COMPLETED})
    error = last_error(row)
    if error is None:
        error = FspiopError(ErrorCode.SERVER_TIMED_OUT, "the outcome is not known yet")
    return _failed(error)


def _account_result(item: dict[str, Any]) -> dict[str, Any]:
    """One ``PartyResult`` of the ALS as an ``accountCreationStatus`` item."""
    info = item.get("partyId") or {}
    result: dict[str, Any] = {
        "idType": info.get("partyIdType"),
        "idValue": info.get("partyIdentifier"),
    }
    if info.get("partySubIdOrType"):
        result["idSubValue"] = info["partySubIdOrType"]
    error = item.get("errorInformation")
    if error:
        result["error"] = {
            "statusCode": str(error.get("errorCode")),
            "message": str(error.get("errorDescription")),
        }
    return result


def accounts_answer(accounts: list[dict[str, Any]], result: AccountsResult) -> Response:
    """``accountsResponse``, or ``errorAccountsResponse`` carrying it as ``executionState``.
    An account the ALS refused is reported in its ``response`` item; the registration as a
    whole still completed (as in the reference)."""
    state: dict[str, Any] = {
        "modelId": str(uuid.uuid4()),
        "accounts": accounts,
        "response": [
            _account_result(item)
            for answer in result.answers
            for item in answer.body.get("partyList") or []
        ],
        "currentState": COMPLETED if result.error is None else ERROR_OCCURRED,
    }
    if result.answers:
        last = result.answers[-1]
        state["postAccountsResponse"] = _echo(last, last.body)
    if result.error is None:
        return json_response(state)
    state["lastError"] = _last_error(result.error)
    return json_response(
        {**error_body(result.error), "executionState": state}, _status(result.error)
    )


class RequestsApi:
    """The endpoints; each parses, calls one flow, and shapes the answer."""

    def __init__(self, requests: PayerRequests) -> None:
        self.requests = requests

    async def get_party(self, request: Request) -> Response:
        try:
            party = request_models.party_path(request.path_params)
        except FspiopError as error:
            return _refused(error)
        answer = await self.requests.lookup_party(party, trace_headers(request))
        if isinstance(answer, BusMessage):
            body = {"party": _echo(answer, answer.body.get("party") or {})}
            return json_response({**body, "currentState": COMPLETED})
        if isinstance(answer, CallbackError):
            return json_response(answer.to_body(), 404)
        return _failed(answer)

    async def post_quote(self, request: Request) -> Response:
        try:
            checked, _ = request_models.simple_quote(await read_json(request))
        except FspiopError as error:
            return _refused(error)
        answer = await self.requests.quote(
            checked.fspId, checked.quotesPostRequest, trace_headers(request)
        )
        if isinstance(answer, FspiopError):
            return _failed(answer)
        return json_response({"quotes": _echo(answer, answer.body), "currentState": COMPLETED})

    async def post_simple_transfer(self, request: Request) -> Response:
        try:
            body = await read_json(request)
            checked, _ = request_models.simple_transfer(body)
            row = await self.requests.simple_transfer(
                checked.fspId, checked.model_dump(mode="json"), trace_headers(request)
            )
        except FspiopError as error:
            return _refused(error)
        return simple_transfer_answer(row)

    async def post_accounts(self, request: Request) -> Response:
        try:
            accounts = request_models.accounts(await read_json(request))
        except FspiopError as error:
            return _refused(error)
        result = await self.requests.register_accounts(accounts, trace_headers(request))
        return accounts_answer(accounts, result)

    async def delete_account(self, request: Request) -> Response:
        try:
            party = request_models.party_path(request.path_params)
        except FspiopError as error:
            return _refused(error)
        answer = await self.requests.delete_account(party, trace_headers(request))
        if isinstance(answer, BusMessage):
            body: dict[str, Any] = {"idType": party.id_type, "idValue": party.id_value}
            if party.sub_id:
                body["subIdOrType"] = party.sub_id
            body.update(
                response=[answer.body],
                currentState=COMPLETED,
                deleteAccountResponse=_echo(answer, answer.body),
            )
            return json_response(body)
        account: dict[str, Any] = {"idType": party.id_type, "idValue": party.id_value}
        if party.sub_id:
            account["idSubValue"] = party.sub_id
        # errorAccountsResponse: its executionState is an accountsResponse, so the account
        # is given as one item of ``accounts``.
        state = {
            "accounts": [account],
            "response": [],
            "currentState": ERROR_OCCURRED,
            "lastError": _last_error(answer),
        }
        return json_response({**error_body(answer), "executionState": state}, _status(answer))


def routes(requests: PayerRequests) -> list[Route]:
    """The routes to mount in the outbound app next to ``/transfers``."""
    api = RequestsApi(requests)
    return [
        Route("/parties/{Type}/{ID}", api.get_party, methods=["GET"]),
        Route("/parties/{Type}/{ID}/{SubId}", api.get_party, methods=["GET"]),
        Route("/quotes", api.post_quote, methods=["POST"]),
        Route("/simpleTransfers", api.post_simple_transfer, methods=["POST"]),
        Route("/accounts", api.post_accounts, methods=["POST"]),
        Route("/accounts/{Type}/{ID}", api.delete_account, methods=["DELETE"]),
        Route("/accounts/{Type}/{ID}/{SubId}", api.delete_account, methods=["DELETE"]),
    ]
