"""Goal: the Outbound API's single-request endpoints (``GET /parties``, ``POST /quotes``,
``POST /simpleTransfers``, ``POST /accounts``, ``DELETE /accounts``) answer with the bodies and
statuses of the sdk-scheme-adapter Outbound API v2.1.0, log what they send and receive, and
keep a simple transfer as one idempotent ``OUTBOUND`` row, on SQLite and PostgreSQL.

Method: happy paths run between two real pm4ml DFSPs (the e2e pair: JWS both ways, the payee's
own ledger and quotes). Failure paths and the account lookup service run against a scripted
peer on loopback (:class:`FakePeer`) that plays the payee (signing as ``payeefsp``) and the
hub's ALS (signing as ``hub``), and can answer, stay silent, refuse with a 4xx or send an error
callback at each step. The request routes are mounted next to the lead's outbound app the way
the runtime is meant to mount them (:func:`outbound_app`).
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from pm4ml.config import load_settings
from pm4ml.flows.mapping import fspiop_datetime
from pm4ml.flows.states import TransferState
from pm4ml.fspiop import canonical
from pm4ml.fspiop.headers import V1_1
from pm4ml.fspiop.ilp import IlpV1
from pm4ml.fspiop.jws import JwsSigner
from pm4ml.runtime import Runtime
from pm4ml.server import Listener, bind, running
from pm4ml.store.schema import Job, Transfer
from pm4ml.transport.client import ClientOptions, FspiopClient
from tests.conftest import KeyPair, write_keys
from tests.e2e.conftest import PAYEE, PAYER, Pair, fresh_database
from tests.support import serve_app

SECRET = "fake-payee-ilp-secret"


def outbound_app(runtime: Runtime) -> Starlette:
    return runtime.outbound_app()


def later(seconds: float = 60) -> str:
    return fspiop_datetime(datetime.now(UTC) + timedelta(seconds=seconds))


def quote_request(amount: str = "12") -> dict[str, Any]:
    payer = {"partyIdType": "MSISDN", "partyIdentifier": PAYER.id_value, "fspId": "payerfsp"}
    payee = {"partyIdType": "MSISDN", "partyIdentifier": PAYEE.id_value, "fspId": "payeefsp"}
    return {
        "quoteId": str(uuid.uuid4()),
        "transactionId": str(uuid.uuid4()),
        "payee": {"partyIdInfo": payee},
        "payer": {"partyIdInfo": payer, "name": "Mats Hagman"},
        "amountType": "SEND",
        "amount": {"amount": amount, "currency": "USD"},
        "transactionType": {
            "scenario": "TRANSFER",
            "initiator": "PAYER",
            "initiatorType": "CONSUMER",
        },
        "expiration": later(),
    }


def transfer_request(quote: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """A ``transfersPostRequest`` built, as a backend would, from a quote's answer."""
    body = {
        "transferId": str(uuid.uuid4()),
        "payerFsp": "payerfsp",
        "payeeFsp": "payeefsp",
        "amount": quote["transferAmount"],
        "ilpPacket": quote["ilpPacket"],
        "condition": quote["condition"],
        "expiration": later(),
    }
    return {**body, **changes}


async def eventually(check: Callable[[], Awaitable[bool]], seconds: float = 8.0) -> None:
    for _ in range(int(seconds / 0.05)):
        if await check():
            return
        await asyncio.sleep(0.05)
    assert await check()


async def stored(runtime: Runtime, transfer_id: str) -> Transfer:
    async with runtime.store.reading() as session:
        row = await runtime.store.transfer(session, transfer_id)
    assert row is not None
    return row


async def logged(runtime: Runtime, key: str) -> list[tuple[str, str, str]]:
    """Direction, method and path of every logged message correlated with ``key``."""
    async with runtime.store.reading() as session:
        found = await runtime.store.messages_for(session, [key])
    return [(m.direction, m.method, m.path) for m in found]


# --- a scripted peer: payee DFSP and the hub's account lookup service ---------------------------


