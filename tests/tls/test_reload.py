"""Certificates renewed on disk, picked up without a restart: the FSPIOP client presents a
renewed client certificate on its next connection, and two pm4ml DFSPs talking over mutual
TLS keep completing transfers while the payee's server certificate is replaced."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import ssl
import time
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path

import httpx

from pm4ml.config import load_settings
from pm4ml.fspiop.headers import ApiVersion
from pm4ml.runtime import Runtime
from pm4ml.server import Listener, bind, running
from pm4ml.tls.context import ReloadingClientContext, TlsFiles, client_context, server_context
from pm4ml.tls.settings import server_tls
from pm4ml.transport.client import ClientOptions, FspiopClient
from pm4ml_ledger import Ledger
from tests.conftest import KeyPair, write_keys
from tests.e2e.conftest import PAYEE, PAYER, Pair, Side, fresh_database
from tests.tls.pki import Ca, issue, make_ca


def replace_files(source: TlsFiles, target: TlsFiles) -> None:
    """Copy a renewed certificate and key over the configured files, as an operator (or
    cert-manager) does, with an mtime that differs even on a coarse-grained filesystem."""
    for src, dst in ((source.cert, target.cert), (source.key, target.key)):
        shutil.copyfile(src, dst)
        stat = dst.stat()
        os.utime(dst, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))


@contextlib.asynccontextmanager
async def naming_peer(files: TlsFiles) -> AsyncIterator[int]:
    """An mTLS server answering each request with the CN of the client certificate it was
    shown, then closing the connection (so each request is a new handshake)."""

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        subject = writer.get_extra_info("peercert")["subject"]
        common_name = dict(part[0] for part in subject)["commonName"].encode()
        writer.write(
            b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: %d\r\n\r\n%s"
            % (len(common_name), common_name)
        )
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0, ssl=server_context(files))
    async with server:
        yield int(server.sockets[0].getsockname()[1])


async def test_the_client_presents_a_renewed_certificate_without_a_restart(
    tmp_path: Path,
) -> None:
    ca = make_ca(tmp_path, "hub-ca")
    hub = issue(ca, tmp_path, "hub", server=True)
    mine = issue(ca, tmp_path, "dfsp-2026", server=False)
    renewed = issue(ca, tmp_path, "dfsp-2027", server=False)
    reloading = ReloadingClientContext(mine, check_interval=0.0)
    async with naming_peer(hub) as port:
        options = ClientOptions(
            f"https://127.0.0.1:{port}", "dfsp", sign=False, ssl_context=reloading
        )
        client = FspiopClient(options, None)
        try:

            async def shown() -> bytes:
                sent = await client.send(
                    "GET", "/parties/MSISDN/1", destination=None, version=ApiVersion(1, 1)
                )
                return sent.response_body

            assert await shown() == b"dfsp-2026"
            replace_files(renewed, mine)
            assert await shown() == b"dfsp-2027"
            assert reloading.reloads == 1
            # A broken renewal (a key that is not the certificate's) is not loaded: the
            # client keeps presenting the last good certificate.
            shutil.copyfile(issue(ca, tmp_path, "other", server=False).key, mine.key)
            os.utime(mine.key, ns=(0, time.time_ns() + 2_000_000_000))
            assert await shown() == b"dfsp-2027"
            assert reloading.reloads == 1
        finally:
            await client.aclose()


@contextlib.asynccontextmanager
async def mtls_pair(
    tmp_path: Path, keys: dict[str, KeyPair], ca: Ca
) -> AsyncIterator[tuple[Pair, dict[str, TlsFiles]]]:
    """payerfsp and payeefsp as in tests/e2e, but FSPIOP over mutual TLS from ``ca``."""

    socks = {
        f"{me}_{kind}": bind("127.0.0.1", 0) for me in ("payer", "payee") for kind in ("in", "out")
    }
    port = {name: int(sock.getsockname()[1]) for name, sock in socks.items()}
    servers: dict[str, TlsFiles] = {}
    sides: dict[str, Side] = {}
    async with contextlib.AsyncExitStack() as stack:
        for me, other in (("payer", "payee"), ("payee", "payer")):
            fsp = f"{me}fsp"
            home = tmp_path / fsp
            files = write_keys(home, fsp, keys, [f"{other}fsp"])
            servers[me] = issue(ca, home, "server", server=True)
            client = issue(ca, home, "client", server=False)
            settings = load_settings(
                dfsp_id=fsp,
                peer_endpoint=f"https://127.0.0.1:{port[f'{other}_in']}",
                database_url=await fresh_database("sqlite", tmp_path, fsp, stack),
                jws_signing_key_path=files.signing_key,
                jws_verification_keys_dir=files.verification_dir,
                ilp_secret=f"{fsp}-ilp-secret",
                tls_server_cert_path=servers[me].cert,
                tls_server_key_path=servers[me].key,
                tls_server_ca_path=ca.path,
                tls_client_cert_path=client.cert,
                tls_client_key_path=client.key,
                tls_client_ca_path=ca.path,
            )
            runtime = Runtime.create(settings)
            ledger = Ledger(runtime.store.engine)
            party, opening = (PAYER, Decimal(1000)) if me == "payer" else (PAYEE, Decimal(0))
            await ledger.open_account(party, "USD", display_name=f"{me} person", balance=opening)
            inbound = server_tls(settings)
            assert inbound is not None
            listeners = [
                Listener(
                    "inbound",
                    runtime.inbound_app(),
                    "127.0.0.1",
                    0,
                    socks[f"{me}_in"],
                    ssl_context=inbound.context,
                ),
                Listener("outbound", runtime.outbound_app(), "127.0.0.1", 0, socks[f"{me}_out"]),
            ]
            await stack.enter_async_context(running(runtime, listeners))
            sides[me] = Side(
                settings,
                runtime,
                ledger,
                f"https://127.0.0.1:{port[f'{me}_in']}",
                f"http://127.0.0.1:{port[f'{me}_out']}",
            )
        http = await stack.enter_async_context(httpx.AsyncClient(timeout=30))
        yield Pair(sides["payer"], sides["payee"], http), servers


async def presented_by(port: int, client: TlsFiles) -> str:
    """The CN of the certificate the server presents on a new connection."""
    _, writer = await asyncio.wait_for(
        asyncio.open_connection("127.0.0.1", port, ssl=client_context(client)), 10
    )
    subject = writer.get_extra_info("ssl_object").getpeercert()["subject"]
    writer.close()
    with contextlib.suppress(ssl.SSLError, ConnectionError):
        await asyncio.wait_for(writer.wait_closed(), 10)
    return str(dict(part[0] for part in subject)["commonName"])


async def test_server_certificate_replaced_while_transfers_keep_completing(
    tmp_path: Path, rsa_keys: dict[str, KeyPair]
) -> None:
    ca = make_ca(tmp_path, "dev-ca")
    async with mtls_pair(tmp_path, rsa_keys, ca) as (pair, servers):
        stop = asyncio.Event()
        outcomes: list[str] = []
        progress = asyncio.Condition()

        async def transfers() -> None:
            while not stop.is_set():
                response = await pair.send("1")
                outcomes.append(response.json().get("currentState", response.text))
                async with progress:
                    progress.notify_all()

        async def completed(count: int) -> None:
            """Until ``count`` transfers ended (slower on a loaded machine), at most 30 s."""
            async with progress:
                await asyncio.wait_for(progress.wait_for(lambda: len(outcomes) >= count), 30)

        workers = [asyncio.create_task(transfers()) for _ in range(2)]
        await completed(2)
        payee_port = int(pair.payee.inbound_url.rsplit(":", 1)[1])
        probe = issue(ca, tmp_path, "probe", server=False)
        assert await presented_by(payee_port, probe) == "server"
        replace_files(issue(ca, tmp_path, "server-renewed", server=True), servers["payee"])
        before = len(outcomes)
        await asyncio.sleep(1.2)  # the server looks at its files at most once a second
        assert await presented_by(payee_port, probe) == "server-renewed"
        await completed(before + 2)
        stop.set()
        await asyncio.gather(*workers)
    assert len(outcomes) > before > 0
    assert set(outcomes) == {"COMPLETED"}
