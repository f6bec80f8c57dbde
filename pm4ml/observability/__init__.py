"""Operational signals: Prometheus metrics, liveness and readiness, trace context and
OpenTelemetry spans, structured logs."""
