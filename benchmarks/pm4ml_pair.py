"""The pm4ml pair: two ``pm4ml serve`` processes peer to peer (each one's FSPIOP peer is the
other's inbound server), JWS on both ways, ILP v1, the ``ledger`` connector, one fresh
database per DFSP (SQLite file or PostgreSQL database, dropped afterwards).

Accounts: the payer's come from a seed file (``PM4ML_LEDGER_SEED_FILE``, a few accounts with
large balances). The payee's thousands of accounts are inserted in one bulk statement before
the server starts: opening them through the seed loader takes over a minute for 20,000
accounts (one lookup and one flush per account), and an empty account needs no posting.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import insert

from benchmarks.common import (
    FSPS,
    REPO,
    FspKeys,
    Proc,
    RunningPair,
    free_ports,
    postgres_database,
    start_process,
    stop_process,
    wait_for_port,
    write_fsp_keys,
)
from pm4ml.store.engine import create_engine
from pm4ml_ledger.schema import AccountKind, AccountRow, AccountStatus

PAYER_BALANCE = "100000000"
#: Every PostgreSQL database of the benchmark starts with this (its back ends are measured).
DATABASE_PREFIX = "pm4ml_bench_"
BULK_ROWS = 5000


@dataclass(frozen=True)
class Pm4mlOptions:
    """How the pm4ml pair is set up."""

    database: str  # "sqlite" or "postgresql"
    payers: Sequence[str]
    payees: Sequence[str]
    log_level: str = "WARNING"
    currency: str = "USD"


def pm4ml_argv(*args: str) -> list[str]:
    """The ``pm4ml`` command of this interpreter (no shell shim between us and the pid)."""
    script = Path(sys.executable).parent / "pm4ml"
    if script.is_file():
        return [str(script), *args]
    return [sys.executable, "-c", "from pm4ml.cli import run; run()", *args]


def _environment(settings: dict[str, str]) -> dict[str, str]:
    # The benchmark's own PM4ML_* variables must not leak into the servers.
    env = {k: v for k, v in os.environ.items() if not k.startswith("PM4ML_")}
    env.update(settings)
    return env


def _settings(
    fsp: str,
    peer_port: int,
    ports: tuple[int, int],
    url: str,
    keys: FspKeys,
    work: Path,
    level: str,
) -> dict[str, str]:
    return {
        "PM4ML_DFSP_ID": fsp,
        "PM4ML_PEER_ENDPOINT": f"http://127.0.0.1:{peer_port}",
        "PM4ML_INBOUND_HOST": "127.0.0.1",
        "PM4ML_INBOUND_PORT": str(ports[0]),
        "PM4ML_OUTBOUND_HOST": "127.0.0.1",
        "PM4ML_OUTBOUND_PORT": str(ports[1]),
        # The portal and the metrics server run as in production, on ports of their own.
        "PM4ML_OPS_PORT": "0",
        "PM4ML_METRICS_PORT": "0",
        "PM4ML_DATA_DIR": str(work),
        "PM4ML_DATABASE_URL": url,
        "PM4ML_JWS_SIGN": "true",
        "PM4ML_JWS_SIGN_PUT_PARTIES": "true",
        "PM4ML_JWS_REQUIRE_PUT_PARTIES": "true",
        "PM4ML_JWS_SIGNING_KEY_PATH": str(keys.signing_key),
        "PM4ML_JWS_VERIFICATION_KEYS_DIR": str(keys.verification_dir),
        "PM4ML_ILP_SECRET": f"{fsp}-benchmark-ilp-secret",
        "PM4ML_ILP_VERSION": "1",
        "PM4ML_AUTO_ACCEPT_PARTY": "true",
        "PM4ML_AUTO_ACCEPT_QUOTES": "true",
        "PM4ML_CONNECTOR": "ledger",
        "PM4ML_LOG_LEVEL": level,
    }


def write_payer_seed(path: Path, payers: Sequence[str], currency: str) -> None:
    """The payer's seed file: one well-funded account per payer MSISDN."""
    accounts = [
        {
            "id_type": "MSISDN",
            "id_value": msisdn,
            "currency": currency,
            "display_name": f"Payer {msisdn}",
            "balance": PAYER_BALANCE,
        }
        for msisdn in payers
    ]
    path.write_text(json.dumps({"accounts": accounts}))


