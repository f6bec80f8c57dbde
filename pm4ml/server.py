"""Running the apps under uvicorn: several servers in one event loop, stopped together."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import ssl
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass

import uvicorn
from starlette.types import ASGIApp

from pm4ml.runtime import Runtime

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Listener:
    """One server to run: an app on host:port, or on a socket bound beforehand (so that two
    peers can know each other's ports before either starts)."""

    name: str
    app: ASGIApp
    host: str
    port: int
    sock: socket.socket | None = None
    ssl_context: ssl.SSLContext | None = None


def bind(host: str, port: int) -> socket.socket:
    """A listening socket (port 0 picks a free one: tests read it back)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(2048)
        sock.setblocking(False)
    except OSError:
        sock.close()  # a port in use must not leak the socket as well
        raise
    return sock


def _uvicorn(
    app: ASGIApp, log_level: str, ssl_context: ssl.SSLContext | None = None
) -> uvicorn.Server:
    config = uvicorn.Config(
        app,
        http="httptools",
        lifespan="off",
        access_log=False,
        log_level=log_level.lower(),
        # uvicorn's own records go to the root logger, so they come out in pm4ml's format
        # (PM4ML_LOG_FORMAT) like every other line, instead of through uvicorn's handlers.
        log_config=None,
        timeout_keep_alive=30,
        server_header=False,
        # The context is built (and kept reloaded) by pm4ml.tls, not from uvicorn's options.
        ssl_context_factory=(lambda _config, _default: ssl_context) if ssl_context else None,
    )
    return uvicorn.Server(config)


@dataclass
class Served:
    """The running servers: their bound ports, and a way to wait until one of them stops
    (uvicorn handles SIGINT/SIGTERM by stopping its server)."""

    ports: list[int]
    tasks: list[asyncio.Task[None]]

    async def wait(self) -> None:
        await asyncio.wait(self.tasks, return_when=asyncio.FIRST_COMPLETED)


@contextlib.asynccontextmanager
async def running(
    runtime: Runtime, listeners: Sequence[Listener], *, log_level: str = "WARNING"
) -> AsyncIterator[Served]:
    """Start the runtime and one uvicorn server per listener; yield the bound ports; on exit
    stop the servers, then the runtime (so in-flight work drains first)."""
    await runtime.start()
    servers: list[uvicorn.Server] = []
    tasks: list[asyncio.Task[None]] = []
    ports: list[int] = []
    try:
        for listener in listeners:
            sock = listener.sock or bind(listener.host, listener.port)
            ports.append(sock.getsockname()[1])
            server = _uvicorn(listener.app, log_level, listener.ssl_context)
            servers.append(server)
            tasks.append(asyncio.get_running_loop().create_task(server.serve(sockets=[sock])))
        while not all(server.started for server in servers):
            if any(task.done() for task in tasks):
                break
            await asyncio.sleep(0.01)
        for task in tasks:
            if task.done() and task.exception() is not None:
                raise RuntimeError(f"a server failed to start: {task.exception()}")
        yield Served(ports, tasks)
    finally:
        for server in servers:
            server.should_exit = True
        if tasks:
            await asyncio.wait(tasks, timeout=10)
        await runtime.stop()


async def serve_forever(
    runtime: Runtime, listeners: Sequence[Listener], *, log_level: str = "INFO"
) -> None:
    """``pm4ml serve``: run until SIGINT/SIGTERM stops a server, then stop them all."""
    async with running(runtime, listeners, log_level=log_level) as served:
        for listener, port in zip(listeners, served.ports, strict=True):
            scheme = "https" if listener.ssl_context else "http"
            log.info("%s listening on %s://%s:%d", listener.name, scheme, listener.host, port)
        await served.wait()