@dataclass
class FakePeer:
    """Answers each step by ``modes[step]``: ``ok``, ``silent``, ``refuse`` (HTTP 400 with an
    error body), an error code such as ``"5101"`` (error callback), or a step's own variants
    (``expired`` quote; ``bad_fulfilment`` or ``abort`` transfer). Steps: ``parties``,
    ``quotes``, ``transfers``, ``transfer_status`` (``GET /transfers``), ``participants``
    (``POST``) and ``delete`` (``DELETE /participants``). The ALS refuses an account whose
    id is ``refused`` with 3003, as a ``PartyResult`` error."""

    keys: dict[str, KeyPair]
    modes: dict[str, str] = field(default_factory=dict)
    url: str = ""
    seen: list[tuple[str, str]] = field(default_factory=list)
    bodies: list[Any] = field(default_factory=list)
    clients: dict[str, FspiopClient] = field(default_factory=dict)
    tasks: set[asyncio.Task[None]] = field(default_factory=set)
    ilp: IlpV1 = field(default_factory=lambda: IlpV1(SECRET))

    def connect(self, payer_inbound_url: str) -> None:
        for source in ("payeefsp", "hub"):
            options = ClientOptions(base_url=payer_inbound_url, source=source)
            self.clients[source] = FspiopClient(options, JwsSigner(self.keys[source].private_pem))

    async def close(self) -> None:
        for task in list(self.tasks):
            task.cancel()
        for client in self.clients.values():
            await client.aclose()

    def count(self, method: str, prefix: str) -> int:
        return sum(1 for m, p in self.seen if m == method and p.startswith(prefix))

    def sent(self, method: str, path: str) -> list[Any]:
        """The bodies of the requests received with this method and path, in order."""
        pairs = zip(self.seen, self.bodies, strict=True)
        return [body for (m, p), body in pairs if (m, p) == (method, path)]

    async def handle(self, request: Request) -> Response:
        method, path = request.method, request.url.path
        body = canonical.loads(await request.body() or b"null")
        self.seen.append((method, path))
        self.bodies.append(body)
        step = _step(method, path)
        mode = self.modes.get(step, "ok")
        if mode == "refuse":
            error = {"errorInformation": {"errorCode": "3101", "errorDescription": "refused"}}
            return Response(canonical.dumps(error), 400, media_type="application/json")
        if mode != "silent":
            task = asyncio.get_running_loop().create_task(self._answer(step, mode, path, body))
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)
        return Response(status_code=202)

    async def _answer(self, step: str, mode: str, path: str, body: Any) -> None:
        await asyncio.sleep(0.01)  # after the 202, like a real peer
        source = "hub" if step in ("participants", "delete") else "payeefsp"
        if step == "quotes":
            path += "/" + body["quoteId"]
        elif step == "transfers":
            path += "/" + body["transferId"]
        elif step == "participants":
            path += "/" + body["requestId"]
        if mode.isdigit():
            error = {"errorInformation": {"errorCode": mode, "errorDescription": "scripted"}}
            await self._put(source, path + "/error", error)
            return
        await self._put(source, path, self._success(step, mode, path, body))

    def _success(self, step: str, mode: str, path: str, body: Any) -> dict[str, Any]:
        now = fspiop_datetime(datetime.now(UTC))
        if step == "parties":
            _, _, id_type, id_value = path.split("/")[:4]
            info = {"partyIdType": id_type, "partyIdentifier": id_value, "fspId": "payeefsp"}
            return {"party": {"partyIdInfo": info, "name": "Fake Payee"}}
        if step == "quotes":
            expiration = later(-5 if mode == "expired" else 60)
            answer = {"transferAmount": body["amount"], "expiration": expiration}
            terms = self.ilp.quote_terms(body, answer)
            return {**answer, "ilpPacket": terms.packet, "condition": terms.condition}
        if step in ("transfers", "transfer_status"):
            transfer_id = path.rsplit("/", 1)[1]
            if mode == "abort":
                return {"transferState": "ABORTED", "completedTimestamp": now}
            posted = self.sent("POST", "/transfers")[-1]
            packet = posted["ilpPacket"]
            fulfilment = (
                "A" * 43 if mode == "bad_fulfilment" else self.ilp.fulfilment_for_packet(packet)
            )
            assert transfer_id == posted["transferId"]
            return {
                "transferState": "COMMITTED",
                "fulfilment": fulfilment,
                "completedTimestamp": now,
            }
        if step == "participants":
            results = []
            for info in body["partyList"]:
                result: dict[str, Any] = {"partyId": info}
                if info["partyIdentifier"] == "refused":
                    result["errorInformation"] = {"errorCode": "3003", "errorDescription": "no"}
                results.append(result)
            return {
                "partyList": results,
                **({"currency": body["currency"]} if "currency" in body else {}),
            }
        return {"fspId": "payerfsp"}  # delete

    async def _put(self, source: str, path: str, body: dict[str, Any]) -> None:
        client = self.clients[source]
        await client.send("PUT", path, canonical.dumps(body), destination="payerfsp", version=V1_1)

    def app(self) -> Starlette:
        methods = ["GET", "POST", "PUT", "DELETE"]
        return Starlette(routes=[Route("/{path:path}", self.handle, methods=methods)])


