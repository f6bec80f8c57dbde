"""The reference Node connector, ``@mojaloop/sdk-scheme-adapter@18.0.2`` from npm, as a peer
DFSP in tests (../shared/INTEROP.md): install it once into a git-ignored cache, start one
adapter as a subprocess on loopback, stop it (its whole process group) afterwards."""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import signal
import subprocess
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

# Outside the clone, so that every checkout on this machine (CI's fresh clones included) shares
# one install; override with PM4ML_INTEROP_CACHE.
CACHE = Path(
    os.environ.get("PM4ML_INTEROP_CACHE", Path.home() / ".cache" / "pm4ml" / "sdk-scheme-adapter")
)
PACKAGE = "@mojaloop/sdk-scheme-adapter@18.0.2"
ENTRY = CACHE / "node_modules" / "@mojaloop" / "sdk-scheme-adapter" / "src" / "index.js"
PRELOAD = Path(__file__).with_name("loopback.js")
START_SECONDS_MAX = 60.0


def _spawn(
    entry: Path, env: dict[str, str], workdir: Path, log_path: Path
) -> subprocess.Popen[bytes]:
    workdir.mkdir(parents=True, exist_ok=True)
    with open(log_path, "wb") as log:
        return subprocess.Popen(
            ["node", "-r", str(PRELOAD), str(entry)],
            cwd=workdir,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def _log_tail(log_path: Path) -> str:
    return log_path.read_text(errors="replace")[-3000:]


def install() -> Path:
    """Install the adapter into the cache if it is not there yet (about 3 minutes once).
    A lock file keeps parallel runs from installing twice."""
    CACHE.mkdir(parents=True, exist_ok=True)
    with open(CACHE / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        # The marker is written only after npm succeeded: an interrupted install is redone.
        marker = CACHE / ".installed"
        if not (ENTRY.is_file() and marker.is_file() and marker.read_text() == PACKAGE):
            subprocess.run(
                ["npm", "install", "--no-audit", "--no-fund", "--prefix", str(CACHE), PACKAGE],
                check=True,
                timeout=1200,
                capture_output=True,
            )
            marker.write_text(PACKAGE)
    return ENTRY


@dataclass(frozen=True)
class NodeDfsp:
    """Where a running adapter listens."""

    dfsp_id: str
    inbound_port: int
    outbound_port: int

    @property
    def outbound_url(self) -> str:
        return f"http://127.0.0.1:{self.outbound_port}"


async def _port_open(port: int) -> bool:
    try:
        _, writer = await asyncio.open_connection("127.0.0.1", port)
    except OSError:
        return False
    writer.close()
    await writer.wait_closed()
    return True


@contextlib.asynccontextmanager
async def node_adapter(
    *,
    dfsp_id: str,
    ports: tuple[int, int, int],
    peer: str,
    backend: str,
    redis_db: int,
    signing_key: Path,
    verification_dir: Path,
    ilp_secret: str,
    workdir: Path,
) -> AsyncIterator[NodeDfsp]:
    """Run one adapter; ``peer`` and ``backend`` are ``host:port`` with no scheme, as the
    adapter wants them."""
    entry = install()
    inbound, outbound, metrics = ports
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(workdir),
        "DFSP_ID": dfsp_id,
        "INBOUND_LISTEN_PORT": str(inbound),
        "OUTBOUND_LISTEN_PORT": str(outbound),
        "METRICS_SERVER_LISTEN_PORT": str(metrics),
        "PEER_ENDPOINT": peer,
        "BACKEND_ENDPOINT": backend,
        "CACHE_URL": f"redis://127.0.0.1:6379/{redis_db}",
        "JWS_SIGN": "true",
        "JWS_SIGN_PUT_PARTIES": "true",
        "VALIDATE_INBOUND_JWS": "true",
        "VALIDATE_INBOUND_PUT_PARTIES_JWS": "true",
        "JWS_SIGNING_KEY_PATH": str(signing_key),
        "JWS_VERIFICATION_KEYS_DIRECTORY": str(verification_dir),
        "ILP_SECRET": ilp_secret,
        "CHECK_ILP": "true",
        "AUTO_ACCEPT_PARTY": "true",
        "AUTO_ACCEPT_QUOTES": "true",
        "EXPIRY_SECONDS": "60",
        "REQUEST_PROCESSING_TIMEOUT_SECONDS": "30",
        "INBOUND_MUTUAL_TLS_ENABLED": "false",
        "OUTBOUND_MUTUAL_TLS_ENABLED": "false",
        "PM4ML_ENABLED": "false",
        "ENABLE_TEST_FEATURES": "false",
        "ENABLE_OAUTH_TOKEN_ENDPOINT": "false",
        "LOG_LEVEL": "warn",
    }
    log_path = workdir / f"{dfsp_id}.log"
    process = _spawn(entry, env, workdir, log_path)
    try:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + START_SECONDS_MAX
        while not (await _port_open(inbound) and await _port_open(outbound)):
            if process.poll() is not None or loop.time() > deadline:
                raise RuntimeError(f"{dfsp_id} adapter did not start:\n{_log_tail(log_path)}")
            await asyncio.sleep(0.2)
        yield NodeDfsp(dfsp_id, inbound, outbound)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


if __name__ == "__main__":
    print(install())
