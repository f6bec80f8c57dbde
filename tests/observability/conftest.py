"""The pm4ml pair fixtures of the end-to-end tests, reused to scrape real servers."""

from tests.e2e.conftest import pair, pair_factory

__all__ = ["pair", "pair_factory"]