def _step(method: str, path: str) -> str:
    resource = path.strip("/").split("/", 1)[0]
    if resource == "transfers" and method == "GET":
        return "transfer_status"
    if resource == "participants":
        return "delete" if method == "DELETE" else "participants"
    return resource


@dataclass
class Env:
    """One pm4ml DFSP (``payerfsp``) whose hub is the fake peer."""

    runtime: Runtime
    peer: FakePeer
    url: str
    http: httpx.AsyncClient

    def terms(self, amount: str = "12") -> dict[str, Any]:
        """A quote answer as the fake payee would give it, made without asking it."""
        request = quote_request(amount)
        answer = {"transferAmount": request["amount"], "expiration": later()}
        terms = self.peer.ilp.quote_terms(request, answer)
        return {**answer, "ilpPacket": terms.packet, "condition": terms.condition}

    async def simple_transfer(self, body: dict[str, Any]) -> httpx.Response:
        request = {"fspId": "payeefsp", "transfersPostRequest": body}
        return await self.http.post(self.url + "/simpleTransfers", json=request)


@dataclass
class EnvFactory:
    tmp_path: Path
    kind: str
    keys: dict[str, KeyPair]

    @contextlib.asynccontextmanager
    async def __call__(self, **modes: str) -> AsyncIterator[Env]:
        async with contextlib.AsyncExitStack() as stack:
            peer = FakePeer(self.keys, dict(modes))
            peer.url = await stack.enter_async_context(serve_app(peer.app()))
            stack.push_async_callback(peer.close)
            files = write_keys(
                self.tmp_path / "payerfsp", "payerfsp", self.keys, ["payeefsp", "hub"]
            )
            settings = load_settings(
                dfsp_id="payerfsp",
                peer_endpoint=peer.url,
                database_url=await fresh_database(self.kind, self.tmp_path, "payerfsp", stack),
                jws_signing_key_path=files.signing_key,
                jws_verification_keys_dir=files.verification_dir,
                ilp_secret="payer-ilp-secret",
                callback_wait_seconds_max=1.0,
            )
            runtime = Runtime.create(settings)
            inbound, outbound = bind("127.0.0.1", 0), bind("127.0.0.1", 0)
            peer.connect(f"http://127.0.0.1:{inbound.getsockname()[1]}")
            listeners = [
                Listener("in", runtime.inbound_app(), "127.0.0.1", 0, inbound),
                Listener("out", outbound_app(runtime), "127.0.0.1", 0, outbound),
            ]
            await stack.enter_async_context(running(runtime, listeners))
            http = await stack.enter_async_context(httpx.AsyncClient(timeout=30))
            yield Env(runtime, peer, f"http://127.0.0.1:{outbound.getsockname()[1]}", http)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def env_factory(
    request: pytest.FixtureRequest, tmp_path: Path, rsa_keys: dict[str, KeyPair]
) -> EnvFactory:
    return EnvFactory(tmp_path, request.param, rsa_keys)


# --- between two pm4ml DFSPs ---------------------------------------------------------------------


async def test_party_lookup_finds_the_payee_and_reports_an_unknown_party(pair: Pair) -> None:
    runtime = pair.payer.runtime
    async with serve_app(outbound_app(runtime)) as url:
        found = await pair.http.get(f"{url}/parties/MSISDN/{PAYEE.id_value}")
        missing = await pair.http.get(f"{url}/parties/MSISDN/000000")
    assert found.status_code == 200, found.text
    body = found.json()
    assert body["currentState"] == "COMPLETED"
    assert body["party"]["body"]["partyIdInfo"]["fspId"] == "payeefsp"
    assert body["party"]["body"]["name"] == "Payee Person"
    assert body["party"]["headers"]["fspiop-source"] == "payeefsp"
    path = f"/parties/MSISDN/{PAYEE.id_value}"
    assert await logged(runtime, path.strip("/")) == [("OUT", "GET", path), ("IN", "PUT", path)]

    assert missing.status_code == 404, missing.text
    assert missing.json()["errorInformation"]["errorCode"] == "3204"


