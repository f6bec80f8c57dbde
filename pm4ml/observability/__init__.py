"""Operational signals: Prometheus metrics, liveness and readiness, trace context."""
