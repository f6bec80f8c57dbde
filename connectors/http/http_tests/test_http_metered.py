"""The runtime wraps the connector to measure it (``metered``): every Backend API request the
http connector makes must still be made through the wrapper, the optional ones included."""

from __future__ import annotations

from decimal import Decimal

from http_tests.backend import Account, Backend

from pm4ml.connectors import Money, PartyId, TransactionRequest, TransactionRequestState
from pm4ml.observability.connector_metrics import metered
from pm4ml.observability.metrics import Metrics
from pm4ml_http import HttpConnector


async def test_optional_calls_reach_the_backend_through_the_wrapper(
    backend: Backend, connector: HttpConnector
) -> None:
    payer = PartyId("MSISDN", "255700000001")
    backend.accounts[(payer.id_type, payer.id_value, None)] = Account("USD", Decimal(100))
    wrapped = metered(connector, Metrics())
    request = TransactionRequest(
        transaction_request_id="rtp-1",
        payee=PartyId("MSISDN", "44123456789"),
        payee_fsp="payeefsp",
        payer=payer,
        amount=Money(Decimal(5), "USD"),
    )
    await wrapped.decide_transaction_request(request)
    assert await wrapped.one_time_password("rtp-1") == backend.otps["rtp-1"]
    await wrapped.notify_transaction_request("rtp-1", TransactionRequestState.ACCEPTED)
    assert backend.rtp_states["rtp-1"] == "ACCEPTED"
    assert await wrapped.participant_fsp(payer) == "backendfsp"
