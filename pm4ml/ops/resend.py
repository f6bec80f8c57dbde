"""Re-sending the final notification of a transfer to the CBS.

When a transfer ended, its flow queued one CBS operation with the final outcome: the payee
side ``commit_transfer`` or ``abort_transfer``, the payer side ``commit_funds`` or
``release_funds``, each followed by ``Connector.notify`` (``pm4ml.flows.jobs``). If the CBS
missed it (the job failed for good, or the CBS lost it), an operator can have it sent again.
It goes the same way (``Jobs.cbs_operation``), and the connector contract makes each of these
calls idempotent on the transfer id, so sending it again never moves money twice.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from pm4ml.connectors import ConnectorError, Role, to_fspiop_error
from pm4ml.flows.payer_results import holds_funds
from pm4ml.flows.states import Direction, TransferState
from pm4ml.fspiop.errors import ErrorCode
from pm4ml.ops.actions import ActionError
from pm4ml.store.schema import Transfer

log = logging.getLogger(__name__)
#: Runs one CBS operation and its final notification: ``Jobs.cbs_operation``.
CbsOperation = Callable[[str, str, str], Awaitable[None]]
S = TransferState
_OPERATIONS = {
    (Direction.INBOUND, S.COMMITTED): "commit_transfer",
    (Direction.INBOUND, S.ABORTED): "abort_transfer",
    (Direction.OUTBOUND, S.COMMITTED): "commit_funds",
    (Direction.OUTBOUND, S.ABORTED): "release_funds",
}


@dataclass(frozen=True)
class FinalNotification:
    """The CBS operation that told the CBS how ``transfer_id`` ended, and its reason."""

    transfer_id: str
    operation: str
    reason: str


@dataclass(frozen=True)
class Outcome:
    """What sending it gave: ``ok``, or the FSPIOP error code and text of the failure."""

    ok: bool
    code: str | None = None
    description: str | None = None

    def __str__(self) -> str:
        return "ok" if self.ok else f"error {self.code}: {self.description}"

    def as_audit(self) -> dict[str, str | None]:
        if self.ok:
            return {"outcome": "ok"}
        return {"outcome": "error", "code": self.code, "description": self.description}


def final_notification(row: Transfer) -> FinalNotification:
    """The notification the CBS got when ``row`` ended; :class:`ActionError` when there is
    none: the transfer is not final yet, or ended before the CBS held anything (``FAILED``,
    or a simple transfer the caller funded outside pm4ml)."""
    state = TransferState(row.state)
    if not state.is_final:
        raise ActionError(f"the transfer is {row.state}, not in a final state yet")
    direction = Direction(row.direction)
    operation = _OPERATIONS.get((direction, state))
    if operation is None or (direction is Direction.OUTBOUND and not holds_funds(row)):
        raise ActionError(f"the CBS held no funds for this transfer ({row.state}): nothing to send")
    reason = ""
    if state is S.ABORTED:
        # The same reason the flow gave when it aborted (payer_results, payee_transfers).
        reason = f"{row.last_error_code or ''} {row.last_error_description or ''}".strip()
    return FinalNotification(row.transfer_id, operation, reason)


async def send(
    cbs_operation: CbsOperation,
    notification: FinalNotification,
    direction: str,
    timeout_seconds: float,
) -> Outcome:
    """Send ``notification`` now and say how it went; a connector error (or no answer within
    ``timeout_seconds``) becomes its FSPIOP code, as the flows would report it."""
    role = Role.PAYEE if direction == Direction.INBOUND else Role.PAYER
    try:
        async with asyncio.timeout(timeout_seconds):
            await cbs_operation(
                notification.operation, notification.transfer_id, notification.reason
            )
    except TimeoutError:
        unavailable = ErrorCode.SERVICE_CURRENTLY_UNAVAILABLE.code
        return Outcome(False, unavailable, f"the CBS did not answer within {timeout_seconds:g}s")
    except Exception as exc:  # whatever failed is shown with its code, never a stack trace
        if not isinstance(exc, ConnectorError):
            log.exception(
                "re-sending %s for %s failed", notification.operation, notification.transfer_id
            )
        error = to_fspiop_error(exc, role)
        return Outcome(False, error.code_text, error.description)
    return Outcome(True)
