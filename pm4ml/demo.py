"""``pm4ml demo``: two DFSPs on loopback, ``payerfsp`` and ``payeefsp``, each with its own SQLite
database and ledger, JWS on both ways, talking FSPIOP to each other with no hub in between.

Keys and ILP secrets are generated on the first run into the demo's data directory and reused
after, as are the ledger accounts, so the demo can be stopped and started again.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import uuid
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from rich.console import Console

from pm4ml.config import Settings, load_settings
from pm4ml.connectors import PartyId
from pm4ml.runtime import Runtime
from pm4ml.server import Listener, running
from pm4ml.store.schema import upgrade_all

PAYER = PartyId("MSISDN", "44123456789")
PAYEE = PartyId("MSISDN", "27713803912")
ACCOUNTS = {
    "payerfsp": [(PAYER, "Mats Hagman", Decimal(1000)), (PartyId("MSISDN", "44123456790"),
                                                          "Ann Payer", Decimal(500))],
    "payeefsp": [(PAYEE, "Jane Doe", Decimal(0)), (PartyId("MSISDN", "27713803913"),
                                                    "John Doe", Decimal(0))],
}  # fmt: skip


@dataclass(frozen=True)
class DemoPorts:
    payer_inbound: int = 4000
    payer_outbound: int = 4001
    payee_inbound: int = 4100
    payee_outbound: int = 4101


def _key_files(base: Path, fsp: str, peer: str) -> tuple[Path, Path]:
    """``base/<fsp>/jws.key`` (0600) and ``base/<fsp>/peers/``; the peer's public key is
    copied in by :func:`prepare` once both exist."""
    home = base / fsp
    (home / "peers").mkdir(parents=True, exist_ok=True)
    key = home / "jws.key"
    if not key.exists():
        private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        key.touch(mode=0o600)
        key.write_bytes(
            private.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        (home / "jws.pub").write_bytes(
            private.public_key().public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        )
    secret = home / "ilp.secret"
    if not secret.exists():
        secret.touch(mode=0o600)
        secret.write_text(secrets.token_urlsafe(32))
    return key, home / "peers"


def prepare(data_dir: Path, ports: DemoPorts) -> dict[str, Settings]:
    """Keys, secrets, settings and migrated databases for both DFSPs (synchronous)."""
    data_dir = data_dir.resolve()
    settings: dict[str, Settings] = {}
    inbound = {"payerfsp": ports.payer_inbound, "payeefsp": ports.payee_inbound}
    outbound = {"payerfsp": ports.payer_outbound, "payeefsp": ports.payee_outbound}
    for fsp, peer in (("payerfsp", "payeefsp"), ("payeefsp", "payerfsp")):
        key, peers = _key_files(data_dir, fsp, peer)
        settings[fsp] = load_settings(
            dfsp_id=fsp,
            peer_endpoint=f"http://127.0.0.1:{inbound[peer]}",
            inbound_port=inbound[fsp],
            outbound_port=outbound[fsp],
            data_dir=data_dir / fsp,
            jws_signing_key_path=key,
            jws_verification_keys_dir=peers,
            ilp_secret=(data_dir / fsp / "ilp.secret").read_text(),
            log_level="WARNING",
        )
    for fsp, peer in (("payerfsp", "payeefsp"), ("payeefsp", "payerfsp")):
        public = (data_dir / peer / "jws.pub").read_bytes()
        (data_dir / fsp / "peers" / f"{peer}.pem").write_bytes(public)
        upgrade_all(settings[fsp])
    return settings


async def _seed(runtime: Runtime, fsp: str) -> None:
    from pm4ml_ledger import AccountExists, Ledger

    ledger = Ledger(runtime.store.engine)
    for party, name, balance in ACCOUNTS[fsp]:
        with contextlib.suppress(AccountExists):
            await ledger.open_account(party, "USD", display_name=name, balance=balance)


async def balance(runtime: Runtime, party: PartyId) -> Decimal:
    from pm4ml_ledger import Ledger

    return (await Ledger(runtime.store.engine).balance(party, "USD")).balance


def transfer_body(amount: str) -> dict[str, Any]:
    return {
        "homeTransactionId": str(uuid.uuid4()),
        "from": {"idType": "MSISDN", "idValue": PAYER.id_value, "displayName": "Mats Hagman"},
        "to": {"idType": "MSISDN", "idValue": PAYEE.id_value},
        "amountType": "SEND",
        "currency": "USD",
        "amount": amount,
        "transactionType": "TRANSFER",
    }


async def run_demo(
    settings: dict[str, Settings], console: Console, send: str | None, exit_after: bool
) -> int:
    """Start both DFSPs; send one transfer if asked; run until stopped (or exit after it)."""
    runtimes = {fsp: Runtime.create(value) for fsp, value in settings.items()}
    for fsp, runtime in runtimes.items():
        await _seed(runtime, fsp)
    async with contextlib.AsyncExitStack() as stack:
        served = []
        for fsp, runtime in runtimes.items():
            s = settings[fsp]
            listeners = [
                Listener("inbound", runtime.inbound_app(), s.inbound_host, s.inbound_port),
                Listener("outbound", runtime.outbound_app(), s.outbound_host, s.outbound_port),
            ]
            served.append(await stack.enter_async_context(running(runtime, listeners)))
        _describe(console, settings)
        code = 0
        if send is not None:
            code = await _send(console, runtimes, settings["payerfsp"], send)
        if exit_after:
            return code
        console.print("[dim]Running; press Ctrl-C to stop.[/dim]")
        await asyncio.wait(
            [asyncio.ensure_future(item.wait()) for item in served],
            return_when=asyncio.FIRST_COMPLETED,
        )
    return 0


def _describe(console: Console, settings: dict[str, Settings]) -> None:
    payer, payee = settings["payerfsp"], settings["payeefsp"]
    console.print("[bold]pm4ml demo[/bold]: two DFSPs on loopback, JWS on, SQLite, ledger CBS")
    for s in (payer, payee):
        console.print(
            f"  {s.dfsp_id}: FSPIOP http://127.0.0.1:{s.inbound_port}  "
            f"outbound API http://127.0.0.1:{s.outbound_port}  data {s.data_dir}"
        )
    console.print("\nSend money from Mats Hagman (payerfsp) to Jane Doe (payeefsp):")
    console.print(
        f"  curl -s http://127.0.0.1:{payer.outbound_port}/transfers "
        "-H 'content-type: application/json' -d '"
        + httpx.Request("POST", "/", json=transfer_body("10")).content.decode()
        + "'",
        highlight=False,
        soft_wrap=True,
    )
    console.print("See the balances:")
    for s, party in ((payer, PAYER), (payee, PAYEE)):
        console.print(
            f"  PM4ML_DATA_DIR={s.data_dir} pm4ml ledger balance "
            f"--id-type MSISDN --id-value {party.id_value} --currency USD",
            highlight=False,
        )


async def _send(
    console: Console, runtimes: dict[str, Runtime], payer: Settings, amount: str
) -> int:
    before = [
        await balance(runtimes["payerfsp"], PAYER),
        await balance(runtimes["payeefsp"], PAYEE),
    ]
    url = f"http://127.0.0.1:{payer.outbound_port}/transfers"
    async with httpx.AsyncClient(timeout=60) as http:
        response = await http.post(url, json=transfer_body(amount))
    body = response.json()
    state = body.get("currentState") or (body.get("transferState") or {}).get("currentState")
    await runtimes["payerfsp"].ctx.jobs.flush_done()
    for _ in range(100):  # the CBS commits run right after the answer; wait for them
        after = [await balance(runtimes["payerfsp"], PAYER),
                 await balance(runtimes["payeefsp"], PAYEE)]  # fmt: skip
        if state != "COMPLETED" or after != before:
            break
        await asyncio.sleep(0.05)
    console.print(
        f"\nDemo transfer of {amount} USD: [bold]{state}[/bold] (HTTP {response.status_code})"
    )
    transfer_id = body.get("transferId") or (body.get("transferState") or {}).get("transferId")
    console.print(f"  transfer id {transfer_id}")
    fulfil = (body.get("fulfil") or {}).get("body") or {}
    if fulfil:
        console.print(f"  fulfilment {fulfil.get('fulfilment')}")
    if state != "COMPLETED":
        console.print(f"  error {body.get('statusCode')}: {body.get('message')}")
    console.print(f"  payer Mats Hagman: {before[0]} -> {after[0]} USD")
    console.print(f"  payee Jane Doe:    {before[1]} -> {after[1]} USD")
    return 0 if state == "COMPLETED" else 1
