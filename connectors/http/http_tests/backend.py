"""A core connector written from the sdk-scheme-adapter Backend API spec (v2.1.0): what a
DFSP runs today behind the SDK, with accounts in memory and faults the tests switch on.

Endpoints and bodies follow ``/work/shared/specs/sdk-scheme-adapter-backend``: refusals are
``errorResponse`` ``{"statusCode", "message"}`` with 400 (business), 404 (unknown) or 500.
``POST /transfers`` reserves the credit (``RESERVED``) and a repeat of one ``transferId``
answers the first result; ``PUT /transfers/{ID}`` with a final notification books or releases.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

Key = tuple[str, str, str | None]


@dataclass
class Account:
    currency: str
    balance: Decimal
    display_name: str = "Test Customer"
    blocked: bool = False
    max_single_transfer: Decimal | None = None


@dataclass
class Transfer:
    payee: Key
    amount: Decimal
    state: str
    answer: dict[str, Any]


@dataclass
class Backend:
    accounts: dict[Key, Account] = field(default_factory=dict)
    transfers: dict[str, Transfer] = field(default_factory=dict)
    requests: Counter[str] = field(default_factory=Counter)
    url: str = ""
    #: transactionRequestId -> OTP, for the requests POST /transactionrequests received.
    otps: dict[str, str] = field(default_factory=dict)
    #: transactionRequestId -> the state PUT /requestToPay/{ID} reported.
    rtp_states: dict[str, str] = field(default_factory=dict)
    bearer_token: str | None = None
    #: "METHOD /first-segment" -> the ``traceparent`` header of the last such request.
    traceparents: dict[str, str] = field(default_factory=dict)
    #: The FSP id the backend names for its own accounts in ``GET /participants``.
    fsp_id: str = "backendfsp"
    #: Parties the backend knows to be held by other FSPs (an oracle's table).
    elsewhere: dict[Key, str] = field(default_factory=dict)
    #: "METHOD /first-segment" -> seconds to wait before answering (after acting), once.
    slow: dict[str, float] = field(default_factory=dict)
    #: "METHOD /first-segment" -> raw body answered with 200 instead of the real one, once.
    garbage: dict[str, bytes] = field(default_factory=dict)
    #: "METHOD /first-segment" -> (HTTP status, statusCode) answered instead, once.
    refuse: dict[str, tuple[int, str]] = field(default_factory=dict)

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/", self.root, methods=["GET"]),
                Route("/parties/{idType}/{idValue}", self.party, methods=["GET"]),
                Route("/parties/{idType}/{idValue}/{idSubValue}", self.party, methods=["GET"]),
                Route("/participants/{idType}/{idValue}", self.participant, methods=["GET"]),
                Route(
                    "/participants/{idType}/{idValue}/{idSubValue}",
                    self.participant,
                    methods=["GET"],
                ),
                Route("/quoterequests", self.quote, methods=["POST"]),
                Route("/transfers", self.post_transfer, methods=["POST"]),
                Route("/transfers/{transferId}", self.get_transfer, methods=["GET"]),
                Route("/transfers/{transferId}", self.put_transfer, methods=["PUT"]),
                Route("/transactionrequests", self.transaction_request, methods=["POST"]),
                Route("/otp/{transactionRequestId}", self.otp, methods=["GET"]),
                Route("/requestToPay/{transactionRequestId}", self.request_to_pay, methods=["PUT"]),
            ],
        )

    # --- plumbing -------------------------------------------------------------------------

    @staticmethod
    def error(status: int, code: str, message: str) -> JSONResponse:
        return JSONResponse({"statusCode": code, "message": message}, status_code=status)

    async def faults(self, request: Request) -> Response | None:
        key = f"{request.method} /{request.url.path.split('/')[1]}"
        self.requests[key] += 1
        if traceparent := request.headers.get("traceparent"):
            self.traceparents[key] = traceparent
        if self.bearer_token and request.headers.get("authorization") != (
            f"Bearer {self.bearer_token}"
        ):
            return self.error(401, "3000", "bad token")
        if key in self.refuse:
            status, code = self.refuse.pop(key)
            return self.error(status, code, "refused by the core banking system")
        if key in self.garbage:
            return Response(self.garbage.pop(key), media_type="application/json")
        return None

    async def answer(self, request: Request, response: Response) -> Response:
        key = f"{request.method} /{request.url.path.split('/')[1]}"
        if key in self.slow:
            await asyncio.sleep(self.slow.pop(key))
        return response

    def account(self, key: Key) -> Account | None:
        return self.accounts.get(key)

    @staticmethod
    def key_of(party: dict[str, Any]) -> Key:
        return (party["idType"], party["idValue"], party.get("idSubValue"))

    # --- endpoints ------------------------------------------------------------------------

    async def root(self, request: Request) -> Response:
        return await self.faults(request) or JSONResponse({"status": "OK"})

    async def party(self, request: Request) -> Response:
        if fault := await self.faults(request):
            return fault
        p = request.path_params
        key = (p["idType"], p["idValue"], p.get("idSubValue"))
        account = self.account(key)
        if account is None:
            return self.error(404, "3204", "party not found")
        if account.blocked:
            return self.error(400, "5400", "account blocked")
        body = {
            "idType": key[0],
            "idValue": key[1],
            "displayName": account.display_name,
            "supportedCurrencies": [account.currency],
        }
        return await self.answer(request, JSONResponse(body))

    async def participant(self, request: Request) -> Response:
        """``participantsResponse``: this backend's FSP for its accounts (blocked ones too),
        the recorded FSP for parties held elsewhere, else 404."""
        if fault := await self.faults(request):
            return fault
        p = request.path_params
        key = (p["idType"], p["idValue"], p.get("idSubValue"))
        fsp = self.fsp_id if key in self.accounts else self.elsewhere.get(key)
        if fsp is None:
            return self.error(404, "3204", "party not found")
        return await self.answer(request, JSONResponse({"fspId": fsp}))

    async def quote(self, request: Request) -> Response:
        if fault := await self.faults(request):
            return fault
        body = await request.json()
        account = self.account(self.key_of(body["to"]))
        if account is None:
            return self.error(404, "3204", "party not found")
        if account.currency != body["currency"]:
            return self.error(400, "5106", "no account in that currency")
        amount = Decimal(body["amount"])
        if account.max_single_transfer is not None and amount > account.max_single_transfer:
            return self.error(400, "5200", "above the single-transfer limit")
        answer = {
            "quoteId": body["quoteId"],
            "transactionId": body["transactionId"],
            "transferAmount": body["amount"],
            "transferAmountCurrency": body["currency"],
            "payeeReceiveAmount": body["amount"],
            "payeeReceiveAmountCurrency": body["currency"],
        }
        return await self.answer(request, JSONResponse(answer))

    async def post_transfer(self, request: Request) -> Response:
        if fault := await self.faults(request):
            return fault
        body = await request.json()
        transfer_id = body["transferId"]
        if transfer_id in self.transfers:
            return await self.answer(request, JSONResponse(self.transfers[transfer_id].answer))
        key = self.key_of(body["to"])
        account = self.account(key)
        if account is None:
            return self.error(404, "3204", "party not found")
        if account.blocked:
            return self.error(400, "5400", "account blocked")
        answer = {"homeTransactionId": f"home-{transfer_id}", "transferState": "RESERVED"}
        self.transfers[transfer_id] = Transfer(key, Decimal(body["amount"]), "RESERVED", answer)
        return await self.answer(request, JSONResponse(answer))

    async def get_transfer(self, request: Request) -> Response:
        if fault := await self.faults(request):
            return fault
        transfer = self.transfers.get(request.path_params["transferId"])
        if transfer is None:
            return self.error(404, "3208", "transfer not found")
        body = {
            "homeTransactionId": transfer.answer["homeTransactionId"],
            "from": {"idType": "MSISDN", "idValue": "0"},
            "to": {"idType": transfer.payee[0], "idValue": transfer.payee[1]},
            "amountType": "RECEIVE",
            "currency": self.accounts[transfer.payee].currency,
            "amount": str(transfer.amount),
            "transferState": transfer.state,
            "transactionType": "TRANSFER",
            "timestamp": "2026-01-01T00:00:00.000Z",
        }
        return await self.answer(request, JSONResponse(body))

    async def put_transfer(self, request: Request) -> Response:
        if fault := await self.faults(request):
            return fault
        body = await request.json()
        transfer = self.transfers.get(request.path_params["transferId"])
        if transfer is None:
            return self.error(404, "3208", "transfer not found")
        final = body["finalNotification"]["transferState"]
        if transfer.state == "RESERVED" and final in ("COMMITTED", "ABORTED"):
            transfer.state = final
            if final == "COMMITTED":
                self.accounts[transfer.payee].balance += transfer.amount
        return await self.answer(request, Response(status_code=200))

    async def transaction_request(self, request: Request) -> Response:
        if fault := await self.faults(request):
            return fault
        body = await request.json()
        account = self.account(self.key_of(body["from"]))
        if account is None:
            return self.error(404, "3204", "party not found")
        state = "RECEIVED" if Decimal(body["amount"]) <= account.balance else "REJECTED"
        request_id = body["transactionRequestId"]
        self.otps.setdefault(request_id, f"{len(self.otps) + 100000:06d}")
        answer = {"transactionId": request_id, "transactionRequestState": state}
        return await self.answer(request, JSONResponse(answer))

    async def otp(self, request: Request) -> Response:
        if fault := await self.faults(request):
            return fault
        otp = self.otps.get(request.path_params["transactionRequestId"])
        if otp is None:
            return self.error(404, "3000", "no such transaction request")
        return await self.answer(request, JSONResponse({"otpValue": otp}))

    async def request_to_pay(self, request: Request) -> Response:
        if fault := await self.faults(request):
            return fault
        body = await request.json()
        state = body.get("transactionRequestState")
        if state not in ("RECEIVED", "PENDING", "ACCEPTED", "REJECTED"):
            return self.error(400, "3100", "bad transactionRequestState")
        self.rtp_states[request.path_params["transactionRequestId"]] = state
        return await self.answer(request, Response(status_code=200))
