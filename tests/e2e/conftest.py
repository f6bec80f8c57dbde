"""Two pm4ml DFSPs peer to peer on loopback: ``payerfsp`` and ``payeefsp``, each with its own
database and ledger, JWS on both ways, each one's FSPIOP peer being the other's inbound server."""

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

from pm4ml.config import Settings, load_settings
from pm4ml.connectors import Connector, PartyId
from pm4ml.runtime import Runtime
from pm4ml.server import Listener, bind, running
from pm4ml_ledger import AccountExists, Ledger
from tests.conftest import POSTGRES_URL, KeyPair, _admin, in_thread, migrate_everything, write_keys

PAYER = PartyId("MSISDN", "44123456789")
PAYEE = PartyId("MSISDN", "27713803912")


@dataclass
class Side:
    settings: Settings
    runtime: Runtime
    ledger: Ledger
    inbound_url: str
    outbound_url: str

    async def balance(self, party: PartyId) -> tuple[Decimal, Decimal]:
        found = await self.ledger.balance(party, "USD")
        return found.balance, found.held


@dataclass
class Pair:
    payer: Side
    payee: Side
    http: httpx.AsyncClient

    async def send(
        self, amount: str = "10", to: str = PAYEE.id_value, **extra: Any
    ) -> httpx.Response:
        body = {
            "homeTransactionId": str(uuid.uuid4()),
            "from": {"idType": "MSISDN", "idValue": PAYER.id_value, "displayName": "Mats Hagman"},
            "to": {"idType": "MSISDN", "idValue": to},
            "amountType": "SEND",
            "currency": "USD",
            "amount": amount,
            "transactionType": "TRANSFER",
            **extra,
        }
        return await self.http.post(self.payer.outbound_url + "/transfers", json=body)


async def fresh_database(
    kind: str, tmp: Path, name: str, stack: contextlib.AsyncExitStack | None
) -> str:
    """A migrated database for one side; a PostgreSQL one is dropped when ``stack`` closes
    (with no stack, the caller drops it)."""
    if kind == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp / name}.db"
    else:
        db = f"pm4ml_e2e_{uuid.uuid4().hex[:10]}"
        await _admin(f'CREATE DATABASE "{db}"')
        if stack is not None:
            stack.push_async_callback(_admin, f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
        url = POSTGRES_URL.format(name=db)
    await asyncio.to_thread(in_thread, migrate_everything, url)
    return url


@dataclass
class PairFactory:
    tmp_path: Path
    kind: str
    keys: dict[str, KeyPair]

    @contextlib.asynccontextmanager
    async def __call__(
        self,
        payer: dict[str, Any] | None = None,
        payee: dict[str, Any] | None = None,
        payer_connector: Connector | None = None,
        payee_connector: Connector | None = None,
    ) -> AsyncIterator[Pair]:
        socks = {
            name: bind("127.0.0.1", 0)
            for name in ("payer_in", "payer_out", "payee_in", "payee_out")
        }
        ports = {name: sock.getsockname()[1] for name, sock in socks.items()}
        urls = {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
        sides: dict[str, Side] = {}
        async with contextlib.AsyncExitStack() as stack:
            for me, other, extra, connector in (
                ("payer", "payee", payer or {}, payer_connector),
                ("payee", "payer", payee or {}, payee_connector),
            ):
                fsp, peer = f"{me}fsp", f"{other}fsp"
                files = write_keys(self.tmp_path / fsp, fsp, self.keys, [peer])
                settings = load_settings(
                    dfsp_id=fsp,
                    peer_endpoint=urls[f"{other}_in"],
                    database_url=await fresh_database(self.kind, self.tmp_path, fsp, stack),
                    jws_signing_key_path=files.signing_key,
                    jws_verification_keys_dir=files.verification_dir,
                    ilp_secret=f"{fsp}-ilp-secret",
                    sweeper_interval_seconds=0.2,
                    callback_wait_seconds_max=3.0,
                    **extra,
                )
                runtime = Runtime.create(settings, connector=connector)
                ledger = Ledger(runtime.store.engine)
                with contextlib.suppress(AccountExists):
                    if me == "payer":
                        await ledger.open_account(
                            PAYER, "USD", display_name="Mats Hagman", balance=Decimal(1000)
                        )
                    else:
                        await ledger.open_account(
                            PAYEE,
                            "USD",
                            display_name="Payee Person",
                            first_name="Pay",
                            last_name="Ee",
                            balance=Decimal(0),
                        )
                listeners = [
                    Listener("inbound", runtime.inbound_app(), "127.0.0.1", 0, socks[f"{me}_in"]),
                    Listener(
                        "outbound", runtime.outbound_app(), "127.0.0.1", 0, socks[f"{me}_out"]
                    ),
                ]
                await stack.enter_async_context(running(runtime, listeners))
                sides[me] = Side(settings, runtime, ledger, urls[f"{me}_in"], urls[f"{me}_out"])
            http = await stack.enter_async_context(httpx.AsyncClient(timeout=30))
            yield Pair(sides["payer"], sides["payee"], http)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def pair_factory(
    request: pytest.FixtureRequest, tmp_path: Path, rsa_keys: dict[str, KeyPair]
) -> PairFactory:
    return PairFactory(tmp_path, request.param, rsa_keys)


@pytest.fixture
async def pair(pair_factory: PairFactory) -> AsyncIterator[Pair]:
    async with pair_factory() as value:
        yield value
