"""The portal's own tables: users and the audit log.

They live beside pm4ml's tables in the same database but have their own Alembic script
directory and version table (see :mod:`pm4ml.store.migrate`), so they evolve independently.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar

from sqlalchemy import JSON, Boolean, Index, Integer, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from pm4ml.store.schema import UtcDateTime, utcnow

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
VERSION_TABLE = "pm4ml_ops_alembic_version"
ROLES = ("viewer", "operator", "admin")


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UtcDateTime, dict[str, Any]: JSON}


class OpsUser(Base):
    """A portal user. Local users sign in with their argon2-hashed password; users of the
    OpenID Connect provider are recorded at their first sign-in under ``issuer`` and
    ``subject`` (``sub``), with a password hash that matches no password."""

    __tablename__ = "ops_users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(256))
    role: Mapped[str] = mapped_column(String(16))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    issuer: Mapped[str | None] = mapped_column(String(255))
    subject: Mapped[str | None] = mapped_column(String(255))

    __table_args__ = (Index("ix_ops_users_identity", "issuer", "subject", unique=True),)


class AuditEntry(Base):
    __tablename__ = "ops_audit"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64))
    target: Mapped[str | None] = mapped_column(String(128))
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    source_ip: Mapped[str | None] = mapped_column(String(64))


def upgrade_ops(url: str) -> None:
    """Create or migrate the portal's tables in the database at ``url`` (synchronous)."""
    from pm4ml.store.migrate import upgrade

    upgrade(url, MIGRATIONS_DIR, VERSION_TABLE)


class Proposal(Base):
    """An action one operator proposed and another must approve (maker-checker).
    States: PENDING, then APPROVED or REJECTED. ``outcome`` is what running an approved
    action gave (``ok``, or the error with its code)."""

    __tablename__ = "ops_proposals"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    transfer_id: Mapped[str] = mapped_column(String(64), index=True)
    action: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str] = mapped_column(String(500))
    state: Mapped[str] = mapped_column(String(16), default="PENDING")
    proposed_by: Mapped[str] = mapped_column(String(64))
    proposed_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_by: Mapped[str | None] = mapped_column(String(64))
    decided_at: Mapped[datetime | None] = mapped_column()
    outcome: Mapped[str | None] = mapped_column(String(300))
