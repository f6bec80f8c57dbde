"""Repository: the few queries the flows, the workers and the portal need, in one place.

Every state change happens inside ``async with store.transaction() as session``: one database
transaction that holds the new state, the message that caused it and the jobs that follow from
it. SQLite serialises writers (``BEGIN IMMEDIATE``); PostgreSQL rows are locked with
``FOR UPDATE`` where a flow reads before it writes. A change that is one statement (a payer
step's conditional UPDATE) uses ``store.one_statement()`` instead, which on PostgreSQL runs it
in autocommit mode.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from typing import Any, Required, TypedDict, Unpack, cast

from sqlalchemy import CursorResult, delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from pm4ml.flows.states import FINAL_STATES
from pm4ml.store.engine import read_options
from pm4ml.store.group_write import GroupWriter
from pm4ml.store.schema import Job, Message, Quote, TransactionRequestRow, Transfer, utcnow

JOB_LEASE_SECONDS = 30
MESSAGE_BODY_CHARS_MAX = 65_536
#: Runs each statement as its own transaction (PostgreSQL): no BEGIN and COMMIT round trips.
_AUTOCOMMIT = {"isolation_level": "AUTOCOMMIT"}


class Store:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self._sessions = async_sessionmaker(engine, expire_on_commit=False)
        self._lock_rows = engine.dialect.name == "postgresql"
        self._read_options = read_options(engine)
        self._message_log = GroupWriter(self._insert_messages)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """One database transaction, committed on normal exit, rolled back on error."""
        async with self._sessions.begin() as session:
            yield session

    @asynccontextmanager
    async def one_statement(self) -> AsyncIterator[AsyncSession]:
        """A transaction for work that is a single SQL statement (one flush of one row, or one
        conditional UPDATE or DELETE): such a statement is atomic by itself, so on PostgreSQL
        it runs in autocommit mode, without the BEGIN and COMMIT round trips. Committed on
        normal exit like :meth:`transaction`, so the session's commit hooks still run. Never
        use it for two statements: they would not be one transaction."""
        async with self._sessions.begin() as session:
            if self._lock_rows:
                await session.connection(execution_options=_AUTOCOMMIT)
            yield session

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[AsyncSession]:
        """A session for reads only (the portal, GET answers). On SQLite it does not take the
        write lock, so reads run while a writer commits; on PostgreSQL it runs without a
        transaction (:func:`pm4ml.store.engine.read_options`)."""
        async with self._sessions() as session:
            await session.connection(execution_options=self._read_options)
            yield session

    # --- transfers and quotes -------------------------------------------------------------

    async def transfer(
        self, session: AsyncSession, transfer_id: str, *, lock: bool = False
    ) -> Transfer | None:
        query = select(Transfer).where(Transfer.transfer_id == transfer_id)
        if lock and self._lock_rows:
            query = query.with_for_update()
        return (await session.execute(query)).scalar_one_or_none()

    async def existing_transfer(self, transfer_id: str) -> Transfer:
        """A transfer a flow knows exists (it stored it), read outside any transaction."""
        async with self.reading() as session:
            row = await self.transfer(session, transfer_id)
        assert row is not None, transfer_id
        return row

    async def locked_transfer(self, session: AsyncSession, transfer_id: str) -> Transfer:
        """A transfer a flow knows exists, locked for this transaction's update."""
        row = await self.transfer(session, transfer_id, lock=True)
        assert row is not None, transfer_id
        return row

    @staticmethod
    async def save_transfer(
        session: AsyncSession, row: Transfer, from_state: str, fields: Sequence[str]
    ) -> bool:
        """Write ``row``'s state and ``fields`` (a row the caller moved in memory) if the
        stored transfer is still in ``from_state``: one conditional UPDATE, no read and no row
        lock first. ``False`` when another task moved it meanwhile; nothing is written then."""
        values = {name: getattr(row, name) for name in fields}
        values.update(state=row.state, updated_at=utcnow(), completed_at=row.completed_at)
        statement = (
            update(Transfer)
            .where(Transfer.transfer_id == row.transfer_id, Transfer.state == from_state)
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        result = cast("CursorResult[Any]", await session.execute(statement))
        if result.rowcount != 1:
            return False
        note_if_ended(session.sync_session.info, row)
        return True

    async def quote(
        self, session: AsyncSession, quote_id: str, *, lock: bool = False
    ) -> Quote | None:
        query = select(Quote).where(Quote.quote_id == quote_id)
        if lock and self._lock_rows:
            query = query.with_for_update()
        return (await session.execute(query)).scalar_one_or_none()

    @staticmethod
    async def move_quote(
        session: AsyncSession, quote_id: str, from_state: str, **values: Any
    ) -> bool:
        """Set ``values`` on the quote if it is in ``from_state``, in one statement with no read
        first; ``False`` when it was not in that state (or does not exist)."""
        statement = (
            update(Quote)
            .where(Quote.quote_id == quote_id, Quote.state == from_state)
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        result = cast("CursorResult[Any]", await session.execute(statement))
        return result.rowcount == 1

    async def transfers_to_resume(
        self, session: AsyncSession, states: Sequence[str], limit: int = 500
    ) -> list[Transfer]:
        query = select(Transfer).where(Transfer.state.in_(states)).limit(limit)
        return list((await session.execute(query)).scalars())

    async def expired_transfers(
        self, session: AsyncSession, states: Sequence[str], before: datetime, limit: int = 100
    ) -> list[str]:
        query = (
            select(Transfer.transfer_id)
            .where(Transfer.state.in_(states), Transfer.expiration < before)
            .order_by(Transfer.expiration)
            .limit(limit)
        )
        return list((await session.execute(query)).scalars())

    async def stale_transfers(
        self,
        session: AsyncSession,
        direction: str,
        states: Sequence[str],
        updated_before: datetime,
        limit: int = 100,
    ) -> list[str]:
        """Transfers in ``states`` that nobody has moved since ``updated_before``."""
        query = (
            select(Transfer.transfer_id)
            .where(
                Transfer.direction == direction,
                Transfer.state.in_(states),
                Transfer.updated_at < updated_before,
            )
            .order_by(Transfer.updated_at)
            .limit(limit)
        )
        return list((await session.execute(query)).scalars())

    # --- requests to pay --------------------------------------------------------------------

    async def transaction_request(
        self, session: AsyncSession, transaction_request_id: str, role: str, *, lock: bool = False
    ) -> TransactionRequestRow | None:
        """The request to pay ``transaction_request_id`` in ``role`` (``payee``: we asked;
        ``payer``: we were asked)."""
        query = select(TransactionRequestRow).where(
            TransactionRequestRow.transaction_request_id == transaction_request_id,
            TransactionRequestRow.role == role,
        )
        if lock and self._lock_rows:
            query = query.with_for_update()
        return (await session.execute(query)).scalar_one_or_none()

    async def transaction_requests(
        self, session: AsyncSession, *, limit: int = 50, offset: int = 0
    ) -> list[TransactionRequestRow]:
        """The newest requests to pay first, either role (the portal's list)."""
        query = (
            select(TransactionRequestRow)
            .order_by(TransactionRequestRow.created_at.desc())
            .limit(limit)
            .offset(offset)
        )
        return list((await session.execute(query)).scalars())

    async def stale_transaction_requests(
        self,
        session: AsyncSession,
        role: str,
        states: Sequence[str],
        updated_before: datetime,
        limit: int = 100,
    ) -> list[str]:
        """Requests to pay in ``role`` and ``states`` that nobody has moved since
        ``updated_before``."""
        query = (
            select(TransactionRequestRow.transaction_request_id)
            .where(
                TransactionRequestRow.role == role,
                TransactionRequestRow.state.in_(states),
                TransactionRequestRow.updated_at < updated_before,
            )
            .order_by(TransactionRequestRow.updated_at)
            .limit(limit)
        )
        return list((await session.execute(query)).scalars())

    async def paying_transfer(
        self, session: AsyncSession, transaction_request_id: str
    ) -> str | None:
        """The outbound transfer that pays ``transaction_request_id``; there is at most one
        (``ux_transfers_outbound_transaction_request``)."""
        query = select(Transfer.transfer_id).where(
            Transfer.direction == "OUTBOUND",
            Transfer.transaction_request_id == transaction_request_id,
        )
        return (await session.execute(query)).scalar_one_or_none()

    # --- message log ------------------------------------------------------------------------

    @staticmethod
    def log_message(session: AsyncSession, **fields: Unpack[MessageFields]) -> None:
        """Add one FSPIOP message to the log, in ``session``'s transaction."""
        session.add(Message(**message_values(fields)))

    async def log_message_alone(self, **fields: Unpack[MessageFields]) -> None:
        """Write one FSPIOP message to the log, with no state change (returns once it is
        stored). Lines logged concurrently share one INSERT (:class:`GroupWriter`)."""
        await self._message_log.add(message_values(fields))

    async def _insert_messages(self, rows: Sequence[dict[str, Any]]) -> None:
        # One multi-row INSERT, run on PostgreSQL without BEGIN and COMMIT: a single
        # statement is atomic by itself.
        async with self.engine.connect() as connection:
            if self._lock_rows:
                connection = await connection.execution_options(**_AUTOCOMMIT)
            await connection.execute(insert(Message), list(rows))
            await connection.commit()

    async def messages_for(self, session: AsyncSession, ids: Sequence[str]) -> list[Message]:
        query = (
            select(Message)
            .where((Message.transfer_id.in_(ids)) | (Message.correlation_id.in_(ids)))
            .order_by(Message.created_at, Message.id)
        )
        return list((await session.execute(query)).scalars())

    # --- jobs (the outbox) -------------------------------------------------------------------

    @staticmethod
    def add_job(
        session: AsyncSession, kind: str, payload: dict[str, Any], transfer_id: str | None = None
    ) -> Job:
        """Queue work that must happen after this transaction commits. The caller runs it
        right away (the fast path); the worker picks it up if that fails or the process dies.
        The lease keeps the worker away while the fast path is still running it."""
        job = Job(
            kind=kind,
            transfer_id=transfer_id,
            payload=payload,
            state="PENDING",
            attempts=0,
            next_attempt_at=utcnow() + timedelta(seconds=JOB_LEASE_SECONDS),
            created_at=utcnow(),
        )
        session.add(job)
        return job

    async def claim_jobs(self, limit: int) -> list[Job]:
        """Take up to ``limit`` due jobs and lease them, so another replica skips them."""
        now = utcnow()
        async with self.transaction() as session:
            query = (
                select(Job)
                .where(Job.state == "PENDING", Job.next_attempt_at <= now)
                .order_by(Job.next_attempt_at)
                .limit(limit)
            )
            if self._lock_rows:
                query = query.with_for_update(skip_locked=True)
            jobs = list((await session.execute(query)).scalars())
            for job in jobs:
                job.next_attempt_at = now + timedelta(seconds=JOB_LEASE_SECONDS)
            return jobs

    async def jobs_done(self, job_ids: Sequence[int]) -> None:
        async with self.one_statement() as session:
            await session.execute(delete(Job).where(Job.id.in_(job_ids)))

    async def job_retry(self, job_id: int, error: str, delay_seconds: float) -> None:
        async with self.one_statement() as session:
            await session.execute(
                update(Job)
                .where(Job.id == job_id)
                .values(
                    attempts=Job.attempts + 1,
                    last_error=error[:256],
                    next_attempt_at=utcnow() + timedelta(seconds=delay_seconds),
                )
            )

    async def job_failed(self, job_id: int, error: str) -> None:
        async with self.one_statement() as session:
            await session.execute(
                update(Job)
                .where(Job.id == job_id)
                .values(
                    state="FAILED",
                    attempts=Job.attempts + 1,
                    last_error=error[:256],
                    done_at=utcnow(),
                )
            )

    async def pending_jobs(self) -> int:
        """Jobs not deleted yet: still to run, or finished and waiting for their batch
        delete (``Jobs.flush_done``)."""
        async with self.reading() as session:
            query = select(func.count()).select_from(Job).where(Job.state == "PENDING")
            return int((await session.execute(query)).scalar_one())


#: ``Session.info`` key: the transfers that ended in the session's transaction, as
#: ``(id, direction, outcome, seconds)``, for whoever counts them once it commits
#: (``pm4ml.observability.transfers``).
TRANSFERS_ENDED = "pm4ml_transfers_ended"
_FINAL = frozenset(str(state) for state in FINAL_STATES)


def note_if_ended(info: dict[Any, Any], row: Transfer) -> None:
    """Note ``row`` in a session's ``info`` if its state, just written, is final."""
    if row.state not in _FINAL:
        return
    seconds = ((row.completed_at or utcnow()) - row.created_at).total_seconds()
    ended = info.setdefault(TRANSFERS_ENDED, [])
    ended.append((row.transfer_id, str(row.direction), str(row.state), max(seconds, 0.0)))


class MessageFields(TypedDict, total=False):
    """One FSPIOP message for the log (see :func:`message_values`)."""

    direction: Required[str]
    method: Required[str]
    path: Required[str]
    resource: Required[str]
    headers: Required[Mapping[str, str]]
    body: Required[bytes | None]
    transfer_id: str | None
    correlation_id: str | None
    status_code: int | None
    signature: str | None
    error_code: str | None
    created_at: datetime | None


def message_values(fields: MessageFields) -> dict[str, Any]:
    """The ``messages`` row of one FSPIOP message. Headers are stored as received or sent (the
    signature included); no key material ever passes through here. An outgoing message is
    logged after its answer but stamped with the time it was sent (``created_at``), so the
    log reads in causal order even when its callback was logged first."""
    headers, body = fields["headers"], fields["body"]
    return {
        "direction": fields["direction"],
        "method": fields["method"],
        "path": fields["path"][:512],
        "resource": fields["resource"],
        "transfer_id": fields.get("transfer_id"),
        "correlation_id": fields.get("correlation_id"),
        "source": headers.get("fspiop-source"),
        "destination": headers.get("fspiop-destination"),
        "headers": dict(headers),
        "body": body.decode("utf-8", "replace")[:MESSAGE_BODY_CHARS_MAX] if body else None,
        "status_code": fields.get("status_code"),
        "signature": fields.get("signature"),
        "error_code": fields.get("error_code"),
        "created_at": fields.get("created_at") or utcnow(),
    }
