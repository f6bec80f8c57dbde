"""pm4ml and the reference Node connector move money to each other, peer to peer, JWS on both
ways, ILP v1 (../shared/INTEROP.md).

Method: the Node adapter (``@mojaloop/sdk-scheme-adapter@18.0.2`` from npm) runs as a
subprocess on loopback with a spec-written Backend API server behind it; pm4ml runs in-process
with its ledger. Both directions, plus an error path each way (unknown party, bad signature).
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
from pm4ml.connectors import PartyId
from pm4ml.runtime import Runtime
from pm4ml.server import Listener, bind, running
from pm4ml.store.schema import upgrade_all
from pm4ml_ledger import Ledger
from tests.conftest import KeyPair, in_thread, write_keys
from tests.interop.backend import Backend
from tests.interop.node_sdk import NodeDfsp, node_adapter
from tests.support import drain_outbox, serve_app

pytestmark = pytest.mark.interop
PM4ML_PARTY = PartyId("MSISDN", "44123456789")
NODE_PARTY = {"idType": "MSISDN", "idValue": "27713803912", "displayName": "Node Payee",
              "firstName": "Node", "lastName": "Payee"}  # fmt: skip


def free_ports(count: int) -> list[int]:
    sockets = [bind("127.0.0.1", 0) for _ in range(count)]
    ports = [int(sock.getsockname()[1]) for sock in sockets]
    for sock in sockets:
        sock.close()
    return ports


@dataclass
class Setup:
    pm4ml: Runtime
    pm4ml_outbound: str
    node: NodeDfsp
    backend: Backend
    ledger: Ledger


@contextlib.asynccontextmanager
async def peers(
    tmp_path: Path,
    keys: dict[str, KeyPair],
    *,
    pm4ml_id: str,
    node_id: str,
    node_knows_wrong_key: bool = False,
    pm4ml_knows_wrong_key: bool = False,
) -> AsyncIterator[Setup]:
    """pm4ml as ``pm4ml_id`` and a Node adapter as ``node_id``, each the other's peer."""
    backend = Backend(parties={f"{NODE_PARTY['idType']}/{NODE_PARTY['idValue']}": NODE_PARTY})
    pm4ml_files = write_keys(tmp_path / "pm4ml", pm4ml_id, keys, [node_id])
    node_files = write_keys(tmp_path / "node", node_id, keys, [pm4ml_id])
    if node_knows_wrong_key:
        (node_files.verification_dir / f"{pm4ml_id}.pem").write_bytes(keys["intruder"].public_pem)
    if pm4ml_knows_wrong_key:
        (pm4ml_files.verification_dir / f"{node_id}.pem").write_bytes(keys["intruder"].public_pem)
    inbound, outbound = bind("127.0.0.1", 0), bind("127.0.0.1", 0)
    node_ports = free_ports(3)
    async with contextlib.AsyncExitStack() as stack:
        backend_url = await stack.enter_async_context(serve_app(backend.app()))
        settings = load_settings(
            dfsp_id=pm4ml_id,
            peer_endpoint=f"http://127.0.0.1:{node_ports[0]}",
            database_url=f"sqlite+aiosqlite:///{tmp_path / 'pm4ml.db'}",
            jws_signing_key_path=pm4ml_files.signing_key,
            jws_verification_keys_dir=pm4ml_files.verification_dir,
            ilp_secret="pm4ml-interop-secret",
            fspiop_version="1.0",
            callback_wait_seconds_max=10.0,
        )
        in_thread(upgrade_all, settings)
        runtime = Runtime.create(settings)
        ledger = Ledger(runtime.store.engine)
        await ledger.open_account(
            PM4ML_PARTY, "USD", display_name="Mats Hagman", balance=Decimal(100)
        )
        await stack.enter_async_context(running(runtime, [
            Listener("in", runtime.inbound_app(), "127.0.0.1", 0, inbound),
            Listener("out", runtime.outbound_app(), "127.0.0.1", 0, outbound),
        ]))  # fmt: skip
        node = await stack.enter_async_context(
            node_adapter(
                dfsp_id=node_id,
                ports=(node_ports[0], node_ports[1], node_ports[2]),
                peer=f"127.0.0.1:{inbound.getsockname()[1]}",
                backend=backend_url.removeprefix("http://"),
                redis_db=7,
                signing_key=node_files.signing_key,
                verification_dir=node_files.verification_dir,
                ilp_secret="node-interop-secret",
                workdir=tmp_path / "node-run",
            )
        )
        yield Setup(runtime, f"http://127.0.0.1:{outbound.getsockname()[1]}", node, backend, ledger)


