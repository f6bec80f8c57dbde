"""A core-banking backend for a Node payee, speaking the sdk-scheme-adapter Backend API v2.1.0
(shared/specs/sdk-scheme-adapter-backend), written from the spec: party lookup, quote,
transfer, the final notification, a request to pay and the OTP typed on a terminal. It
records every call for the tests to check."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route


@dataclass
class Backend:
    parties: dict[str, dict[str, Any]] = field(default_factory=dict)
    calls: list[tuple[str, str, Any]] = field(default_factory=list)
    #: The answer to a request to pay (``POST /transactionrequests``).
    transaction_request_state: str = "RECEIVED"
    #: What ``GET /otp/{ID}`` answers, one per call (the password typed on the terminal).
    otps: list[str] = field(default_factory=list)

    async def party(self, request: Request) -> Response:
        key = f"{request.path_params['idType']}/{request.path_params['idValue']}"
        self.calls.append(("GET", request.url.path, None))
        found = self.parties.get(key)
        if found is None:
            return JSONResponse({"statusCode": "3204", "message": "Party not found"}, 404)
        return JSONResponse(found)

    async def quote(self, request: Request) -> Response:
        body = await request.json()
        self.calls.append(("POST", "/quoterequests", body))
        return JSONResponse(
            {
                "quoteId": body["quoteId"],
                "transactionId": body["transactionId"],
                "transferAmount": body["amount"],
                "transferAmountCurrency": body["currency"],
                "payeeReceiveAmount": body["amount"],
                "payeeReceiveAmountCurrency": body["currency"],
            }
        )

    async def transfer(self, request: Request) -> Response:
        body = await request.json()
        self.calls.append(("POST", "/transfers", body))
        return JSONResponse({"homeTransactionId": body["transferId"], "transferState": "COMMITTED"})

    async def notification(self, request: Request) -> Response:
        self.calls.append(("PUT", request.url.path, await request.json()))
        return Response(status_code=200)

    async def transaction_request(self, request: Request) -> Response:
        body = await request.json()
        self.calls.append(("POST", "/transactionrequests", body))
        return JSONResponse({"transactionRequestState": self.transaction_request_state})

    async def otp(self, request: Request) -> Response:
        self.calls.append(("GET", request.url.path, None))
        if not self.otps:
            return JSONResponse({"statusCode": "3206", "message": "no such request"}, 404)
        return JSONResponse({"otpValue": self.otps.pop(0)})

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/parties/{idType}/{idValue}", self.party, methods=["GET"]),
                Route("/quoterequests", self.quote, methods=["POST"]),
                Route("/transfers", self.transfer, methods=["POST"]),
                Route("/transfers/{transferId}", self.notification, methods=["PUT"]),
                Route("/transactionrequests", self.transaction_request, methods=["POST"]),
                Route("/otp/{transactionRequestId}", self.otp, methods=["GET"]),
            ]
        )
