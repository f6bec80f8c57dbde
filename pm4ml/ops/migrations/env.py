"""Alembic environment for the portal's tables (see pm4ml.store.migrate)."""

from pm4ml.ops.schema import Base
from pm4ml.store.migrate import run_env

run_env(Base.metadata)
