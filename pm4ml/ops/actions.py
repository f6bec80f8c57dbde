"""Operator actions on a transfer. Marking a transfer resolved is maker-checker: one operator
proposes it with a reason, a different operator approves or rejects it. Every step is
audited in the same transaction as the change it records."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from pm4ml.ops.schema import Proposal
from pm4ml.ops.users import audit
from pm4ml.store.schema import utcnow

RESOLVE = "resolve"
REASON_CHARS_MAX = 500


class ActionError(ValueError):
    """The action cannot be taken; the message says why."""


async def proposals_for(session: AsyncSession, transfer_id: str) -> list[Proposal]:
    query = select(Proposal).where(Proposal.transfer_id == transfer_id).order_by(Proposal.id)
    return list((await session.execute(query)).scalars())


async def propose_resolve(
    session: AsyncSession, transfer_id: str, reason: str, maker: str
) -> Proposal:
    """Propose marking ``transfer_id`` resolved; at most one proposal pending at a time."""
    reason = reason.strip()
    if not reason:
        raise ActionError("a reason is required")
    if len(reason) > REASON_CHARS_MAX:
        raise ActionError(f"the reason is longer than {REASON_CHARS_MAX} characters")
    if any(p.state in ("PENDING", "APPROVED") for p in await proposals_for(session, transfer_id)):
        raise ActionError("this transfer is already resolved or has a pending proposal")
    proposal = Proposal(
        transfer_id=transfer_id, action=RESOLVE, reason=reason, state="PENDING", proposed_by=maker
    )
    session.add(proposal)
    await session.flush()
    await audit(
        session,
        maker,
        "propose_resolve",
        transfer_id,
        after={"proposal": proposal.id, "reason": reason, "state": "PENDING"},
    )
    return proposal


async def decide(session: AsyncSession, proposal_id: int, checker: str, approve: bool) -> Proposal:
    """Approve or reject a pending proposal; the checker must not be its maker."""
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
        "approve_resolve" if approve else "reject_resolve",
        proposal.transfer_id,
        before={"proposal": proposal.id, "state": "PENDING"},
        after={"proposal": proposal.id, "state": proposal.state},
    )
    return proposal
