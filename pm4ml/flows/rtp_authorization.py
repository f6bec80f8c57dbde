"""OTP authorisation of a request to pay (FSPIOP ``/authorizations``), both roles.

As the sdk-scheme-adapter does it: after the quote, the payer's DFSP sends
``GET /authorizations/{transactionRequestId}`` to the payee's DFSP, whose CBS returns the
password the payer typed on the payee's device (:meth:`Connector.one_time_password`, the
reference's backend ``GET /otp/{ID}``); the answer is ``PUT /authorizations/{ID}`` with
``responseType`` ``ENTERED`` and the password in ``authenticationInfo`` (or ``REJECTED``
when the customer declined). The payer's DFSP then checks it: with ``PM4ML_AUTO_ACCEPT_OTP``
on, its CBS does (:meth:`Connector.check_one_time_password`); off, the transfer stops at
``WAITING_FOR_OTP_ACCEPTANCE`` with the ``authorizationResponse`` and the backend answers
``PUT /requestToPayTransfer/{ID}`` ``{"acceptOTP": true|false}``.

A wrong password asks again, up to ``PM4ML_OTP_ATTEMPTS_MAX`` tries in all; then, or when
the customer or the backend declines, the transfer fails with 4101 before anything is
held, the request is stored ``REJECTED`` and the payee's DFSP is told with a
``PUT /authorizations/{ID}`` ``{"responseType": "REJECTED"}``. Every try is stored (on the
transfer, and on the stored request when this DFSP received it) before its ``GET`` is sent.
An OTP step cut short by a restart ends like any interrupted payer transfer: the sweeper
fails it once stale, and nothing was held.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from pm4ml.connectors import ConnectorError, Rejected, Role, to_fspiop_error
from pm4ml.flows.asking import Ask, ask, response_headers
from pm4ml.flows.context import Continuation, FlowContext
from pm4ml.flows.jobs import queue_send
from pm4ml.flows.messages import Inbound
from pm4ml.flows.payer import PayerTransfers
from pm4ml.flows.payer_results import fail, move
from pm4ml.flows.rtp_records import (
    DONE,
    REQUIRED,
    WAITING,
    RequestRole,
    RequestState,
    RtpOptions,
    record_error,
)
from pm4ml.flows.states import TransferState
from pm4ml.fspiop.errors import ErrorCode, FspiopError
from pm4ml.store.schema import Job, Transfer
from pm4ml.transport.client import Sent

log = logging.getLogger(__name__)
S = TransferState

WAITING_FOR_OTP_ACCEPTANCE = "WAITING_FOR_OTP_ACCEPTANCE"


# --- payee's DFSP: answers GET /authorizations --------------------------------------------


class PayeeAuthorizations:
    """Answers the payer DFSP's ``GET /authorizations/{ID}`` for a request this DFSP sent,
    and takes its ``PUT /authorizations/{ID}`` ``REJECTED`` notice."""

    def __init__(self, ctx: FlowContext) -> None:
        self.ctx = ctx

    async def on_get_authorization(self, msg: Inbound) -> Continuation:
        ctx = self.ctx
        request_id = msg.params["ID"]
        path = f"/authorizations/{request_id}"
        async with ctx.store.transaction() as session:
            ctx.log_inbound(session, msg, correlation_id=request_id)
            row = await ctx.store.transaction_request(
                session, request_id, RequestRole.PAYEE, lock=True
            )
            if row is None or row.peer_fsp != msg.source:
                error = FspiopError(ErrorCode.TXN_REQUEST_ID_NOT_FOUND)
                job = ctx.error_callback(session, msg.reply_to, path, error)
                return lambda: ctx.jobs.run_now(job)
            row.otp_attempts += 1
        return lambda: self._answer(msg, request_id, path)

    async def _answer(self, msg: Inbound, request_id: str, path: str) -> None:
        ctx = self.ctx
        body: dict[str, Any] | None = None
        error: FspiopError | None = None
        try:
            value = await ctx.cbs(ctx.connector.one_time_password(request_id))
            body = {
                "authenticationInfo": {"authentication": "OTP", "authenticationValue": value},
                "responseType": "ENTERED",
            }
        except Rejected:
            body = {"responseType": "REJECTED"}
        except Exception as exc:
            if not isinstance(exc, ConnectorError):
                log.exception("one-time password for %s failed", request_id)
            error = to_fspiop_error(exc, Role.PAYEE)
        async with ctx.store.transaction() as session:
            if body is not None:
                job = ctx.callback(session, msg.reply_to, path, body)
            else:
                assert error is not None
                job = ctx.error_callback(session, msg.reply_to, path, error)
        await ctx.jobs.run_now(job)

    async def on_rejected_notice(self, msg: Inbound) -> bool:
        """Store the payer DFSP's ``REJECTED`` notice for a request this DFSP sent; ``False``
        when the message is not one (it is then a callback for this DFSP as payer)."""
        ctx = self.ctx
        request_id = msg.params["ID"]
        async with ctx.store.transaction() as session:
            row = await ctx.store.transaction_request(
                session, request_id, RequestRole.PAYEE, lock=True
            )
            if row is None or row.peer_fsp != msg.source:
                return False
            ctx.log_inbound(session, msg, correlation_id=request_id)
            if msg.json.get("responseType") == "REJECTED":
                row.state = RequestState.REJECTED
        return True


# --- payer's DFSP: the OTP step of a request-to-pay transfer ----------------------------------


class PayerAuthorization:
    """Runs the OTP step of a transfer that pays a request to pay, then lets the payer flow
    go on (reserve, transfer) or fails it."""

    def __init__(self, payer: PayerTransfers, options: RtpOptions) -> None:
        self.payer = payer
        self.ctx = payer.ctx
        self.options = options

    async def run(self, row: Transfer) -> Transfer:
        """Ask for the password until it is accepted, declined or out of tries; a no-op
        unless ``row`` waits, quote accepted, for its OTP step."""
        while row.state == S.QUOTE_RECEIVED and (row.data or {}).get("authorization") == REQUIRED:
            if (row.data or {}).get("waiting"):
                return row  # the caller has not accepted the quote yet
            row = await self._try_once(row)
        if row.state == S.QUOTE_RECEIVED and (row.data or {}).get("authorization") == DONE:
            return await self.payer.proceed(row.transfer_id)
        return row

    async def accept(self, transfer_id: str, accepted: bool) -> Transfer:
        """The backend's ``acceptOTP`` for a transfer at ``WAITING_FOR_OTP_ACCEPTANCE``."""
        async with self.ctx.store.transaction() as session:
            row = await self.ctx.store.locked_transfer(session, transfer_id)
            if row.state != S.QUOTE_RECEIVED or (row.data or {}).get("authorization") != WAITING:
                raise FspiopError(ErrorCode.CLIENT_ERROR, "transfer is not waiting for an OTP")
            jobs: list[Job] = []
            if accepted:
                await self._approved(session, row)
            else:
                jobs = await self._reject(session, row, "the one-time password was not accepted")
        await self.ctx.jobs.run_now(*jobs)
        return await self.run(row)

    async def _try_once(self, row: Transfer) -> Transfer:
        request_id = str(row.transaction_request_id)
        async with self.ctx.store.transaction() as session:
            row = await self.ctx.store.locked_transfer(session, row.transfer_id)
            if row.state != S.QUOTE_RECEIVED or row.data.get("authorization") != REQUIRED:
                return row
            attempts = int(row.data.get("otp_attempts", 0)) + 1
            row.data = {**row.data, "otp_attempts": attempts}
            asked = await self.ctx.store.transaction_request(
                session, request_id, RequestRole.PAYER, lock=True
            )
            if asked is not None:
                asked.otp_attempts = attempts
        answer = await self._ask(row, request_id, attempts)
        check: bool | FspiopError | None = None
        if not isinstance(answer, FspiopError) and answer.get("responseType") == "ENTERED":
            if not self.options.auto_accept_otp:
                return await self._wait_for_backend(row, answer)
            check = await self._check(request_id, answer)
        jobs: list[Job] = []
        async with self.ctx.store.transaction() as session:
            row = await self.ctx.store.locked_transfer(session, row.transfer_id)
            if row.state != S.QUOTE_RECEIVED or row.data.get("authorization") != REQUIRED:
                return row
            response_type = None if isinstance(answer, FspiopError) else answer["responseType"]
            if isinstance(answer, FspiopError):
                await self._failed(session, row, answer, request_id)
            elif isinstance(check, FspiopError):
                await self._failed(session, row, check, request_id)
            elif check is True:
                await self._approved(session, row)
            elif response_type == "REJECTED":
                jobs = await self._reject(session, row, "the customer declined", notify=False)
            elif attempts >= self.options.otp_attempts_max:
                jobs = await self._reject(
                    session, row, f"no valid one-time password in {attempts} tries"
                )
            # else: a wrong password or RESEND with tries left: the loop asks again.
        await self.ctx.jobs.run_now(*jobs)
        return row

    async def _ask(
        self, row: Transfer, request_id: str, attempts: int
    ) -> Mapping[str, Any] | FspiopError:
        quote_amount = ((row.data or {}).get("quote") or {}).get("transferAmount") or {}
        retries_left = self.options.otp_attempts_max - attempts + 1
        query = (
            f"authenticationType=OTP&retriesLeft={retries_left}"
            f"&amount={quote_amount.get('amount', row.amount)}"
            f"&currency={quote_amount.get('currency', row.currency)}"
        )
        key = f"authorizations/{request_id}"
        transfer_id = row.transfer_id

        async def record(sent: Sent) -> None:
            await self.ctx.log_sent(sent, transfer_id=transfer_id)

        answer = await ask(
            self.payer.client,
            self.payer.bus,
            Ask("GET", f"/{key}?{query}", None, row.payee_fsp, key),
            version=self.payer.options.version,
            wait_seconds=self.ctx.callback_wait_seconds,
            trace=(row.data or {}).get("trace") or None,
            record=record,
            observe_wait=self.ctx.observe_callback_wait,
        )
        if isinstance(answer, FspiopError):
            return answer
        if answer.kind == "error":
            return FspiopError.from_body(answer.body)
        async with self.ctx.store.transaction() as session:
            locked = await self.ctx.store.locked_transfer(session, row.transfer_id)
            locked.data = {
                **(locked.data or {}),
                "authorization_response": {
                    "body": answer.body,
                    "headers": response_headers(answer),
                },
            }
        return answer.body

    async def _check(self, request_id: str, answer: Mapping[str, Any]) -> bool | FspiopError:
        value = (answer.get("authenticationInfo") or {}).get("authenticationValue")
        if not isinstance(value, str):
            return False
        try:
            return await self.ctx.cbs(self.ctx.connector.check_one_time_password(request_id, value))
        except Exception as exc:
            if not isinstance(exc, ConnectorError):
                log.exception("one-time password check for %s failed", request_id)
            return to_fspiop_error(exc, Role.PAYER)

    async def _wait_for_backend(self, row: Transfer, answer: Mapping[str, Any]) -> Transfer:
        async with self.ctx.store.transaction() as session:
            row = await self.ctx.store.locked_transfer(session, row.transfer_id)
            if row.state == S.QUOTE_RECEIVED and row.data.get("authorization") == REQUIRED:
                row.data = {**row.data, "authorization": WAITING}
        return row

    async def _approved(self, session: AsyncSession, row: Transfer) -> None:
        """The password was right: the payer approved the request (FSPIOP ``ACCEPTED``)."""
        row.data = {**row.data, "authorization": DONE}
        asked = await self.ctx.store.transaction_request(
            session, str(row.transaction_request_id), RequestRole.PAYER, lock=True
        )
        if asked is not None:
            asked.state = RequestState.ACCEPTED

    async def _failed(
        self, session: AsyncSession, row: Transfer, error: FspiopError, request_id: str
    ) -> None:
        """The OTP step could not finish (no answer, an error): the transfer fails, nothing
        was held; the stored request records why."""
        move(row, S.FAILED)
        fail(row, error)
        row.data = {**row.data, "authorization": None}
        asked = await self.ctx.store.transaction_request(
            session, request_id, RequestRole.PAYER, lock=True
        )
        if asked is not None:
            record_error(asked, error, timeout=error.code is ErrorCode.SERVER_TIMED_OUT)

    async def _reject(
        self, session: AsyncSession, row: Transfer, reason: str, *, notify: bool = True
    ) -> list[Job]:
        """End the request: the transfer fails before anything is held, the request is
        ``REJECTED``, and (``notify``) the payee's DFSP is told."""
        request_id = str(row.transaction_request_id)
        move(row, S.FAILED)
        fail(row, FspiopError(ErrorCode.PAYER_REJECTED_TXN_REQUEST, reason))
        row.data = {**row.data, "authorization": None}
        asked = await self.ctx.store.transaction_request(
            session, request_id, RequestRole.PAYER, lock=True
        )
        if asked is not None:
            asked.state = RequestState.REJECTED
        if not notify:
            return []
        job = queue_send(
            session,
            "PUT",
            f"/authorizations/{request_id}",
            {"responseType": "REJECTED"},
            destination=row.payee_fsp,
            version=self.payer.options.version,
            transfer_id=row.transfer_id,
        )
        return [job]
