"""Scale-out: two payer replicas on one PostgreSQL and one Redis behind a "load balancer" that
sends every callback to the replica that did NOT send the request. Transfers still complete:
the state is in the database and the callbacks travel over the Redis bus.

Method: replica A serves the outbound API; the payee's FSPIOP peer endpoint is replica B's
inbound server, so every callback for a flow waiting in A arrives at B.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from pm4ml.config import load_settings
from pm4ml.runtime import Runtime
from pm4ml.server import Listener, bind, running
from pm4ml_ledger import Ledger
from tests.conftest import KeyPair, _admin, write_keys
from tests.e2e.conftest import PAYEE, PAYER, fresh_database

pytestmark = [pytest.mark.postgres, pytest.mark.redis]
REDIS_URL = "redis://127.0.0.1:6379/{db}"


async def test_callbacks_reach_the_other_replica(
    tmp_path: Path, rsa_keys: dict[str, KeyPair]
) -> None:
    redis_db = 5
    socks = {name: bind("127.0.0.1", 0) for name in ("a_in", "a_out", "b_in", "payee_in")}
    url = {name: f"http://127.0.0.1:{s.getsockname()[1]}" for name, s in socks.items()}
    payer_db = await fresh_database("postgresql", tmp_path, "payer", None)
    payee_db = await fresh_database("postgresql", tmp_path, "payee", None)
    try:
        async with contextlib.AsyncExitStack() as stack:
            payer_files = write_keys(tmp_path / "payer", "payerfsp", rsa_keys, ["payeefsp"])
            payee_files = write_keys(tmp_path / "payee", "payeefsp", rsa_keys, ["payerfsp"])
            common: dict[str, Any] = {
                "jws_signing_key_path": payer_files.signing_key,
                "jws_verification_keys_dir": payer_files.verification_dir,
                "ilp_secret": "payer-secret",
                "database_url": payer_db,
                "bus_url": REDIS_URL.format(db=redis_db),
                "callback_wait_seconds_max": 5.0,
                "dfsp_id": "payerfsp",
                "peer_endpoint": url["payee_in"],
            }
            replicas = [Runtime.create(load_settings(**common)) for _ in range(2)]
            payee = Runtime.create(
                load_settings(
                    dfsp_id="payeefsp",
                    peer_endpoint=url["b_in"],  # every callback goes to replica B
                    database_url=payee_db,
                    jws_signing_key_path=payee_files.signing_key,
                    jws_verification_keys_dir=payee_files.verification_dir,
                    ilp_secret="payee-secret",
                )
            )
            await Ledger(replicas[0].store.engine).open_account(PAYER, "USD", balance=Decimal(100))
            await Ledger(payee.store.engine).open_account(PAYEE, "USD", balance=Decimal(0))
            a, b = replicas
            await stack.enter_async_context(running(a, [
                Listener("in", a.inbound_app(), "127.0.0.1", 0, socks["a_in"]),
                Listener("out", a.outbound_app(), "127.0.0.1", 0, socks["a_out"]),
            ]))  # fmt: skip
            await stack.enter_async_context(
                running(b, [Listener("in", b.inbound_app(), "127.0.0.1", 0, socks["b_in"])])
            )
            await stack.enter_async_context(
                running(
                    payee,
                    [Listener("in", payee.inbound_app(), "127.0.0.1", 0, socks["payee_in"])],
                )
            )
            async with httpx.AsyncClient(timeout=30) as http:
                answers = await asyncio.gather(*(send(http, url["a_out"]) for _ in range(5)))
            for answer in answers:
                assert answer.status_code == 200, answer.text
                assert answer.json()["currentState"] == "COMPLETED"
            balance = await Ledger(payee.store.engine).balance(PAYEE, "USD")
            for _ in range(100):
                if balance.balance == Decimal(5):
                    break
                await asyncio.sleep(0.05)
                balance = await Ledger(payee.store.engine).balance(PAYEE, "USD")
            assert balance.balance == Decimal(5)
    finally:
        for db_url in (payer_db, payee_db):
            await _admin(f'DROP DATABASE IF EXISTS "{db_url.rsplit("/", 1)[1]}" WITH (FORCE)')


async def send(http: httpx.AsyncClient, outbound: str) -> httpx.Response:
    body = {
        "homeTransactionId": str(uuid.uuid4()),
        "from": {"idType": "MSISDN", "idValue": PAYER.id_value},
        "to": {"idType": "MSISDN", "idValue": PAYEE.id_value},
        "amountType": "SEND",
        "currency": "USD",
        "amount": "1",
        "transactionType": "TRANSFER",
    }
    return await http.post(outbound + "/transfers", json=body)
