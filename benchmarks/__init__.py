"""Benchmarks: performance goals are measured here, not in timed tests."""