async def test_simple_quote_and_transfer_move_money_at_the_payee_only(pair: Pair) -> None:
    """The backend's own quote and transfer: the payee is credited; the payer's CBS is not
    touched (the backend keeps its own books); the transfer is one idempotent row."""
    runtime = pair.payer.runtime
    async with serve_app(outbound_app(runtime)) as url:
        request = quote_request("12")
        quoted = await pair.http.post(
            f"{url}/quotes", json={"fspId": "payeefsp", "quotesPostRequest": request}
        )
        assert quoted.status_code == 200, quoted.text
        quote = quoted.json()["quotes"]["body"]
        assert quoted.json()["currentState"] == "COMPLETED"
        assert quote["transferAmount"] == {"amount": "12", "currency": "USD"}
        assert await logged(runtime, request["quoteId"]) == [
            ("OUT", "POST", "/quotes"),
            ("IN", "PUT", f"/quotes/{request['quoteId']}"),
        ]

        body = transfer_request(quote)
        transfer = {"fspId": "payeefsp", "transfersPostRequest": body}
        sent = await pair.http.post(f"{url}/simpleTransfers", json=transfer)
        assert sent.status_code == 200, sent.text
        assert sent.json()["currentState"] == "COMPLETED"
        assert sent.json()["transfer"]["body"]["transferState"] == "COMMITTED"
        assert sent.json()["transfer"]["headers"]["fspiop-source"] == "payeefsp"

        again = await pair.http.post(f"{url}/simpleTransfers", json=transfer)
        assert again.json() == sent.json()
        changed = {**transfer, "fspId": "otherfsp"}
        modified = await pair.http.post(f"{url}/simpleTransfers", json=changed)
        assert modified.status_code == 400
        assert modified.json()["statusCode"] == "3106"

    transfer_id = body["transferId"]
    row = await stored(runtime, transfer_id)
    assert (row.direction, row.state, row.quote_id) == ("OUTBOUND", "COMMITTED", request["quoteId"])
    assert await logged(runtime, transfer_id) == [
        ("OUT", "POST", "/transfers"),
        ("IN", "PUT", f"/transfers/{transfer_id}"),
    ]
    status = await pair.http.get(f"{pair.payer.outbound_url}/transfers/{transfer_id}")
    assert status.json()["currentState"] == "COMPLETED"
    await eventually(lambda: _balance_is(pair, Decimal(12)))
    assert await pair.payer.balance(PAYER) == (Decimal(1000), Decimal(0))


async def _balance_is(pair: Pair, amount: Decimal) -> bool:
    return await pair.payee.balance(PAYEE) == (amount, Decimal(0))


# --- against the scripted peer -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mode", "status", "code"),
    [("silent", 504, "2004"), ("refuse", 500, "3101"), ("5000", 404, "5000")],
    ids=["timeout", "refused", "error-callback"],
)
async def test_party_lookup_failures(
    env_factory: EnvFactory, mode: str, status: int, code: str
) -> None:
    async with env_factory(parties=mode) as env:
        response = await env.http.get(env.url + "/parties/BUSINESS/shop/till-1")
    assert response.status_code == status, response.text
    body = response.json()
    found = body["errorInformation"]["errorCode"] if status == 404 else body["statusCode"]
    assert found == code
    assert env.peer.seen == [("GET", "/parties/BUSINESS/shop/till-1")]


async def test_party_lookup_with_a_sub_id(env_factory: EnvFactory) -> None:
    async with env_factory() as env:
        response = await env.http.get(env.url + "/parties/BUSINESS/shop/till-1")
    assert response.status_code == 200, response.text
    assert response.json()["party"]["body"]["name"] == "Fake Payee"


@pytest.mark.parametrize(
    ("mode", "status", "code"),
    [
        ("5101", 500, "5101"),
        ("silent", 504, "2004"),
        ("refuse", 500, "3101"),
        ("expired", 500, "3302"),
    ],
    ids=["error-callback", "timeout", "refused", "expired-quote"],
)
async def test_quote_failures(env_factory: EnvFactory, mode: str, status: int, code: str) -> None:
    async with env_factory(quotes=mode) as env:
        body = {"fspId": "payeefsp", "quotesPostRequest": quote_request()}
        response = await env.http.post(env.url + "/quotes", json=body)
    assert response.status_code == status, response.text
    assert response.json()["statusCode"] == code
    assert set(response.json()) == {"statusCode", "message"}


