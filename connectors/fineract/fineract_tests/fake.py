"""A fake Apache Fineract, written from Fineract's documented REST API: clients and savings
accounts in memory, and the faults the tests switch on.

It serves what the connector uses, under ``/fineract-provider/api/v1``, with Fineract's field
names and status codes: every request needs HTTP basic authentication and the
``Fineract-Platform-TenantId`` header (401 otherwise); refusals are Fineract's error body
(``developerMessage``, ``httpStatusCode``, ``defaultUserMessage``,
``userMessageGlobalisationCode``, ``errors[]``) with 400 (validation), 403 (domain rule) or
404 (unknown resource). Transactions take ``locale``, ``dateFormat``, ``transactionDate`` (not
in the future) and ``transactionAmount``; unknown parameters are refused as Fineract does. A
hold reduces the available balance, not the account balance; a release is a transaction of
its own whose id the hold records as ``releaseTransactionId``.
"""

from __future__ import annotations

import asyncio
import base64
import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route

API = "/fineract-provider/api/v1"
PAYMENT_TYPES = {1: "Money Transfer"}
TRANSACTION_PARAMS = {
    "locale",
    "dateFormat",
    "transactionDate",
    "transactionAmount",
    "paymentTypeId",
    "accountNumber",
    "checkNumber",
    "routingCode",
    "receiptNumber",
    "bankNumber",
    "note",
}
HOLD_PARAMS = {
    "locale",
    "dateFormat",
    "transactionDate",
    "transactionAmount",
    "reasonForBlock",
    "lienAllowed",
}
#: transactionType ids and flags, as ``SavingsAccountTransactionType`` enumerates them.
TYPES = {"deposit": 1, "withdrawal": 2, "amountHold": 22, "amountRelease": 23}


@dataclass
class Client:
    id: int
    account_no: str
    firstname: str
    lastname: str
    mobile_no: str | None = None
    external_id: str | None = None

    @property
    def display_name(self) -> str:
        return f"{self.firstname} {self.lastname}"


@dataclass
class Transaction:
    id: int
    kind: str
    amount: Decimal
    on: date
    receipt: str | None = None
    reason: str | None = None
    release_id: int | None = None


@dataclass
class Savings:
    id: int
    account_no: str
    client_id: int
    currency: str
    balance: Decimal = Decimal(0)
    on_hold: Decimal = Decimal(0)
    external_id: str | None = None
    status: str = "active"  # or "closed", "submitted"
    block: bool = False
    block_credit: bool = False
    block_debit: bool = False
    transactions: list[Transaction] = field(default_factory=list)

    @property
    def available(self) -> Decimal:
        return self.balance - self.on_hold


