"""Whether OpenTelemetry spans are wanted, decided without importing OpenTelemetry: with no
exporter configured, pm4ml never loads it (:mod:`pm4ml.observability.otel` is imported only
when :func:`otlp_traces_endpoint` returns a URL)."""

from __future__ import annotations

from collections.abc import Mapping

from pm4ml.config import Settings

DEFAULT_SERVICE_NAME = "pm4ml"


def otlp_traces_endpoint(settings: Settings, environ: Mapping[str, str]) -> str | None:
    """Where spans go (OTLP over HTTP, protobuf), following the OpenTelemetry conventions:
    ``PM4ML_OTEL_EXPORTER_OTLP_ENDPOINT`` or else ``OTEL_EXPORTER_OTLP_ENDPOINT`` is a base URL
    (``/v1/traces`` is appended), ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`` is the full URL.
    None when none is set, or ``OTEL_SDK_DISABLED`` is true."""
    if environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return None
    base = settings.otel_exporter_otlp_endpoint
    if base is None:
        full = environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "").strip()
        if full:
            return full
        base = environ.get("OTEL_EXPORTER_OTLP_ENDPOINT", "").strip() or None
    return None if base is None else base.rstrip("/") + "/v1/traces"


def service_name(settings: Settings, environ: Mapping[str, str]) -> str:
    """``service.name`` of the spans: the setting, else ``OTEL_SERVICE_NAME``, else pm4ml."""
    return (
        settings.otel_service_name
        or environ.get("OTEL_SERVICE_NAME", "").strip()
        or DEFAULT_SERVICE_NAME
    )
