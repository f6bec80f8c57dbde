"""The stored record of a request to pay (``transaction_requests``), in either role.

Each state is written before the message that leaves it is sent, so a crash leaves a record
that says how far the request got. The row is built from the FSPIOP
``POST /transactionRequests`` body in both roles (the payee DFSP builds it before sending it,
the payer DFSP receives it), so both sides store the same fields in FSPIOP roles.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pm4ml.flows import mapping
from pm4ml.fspiop.errors import FspiopError
from pm4ml.store.schema import TransactionRequestRow, utcnow


@dataclass(frozen=True)
class RtpOptions:
    """The request-to-pay settings (``PM4ML_AUTO_ACCEPT_R2P_PARTY``,
    ``PM4ML_AUTO_ACCEPT_OTP``, ``PM4ML_OTP_ATTEMPTS_MAX``)."""

    auto_accept_party: bool = True
    auto_accept_otp: bool = True
    otp_attempts_max: int = 3


class RequestRole(enum.StrEnum):
    PAYEE = "payee"  # our customer asked to be paid
    PAYER = "payer"  # our customer was asked to pay


class RequestState(enum.StrEnum):
    """FSPIOP's four ``TransactionRequestState`` values plus the flows' own."""

    # Payee role: stored before the request that leaves them is sent.
    PARTY_LOOKUP_SENT = "PARTY_LOOKUP_SENT"
    WAITING_FOR_PARTY_ACCEPTANCE = "WAITING_FOR_PARTY_ACCEPTANCE"
    REQUEST_SENT = "REQUEST_SENT"
    # Payer role: stored when the request arrives, before the CBS is asked.
    DECIDING = "DECIDING"
    # The decision (payer role: stored with its callback; payee role: as answered).
    RECEIVED = "RECEIVED"
    PENDING = "PENDING"
    ACCEPTED = "ACCEPTED"
    REJECTED = "REJECTED"
    # Ended without a decision: an error either side, or no answer in time.
    ERROR = "ERROR"
    TIMEOUT = "TIMEOUT"


DECISIONS = frozenset(
    {RequestState.RECEIVED, RequestState.PENDING, RequestState.ACCEPTED, RequestState.REJECTED}
)


#: ``Transfer.data["authorization"]`` of a transfer that pays a request with an OTP: the OTP
#: step (:mod:`pm4ml.flows.rtp_authorization`) still to run, or waiting for the backend's
#: ``acceptOTP``, or ``done``. The payer flow reserves no funds before it is done.
REQUIRED, WAITING, DONE = "required", "waiting", "done"


def needs_authorization(data: Mapping[str, Any] | None) -> bool:
    """Whether a transfer (by its ``data``) must stop after its quote for the OTP step."""
    return (data or {}).get("authorization") in (REQUIRED, WAITING)


def new_row(
    body: Mapping[str, Any],
    role: RequestRole,
    state: RequestState,
    *,
    peer_fsp: str | None,
    home_transaction_id: str | None = None,
    amount_type: str | None = None,
) -> TransactionRequestRow:
    """A record of the checked ``POST /transactionRequests`` ``body``."""
    payee = body["payee"]["partyIdInfo"]
    payer = body["payer"]
    kind = body["transactionType"]
    expiration = body.get("expiration")
    now = utcnow()
    return TransactionRequestRow(
        transaction_request_id=str(body["transactionRequestId"]),
        role=str(role),
        state=str(state),
        peer_fsp=peer_fsp,
        home_transaction_id=home_transaction_id,
        payer_id_type=str(payer["partyIdType"]),
        payer_id_value=str(payer["partyIdentifier"]),
        payer_id_sub=payer.get("partySubIdOrType"),
        payee_id_type=str(payee["partyIdType"]),
        payee_id_value=str(payee["partyIdentifier"]),
        payee_id_sub=payee.get("partySubIdOrType"),
        amount=str(body["amount"]["amount"]),
        currency=str(body["amount"]["currency"]),
        amount_type=amount_type,
        scenario=str(kind["scenario"]),
        sub_scenario=kind.get("subScenario"),
        initiator=str(kind["initiator"]),
        initiator_type=str(kind["initiatorType"]),
        original_transaction_id=(kind.get("refundInfo") or {}).get("originalTransactionId"),
        authentication_type=body.get("authenticationType"),
        expiration=mapping.parse_datetime(expiration) if expiration else None,
        otp_attempts=0,
        data={"request": dict(body)},
        created_at=now,
        updated_at=now,
    )


def record_decision(row: TransactionRequestRow, answer: Mapping[str, Any]) -> None:
    """Store a ``PUT /transactionRequests/{ID}`` body (sent or received) on ``row``."""
    row.state = str(answer["transactionRequestState"])
    if answer.get("transactionId"):
        row.transaction_id = str(answer["transactionId"])
    row.data = {**(row.data or {}), "decision": dict(answer)}


def record_error(row: TransactionRequestRow, error: FspiopError, *, timeout: bool = False) -> None:
    row.state = RequestState.TIMEOUT if timeout else RequestState.ERROR
    row.last_error_code = error.code_text
    row.last_error_description = error.description[:128]