class Refusal(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


TOP_CODES = {
    400: "validation.msg.validation.errors.exist",
    401: "error.msg.not.authenticated",
    403: "validation.msg.domain.rule.violation",
    404: "error.msg.resource.not.found",
}


def error_body(status: int, code: str, message: str) -> dict[str, Any]:
    return {
        "developerMessage": message,
        "httpStatusCode": str(status),
        "defaultUserMessage": message,
        "userMessageGlobalisationCode": TOP_CODES.get(status, "error.msg.platform.server.side"),
        "errors": [
            {
                "developerMessage": message,
                "defaultUserMessage": message,
                "userMessageGlobalisationCode": code,
                "parameterName": "id",
                "value": None,
                "args": [],
            }
        ],
    }


def _number(value: Decimal) -> float:
    # Fineract writes amounts as JSON numbers; the tests use amounts floats hold exactly.
    return float(value)


def _currency(code: str) -> dict[str, Any]:
    return {"code": code, "name": code, "decimalPlaces": 2, "inMultiplesOf": 0, "nameCode": code}


@dataclass
class Fineract:
    tenant: str = "default"
    username: str = "mifos"
    password: str = "password"
    clients: dict[int, Client] = field(default_factory=dict)
    savings: dict[int, Savings] = field(default_factory=dict)
    #: "METHOD kind" (kind: search, client, accounts, savings, transaction, or a command).
    requests: Counter[str] = field(default_factory=Counter)
    #: kind -> seconds to wait before answering, after acting, once.
    slow: dict[str, float] = field(default_factory=dict)
    #: kind -> raw body answered with 200 after acting, once.
    garbage: dict[str, bytes] = field(default_factory=dict)
    #: kind -> (status, userMessageGlobalisationCode) answered instead of acting, once.
    refuse: dict[str, tuple[int, str]] = field(default_factory=dict)
    today: date = field(default_factory=lambda: datetime.now(UTC).date())
    url: str = ""
    _next_id: int = 0

    # --- test set-up ----------------------------------------------------------------------

    def next_id(self) -> int:
        self._next_id += 1
        return self._next_id

    def add_client(self, *, mobile_no: str | None = None, external_id: str | None = None) -> Client:
        client_id = self.next_id()
        client = Client(
            client_id, f"{client_id:09d}", "Ada", f"Client{client_id}", mobile_no, external_id
        )
        self.clients[client_id] = client
        return client

    def open_savings(
        self, client: Client, currency: str, balance: Decimal, **state: Any
    ) -> Savings:
        savings_id = self.next_id()
        account = Savings(savings_id, f"{savings_id:09d}", client.id, currency, **state)
        self.savings[savings_id] = account
        if balance:
            self.book(account, "deposit", balance, receipt=None)
        return account

    def book(
        self,
        account: Savings,
        kind: str,
        amount: Decimal,
        *,
        receipt: str | None = None,
        reason: str | None = None,
    ) -> Transaction:
        transaction = Transaction(self.next_id(), kind, amount, self.today, receipt, reason)
        account.transactions.append(transaction)
        if kind == "deposit":
            account.balance += amount
        elif kind == "withdrawal":
            account.balance -= amount
        elif kind == "amountHold":
            account.on_hold += amount
        else:
            account.on_hold -= amount
        return transaction

    def booked(self, kind: str) -> list[Transaction]:
        """Every transaction of ``kind`` on every account."""
        return [t for s in self.savings.values() for t in s.transactions if t.kind == kind]

    # --- plumbing -------------------------------------------------------------------------

    def app(self) -> Starlette:
        routes = [
            Route("/search", self.search, methods=["GET"]),
            Route("/clients/{clientId:int}", self.client, methods=["GET"]),
            Route("/clients/{clientId:int}/accounts", self.client_accounts, methods=["GET"]),
            Route("/savingsaccounts/{accountId:int}", self.get_savings, methods=["GET"]),
            Route(
                "/savingsaccounts/{accountId:int}/transactions",
                self.transact,
                methods=["POST"],
            ),
            Route(
                "/savingsaccounts/{accountId:int}/transactions/{transactionId:int}",
                self.get_transaction,
                methods=["GET"],
            ),
            Route(
                "/savingsaccounts/{accountId:int}/transactions/{transactionId:int}",
                self.release,
                methods=["POST"],
            ),
        ]
        return Starlette(routes=[Mount(API, routes=routes)])

    def authorised(self, request: Request) -> bool:
        expected = base64.b64encode(f"{self.username}:{self.password}".encode()).decode()
        return (
            request.headers.get("fineract-platform-tenantid") == self.tenant
            and request.headers.get("authorization") == f"Basic {expected}"
        )

    async def handle(self, request: Request, kind: str, act: Any) -> Response:
        self.requests[f"{request.method} {kind}"] += 1
        if not self.authorised(request):
            message = "Invalid authentication details were passed in api request."
            return JSONResponse(error_body(401, "error.msg.not.authenticated", message), 401)
        try:
            if kind in self.refuse:
                status, code = self.refuse.pop(kind)
                raise Refusal(status, code, "refused by the fake")
            body = await act()
        except Refusal as refusal:
            return JSONResponse(
                error_body(refusal.status, refusal.code, refusal.message), refusal.status
            )
        if kind in self.slow:
            await asyncio.sleep(self.slow.pop(kind))
        if kind in self.garbage:
            return Response(self.garbage.pop(kind), media_type="application/json")
        return JSONResponse(body)

    def account(self, request: Request) -> Savings:
        account = self.savings.get(request.path_params["accountId"])
        if account is None:
            raise Refusal(
                404,
                "error.msg.saving.account.id.invalid",
                f"Savings account with identifier {request.path_params['accountId']} does not "
                "exist",
            )
        return account

    # --- read endpoints -------------------------------------------------------------------

    async def search(self, request: Request) -> Response:
        query = request.query_params.get("query", "")
        resources = request.query_params.get("resource", "").split(",")
        exact = request.query_params.get("exactMatch") == "true"

        def hit(*values: str | None) -> bool:
            return any(v is not None and (v == query if exact else query in v) for v in values)

        async def act() -> Any:
            found: list[dict[str, Any]] = []
            if "clients" in resources:
                found += [
                    self.client_hit(c)
                    for c in self.clients.values()
                    if hit(c.account_no, c.display_name, c.external_id, c.mobile_no)
                ]
            if "savings" in resources:
                found += [
                    self.savings_hit(s)
                    for s in self.savings.values()
                    if hit(s.account_no, s.external_id)
                ]
            return found

        return await self.handle(request, "search", act)

    @staticmethod
    def client_hit(c: Client) -> dict[str, Any]:
        return {
            "entityId": c.id,
            "entityAccountNo": c.account_no,
            "entityExternalId": c.external_id,
            "entityName": c.display_name,
            "entityType": "CLIENT",
            "parentId": 1,
            "parentName": "Head Office",
            "entityMobileNo": c.mobile_no,
            "entityStatus": {"id": 300, "code": "clientStatusType.active"},
        }

    def savings_hit(self, s: Savings) -> dict[str, Any]:
        return {
            "entityId": s.id,
            "entityAccountNo": s.account_no,
            "entityExternalId": s.external_id,
            "entityName": "Passbook Savings",
            "entityType": "SAVING",
            "parentId": s.client_id,
            "parentName": self.clients[s.client_id].display_name,
            "entityStatus": self.status(s),
        }

    async def client(self, request: Request) -> Response:
        async def act() -> Any:
            c = self.clients.get(request.path_params["clientId"])
            if c is None:
                raise Refusal(404, "error.msg.client.id.invalid", "Client does not exist")
            return {
                "id": c.id,
                "accountNo": c.account_no,
                "externalId": c.external_id,
                "status": {"id": 300, "code": "clientStatusType.active", "value": "Active"},
                "active": True,
                "firstname": c.firstname,
                "lastname": c.lastname,
                "displayName": c.display_name,
                "mobileNo": c.mobile_no,
                "officeId": 1,
                "officeName": "Head Office",
            }

        return await self.handle(request, "client", act)

    async def client_accounts(self, request: Request) -> Response:
        async def act() -> Any:
            client_id = request.path_params["clientId"]
            if client_id not in self.clients:
                raise Refusal(404, "error.msg.client.id.invalid", "Client does not exist")
            return {
                "savingsAccounts": [
                    {
                        "id": s.id,
                        "accountNo": s.account_no,
                        "productId": 1,
                        "productName": "Passbook Savings",
                        "status": self.status(s),
                        "currency": _currency(s.currency),
                        "accountBalance": _number(s.balance),
                        "accountType": {"id": 1, "code": "accountType.individual"},
                    }
                    for s in self.savings.values()
                    if s.client_id == client_id
                ]
            }

        return await self.handle(request, "accounts", act)

    @staticmethod
    def status(s: Savings) -> dict[str, Any]:
        ids = {"submitted": 100, "active": 300, "closed": 600}
        return {
            "id": ids[s.status],
            "code": f"savingsAccountStatusType.{s.status}",
            "value": s.status.title(),
            "submittedAndPendingApproval": s.status == "submitted",
            "approved": s.status != "submitted",
            "rejected": False,
            "withdrawnByApplicant": False,
            "active": s.status == "active",
            "closed": s.status == "closed",
        }

    def transaction_data(self, s: Savings, t: Transaction) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": t.id,
            "transactionType": {
                "id": TYPES[t.kind],
                "code": f"savingsAccountTransactionType.{t.kind}",
                "value": t.kind,
                **{kind: kind == t.kind for kind in TYPES},
            },
            "accountId": s.id,
            "accountNo": s.account_no,
            "date": [t.on.year, t.on.month, t.on.day],
            "currency": _currency(s.currency),
            "amount": _number(t.amount),
            "reversed": False,
            "submittedOnDate": [t.on.year, t.on.month, t.on.day],
            "reasonForBlock": t.reason,
        }
        if t.release_id is not None:
            data["releaseTransactionId"] = t.release_id
        if t.receipt is not None:
            data["paymentDetailData"] = {
                "id": t.id,
                "paymentType": {"id": 1, "name": PAYMENT_TYPES[1]},
                "receiptNumber": t.receipt,
            }
        return data

    async def get_savings(self, request: Request) -> Response:
        async def act() -> Any:
            s = self.account(request)
            body: dict[str, Any] = {
                "id": s.id,
                "accountNo": s.account_no,
                "externalId": s.external_id,
                "clientId": s.client_id,
                "clientName": self.clients[s.client_id].display_name,
                "savingsProductId": 1,
                "savingsProductName": "Passbook Savings",
                "status": self.status(s),
                "subStatus": {
                    "id": 400 if s.block else 0,
                    "code": "SavingsAccountSubStatusEnum.none",
                    "none": not (s.block or s.block_credit or s.block_debit),
                    "block": s.block,
                    "blockCredit": s.block_credit,
                    "blockDebit": s.block_debit,
                },
                "currency": _currency(s.currency),
                "savingsAmountOnHold": _number(s.on_hold),
                "summary": {
                    "currency": _currency(s.currency),
                    "accountBalance": _number(s.balance),
                    "availableBalance": _number(s.available),
                },
            }
            if request.query_params.get("associations") == "transactions":
                body["transactions"] = [
                    self.transaction_data(s, t) for t in reversed(s.transactions)
                ]
            return body

        return await self.handle(request, "savings", act)

    async def get_transaction(self, request: Request) -> Response:
        async def act() -> Any:
            s = self.account(request)
            return self.transaction_data(s, self.find(s, request.path_params["transactionId"]))

        return await self.handle(request, "transaction", act)

    @staticmethod
    def find(s: Savings, transaction_id: int) -> Transaction:
        for t in s.transactions:
            if t.id == transaction_id:
                return t
        raise Refusal(
            404,
            "error.msg.saving.account.trasaction.id.invalid",
            f"Transaction with identifier {transaction_id} does not exist",
        )

    # --- commands -------------------------------------------------------------------------

    @staticmethod
    async def json_body(request: Request) -> dict[str, Any]:
        try:
            body = json.loads(await request.body() or b"{}", parse_float=Decimal)
        except ValueError:
            raise Refusal(400, "error.msg.invalid.json", "The JSON provided is invalid") from None
        if not isinstance(body, dict):
            raise Refusal(400, "error.msg.invalid.json", "The JSON provided is invalid")
        return body

    def amount_and_date(self, body: dict[str, Any], allowed: set[str]) -> Decimal:
        unknown = sorted(set(body) - allowed)
        if unknown:
            raise Refusal(400, "error.msg.parameter.unsupported", f"unsupported: {unknown}")
        if body.get("locale") is None or body.get("dateFormat") != "yyyy-MM-dd":
            raise Refusal(
                400,
                "validation.msg.savingsaccount.transaction.dateFormat.cannot.be.blank",
                "locale and a dateFormat (this fake: yyyy-MM-dd) are mandatory",
            )
        try:
            on = date.fromisoformat(str(body.get("transactionDate")))
            amount = Decimal(str(body.get("transactionAmount")))
        except (ValueError, InvalidOperation):
            raise Refusal(
                400,
                "validation.msg.savingsaccount.transaction.transactionAmount.invalid",
                "transactionDate and transactionAmount are mandatory",
            ) from None
        if on > self.today:
            raise Refusal(
                400,
                "validation.msg.savingsaccount.transaction.transactionDate.is.greater.than.date",
                "The transaction date cannot be in the future.",
            )
        if amount <= 0:
            raise Refusal(
                400,
                "validation.msg.savingsaccount.transaction.transactionAmount.not.greater.than.zero",
                "The parameter transactionAmount must be greater than 0.",
            )
        return amount

    @staticmethod
    def must_be_active(s: Savings) -> None:
        if s.status != "active":
            raise Refusal(
                403,
                "error.msg.savingsaccount.transaction.account.is.not.active",
                "Transaction is not allowed. Account is not active.",
            )

    @staticmethod
    def debit_allowed(s: Savings, amount: Decimal) -> None:
        if s.block:
            raise Refusal(
                403,
                "error.msg.saving.account.blocked.transaction.not.allowed",
                f"Any transactions to {s.id} is not allowed, since the account is blocked",
            )
        if s.block_debit:
            raise Refusal(
                403,
                "error.msg.savings.account.debit.transaction.not.allowed",
                f"Any Debit transactions to {s.id} is not allowed, since the account is blocked",
            )
        if s.available < amount:
            raise Refusal(
                403,
                "error.msg.savingsaccount.transaction.insufficient.account.balance",
                "Insufficient account balance.",
            )

    def result(self, s: Savings, transaction: Transaction) -> dict[str, Any]:
        return {
            "officeId": 1,
            "clientId": s.client_id,
            "savingsId": s.id,
            "resourceId": transaction.id,
            "changes": {},
        }

    async def transact(self, request: Request) -> Response:
        command = request.query_params.get("command", "")

        async def act() -> Any:
            s = self.account(request)
            body = await self.json_body(request)
            if command == "holdAmount":
                amount = self.amount_and_date(body, HOLD_PARAMS)
                self.must_be_active(s)
                self.debit_allowed(s, amount)
                reason = body.get("reasonForBlock")
                return self.result(s, self.book(s, "amountHold", amount, reason=reason))
            if command not in ("deposit", "withdrawal"):
                raise Refusal(400, "error.msg.unrecognized.query.param", f"command {command!r}")
            amount = self.amount_and_date(body, TRANSACTION_PARAMS)
            self.must_be_active(s)
            if command == "deposit" and (s.block or s.block_credit):
                raise Refusal(
                    403,
                    "error.msg.savings.account.credit.transaction.not.allowed",
                    f"Any Credit transactions to {s.id} is not allowed, since the account is "
                    "blocked for credits",
                )
            if command == "withdrawal":
                self.debit_allowed(s, amount)
            payment_type = body.get("paymentTypeId")
            if payment_type is not None and payment_type not in PAYMENT_TYPES:
                raise Refusal(404, "error.msg.paymenttype.id.invalid", "no such payment type")
            # Fineract keeps payment details (receiptNumber) only with a payment type.
            receipt = body.get("receiptNumber") if payment_type is not None else None
            return self.result(s, self.book(s, command, amount, receipt=receipt))

        return await self.handle(request, command, act)

    async def release(self, request: Request) -> Response:
        command = request.query_params.get("command", "")

        async def act() -> Any:
            s = self.account(request)
            if command != "releaseAmount":
                raise Refusal(400, "error.msg.unrecognized.query.param", f"command {command!r}")
            hold = self.find(s, request.path_params["transactionId"])
            if hold.kind != "amountHold" or hold.release_id is not None:
                raise Refusal(
                    403,
                    "error.msg.saving.account.release.amount.not.allowed",
                    "The transaction is no hold, or it is released already",
                )
            self.must_be_active(s)
            release = self.book(s, "amountRelease", hold.amount)
            hold.release_id, hold.reason = release.id, None
            return self.result(s, release)

        return await self.handle(request, "releaseAmount", act)
