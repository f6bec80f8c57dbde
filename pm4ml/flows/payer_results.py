"""Payer side: applying the hub's answer to a transfer we sent.

The answer (``PUT /transfers/{ID}`` or its ``/error``) is applied to the stored transfer by the
inbound server itself, in one transaction, whether or not a flow still waits for it: the
state lives in the store, the bus only wakes the waiting flow. A ``COMMITTED`` answer counts
only with a fulfilment that matches the condition we sent; the CBS then debits the held funds.
Anything else ends ``ABORTED`` and the CBS releases them.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from pm4ml.flows.jobs import queue_cbs
from pm4ml.flows.states import Direction, TransferState, check_transition
from pm4ml.fspiop import ilp as ilp_rules
from pm4ml.fspiop.errors import ErrorCode, FspiopError
from pm4ml.store.schema import Job, Transfer, utcnow

log = logging.getLogger(__name__)
S = TransferState


def move(row: Transfer, new: TransferState) -> None:
    check_transition(Direction(row.direction), TransferState(row.state), new)
    row.state = new
    if new.is_final:
        row.completed_at = utcnow()


def fail(row: Transfer, error: FspiopError) -> None:
    """Record the error that ended (or will end) this transfer."""
    row.last_error_code = error.code_text
    row.last_error_description = error.description
    row.data = {**(row.data or {}), "last_error": error.to_body()}


def holds_funds(row: Transfer) -> bool:
    """Whether the CBS holds funds for this transfer: every outbound transfer does, except a
    simple transfer (``POST /simpleTransfers``), which the caller funded outside pm4ml."""
    return not (row.data or {}).get("simple")


def commit_outbound(session: AsyncSession, row: Transfer, fulfil: dict[str, Any]) -> list[Job]:
    """The hub committed: remember its answer, debit the held funds."""
    move(row, S.COMMITTED)
    row.fulfilment = str(fulfil.get("fulfilment"))
    row.data = {**(row.data or {}), "fulfil": fulfil}
    if not holds_funds(row):
        return []
    return [queue_cbs(session, "commit_funds", row.transfer_id)]


def abort_outbound(session: AsyncSession, row: Transfer, error: FspiopError) -> list[Job]:
    """The transfer failed after the funds were held: release them."""
    move(row, S.ABORTED)
    fail(row, error)
    reason = f"{error.code_text} {error.description}"
    if not holds_funds(row):
        return []
    return [queue_cbs(session, "release_funds", row.transfer_id, reason=reason)]


def apply_transfer_answer(
    session: AsyncSession, row: Transfer, kind: str, body: dict[str, Any]
) -> list[Job]:
    """Apply ``PUT /transfers/{ID}`` (``kind="put"``) or its error to an outbound transfer
    waiting in ``TRANSFER_SENT``. Returns the jobs to run; does nothing in any other state
    (a late or repeated answer)."""
    if row.direction != Direction.OUTBOUND or row.state != S.TRANSFER_SENT:
        return []
    if kind == "error":
        return abort_outbound(session, row, FspiopError.from_body(body))
    state = body.get("transferState")
    if state == "COMMITTED":
        fulfilment = str(body.get("fulfilment") or "")
        if ilp_rules.fulfilment_matches(fulfilment, str(row.condition)):
            return commit_outbound(session, row, body)
        log.warning("transfer %s: fulfilment does not match the condition", row.transfer_id)
        error = FspiopError(ErrorCode.VALIDATION_ERROR, "invalid fulfilment received from the peer")
        return abort_outbound(session, row, error)
    if state == "ABORTED":
        error = FspiopError(ErrorCode.PAYEE_REJECTED_TXN, "the transfer was aborted")
        return abort_outbound(session, row, error)
    return []  # RECEIVED / RESERVED: not final yet
