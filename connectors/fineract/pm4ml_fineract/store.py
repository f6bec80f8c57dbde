"""Reading and writing ``fineract_transfers`` (see ``schema.py``), one short transaction each."""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from pm4ml.store.schema import utcnow
from pm4ml_fineract.schema import Direction, State, transfers


@dataclass(frozen=True, slots=True)
class Record:
    """One transfer as the connector last wrote it down."""

    transfer_id: str
    direction: Direction
    savings_id: int
    amount: Decimal
    currency: str
    state: State
    hold_id: int | None = None
    release_id: int | None = None
    transaction_id: int | None = None


class TransferStore:
    """The connector's mapping table over pm4ml's engine (or its own)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def get(self, transfer_id: str, direction: Direction) -> Record | None:
        async with self.engine.connect() as connection:
            row = (
                await connection.execute(select(transfers).where(*_key(transfer_id, direction)))
            ).one_or_none()
        if row is None:
            return None
        return Record(
            transfer_id=row.transfer_id,
            direction=Direction(row.direction),
            savings_id=row.savings_id,
            amount=Decimal(row.amount),
            currency=row.currency,
            state=State(row.state),
            hold_id=row.hold_id,
            release_id=row.release_id,
            transaction_id=row.transaction_id,
        )

    async def add(self, record: Record) -> bool:
        """Write a new transfer down; ``False`` when its id is already there (a concurrent
        or repeated call got there first)."""
        now = utcnow()
        values = {
            "transfer_id": record.transfer_id,
            "direction": record.direction.value,
            "savings_id": record.savings_id,
            "amount": str(record.amount),
            "currency": record.currency,
            "state": record.state.value,
            "hold_id": record.hold_id,
            "release_id": record.release_id,
            "transaction_id": record.transaction_id,
            "created_at": now,
            "updated_at": now,
        }
        try:
            async with self.engine.begin() as connection:
                await connection.execute(insert(transfers).values(**values))
        except IntegrityError:
            return False
        return True

    async def set(
        self,
        record: Record,
        state: State,
        *,
        hold_id: int | None = None,
        release_id: int | None = None,
        transaction_id: int | None = None,
    ) -> Record:
        """Move a transfer to ``state``, recording the Fineract transaction ids given
        (``hold_id``, ``release_id``, ``transaction_id``); the record as it now stands."""
        given = {"hold_id": hold_id, "release_id": release_id, "transaction_id": transaction_id}
        ids = {name: value for name, value in given.items() if value is not None}
        values: dict[str, Any] = {"state": state.value, "updated_at": utcnow(), **ids}
        async with self.engine.begin() as connection:
            await connection.execute(
                update(transfers)
                .where(*_key(record.transfer_id, record.direction))
                .values(**values)
            )
        return replace(
            record,
            state=state,
            hold_id=hold_id or record.hold_id,
            release_id=release_id or record.release_id,
            transaction_id=transaction_id or record.transaction_id,
        )

    async def remove(self, record: Record) -> None:
        """Forget a transfer Fineract definitely refused: nothing was done for it."""
        async with self.engine.begin() as connection:
            await connection.execute(
                delete(transfers).where(*_key(record.transfer_id, record.direction))
            )

    async def check(self) -> None:
        async with self.engine.connect() as connection:
            await connection.execute(select(transfers.c.transfer_id).limit(1))


def _key(transfer_id: str, direction: Direction) -> tuple[ColumnElement[bool], ...]:
    return (transfers.c.transfer_id == transfer_id, transfers.c.direction == direction.value)
