"""The message-log fields of what the flows receive and send (``Store.log_message``)."""

from __future__ import annotations

from pm4ml.flows.messages import Inbound
from pm4ml.fspiop.headers import resource_of
from pm4ml.store.repo import MessageFields
from pm4ml.transport.client import Sent


def inbound_fields(
    msg: Inbound,
    transfer_id: str | None,
    correlation_id: str | None,
    error_code: str | None = None,
) -> MessageFields:
    """The message-log fields of a checked inbound request."""
    return MessageFields(
        direction="IN",
        method=msg.method,
        path=msg.path,
        resource=msg.resource,
        headers=msg.headers,
        body=msg.body or None,
        transfer_id=transfer_id,
        correlation_id=correlation_id,
        signature=msg.signature,
        error_code=error_code,
    )


def sent_fields(
    sent: Sent, transfer_id: str | None, correlation_id: str | None = None
) -> MessageFields:
    """The message-log fields of a request this DFSP sent, stamped with when it was sent."""
    return MessageFields(
        direction="OUT",
        method=sent.method,
        path=sent.path,
        resource=resource_of(sent.path),
        headers=sent.headers,
        body=sent.body,
        transfer_id=transfer_id,
        correlation_id=correlation_id,
        status_code=sent.status_code,
        created_at=sent.sent_at,
        error_code=sent.error.code_text if sent.error else None,
    )
