"""``pm4ml demo``: two DFSPs on loopback, ``payerfsp`` and ``payeefsp``, each with its own SQLite
database and ledger, JWS on both ways, talking FSPIOP to each other with no hub in between.

Keys and ILP secrets are generated on the first run into the demo's data directory and reused
after, as are the ledger accounts, so the demo can be stopped and started again. The demo runs
on the embedded defaults whatever the environment says (no ``PM4ML_*`` variable can point it
at a shared database or a Redis bus).

With ``--mtls`` the two DFSPs talk FSPIOP over mutual TLS: a development CA is created in the
data directory (``ca/``) and issues each DFSP a server and a client certificate
(``<fsp>/tls/``), reused on later runs like the keys.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import shlex
import socket
import uuid
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import httpx
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from rich.console import Console

from pm4ml.certs.devpki import DevTls, dev_tls
from pm4ml.config import ConfigError, Settings, load_settings
from pm4ml.connectors import PartyId
from pm4ml.observability.logs import configure_logging
from pm4ml.ops.app import create_ops_app
from pm4ml.ops.demo_user import DEMO_ADMIN, PASSWORD_FILE, ensure_demo_admin
from pm4ml.runtime import Runtime
from pm4ml.server import Listener, Served, running
from pm4ml.store.schema import upgrade_all
from pm4ml.tls.settings import server_tls

PAYER_FSP = "payerfsp"
PAYEE_FSP = "payeefsp"
PAYER = PartyId("MSISDN", "44123456789")
PAYEE = PartyId("MSISDN", "27713803912")
CURRENCY = "USD"
ACCOUNTS: dict[str, list[tuple[PartyId, str, Decimal]]] = {
    PAYER_FSP: [
        (PAYER, "Mats Hagman", Decimal(1000)),
        (PartyId("MSISDN", "44123456790"), "Ann Payer", Decimal(500)),
    ],
    PAYEE_FSP: [
        (PAYEE, "Jane Doe", Decimal(0)),
        (PartyId("MSISDN", "27713803913"), "John Doe", Decimal(0)),
    ],
}
HOST = "127.0.0.1"
SEND_TIMEOUT_SECONDS = 60.0
SETTLE_SECONDS = 5.0


class DemoError(Exception):
    """The demo cannot start; the message says why and what to change."""


@dataclass(frozen=True)
class DemoPorts:
    """The four loopback ports of the demo (0 picks a free one)."""

    payer_inbound: int = 4000
    payer_outbound: int = 4001
    payee_inbound: int = 4100
    payee_outbound: int = 4101
    ops: int | None = None  # the payer's operations portal; None: no portal


@dataclass(frozen=True)
class Sockets:
    """One DFSP's listening sockets, bound before anything else so a busy port stops the demo
    at once and port 0 is resolved before the peers learn each other's address."""

    inbound: socket.socket
    outbound: socket.socket
    ops: socket.socket | None = None

    @property
    def inbound_port(self) -> int:
        return int(self.inbound.getsockname()[1])

    @property
    def outbound_port(self) -> int:
        return int(self.outbound.getsockname()[1])


def bind_ports(ports: DemoPorts) -> dict[str, Sockets]:
    """Bind the four ports; :class:`DemoError` names the option of a port that is taken."""
    wanted = [
        (ports.payer_inbound, "--payer-port"),
        (ports.payer_outbound, "--payer-outbound-port"),
        (ports.payee_inbound, "--payee-port"),
        (ports.payee_outbound, "--payee-outbound-port"),
    ]
    if ports.ops is not None:
        wanted.append((ports.ops, "--ops-port"))
    bound: list[socket.socket] = []
    for port, option in wanted:
        try:  # SO_REUSEADDR like pm4ml.server.bind, and nothing left open when refused
            sock = socket.create_server((HOST, port), backlog=2048)
        except OSError as exc:
            for other in bound:
                other.close()
            raise DemoError(f"cannot listen on {HOST}:{port} ({option}): {exc.strerror}") from None
        sock.setblocking(False)
        bound.append(sock)
    return {
        PAYER_FSP: Sockets(bound[0], bound[1], bound[4] if len(bound) > 4 else None),
        PAYEE_FSP: Sockets(bound[2], bound[3]),
    }


def _write_private(path: Path, data: bytes) -> None:
    """Write ``data`` readable by the owner only, atomically (an interrupted first run never
    leaves an empty key behind)."""
    partial = path.with_name(path.name + ".partial")
    partial.unlink(missing_ok=True)
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as file:
        file.write(data)
    os.replace(partial, path)


