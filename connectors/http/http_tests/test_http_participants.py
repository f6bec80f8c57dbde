"""``participant_fsp`` over the Backend API's ``GET /participants/{Type}/{ID}[/{SubId}]``."""

from __future__ import annotations

from decimal import Decimal

import pytest
from http_tests.backend import Account, Backend

from pm4ml.connectors import PartyId, PartyNotFound, Role, Unavailable, to_fspiop_error
from pm4ml_http import HttpConnector


async def test_the_backend_names_the_fsp_of_its_own_and_of_other_parties(
    backend: Backend, connector: HttpConnector
) -> None:
    backend.accounts[("MSISDN", "255700000001", None)] = Account("USD", Decimal(0))
    backend.elsewhere[("ACCOUNT_ID", "77", "savings")] = "otherfsp"
    assert await connector.participant_fsp(PartyId("MSISDN", "255700000001")) == "backendfsp"
    assert await connector.participant_fsp(PartyId("ACCOUNT_ID", "77", "savings")) == "otherfsp"
    assert backend.requests["GET /participants"] == 2


async def test_unknown_party_is_3204(backend: Backend, connector: HttpConnector) -> None:
    with pytest.raises(PartyNotFound) as caught:
        await connector.participant_fsp(PartyId("MSISDN", "999"))
    assert to_fspiop_error(caught.value, Role.PAYEE).code_text == "3204"


async def test_an_answer_without_fsp_id_is_unavailable(
    backend: Backend, connector: HttpConnector
) -> None:
    backend.accounts[("MSISDN", "1", None)] = Account("USD", Decimal(0))
    backend.garbage["GET /participants"] = b"{}"
    with pytest.raises(Unavailable, match="fspId"):
        await connector.participant_fsp(PartyId("MSISDN", "1"))
