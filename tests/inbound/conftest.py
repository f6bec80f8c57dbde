"""A pm4ml payee on loopback: the inbound server under uvicorn with the ledger connector, a
recording hub that receives its callbacks, and a signing FSPIOP client playing the payer."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from pm4ml.config import Settings, load_settings
from pm4ml.connectors import Connector, PartyId
from pm4ml.fspiop import canonical
from pm4ml.fspiop.headers import V1_1
from pm4ml.fspiop.jws import JwsSigner, JwsVerifier
from pm4ml.runtime import Runtime
from pm4ml.server import Listener, running
from pm4ml.transport.client import ClientOptions, FspiopClient, Sent
from pm4ml_ledger import AccountExists, Ledger
from tests.conftest import KeyPair, write_keys
from tests.support import Recorder, recorder

PAYEE = PartyId("MSISDN", "27713803912")
ILP_SECRET = "payee-ilp-secret"


@dataclass
class PayeeEnv:
    """Everything a payee test needs."""

    settings: Settings
    runtime: Runtime
    url: str
    hub: Recorder
    payer: FspiopClient
    ledger: Ledger
    verifier: JwsVerifier

    async def send(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> Sent:
        """A signed request from ``payerfsp`` to the payee's inbound server."""
        data = canonical.dumps(body) if body is not None else None
        return await self.payer.send(
            method, path, data, destination="payeefsp", version=V1_1, extra_headers=headers
        )

    async def callback(self, method: str, path: str) -> dict[str, Any]:
        """The payee's callback, after checking its signature like a real hub would."""
        recorded = await self.hub.wait_for(method, path)
        if recorded.body:
            self.verifier.verify(method=method, headers=recorded.headers, body=recorded.body)
        result: dict[str, Any] = recorded.json
        return result

    async def balance(self, party: PartyId = PAYEE) -> Decimal:
        return (await self.ledger.balance(party, "USD")).balance


def payee_settings(
    tmp_path: Path, database_url: str, keys: dict[str, KeyPair], hub_url: str, **extra: Any
) -> Settings:
    files = write_keys(tmp_path / "payeefsp", "payeefsp", keys, ["payerfsp"])
    values: dict[str, Any] = {
        "dfsp_id": "payeefsp",
        "peer_endpoint": hub_url,
        "database_url": database_url,
        "jws_signing_key_path": files.signing_key,
        "jws_verification_keys_dir": files.verification_dir,
        "ilp_secret": ILP_SECRET,
        "inbound_port": 0,
        "sweeper_interval_seconds": 0.2,
        "callback_wait_seconds_max": 2.0,
        **extra,
    }
    return load_settings(**values)


@dataclass
class PayeeFactory:
    tmp_path: Path
    database_url: str
    keys: dict[str, KeyPair]

    def __call__(
        self, *, connector: Connector | None = None, **extra: Any
    ) -> contextlib.AbstractAsyncContextManager[PayeeEnv]:
        return start_payee(self, connector, extra)


@contextlib.asynccontextmanager
async def start_payee(
    factory: PayeeFactory, connector: Connector | None, extra: dict[str, Any]
) -> AsyncIterator[PayeeEnv]:
    async with recorder() as hub:
        settings = payee_settings(
            factory.tmp_path, factory.database_url, factory.keys, hub.url, **extra
        )
        runtime = Runtime.create(settings, connector=connector)
        listener = Listener("inbound", runtime.inbound_app(), "127.0.0.1", 0)
        ledger = Ledger(runtime.store.engine)
        with contextlib.suppress(AccountExists):  # a restarted payee reuses its database
            await ledger.open_account(PAYEE, "USD", display_name="Payee Person", balance=Decimal(0))
        async with running(runtime, [listener]) as served:
            url = f"http://127.0.0.1:{served.ports[0]}"
            payer = FspiopClient(
                ClientOptions(base_url=url, source="payerfsp"),
                JwsSigner(factory.keys["payerfsp"].private_pem),
            )
            verifier = JwsVerifier.from_directory(
                write_keys(
                    factory.tmp_path / "hub", "payerfsp", factory.keys, ["payeefsp"]
                ).verification_dir
            )
            try:
                yield PayeeEnv(settings, runtime, url, hub, payer, ledger, verifier)
            finally:
                await payer.aclose()


@pytest.fixture
def payee_factory(tmp_path: Path, database_url: str, rsa_keys: dict[str, KeyPair]) -> PayeeFactory:
    return PayeeFactory(tmp_path, database_url, rsa_keys)


@pytest.fixture
async def payee(payee_factory: PayeeFactory) -> AsyncIterator[PayeeEnv]:
    async with payee_factory() as env:
        yield env
