"""The metrics and health server: ``/metrics`` for Prometheus, ``/health/live`` and
``/health/ready`` for Kubernetes probes. Served on its own port (``PM4ML_METRICS_PORT``) so
neither the hub nor the DFSP's own systems reach it through the FSPIOP or outbound ports.

Liveness only says the event loop answers. Readiness runs every check concurrently, each
bounded by a timeout, and answers 503 naming the components that failed. The same checks also
run periodically in the background (:meth:`Readiness.probe_forever`), so the health gauges
(``pm4ml_ready``, ``pm4ml_database_up``, ``pm4ml_bus_up``, ...) stay current when nothing
calls ``/health/ready`` (a plain ``pm4ml serve``, the demo).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping

from prometheus_client import CONTENT_TYPE_LATEST, Gauge, generate_latest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from pm4ml.observability.metrics import Metrics

log = logging.getLogger(__name__)

Check = Callable[[], Awaitable[None]]
"""A readiness check: returns when the component is usable, raises otherwise."""

CHECK_SECONDS_MAX = 5.0


class Readiness:
    """Named readiness checks. The certificate check is added by whoever owns the
    certificates (``add("certificates", check)``)."""

    def __init__(self, metrics: Metrics, seconds_max: float = CHECK_SECONDS_MAX) -> None:
        self.metrics = metrics
        self.seconds_max = seconds_max
        self._checks: dict[str, Check] = {}

    async def probe_forever(self, interval_seconds: float) -> None:
        """Run every check each ``interval_seconds`` until cancelled (the outcomes go to the
        gauges and, for failures, to the log)."""
        while True:
            await self.run()
            await asyncio.sleep(interval_seconds)

    def add(self, name: str, check: Check) -> None:
        self._checks[name] = check

    @property
    def names(self) -> list[str]:
        return list(self._checks)

    async def run(self) -> dict[str, str]:
        """Every check's outcome: ``"ok"`` or the reason it failed."""
        names = list(self._checks)
        outcomes = await asyncio.gather(*(self._one(name) for name in names))
        return dict(zip(names, outcomes, strict=True))

    async def _one(self, name: str) -> str:
        try:
            await asyncio.wait_for(self._checks[name](), self.seconds_max)
        except TimeoutError:
            outcome = f"no answer within {self.seconds_max:g} s"
        except Exception as exc:  # any failure means "not ready"; the reason is reported
            outcome = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        else:
            outcome = "ok"
        self.metrics.ready.labels(name).set(1.0 if outcome == "ok" else 0.0)
        if outcome != "ok":
            log.warning("readiness check %s failed: %s", name, outcome)
        return outcome


def gauged(check: Check, up: Gauge, seconds: Gauge | None = None) -> Check:
    """``check`` that also sets ``up`` to 1 or 0 (a timeout, which cancels it, counts as 0)
    and ``seconds`` to how long it took."""

    async def run() -> None:
        started = time.perf_counter()
        passed = False
        try:
            await check()
            passed = True
        finally:
            up.set(1.0 if passed else 0.0)
            if seconds is not None:
                seconds.set(time.perf_counter() - started)

    return run


def create_metrics_app(metrics: Metrics, readiness: Readiness) -> Starlette:
    """The ASGI app of the metrics and health server."""

    async def scrape(request: Request) -> Response:
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    async def live(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def ready(request: Request) -> Response:
        outcomes: Mapping[str, str] = await readiness.run()
        failed = sorted(name for name, outcome in outcomes.items() if outcome != "ok")
        body = {"status": "ok" if not failed else "unavailable", "checks": outcomes}
        return JSONResponse(body, status_code=503 if failed else 200)

    return Starlette(
        routes=[
            Route("/metrics", scrape, methods=["GET"]),
            Route("/health/live", live, methods=["GET"]),
            Route("/health/ready", ready, methods=["GET"]),
        ]
    )
