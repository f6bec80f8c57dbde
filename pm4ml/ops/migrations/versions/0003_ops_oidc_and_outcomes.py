"""ops: OpenID Connect identities of users, outcomes of approved proposals

Revision ID: ops0003
Revises: ops0002
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "ops0003"
down_revision: str | None = "ops0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("ops_users", sa.Column("issuer", sa.String(255), nullable=True))
    op.add_column("ops_users", sa.Column("subject", sa.String(255), nullable=True))
    op.create_index("ix_ops_users_identity", "ops_users", ["issuer", "subject"], unique=True)
    op.add_column("ops_proposals", sa.Column("outcome", sa.String(300), nullable=True))


def downgrade() -> None:
    op.drop_column("ops_proposals", "outcome")
    op.drop_index("ix_ops_users_identity", table_name="ops_users")
    op.drop_column("ops_users", "subject")
    op.drop_column("ops_users", "issuer")
