"""``pm4ml demo --mtls`` as a user runs it: a real subprocess whose two DFSPs talk FSPIOP over
mutual TLS with certificates from a dev CA made on the fly. The demo transfer completes, and
while the demo runs its FSPIOP port refuses plain HTTP and clients without a certificate."""

from __future__ import annotations

import asyncio
import contextlib
import re
import signal
import ssl
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from pm4ml.certs.devpki import dev_tls
from pm4ml.certs.inspect import describe, load_certificate, verify_against
from pm4ml.tls.context import TlsFiles, client_context
from tests.test_demo import REPO, free_ports

DEADLINE_SECONDS = 120
NETWORK_SECONDS = 10


@contextlib.contextmanager
def running_demo(data_dir: Path, *options: str) -> Iterator[subprocess.Popen[str]]:
    ports = free_ports(5)
    command = [
        sys.executable, "-c", "from pm4ml.cli import run; run()", "demo",
        "--data-dir", str(data_dir), *options,
        "--payer-port", ports[0], "--payer-outbound-port", ports[1],
        "--payee-port", ports[2], "--payee-outbound-port", ports[3], "--ops-port", ports[4],
    ]  # fmt: skip
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=data_dir.parent,
        env={"PATH": "/usr/bin:/bin", "COLUMNS": "200", "PYTHONPATH": str(REPO)},
    )
    try:
        yield process
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        finally:
            if process.stdout is not None:
                process.stdout.close()


def read_until(process: subprocess.Popen[str], pattern: str) -> str:
    """The demo's output up to the first line matching ``pattern``; fails if the demo exits
    first. At the deadline the demo is killed, which ends the blocking read."""
    assert process.stdout is not None
    seen: list[str] = []
    watchdog = threading.Timer(DEADLINE_SECONDS, process.kill)
    watchdog.start()
    try:
        for line in process.stdout:
            seen.append(line)
            if re.search(pattern, line):
                return "".join(seen)
    finally:
        watchdog.cancel()
    pytest.fail("the demo exited or timed out:\n" + "".join(seen))


async def handshake(port: int, context: ssl.SSLContext) -> str:
    """Send a request over TLS; the status line, or raise if the server refuses us."""
    reader, writer = await asyncio.wait_for(
        asyncio.open_connection("127.0.0.1", port, ssl=context, server_hostname="127.0.0.1"),
        NETWORK_SECONDS,
    )
    try:
        writer.write(b"GET /parties/MSISDN/1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        await writer.drain()
        return (await asyncio.wait_for(reader.readline(), NETWORK_SECONDS)).decode()
    finally:
        writer.close()
        with contextlib.suppress(ssl.SSLError, ConnectionError):
            await asyncio.wait_for(writer.wait_closed(), NETWORK_SECONDS)


async def test_demo_over_mutual_tls(tmp_path: Path) -> None:
    data_dir = tmp_path / "demo-data"
    with running_demo(data_dir, "--mtls", "--send", "10") as process:
        output = await asyncio.to_thread(read_until, process, r"Demo transfer of 10 USD: ")
        assert "Demo transfer of 10 USD: COMPLETED (HTTP 200)" in output, output
        assert "mutual TLS (dev CA" in output
        found = re.search(r"payeefsp: FSPIOP https://127\.0\.0\.1:(\d+)", output)
        assert found, output
        payee_port = int(found.group(1))

        ca = data_dir / "ca" / "ca.pem"
        payer_tls = data_dir / "payerfsp" / "tls"
        payer_client = TlsFiles(payer_tls / "client.pem", payer_tls / "client.key", ca)
        assert (payer_tls / "client.key").stat().st_mode & 0o777 == 0o600
        # What the payer presents is accepted; no certificate, or plain HTTP, is not.
        status = await handshake(payee_port, client_context(payer_client))
        assert status.startswith("HTTP/1.1 "), status
        anonymous = ssl.create_default_context(cafile=str(ca))
        assert await refused(payee_port, anonymous)
        assert await refused(payee_port, None)


async def refused(port: int, context: ssl.SSLContext | None) -> bool:
    """True when no HTTP answer comes back (TLS 1.3 reports a missing client certificate
    after the client's side of the handshake, so the refusal shows when reading)."""
    try:
        if context is not None:
            return not (await handshake(port, context)).startswith("HTTP/")
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection("127.0.0.1", port), NETWORK_SECONDS
        )
        writer.write(b"GET /parties/MSISDN/1 HTTP/1.1\r\nHost: x\r\n\r\n")
        answer = await asyncio.wait_for(reader.read(64), NETWORK_SECONDS)
        writer.close()
        return not answer.startswith(b"HTTP/")
    except (ssl.SSLError, ConnectionError):
        return True


def test_dev_pki_is_made_once_and_reused(tmp_path: Path) -> None:
    first = dev_tls(tmp_path / "ca", tmp_path / "payerfsp", "payerfsp", ("127.0.0.1", "localhost"))
    files = [first.ca, first.server_cert, first.server_key, first.client_cert, first.client_key]
    before = [path.read_bytes() for path in files]
    again = dev_tls(tmp_path / "ca", tmp_path / "payerfsp", "payerfsp", ("127.0.0.1", "localhost"))
    assert again == first
    assert [path.read_bytes() for path in files] == before
    for key in (first.server_key, first.client_key, tmp_path / "ca" / "ca.key"):
        assert key.stat().st_mode & 0o777 == 0o600
    server = describe(load_certificate(first.server_cert))
    assert server.sans == ["127.0.0.1", "localhost"]
    assert verify_against(load_certificate(first.server_cert), first.ca) is None
    assert verify_against(load_certificate(first.client_cert), first.ca) is None
    assert "NOT FOR PRODUCTION" in describe(load_certificate(first.ca)).subject