async def open_payee_accounts(url: str, payees: Sequence[str], currency: str) -> None:
    """Open ``payees`` as empty customer accounts in the payee's (migrated) ledger."""
    engine = create_engine(url)
    try:
        rows = [
            {
                "kind": AccountKind.CUSTOMER,
                "id_type": "MSISDN",
                "id_value": msisdn,
                "sub_id": "",
                "currency": currency,
                "status": AccountStatus.OPEN,
                "display_name": f"Payee {msisdn}",
                "first_name": "Pay",
                "last_name": "Ee",
                "balance": 0,
                "held": 0,
            }
            for msisdn in payees
        ]
        async with engine.begin() as connection:
            for start in range(0, len(rows), BULK_ROWS):
                await connection.execute(insert(AccountRow), rows[start : start + BULK_ROWS])
    finally:
        await engine.dispose()


async def _upgrade(env: dict[str, str], log: Path) -> None:
    """``pm4ml db upgrade``: pm4ml's tables and the ledger's."""
    with log.open("ab") as out:
        done = await asyncio.to_thread(
            subprocess.run,
            pm4ml_argv("db", "upgrade"),
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            check=False,
        )
    if done.returncode != 0:
        raise RuntimeError(f"pm4ml db upgrade failed:\n{_tail(log)}")


def _tail(log: Path) -> str:
    return log.read_text(errors="replace")[-3000:]


@contextlib.asynccontextmanager
async def pm4ml_pair(options: Pm4mlOptions, work: Path) -> AsyncIterator[RunningPair]:
    """Start the pair; on exit stop both processes, then drop their databases."""
    keys = write_fsp_keys(work / "keys")
    port_list = free_ports(4)
    ports = {"payerfsp": (port_list[0], port_list[1]), "payeefsp": (port_list[2], port_list[3])}
    async with contextlib.AsyncExitStack() as stack:
        envs: dict[str, dict[str, str]] = {}
        for fsp in FSPS:
            home = work / fsp
            home.mkdir(parents=True, exist_ok=True)
            if options.database == "sqlite":
                url = f"sqlite+aiosqlite:///{home / 'pm4ml.db'}"
            else:
                url = await stack.enter_async_context(postgres_database(f"{DATABASE_PREFIX}{fsp}"))
            other = "payeefsp" if fsp == "payerfsp" else "payerfsp"
            settings = _settings(
                fsp, ports[other][0], ports[fsp], url, keys[fsp], home, options.log_level
            )
            env = _environment(settings)
            await _upgrade(env, home / "server.log")
            if fsp == "payerfsp":
                seed = home / "seed.json"
                write_payer_seed(seed, options.payers, options.currency)
                env["PM4ML_LEDGER_SEED_FILE"] = str(seed)
            else:
                await open_payee_accounts(url, options.payees, options.currency)
            envs[fsp] = env
        processes: dict[str, Proc] = {}
        txn_files = {fsp: work / fsp / "transactions" for fsp in FSPS}
        for fsp in FSPS:
            argv = [sys.executable, "-m", "benchmarks.txcount", str(txn_files[fsp]), "serve"]
            env = {**envs[fsp], "PYTHONPATH": str(REPO)}
            proc = start_process(fsp, argv, env, work / fsp, work / fsp / "server.log")
            stack.callback(stop_process, proc)
            processes["payer" if fsp == "payerfsp" else "payee"] = proc
        for fsp, proc in zip(FSPS, processes.values(), strict=True):
            for port in ports[fsp]:
                await wait_for_port(proc, port)
        pids = {name: proc.pid for name, proc in processes.items()}
        counts = {
            "payer" if fsp == "payerfsp" else "payee": path for fsp, path in txn_files.items()
        }
        yield RunningPair(f"pm4ml/{options.database}", ports["payerfsp"][1], pids, counts)
