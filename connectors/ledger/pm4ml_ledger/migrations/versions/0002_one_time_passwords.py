"""one-time passwords for requests to pay

Revision ID: ledger0002
Revises: ledger0001
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "ledger0002"
down_revision: str | None = "ledger0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "ledger_one_time_passwords",
        sa.Column("transaction_request_id", sa.String(length=64), nullable=False),
        sa.Column("id_type", sa.String(length=32), nullable=False),
        sa.Column("id_value", sa.String(length=128), nullable=False),
        sa.Column("value", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint(
            "transaction_request_id", name=op.f("pk_ledger_one_time_passwords")
        ),
    )


def downgrade() -> None:
    op.drop_table("ledger_one_time_passwords")