@pytest.mark.parametrize(
    ("mode", "status", "code", "state"),
    [
        ("bad_fulfilment", 500, "3100", TransferState.ABORTED),
        ("abort", 500, "5104", TransferState.ABORTED),
        ("5105", 500, "5105", TransferState.ABORTED),
        ("refuse", 500, "3101", TransferState.ABORTED),
        ("silent", 504, "2004", TransferState.TRANSFER_SENT),
    ],
    ids=["bad-fulfilment", "aborted", "error-callback", "refused", "timeout"],
)
async def test_simple_transfer_failures(
    env_factory: EnvFactory, mode: str, status: int, code: str, state: TransferState
) -> None:
    async with env_factory(transfers=mode) as env:
        body = transfer_request(env.terms())
        response = await env.simple_transfer(body)
        assert response.status_code == status, response.text
        assert response.json()["statusCode"] == code
        row = await stored(env.runtime, body["transferId"])
    assert row.state == state
    assert (row.data["simple"], row.condition, row.peer_fsp) == (
        True,
        body["condition"],
        "payeefsp",
    )


async def test_simple_transfer_with_unknown_outcome_is_settled_by_a_repeat(
    env_factory: EnvFactory,
) -> None:
    """The answer never came; the same request again asks the hub (``GET /transfers``) and
    reports what it says, without a second ``POST /transfers``."""
    async with env_factory(transfers="silent") as env:
        body = transfer_request(env.terms())
        first = await env.simple_transfer(body)
        assert first.status_code == 504, first.text
        second = await env.simple_transfer(body)
        assert second.status_code == 200, second.text
        assert second.json()["transfer"]["body"]["transferState"] == "COMMITTED"
        row = await stored(env.runtime, body["transferId"])
    assert row.state == TransferState.COMMITTED
    assert env.peer.count("POST", "/transfers") == 1
    assert env.peer.count("GET", "/transfers/") == 1


async def test_simple_transfer_repeated_after_its_expiration_gets_the_stored_outcome(
    env_factory: EnvFactory,
) -> None:
    async with env_factory() as env:
        body = transfer_request(env.terms())
        first = await env.simple_transfer(body)
        assert first.status_code == 200, first.text
        env.runtime.ctx.clock = lambda: datetime.now(UTC) + timedelta(minutes=5)
        again = await env.simple_transfer(body)
    assert (again.status_code, again.json()) == (200, first.json())
    assert env.peer.count("POST", "/transfers") == 1


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"payerFsp": "otherfsp"}, "3100"),
        ({"expiration": "2020-01-01T00:00:00.000Z"}, "3303"),
        ({"condition": None}, "3102"),
        ({"ilpPacket": "not a packet!"}, "3100"),
    ],
    ids=["not-our-transfer", "expired", "no-condition", "bad-packet"],
)
async def test_simple_transfer_refused_before_sending(
    env_factory: EnvFactory, changes: dict[str, Any], code: str
) -> None:
    async with env_factory() as env:
        body = {k: v for k, v in transfer_request(env.terms(), **changes).items() if v is not None}
        response = await env.simple_transfer(body)
        async with env.runtime.store.reading() as session:
            row = await env.runtime.store.transfer(session, body["transferId"])
    assert response.status_code == 400, response.text
    assert response.json()["statusCode"] == code
    assert row is None
    assert env.peer.seen == []


async def test_simple_transfer_queues_no_cbs_work(env_factory: EnvFactory) -> None:
    async with env_factory() as env:
        body = transfer_request(env.terms())
        response = await env.simple_transfer(body)
        assert response.status_code == 200, response.text
        async with env.runtime.store.reading() as session:
            query = select(Job.kind).where(Job.transfer_id == body["transferId"])
            kinds = list((await session.execute(query)).scalars())
    assert "cbs" not in kinds


