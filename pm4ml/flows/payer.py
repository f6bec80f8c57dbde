"""Payer side of a transfer: party lookup -> quote -> hold funds -> transfer.

Each step is persisted before the request that leaves it is sent; each wait for a callback is
bounded. Nothing is held in the CBS before ``FUNDS_RESERVED``; from then on the transfer ends
``COMMITTED`` (funds debited) or ``ABORTED`` (funds released), never in between for long: the
sweeper asks the hub about a ``TRANSFER_SENT`` that outlived its expiration.

Acceptance: with ``auto_accept_party``/``auto_accept_quotes`` off the flow stops after the
party (or the quote) and :meth:`PayerTransfers.proceed` continues it when the caller accepts.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from pm4ml.connectors import Money, OutgoingTransfer, PartyId, Role, to_fspiop_error
from pm4ml.flows import mapping
from pm4ml.flows.asking import Ask, ask, transfer_answer_is_final
from pm4ml.flows.context import FlowContext
from pm4ml.flows.jobs import queue_cbs
from pm4ml.flows.payer_results import abort_outbound, apply_transfer_answer, fail, move
from pm4ml.flows.rtp_records import needs_authorization
from pm4ml.flows.states import Direction, TransferState
from pm4ml.fspiop.errors import ErrorCode, FspiopError
from pm4ml.fspiop.headers import V1_1, ApiVersion
from pm4ml.observability.tracing import set_transfer_id
from pm4ml.store.schema import Job, Transfer, utcnow
from pm4ml.transport.bus import Bus, BusMessage
from pm4ml.transport.client import FspiopClient, NotDelivered, Sent

log = logging.getLogger(__name__)
S = TransferState


@dataclass(frozen=True)
class PayerOptions:
    auto_accept_party: bool = True
    auto_accept_quotes: bool = True
    version: ApiVersion = V1_1


class PayerTransfers:
    def __init__(
        self, ctx: FlowContext, client: FspiopClient, bus: Bus, options: PayerOptions
    ) -> None:
        self.ctx = ctx
        self.client = client
        self.bus = bus
        self.options = options

    # --- entry points -------------------------------------------------------------------------

    async def create(self, request: dict[str, Any], trace: dict[str, str]) -> Transfer:
        """Store a new outbound transfer from an Outbound API ``POST /transfers`` and run it
        as far as it goes without the caller."""
        row = self.new_transfer(request, trace)
        async with self.ctx.store.one_statement() as session:
            session.add(row)
        return await self.proceed(row.transfer_id, row)

    def new_transfer(self, request: dict[str, Any], trace: dict[str, str]) -> Transfer:
        """The row :meth:`create` stores, for a caller that stores it with rows of its own."""
        transfer_id = str(uuid.uuid4())
        payee = request["to"]
        skip = bool(request.get("skipPartyLookup")) and bool(payee.get("fspId"))
        return Transfer(
            transfer_id=transfer_id,
            direction=Direction.OUTBOUND,
            state=S.PARTY_RECEIVED if skip else S.PARTY_LOOKUP_SENT,
            transaction_id=transfer_id,
            transaction_request_id=request.get("transactionRequestId"),
            home_transaction_id=request.get("homeTransactionId"),
            payer_fsp=self.ctx.dfsp_id,
            payee_fsp=payee.get("fspId"),
            payer_id_type=request["from"]["idType"],
            payer_id_value=request["from"]["idValue"],
            payer_id_sub=request["from"].get("idSubValue"),
            payee_id_type=payee["idType"],
            payee_id_value=payee["idValue"],
            payee_id_sub=payee.get("idSubValue"),
            amount=str(request["amount"]),
            currency=str(request["currency"]),
            amount_type=str(request["amountType"]),
            api_version=str(self.options.version),
            data={"request": request, "trace": trace, "party_accepted": skip},
            created_at=utcnow(),
        )

    async def accept(self, transfer_id: str, step: str, accepted: bool) -> Transfer | None:
        """The caller's answer to ``WAITING_FOR_PARTY_ACCEPTANCE`` / ``..._QUOTE_...``."""
        waiting_in = S.PARTY_RECEIVED if step == "party" else S.QUOTE_RECEIVED
        jobs: list[Job] = []
        async with self.ctx.store.transaction() as session:
            row = await self.ctx.store.transfer(session, transfer_id, lock=True)
            if row is None or row.direction != Direction.OUTBOUND:
                return None
            if row.state != waiting_in or not (row.data or {}).get("waiting"):
                raise FspiopError(
                    ErrorCode.CLIENT_ERROR, f"transfer is not waiting for {step} acceptance"
                )
            data = {**(row.data or {}), "waiting": False, f"{step}_accepted": accepted}
            row.data = data
            if not accepted:
                move(row, S.FAILED)
                fail(row, FspiopError(ErrorCode.PAYER_REJECTION, f"{step} not accepted"))
        await self.ctx.jobs.run_now(*jobs)
        return await self.proceed(transfer_id) if accepted else row

    async def proceed(self, transfer_id: str, row: Transfer | None = None) -> Transfer:
        """Run the transfer from its stored state until it is final or waits for the caller.
        ``row`` is the transfer as the caller just committed it (not read again); every step
        stores its change only if the stored state is still the one it moved from."""
        set_transfer_id(transfer_id)
        if row is None:
            row = await self.ctx.store.existing_transfer(transfer_id)
        # A quote this call obtained waits for the caller's acceptance (when it must); one
        # already stored was accepted if the caller got here again.
        quoted_now = False
        if row.state == S.PARTY_LOOKUP_SENT:
            row = await self._lookup(row)
            if row.state == S.PARTY_RECEIVED and not self.options.auto_accept_party:
                return await self._wait_for_caller(row)
            quoted_now = True  # the lookup goes on to the quote when the party is accepted
        if row.state == S.PARTY_RECEIVED:
            row = await self._quote(row)
            quoted_now = True
        if quoted_now and row.state == S.QUOTE_RECEIVED and not self.options.auto_accept_quotes:
            return await self._wait_for_caller(row)
        if row.state == S.QUOTE_RECEIVED and needs_authorization(row.data):
            # A request to pay with an OTP: its step runs before anything is held.
            return row
        if row.state == S.QUOTE_RECEIVED:
            row = await self._reserve(row)
        if row.state == S.FUNDS_RESERVED:
            row = await self._transfer(row)
        return row

    async def refresh(self, transfer_id: str) -> Transfer | None:
        """The stored transfer; if the hub has not told us its outcome yet, ask it first
        (``GET /transfers/{ID}``) and wait, bounded, for the answer to be applied."""
        async with self.ctx.store.reading() as session:
            row = await self.ctx.store.transfer(session, transfer_id)
        if row is None or row.direction != Direction.OUTBOUND or row.state != S.TRANSFER_SENT:
            return row
        path = f"/transfers/{transfer_id}"
        await self._ask("GET", path, None, row.payee_fsp, path.strip("/"), row)
        return await self.ctx.store.existing_transfer(transfer_id)

    # --- steps ----------------------------------------------------------------------------------

    async def _lookup(self, row: Transfer) -> Transfer:
        party = PartyId(str(row.payee_id_type), str(row.payee_id_value), row.payee_id_sub)
        path = f"/parties/{party}"
        answer = await self._ask("GET", path, None, None, path.strip("/"), row)
        was = row.state
        quote: tuple[str, dict[str, Any]] | None = None
        if isinstance(answer, FspiopError):
            fields = self._failed(row, answer)
        elif not (info := answer.body.get("party", {}).get("partyIdInfo", {})).get("fspId"):
            fields = self._failed(row, FspiopError(ErrorCode.PARTY_NOT_FOUND, "no fspId"))
        else:
            row.payee_fsp = str(info["fspId"])
            row.data = {**(row.data or {}), "party": answer.body}
            move(row, S.PARTY_RECEIVED)
            fields = ("payee_fsp", "data")
            if self.options.auto_accept_party:
                # Accepted at once: the quote request is stored with the party, one write.
                quote = self._request_quote(row)
                fields = (*fields, "quote_id")
        row = await self._save(row, was, fields)
        if quote is not None and row.state == S.QUOTE_REQUESTED:
            return await self._ask_quote(row, *quote)
        return row

    async def _quote(self, row: Transfer) -> Transfer:
        was = row.state
        quote = self._request_quote(row)
        row = await self._save(row, was, ("quote_id", "data"))
        if row.state != S.QUOTE_REQUESTED:
            return row
        return await self._ask_quote(row, *quote)

    def _request_quote(self, row: Transfer) -> tuple[str, dict[str, Any]]:
        """Move a ``PARTY_RECEIVED`` row to ``QUOTE_REQUESTED`` in memory, with the ``POST
        /quotes`` body it is about to send; returns the quote id and the body."""
        quote_id = str(uuid.uuid4())
        expiration = self.ctx.clock() + timedelta(seconds=self.ctx.expiry_seconds)
        body = quote_request(row, quote_id, self.ctx.dfsp_id, mapping.fspiop_datetime(expiration))
        row.quote_id = quote_id
        row.data = {**(row.data or {}), "quote_request": body}
        move(row, S.QUOTE_REQUESTED)
        return quote_id, body

    async def _ask_quote(self, row: Transfer, quote_id: str, body: dict[str, Any]) -> Transfer:
        """Send the stored quote request of a ``QUOTE_REQUESTED`` row and store the answer."""
        answer = await self._ask("POST", "/quotes", body, row.payee_fsp, f"quotes/{quote_id}", row)
        was = row.state
        if isinstance(answer, FspiopError):
            return await self._save(row, was, self._failed(row, answer))
        try:
            mapping.check_quote_answer(
                quote_id, answer.body, ilp=self.ctx.ilp, now=self.ctx.clock(), currency=row.currency
            )
        except FspiopError as error:
            return await self._save(row, was, self._failed(row, error))
        row.ilp_packet = str(answer.body["ilpPacket"])
        row.condition = str(answer.body["condition"])
        row.data = {**(row.data or {}), "quote": answer.body}
        move(row, S.QUOTE_RECEIVED)
        return await self._save(row, was, ("ilp_packet", "condition", "data"))

    async def _reserve(self, row: Transfer) -> Transfer:
        quote = (row.data or {})["quote"]
        amount = mapping.money_from(quote["transferAmount"])
        expiration = self.ctx.clock() + timedelta(seconds=self.ctx.expiry_seconds)
        hold = OutgoingTransfer(
            transfer_id=row.transfer_id,
            payer=PartyId(str(row.payer_id_type), str(row.payer_id_value), row.payer_id_sub),
            payee=PartyId(str(row.payee_id_type), str(row.payee_id_value), row.payee_id_sub),
            payee_fsp=str(row.payee_fsp),
            amount=Money(amount.amount, amount.currency),
            expiration=expiration,
        )
        error: FspiopError | None = None
        try:
            await self.ctx.cbs(self.ctx.connector.reserve_funds(hold))
        except Exception as exc:
            error = to_fspiop_error(exc, Role.PAYER)
        was = row.state
        if error is not None:
            jobs: list[Job] = []
            fields = self._failed(row, error)
            async with self.ctx.store.transaction() as session:
                if saved := await self.ctx.store.save_transfer(session, row, was, fields):
                    # Nothing was held, but a release is harmless and covers a partial hold.
                    jobs.append(
                        queue_cbs(session, "release_funds", row.transfer_id, reason="failed")
                    )
            if not saved:
                return await self.ctx.store.existing_transfer(row.transfer_id)
            await self.ctx.jobs.run_now(*jobs)
            return row
        row.expiration = expiration
        move(row, S.FUNDS_RESERVED)
        # The transfer goes out at once, so its request is stored in the same write: a crash
        # before the send leaves a TRANSFER_SENT the sweeper asks the hub about after expiry,
        # as it would after a crash just after the send.
        body = self._sent_transfer(row)
        row = await self._save(row, was, ("expiration", "data"))
        if row.state != S.TRANSFER_SENT:
            return row
        return await self._send_transfer(row, body)

    async def _transfer(self, row: Transfer) -> Transfer:
        """Send the transfer of a ``FUNDS_RESERVED`` row (one stored by an earlier version,
        which committed the two states apart)."""
        was = row.state
        body = self._sent_transfer(row)
        row = await self._save(row, was, ("data",))
        if row.state != S.TRANSFER_SENT:
            return row
        return await self._send_transfer(row, body)

    def _sent_transfer(self, row: Transfer) -> dict[str, Any]:
        """Move a locked ``FUNDS_RESERVED`` row to ``TRANSFER_SENT`` with the ``POST
        /transfers`` body it is about to send; returns the body."""
        quote = (row.data or {})["quote"]
        assert row.expiration is not None
        body = {
            "transferId": row.transfer_id,
            "payerFsp": self.ctx.dfsp_id,
            "payeeFsp": row.payee_fsp,
            "amount": quote["transferAmount"],
            "ilpPacket": row.ilp_packet,
            "condition": row.condition,
            "expiration": mapping.fspiop_datetime(row.expiration),
        }
        row.data = {**(row.data or {}), "transfer_request": body}
        move(row, S.TRANSFER_SENT)
        return body

    async def _send_transfer(self, row: Transfer, body: dict[str, Any]) -> Transfer:
        key = f"transfers/{row.transfer_id}"
        answer = await self._ask("POST", "/transfers", body, row.payee_fsp, key, row)
        return await self._settle(row.transfer_id, answer)

    async def _settle(self, transfer_id: str, answer: BusMessage | FspiopError) -> Transfer:
        if isinstance(answer, BusMessage):
            # The inbound server committed the answer before it published it: normally the
            # stored row already has the outcome and a plain read is all that is left.
            row = await self.ctx.store.existing_transfer(transfer_id)
            if row.state != S.TRANSFER_SENT:
                return row
        jobs: list[Job] = []
        async with self.ctx.store.transaction() as session:
            row = await self.ctx.store.locked_transfer(session, transfer_id)
            if isinstance(answer, BusMessage):
                # Still TRANSFER_SENT: apply it here; a row that moved on is left as it is.
                jobs = apply_transfer_answer(session, row, answer.kind, answer.body)
            elif row.state == S.TRANSFER_SENT:
                if isinstance(answer, NotDelivered):
                    jobs = abort_outbound(session, row, answer)
                else:
                    # Timed out: the hub may still commit. Keep the hold; the sweeper asks.
                    fail(row, answer)
        await self.ctx.jobs.run_now(*jobs)
        return row

    # --- helpers ------------------------------------------------------------------------------

    async def _ask(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None,
        destination: str | None,
        key: str,
        row: Transfer,
    ) -> BusMessage | FspiopError:
        """Send one request for this transfer and wait (bounded) for its callback on ``key``;
        see :func:`pm4ml.flows.asking.ask` for what comes back."""

        async def record(sent: Sent) -> None:
            await self.ctx.log_sent(sent, transfer_id=row.transfer_id)

        return await ask(
            self.client,
            self.bus,
            Ask(method, path, body, destination, key),
            version=self.options.version,
            wait_seconds=self.ctx.callback_wait_seconds,
            trace=(row.data or {}).get("trace") or None,
            record=record,
            observe_wait=self.ctx.observe_callback_wait,
            final=transfer_answer_is_final if key.startswith("transfers/") else None,
        )

    async def _wait_for_caller(self, row: Transfer) -> Transfer:
        row.data = {**(row.data or {}), "waiting": True}
        return await self._save(row, row.state, ("data",))

    async def _save(self, row: Transfer, was: str, fields: tuple[str, ...]) -> Transfer:
        """Store ``row`` as this flow moved it from state ``was`` (:meth:`Store.save_transfer`);
        if something else moved the transfer first, the stored one wins and is returned."""
        async with self.ctx.store.one_statement() as session:
            saved = await self.ctx.store.save_transfer(session, row, was, fields)
        if saved:
            return row
        return await self.ctx.store.existing_transfer(row.transfer_id)

    def _failed(self, row: Transfer, error: FspiopError) -> tuple[str, ...]:
        """Move ``row`` to ``FAILED`` with ``error``, in memory; the fields to store."""
        move(row, S.FAILED)
        fail(row, error)
        return ("last_error_code", "last_error_description", "data")


