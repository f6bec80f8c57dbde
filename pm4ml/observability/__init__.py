"""Operational signals for pm4ml: Prometheus metrics."""
