"""The portal's transaction requests page over HTTP: requests to pay in both roles with their
state and the transfer that paid them, linked from that transfer's page, for a viewer, with
every stored string escaped."""

from __future__ import annotations

import uuid
from typing import Any

from pm4ml.store.schema import TransactionRequestRow, Transfer, utcnow
from tests.ops.test_portal import XSS, Portal, _client, _sign_in, portal

__all__ = ["portal"]  # the fixture, shared with test_portal


def request_row(role: str, state: str, **extra: Any) -> TransactionRequestRow:
    now = utcnow()
    values: dict[str, Any] = {
        "transaction_request_id": str(uuid.uuid4()),
        "role": role,
        "state": state,
        "peer_fsp": "payeefsp",
        "payer_id_type": "MSISDN",
        "payer_id_value": "111",
        "payee_id_type": "MSISDN",
        "payee_id_value": "222",
        "amount": "12.5",
        "currency": "USD",
        "scenario": "PAYMENT",
        "initiator": "PAYEE",
        "initiator_type": "BUSINESS",
        "otp_attempts": 0,
        "data": {},
        "created_at": now,
        "updated_at": now,
    }
    return TransactionRequestRow(**{**values, **extra})


async def test_requests_are_listed_with_the_transfer_that_paid_them(portal: Portal) -> None:
    paid = request_row("payer", "RECEIVED", sub_scenario="POS", authentication_type="OTP")
    paid.transfer_id = portal.transfer_id
    rejected = request_row("payee", "ERROR", payee_id_value=XSS, last_error_code="3204")
    async with portal.store.transaction() as session:
        session.add_all([paid, rejected])
        transfer = await session.get(Transfer, portal.transfer_id)
        assert transfer is not None
        transfer.transaction_request_id = paid.transaction_request_id

    async with _client(portal) as client:
        assert (await client.get("/transaction-requests")).status_code == 303  # signed out
        await _sign_in(client, "vera")  # a viewer is enough
        listed = await client.get("/transaction-requests")
        assert listed.status_code == 200
        assert "2 requests;" in listed.text
        assert paid.transaction_request_id in listed.text
        assert f'href="/transfers/{portal.transfer_id}"' in listed.text
        assert "PAYMENT / POS" in listed.text and "3204" in listed.text
        assert XSS not in listed.text and "&lt;script&gt;" in listed.text

        detail = await client.get(f"/transfers/{portal.transfer_id}")
        link = f'href="/transaction-requests?id={paid.transaction_request_id}"'
        assert link in detail.text
        one = await client.get("/transaction-requests", params={"id": paid.transaction_request_id})
        assert "1 request;" in one.text and rejected.transaction_request_id not in one.text
        assert "Transaction requests" in (await client.get("/")).text  # in the menu