def ensure_identity(home: Path) -> tuple[Path, Path]:
    """``home/jws.key`` (RSA 2048, 0600) with ``home/jws.pub``, and ``home/ilp.secret`` (0600):
    generated when missing, reused when present. Returns the key and secret paths."""
    home.mkdir(parents=True, exist_ok=True)
    (home / "peers").mkdir(exist_ok=True)
    key = home / "jws.key"
    if not key.exists():
        private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        public = private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        (home / "jws.pub").write_bytes(public)  # before the key: a key implies its pub
        pem = private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        _write_private(key, pem)
    secret = home / "ilp.secret"
    if not secret.exists():
        _write_private(secret, secrets.token_urlsafe(32).encode())
    return key, secret


def demo_settings(
    fsp: str, peer_inbound_port: int, own: Sockets, home: Path, tls: DevTls | None = None
) -> Settings:
    """One DFSP's settings: every field at its default, then the demo's values, so nothing in
    the environment or a ``PM4ML_CONFIG_FILE`` changes what the demo runs on. With ``tls``,
    mutual TLS both ways (the server and the client use the same dev CA)."""
    key, secret = ensure_identity(home)
    values: dict[str, Any] = {name: field.default for name, field in Settings.model_fields.items()}
    if tls is not None:
        values.update(
            tls_server_cert_path=tls.server_cert,
            tls_server_key_path=tls.server_key,
            tls_server_ca_path=tls.ca,
            tls_client_cert_path=tls.client_cert,
            tls_client_key_path=tls.client_key,
            tls_client_ca_path=tls.ca,
        )
    scheme = "http" if tls is None else "https"
    values.update(
        dfsp_id=fsp,
        peer_endpoint=f"{scheme}://{HOST}:{peer_inbound_port}",
        inbound_host=HOST,
        inbound_port=own.inbound_port,
        outbound_host=HOST,
        outbound_port=own.outbound_port,
        ops_host=HOST,
        ops_port=int(own.ops.getsockname()[1]) if own.ops else 0,
        data_dir=home,
        jws_signing_key_path=key,
        jws_verification_keys_dir=home / "peers",
        ilp_secret=secret.read_text().strip(),
        log_level="WARNING",
    )
    return load_settings(None, **values)


def prepare(
    data_dir: Path, sockets: dict[str, Sockets], *, mtls: bool = False
) -> dict[str, Settings]:
    """Keys, secrets, certificates (``mtls``), settings and migrated databases for both DFSPs
    (synchronous: it runs before the event loop starts)."""
    data_dir = data_dir.resolve()
    pairs = ((PAYER_FSP, PAYEE_FSP), (PAYEE_FSP, PAYER_FSP))
    settings = {}
    for fsp, peer in pairs:
        home = data_dir / fsp
        tls = _demo_tls(data_dir, home, fsp) if mtls else None
        settings[fsp] = demo_settings(fsp, sockets[peer].inbound_port, sockets[fsp], home, tls)
    for fsp, peer in pairs:
        public = (data_dir / peer / "jws.pub").read_bytes()
        (data_dir / fsp / "peers" / f"{peer}.pem").write_bytes(public)
        upgrade_all(settings[fsp])
        if sockets[fsp].ops is not None:
            ensure_demo_admin(settings[fsp].effective_database_url, data_dir / fsp)
    return settings


def _demo_tls(data_dir: Path, home: Path, fsp: str) -> DevTls:
    try:
        return dev_tls(data_dir / "ca", home, fsp, (HOST, "localhost"))
    except ValueError as exc:
        # A damaged file from an earlier run: say which directory to delete.
        raise ConfigError(f"the demo certificates under {data_dir} cannot be used: {exc}") from exc


async def seed(runtime: Runtime, fsp: str) -> None:
    """Open ``fsp``'s demo accounts; an account that is already open is left as it is."""
    from pm4ml_ledger import AccountExists, Ledger

    ledger = Ledger(runtime.store.engine)
    for party, name, opening in ACCOUNTS[fsp]:
        with contextlib.suppress(AccountExists):
            await ledger.open_account(party, CURRENCY, display_name=name, balance=opening)


async def balance(runtime: Runtime, party: PartyId) -> Decimal:
    """The ledger balance of ``party``'s USD account at this DFSP."""
    from pm4ml_ledger import Ledger

    return (await Ledger(runtime.store.engine).balance(party, CURRENCY)).balance


def transfer_body(amount: str) -> dict[str, Any]:
    """The sdk-scheme-adapter ``POST /transfers`` body from Mats Hagman to Jane Doe."""
    return {
        "homeTransactionId": str(uuid.uuid4()),
        "from": {"idType": PAYER.id_type, "idValue": PAYER.id_value, "displayName": "Mats Hagman"},
        "to": {"idType": PAYEE.id_type, "idValue": PAYEE.id_value},
        "amountType": "SEND",
        "currency": CURRENCY,
        "amount": amount,
        "transactionType": "TRANSFER",
    }


