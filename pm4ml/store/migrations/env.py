"""Alembic environment for pm4ml's own tables (see pm4ml.store.migrate)."""

from pm4ml.store.migrate import run_env
from pm4ml.store.schema import Base

run_env(Base.metadata)
