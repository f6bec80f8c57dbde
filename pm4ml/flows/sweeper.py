"""Expiry and recovery: nothing reserved stays reserved because a message never came.

At start-up :meth:`Sweeper.resume` picks up every transfer a previous process left half way.
Then, every ``sweeper_interval_seconds``, :meth:`Sweeper.sweep` ends the transfers whose
expiration passed without a final outcome:

- payee ``RECEIVED`` (the CBS was being asked): ``ABORTED`` with 3303 to the payer, CBS abort.
- payee ``RESERVED`` (fulfilment sent, no ``PATCH``): the hub may have committed, so first ask
  it (``GET /transfers/{ID}``); only if it still has not answered after a further
  ``callback_wait_seconds`` is the reservation released.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import timedelta

from pm4ml.flows.context import FlowContext
from pm4ml.flows.jobs import queue_send
from pm4ml.flows.payee_transfers import PayeeTransfers, reply_to
from pm4ml.flows.states import Direction, TransferState
from pm4ml.fspiop.errors import ErrorCode, FspiopError
from pm4ml.store.schema import Job

log = logging.getLogger(__name__)
S = TransferState


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
        async with ctx.store.reading() as session:
            ids = await ctx.store.expired_transfers(session, [S.RECEIVED, S.RESERVED], now)
        done = 0
        for transfer_id in ids:
            try:
                done += await self._expire(transfer_id)
            except Exception:
                log.exception("expiring transfer %s failed", transfer_id)
        return done

    async def _expire(self, transfer_id: str) -> int:
        ctx = self.ctx
        now = ctx.clock()
        jobs: list[Job] = []
        async with ctx.store.transaction() as session:
            row = await ctx.store.transfer(session, transfer_id, lock=True)
            if row is None or row.direction != Direction.INBOUND or row.expiration is None:
                return 0
            if row.expiration > now or row.state not in (S.RECEIVED, S.RESERVED):
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
                    jobs = self.payee.abort(session, row, error, notify_peer=False)
                else:
                    return 0
        await ctx.jobs.run_now(*jobs)
        return 1