def check_amount(amount: str) -> str:
    """``amount`` as the FSPIOP ``Amount`` type wants it (positive, at most 18 digits before
    the point and 4 after); :class:`DemoError` if it is not one."""
    try:
        value = Decimal(amount).normalize()
        exponent = value.as_tuple().exponent
        valid = isinstance(exponent, int) and exponent >= -4 and value.adjusted() < 18
        valid = valid and value > 0
    except InvalidOperation:
        valid = False
    if not valid:
        raise DemoError(f"--send: expected a positive amount like 10 or 2.5: {amount!r}")
    return format(value, "f")


def main(
    console: Console,
    data_dir: Path,
    ports: DemoPorts,
    send: str | None,
    exit_after: bool,
    loop_runner: Callable[[Coroutine[Any, Any, int]], int] = asyncio.run,
    *,
    mtls: bool = False,
) -> int:
    """``pm4ml demo``: bind, prepare, run on ``loop_runner`` (the CLI passes its uvloop runner).
    Returns the exit code: 0, 1 when the demo transfer did not complete, 2 when the demo cannot
    start, 130 when interrupted before the servers could stop on their own."""
    errors = Console(stderr=True)
    try:
        amount = None if send is None else check_amount(send)
        sockets = bind_ports(ports)
    except DemoError as exc:
        errors.print(f"[red]error:[/red] {exc}", highlight=False)
        return 2
    try:
        settings = prepare(data_dir, sockets, mtls=mtls)
        own = settings[PAYER_FSP]
        configure_logging(own.log_level, own.log_format)
        return loop_runner(run_demo(settings, sockets, console, amount, exit_after))
    except (ConfigError, LookupError, TypeError, OSError, RuntimeError) as exc:
        errors.print(f"[red]error:[/red] {exc}", highlight=False)
        return 2
    except KeyboardInterrupt:
        console.print("Stopped.")
        return 130
    finally:
        for pair in sockets.values():
            pair.inbound.close()
            pair.outbound.close()
            if pair.ops is not None:
                pair.ops.close()


async def run_demo(
    settings: dict[str, Settings],
    sockets: dict[str, Sockets],
    console: Console,
    amount: str | None,
    exit_after: bool,
) -> int:
    """Start both DFSPs; send one transfer if asked; run until stopped (or exit after it, 0
    when it completed)."""
    runtimes = {fsp: Runtime.create(value) for fsp, value in settings.items()}
    for fsp, runtime in runtimes.items():
        await seed(runtime, fsp)
    async with contextlib.AsyncExitStack() as stack:
        served: list[Served] = []
        for fsp, runtime in runtimes.items():
            own = sockets[fsp]
            inbound_tls = server_tls(settings[fsp])
            listeners = [
                Listener(
                    "inbound",
                    runtime.inbound_app(),
                    HOST,
                    own.inbound_port,
                    own.inbound,
                    ssl_context=inbound_tls.context if inbound_tls else None,
                ),
                Listener("outbound", runtime.outbound_app(), HOST, own.outbound_port, own.outbound),
            ]
            if own.ops is not None:
                portal = create_ops_app(
                    settings[fsp],
                    runtime.store,
                    runtime.payer.refresh,
                    runtime.ctx.jobs.cbs_operation,
                )
                port = settings[fsp].ops_port
                listeners.append(Listener("ops", portal, HOST, port, own.ops))
            served.append(await stack.enter_async_context(running(runtime, listeners)))
        describe(console, settings)
        code = 0
        if amount is not None:
            code = await send_demo_transfer(console, runtimes, settings[PAYER_FSP], amount)
        if exit_after:
            return code
        console.print("\n[dim]Running; press Ctrl-C to stop.[/dim]")
        waits = [asyncio.ensure_future(item.wait()) for item in served]
        await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        for wait in waits:
            wait.cancel()
    console.print("Stopped.")
    return 0


def _say(console: Console, text: str) -> None:
    """A line meant to be pasted: never wrapped, never recoloured."""
    console.print(text, highlight=False, soft_wrap=True, markup=False)


