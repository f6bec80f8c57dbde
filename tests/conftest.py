"""Shared fixtures: JWS keys on disk, a fresh database per test (SQLite and PostgreSQL), and
settings objects built per test (never from the process environment)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from pm4ml.store.migrate import upgrade
from pm4ml.store.schema import MIGRATIONS_DIR, VERSION_TABLE
from pm4ml_ledger import LedgerConnector

T = TypeVar("T")
POSTGRES_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"
POSTGRES_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"


@dataclass(frozen=True)
class KeyPair:
    private_pem: bytes
    public_pem: bytes


def _generate() -> KeyPair:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    public_pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return KeyPair(private_pem, public_pem)


@pytest.fixture(scope="session")
def rsa_keys() -> dict[str, KeyPair]:
    """One RSA key pair per test FSP, generated once per session."""
    return {name: _generate() for name in ("payerfsp", "payeefsp", "hub", "intruder")}


@dataclass(frozen=True)
class FspFiles:
    """A DFSP's key files: its signing key, and a directory with its peers' public keys."""

    signing_key: Path
    verification_dir: Path


def write_keys(base: Path, own: str, keys: dict[str, KeyPair], peers: list[str]) -> FspFiles:
    base.mkdir(parents=True, exist_ok=True)
    signing = base / f"{own}.key"
    signing.write_bytes(keys[own].private_pem)
    signing.chmod(0o600)
    verification = base / "peers"
    verification.mkdir(exist_ok=True)
    for peer in peers:
        (verification / f"{peer}.pem").write_bytes(keys[peer].public_pem)
    return FspFiles(signing, verification)


def postgres_required() -> bool:
    return os.environ.get("PM4ML_TEST_POSTGRES", "1") != "0"


async def _admin(sql: str) -> None:
    connection = await asyncpg.connect(POSTGRES_DSN, timeout=10)
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


def migrate_everything(url: str) -> None:
    """pm4ml's tables and the ledger connector's: what ``pm4ml db upgrade`` creates."""
    upgrade(url, MIGRATIONS_DIR, VERSION_TABLE)
    LedgerConnector.upgrade_database(url)


def in_thread(function: Callable[..., T], *args: Any) -> T:
    """Run blocking set-up (``asyncio.run``, Alembic) in a fresh thread, away from the event
    loop pytest-asyncio owns."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(function, *args).result()


@contextlib.contextmanager
def template_database(prefix: str, migrate: Callable[[str], object]) -> Iterator[str]:
    """A PostgreSQL database made by ``migrate(url)`` once, for tests to clone; dropped after.
    Alembic runs its own event loop: it is kept off the one pytest-asyncio owns."""
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    try:
        in_thread(asyncio.run, _admin(f'CREATE DATABASE "{name}"'))
    except OSError as exc:
        pytest.fail(
            f"PostgreSQL is not reachable on 127.0.0.1:5432 ({exc}); "
            "set PM4ML_TEST_POSTGRES=0 to run without it"
        )
    try:
        in_thread(migrate, POSTGRES_URL.format(name=name))
        yield name
    finally:
        in_thread(asyncio.run, _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def postgres_template() -> Iterator[str]:
    """A PostgreSQL database migrated once, cloned by every PostgreSQL test."""
    with template_database("pm4ml_tmpl", migrate_everything) as name:
        yield name


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """A fresh, migrated database for one test: a SQLite file, or a PostgreSQL clone."""
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'pm4ml.db'}"
        await asyncio.to_thread(in_thread, migrate_everything, url)
        yield url
        return
    if not postgres_required():
        pytest.skip("PM4ML_TEST_POSTGRES=0")
    template = request.getfixturevalue("postgres_template")
    name = f"pm4ml_test_{uuid.uuid4().hex[:10]}"
    await _admin(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    yield POSTGRES_URL.format(name=name)
    await _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
