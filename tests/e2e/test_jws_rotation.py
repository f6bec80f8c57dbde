"""JWS key rotation under load, two real pm4ml servers on loopback: transfers run without pause
while the payer rotates its signing key with ``pm4ml certs jws rotate`` and the payee follows
with ``pm4ml certs jws peers add``/``remove``. Nothing is restarted, no transfer fails, and
afterwards a request signed with the retired key is refused with 3105."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from pathlib import Path

import httpx
from typer.testing import CliRunner

from pm4ml.cli import app
from pm4ml.fspiop import canonical
from pm4ml.fspiop.headers import ApiVersion
from pm4ml.fspiop.jws import JwsSigner
from pm4ml.fspiop.jws_ring import KeyRing, ring_path
from pm4ml.transport.client import ClientOptions, FspiopClient
from tests.conftest import KeyPair
from tests.e2e.conftest import Pair, PairFactory

OVERLAP_SECONDS = 3
GRACE_SECONDS = 2
AFTER_RETIREMENT_SECONDS = 3.0


def cli(*args: str | Path) -> str:
    result = CliRunner().invoke(app, ["certs", "jws", *map(str, args)])
    assert result.exit_code == 0, result.output
    return result.output


async def transfers_until(pair: Pair, stop: asyncio.Event, done: list[tuple[float, str]]) -> None:
    """One transfer after another until told to stop: (completion time, outcome) each."""
    while not stop.is_set():
        response = await pair.send("1")
        body = response.json()
        outcome = body.get("currentState") if response.status_code == 200 else response.text
        done.append((time.time(), str(outcome)))


async def post_quote(payee_inbound: str, signing_key_pem: bytes) -> httpx.Response:
    """A POST /quotes to the payee signed with the given key, as pm4ml's client signs it."""
    options = ClientOptions(base_url=payee_inbound, source="payerfsp")
    client = FspiopClient(options, JwsSigner(signing_key_pem))
    body = canonical.dumps({"quoteId": str(uuid.uuid4()), "transactionId": str(uuid.uuid4())})
    try:
        sent = await client.send(
            "POST", "/quotes", body, destination="payeefsp", version=ApiVersion(1, 1)
        )
    finally:
        await client.aclose()
    return httpx.Response(sent.status_code, content=sent.response_body)


def error_code(response: httpx.Response) -> str:
    return str(json.loads(response.content)["errorInformation"]["errorCode"])


async def test_rotation_under_load_drops_nothing_and_retires_the_old_key(
    tmp_path: Path, rsa_keys: dict[str, KeyPair]
) -> None:
    payer_key = tmp_path / "payerfsp" / "payerfsp.key"
    payee_peers = tmp_path / "payeefsp" / "peers"
    publish = tmp_path / "published"
    async with PairFactory(tmp_path, "sqlite", rsa_keys)() as pair:
        stop = asyncio.Event()
        done: list[tuple[float, str]] = []
        workers = [asyncio.create_task(transfers_until(pair, stop, done)) for _ in range(2)]
        await asyncio.sleep(1)

        # The payer: new key generated and published; signing switches after the overlap.
        await asyncio.to_thread(
            cli, "rotate", "--key", payer_key, "--publish", publish, "--fsp", "payerfsp",
            "--overlap", str(OVERLAP_SECONDS), "--grace", str(GRACE_SECONDS),
        )  # fmt: skip
        old, new = KeyRing.read(ring_path(payer_key)).keys
        assert old.retires_at is not None
        # The payee takes what the payer published (its old and new key): only the new is added.
        added = await asyncio.to_thread(
            cli, "peers", "add", "payerfsp", publish / "payerfsp.pem", "--dir", payee_peers
        )
        assert new.fingerprint in added and old.fingerprint not in added

        # After the switch and the grace period the payee retires the old key.
        await asyncio.sleep(max(0.0, old.retires_at.timestamp() - time.time()))
        await asyncio.to_thread(
            cli, "peers", "remove", "payerfsp", "--fingerprint", old.fingerprint,
            "--dir", payee_peers,
        )  # fmt: skip
        removed_at = time.time()
        await asyncio.sleep(AFTER_RETIREMENT_SECONDS)
        stop.set()
        await asyncio.gather(*workers)

        failed = [outcome for _, outcome in done if outcome != "COMPLETED"]
        assert failed == [], failed[:3]
        switch = new.activates_at.timestamp()
        before = [at for at, _ in done if at < switch]
        overlap = [at for at, _ in done if switch - OVERLAP_SECONDS <= at < switch]
        # The payee's verifier looks at its directory at most once a second.
        after = [at for at, _ in done if at > removed_at + 1]
        assert before and overlap and after, (len(before), len(overlap), len(after))

        # The retired key is refused now; the new one is not.
        old_pem = (payer_key.parent / old.private_key).read_bytes()
        new_pem = (payer_key.parent / new.private_key).read_bytes()
        refused = await post_quote(pair.payee.inbound_url, old_pem)
        assert refused.status_code == 400
        assert error_code(refused) == "3105"
        accepted = await post_quote(pair.payee.inbound_url, new_pem)
        assert accepted.status_code == 202 or error_code(accepted) != "3105"
