"""Payee side of a transfer: check it against the quote we issued, have the CBS reserve the
credit, fulfil, and commit or abort.

``RECEIVED`` is stored before the request is answered with 202. The CBS then reserves the
credit (``prepare_transfer``, idempotent on the transfer id). Without reserve notification the
transfer becomes ``COMMITTED`` and, in the same transaction, the fulfilment callback and the CBS
commit are queued; with it, it becomes ``RESERVED``, the fulfilment goes out as ``RESERVED`` and
the hub's ``PATCH`` decides. Every refusal ends ``ABORTED`` with an error callback and a queued
CBS abort, so nothing the CBS reserved stays reserved.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from pm4ml.connectors import Role, TransactionRequestState, to_fspiop_error
from pm4ml.flows import mapping
from pm4ml.flows.context import Continuation, FlowContext
from pm4ml.flows.jobs import queue_cbs, queue_request_outcome
from pm4ml.flows.messages import Inbound, ReplyTo
from pm4ml.flows.states import Direction, TransferState, check_transition
from pm4ml.fspiop import ilp as ilp_rules
from pm4ml.fspiop.errors import ErrorCode, FspiopError
from pm4ml.fspiop.headers import ApiVersion
from pm4ml.observability.tracing import set_transfer_id
from pm4ml.store.schema import Job, Quote, Transfer, utcnow

log = logging.getLogger(__name__)
S = TransferState
FSPIOP_STATES = frozenset({"RECEIVED", "RESERVED", "COMMITTED", "ABORTED"})
_AS_FSPIOP = {S.FAILED: "ABORTED", S.TRANSFER_SENT: "RESERVED"}


class PayeeTransfers:
    def __init__(self, ctx: FlowContext) -> None:
        self.ctx = ctx

    # --- POST /transfers ---------------------------------------------------------------------

    async def on_post_transfer(self, msg: Inbound) -> Continuation:
        ctx = self.ctx
        transfer_id = str(msg.json["transferId"])
        set_transfer_id(transfer_id)
        async with ctx.store.transaction() as session:
            ctx.log_inbound(session, msg, transfer_id=transfer_id)
            row = await ctx.store.transfer(session, transfer_id, lock=True)
            if row is not None:
                job = self._replay(session, msg, row)
            else:
                row = new_row(msg)
                try:
                    # Checked before it is added: the row is then written once, complete.
                    quote = await self._admit(session, row, msg)
                except FspiopError as error:
                    mark_aborted(row, error)
                    session.add(row)
                    job = ctx.error_callback(
                        session, msg.reply_to, path_of(row), error, transfer_id=transfer_id
                    )
                else:
                    session.add(row)
                    admitted = row
                    return lambda: self.prepare(transfer_id, (admitted, quote))
        return (lambda: ctx.jobs.run_now(job)) if job is not None else None

    async def _admit(self, session: AsyncSession, row: Transfer, msg: Inbound) -> Quote:
        """Every check a payee makes before promising money, each with its FSPIOP code. On
        success the row holds the quote's ids, the parties and the fulfilment, and the quote
        it was checked against is returned."""
        ctx = self.ctx
        if row.payee_fsp != ctx.dfsp_id:
            raise FspiopError(ErrorCode.VALIDATION_ERROR, "payeeFsp is not this DFSP")
        assert row.expiration is not None and row.ilp_packet is not None
        if row.expiration <= ctx.clock():
            raise FspiopError(ErrorCode.TRANSFER_EXPIRED, "the transfer has expired")
        txn = ctx.ilp.transaction_object(row.ilp_packet)
        quote = await ctx.store.quote(session, str(txn.get("quoteId")))
        if quote is None or quote.state != "ISSUED" or quote.response is None:
            raise FspiopError(ErrorCode.QUOTE_ID_NOT_FOUND, "no quote was issued for this packet")
        if quote.ilp_packet != row.ilp_packet or quote.condition != row.condition:
            raise FspiopError(
                ErrorCode.VALIDATION_ERROR, "ilpPacket or condition differ from the quote"
            )
        if quote.response["transferAmount"] != msg.json["amount"]:
            raise FspiopError(ErrorCode.VALIDATION_ERROR, "amount differs from the quote")
        ilp_rules.check_transfer_against_packet(msg.json, txn)
        if quote.expiration is not None and quote.expiration <= ctx.clock():
            raise FspiopError(ErrorCode.QUOTE_EXPIRED, "the quote has expired")
        fulfilment = ctx.ilp.fulfilment_for_packet(row.ilp_packet)
        if not ilp_rules.fulfilment_matches(fulfilment, str(row.condition)):
            # Our ILP secret changed since the quote: we cannot honour the condition.
            raise FspiopError(ErrorCode.PAYEE_FSP_REJECTED_TXN, "cannot fulfil this condition")
        take_quote(row, quote)
        row.fulfilment = fulfilment
        return quote

    def _replay(self, session: AsyncSession, msg: Inbound, row: Transfer) -> Job | None:
        """A ``POST /transfers`` for an id we know: answer again, never prepare twice."""
        ctx, to, tid = self.ctx, msg.reply_to, row.transfer_id
        if row.direction != Direction.INBOUND or row.request_hash != msg.body_hash:
            error = FspiopError(ErrorCode.MODIFIED_REQUEST, f"transfer {tid} was modified")
            return ctx.error_callback(session, to, path_of(row), error, transfer_id=tid)
        if row.state in (S.COMMITTED, S.RESERVED):
            return ctx.callback(session, to, path_of(row), fulfil_body(row), transfer_id=tid)
        if row.state == S.ABORTED:
            return ctx.error_callback(session, to, path_of(row), row_error(row), transfer_id=tid)
        return None  # RECEIVED: the first request's callback is on its way

    async def prepare(
        self, transfer_id: str, admitted: tuple[Transfer, Quote] | None = None
    ) -> None:
        """Have the CBS reserve the credit, then fulfil or refuse. Also resumes a ``RECEIVED``
        transfer after a restart: ``prepare_transfer`` is idempotent on the transfer id.
        ``admitted`` is the row and quote the caller just committed (not read again); a
        stale state is harmless: ``_decide`` stores its outcome only over ``RECEIVED``."""
        ctx = self.ctx
        row: Transfer | None
        quote: Quote | None
        if admitted is not None:
            row, quote = admitted
        else:
            async with ctx.store.reading() as session:
                row = await ctx.store.transfer(session, transfer_id)
                quote = await ctx.store.quote(session, row.quote_id or "") if row else None
        if row is None or row.state != S.RECEIVED or quote is None or quote.response is None:
            return
        incoming = mapping.incoming_transfer(
            {
                "transferId": transfer_id,
                "payerFsp": row.payer_fsp,
                "expiration": mapping.fspiop_datetime(row.expiration or utcnow()),
            },
            quote.request,
            quote.response,
        )
        error: FspiopError | None = None
        try:
            await ctx.cbs(ctx.connector.prepare_transfer(incoming))
        except Exception as exc:
            error = to_fspiop_error(exc, Role.PAYEE)
            if error.code == ErrorCode.INTERNAL_SERVER_ERROR:
                log.exception("prepare_transfer %s failed", transfer_id)
        await self._decide(row, error)

    async def _decide(self, row: Transfer, error: FspiopError | None) -> None:
        """Fulfil or refuse a ``RECEIVED`` transfer the CBS was just asked to reserve, with one
        conditional write over ``RECEIVED`` (:meth:`Store.save_transfer`)."""
        ctx = self.ctx
        if error is None and row.expiration and row.expiration <= ctx.clock():
            error = FspiopError(ErrorCode.TRANSFER_EXPIRED, "the transfer expired")
        fields = ("last_error_code", "last_error_description")
        async with ctx.store.transaction() as session:
            with session.no_autoflush:  # the jobs are written only with the new state
                jobs = self._settle(session, row, error)
                if not await ctx.store.save_transfer(session, row, S.RECEIVED, fields):
                    # Aborted meanwhile (expiry sweep): what the CBS just reserved goes back.
                    for job in jobs:
                        session.expunge(job)
                    tid = row.transfer_id
                    jobs = [queue_cbs(session, "abort_transfer", tid, reason="aborted")]
        await ctx.jobs.run_now(*jobs)

    def _settle(self, session: AsyncSession, row: Transfer, error: FspiopError | None) -> list[Job]:
        ctx, to, tid = self.ctx, reply_to(row), row.transfer_id
        if error is not None:
            return self.abort(session, row, error, notify_peer=True)
        if ctx.reserve_notification:
            move(row, S.RESERVED)
            return [ctx.callback(session, to, path_of(row), fulfil_body(row), transfer_id=tid)]
        then = committed(session, row)  # before the body: it carries the new state
        callback = ctx.callback(session, to, path_of(row), fulfil_body(row), transfer_id=tid)
        return [callback, *then]

    def abort(
        self, session: AsyncSession, row: Transfer, error: FspiopError, *, notify_peer: bool
    ) -> list[Job]:
        """End a transfer ``ABORTED``: queue the CBS abort and, if asked, the error callback."""
        move(row, S.ABORTED)
        mark_aborted(row, error)
        reason = f"{error.code_text} {error.description}"
        jobs = [queue_cbs(session, "abort_transfer", row.transfer_id, reason=reason)]
        if notify_peer:
            jobs.insert(
                0,
                self.ctx.error_callback(
                    session, reply_to(row), path_of(row), error, transfer_id=row.transfer_id
                ),
            )
        return jobs

    # --- PATCH /transfers/{ID} (reserve notification) ---------------------------------------

    async def on_patch_transfer(self, msg: Inbound) -> Continuation:
        continuation = await self.on_transfer_state(msg)
        if continuation is None:
            log.info("%s for transfer %s ignored: not waiting for it", msg.method, msg.path)
        return continuation

    async def on_transfer_state(self, msg: Inbound) -> Continuation:
        """The hub's final word on a transfer we are being paid and hold ``RESERVED``: a
        ``PATCH`` notification, or the ``PUT`` answering our ``GET`` after expiry. Returns
        ``None`` when no such transfer waits (the message is then someone else's)."""
        ctx = self.ctx
        async with ctx.store.transaction() as session:
            row = await ctx.store.transfer(session, msg.params["ID"], lock=True)
            if row is None or not self.waits_for_state(row):
                return None
            ctx.log_inbound(session, msg, transfer_id=row.transfer_id)
            jobs = self.apply_transfer_state(session, row, msg)
        return lambda: ctx.jobs.run_now(*jobs)

    @staticmethod
    def waits_for_state(row: Transfer) -> bool:
        """Whether ``row`` is a transfer we are paid that waits for the hub's final word."""
        return row.direction == Direction.INBOUND and row.state == S.RESERVED

    def apply_transfer_state(self, session: AsyncSession, row: Transfer, msg: Inbound) -> list[Job]:
        """Apply the hub's final word to a locked row that :meth:`waits_for_state`; returns
        the jobs to run. ``RESERVED`` is not final yet: nothing changes, the sweeper asks
        again."""
        outcome = str(msg.json.get("transferState"))
        if outcome == "RESERVED":
            return []
        if outcome == S.COMMITTED:
            return committed(session, row)
        code = ErrorCode.TRANSFER_EXPIRED if outcome == "EXPIRED" else ErrorCode.PAYEE_ERROR
        error = FspiopError(code, f"hub reported {outcome}")
        return self.abort(session, row, error, notify_peer=False)

    # --- GET /transfers/{ID} -------------------------------------------------------------------

    async def on_get_transfer(self, msg: Inbound) -> Continuation:
        ctx = self.ctx
        transfer_id = msg.params["ID"]
        path = f"/transfers/{transfer_id}"
        async with ctx.store.transaction() as session:
            ctx.log_inbound(session, msg, transfer_id=transfer_id)
            row = await ctx.store.transfer(session, transfer_id)
            if row is None:
                error = FspiopError(ErrorCode.TRANSFER_ID_NOT_FOUND)
                job = ctx.error_callback(session, msg.reply_to, path, error)
            else:
                body = fulfil_body(row)
                job = ctx.callback(session, msg.reply_to, path, body, transfer_id=transfer_id)
        return lambda: ctx.jobs.run_now(job)

    # --- PUT /transfers/{ID}/error from the hub, for a transfer we are paid by ---------------

    def on_transfer_error(
        self, session: AsyncSession, row: Transfer, error: FspiopError
    ) -> list[Job]:
        """The hub says an incoming transfer failed: release the reservation if we still hold
        it. After a commit (no reserve notification) nothing can be undone here: the row keeps
        the error for the operators."""
        if row.state in (S.RECEIVED, S.RESERVED):
            return self.abort(session, row, error, notify_peer=False)
        row.last_error_code = error.code_text
        row.last_error_description = error.description
        row.data = {**(row.data or {}), "needs_attention": True}
        return []


# --- small pure helpers ----------------------------------------------------------------------


def new_row(msg: Inbound) -> Transfer:
    body = msg.json
    return Transfer(
        transfer_id=str(body["transferId"]),
        direction=Direction.INBOUND,
        state=S.RECEIVED,
        payer_fsp=str(body["payerFsp"]),
        payee_fsp=str(body["payeeFsp"]),
        amount=str(body["amount"]["amount"]),
        currency=str(body["amount"]["currency"]),
        ilp_packet=str(body["ilpPacket"]),
        condition=str(body["condition"]),
        expiration=mapping.parse_datetime(str(body["expiration"])),
        request_hash=msg.body_hash,
        peer_fsp=msg.source,
        api_version=str(msg.version),
        data={"trace": msg.trace_headers} if msg.trace_headers else {},
        created_at=utcnow(),
    )


def committed(session: AsyncSession, row: Transfer) -> list[Job]:
    """Make an inbound transfer ``COMMITTED`` and queue what follows: the CBS commit and, when
    it pays a request to pay, the request's outcome."""
    move(row, S.COMMITTED)
    row.completed_at = utcnow()
    jobs = [queue_cbs(session, "commit_transfer", row.transfer_id)]
    if row.transaction_request_id:
        accepted = TransactionRequestState.ACCEPTED
        jobs.append(
            queue_request_outcome(session, row.transaction_request_id, accepted, row.transfer_id)
        )
    return jobs


def take_quote(row: Transfer, quote: Quote) -> None:
    request = quote.request
    row.quote_id = quote.quote_id
    row.transaction_id = quote.transaction_id
    row.transaction_request_id = request.get("transactionRequestId")
    row.amount_type = request.get("amountType")
    payer = request["payer"]["partyIdInfo"]
    payee = request["payee"]["partyIdInfo"]
    row.payer_id_type, row.payer_id_value = payer["partyIdType"], payer["partyIdentifier"]
    row.payer_id_sub = payer.get("partySubIdOrType")
    row.payee_id_type, row.payee_id_value = payee["partyIdType"], payee["partyIdentifier"]
    row.payee_id_sub = payee.get("partySubIdOrType")


def reply_to(row: Transfer) -> ReplyTo:
    """Where a transfer's callbacks go, rebuilt from the row (so a resumed flow answers too)."""
    trace = (row.data or {}).get("trace") or {}
    return ReplyTo(row.peer_fsp or "", ApiVersion.parse(row.api_version), trace)


def move(row: Transfer, new: TransferState) -> None:
    check_transition(Direction(row.direction), TransferState(row.state), new)
    row.state = new


def path_of(row: Transfer) -> str:
    return f"/transfers/{row.transfer_id}"


def mark_aborted(row: Transfer, error: FspiopError) -> None:
    row.state = S.ABORTED
    row.last_error_code = error.code_text
    row.last_error_description = error.description
    row.completed_at = utcnow()


def row_error(row: Transfer) -> FspiopError:
    code = ErrorCode.from_code(row.last_error_code or "5000")
    return FspiopError(code, row.last_error_description, code_text=row.last_error_code)


def fulfil_body(row: Transfer) -> dict[str, Any]:
    """The ``PUT /transfers/{ID}`` body for the row's current state."""
    state = row.state
    if state not in FSPIOP_STATES:
        state = _AS_FSPIOP.get(TransferState(state), "RECEIVED")
    body: dict[str, Any] = {"transferState": state}
    if row.direction == Direction.INBOUND and row.state in (S.COMMITTED, S.RESERVED):
        body["fulfilment"] = row.fulfilment
    stamp = row.completed_at or row.updated_at or utcnow()
    body["completedTimestamp"] = mapping.fspiop_datetime(stamp)
    return body
