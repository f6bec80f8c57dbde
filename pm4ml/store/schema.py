"""pm4ml's tables (SQLAlchemy 2 ORM) and the migration entry point.

- ``transfers``: one row per transfer, either direction, with its one state.
- ``quotes``: quotes this DFSP issued as payee (the terms a later transfer must match).
- ``messages``: every FSPIOP message in and out, headers and body, for audit and the portal.
  Signatures are kept; keys never reach this table.
- ``transaction_requests``: requests to pay, in either role, with their state and the transfer
  that paid them.
- ``jobs``: the outbox. A flow writes its new state and the work that follows from it (a
  message to send, a connector call to make) in one transaction, then does the work; a worker
  retries what failed and what a crash interrupted.

Amounts are stored as the FSPIOP decimal strings (never floats); expirations as aware UTC
timestamps.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

from sqlalchemy import JSON, DateTime, Index, Integer, String, Text, TypeDecorator, text
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
VERSION_TABLE = "pm4ml_alembic_version"


class UtcDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC timestamp on every database (SQLite stores naive values)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert value.tzinfo is not None, "timestamps must be timezone-aware"
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UtcDateTime, dict[str, Any]: JSON}


class Transfer(Base):
    __tablename__ = "transfers"

    transfer_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    direction: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(32))
    quote_id: Mapped[str | None] = mapped_column(String(64), index=True)
    transaction_id: Mapped[str | None] = mapped_column(String(64), index=True)
    transaction_request_id: Mapped[str | None] = mapped_column(String(64))
    home_transaction_id: Mapped[str | None] = mapped_column(String(128), index=True)
    payer_fsp: Mapped[str | None] = mapped_column(String(32))
    payee_fsp: Mapped[str | None] = mapped_column(String(32))
    payer_id_type: Mapped[str | None] = mapped_column(String(32))
    payer_id_value: Mapped[str | None] = mapped_column(String(128), index=True)
    payer_id_sub: Mapped[str | None] = mapped_column(String(128))
    payee_id_type: Mapped[str | None] = mapped_column(String(32))
    payee_id_value: Mapped[str | None] = mapped_column(String(128), index=True)
    payee_id_sub: Mapped[str | None] = mapped_column(String(128))
    amount: Mapped[str | None] = mapped_column(String(32))
    currency: Mapped[str | None] = mapped_column(String(3))
    amount_type: Mapped[str | None] = mapped_column(String(8))
    ilp_packet: Mapped[str | None] = mapped_column(Text)
    condition: Mapped[str | None] = mapped_column(String(64))
    fulfilment: Mapped[str | None] = mapped_column(String(64))
    expiration: Mapped[datetime | None] = mapped_column()
    request_hash: Mapped[str | None] = mapped_column(String(64))
    peer_fsp: Mapped[str | None] = mapped_column(String(32))
    api_version: Mapped[str] = mapped_column(String(8), default="1.1")
    last_error_code: Mapped[str | None] = mapped_column(String(4))
    last_error_description: Mapped[str | None] = mapped_column(String(128))
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    completed_at: Mapped[datetime | None] = mapped_column()

    __table_args__ = (
        Index("ix_transfers_state_expiration", "state", "expiration"),
        # One payment per request to pay, whatever process or replica is asked to pay it.
        Index(
            "ux_transfers_outbound_transaction_request",
            "transaction_request_id",
            unique=True,
            postgresql_where=text("direction = 'OUTBOUND'"),
            sqlite_where=text("direction = 'OUTBOUND'"),
        ),
    )


class Quote(Base):
    __tablename__ = "quotes"

    quote_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    transaction_id: Mapped[str] = mapped_column(String(64), index=True)
    state: Mapped[str] = mapped_column(String(16))  # RECEIVED, ISSUED, REFUSED
    request_hash: Mapped[str] = mapped_column(String(64))
    peer_fsp: Mapped[str] = mapped_column(String(32))
    api_version: Mapped[str] = mapped_column(String(8), default="1.1")
    request: Mapped[dict[str, Any]] = mapped_column()
    response: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    ilp_packet: Mapped[str | None] = mapped_column(Text)
    condition: Mapped[str | None] = mapped_column(String(64))
    expiration: Mapped[datetime | None] = mapped_column()
    error_code: Mapped[str | None] = mapped_column(String(4))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Message(Base):
    __tablename__ = "messages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    direction: Mapped[str] = mapped_column(String(3))  # IN, OUT
    method: Mapped[str] = mapped_column(String(8))
    path: Mapped[str] = mapped_column(String(512))
    resource: Mapped[str] = mapped_column(String(32))
    transfer_id: Mapped[str | None] = mapped_column(String(64), index=True)
    correlation_id: Mapped[str | None] = mapped_column(String(128), index=True)
    source: Mapped[str | None] = mapped_column(String(32))
    destination: Mapped[str | None] = mapped_column(String(32))
    headers: Mapped[dict[str, Any]] = mapped_column()
    body: Mapped[str | None] = mapped_column(Text)
    status_code: Mapped[int | None] = mapped_column(Integer)
    signature: Mapped[str | None] = mapped_column(String(16))  # verified, absent, invalid
    error_code: Mapped[str | None] = mapped_column(String(4))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class TransactionRequestRow(Base):
    """A request to pay. ``role`` ``payee``: our customer asked (``POST /requestToPay``);
    ``payer``: a payee DFSP asked one of our customers (inbound ``POST /transactionRequests``).
    Parties are in FSPIOP roles whatever ours is; ``peer_fsp`` is the other DFSP."""

    __tablename__ = "transaction_requests"

    transaction_request_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    role: Mapped[str] = mapped_column(String(8), primary_key=True)
    state: Mapped[str] = mapped_column(String(32))
    peer_fsp: Mapped[str | None] = mapped_column(String(32))
    home_transaction_id: Mapped[str | None] = mapped_column(String(128))
    payer_id_type: Mapped[str] = mapped_column(String(32))
    payer_id_value: Mapped[str] = mapped_column(String(128))
    payer_id_sub: Mapped[str | None] = mapped_column(String(128))
    payee_id_type: Mapped[str] = mapped_column(String(32))
    payee_id_value: Mapped[str] = mapped_column(String(128))
    payee_id_sub: Mapped[str | None] = mapped_column(String(128))
    amount: Mapped[str] = mapped_column(String(32))
    currency: Mapped[str] = mapped_column(String(3))
    amount_type: Mapped[str | None] = mapped_column(String(8))
    scenario: Mapped[str] = mapped_column(String(16))
    sub_scenario: Mapped[str | None] = mapped_column(String(32))
    initiator: Mapped[str] = mapped_column(String(8))
    initiator_type: Mapped[str] = mapped_column(String(16))
    original_transaction_id: Mapped[str | None] = mapped_column(String(64))
    authentication_type: Mapped[str | None] = mapped_column(String(8))
    transaction_id: Mapped[str | None] = mapped_column(String(64))
    transfer_id: Mapped[str | None] = mapped_column(String(64), index=True)
    otp_attempts: Mapped[int] = mapped_column(Integer, default=0)
    expiration: Mapped[datetime | None] = mapped_column()
    last_error_code: Mapped[str | None] = mapped_column(String(4))
    last_error_description: Mapped[str | None] = mapped_column(String(128))
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Job(Base):
    __tablename__ = "jobs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(32))
    transfer_id: Mapped[str | None] = mapped_column(String(64), index=True)
    payload: Mapped[dict[str, Any]] = mapped_column()
    state: Mapped[str] = mapped_column(String(16), default="PENDING")  # PENDING, DONE, FAILED
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_error: Mapped[str | None] = mapped_column(String(256))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    done_at: Mapped[datetime | None] = mapped_column()

    __table_args__ = (Index("ix_jobs_state_next", "state", "next_attempt_at"),)


def upgrade_all(settings: Any) -> None:
    """Migrate pm4ml's tables, then the active connector's own tables (``pm4ml db upgrade``).
    Synchronous: call it before the event loop starts, or in a thread."""
    from pm4ml.connectors import load
    from pm4ml.store.migrate import upgrade

    url = settings.effective_database_url
    upgrade(url, MIGRATIONS_DIR, VERSION_TABLE)
    load(settings.connector).upgrade_database(url)
