"""transaction requests, and one payment per request

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OUTBOUND_ONLY = sa.text("direction = 'OUTBOUND'")


def upgrade() -> None:
    op.create_table(
        "transaction_requests",
        sa.Column("transaction_request_id", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=8), nullable=False),
        sa.Column("state", sa.String(length=32), nullable=False),
        sa.Column("peer_fsp", sa.String(length=32), nullable=True),
        sa.Column("home_transaction_id", sa.String(length=128), nullable=True),
        sa.Column("payer_id_type", sa.String(length=32), nullable=False),
        sa.Column("payer_id_value", sa.String(length=128), nullable=False),
        sa.Column("payer_id_sub", sa.String(length=128), nullable=True),
        sa.Column("payee_id_type", sa.String(length=32), nullable=False),
        sa.Column("payee_id_value", sa.String(length=128), nullable=False),
        sa.Column("payee_id_sub", sa.String(length=128), nullable=True),
        sa.Column("amount", sa.String(length=32), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("amount_type", sa.String(length=8), nullable=True),
        sa.Column("scenario", sa.String(length=16), nullable=False),
        sa.Column("sub_scenario", sa.String(length=32), nullable=True),
        sa.Column("initiator", sa.String(length=8), nullable=False),
        sa.Column("initiator_type", sa.String(length=16), nullable=False),
        sa.Column("original_transaction_id", sa.String(length=64), nullable=True),
        sa.Column("authentication_type", sa.String(length=8), nullable=True),
        sa.Column("transaction_id", sa.String(length=64), nullable=True),
        sa.Column("transfer_id", sa.String(length=64), nullable=True),
        sa.Column("otp_attempts", sa.Integer(), nullable=False),
        sa.Column("expiration", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error_code", sa.String(length=4), nullable=True),
        sa.Column("last_error_description", sa.String(length=128), nullable=True),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("transaction_request_id", "role"),
    )
    with op.batch_alter_table("transaction_requests", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_transaction_requests_created_at"), ["created_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_transaction_requests_transfer_id"), ["transfer_id"], unique=False
        )
    with op.batch_alter_table("transfers", schema=None) as batch_op:
        batch_op.create_index(
            "ux_transfers_outbound_transaction_request",
            ["transaction_request_id"],
            unique=True,
            postgresql_where=OUTBOUND_ONLY,
            sqlite_where=OUTBOUND_ONLY,
        )


def downgrade() -> None:
    with op.batch_alter_table("transfers", schema=None) as batch_op:
        batch_op.drop_index("ux_transfers_outbound_transaction_request")
    with op.batch_alter_table("transaction_requests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_transaction_requests_transfer_id"))
        batch_op.drop_index(batch_op.f("ix_transaction_requests_created_at"))
    op.drop_table("transaction_requests")
