"""Alembic environment for the ledger's tables (see pm4ml.store.migrate)."""

from pm4ml.store.migrate import run_env
from pm4ml_ledger.schema import Base

run_env(Base.metadata)
