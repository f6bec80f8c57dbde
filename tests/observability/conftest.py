"""The pm4ml pair of tests/e2e, reused: metrics and trace context are checked on real
transfers between two DFSPs."""

from tests.e2e.conftest import pair, pair_factory

__all__ = ["pair", "pair_factory"]
