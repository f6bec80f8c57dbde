"""The outbox: work a committed state change still has to do, and the worker that does it.

A flow queues jobs in the same transaction as its new state (``queue_send``, ``queue_cbs``),
commits, then hands them to :meth:`Jobs.run_now`. If that fails, or the process dies first,
the worker (:meth:`Jobs.work`) finds the job when its lease runs out and tries again, with
capped backoff, until it succeeds or fails for good. So a callback promised by a persisted
state is sent even across a crash, and a CBS commit or release is never forgotten.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from pm4ml.connectors import (
    Connector,
    ConnectorError,
    TransactionRequestState,
    TransferNotification,
    TransferOutcome,
)
from pm4ml.flows.message_log import sent_fields
from pm4ml.flows.rtp_records import RequestRole
from pm4ml.fspiop import canonical
from pm4ml.fspiop.errors import FspiopError
from pm4ml.fspiop.headers import ApiVersion
from pm4ml.store.repo import Store
from pm4ml.store.schema import Job
from pm4ml.transport.client import FspiopClient

log = logging.getLogger(__name__)

ATTEMPTS_MAX = 12
BACKOFF_SECONDS_MAX = 60.0
CLAIM_BATCH_MAX = 50
DONE_BATCH_MAX = 64

SEND = "send"
CBS = "cbs"
#: The final state of a request to pay we sent for our customer, for the CBS
#: (``Connector.notify_transaction_request``): ``REJECTED`` when the payer DFSP refused it,
#: ``ACCEPTED`` when a transfer paying it was committed to us.
REQUEST_OUTCOME = "request_outcome"
#: Each CBS operation, and the outcome its final notification reports (``Connector.notify``
#: is called right after the operation succeeds, in the same job, if the connector has it).
CBS_OPERATIONS: dict[str, TransferOutcome] = {
    "commit_transfer": TransferOutcome.COMMITTED,
    "abort_transfer": TransferOutcome.ABORTED,
    "commit_funds": TransferOutcome.COMMITTED,
    "release_funds": TransferOutcome.ABORTED,
}


def queue_send(
    session: AsyncSession,
    method: str,
    path: str,
    body: Mapping[str, Any] | None,
    *,
    destination: str | None,
    version: ApiVersion,
    transfer_id: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> Job:
    """Queue an FSPIOP request. The body is serialised now, once: the bytes sent, signed and
    logged are the same on every attempt."""
    payload = send_payload(method, path, body, destination, version, headers)
    return Store.add_job(session, SEND, payload, transfer_id)


def send_payload(
    method: str,
    path: str,
    body: Mapping[str, Any] | None,
    destination: str | None,
    version: ApiVersion,
    headers: Mapping[str, str] | None,
) -> dict[str, Any]:
    """What sending one FSPIOP request needs, as a job stores it."""
    return {
        "method": method,
        "path": path,
        "body": canonical.dumps_str(body) if body is not None else None,
        "destination": destination,
        "version": str(version),
        "headers": dict(headers or {}),
    }


def queue_cbs(session: AsyncSession, operation: str, transfer_id: str, **arguments: Any) -> Job:
    """Queue a connector call that must happen (a commit, a release, a notification)."""
    assert operation in CBS_OPERATIONS, operation
    payload = {"op": operation, "transfer_id": transfer_id, **arguments}
    return Store.add_job(session, CBS, payload, transfer_id)


def queue_request_outcome(
    session: AsyncSession,
    transaction_request_id: str,
    state: TransactionRequestState,
    transfer_id: str | None = None,
) -> Job:
    """Queue telling the CBS how a request to pay ended. Queued with the state change that
    ends it, so the CBS hears of it even across a crash; a request we did not send (no
    payee-role record) is ignored when the job runs."""
    payload = {"transaction_request_id": transaction_request_id, "state": str(state)}
    return Store.add_job(session, REQUEST_OUTCOME, payload, transfer_id)


class PermanentFailure(Exception):
    """A job that retrying cannot fix (the peer refused the message)."""


class Jobs:
    def __init__(self, store: Store, client: FspiopClient, connector: Connector) -> None:
        self._store = store
        self._client = client
        self._connector = connector
        self._wake = asyncio.Event()
        self._notifies = type(connector).notify is not Connector.notify
        self._done: list[int] = []

    async def run_now(self, *jobs: Job) -> None:
        """The fast path: run freshly committed jobs in order, in this task."""
        for job in jobs:
            await self._run(job)

    async def work(self, poll_seconds: float) -> None:
        """The worker loop: run due jobs until cancelled."""
        while True:
            try:
                jobs = await self._store.claim_jobs(CLAIM_BATCH_MAX)
                for job in jobs:
                    await self._run(job)
                if len(jobs) == CLAIM_BATCH_MAX:
                    continue
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("job worker iteration failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), poll_seconds)
            self._wake.clear()

    async def _run(self, job: Job) -> None:
        try:
            if job.kind == SEND:
                await self._send(job.payload, job.transfer_id)
            elif job.kind == CBS:
                await self._cbs(job.payload)
            elif job.kind == REQUEST_OUTCOME:
                await self._request_outcome(job)
            else:
                raise PermanentFailure(f"unknown job kind {job.kind}")
        except PermanentFailure as exc:
            log.warning("job %s (%s) failed for good: %s", job.id, job.kind, exc)
            await self._store.job_failed(job.id, str(exc))
        except Exception as exc:
            attempts = job.attempts + 1
            if attempts >= ATTEMPTS_MAX:
                log.error("job %s (%s) gave up after %d attempts", job.id, job.kind, attempts)
                await self._store.job_failed(job.id, f"{type(exc).__name__}: {exc}")
            else:
                delay = min(BACKOFF_SECONDS_MAX, 0.5 * 2**attempts)
                log.info("job %s (%s) retry in %.1fs: %s", job.id, job.kind, delay, exc)
                await self._store.job_retry(job.id, f"{type(exc).__name__}: {exc}", delay)
        else:
            # Finished jobs are deleted in batches (flush_done): one write for many jobs. A
            # crash before the flush runs a finished job again, which every job tolerates
            # (callbacks and CBS operations are idempotent).
            self._done.append(job.id)
            if len(self._done) >= DONE_BATCH_MAX:
                await self.flush_done()

    async def flush_done(self) -> None:
        """Delete the jobs finished since the last flush."""
        done, self._done = self._done, []
        if done:
            await self._store.jobs_done(done)

    async def flush_forever(self, interval_seconds: float) -> None:
        while True:
            await asyncio.sleep(interval_seconds)
            try:
                await self.flush_done()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("deleting finished jobs failed")

    async def send_now(
        self,
        method: str,
        path: str,
        body: Mapping[str, Any],
        *,
        destination: str | None,
        version: ApiVersion,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        """Send an FSPIOP request that no stored state promises (the answer to a party or
        participant lookup), without the outbox: if it cannot be delivered, it is logged and
        dropped, and the asker, whose wait is bounded, asks again."""
        payload = send_payload(method, path, body, destination, version, headers)
        try:
            await self._send(payload, None)
        except Exception as exc:
            log.warning("%s %s to %s not delivered: %s", method, path, destination, exc)

    async def _send(self, payload: Mapping[str, Any], transfer_id: str | None) -> None:
        body = payload["body"].encode("utf-8") if payload["body"] is not None else None
        method, path = payload["method"], payload["path"]
        sent = await self._client.send(
            method,
            path,
            body,
            destination=payload["destination"],
            version=ApiVersion.parse(payload["version"]),
            extra_headers=payload.get("headers") or None,
        )
        await self._store.log_message_alone(**sent_fields(sent, transfer_id))
        if sent.ok:
            return
        if sent.status_code >= 500:
            raise RuntimeError(f"peer answered HTTP {sent.status_code}")
        detail = sent.response_body[:200].decode("utf-8", "replace")
        raise PermanentFailure(f"peer refused {method} {path}: HTTP {sent.status_code} {detail}")

    async def _cbs(self, payload: Mapping[str, Any]) -> None:
        op = payload["op"]
        try:
            await self.cbs_operation(op, payload["transfer_id"], payload.get("reason") or "")
        except ConnectorError as exc:
            if exc.retryable:
                raise
            raise PermanentFailure(f"connector refused {op}: {exc.message or exc}") from exc
        except FspiopError as exc:
            raise PermanentFailure(f"connector refused {op}: {exc}") from exc

    async def _request_outcome(self, job: Job) -> None:
        request_id = str(job.payload["transaction_request_id"])
        state = TransactionRequestState(job.payload["state"])
        async with self._store.transaction() as session:
            row = await self._store.transaction_request(
                session, request_id, RequestRole.PAYEE, lock=True
            )
            if row is None:
                return  # paid without a request of ours (the payer DFSP named some other id)
            if state is TransactionRequestState.ACCEPTED and job.transfer_id:
                # Paid: the record says so and names the transfer.
                row.state = str(state)
                row.data = {**(row.data or {}), "paid_by": job.transfer_id}
        try:
            await self._connector.notify_transaction_request(request_id, state)
        except ConnectorError as exc:
            if exc.retryable:
                raise
            raise PermanentFailure(f"connector refused the request's outcome: {exc}") from exc

    async def cbs_operation(self, op: str, transfer_id: str, reason: str = "") -> None:
        """Run one CBS operation of :data:`CBS_OPERATIONS` and then the final notification
        (``Connector.notify``) it stands for, raising whatever the connector raises. The outbox
        runs queued operations through this; the portal's "re-send the final notification to
        the CBS" calls it directly, so both take the same path to the CBS."""
        if op not in CBS_OPERATIONS:
            raise ValueError(f"unknown CBS operation {op}")
        connector = self._connector
        if op == "commit_transfer":
            await connector.commit_transfer(transfer_id)
        elif op == "abort_transfer":
            await connector.abort_transfer(transfer_id, reason)
        elif op == "commit_funds":
            await connector.commit_funds(transfer_id)
        elif op == "release_funds":
            await connector.release_funds(transfer_id, reason)
        if self._notifies:
            # A retry after a failed notification repeats the (idempotent) operation.
            outcome = CBS_OPERATIONS[op]
            notification = TransferNotification(transfer_id, outcome, reason=reason or None)
            await connector.notify(notification)
