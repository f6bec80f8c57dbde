"""Operator actions on a transfer that need a second person (maker-checker): one operator
proposes the action with a reason, a different operator approves or rejects it, and the
approval is what runs it. Every step is audited in the same transaction as the change it
records.

The actions: ``resolve`` marks a transfer resolved (a note for the operators, nothing is
sent anywhere); ``resend`` re-sends the final notification to the CBS (see
:mod:`pm4ml.ops.resend`), and may be proposed again after it ran, as the CBS takes it
idempotently.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from pm4ml.ops.schema import Proposal
from pm4ml.ops.users import audit
from pm4ml.store.schema import utcnow

RESOLVE = "resolve"
RESEND = "resend"
#: Each action and how the pages name it.
ACTIONS = {RESOLVE: "Mark resolved", RESEND: "Re-send the final notification to the CBS"}
#: The proposal states that stop a new proposal of the same action.
_BLOCKING = {RESOLVE: ("PENDING", "APPROVED"), RESEND: ("PENDING",)}
REASON_CHARS_MAX = 500
OUTCOME_CHARS_MAX = 300


class ActionError(ValueError):
    """The action cannot be taken; the message says why."""


async def proposals_for(session: AsyncSession, transfer_id: str) -> list[Proposal]:
    query = select(Proposal).where(Proposal.transfer_id == transfer_id).order_by(Proposal.id)
    return list((await session.execute(query)).scalars())


async def propose(
    session: AsyncSession, transfer_id: str, action: str, reason: str, maker: str
) -> Proposal:
    """Propose ``action`` on ``transfer_id``; at most one open proposal per action."""
    if action not in ACTIONS:
        raise ActionError(f"unknown action {action!r}")
    reason = reason.strip()
    if not reason:
        raise ActionError("a reason is required")
    if len(reason) > REASON_CHARS_MAX:
        raise ActionError(f"the reason is longer than {REASON_CHARS_MAX} characters")
    blocking = _BLOCKING[action]
    for other in await proposals_for(session, transfer_id):
        if other.action == action and other.state in blocking:
            if other.state == "PENDING":
                raise ActionError(f"this transfer already has a pending proposal: {other.id}")
            raise ActionError("this transfer is already resolved")
    proposal = Proposal(
        transfer_id=transfer_id, action=action, reason=reason, state="PENDING", proposed_by=maker
    )
    session.add(proposal)
    await session.flush()
    await audit(
        session,
        maker,
        f"propose_{action}",
        transfer_id,
        after={"proposal": proposal.id, "reason": reason, "state": "PENDING"},
    )
    return proposal


async def resend_running(session: AsyncSession, transfer_id: str, window: timedelta) -> bool:
    """Whether a re-send approved within ``window`` has no outcome yet: it is still running.
    (One approved longer ago without an outcome died with its process.)"""
    since = utcnow() - window
    return any(
        p.action == RESEND
        and p.state == "APPROVED"
        and p.outcome is None
        and p.decided_at is not None
        and p.decided_at > since
        for p in await proposals_for(session, transfer_id)
    )


async def decide(session: AsyncSession, proposal_id: int, checker: str, approve: bool) -> Proposal:
    """Approve or reject a pending proposal; the checker must not be its maker. The row is
    locked, so two checkers approving at once run the action once."""
    query = select(Proposal).where(Proposal.id == proposal_id)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update()
    proposal = (await session.execute(query)).scalar_one_or_none()
    if proposal is None:
        raise ActionError(f"no proposal {proposal_id}")
    if proposal.state != "PENDING":
        raise ActionError(f"proposal {proposal_id} is already {proposal.state.lower()}")
    if proposal.proposed_by == checker:
        raise ActionError("a second person must approve: you proposed this")
    proposal.state = "APPROVED" if approve else "REJECTED"
    proposal.decided_by = checker
    proposal.decided_at = utcnow()
    await audit(
        session,
        checker,
        f"{'approve' if approve else 'reject'}_{proposal.action}",
        proposal.transfer_id,
        before={"proposal": proposal.id, "state": "PENDING"},
        after={"proposal": proposal.id, "state": proposal.state},
    )
    return proposal


async def record_outcome(session: AsyncSession, proposal_id: int, outcome: str) -> None:
    """Keep what running an approved proposal gave, for the transfer page."""
    proposal = await session.get(Proposal, proposal_id)
    if proposal is not None:
        proposal.outcome = outcome[:OUTCOME_CHARS_MAX]
