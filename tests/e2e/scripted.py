"""A scripted payee DFSP for payer-side failure tests: a real FSPIOP peer on loopback whose
answer to each step can be chosen (answer, stay silent, send an error, send a bad fulfilment,
abort), signing its callbacks with the ``payeefsp`` key like a real payee."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from pm4ml.flows.mapping import fspiop_datetime
from pm4ml.fspiop import canonical
from pm4ml.fspiop.headers import V1_1
from pm4ml.fspiop.ilp import IlpV1
from pm4ml.fspiop.jws import JwsSigner
from pm4ml.transport.client import ClientOptions, FspiopClient
from tests.support import serve_app

SECRET = "scripted-payee-secret"


@dataclass
class Script:
    """What the scripted payee does at each step: ``ok``, ``silent``, an error code such as
    ``"5100"``, ``bad_fulfilment`` or ``abort`` (transfer step only)."""

    party: str = "ok"
    quote: str = "ok"
    transfer: str = "ok"
    status: str = "silent"  # answer to GET /transfers: silent, COMMITTED, ABORTED
    fulfilments: dict[str, str] = field(default_factory=dict)


@dataclass
class ScriptedPayee:
    script: Script
    signer: JwsSigner
    payer_url: str = ""
    url: str = ""
    client: FspiopClient | None = None
    ilp: IlpV1 = field(default_factory=lambda: IlpV1(SECRET))
    tasks: set[asyncio.Task[None]] = field(default_factory=set)
    seen: list[str] = field(default_factory=list)

    def later(self, coroutine: Any) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def put(self, path: str, body: dict[str, Any]) -> None:
        assert self.client is not None
        await asyncio.sleep(0.01)
        await self.client.send(
            "PUT", path, canonical.dumps(body), destination="payerfsp", version=V1_1
        )

    async def error(self, path: str, code: str) -> None:
        body = {"errorInformation": {"errorCode": code, "errorDescription": "scripted"}}
        await self.put(path + "/error", body)

    async def handle(self, request: Request) -> Response:
        path = request.url.path
        body = canonical.loads(await request.body() or b"null")
        self.seen.append(f"{request.method} {path}")
        if request.method == "GET" and path.startswith("/parties/"):
            self.later(self._party(path))
        elif request.method == "POST" and path == "/quotes":
            self.later(self._quote(body))
        elif request.method == "POST" and path == "/transfers":
            self.later(self._transfer(body))
        elif request.method == "GET" and path.startswith("/transfers/"):
            self.later(self._status(path))
        return Response(status_code=200 if request.method == "PUT" else 202)

    async def _party(self, path: str) -> None:
        step = self.script.party
        if step == "silent":
            return
        if step != "ok":
            await self.error(path, step)
            return
        _, _, id_type, id_value = path.split("/")[:4]
        info = {"partyIdType": id_type, "partyIdentifier": id_value, "fspId": "payeefsp"}
        await self.put(path, {"party": {"partyIdInfo": info, "name": "Scripted Payee"}})

    async def _quote(self, request: dict[str, Any]) -> None:
        path = f"/quotes/{request['quoteId']}"
        step = self.script.quote
        if step == "silent":
            return
        if step != "ok":
            await self.error(path, step)
            return
        expiration = fspiop_datetime(datetime.now(UTC) + timedelta(seconds=60))
        answer = {"transferAmount": request["amount"], "expiration": expiration}
        terms = self.ilp.quote_terms(request, answer)
        self.script.fulfilments[request["transactionId"]] = terms.fulfilment
        answer.update(ilpPacket=terms.packet, condition=terms.condition)
        await self.put(path, answer)

    async def _transfer(self, request: dict[str, Any]) -> None:
        transfer_id = request["transferId"]
        path = f"/transfers/{transfer_id}"
        step = self.script.transfer
        now = fspiop_datetime(datetime.now(UTC))
        if step == "silent":
            return
        if step == "abort":
            await self.put(path, {"transferState": "ABORTED", "completedTimestamp": now})
        elif step == "bad_fulfilment":
            bad = "A" * 43
            await self.put(path, {"transferState": "COMMITTED", "fulfilment": bad,
                                  "completedTimestamp": now})  # fmt: skip
        elif step == "ok":
            fulfilment = self.ilp.fulfilment_for_packet(request["ilpPacket"])
            await self.put(path, {"transferState": "COMMITTED", "fulfilment": fulfilment,
                                  "completedTimestamp": now})  # fmt: skip
        else:
            await self.error(path, step)

    async def _status(self, path: str) -> None:
        transfer_id = path.rsplit("/", 1)[1]
        now = fspiop_datetime(datetime.now(UTC))
        if self.script.status == "COMMITTED":
            fulfilment = self.script.fulfilments[transfer_id]
            await self.put(path, {"transferState": "COMMITTED", "fulfilment": fulfilment,
                                  "completedTimestamp": now})  # fmt: skip
        elif self.script.status == "ABORTED":
            await self.error(path, "3303")


@contextlib.asynccontextmanager
async def scripted_payee(script: Script, signing_key: bytes) -> AsyncIterator[ScriptedPayee]:
    peer = ScriptedPayee(script, JwsSigner(signing_key))
    app = Starlette(routes=[Route("/{path:path}", peer.handle, methods=["GET", "POST", "PUT"])])
    async with serve_app(app) as url:
        peer.url = url
        yield peer
        for task in list(peer.tasks):
            task.cancel()
        if peer.client is not None:
            await peer.client.aclose()


def connect(peer: ScriptedPayee, payer_inbound_url: str) -> None:
    """Point the scripted payee's callbacks at the payer's inbound server."""
    peer.payer_url = payer_inbound_url
    peer.client = FspiopClient(ClientOptions(base_url=payer_inbound_url, source="payeefsp"),
                               peer.signer)  # fmt: skip
