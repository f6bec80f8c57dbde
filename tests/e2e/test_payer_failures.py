"""Payer-side failures, each ending in its documented state with the CBS hold released (or the
money debited exactly once when the hub did commit).

Method: one real pm4ml payer (inbound + outbound servers, ledger, SQLite or PostgreSQL) against
a scripted payee on loopback that answers, refuses, stays silent or cheats at a chosen step.
Restarts are a second runtime on the same database.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from pm4ml.config import load_settings
from pm4ml.flows.states import TransferState
from pm4ml.runtime import Runtime
from pm4ml.server import Listener, bind, running
from pm4ml_ledger import AccountExists, Ledger
from tests.conftest import KeyPair, _admin, write_keys
from tests.e2e.conftest import PAYER, fresh_database
from tests.e2e.scripted import Script, ScriptedPayee, connect, scripted_payee


@dataclass
class PayerEnv:
    runtime: Runtime
    ledger: Ledger
    outbound: str
    http: httpx.AsyncClient
    peer: ScriptedPayee

    async def send(self, amount: str = "10") -> httpx.Response:
        body = {
            "homeTransactionId": str(uuid.uuid4()),
            "from": {"idType": "MSISDN", "idValue": PAYER.id_value},
            "to": {"idType": "MSISDN", "idValue": "27713803912"},
            "amountType": "SEND",
            "currency": "USD",
            "amount": amount,
            "transactionType": "TRANSFER",
        }
        return await self.http.post(self.outbound + "/transfers", json=body)

    async def money(self) -> tuple[Decimal, Decimal]:
        found = await self.ledger.balance(PAYER, "USD")
        return found.balance, found.held

    async def state(self, transfer_id: str) -> str:
        async with self.runtime.store.reading() as session:
            row = await self.runtime.store.transfer(session, transfer_id)
        assert row is not None
        return row.state


@dataclass
class PayerFactory:
    tmp_path: Path
    kind: str
    keys: dict[str, KeyPair]
    url: str = ""

    @contextlib.asynccontextmanager
    async def __call__(self, script: Script, **extra: Any) -> AsyncIterator[PayerEnv]:
        async with contextlib.AsyncExitStack() as stack:
            if not self.url:  # kept across a restart; the fixture drops it at the end
                self.url = await fresh_database(self.kind, self.tmp_path, "payer", None)
            peer = await stack.enter_async_context(
                scripted_payee(script, self.keys["payeefsp"].private_pem)
            )
            files = write_keys(self.tmp_path / "payer", "payerfsp", self.keys, ["payeefsp"])
            settings = load_settings(
                dfsp_id="payerfsp",
                peer_endpoint=peer.url,
                database_url=self.url,
                jws_signing_key_path=files.signing_key,
                jws_verification_keys_dir=files.verification_dir,
                ilp_secret="payer-ilp-secret",
                sweeper_interval_seconds=0.1,
                callback_wait_seconds_max=1.0,
                **extra,
            )
            runtime = Runtime.create(settings)
            ledger = Ledger(runtime.store.engine)
            with contextlib.suppress(AccountExists):
                await ledger.open_account(PAYER, "USD", balance=Decimal(100))
            inbound, outbound = bind("127.0.0.1", 0), bind("127.0.0.1", 0)
            inbound_url = f"http://127.0.0.1:{inbound.getsockname()[1]}"
            connect(peer, inbound_url)
            listeners = [
                Listener("in", runtime.inbound_app(), "127.0.0.1", 0, inbound),
                Listener("out", runtime.outbound_app(), "127.0.0.1", 0, outbound),
            ]
            await stack.enter_async_context(running(runtime, listeners))
            http = await stack.enter_async_context(httpx.AsyncClient(timeout=30))
            outbound_url = f"http://127.0.0.1:{outbound.getsockname()[1]}"
            yield PayerEnv(runtime, ledger, outbound_url, http, peer)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
async def payer_factory(
    request: pytest.FixtureRequest, tmp_path: Path, rsa_keys: dict[str, KeyPair]
) -> AsyncIterator[PayerFactory]:
    factory = PayerFactory(tmp_path, request.param, rsa_keys)
    yield factory
    if request.param == "postgresql" and factory.url:
        await _admin(f'DROP DATABASE IF EXISTS "{factory.url.rsplit("/", 1)[1]}" WITH (FORCE)')


async def eventually(check: Any, seconds: float = 8.0) -> None:
    for _ in range(int(seconds / 0.05)):
        if await check():
            return
        await asyncio.sleep(0.05)
    assert await check()


async def test_happy_path_against_the_scripted_payee(payer_factory: PayerFactory) -> None:
    async with payer_factory(Script()) as env:
        response = await env.send("10")
        assert response.json()["currentState"] == "COMPLETED", response.text
        await eventually(lambda: _equals(env.money(), (Decimal(90), Decimal(0))))


@pytest.mark.parametrize(
    ("script", "status", "code"),
    [
        (Script(party="3204"), 500, "3204"),
        (Script(party="silent"), 504, "2004"),
        (Script(quote="5101"), 500, "5101"),
        (Script(quote="silent"), 504, "2004"),
    ],
    ids=["party-not-found", "party-timeout", "quote-refused", "quote-timeout"],
)
async def test_failures_before_any_hold(
    payer_factory: PayerFactory, script: Script, status: int, code: str
) -> None:
    async with payer_factory(script) as env:
        response = await env.send("10")
        assert response.status_code == status, response.text
        assert response.json()["statusCode"] == code
        transfer_id = response.json()["transferState"]["transferId"]
        assert await env.state(transfer_id) == TransferState.FAILED
        assert await env.money() == (Decimal(100), Decimal(0))


@pytest.mark.parametrize(
    ("step", "code"),
    [("abort", "5104"), ("5105", "5105"), ("bad_fulfilment", "3100")],
    ids=["aborted", "error-callback", "bad-fulfilment"],
)
async def test_transfer_refused_releases_the_hold(
    payer_factory: PayerFactory, step: str, code: str
) -> None:
    async with payer_factory(Script(transfer=step)) as env:
        response = await env.send("10")
        assert response.status_code == 500, response.text
        body = response.json()
        assert body["statusCode"] == code
        assert await env.state(body["transferState"]["transferId"]) == TransferState.ABORTED
        await eventually(lambda: _equals(env.money(), (Decimal(100), Decimal(0))))


async def test_transfer_timeout_keeps_the_hold_until_the_hub_answers(
    payer_factory: PayerFactory,
) -> None:
    async with payer_factory(
        Script(transfer="silent", status="COMMITTED"), expiry_seconds=2
    ) as env:
        response = await env.send("10")
        assert response.status_code == 504, response.text
        transfer_id = response.json()["transferState"]["transferId"]
        assert await env.money() == (Decimal(100), Decimal(10))  # held, outcome unknown
        # After expiry the sweeper asks the hub, which says COMMITTED: debited exactly once.
        await eventually(lambda: _state_is(env, transfer_id, TransferState.COMMITTED))
        await eventually(lambda: _equals(env.money(), (Decimal(90), Decimal(0))))


async def test_transfer_timeout_with_a_silent_hub_releases_after_grace(
    payer_factory: PayerFactory,
) -> None:
    async with payer_factory(Script(transfer="silent"), expiry_seconds=2) as env:
        response = await env.send("10")
        transfer_id = response.json()["transferState"]["transferId"]
        await eventually(lambda: _state_is(env, transfer_id, TransferState.ABORTED), 10)
        await eventually(lambda: _equals(env.money(), (Decimal(100), Decimal(0))))
        assert "GET /transfers/" + transfer_id in env.peer.seen


async def test_hub_unreachable_fails_without_holding(
    payer_factory: PayerFactory, tmp_path: Path
) -> None:
    async with payer_factory(Script()) as env:
        closed = bind("127.0.0.1", 0)
        port = closed.getsockname()[1]
        closed.close()
        env.runtime.client._http.base_url = httpx.URL(f"http://127.0.0.1:{port}")
        response = await env.send("10")
        assert response.status_code == 500, response.text
        assert response.json()["statusCode"] == "1001"
        assert await env.money() == (Decimal(100), Decimal(0))


async def test_payer_restart_mid_transfer_settles_once(payer_factory: PayerFactory) -> None:
    script = Script(transfer="silent", status="COMMITTED")
    async with payer_factory(script, expiry_seconds=3) as env:
        request = asyncio.create_task(env.send("10"))
        await eventually(lambda: _any_in_state(env, TransferState.TRANSFER_SENT))
        request.cancel()
        with contextlib.suppress(asyncio.CancelledError, httpx.HTTPError):
            await request
        env.runtime.background.cancel_all()
    async with payer_factory(script, expiry_seconds=3) as env:
        # The new process finds the transfer in TRANSFER_SENT; after expiry it asks the hub.
        await eventually(lambda: _equals(env.money(), (Decimal(90), Decimal(0))), 15)
        await asyncio.sleep(0.5)
        assert await env.money() == (Decimal(90), Decimal(0))


async def _equals(value: Any, expected: Any) -> bool:
    return bool(await value == expected)


async def _state_is(env: PayerEnv, transfer_id: str, state: TransferState) -> bool:
    return await env.state(transfer_id) == state


async def _any_in_state(env: PayerEnv, state: TransferState) -> bool:
    async with env.runtime.store.reading() as session:
        rows = await env.runtime.store.transfers_to_resume(session, [state])
    return bool(rows)