def describe(console: Console, settings: dict[str, Settings]) -> None:
    """What is running, and exactly what to type to send money and to see the balances."""
    payer = settings[PAYER_FSP]
    mtls = payer.tls_server_ca_path is not None
    console.print(
        "[bold]pm4ml demo[/bold]: two DFSPs on loopback, FSPIOP peer to peer with JWS on both "
        f"ways{', mutual TLS (dev CA ' + str(payer.tls_server_ca_path) + ')' if mtls else ''}, "
        "SQLite, in-process bus, ledger CBS",
        highlight=False,
        soft_wrap=True,
    )
    for s in settings.values():
        _say(
            console,
            f"  {s.dfsp_id}: FSPIOP {'https' if mtls else 'http'}://{HOST}:{s.inbound_port}  "
            f"outbound API http://{HOST}:{s.outbound_port}  data {s.data_dir}",
        )
        for party, name, _ in ACCOUNTS[s.dfsp_id]:
            _say(console, f"      {party.id_type} {party.id_value} {name} ({CURRENCY})")
    if payer.ops_port:
        _say(
            console,
            f"  operations portal http://{HOST}:{payer.ops_port}  user {DEMO_ADMIN}, password in "
            f"{payer.data_dir / PASSWORD_FILE}",
        )
    console.print("\nSend money from Mats Hagman (payerfsp) to Jane Doe (payeefsp):")
    body = json.dumps(transfer_body("10"), indent=2)
    _say(
        console,
        f"curl -s http://{HOST}:{payer.outbound_port}/transfers "
        f"-H 'content-type: application/json' -d '{body}'",
    )
    console.print(
        "\nSee the balances (each DFSP has its own ledger; [bold]pm4ml ledger accounts[/bold] "
        "with the same PM4ML_DATA_DIR lists all its accounts):"
    )
    for s, party in zip(settings.values(), (PAYER, PAYEE), strict=True):
        _say(
            console,
            f"PM4ML_DATA_DIR={shlex.quote(str(s.data_dir))} pm4ml ledger balance "
            f"--id-type {party.id_type} --id-value {party.id_value} --currency {CURRENCY}",
        )


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {"message": response.text[:200]}
    return body if isinstance(body, dict) else {"message": str(body)[:200]}


async def _settled(
    read: Callable[[], Awaitable[list[Decimal]]], before: list[Decimal], completed: bool
) -> list[Decimal]:
    """The balances once both moved (the CBS commits run right after the answer), or as they
    are after :data:`SETTLE_SECONDS`; at once when the transfer did not complete."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + SETTLE_SECONDS
    while True:
        after = await read()
        moved = all(a != b for a, b in zip(after, before, strict=True))
        if not completed or moved or loop.time() >= deadline:
            return after
        await asyncio.sleep(0.05)


async def send_demo_transfer(
    console: Console, runtimes: dict[str, Runtime], payer: Settings, amount: str
) -> int:
    """POST one transfer to the payer's outbound API over HTTP; print its outcome and both
    balances before and after. Returns 0 when it completed, else 1."""

    async def balances() -> list[Decimal]:
        return [
            await balance(runtimes[PAYER_FSP], PAYER),
            await balance(runtimes[PAYEE_FSP], PAYEE),
        ]

    before = await balances()
    url = f"http://{HOST}:{payer.outbound_port}/transfers"
    try:
        async with httpx.AsyncClient(timeout=SEND_TIMEOUT_SECONDS) as http:
            response = await http.post(url, json=transfer_body(amount))
        status, body = str(response.status_code), _json(response)
    except httpx.HTTPError as exc:
        status, body = "none", {"message": f"{type(exc).__name__}: {exc}"}
    outcome = body.get("transferState") or body  # the error shape nests the transfer
    state = str(outcome.get("currentState") or "FAILED")
    after = await _settled(balances, before, state == "COMPLETED")
    colour = "green" if state == "COMPLETED" else "red"
    console.print(
        f"\nDemo transfer of {amount} {CURRENCY}: [bold {colour}]{state}[/] (HTTP {status})",
        highlight=False,
    )
    transfer_id = outcome.get("transferId")
    if transfer_id:
        _say(console, f"  transfer id {transfer_id}")
    fulfilment = ((outcome.get("fulfil") or {}).get("body") or {}).get("fulfilment")
    if fulfilment:
        _say(console, f"  fulfilment  {fulfilment}")
    if state != "COMPLETED":
        mojaloop = (outcome.get("lastError") or {}).get("mojaloopError") or {}
        error = mojaloop.get("errorInformation") or {}
        code = error.get("errorCode") or body.get("statusCode")
        _say(console, f"  error {code}: {error.get('errorDescription') or body.get('message')}")
    _say(console, f"  payer Mats Hagman: {before[0]} -> {after[0]} {CURRENCY}")
    _say(console, f"  payee Jane Doe:    {before[1]} -> {after[1]} {CURRENCY}")
    if transfer_id:
        _say(console, f"  curl -s http://{HOST}:{payer.outbound_port}/transfers/{transfer_id}")
    return 0 if state == "COMPLETED" else 1
