"""Plumbing shared by both pairs: JWS keys on disk, free ports, subprocesses that are always
stopped, throw-away PostgreSQL databases and Redis database indexes."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Coroutine, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
import redis.asyncio as aioredis
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

REPO = Path(__file__).resolve().parents[1]
POSTGRES_ADMIN_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"
POSTGRES_URL = "postgresql+asyncpg://postgres@127.0.0.1:{port}/{name}"
STOP_SECONDS = 10.0
LOG_TAIL_CHARS = 3000

FSPS = ("payerfsp", "payeefsp")


# --- keys ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class FspKeys:
    """A DFSP's signing key file and the directory of its peers' public keys."""

    signing_key: Path
    verification_dir: Path


def write_fsp_keys(base: Path, fsps: Sequence[str] = FSPS) -> dict[str, FspKeys]:
    """One RSA-2048 key pair per FSP; each FSP's directory holds every *other* FSP's public
    key as ``<fspId>.pem`` (the layout both pm4ml and the Node adapter read)."""
    pems: dict[str, tuple[bytes, bytes]] = {}
    for fsp in fsps:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        private = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        public = key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        pems[fsp] = (private, public)
    result: dict[str, FspKeys] = {}
    for fsp in fsps:
        own = base / fsp
        peers = own / "peers"
        peers.mkdir(parents=True, exist_ok=True)
        signing = own / f"{fsp}.key"
        signing.write_bytes(pems[fsp][0])
        signing.chmod(0o600)
        for other in fsps:
            if other != fsp:
                (peers / f"{other}.pem").write_bytes(pems[other][1])
        result[fsp] = FspKeys(signing, peers)
    return result


# --- ports and processes ------------------------------------------------------------------


def free_ports(count: int) -> list[int]:
    """``count`` distinct loopback ports free right now (bound together, then released)."""
    socks = []
    try:
        for _ in range(count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind(("127.0.0.1", 0))
            socks.append(sock)
        return [sock.getsockname()[1] for sock in socks]
    finally:
        for sock in socks:
            sock.close()


@dataclass
class Proc:
    """A subprocess in its own process group, with its output in ``log``."""

    name: str
    popen: subprocess.Popen[bytes]
    log: Path

    @property
    def pid(self) -> int:
        return self.popen.pid

    def tail(self) -> str:
        try:
            return self.log.read_text(errors="replace")[-LOG_TAIL_CHARS:]
        except OSError:
            return ""


def start_process(
    name: str, argv: Sequence[str], env: Mapping[str, str], cwd: Path, log: Path
) -> Proc:
    """Start ``argv`` in a new session (so that stopping it reaches its children too)."""
    with log.open("ab") as out:
        popen = subprocess.Popen(
            list(argv),
            env=dict(env),
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return Proc(name, popen, log)


def stop_process(proc: Proc, timeout: float = STOP_SECONDS) -> None:
    """SIGTERM the process group, SIGKILL it after ``timeout``; never raises."""
    if proc.popen.poll() is not None:
        return
    for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 5.0)):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.popen.pid, sig)
        try:
            proc.popen.wait(wait)
            return
        except subprocess.TimeoutExpired:
            continue


async def wait_for_port(proc: Proc, port: int, within: float = 60.0) -> None:
    """Wait until ``port`` accepts connections; fail with the log tail if ``proc`` dies."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if proc.popen.poll() is not None:
            raise RuntimeError(f"{proc.name} exited ({proc.popen.returncode}):\n{proc.tail()}")
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            await asyncio.sleep(0.1)
            continue
        writer.close()
        return
    raise RuntimeError(f"{proc.name}: port {port} not open after {within} s:\n{proc.tail()}")


def python_module(module: str, *args: str) -> list[str]:
    """The argv running ``python -m module args`` with this interpreter."""
    return [sys.executable, "-m", module, *args]


# --- databases ----------------------------------------------------------------------------


async def _admin(sql: str) -> None:
    connection = await asyncpg.connect(POSTGRES_ADMIN_DSN, timeout=10)
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


@contextlib.asynccontextmanager
async def postgres_database(prefix: str) -> AsyncIterator[str]:
    """A fresh empty PostgreSQL database (its SQLAlchemy URL), dropped on exit."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    await _admin(f'CREATE DATABASE "{name}"')
    try:
        yield POSTGRES_URL.format(port=5432, name=name)
    finally:
        await _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextlib.asynccontextmanager
async def redis_databases(url: str, indexes: Sequence[int]) -> AsyncIterator[None]:
    """Empty the Redis databases ``indexes`` before and after use."""

    async def flush() -> None:
        for index in indexes:
            client = aioredis.Redis.from_url(f"{url.rstrip('/')}/{index}")
            try:
                await client.flushdb()
            finally:
                await client.aclose()

    await flush()
    try:
        yield
    finally:
        await flush()


# --- a running pair -----------------------------------------------------------------------


@dataclass
class RunningPair:
    """A payer + payee pair under load: where the load goes, and the process ids to measure
    (``payer``, ``payee`` and, for the Node pair, ``backend``)."""

    label: str
    outbound_port: int
    pids: dict[str, int]
    #: Files where ``benchmarks.txcount`` keeps each pm4ml process's transaction total.
    transaction_files: dict[str, Path] = field(default_factory=dict)


T = TypeVar("T")


def run_on_uvloop(work: Coroutine[Any, Any, T]) -> T:
    """Run ``work`` on uvloop when it is installed: the measuring process's own CPU is then
    smaller."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(work)
    return uvloop.run(work)
