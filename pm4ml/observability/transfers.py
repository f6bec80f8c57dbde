"""End-to-end transfer signals, taken where every transfer's state is written: the database
session.

A transfer ends (``COMMITTED``, ``ABORTED``, ``FAILED``) on many paths: the payer flow, the
inbound server applying the hub's answer, the payee flow, the sweeper. Each of them writes
the final state in one transaction. Instead of a call on every path, a session listener sees
the flushed ``Transfer`` rows whose ``state`` changed to a final one (and
``Store.save_transfer`` notes the ones it writes without a flush) and, only once the
transaction committed, counts them into ``pm4ml_transfers_total{direction,outcome}`` and
``pm4ml_transfer_duration_seconds{direction}`` (``created_at`` to ``completed_at``). A rolled
back transaction counts nothing; a transfer is counted once, by the replica that ended it.
Each end is also one INFO log event (id, direction, outcome, duration: never a body), written
in the context of the work that ended it, so it carries that request's trace id.

The listener is registered on SQLAlchemy's ``Session`` class (the sync session under every
``AsyncSession``) and finds the runtime's metrics by the session's engine, so two runtimes in
one process keep their numbers apart. Sessions of engines nobody watches pay one dict lookup
per flush.

``pm4ml_transfers_in_flight{direction}`` is a count of the stored unfinished transfers
(:func:`count_in_flight`), refreshed by the health probe: a process-local counter would be
wrong as soon as one replica starts a transfer and another one ends it.
"""

from __future__ import annotations

import logging
import threading
from itertools import chain
from typing import Any
from weakref import WeakKeyDictionary

from sqlalchemy import event, func, inspect, select
from sqlalchemy.engine import Engine
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.orm import Session

from pm4ml.flows.states import FINAL_STATES, Direction, TransferState
from pm4ml.observability.metrics import Metrics
from pm4ml.store.repo import TRANSFERS_ENDED, Store, note_if_ended
from pm4ml.store.schema import Transfer

log = logging.getLogger(__name__)
# Listed, not "NOT IN final": the (state, expiration) index then finds the few unfinished
# rows without reading every transfer ever made, at every probe.
_UNFINISHED = sorted(str(state) for state in TransferState if state not in FINAL_STATES)
_watched: WeakKeyDictionary[Engine, Metrics] = WeakKeyDictionary()
_install_lock = threading.Lock()
_installed = False


def watch_transfers(engine: AsyncEngine, metrics: Metrics) -> None:
    """Count the transfers that end in ``engine``'s database into ``metrics``."""
    global _installed
    with _install_lock:
        if not _installed:
            event.listen(Session, "after_flush", _after_flush)
            event.listen(Session, "after_commit", _after_commit)
            event.listen(Session, "after_rollback", _after_rollback)
            _installed = True
    _watched[engine.sync_engine] = metrics


def _after_flush(session: Session, flush_context: Any) -> None:
    bind = session.bind
    if not isinstance(bind, Engine) or bind not in _watched:
        return
    for row in chain(session.new, session.dirty):
        # History still holds this flush's changes: only a row that *became* final counts.
        if isinstance(row, Transfer) and inspect(row).attrs.state.history.added:
            note_if_ended(session.info, row)


def _after_commit(session: Session) -> None:
    ended = session.info.pop(TRANSFERS_ENDED, None)
    if not ended:
        return
    metrics = _watched.get(session.bind) if isinstance(session.bind, Engine) else None
    if metrics is None:
        return
    for transfer_id, direction, outcome, seconds in ended:
        metrics.transfers.labels(direction, outcome).inc()
        metrics.transfer_duration.labels(direction).observe(seconds)
        log.info("transfer %s %s %s after %.3f s", transfer_id, direction, outcome, seconds)


def _after_rollback(session: Session) -> None:
    session.info.pop(TRANSFERS_ENDED, None)


async def count_in_flight(store: Store, metrics: Metrics) -> None:
    """Set ``pm4ml_transfers_in_flight`` from the database: transfers in any state that is
    not final, per direction (the query also proves the database answers)."""
    query = (
        select(Transfer.direction, func.count())
        .where(Transfer.state.in_(_UNFINISHED))
        .group_by(Transfer.direction)
    )
    async with store.reading() as session:
        counts = {str(direction): n for direction, n in (await session.execute(query)).all()}
    for direction in Direction:
        metrics.transfers_in_flight.labels(str(direction)).set(counts.get(str(direction), 0))
