"""Test helpers: a recording FSPIOP peer on a real socket, and a pm4ml runtime on loopback."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from pm4ml.fspiop import canonical
from pm4ml.runtime import Runtime
from pm4ml.server import Listener, bind


@dataclass(frozen=True)
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return canonical.loads(self.body) if self.body else None


@dataclass
class Recorder:
    """A fake hub/peer: records every request and answers like FSPIOP (202/200, no body)."""

    url: str = ""
    requests: list[Recorded] = field(default_factory=list)
    arrived: asyncio.Condition = field(default_factory=asyncio.Condition)
    status_code: int | None = None  # force an answer, e.g. 503

    async def handle(self, request: Request) -> Response:
        body = await request.body()
        headers = {k.lower(): v for k, v in request.headers.items()}
        async with self.arrived:
            self.requests.append(Recorded(request.method, request.url.path, headers, body))
            self.arrived.notify_all()
        status = self.status_code or (200 if request.method in ("PUT", "PATCH") else 202)
        return Response(status_code=status)

    async def wait_for(self, method: str, path: str, seconds: float = 10.0) -> Recorded:
        """The first request with this method and path, waiting for it if need be."""

        def find() -> Recorded | None:
            for item in self.requests:
                if item.method == method and item.path == path:
                    return item
            return None

        async with self.arrived:
            await asyncio.wait_for(self.arrived.wait_for(lambda: find() is not None), seconds)
        found = find()
        assert found is not None
        return found

    def count(self, method: str, path: str) -> int:
        return sum(1 for r in self.requests if r.method == method and r.path == path)

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route(
                    "/{path:path}",
                    self.handle,
                    methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
                )
            ]
        )


@contextlib.asynccontextmanager
async def serve_app(app: Any, host: str = "127.0.0.1", **options: Any) -> AsyncIterator[str]:
    """Serve an ASGI app under uvicorn on a free loopback port; yield its base URL. ``options``
    are more ``uvicorn.Config`` settings: with ``ssl_certfile`` the URL is ``https``."""
    sock = bind(host, 0)
    port = sock.getsockname()[1]
    # log_config=None: leave the process's logging alone, as pm4ml's own servers do.
    settings: dict[str, Any] = {
        "lifespan": "off",
        "access_log": False,
        "log_level": "warning",
        "log_config": None,
    }
    config = uvicorn.Config(app, **{**settings, **options})
    server = uvicorn.Server(config)
    task = asyncio.get_running_loop().create_task(server.serve(sockets=[sock]))
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    scheme = "https" if options.get("ssl_certfile") else "http"
    try:
        yield f"{scheme}://{host}:{port}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 10)


@contextlib.asynccontextmanager
async def recorder() -> AsyncIterator[Recorder]:
    peer = Recorder()
    async with serve_app(peer.app()) as url:
        peer.url = url
        yield peer


__all__ = ["Listener", "Recorded", "Recorder", "recorder", "serve_app"]


async def drain_outbox(*runtimes: Runtime) -> None:
    """Wait until the runtimes' outboxes are empty: the CBS commits and releases, callbacks and
    notifications queued by finished transfers have run (the outbound API answers once the
    transfer's outcome is stored; the CBS is told right after)."""
    for _ in range(100):
        pending = 0
        for runtime in runtimes:
            await runtime.ctx.jobs.flush_done()
            pending += await runtime.store.pending_jobs()
        if pending == 0:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"{pending} outbox jobs still pending")
