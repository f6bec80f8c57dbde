"""Every first-party connector and the example are installed and found by name."""

from __future__ import annotations

import pytest

from pm4ml.connectors import available, load


def test_first_party_connectors_and_the_example_are_listed() -> None:
    found = {info.name: info for info in available()}
    assert {"ledger", "http", "toybank"} <= set(found)
    assert found["http"].distribution == "pm4ml-http"
    assert found["http"].origin == "pm4ml_http.connector:HttpConnector"
    assert found["toybank"].distribution == "pm4ml-toybank"


def test_an_unknown_name_lists_the_installed_ones() -> None:
    with pytest.raises(LookupError, match=r"installed: .*http"):
        load("no-such-bank")