def quote_request(row: Transfer, quote_id: str, dfsp_id: str, expiration: str) -> dict[str, Any]:
    """The ``POST /quotes`` body for an outbound transfer whose payee is known."""
    data = row.data or {}
    request = data["request"]
    party = (data.get("party") or {}).get("party") or {}
    payee_info = party.get("partyIdInfo") or mapping.party_id_info(
        PartyId(str(row.payee_id_type), str(row.payee_id_value), row.payee_id_sub),
        row.payee_fsp,
    )
    payer = request["from"]
    payer_party: dict[str, Any] = {
        "partyIdInfo": mapping.party_id_info(
            PartyId(payer["idType"], payer["idValue"], payer.get("idSubValue")), dfsp_id
        )
    }
    if payer.get("displayName"):
        payer_party["name"] = payer["displayName"]
    body: dict[str, Any] = {
        "quoteId": quote_id,
        "transactionId": row.transaction_id,
        "payee": {"partyIdInfo": payee_info},
        "payer": payer_party,
        "amountType": row.amount_type,
        "amount": {"amount": row.amount, "currency": row.currency},
        # A transfer that pays a request to pay carries the request's type and id.
        "transactionType": request.get("fspiopTransactionType")
        or {"scenario": "TRANSFER", "initiator": "PAYER", "initiatorType": "CONSUMER"},
        "expiration": expiration,
    }
    if request.get("transactionRequestId"):
        body["transactionRequestId"] = request["transactionRequestId"]
    if request.get("note"):
        body["note"] = request["note"]
    return body
