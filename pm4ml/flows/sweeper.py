"""Expiry and recovery: nothing reserved stays reserved because a message never came.

At start-up :meth:`Sweeper.resume` picks up every transfer a previous process left half way.
Then, every ``sweeper_interval_seconds``, :meth:`Sweeper.sweep` ends the transfers whose
expiration passed without a final outcome:

- payee ``RECEIVED`` (the CBS was being asked): ``ABORTED`` with 3303 to the payer, CBS abort.
- payee ``RESERVED`` (fulfilment sent, no ``PATCH``): the hub may have committed, so first ask
  it (``GET /transfers/{ID}``); only if it still has not answered after a further
  ``callback_wait_seconds`` is the reservation released.
- payer ``TRANSFER_SENT`` past its expiration: the same (ask, then release the held funds).
- payer transfers stuck before ``TRANSFER_SENT`` that nobody moved for longer than any flow
  waits (a replica died mid-flow): ``FAILED`` (or ``ABORTED`` once funds were held), with a
  release of whatever may have been held. Age, not start-up, decides, so a replica that starts
  never takes over a transfer another replica is still running.
- requests to pay left half way by the same kind of interruption, by the same age rule: ours
  still waiting for a lookup or for the payer DFSP's answer end ``TIMEOUT`` (a late answer
  still replaces it), and one we were deciding ends ``ERROR`` (the payer's side gets no
  answer and times out). No money is involved: a request moves none.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import datetime, timedelta

from pm4ml.flows.context import FlowContext
from pm4ml.flows.jobs import queue_cbs, queue_send
from pm4ml.flows.payee_transfers import PayeeTransfers, reply_to
from pm4ml.flows.payer_results import abort_outbound, fail, move
from pm4ml.flows.rtp_records import RequestRole, RequestState, record_error
from pm4ml.flows.states import Direction, TransferState
from pm4ml.fspiop.errors import ErrorCode, FspiopError
from pm4ml.store.schema import Job

log = logging.getLogger(__name__)
S = TransferState
#: Request-to-pay states a flow holds only while it runs, by role.
STALE_REQUESTS = {
    RequestRole.PAYEE: (
        RequestState.PARTY_LOOKUP_SENT,
        RequestState.WAITING_FOR_PARTY_ACCEPTANCE,
        RequestState.REQUEST_SENT,
    ),
    RequestRole.PAYER: (RequestState.DECIDING,),
}
STALE_OUTBOUND = (
    S.PARTY_LOOKUP_SENT,
    S.PARTY_RECEIVED,
    S.QUOTE_REQUESTED,
    S.QUOTE_RECEIVED,
    S.FUNDS_RESERVED,
)


class Sweeper:
    def __init__(self, ctx: FlowContext, payee: PayeeTransfers) -> None:
        self.ctx = ctx
        self.payee = payee

    async def resume(self) -> None:
        """Continue every payee transfer a previous process stored but did not settle."""
        async with self.ctx.store.reading() as session:
            rows = await self.ctx.store.transfers_to_resume(session, [S.RECEIVED])
        for row in rows:
            if row.direction == Direction.INBOUND:
                await self.payee.prepare(row.transfer_id)

    async def run(self, interval_seconds: float) -> None:
        while True:
            with contextlib.suppress(Exception):
                await self.sweep()
            await asyncio.sleep(interval_seconds)

    async def sweep(self) -> int:
        """One pass; returns how many transfers it moved or asked about."""
        ctx = self.ctx
        now = ctx.clock()
        stale_before = now - timedelta(seconds=self.stale_seconds)
        async with ctx.store.reading() as session:
            expired = await ctx.store.expired_transfers(
                session, [S.RECEIVED, S.RESERVED, S.TRANSFER_SENT], now
            )
            stale = await ctx.store.stale_transfers(
                session, Direction.OUTBOUND, STALE_OUTBOUND, stale_before
            )
        done = 0
        for transfer_id in expired:
            try:
                done += await self._expire(transfer_id)
            except Exception:
                log.exception("expiring transfer %s failed", transfer_id)
        for transfer_id in stale:
            try:
                done += await self._give_up(transfer_id, stale_before)
            except Exception:
                log.exception("ending stale transfer %s failed", transfer_id)
        for role, states in STALE_REQUESTS.items():
            async with ctx.store.reading() as session:
                requests = await ctx.store.stale_transaction_requests(
                    session, role, states, stale_before
                )
            for request_id in requests:
                try:
                    done += await self._end_request(request_id, role, stale_before)
                except Exception:
                    log.exception("ending stale request to pay %s failed", request_id)
        return done

    async def _end_request(self, request_id: str, role: RequestRole, stale_before: datetime) -> int:
        ctx = self.ctx
        async with ctx.store.transaction() as session:
            row = await ctx.store.transaction_request(session, request_id, role, lock=True)
            if row is None or row.state not in STALE_REQUESTS[role]:
                return 0
            if row.updated_at >= stale_before:
                return 0
            error = FspiopError(ErrorCode.SERVER_TIMED_OUT, "the request was interrupted")
            record_error(row, error, timeout=role is RequestRole.PAYEE)
        return 1

    @property
    def stale_seconds(self) -> float:
        """Longer than any flow step can take: two callback waits and a CBS call, plus
        the time a caller has to accept a party or quote (the quote's validity)."""
        ctx = self.ctx
        return 2 * ctx.callback_wait_seconds + ctx.connector_timeout_seconds + ctx.expiry_seconds

    async def _give_up(self, transfer_id: str, stale_before: datetime) -> int:
        ctx = self.ctx
        jobs: list[Job] = []
        async with ctx.store.transaction() as session:
            row = await ctx.store.transfer(session, transfer_id, lock=True)
            if row is None or row.state not in STALE_OUTBOUND or row.updated_at >= stale_before:
                return 0
            error = FspiopError(ErrorCode.SERVER_TIMED_OUT, "the transfer was interrupted")
            if row.state == S.FUNDS_RESERVED:
                jobs = abort_outbound(session, row, error)
            else:
                if row.state == S.QUOTE_RECEIVED:
                    # A hold may have been placed just before the interruption.
                    jobs = [queue_cbs(session, "release_funds", transfer_id, reason="stale")]
                move(row, S.FAILED)
                fail(row, error)
        await ctx.jobs.run_now(*jobs)
        return 1

    async def _expire(self, transfer_id: str) -> int:
        ctx = self.ctx
        now = ctx.clock()
        jobs: list[Job] = []
        async with ctx.store.transaction() as session:
            row = await ctx.store.transfer(session, transfer_id, lock=True)
            if row is None or row.expiration is None or row.expiration > now:
                return 0
            if row.state not in (S.RECEIVED, S.RESERVED, S.TRANSFER_SENT):
                return 0
            error = FspiopError(ErrorCode.TRANSFER_EXPIRED, "expired without a final outcome")
            if row.state == S.RECEIVED:
                jobs = self.payee.abort(session, row, error, notify_peer=True)
            else:
                asked = (row.data or {}).get("asked_hub_at")
                grace = timedelta(seconds=ctx.callback_wait_seconds)
                if asked is None:
                    row.data = {**(row.data or {}), "asked_hub_at": now.isoformat()}
                    to = reply_to(row)
                    path = f"/transfers/{transfer_id}"
                    jobs = [
                        queue_send(
                            session,
                            "GET",
                            path,
                            None,
                            destination=to.fsp,
                            version=to.version,
                            transfer_id=transfer_id,
                        )
                    ]
                elif row.expiration + grace <= now:
                    if row.direction == Direction.INBOUND:
                        jobs = self.payee.abort(session, row, error, notify_peer=False)
                    else:
                        row.data = {**(row.data or {}), "needs_attention": True}
                        jobs = abort_outbound(session, row, error)
                else:
                    return 0
        await ctx.jobs.run_now(*jobs)
        return 1
