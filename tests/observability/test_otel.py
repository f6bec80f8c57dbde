"""OpenTelemetry spans after a real transfer between a pair, received by a real OTLP/HTTP
receiver on loopback (protobuf ``ExportTraceServiceRequest``, as a collector receives them):
the spans share the trace id of the ``traceparent`` sent into the payer's outbound API, and
the payee's server spans are children of the payer's client spans. Without an exporter
configured, OpenTelemetry is not even imported."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.trace.v1.trace_pb2 import Span
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from pm4ml.config import ConfigError, load_settings
from pm4ml.observability.otel_config import otlp_traces_endpoint, service_name
from tests.e2e.conftest import PairFactory
from tests.e2e.test_pm4ml_pair import settle
from tests.support import serve_app

TRACE_ID = "0af7651916cd43dd8448eb211c80319c"
TRACEPARENT = f"00-{TRACE_ID}-b7ad6b7169203331-01"
PROTOBUF = "application/x-protobuf"


@dataclass(frozen=True)
class Received:
    service: str
    dfsp_id: str
    span: Span


@dataclass
class OtlpReceiver:
    """Takes ``POST /v1/traces`` the way an OpenTelemetry collector does and keeps the spans."""

    url: str = ""
    spans: list[Received] = field(default_factory=list)

    async def traces(self, request: Request) -> Response:
        assert request.headers["content-type"] == PROTOBUF
        export = ExportTraceServiceRequest()
        export.ParseFromString(await request.body())
        for resource_spans in export.resource_spans:
            attributes = {a.key: a.value.string_value for a in resource_spans.resource.attributes}
            for scope_spans in resource_spans.scope_spans:
                for span in scope_spans.spans:
                    received = Received(
                        attributes["service.name"], attributes["pm4ml.dfsp_id"], span
                    )
                    self.spans.append(received)
        answer = ExportTraceServiceResponse().SerializeToString()
        return Response(answer, media_type=PROTOBUF)


@pytest.fixture
async def receiver() -> AsyncIterator[OtlpReceiver]:
    otlp = OtlpReceiver()
    app = Starlette(routes=[Route("/v1/traces", otlp.traces, methods=["POST"])])
    async with serve_app(app) as url:
        otlp.url = url
        yield otlp


async def test_spans_continue_the_callers_trace_across_both_dfsps(
    pair_factory: PairFactory, receiver: OtlpReceiver
) -> None:
    otel = {"otel_exporter_otlp_endpoint": receiver.url, "otel_service_name": "dfsp"}
    async with pair_factory(payer=otel, payee=otel) as pair:
        body = {
            "homeTransactionId": "otel-1",
            "from": {"idType": "MSISDN", "idValue": "44123456789"},
            "to": {"idType": "MSISDN", "idValue": "27713803912"},
            "amountType": "SEND",
            "currency": "USD",
            "amount": "7",
            "transactionType": "TRANSFER",
        }
        response = await pair.http.post(
            pair.payer.outbound_url + "/transfers",
            json=body,
            headers={"traceparent": TRACEPARENT},
        )
        assert response.status_code == 200, response.text
        assert response.json()["currentState"] == "COMPLETED"
        await settle(pair)
        for side in (pair.payer, pair.payee):
            assert side.runtime.tracing is not None
            await side.runtime.tracing.flush()

    spans = receiver.spans
    assert spans, "no span was exported"
    assert {s.service for s in spans} == {"dfsp"}
    traced = [s for s in spans if s.span.trace_id.hex() == TRACE_ID]
    by_id = {s.span.span_id: s for s in traced}

    def named(dfsp: str, kind: int, name: str) -> list[Received]:
        return [s for s in traced if (s.dfsp_id, s.span.kind, s.span.name) == (dfsp, kind, name)]

    outbound = named("payerfsp", Span.SPAN_KIND_SERVER, "POST /transfers")
    assert len(outbound) == 1
    assert outbound[0].span.parent_span_id.hex() == "b7ad6b7169203331"  # the caller's span

    sent = named("payerfsp", Span.SPAN_KIND_CLIENT, "POST transfers")
    assert len(sent) == 1
    prepared = named("payeefsp", Span.SPAN_KIND_SERVER, "POST /transfers")
    assert len(prepared) == 1
    # The payee's server span is the child of the payer's client span, in the same trace.
    assert prepared[0].span.parent_span_id == sent[0].span.span_id
    for client in named("payerfsp", Span.SPAN_KIND_CLIENT, "GET parties") + sent:
        assert client.span.parent_span_id in by_id  # under the outbound server span
    for operation in ("reserve_funds", "commit_funds"):
        assert named("payerfsp", Span.SPAN_KIND_CLIENT, f"connector {operation}"), operation
    assert named("payeefsp", Span.SPAN_KIND_CLIENT, "connector prepare_transfer")
    callback = named("payeefsp", Span.SPAN_KIND_CLIENT, "PUT transfers")
    assert callback
    answered = named("payerfsp", Span.SPAN_KIND_SERVER, "PUT /transfers/{ID}")
    assert answered
    assert answered[0].span.parent_span_id == callback[0].span.span_id
    # Nothing started a trace of its own (the health probe's connector check is not spanned).
    others = [(s.dfsp_id, s.span.name) for s in spans if s.span.trace_id.hex() != TRACE_ID]
    assert not others


def test_the_endpoint_follows_the_opentelemetry_conventions() -> None:
    settings = load_settings()
    assert otlp_traces_endpoint(settings, {}) is None
    base = {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318/"}
    assert otlp_traces_endpoint(settings, base) == "http://collector:4318/v1/traces"
    full = {**base, "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://c:4318/custom"}
    assert otlp_traces_endpoint(settings, full) == "http://c:4318/custom"
    assert otlp_traces_endpoint(settings, {**full, "OTEL_SDK_DISABLED": "true"}) is None
    own = load_settings(otel_exporter_otlp_endpoint="http://own:4318")
    assert otlp_traces_endpoint(own, full) == "http://own:4318/v1/traces"
    with pytest.raises(ConfigError, match="OTEL_EXPORTER_OTLP_ENDPOINT"):
        load_settings(otel_exporter_otlp_endpoint="collector:4317")
    assert service_name(settings, {}) == "pm4ml"
    assert service_name(settings, {"OTEL_SERVICE_NAME": "dfsp-a"}) == "dfsp-a"


def test_without_an_exporter_opentelemetry_is_not_imported() -> None:
    code = (
        "import sys\n"
        "import pm4ml.cli, pm4ml.server, pm4ml.runtime\n"
        "from pm4ml.config import ConfigError, load_settings\n"
        "assert pm4ml.runtime.build_tracing(load_settings()) is None\n"
        "loaded = sorted(m for m in sys.modules if m.startswith('opentelemetry'))\n"
        "assert not loaded, loaded\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "PM4ML_"))}
    subprocess.run([sys.executable, "-c", code], check=True, env=env, timeout=60)
