"""Real TLS handshakes on loopback: the inbound server requires a client certificate from the
configured CA, the client verifies the server and its hostname, and a certificate replaced on
disk is picked up without a restart while requests keep completing."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import ssl
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from pm4ml.server import _uvicorn, bind
from pm4ml.tls.context import ReloadingServerContext, TlsFiles, client_context
from tests.tls.pki import Ca, issue, make_ca


async def _hello(request: Request) -> PlainTextResponse:
    return PlainTextResponse("hello")


APP = Starlette(routes=[Route("/{path:path}", _hello)])


@contextlib.asynccontextmanager
async def serving(context: ssl.SSLContext) -> AsyncIterator[int]:
    sock = bind("127.0.0.1", 0)
    port = int(sock.getsockname()[1])
    server = _uvicorn(APP, "WARNING", context)
    task = asyncio.get_running_loop().create_task(server.serve(sockets=[sock]))
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    try:
        yield port
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 10)


async def _get(url: str, context: ssl.SSLContext) -> str:
    connector = aiohttp.TCPConnector(ssl=context, force_close=True)
    async with (
        aiohttp.ClientSession(connector=connector) as session,
        session.get(url) as response,
    ):
        return await response.text()


@pytest.fixture
def pki(tmp_path: Path) -> tuple[Ca, TlsFiles, TlsFiles]:
    ca = make_ca(tmp_path, "hub-ca")
    server = issue(ca, tmp_path, "server", server=True)
    client = issue(ca, tmp_path, "client", server=False)
    return ca, server, client


def _client_without_cert(ca: Path) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(ca))
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


async def test_valid_client_is_served_over_tls13(pki: tuple[Ca, TlsFiles, TlsFiles]) -> None:
    _, server, client = pki
    reloading = ReloadingServerContext(server)
    async with serving(reloading.context) as port:
        assert await _get(f"https://127.0.0.1:{port}/hello", client_context(client)) == "hello"
        reader, writer = await asyncio.open_connection(
            "127.0.0.1", port, ssl=client_context(client)
        )
        assert writer.get_extra_info("ssl_object").version() == "TLSv1.3"
        writer.close()
        await writer.wait_closed()
        del reader


async def _refused(url: str, context: ssl.SSLContext) -> None:
    with pytest.raises((aiohttp.ClientError, ssl.SSLError, ConnectionError)):
        await _get(url, context)


async def test_client_without_certificate_is_refused(pki: tuple[Ca, TlsFiles, TlsFiles]) -> None:
    ca, server, _ = pki
    async with serving(ReloadingServerContext(server).context) as port:
        await _refused(f"https://127.0.0.1:{port}/hello", _client_without_cert(ca.path))


async def test_client_from_unknown_ca_is_refused(
    pki: tuple[Ca, TlsFiles, TlsFiles], tmp_path: Path
) -> None:
    ca, server, _ = pki
    other = tmp_path / "other"
    other.mkdir()
    stranger = issue(make_ca(other, "rogue-ca"), other, "stranger", server=False)
    # The stranger trusts the real hub CA, so only the server's check can refuse it.
    trusting = TlsFiles(stranger.cert, stranger.key, ca.path)
    async with serving(ReloadingServerContext(server).context) as port:
        await _refused(f"https://127.0.0.1:{port}/hello", client_context(trusting))


async def test_expired_client_certificate_is_refused(
    pki: tuple[Ca, TlsFiles, TlsFiles], tmp_path: Path
) -> None:
    ca, server, _ = pki
    expired = issue(ca, tmp_path, "expired", server=False, expired=True)
    async with serving(ReloadingServerContext(server).context) as port:
        await _refused(f"https://127.0.0.1:{port}/hello", client_context(expired))


async def test_server_with_wrong_hostname_is_refused_by_the_client(
    pki: tuple[Ca, TlsFiles, TlsFiles], tmp_path: Path
) -> None:
    ca, _, client = pki
    elsewhere = issue(ca, tmp_path, "elsewhere", server=True, hosts=("hub.example.org",))
    async with serving(ReloadingServerContext(elsewhere).context) as port:
        with pytest.raises(aiohttp.ClientConnectorCertificateError, match=r"(?i)hostname|IP"):
            await _get(f"https://127.0.0.1:{port}/hello", client_context(client))


async def test_certificate_replaced_on_disk_is_served_without_restart(
    pki: tuple[Ca, TlsFiles, TlsFiles], tmp_path: Path
) -> None:
    ca, server, client = pki
    reloading = ReloadingServerContext(server, check_interval=0.0)
    served: list[str] = []
    stop = asyncio.Event()

    async def keep_requesting(port: int) -> None:
        while not stop.is_set():
            served.append(await _get(f"https://127.0.0.1:{port}/hello", client_context(client)))

    async with serving(reloading.context) as port:
        worker = asyncio.create_task(keep_requesting(port))
        await asyncio.sleep(0.3)
        renewed = issue(ca, tmp_path / "..", "renewed", server=True)
        shutil.copyfile(renewed.cert, server.cert)
        shutil.copyfile(renewed.key, server.key)
        # Some filesystems keep a coarse mtime; make the change visible regardless.
        for path in (server.cert, server.key):
            stat = path.stat()
            os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
        before = len(served)
        await asyncio.sleep(0.3)
        reader, writer = await asyncio.open_connection(
            "127.0.0.1", port, ssl=client_context(client)
        )
        presented = writer.get_extra_info("ssl_object").getpeercert()
        writer.close()
        await writer.wait_closed()
        del reader
        await asyncio.sleep(0.2)
        stop.set()
        await worker
    assert reloading.reloads == 1
    assert dict(part[0] for part in presented["subject"])["commonName"] == "renewed"
    assert len(served) > before > 0
    assert set(served) == {"hello"}
