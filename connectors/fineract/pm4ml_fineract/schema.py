"""The connector's one table, ``fineract_transfers``, in pm4ml's database: the mapping from an
FSPIOP transfer id (and direction: both ends of a transfer may be customers here) to the
Fineract transactions made for it, and how far it got.

Fineract has no external ids on savings transactions (FINERACT-2259 is open), so the
connector keeps this mapping itself. Each state is written before the Fineract request it
announces, so a retry after a crash or a timeout knows a request may have been made and
looks in Fineract before making it again (see ``connector.py``)::

    IN  (payee):  PREPARED -> DEPOSITING -> COMMITTED      PREPARED -> ABORTED
    OUT (payer):  HOLDING -> HELD -> DEBITING -> COMMITTED  HOLDING | HELD -> RELEASING -> RELEASED

Amounts are stored as decimal text: exact on every database, without driver conversions.
Migrated by the connector's own Alembic scripts (version table
``pm4ml_fineract_alembic_version``).
"""

from __future__ import annotations

import enum
from pathlib import Path

from sqlalchemy import BigInteger, Column, MetaData, String, Table

from pm4ml.store.schema import UtcDateTime

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
VERSION_TABLE = "pm4ml_fineract_alembic_version"

metadata = MetaData(naming_convention={"pk": "pk_%(table_name)s", "ix": "ix_%(column_0_label)s"})


class Direction(enum.StrEnum):
    IN = "IN"
    OUT = "OUT"


class State(enum.StrEnum):
    PREPARED = "PREPARED"
    DEPOSITING = "DEPOSITING"
    ABORTED = "ABORTED"
    HOLDING = "HOLDING"
    HELD = "HELD"
    DEBITING = "DEBITING"
    RELEASING = "RELEASING"
    RELEASED = "RELEASED"
    COMMITTED = "COMMITTED"


transfers = Table(
    "fineract_transfers",
    metadata,
    Column("transfer_id", String(64), primary_key=True),
    Column("direction", String(3), primary_key=True),
    Column("savings_id", BigInteger, nullable=False),
    Column("amount", String(40), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("state", String(16), nullable=False),
    #: The holdAmount transaction (OUT).
    Column("hold_id", BigInteger),
    #: The releaseAmount transaction of that hold (OUT).
    Column("release_id", BigInteger),
    #: The deposit (IN) or withdrawal (OUT) that moved the money.
    Column("transaction_id", BigInteger),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)
