"""The Node reference pair: two ``@mojaloop/sdk-scheme-adapter@18.0.2`` adapters peer to peer,
JWS on both ways (``PUT /parties`` included), ILP v1, Redis as their cache (one database index
each), the payee's core banking being ``benchmarks.backend`` in its own process.

The adapters are installed and started by the interoperability tests' harness
(``tests.interop.node_sdk``: the settings of ``shared/INTEROP.md``, loopback only); this module
adds the cheap backend, the Redis clean-up and the process ids to measure. The adapter has no
log level: it writes every log line (whole objects, indented JSON) to its log file.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from benchmarks.common import (
    FSPS,
    REPO,
    RunningPair,
    free_ports,
    python_module,
    redis_databases,
    start_process,
    stop_process,
    wait_for_port,
    write_fsp_keys,
)
from benchmarks.procstat import pid_listening_on
from tests.interop.node_sdk import ENTRY, install, node_adapter

#: The Redis the interop harness points the adapters at.
REDIS_URL = "redis://127.0.0.1:6379"


@dataclass(frozen=True)
class NodeOptions:
    """How the Node pair is set up."""

    redis_dbs: tuple[int, int] = (12, 13)


def installed() -> bool:
    return ENTRY.is_file()


async def ensure_installed() -> None:
    """Install the adapter into the tests' cache when it is missing (minutes, once)."""
    if not installed():
        print(f"installing the Node adapter into {ENTRY.parents[3]} (minutes, once)", flush=True)
    await asyncio.to_thread(install)


@contextlib.asynccontextmanager
async def node_pair(options: NodeOptions, work: Path) -> AsyncIterator[RunningPair]:
    """Start the backend and both adapters; on exit stop them and empty their Redis DBs."""
    keys = write_fsp_keys(work / "keys")
    p = free_ports(7)
    ports = {"payerfsp": (p[0], p[1], p[2]), "payeefsp": (p[3], p[4], p[5])}
    backend_port = p[6]
    dbs = dict(zip(FSPS, options.redis_dbs, strict=True))
    async with contextlib.AsyncExitStack() as stack:
        await stack.enter_async_context(redis_databases(REDIS_URL, options.redis_dbs))
        backend = start_process(
            "backend",
            python_module("benchmarks.backend", "--port", str(backend_port)),
            dict(os.environ),
            REPO,
            work / "backend.log",
        )
        stack.callback(stop_process, backend)
        await wait_for_port(backend, backend_port)
        pids = {"backend": backend.pid}
        for fsp in FSPS:
            other = "payeefsp" if fsp == "payerfsp" else "payerfsp"
            dfsp = await stack.enter_async_context(
                node_adapter(
                    dfsp_id=fsp,
                    ports=ports[fsp],
                    peer=f"127.0.0.1:{ports[other][0]}",
                    backend=f"127.0.0.1:{backend_port}",
                    redis_db=dbs[fsp],
                    signing_key=keys[fsp].signing_key,
                    verification_dir=keys[fsp].verification_dir,
                    ilp_secret=f"{fsp}-benchmark-ilp-secret",
                    workdir=work / fsp,
                )
            )
            pid = pid_listening_on(dfsp.inbound_port)
            if pid is None:
                raise RuntimeError(f"no process listens on {fsp}'s port {dfsp.inbound_port}")
            pids["payer" if fsp == "payerfsp" else "payee"] = pid
        yield RunningPair("sdk-18.0.2", ports["payerfsp"][1], pids)
