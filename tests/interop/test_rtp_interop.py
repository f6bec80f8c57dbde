"""Request to pay between pm4ml and the Node reference (``@mojaloop/sdk-scheme-adapter``),
peer to peer, JWS on both ways: a pm4ml payee DFSP asks a Node payer DFSP's customer to pay.

And the OTP step with pm4ml as payer DFSP and a Node payee DFSP (``/authorizations``).

Not the other directions. By its source (not run here), the reference's own
``POST /requestToPay`` puts its ``from`` party in the FSPIOP ``payer`` with its own DFSP id and
the looked-up ``to`` in ``payee``, so a pm4ml payer DFSP is asked about a customer of the
requesting DFSP and answers 3204. And its ``POST /requestToPayTransfer`` (as payer DFSP)
validates ``scenario`` as an object but copies it into the quote's
``transactionType.scenario``, so its quote is not valid FSPIOP and a pm4ml payee refuses it
(seen here: 400 from pm4ml, 500 from the reference)."""

from __future__ import annotations

import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import KeyPair
from tests.interop.test_node_interop import NODE_PARTY, PM4ML_PARTY, peers
from tests.support import drain_outbox

pytestmark = pytest.mark.interop


def request_to_pay(payer: str, amount: str = "10") -> dict[str, Any]:
    return {
        "homeR2PTransactionId": str(uuid.uuid4()),
        "from": {"type": "BUSINESS", "idType": "MSISDN", "idValue": PM4ML_PARTY.id_value},
        "to": {"idType": "MSISDN", "idValue": payer},
        "amountType": "SEND",
        "currency": "USD",
        "amount": amount,
        "transactionType": "PAYMENT",
    }


async def test_pm4ml_payee_requests_a_node_payer_to_pay(
    tmp_path: Path, rsa_keys: dict[str, KeyPair]
) -> None:
    async with peers(tmp_path, rsa_keys, pm4ml_id="payeefsp", node_id="payerfsp") as setup:
        async with httpx.AsyncClient(timeout=60) as http:
            response = await http.post(
                setup.pm4ml_outbound + "/requestToPay",
                json=request_to_pay(NODE_PARTY["idValue"], "12.5"),
            )
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["currentState"] == "COMPLETED"
        assert body["to"]["fspId"] == "payerfsp"
        answer = body["transactionRequestResponse"]["body"]
        assert answer["transactionRequestState"] == "RECEIVED"
        asked = [b for m, p, b in setup.backend.calls if p == "/transactionrequests"]
        assert len(asked) == 1
        assert asked[0]["transactionRequestId"] == body["transactionRequestId"]
        assert asked[0]["from"]["idValue"] == NODE_PARTY["idValue"]
        assert asked[0]["to"]["idValue"] == PM4ML_PARTY.id_value
        assert (asked[0]["amount"], asked[0]["transactionType"]) == ("12.5", "PAYMENT")
        assert (asked[0]["initiator"], asked[0]["initiatorType"]) == ("PAYEE", "BUSINESS")


async def test_node_payer_rejection_reaches_the_pm4ml_payee(
    tmp_path: Path, rsa_keys: dict[str, KeyPair]
) -> None:
    async with peers(tmp_path, rsa_keys, pm4ml_id="payeefsp", node_id="payerfsp") as setup:
        setup.backend.transaction_request_state = "REJECTED"
        async with httpx.AsyncClient(timeout=60) as http:
            response = await http.post(
                setup.pm4ml_outbound + "/requestToPay",
                json=request_to_pay(NODE_PARTY["idValue"]),
            )
        assert response.status_code == 200, response.text
        answer = response.json()["transactionRequestResponse"]["body"]
        assert answer["transactionRequestState"] == "REJECTED"


async def test_pm4ml_payer_gets_the_otp_from_a_node_payee(
    tmp_path: Path, rsa_keys: dict[str, KeyPair], monkeypatch: pytest.MonkeyPatch
) -> None:
    """OTP over ``/authorizations``, pm4ml as payer DFSP: after the quote pm4ml asks the Node
    payee DFSP (``GET /authorizations``), which asks its backend (``GET /otp/{ID}``) and
    answers ``PUT /authorizations`` ``ENTERED``; pm4ml's CBS checks the password (the check
    is the one fake: this request did not come through pm4ml, so no password was issued by
    its ledger), a wrong one is asked for again, then pm4ml pays."""
    async with peers(tmp_path, rsa_keys, pm4ml_id="payerfsp", node_id="payeefsp") as setup:
        setup.backend.otps = ["111111", "424242"]

        async def issued(transaction_request_id: str, value: str) -> bool:
            return value == "424242"

        monkeypatch.setattr(setup.pm4ml.ctx.connector, "check_one_time_password", issued)
        request_id = str(uuid.uuid4())
        pay = {
            "homeR2PTransactionId": str(uuid.uuid4()),
            "transactionRequestId": request_id,
            "from": {"idType": "MSISDN", "idValue": PM4ML_PARTY.id_value},
            "to": {"idType": "MSISDN", "idValue": NODE_PARTY["idValue"], "fspId": "payeefsp"},
            "amountType": "SEND",
            "currency": "USD",
            "amount": "12.5",
            "scenario": "PAYMENT",
            "subScenario": "POS",
            "initiator": "PAYEE",
            "initiatorType": "DEVICE",
            "authenticationType": "OTP",
        }
        async with httpx.AsyncClient(timeout=60) as http:
            response = await http.post(setup.pm4ml_outbound + "/requestToPayTransfer", json=pay)
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["currentState"] == "COMPLETED"
        entered = body["authorizationResponse"]["body"]
        assert entered["responseType"] == "ENTERED"
        assert entered["authenticationInfo"]["authenticationValue"] == "424242"
        asked = [path for method, path, _ in setup.backend.calls if path.startswith("/otp/")]
        assert asked == [f"/otp/{request_id}"] * 2
        await drain_outbox(setup.pm4ml)
        assert (await setup.ledger.balance(PM4ML_PARTY, "USD")).balance == Decimal("87.5")
