"""The ledger's tables, all prefixed ``ledger_`` and migrated by the ledger's own Alembic
scripts (version table ``pm4ml_ledger_alembic_version``).

- ``ledger_accounts``: one row per customer account and currency, plus one ``SETTLEMENT``
  account per currency that stands for this DFSP's position at the hub. ``balance`` and
  ``held`` are integers in 1e-4 units (see ``units.py``). A customer's balance never goes
  below zero and never below what is held; the settlement account's balance is unbounded.
- ``ledger_reservations``: one row per transfer and direction. ``OUT`` holds the payer's funds
  (``held`` grows); ``IN`` promises a credit to the payee (no balance changes until commit).
- ``ledger_postings``: the journal. Every posting debits one account and credits another in
  one currency, so the balances of a currency always sum to zero. A committed reservation has
  exactly one posting (unique ``reservation_id``); opening balances and deposits that carry a
  ``reference`` are unique by it, which makes them idempotent.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from pathlib import Path
from typing import Any, ClassVar

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    Enum,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from pm4ml.store.schema import UtcDateTime, utcnow

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
VERSION_TABLE = "pm4ml_ledger_alembic_version"

#: ``id_type`` and ``id_value`` of the per-currency settlement accounts.
SETTLEMENT = "SETTLEMENT"

# Named constraints keep later migrations (SQLite batch mode rebuilds tables) deterministic.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# SQLite only auto-increments a column declared exactly INTEGER PRIMARY KEY.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class AccountKind(enum.StrEnum):
    CUSTOMER = "CUSTOMER"
    SETTLEMENT = "SETTLEMENT"


class AccountStatus(enum.StrEnum):
    OPEN = "OPEN"  # exits: BLOCKED, CLOSED
    BLOCKED = "BLOCKED"  # exits: OPEN, CLOSED; receives and pays nothing new
    CLOSED = "CLOSED"  # final; only an empty account with nothing pending closes


class Direction(enum.StrEnum):
    IN = "IN"  # payee role: a credit promised to our customer
    OUT = "OUT"  # payer role: funds held on our customer's account


class ReservationState(enum.StrEnum):
    HELD = "HELD"  # exits: COMMITTED, RELEASED
    COMMITTED = "COMMITTED"  # final: the posting exists
    RELEASED = "RELEASED"  # final: nothing moved


class PostingKind(enum.StrEnum):
    OPENING = "OPENING"
    DEPOSIT = "DEPOSIT"
    WITHDRAWAL = "WITHDRAWAL"
    TRANSFER_IN = "TRANSFER_IN"
    TRANSFER_OUT = "TRANSFER_OUT"


def _enum(cls: type[enum.StrEnum], name: str) -> Enum:
    # Stored as VARCHAR with a CHECK constraint on every database: no native enum types to
    # migrate on PostgreSQL.
    return Enum(
        cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=max(len(m.value) for m in cls),
        validate_strings=True,
    )


class Base(DeclarativeBase):
    """The ledger's own metadata, separate from pm4ml's tables."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UtcDateTime}


class AccountRow(Base):
    __tablename__ = "ledger_accounts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[AccountKind] = mapped_column(_enum(AccountKind, "kind"))
    id_type: Mapped[str] = mapped_column(String(32))
    id_value: Mapped[str] = mapped_column(String(128))
    # "" rather than NULL: NULLs never collide in a unique constraint.
    sub_id: Mapped[str] = mapped_column(String(128), default="")
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[AccountStatus] = mapped_column(_enum(AccountStatus, "status"))
    display_name: Mapped[str | None] = mapped_column(String(128))
    first_name: Mapped[str | None] = mapped_column(String(128))
    middle_name: Mapped[str | None] = mapped_column(String(128))
    last_name: Mapped[str | None] = mapped_column(String(128))
    date_of_birth: Mapped[date | None] = mapped_column(Date)
    balance: Mapped[int] = mapped_column(BigInteger, default=0)
    held: Mapped[int] = mapped_column(BigInteger, default=0)
    max_single_transfer: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    __table_args__ = (
        UniqueConstraint("id_type", "id_value", "sub_id", "currency"),
        CheckConstraint("held >= 0", name="held_not_negative"),
        CheckConstraint(
            "kind = 'SETTLEMENT' OR (balance >= 0 AND held <= balance)",
            name="customer_not_overdrawn",
        ),
        CheckConstraint("kind = 'CUSTOMER' OR held = 0", name="settlement_holds_nothing"),
        CheckConstraint(
            "max_single_transfer IS NULL OR max_single_transfer > 0", name="limit_positive"
        ),
    )


class ReservationRow(Base):
    __tablename__ = "ledger_reservations"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    transfer_id: Mapped[str] = mapped_column(String(64))
    direction: Mapped[Direction] = mapped_column(_enum(Direction, "direction"))
    account_id: Mapped[int] = mapped_column(ForeignKey("ledger_accounts.id"), index=True)
    amount: Mapped[int] = mapped_column(BigInteger)
    state: Mapped[ReservationState] = mapped_column(_enum(ReservationState, "state"))
    reason: Mapped[str | None] = mapped_column(String(256))
    counterparty: Mapped[str | None] = mapped_column(String(256))
    expires_at: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    __table_args__ = (
        UniqueConstraint("transfer_id", "direction"),
        CheckConstraint("amount > 0", name="amount_positive"),
        Index("ix_ledger_reservations_state_expires_at", "state", "expires_at"),
    )


class OneTimePasswordRow(Base):
    """A one-time password the ledger issued to a payer for a request to pay (the SMS a real
    CBS would send). Kept as issued: the ledger's own OTP check compares against it."""

    __tablename__ = "ledger_one_time_passwords"

    transaction_request_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    id_type: Mapped[str] = mapped_column(String(32))
    id_value: Mapped[str] = mapped_column(String(128))
    value: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class PostingRow(Base):
    __tablename__ = "ledger_postings"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    kind: Mapped[PostingKind] = mapped_column(_enum(PostingKind, "kind"))
    currency: Mapped[str] = mapped_column(String(3))
    debit_account_id: Mapped[int] = mapped_column(ForeignKey("ledger_accounts.id"), index=True)
    credit_account_id: Mapped[int] = mapped_column(ForeignKey("ledger_accounts.id"), index=True)
    amount: Mapped[int] = mapped_column(BigInteger)
    reservation_id: Mapped[int | None] = mapped_column(
        ForeignKey("ledger_reservations.id"), unique=True
    )
    transfer_id: Mapped[str | None] = mapped_column(String(64), index=True)
    reference: Mapped[str | None] = mapped_column(String(128), unique=True)
    memo: Mapped[str | None] = mapped_column(String(256))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("debit_account_id <> credit_account_id", name="two_accounts"),
    )
