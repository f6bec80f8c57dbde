"""initial tables

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "jobs",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("transfer_id", sa.String(length=64), nullable=True),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_error", sa.String(length=256), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.create_index("ix_jobs_state_next", ["state", "next_attempt_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_jobs_transfer_id"), ["transfer_id"], unique=False)

    op.create_table(
        "messages",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("direction", sa.String(length=3), nullable=False),
        sa.Column("method", sa.String(length=8), nullable=False),
        sa.Column("path", sa.String(length=512), nullable=False),
        sa.Column("resource", sa.String(length=32), nullable=False),
        sa.Column("transfer_id", sa.String(length=64), nullable=True),
        sa.Column("correlation_id", sa.String(length=128), nullable=True),
        sa.Column("source", sa.String(length=32), nullable=True),
        sa.Column("destination", sa.String(length=32), nullable=True),
        sa.Column("headers", sa.JSON(), nullable=False),
        sa.Column("body", sa.Text(), nullable=True),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("signature", sa.String(length=16), nullable=True),
        sa.Column("error_code", sa.String(length=4), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_messages_correlation_id"), ["correlation_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_messages_created_at"), ["created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_messages_transfer_id"), ["transfer_id"], unique=False)

    op.create_table(
        "quotes",
        sa.Column("quote_id", sa.String(length=64), nullable=False),
        sa.Column("transaction_id", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("peer_fsp", sa.String(length=32), nullable=False),
        sa.Column("api_version", sa.String(length=8), nullable=False),
        sa.Column("request", sa.JSON(), nullable=False),
        sa.Column("response", sa.JSON(), nullable=True),
        sa.Column("ilp_packet", sa.Text(), nullable=True),
        sa.Column("condition", sa.String(length=64), nullable=True),
        sa.Column("expiration", sa.DateTime(timezone=True), nullable=True),
        sa.Column("error_code", sa.String(length=4), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("quote_id"),
    )
    with op.batch_alter_table("quotes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_quotes_transaction_id"), ["transaction_id"], unique=False
        )

    op.create_table(
        "transfers",
        sa.Column("transfer_id", sa.String(length=64), nullable=False),
        sa.Column("direction", sa.String(length=16), nullable=False),
        sa.Column("state", sa.String(length=32), nullable=False),
        sa.Column("quote_id", sa.String(length=64), nullable=True),
        sa.Column("transaction_id", sa.String(length=64), nullable=True),
        sa.Column("transaction_request_id", sa.String(length=64), nullable=True),
        sa.Column("home_transaction_id", sa.String(length=128), nullable=True),
        sa.Column("payer_fsp", sa.String(length=32), nullable=True),
        sa.Column("payee_fsp", sa.String(length=32), nullable=True),
        sa.Column("payer_id_type", sa.String(length=32), nullable=True),
        sa.Column("payer_id_value", sa.String(length=128), nullable=True),
        sa.Column("payer_id_sub", sa.String(length=128), nullable=True),
        sa.Column("payee_id_type", sa.String(length=32), nullable=True),
        sa.Column("payee_id_value", sa.String(length=128), nullable=True),
        sa.Column("payee_id_sub", sa.String(length=128), nullable=True),
        sa.Column("amount", sa.String(length=32), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=True),
        sa.Column("amount_type", sa.String(length=8), nullable=True),
        sa.Column("ilp_packet", sa.Text(), nullable=True),
        sa.Column("condition", sa.String(length=64), nullable=True),
        sa.Column("fulfilment", sa.String(length=64), nullable=True),
        sa.Column("expiration", sa.DateTime(timezone=True), nullable=True),
        sa.Column("request_hash", sa.String(length=64), nullable=True),
        sa.Column("peer_fsp", sa.String(length=32), nullable=True),
        sa.Column("api_version", sa.String(length=8), nullable=False),
        sa.Column("last_error_code", sa.String(length=4), nullable=True),
        sa.Column("last_error_description", sa.String(length=128), nullable=True),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("transfer_id"),
    )
    with op.batch_alter_table("transfers", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_transfers_created_at"), ["created_at"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_transfers_home_transaction_id"), ["home_transaction_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_transfers_payee_id_value"), ["payee_id_value"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_transfers_payer_id_value"), ["payer_id_value"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_transfers_quote_id"), ["quote_id"], unique=False)
        batch_op.create_index(
            "ix_transfers_state_expiration", ["state", "expiration"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_transfers_transaction_id"), ["transaction_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("transfers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_transfers_transaction_id"))
        batch_op.drop_index("ix_transfers_state_expiration")
        batch_op.drop_index(batch_op.f("ix_transfers_quote_id"))
        batch_op.drop_index(batch_op.f("ix_transfers_payer_id_value"))
        batch_op.drop_index(batch_op.f("ix_transfers_payee_id_value"))
        batch_op.drop_index(batch_op.f("ix_transfers_home_transaction_id"))
        batch_op.drop_index(batch_op.f("ix_transfers_created_at"))

    op.drop_table("transfers")
    with op.batch_alter_table("quotes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_quotes_transaction_id"))

    op.drop_table("quotes")
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_messages_transfer_id"))
        batch_op.drop_index(batch_op.f("ix_messages_created_at"))
        batch_op.drop_index(batch_op.f("ix_messages_correlation_id"))

    op.drop_table("messages")
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_jobs_transfer_id"))
        batch_op.drop_index("ix_jobs_state_next")

    op.drop_table("jobs")
