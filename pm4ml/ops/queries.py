"""Read-only queries over pm4ml's transfers, requests to pay, messages and outbox, for the
portal's pages."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import Select, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from pm4ml.flows.states import Direction, TransferState
from pm4ml.store.schema import Job, Message, TransactionRequestRow, Transfer, utcnow

PAGE_SIZE = 50
COMPLETED_STATES = frozenset({TransferState.COMMITTED})
FAILED_STATES = frozenset({TransferState.ABORTED, TransferState.FAILED})
STATES = tuple(state.value for state in TransferState)
DIRECTIONS = tuple(direction.value for direction in Direction)


@dataclass(frozen=True)
class TransferFilter:
    """Search criteria; every field is optional and the given ones all must match."""

    transfer_id: str | None = None
    home_transaction_id: str | None = None
    quote_id: str | None = None
    party_id: str | None = None
    state: str | None = None
    direction: str | None = None
    counterparty: str | None = None
    amount: Decimal | None = None
    since: datetime | None = None
    until: datetime | None = None


def _filtered(criteria: TransferFilter) -> Select[Transfer]:
    query = select(Transfer)
    if criteria.transfer_id:
        query = query.where(Transfer.transfer_id == criteria.transfer_id)
    if criteria.home_transaction_id:
        query = query.where(Transfer.home_transaction_id == criteria.home_transaction_id)
    if criteria.quote_id:
        query = query.where(Transfer.quote_id == criteria.quote_id)
    if criteria.party_id:
        query = query.where(
            or_(
                Transfer.payer_id_value == criteria.party_id,
                Transfer.payee_id_value == criteria.party_id,
            )
        )
    if criteria.state:
        query = query.where(Transfer.state == criteria.state)
    if criteria.direction:
        query = query.where(Transfer.direction == criteria.direction)
    if criteria.counterparty:
        query = query.where(Transfer.peer_fsp == criteria.counterparty)
    if criteria.amount is not None:
        # Amounts are stored as FSPIOP strings; both spellings of a whole amount match.
        text = format(criteria.amount.normalize(), "f")
        query = query.where(Transfer.amount.in_({text, str(criteria.amount)}))
    if criteria.since is not None:
        query = query.where(Transfer.created_at >= criteria.since)
    if criteria.until is not None:
        query = query.where(Transfer.created_at < criteria.until)
    return query


@dataclass
class Page:
    rows: list[Transfer]
    number: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / PAGE_SIZE))


async def search_transfers(session: AsyncSession, criteria: TransferFilter, page: int = 1) -> Page:
    """One page of matching transfers, newest first, with the total count."""
    query = _filtered(criteria)
    total = (await session.execute(select(func.count()).select_from(query.subquery()))).scalar_one()
    rows = await session.execute(
        query.order_by(Transfer.created_at.desc(), Transfer.transfer_id)
        .limit(PAGE_SIZE)
        .offset((max(page, 1) - 1) * PAGE_SIZE)
    )
    return Page(list(rows.scalars()), max(page, 1), int(total))


@dataclass
class RequestPage:
    """One page of requests to pay, with the transfers that paid each (the payer's outgoing
    transfer for a request we were asked, the incoming ones for a request we sent)."""

    rows: list[TransactionRequestRow]
    paid_by: dict[tuple[str, str], list[Transfer]]
    number: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / PAGE_SIZE))


#: The direction of the transfer that pays a request, by our role in it.
PAYING_DIRECTION = {"payer": Direction.OUTBOUND, "payee": Direction.INBOUND}


async def transaction_requests(
    session: AsyncSession, page: int = 1, transaction_request_id: str | None = None
) -> RequestPage:
    """One page of requests to pay, newest first (or the one ``transaction_request_id``)."""
    query = select(TransactionRequestRow)
    if transaction_request_id:
        query = query.where(TransactionRequestRow.transaction_request_id == transaction_request_id)
    total = (await session.execute(select(func.count()).select_from(query.subquery()))).scalar_one()
    rows = list(
        (
            await session.execute(
                query.order_by(
                    TransactionRequestRow.created_at.desc(),
                    TransactionRequestRow.transaction_request_id,
                )
                .limit(PAGE_SIZE)
                .offset((max(page, 1) - 1) * PAGE_SIZE)
            )
        ).scalars()
    )
    paid_by: dict[tuple[str, str], list[Transfer]] = {}
    ids = [row.transaction_request_id for row in rows]
    if ids:
        transfers = await session.execute(
            select(Transfer)
            .where(Transfer.transaction_request_id.in_(ids))
            .order_by(Transfer.created_at)
        )
        roles = {direction: role for role, direction in PAYING_DIRECTION.items()}
        for transfer in transfers.scalars():
            role = roles.get(Direction(transfer.direction))
            key = (str(transfer.transaction_request_id), str(role))
            paid_by.setdefault(key, []).append(transfer)
    return RequestPage(rows, paid_by, max(page, 1), int(total))


async def all_matching(
    session: AsyncSession, criteria: TransferFilter, limit: int = 100_000
) -> list[Transfer]:
    """Every matching transfer (for CSV export), newest first, bounded by ``limit``."""
    rows = await session.execute(
        _filtered(criteria).order_by(Transfer.created_at.desc()).limit(limit)
    )
    return list(rows.scalars())


async def transfer_timeline(session: AsyncSession, transfer: Transfer) -> list[Message]:
    """Every FSPIOP message about this transfer (its own, its quote's), in causal order."""
    keys = [transfer.transfer_id]
    keys.extend(key for key in (transfer.quote_id, transfer.transaction_id) if key)
    query = (
        select(Message)
        .where(or_(Message.transfer_id == transfer.transfer_id, Message.correlation_id.in_(keys)))
        .order_by(Message.created_at, Message.id)
    )
    return list((await session.execute(query)).scalars())


@dataclass(frozen=True)
class OutboxWork:
    """A callback or CBS call the outbox still has to make for a transfer, or gave up on:
    what the operators look at before re-sending the final notification."""

    what: str
    state: str
    attempts: int
    next_attempt_at: datetime
    last_error: str | None


async def transfer_work(session: AsyncSession, transfer_id: str) -> list[OutboxWork]:
    """The transfer's outbox jobs not finished yet, and those that failed for good (finished
    ones are deleted). Described by operation or method and path, never by body or headers."""
    query = select(Job).where(Job.transfer_id == transfer_id).order_by(Job.id)
    work: list[OutboxWork] = []
    for job in (await session.execute(query)).scalars():
        payload = job.payload or {}
        if job.kind == "cbs":
            what = f"CBS {payload.get('op', '?')}"
        else:
            what = f"{payload.get('method', '?')} {payload.get('path', '?')}"
        work.append(OutboxWork(what, job.state, job.attempts, job.next_attempt_at, job.last_error))
    return work


async def cbs_call_pending(session: AsyncSession, transfer_id: str) -> bool:
    """Whether the outbox still has a CBS call to make for this transfer."""
    query = (
        select(Job.id)
        .where(Job.transfer_id == transfer_id, Job.kind == "cbs", Job.state == "PENDING")
        .limit(1)
    )
    return (await session.execute(query)).first() is not None


@dataclass
class DirectionStats:
    total: int = 0
    completed: int = 0
    failed: int = 0
    in_flight: int = 0
    durations: list[float] = field(default_factory=list)
    errors: dict[str, int] = field(default_factory=dict)

    @property
    def success_rate(self) -> float | None:
        finished = self.completed + self.failed
        return None if finished == 0 else self.completed / finished

    @property
    def average_seconds(self) -> float | None:
        return sum(self.durations) / len(self.durations) if self.durations else None

    @property
    def p95_seconds(self) -> float | None:
        if not self.durations:
            return None
        ordered = sorted(self.durations)
        return ordered[min(len(ordered) - 1, math.ceil(0.95 * len(ordered)) - 1)]


@dataclass
class Dashboard:
    window: timedelta
    buckets: list[tuple[datetime, int]]
    directions: dict[str, DirectionStats]

    @property
    def per_minute(self) -> float:
        total = sum(stats.total for stats in self.directions.values())
        return total / max(self.window.total_seconds() / 60, 1)


async def dashboard(session: AsyncSession, window: timedelta, bucket_count: int = 24) -> Dashboard:
    """Counts, success rate, end-to-end times and errors over the last ``window``."""
    now = utcnow()
    start = now - window
    query = select(
        Transfer.direction,
        Transfer.state,
        Transfer.created_at,
        Transfer.completed_at,
        Transfer.last_error_code,
    ).where(Transfer.created_at >= start)
    width = window / bucket_count
    buckets = [0] * bucket_count
    directions: dict[str, DirectionStats] = {}
    for direction, state, created, completed, error in await session.execute(query):
        stats = directions.setdefault(direction, DirectionStats())
        stats.total += 1
        index = min(bucket_count - 1, int((created - start) / width))
        buckets[index] += 1
        if state in COMPLETED_STATES:
            stats.completed += 1
            if completed is not None:
                stats.durations.append((completed - created).total_seconds())
        elif state in FAILED_STATES:
            stats.failed += 1
        else:
            stats.in_flight += 1
        if error:
            stats.errors[error] = stats.errors.get(error, 0) + 1
    return Dashboard(window, [(start + width * i, n) for i, n in enumerate(buckets)], directions)