async def test_accounts_are_registered_per_currency(env_factory: EnvFactory) -> None:
    accounts = [
        {"idType": "MSISDN", "idValue": "111", "currency": "USD"},
        {"idType": "ACCOUNT_ID", "idValue": "222", "idSubValue": "savings", "currency": "EUR"},
        {"idType": "MSISDN", "idValue": "refused", "currency": "USD"},
    ]
    async with env_factory() as env:
        response = await env.http.post(env.url + "/accounts", json=accounts)
        assert response.status_code == 200, response.text
        body = response.json()
        requests = env.peer.sent("POST", "/participants")
        first_key = f"participants/{requests[0]['requestId']}"
        log = await logged(env.runtime, first_key)
    assert body["currentState"] == "COMPLETED"
    assert body["accounts"] == accounts
    assert uuid.UUID(body["modelId"])
    assert body["response"] == [
        {"idType": "MSISDN", "idValue": "111"},
        {
            "idType": "MSISDN",
            "idValue": "refused",
            "error": {"statusCode": "3003", "message": "no"},
        },
        {"idType": "ACCOUNT_ID", "idValue": "222", "idSubValue": "savings"},
    ]
    assert body["postAccountsResponse"]["body"]["currency"] == "EUR"
    assert body["postAccountsResponse"]["headers"]["fspiop-source"] == "hub"
    assert [(r["currency"], len(r["partyList"])) for r in requests] == [("USD", 2), ("EUR", 1)]
    assert {p["fspId"] for r in requests for p in r["partyList"]} == {"payerfsp"}
    assert log == [("OUT", "POST", "/participants"), ("IN", "PUT", "/" + first_key)]


@pytest.mark.parametrize(
    ("mode", "status", "code"),
    [("3003", 500, "3003"), ("silent", 504, "2004"), ("refuse", 500, "3101")],
    ids=["error-callback", "timeout", "refused"],
)
async def test_account_registration_failures(
    env_factory: EnvFactory, mode: str, status: int, code: str
) -> None:
    accounts = [{"idType": "MSISDN", "idValue": "111", "currency": "USD"}]
    async with env_factory(participants=mode) as env:
        response = await env.http.post(env.url + "/accounts", json=accounts)
    assert response.status_code == status, response.text
    body = response.json()
    assert body["statusCode"] == code
    state = body["executionState"]
    assert (state["currentState"], state["accounts"], state["response"]) == (
        "ERROR_OCCURRED",
        accounts,
        [],
    )
    assert state["lastError"]["httpStatusCode"] == status
    assert state["lastError"]["mojaloopError"]["errorInformation"]["errorCode"] == code


@pytest.mark.parametrize(
    ("mode", "status", "code"),
    [("ok", 200, None), ("3204", 500, "3204"), ("silent", 504, "2004")],
    ids=["deleted", "not-found", "timeout"],
)
async def test_account_deletion(
    env_factory: EnvFactory, mode: str, status: int, code: str | None
) -> None:
    async with env_factory(delete=mode) as env:
        response = await env.http.delete(env.url + "/accounts/ACCOUNT_ID/222/savings")
        log = await logged(env.runtime, "participants/ACCOUNT_ID/222/savings")
    assert response.status_code == status, response.text
    assert env.peer.seen == [("DELETE", "/participants/ACCOUNT_ID/222/savings")]
    body = response.json()
    if code is None:
        assert body == {
            "idType": "ACCOUNT_ID",
            "idValue": "222",
            "subIdOrType": "savings",
            "response": [{"fspId": "payerfsp"}],
            "currentState": "COMPLETED",
            "deleteAccountResponse": {
                "body": {"fspId": "payerfsp"},
                "headers": body["deleteAccountResponse"]["headers"],
            },
        }
        assert log[0][:2] == ("OUT", "DELETE") and log[1][:2] == ("IN", "PUT")
        return
    assert body["statusCode"] == code
    assert body["executionState"]["accounts"] == [
        {"idType": "ACCOUNT_ID", "idValue": "222", "idSubValue": "savings"}
    ]
    assert body["executionState"]["currentState"] == "ERROR_OCCURRED"


async def test_bad_requests_are_refused_with_400(env_factory: EnvFactory) -> None:
    async with env_factory() as env:
        answers = [
            await env.http.get(env.url + "/parties/PHONE/123"),
            await env.http.post(env.url + "/accounts", json={"accounts": []}),
            await env.http.post(env.url + "/accounts", json=[{"idType": "MSISDN"}]),
            await env.http.delete(env.url + "/accounts/MSISDN/" + "9" * 129),
            await env.http.post(env.url + "/quotes", json={"fspId": "payeefsp"}),
            await env.http.post(
                env.url + "/quotes",
                json={"fspId": "payeefsp", "quotesPostRequest": {**quote_request(), "x": 1}},
            ),
            await env.http.post(env.url + "/simpleTransfers", content=b"{"),
        ]
    assert [a.status_code for a in answers] == [400] * len(answers)
    codes = [a.json()["statusCode"] for a in answers]
    assert codes == ["3100", "3100", "3102", "3100", "3102", "3100", "3101"]
    assert "quotesPostRequest.x" in answers[5].json()["message"]
    assert env.peer.seen == []