def transfer(payer: str, payee: str, amount: str = "10") -> dict[str, Any]:
    return {
        "homeTransactionId": str(uuid.uuid4()),
        "from": {"idType": "MSISDN", "idValue": payer, "displayName": "Mats Hagman"},
        "to": {"idType": "MSISDN", "idValue": payee},
        "amountType": "SEND",
        "currency": "USD",
        "amount": amount,
        "transactionType": "TRANSFER",
    }


async def test_pm4ml_pays_a_node_payee(tmp_path: Path, rsa_keys: dict[str, KeyPair]) -> None:
    async with peers(tmp_path, rsa_keys, pm4ml_id="payerfsp", node_id="payeefsp") as setup:
        async with httpx.AsyncClient(timeout=60) as http:
            response = await http.post(
                setup.pm4ml_outbound + "/transfers",
                json=transfer(PM4ML_PARTY.id_value, NODE_PARTY["idValue"]),
            )
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["currentState"] == "COMPLETED"
        assert body["to"]["displayName"] == "Node Payee"
        called = [(method, path) for method, path, _ in setup.backend.calls]
        assert ("POST", "/quoterequests") in called
        assert ("POST", "/transfers") in called
        await drain_outbox(setup.pm4ml)
        balance = await setup.ledger.balance(PM4ML_PARTY, "USD")
        assert (balance.balance, balance.held) == (Decimal(90), Decimal(0))


async def test_node_payer_pays_a_pm4ml_payee(tmp_path: Path, rsa_keys: dict[str, KeyPair]) -> None:
    async with peers(tmp_path, rsa_keys, pm4ml_id="payeefsp", node_id="payerfsp") as setup:
        async with httpx.AsyncClient(timeout=60) as http:
            response = await http.post(
                setup.node.outbound_url + "/transfers",
                json=transfer("44000000001", PM4ML_PARTY.id_value, "7.5"),
            )
        assert response.status_code == 200, response.text
        assert response.json()["currentState"] == "COMPLETED"
        for _ in range(100):
            balance = await setup.ledger.balance(PM4ML_PARTY, "USD")
            if balance.balance == Decimal("107.5"):
                break
            await asyncio.sleep(0.05)
        assert balance.balance == Decimal("107.5")


async def test_unknown_party_both_ways(tmp_path: Path, rsa_keys: dict[str, KeyPair]) -> None:
    async with peers(tmp_path, rsa_keys, pm4ml_id="payerfsp", node_id="payeefsp") as setup:
        async with httpx.AsyncClient(timeout=60) as http:
            response = await http.post(
                setup.pm4ml_outbound + "/transfers", json=transfer(PM4ML_PARTY.id_value, "999")
            )
        assert response.status_code == 500, response.text
        assert response.json()["statusCode"] == "3204"
    async with peers(tmp_path / "b", rsa_keys, pm4ml_id="payeefsp", node_id="payerfsp") as setup:
        async with httpx.AsyncClient(timeout=60) as http:
            response = await http.post(
                setup.node.outbound_url + "/transfers", json=transfer("44000000001", "999")
            )
        assert response.status_code >= 400, response.text
        assert "3204" in response.text


async def test_bad_signature_is_refused_with_3105(
    tmp_path: Path, rsa_keys: dict[str, KeyPair]
) -> None:
    async with peers(
        tmp_path, rsa_keys, pm4ml_id="payerfsp", node_id="payeefsp", node_knows_wrong_key=True
    ) as setup:
        async with httpx.AsyncClient(timeout=60) as http:
            response = await http.post(
                setup.pm4ml_outbound + "/transfers",
                json=transfer(PM4ML_PARTY.id_value, NODE_PARTY["idValue"]),
            )
        # The lookup is a GET (unsigned); the quote is the first signed request Node refuses.
        assert response.status_code == 500, response.text
        assert response.json()["statusCode"] == "3105"
        balance = await setup.ledger.balance(PM4ML_PARTY, "USD")
        assert (balance.balance, balance.held) == (Decimal(100), Decimal(0))


async def test_node_request_with_a_bad_signature_is_refused_by_pm4ml(
    tmp_path: Path, rsa_keys: dict[str, KeyPair]
) -> None:
    async with peers(
        tmp_path, rsa_keys, pm4ml_id="payeefsp", node_id="payerfsp", pm4ml_knows_wrong_key=True
    ) as setup:
        async with httpx.AsyncClient(timeout=60) as http:
            response = await http.post(
                setup.node.outbound_url + "/transfers",
                json=transfer("44000000001", PM4ML_PARTY.id_value),
            )
        # pm4ml answers Node's signed POST /quotes with 400 / 3105; Node's transfer fails.
        assert response.status_code >= 400, response.text
        assert (await setup.ledger.balance(PM4ML_PARTY, "USD")).balance == Decimal(100)
