"""The composition root: build every service from the settings, start and stop them.

Nothing else in pm4ml reads settings to wire itself: :class:`Runtime` creates the database
engine, the connector, the JWS signer and verifier, the ILP codec, the FSPIOP client, the bus,
the flows and the apps, and hands each its dependencies explicitly.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from starlette.applications import Starlette

from pm4ml.config import ConfigError, Settings
from pm4ml.connectors import Connector, ConnectorContext, load
from pm4ml.flows.context import FlowContext
from pm4ml.flows.jobs import Jobs
from pm4ml.flows.payer import PayerOptions, PayerTransfers
from pm4ml.flows.payer_requests import PayerRequests
from pm4ml.flows.rtp_records import RtpOptions
from pm4ml.flows.sweeper import Sweeper
from pm4ml.fspiop.headers import ApiVersion
from pm4ml.fspiop.ilp import ilp_for_version
from pm4ml.fspiop.jws import JwsVerifier
from pm4ml.fspiop.jws_ring import RingSigner
from pm4ml.inbound.app import Background, InboundPolicy, create_inbound_app
from pm4ml.inbound.handlers import Handlers
from pm4ml.observability.connector_metrics import metered
from pm4ml.observability.health import Readiness, create_metrics_app, gauged
from pm4ml.observability.metrics import Metrics, MetricsMiddleware
from pm4ml.observability.otel_config import otlp_traces_endpoint, service_name
from pm4ml.observability.tracing import TraceContextMiddleware
from pm4ml.observability.transfers import count_in_flight, watch_transfers
from pm4ml.outbound.app import create_outbound_app
from pm4ml.store.engine import create_engine
from pm4ml.store.repo import Store
from pm4ml.tls.expiry import report_expiry
from pm4ml.tls.settings import client_tls
from pm4ml.transport.bus import Bus, LocalBus
from pm4ml.transport.client import ClientOptions, FspiopClient

if TYPE_CHECKING:
    from pm4ml.observability.otel import Tracing

log = logging.getLogger(__name__)

JOB_POLL_SECONDS = 1.0
JOB_FLUSH_SECONDS = 0.1
DRAIN_SECONDS = 10.0


def build_connector(settings: Settings, engine: Any) -> Connector:
    try:
        cls = load(settings.connector)
        return cls.create(ConnectorContext(settings, engine, dict(os.environ)))
    except (LookupError, TypeError, ValueError) as exc:
        raise ConfigError(f"PM4ML_CONNECTOR: {exc}") from exc


def build_bus(settings: Settings) -> Bus:
    if settings.bus_url is None:
        return LocalBus()
    if settings.bus_url.startswith(("redis://", "rediss://")):
        from pm4ml.transport.redis_bus import RedisBus

        return RedisBus(settings.bus_url)
    raise ConfigError("PM4ML_BUS_URL must be a redis:// URL (or unset for in-process)")


def build_tracing(settings: Settings) -> Tracing | None:
    """OpenTelemetry spans when an OTLP endpoint is configured; else None, and OpenTelemetry
    is not even imported."""
    endpoint = otlp_traces_endpoint(settings, os.environ)
    if endpoint is None:
        return None
    from pm4ml.observability.otel import Tracing

    return Tracing(endpoint, service_name(settings, os.environ), settings.dfsp_id)


async def _certificates_check(settings: Settings, metrics: Metrics) -> None:
    """Readiness: every configured TLS certificate still valid. Sets
    ``pm4ml_certificate_expiry_seconds`` and logs a warning under the threshold."""
    certificates = {
        name: path
        for name, path in (
            ("server", settings.tls_server_cert_path),
            ("client", settings.tls_client_cert_path),
        )
        if path is not None
    }
    remaining = report_expiry(
        certificates, settings.cert_expiry_warn_days * 86400, gauge=metrics.certificate_expiry
    )
    expired = sorted(name for name, seconds in remaining.items() if seconds <= 0)
    if expired:
        raise RuntimeError(f"expired certificate: {', '.join(expired)}")


@dataclass
class Runtime:
    settings: Settings
    store: Store
    connector: Connector
    client: FspiopClient
    bus: Bus
    ctx: FlowContext
    handlers: Handlers
    background: Background
    sweeper: Sweeper
    policy: InboundPolicy
    payer: PayerTransfers
    requests: PayerRequests
    metrics: Metrics
    readiness: Readiness
    tracing: Tracing | None = None
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)

    @classmethod
    def create(cls, settings: Settings, *, connector: Connector | None = None) -> Runtime:
        """Wire everything. Raises :class:`ConfigError` for anything misconfigured.
        ``connector`` replaces the one named in the settings (tests inject faults this way)."""
        settings.check_serving()
        assert settings.ilp_secret is not None
        assert settings.jws_verification_keys_dir is not None
        signer = None
        if settings.jws_sign:
            assert settings.jws_signing_key_path is not None
            try:
                # Follows the key ring beside the key, so a rotation needs no restart.
                signer = RingSigner(settings.jws_signing_key_path)
            except ValueError as exc:
                raise ConfigError(f"PM4ML_JWS_SIGNING_KEY_PATH: {exc}") from exc
        try:
            verifier = JwsVerifier.from_directory(settings.jws_verification_keys_dir)
        except ValueError as exc:
            raise ConfigError(f"PM4ML_JWS_VERIFICATION_KEYS_DIR: {exc}") from exc
        engine = create_engine(settings.effective_database_url)
        store = Store(engine)
        metrics = Metrics()
        watch_transfers(engine, metrics)
        tracing = build_tracing(settings)
        connector = metered(
            connector or build_connector(settings, engine),
            metrics,
            tracing.connector_call if tracing is not None else None,
        )
        client = FspiopClient(
            ClientOptions(
                base_url=settings.peer_endpoint,
                source=settings.dfsp_id,
                timeout_seconds=settings.request_timeout_seconds,
                sign=settings.jws_sign,
                sign_put_parties=settings.jws_sign_put_parties,
                ssl_context=client_tls(settings),
            ),
            signer,
            observe=metrics.observe_fspiop,
            spans=tracing,
        )
        bus = build_bus(settings)
        jobs = Jobs(store, client, connector)
        ctx = FlowContext(
            dfsp_id=settings.dfsp_id,
            store=store,
            connector=connector,
            ilp=ilp_for_version(settings.ilp_version, settings.ilp_secret.get_secret_value()),
            jobs=jobs,
            expiry_seconds=settings.expiry_seconds,
            callback_wait_seconds=settings.callback_wait_seconds_max,
            reserve_notification=settings.reserve_notification,
            connector_timeout_seconds=settings.connector_timeout_seconds,
            observe_callback_wait=metrics.observe_callback_wait,
        )
        handlers = Handlers(ctx, bus)
        payer = PayerTransfers(
            ctx,
            client,
            bus,
            PayerOptions(
                auto_accept_party=settings.auto_accept_party,
                auto_accept_quotes=settings.auto_accept_quotes,
                version=ApiVersion.parse(settings.fspiop_version),
            ),
        )
        policy = InboundPolicy(
            settings.dfsp_id,
            verifier,
            require_put_parties_signature=settings.jws_require_put_parties,
            body_bytes_max=settings.request_body_bytes_max,
        )
        background = Background()
        metrics.track_background(background.__len__)
        readiness = Readiness(metrics)
        # The database check counts the unfinished transfers: a real query, and the source
        # of pm4ml_transfers_in_flight.
        database_check = gauged(
            lambda: count_in_flight(store, metrics),
            metrics.database_up,
            metrics.database_check_duration,
        )
        readiness.add("database", database_check)
        readiness.add("bus", gauged(bus.check, metrics.bus_up))
        readiness.add("connector", connector.check)
        readiness.add("certificates", lambda: _certificates_check(settings, metrics))
        return cls(
            settings=settings,
            store=store,
            connector=connector,
            client=client,
            bus=bus,
            ctx=ctx,
            handlers=handlers,
            background=background,
            sweeper=Sweeper(ctx, handlers.transfers),
            policy=policy,
            payer=payer,
            requests=PayerRequests(ctx, client, bus, ApiVersion.parse(settings.fspiop_version)),
            metrics=metrics,
            readiness=readiness,
            tracing=tracing,
        )

    def inbound_app(self) -> Starlette:
        app = create_inbound_app(self.handlers, self.policy, self.background)
        self._add_spans(app, "inbound")
        app.add_middleware(TraceContextMiddleware)
        app.add_middleware(MetricsMiddleware, metrics=self.metrics, server="inbound")
        return app

    def outbound_app(self) -> Starlette:
        settings = self.settings
        rtp = RtpOptions(
            auto_accept_party=settings.auto_accept_r2p_party,
            auto_accept_otp=settings.auto_accept_otp,
            otp_attempts_max=settings.otp_attempts_max,
        )
        app = create_outbound_app(self.payer, self.requests, rtp)
        self._add_spans(app, "outbound")
        app.add_middleware(TraceContextMiddleware)
        app.add_middleware(MetricsMiddleware, metrics=self.metrics, server="outbound")
        return app

    def _add_spans(self, app: Starlette, server: str) -> None:
        if self.tracing is not None:
            from pm4ml.observability.otel import SpanMiddleware

            app.add_middleware(SpanMiddleware, tracing=self.tracing, server=server)

    def metrics_app(self) -> Starlette:
        """``/metrics``, ``/health/live``, ``/health/ready`` (the ops port)."""
        return create_metrics_app(self.metrics, self.readiness)

    async def start(self) -> None:
        """Open connections, resume interrupted transfers, start the workers."""
        await self.connector.start()
        await self.bus.start()
        await self.sweeper.resume()
        loop = asyncio.get_running_loop()
        self._tasks = [
            loop.create_task(self.ctx.jobs.work(JOB_POLL_SECONDS)),
            loop.create_task(self.ctx.jobs.flush_forever(JOB_FLUSH_SECONDS)),
            loop.create_task(self.sweeper.run(self.settings.sweeper_interval_seconds)),
            loop.create_task(
                self.readiness.probe_forever(self.settings.health_probe_interval_seconds)
            ),
        ]

    async def stop(self) -> None:
        """Finish what was promised (bounded), then close everything."""
        await self.background.drain(DRAIN_SECONDS)
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        with contextlib.suppress(Exception):
            await self.ctx.jobs.flush_done()
        await self.client.aclose()
        await self.bus.close()
        await self.connector.close()
        await self.store.engine.dispose()
        if self.tracing is not None:
            await self.tracing.shutdown()
