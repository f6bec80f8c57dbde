"""initial ledger tables

Revision ID: ledger0001
Revises:
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "ledger0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "ledger_accounts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "CUSTOMER", "SETTLEMENT", name="kind", native_enum=False, create_constraint=True
            ),
            nullable=False,
        ),
        sa.Column("id_type", sa.String(length=32), nullable=False),
        sa.Column("id_value", sa.String(length=128), nullable=False),
        sa.Column("sub_id", sa.String(length=128), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "OPEN",
                "BLOCKED",
                "CLOSED",
                name="status",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("display_name", sa.String(length=128), nullable=True),
        sa.Column("first_name", sa.String(length=128), nullable=True),
        sa.Column("middle_name", sa.String(length=128), nullable=True),
        sa.Column("last_name", sa.String(length=128), nullable=True),
        sa.Column("date_of_birth", sa.Date(), nullable=True),
        sa.Column("balance", sa.BigInteger(), nullable=False),
        sa.Column("held", sa.BigInteger(), nullable=False),
        sa.Column("max_single_transfer", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "kind = 'CUSTOMER' OR held = 0",
            name=op.f("ck_ledger_accounts_settlement_holds_nothing"),
        ),
        sa.CheckConstraint(
            "kind = 'SETTLEMENT' OR (balance >= 0 AND held <= balance)",
            name=op.f("ck_ledger_accounts_customer_not_overdrawn"),
        ),
        sa.CheckConstraint("held >= 0", name=op.f("ck_ledger_accounts_held_not_negative")),
        sa.CheckConstraint(
            "max_single_transfer IS NULL OR max_single_transfer > 0",
            name=op.f("ck_ledger_accounts_limit_positive"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_accounts")),
        sa.UniqueConstraint(
            "id_type",
            "id_value",
            "sub_id",
            "currency",
            name=op.f("uq_ledger_accounts_id_type_id_value_sub_id_currency"),
        ),
    )
    op.create_table(
        "ledger_reservations",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("transfer_id", sa.String(length=64), nullable=False),
        sa.Column(
            "direction",
            sa.Enum("IN", "OUT", name="direction", native_enum=False, create_constraint=True),
            nullable=False,
        ),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column(
            "state",
            sa.Enum(
                "HELD",
                "COMMITTED",
                "RELEASED",
                name="state",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("reason", sa.String(length=256), nullable=True),
        sa.Column("counterparty", sa.String(length=256), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("amount > 0", name=op.f("ck_ledger_reservations_amount_positive")),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["ledger_accounts.id"],
            name=op.f("fk_ledger_reservations_account_id_ledger_accounts"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_reservations")),
        sa.UniqueConstraint(
            "transfer_id", "direction", name=op.f("uq_ledger_reservations_transfer_id_direction")
        ),
    )
    op.create_index(
        op.f("ix_ledger_reservations_account_id"),
        "ledger_reservations",
        ["account_id"],
        unique=False,
    )
    op.create_index(
        "ix_ledger_reservations_state_expires_at",
        "ledger_reservations",
        ["state", "expires_at"],
        unique=False,
    )
    op.create_table(
        "ledger_postings",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "kind",
            sa.Enum(
                "OPENING",
                "DEPOSIT",
                "WITHDRAWAL",
                "TRANSFER_IN",
                "TRANSFER_OUT",
                name="kind",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("debit_account_id", sa.Integer(), nullable=False),
        sa.Column("credit_account_id", sa.Integer(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column(
            "reservation_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("transfer_id", sa.String(length=64), nullable=True),
        sa.Column("reference", sa.String(length=128), nullable=True),
        sa.Column("memo", sa.String(length=256), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("amount > 0", name=op.f("ck_ledger_postings_amount_positive")),
        sa.CheckConstraint(
            "debit_account_id <> credit_account_id", name=op.f("ck_ledger_postings_two_accounts")
        ),
        sa.ForeignKeyConstraint(
            ["credit_account_id"],
            ["ledger_accounts.id"],
            name=op.f("fk_ledger_postings_credit_account_id_ledger_accounts"),
        ),
        sa.ForeignKeyConstraint(
            ["debit_account_id"],
            ["ledger_accounts.id"],
            name=op.f("fk_ledger_postings_debit_account_id_ledger_accounts"),
        ),
        sa.ForeignKeyConstraint(
            ["reservation_id"],
            ["ledger_reservations.id"],
            name=op.f("fk_ledger_postings_reservation_id_ledger_reservations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_postings")),
        sa.UniqueConstraint("reference", name=op.f("uq_ledger_postings_reference")),
        sa.UniqueConstraint("reservation_id", name=op.f("uq_ledger_postings_reservation_id")),
    )
    op.create_index(
        op.f("ix_ledger_postings_credit_account_id"),
        "ledger_postings",
        ["credit_account_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_ledger_postings_debit_account_id"),
        "ledger_postings",
        ["debit_account_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_ledger_postings_transfer_id"), "ledger_postings", ["transfer_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_ledger_postings_transfer_id"), table_name="ledger_postings")
    op.drop_index(op.f("ix_ledger_postings_debit_account_id"), table_name="ledger_postings")
    op.drop_index(op.f("ix_ledger_postings_credit_account_id"), table_name="ledger_postings")
    op.drop_table("ledger_postings")
    op.drop_index("ix_ledger_reservations_state_expires_at", table_name="ledger_reservations")
    op.drop_index(op.f("ix_ledger_reservations_account_id"), table_name="ledger_reservations")
    op.drop_table("ledger_reservations")
    op.drop_table("ledger_accounts")
